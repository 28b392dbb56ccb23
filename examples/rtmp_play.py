#!/usr/bin/env python3
"""Play a stream from an RTMP server with :func:`mediaproto.aio.rtmp.connect` and print its frames.

    python3 examples/rtmp_play.py rtmp://127.0.0.1:1935/live/test --seconds 5

Prints each track as its sequence header arrives and one line per frame, until the server ends
the stream (``NetStream.Play.UnpublishNotify``), the connection closes or ``--seconds`` passed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.aio import rtmp  # noqa: E402
from mediaproto.media import Frame, Track  # noqa: E402


async def play(url: str, *, seconds: float = 30.0,
               on_frame: Callable[[Frame], None] | None = None) -> tuple[list[Track], list[Frame]]:
    """Play ``url`` until the stream ends or ``seconds`` passed; returns the tracks and frames."""
    tracks: list[Track] = []
    frames: list[Frame] = []
    client = await rtmp.connect(url)
    try:
        await client.play()

        async def read() -> None:
            async for item in client.media():
                if isinstance(item, Track):
                    tracks.append(item)
                else:
                    frames.append(item)
                    if on_frame is not None:
                        on_frame(item)

        try:
            await asyncio.wait_for(read(), seconds)
        except asyncio.TimeoutError:
            pass
    finally:
        await client.close()
    return tracks, frames


def show(frame: Frame) -> None:
    key = " key" if frame.keyframe else ""
    print(f"track {frame.track_id} dts {frame.dts} pts {frame.pts} {frame.size} bytes{key}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="rtmp://host[:port]/app/key")
    parser.add_argument("--seconds", type=float, default=30.0, help="stop after this long (default 30)")
    args = parser.parse_args()
    try:
        tracks, frames = asyncio.run(play(args.url, seconds=args.seconds, on_frame=show))
    except KeyboardInterrupt:
        return 130
    for track in tracks:
        print(f"track {track.id}: {track.codec.value} {track.width}x{track.height} {track.sample_rate or ''}")
    print(f"{len(frames)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
