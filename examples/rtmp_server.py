#!/usr/bin/env python3
"""An RTMP server that records every publish to an FLV file, with :func:`mediaproto.aio.rtmp.serve_rtmp`.

    python3 examples/rtmp_server.py --port 1935 --out-dir recordings
    ffmpeg -re -i clip.mp4 -c copy -f flv rtmp://127.0.0.1:1935/live/key   # -> recordings/live_key.flv
    ffprobe recordings/live_key.flv

Each publisher's tracks (from its sequence headers) and frames are written as FLV tags as they
arrive; playing is refused. The live server that relays to players over RTMP, RTSP and HLS is
``mediaproto-server`` (:mod:`mediaproto.server`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.aio import rtmp  # noqa: E402
from mediaproto.media import Track  # noqa: E402
from mediaproto.rtmp import TAG_AUDIO, TAG_VIDEO, FlvTag, FlvWriter, MediaTagEncoder  # noqa: E402


def file_name(publishing: rtmp.Publishing) -> str:
    """``live/key`` -> ``live_key.flv`` (anything but letters, digits, ``.-_`` becomes ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{publishing.app}_{publishing.name}") + ".flv"


async def record(publishing: rtmp.Publishing, out_dir: Path) -> tuple[Path, int]:
    """Write what ``publishing`` sends to ``out_dir/<app>_<key>.flv``; returns the path and the
    number of frames written, once the publisher stopped."""
    path = out_dir / file_name(publishing)
    writer = FlvWriter()
    tracks: dict[int, Track] = {}
    encoder: MediaTagEncoder | None = None
    frames = 0
    with path.open("wb") as out:
        out.write(writer.start())
        async for item in publishing.media():
            if isinstance(item, Track):  # a sequence header: write it, encode frames with it
                tracks[item.id] = item
                encoder = MediaTagEncoder(list(tracks.values()))
                kind = TAG_VIDEO if item.codec.is_video else TAG_AUDIO
                for tag_type, timestamp, body in encoder.sequence_headers():
                    if tag_type == kind:
                        out.write(writer.write(FlvTag(tag_type, timestamp, 0, body)))
            elif encoder is not None and item.track_id in tracks:
                tag_type, timestamp, body = encoder.encode(item)
                out.write(writer.write(FlvTag(tag_type, timestamp, 0, body)))
                frames += 1
    return path, frames


async def serve(host: str, port: int, out_dir: Path) -> None:
    async def on_publish(publishing: rtmp.Publishing) -> None:
        print(f"recording {publishing.app}/{publishing.name}", flush=True)
        path, frames = await record(publishing, out_dir)
        print(f"wrote {path} ({frames} frames)", flush=True)

    server = await rtmp.serve_rtmp(on_publish=on_publish, host=host, port=port)
    print(f"listening on rtmp://{host}:{server.sockets[0].getsockname()[1]}/", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1935, help="RTMP port (default 1935; 0: any free port)")
    parser.add_argument("--out-dir", type=Path, default=Path("."), help="where the FLV files go (default .)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(serve(args.host, args.port, args.out_dir))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
