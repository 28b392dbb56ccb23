"""MPEG-TS: mux and demux throughput over the reference clip, against FFmpeg's own remux.

The anchor is ``ffmpeg -i ref.ts -c copy -f mpegts -y /dev/null`` on the same bytes, timed in the
same run (a whole process: start-up, demux, parse and mux; nothing is subtracted). The issue's
target is at least 1/8 of it. The CRC benchmark compares the zlib-based MPEG-2 CRC-32 with the
classic 256-entry table loop.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import subprocess
from pathlib import Path

from harness import Bench

from mediaproto.mpegts import Demuxer, FrameReceived, Muxer, TracksChanged
from mediaproto.mpegts.crc import crc32_mpeg2, crc32_mpeg2_table

_VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors"
_REF = _VECTORS / "ref.ts"
_DATA = _REF.read_bytes() if _REF.is_file() else b""


def _demux() -> list[object]:
    dm = Demuxer()
    events: list[object] = []
    for pos in range(0, len(_DATA), 1316):  # 7 x 188, the UDP carriage size
        events += dm.feed(_DATA[pos:pos + 1316])
    return events + dm.flush()


_EVENTS = _demux() if _DATA else []
_TRACKS = next((e.tracks for e in reversed(_EVENTS) if isinstance(e, TracksChanged)), ())
_FRAMES = sorted((e.frame for e in _EVENTS if isinstance(e, FrameReceived)), key=lambda f: f.dts)


def _mux() -> bytes:
    mux = Muxer(_TRACKS)
    return b"".join([mux.mux(f) for f in _FRAMES])


_FFMPEG = shutil.which("ffmpeg")


def _ffmpeg_remux() -> None:
    assert _FFMPEG is not None
    subprocess.run([_FFMPEG, "-nostdin", "-v", "error", "-i", str(_REF), "-c", "copy", "-f", "mpegts", "-y",
                    os.devnull], check=True, timeout=60)


_SECTION = os.urandom(1021)  # the largest PSI section body


def _long_stream(repeats: int = 24) -> bytes:
    """The clip's frames repeated (timestamps continued) and muxed: ~100 s, so that FFmpeg's
    process start-up weighs less in the anchor."""
    from dataclasses import replace

    mux = Muxer(_TRACKS)
    span = 4 * 90000
    return b"".join([mux.mux(replace(f, pts=f.pts + i * span, dts=f.dts + i * span))
                     for i in range(repeats) for f in _FRAMES])


_LONG = _long_stream() if _DATA else b""
_LONG_FILE = Path(tempfile.gettempdir()) / f"mediaproto-bench-{os.getpid()}.ts"
if _LONG:
    _LONG_FILE.write_bytes(_LONG)
    atexit.register(lambda: _LONG_FILE.unlink(missing_ok=True))


def _demux_long() -> None:
    dm = Demuxer()
    for pos in range(0, len(_LONG), 1316 * 8):
        dm.feed(_LONG[pos:pos + 1316 * 8])
    dm.flush()


def _ffmpeg_remux_long() -> None:
    assert _FFMPEG is not None
    subprocess.run([_FFMPEG, "-nostdin", "-v", "error", "-i", str(_LONG_FILE), "-c", "copy", "-f", "mpegts", "-y",
                    os.devnull], check=True, timeout=120)


BENCHMARKS = [
    Bench("mpegts.demux ref.ts", _demux, work=len(_DATA), unit="MB/s", peer="ffmpeg",
          peer_run=_ffmpeg_remux if _FFMPEG and _DATA else None, peer_work=len(_DATA), target=0.125,
          note=lambda: f"{len(_FRAMES)} frames, {len(_DATA)} bytes"),
    Bench("mpegts.mux ref.ts frames", _mux, work=len(_DATA), unit="MB/s", peer="ffmpeg",
          peer_run=_ffmpeg_remux if _FFMPEG and _DATA else None, peer_work=len(_DATA), target=0.125,
          note=lambda: f"{len(_mux())} bytes out"),
    Bench("mpegts.demux 100 s stream", _demux_long, work=len(_LONG), unit="MB/s", peer="ffmpeg",
          peer_run=_ffmpeg_remux_long if _FFMPEG and _LONG else None, peer_work=len(_LONG), target=0.125,
          note=lambda: f"{len(_LONG)} bytes"),
    Bench("mpegts.crc32 1021-byte section", lambda: crc32_mpeg2(_SECTION), work=len(_SECTION), unit="MB/s",
          peer="crc table", peer_run=lambda: crc32_mpeg2_table(_SECTION), peer_work=len(_SECTION)),
]
