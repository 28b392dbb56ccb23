#!/usr/bin/env python3
"""Play a stream from an RTMP server with :class:`mediaproto.rtmp.ClientConnection` and print its frames.

    python3 examples/rtmp_play.py rtmp://127.0.0.1:1935/live/key
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtmp import Connected, FrameReceived, MetadataReceived, StatusReceived, TrackReceived  # noqa: E402
from rtmp_push import Session  # noqa: E402


def play(url: str, *, max_seconds: float = 30.0, on_frame=None) -> tuple[list[Track], list[Frame]]:  # type: ignore[no-untyped-def]
    """Play ``url`` until the server ends the stream or closes; returns the tracks and frames."""
    s = Session(url)
    tracks: list[Track] = []
    frames: list[Frame] = []
    try:
        s.wait_for(Connected)
        s.conn.play(s.key)
        s.flush()
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            try:
                data = s.sock.recv(65536)
            except TimeoutError:
                break
            for e in s.conn.receive_data(data):
                if isinstance(e, TrackReceived):
                    tracks.append(e.track)
                elif isinstance(e, FrameReceived):
                    frames.append(e.frame)
                    if on_frame is not None:
                        on_frame(e.frame)
                elif isinstance(e, MetadataReceived):
                    print("metadata:", e.metadata)
                elif isinstance(e, StatusReceived) and e.code in ("NetStream.Play.Stop",
                                                                   "NetStream.Play.UnpublishNotify"):
                    return tracks, frames
            s.flush()
            if not data:
                break
        return tracks, frames
    finally:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    def show(f: Frame) -> None:
        print(f"track {f.track_id} dts {f.dts} pts {f.pts} {f.size} bytes{' key' if f.keyframe else ''}")

    tracks, frames = play(args.url, max_seconds=args.seconds, on_frame=show)
    print(f"{len(frames)} frames; tracks: {tracks}")


if __name__ == "__main__":
    main()
