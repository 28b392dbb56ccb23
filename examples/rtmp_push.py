#!/usr/bin/env python3
"""Publish to an RTMP server with :func:`mediaproto.aio.rtmp.connect`: the test source or an FLV file.

    python3 examples/rtmp_push.py rtmp://127.0.0.1:1935/live/key --seconds 10
    python3 examples/rtmp_push.py rtmp://127.0.0.1:1935/live/key --flv clip.flv

Frames go out in real time (by their timestamps) unless ``--fast``. The built-in test source is
colour bars with a clock (H.264) and a tone (AAC); ``--flv`` sends the tracks and frames of a file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.aio import rtmp  # noqa: E402
from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtmp import MediaTagDecoder, read_flv  # noqa: E402
from mediaproto.testsrc import TestSource  # noqa: E402


def load_flv(path: Path) -> tuple[list[Track], list[Frame]]:
    """The tracks and frames of an FLV file (times in milliseconds)."""
    decoder = MediaTagDecoder()
    items = [i for tag in read_flv(path.read_bytes())[1] for i in decoder.feed(tag.tag_type, tag.timestamp, tag.data)]
    items += decoder.flush()
    tracks = {i.id: i for i in items if isinstance(i, Track)}  # the last sequence header of each track
    return list(tracks.values()), [i for i in items if isinstance(i, Frame)]


async def push(url: str, tracks: Sequence[Track], frames: Iterable[Frame], *, realtime: bool = False,
               metadata: dict[str, Any] | None = None) -> int:
    """Publish ``frames`` of ``tracks`` to ``url``; returns how many frames were sent."""
    loop = asyncio.get_running_loop()
    client = await rtmp.connect(url)
    try:
        await client.publish(tracks, metadata)
        rates = {t.id: t.clock_rate for t in tracks}
        start, sent = loop.time(), 0
        for frame in frames:
            if realtime:
                await asyncio.sleep(max(0.0, start + frame.dts / rates[frame.track_id] - loop.time()))
            await client.send_frame(frame)  # waits while the socket's buffer is full
            sent += 1
        return sent
    finally:
        await client.close()  # deleteStream, then the connection closes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="rtmp://host[:port]/app/key")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of the test source (default 10)")
    parser.add_argument("--flv", type=Path, help="send the frames of this FLV file instead")
    parser.add_argument("--fast", action="store_true", help="do not pace in real time")
    args = parser.parse_args()
    if args.flv:
        tracks, frames = load_flv(args.flv)
    else:
        source = TestSource()
        tracks, frames = list(source.tracks), source.frames_until(args.seconds)
    try:
        sent = asyncio.run(push(args.url, tracks, frames, realtime=not args.fast))
    except KeyboardInterrupt:
        return 130
    print(f"sent {sent} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
