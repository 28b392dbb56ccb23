#!/usr/bin/env python3
"""Pull an RTSP stream with :func:`mediaproto.aio.rtsp.connect` and write what arrives to files.

    python3 examples/rtsp_record.py rtsp://user:pass@camera/stream --seconds 10
    python3 examples/rtsp_record.py rtsp://127.0.0.1:8554/test --transport udp --format ts

Writes ``out.ts`` (MPEG-TS, ``--format ts``) or the raw elementary streams ``out.h264`` (Annex B) /
``out.h265`` and ``out.aac`` (ADTS), which any player opens. The client does all of RTSP (OPTIONS,
DESCRIBE with a Digest retry, SETUP, PLAY, keepalives, receiver reports, reordering over UDP).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.aio import rtsp  # noqa: E402
from mediaproto.codecs.aac import AudioSpecificConfig  # noqa: E402
from mediaproto.codecs.adts import adts_wrap  # noqa: E402
from mediaproto.codecs.h264 import join_annexb  # noqa: E402
from mediaproto.media import Codec, Frame, Track  # noqa: E402
from mediaproto.mpegts import Muxer  # noqa: E402


class Writer:
    """Raw elementary streams (``--format raw``) or one MPEG-TS file (``--format ts``)."""

    TS = -1  # the key of the one file of --format ts

    def __init__(self, tracks: tuple[Track, ...], out_dir: Path, stem: str, fmt: str) -> None:
        self.configs = {t.id: AudioSpecificConfig.parse(t.config) for t in tracks if t.codec is Codec.AAC}
        self.muxer = Muxer(tracks) if fmt == "ts" else None
        names = {self.TS: "ts"} if self.muxer is not None else {
            t.id: {Codec.H264: "h264", Codec.H265: "h265", Codec.AAC: "aac"}.get(t.codec) for t in tracks}
        self.paths = {tid: out_dir / f"{stem}.{ext}" for tid, ext in names.items() if ext is not None}
        self.files: dict[int, BinaryIO] = {tid: path.open("wb") for tid, path in self.paths.items()}

    def write(self, frame: Frame) -> None:
        if self.muxer is not None:
            self.files[self.TS].write(self.muxer.mux(frame))
        elif frame.track_id in self.files:
            out = self.files[frame.track_id]
            if isinstance(frame.data, tuple):
                out.write(join_annexb(frame.data))
            else:
                out.write(adts_wrap(frame.data, self.configs[frame.track_id]))

    def close(self) -> None:
        if self.muxer is not None:
            self.files[self.TS].write(self.muxer.drain())
        for out in self.files.values():
            out.close()


@dataclass
class PullResult:
    """What a pull received: the tracks, the frames (when kept) and the files written."""

    tracks: tuple[Track, ...] = ()
    frames: list[Frame] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


async def pull(url: str, *, transport: str = "tcp", seconds: float | None = None, out_dir: Path = Path("."),
               stem: str = "out", fmt: str = "raw", keep_frames: bool = True) -> PullResult:
    """Play ``url`` until ``seconds`` of media arrived (or the server ends the stream), writing it
    to ``out_dir``; returns what arrived. Raises :class:`rtsp.SessionError` when refused."""
    client = await rtsp.connect(url, transport=transport)
    result = PullResult(client.tracks)
    logging.info("tracks: %s", ", ".join(f"{t.id}:{t.codec.name}" for t in client.tracks))
    rates = {t.id: t.clock_rate for t in client.tracks}
    writer = Writer(client.tracks, out_dir, stem, fmt)
    result.paths = list(writer.paths.values())
    first: dict[int, int] = {}
    try:
        async for frame in client.frames():
            start = first.setdefault(frame.track_id, frame.pts)
            if seconds is not None and frame.pts - start >= seconds * rates[frame.track_id]:
                break
            if keep_frames:
                result.frames.append(frame)
            writer.write(frame)
    finally:
        writer.close()
        await client.close()  # TEARDOWN
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="rtsp://[user:password@]host[:port]/path")
    parser.add_argument("--transport", choices=("tcp", "udp"), default="tcp")
    parser.add_argument("--seconds", type=float, help="stop after this much media (default: until Ctrl-C)")
    parser.add_argument("--format", choices=("raw", "ts"), default="raw", help="raw elementary streams or MPEG-TS")
    parser.add_argument("--out-dir", type=Path, default=Path("."))
    parser.add_argument("--stem", default="out", help="file name without extension (default out)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        result = asyncio.run(pull(args.url, transport=args.transport, seconds=args.seconds, out_dir=args.out_dir,
                                  stem=args.stem, fmt=args.format, keep_frames=False))
    except KeyboardInterrupt:  # asyncio.run cancelled pull: its finally closed the files
        return 130
    except rtsp.SessionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in result.paths:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
