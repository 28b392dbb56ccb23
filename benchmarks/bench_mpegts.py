"""MPEG-TS: demux and mux throughput against FFmpeg's own demuxer and muxer, on the same stream.

The stream is the reference clip's frames (tests/vectors/ref.ts: H.264 320x240 and AAC) repeated
with their timestamps continued: 24 passes (about 100 s, 6 MB) for our side, and 32 times that
(over 200 MB, written by our muxer once per run, only when FFmpeg is timed) for FFmpeg, so that
FFmpeg's throughput is measured, not its start-up. Each side does the same work:

- demux: TS bytes in, frames out. Ours: :class:`~mediaproto.mpegts.Demuxer` fed 10 KB reads.
  FFmpeg: ``ffmpeg -i big.ts -map 0 -c copy -f null -`` (demux and parse, no muxer), less the
  same command on a one-second file (start-up and probing: the empty run).
- mux: frames in, TS bytes out. Ours: :meth:`~mediaproto.mpegts.Muxer.mux` per frame. FFmpeg:
  ``-f mpegts`` less ``-f null`` on the same 200 MB input, the time of its muxer alone. The work
  is the elementary stream bytes (the frames), as the two muxers pack them with different overhead.

FFmpeg's times are the fastest of five runs of each command, taken alternately (wall-clock, or
the CPU seconds of all its threads under ``run.py --cpu``, which is much steadier here: the muxer's
share of a run is under a tenth of it).

The ``ref.ts`` rows time one pass of the 4-second clip (0.2 MB) and have no peer: a process
started for 0.2 MB measures its start-up. The CRC row has no peer either (the table loop beside it
is our own reference implementation).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import harness
from harness import Bench

from mediaproto.media import Frame
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
#: One pass of the clip: its decode times' span and one video frame more, so passes never overlap.
_SPAN = (_FRAMES[-1].dts - _FRAMES[0].dts + 3600) if _FRAMES else 0
_PASSES = 24
_BIG_PASSES = 32 * _PASSES
_ES_BYTES = sum(f.size for f in _FRAMES)


def _mux() -> bytes:
    mux = Muxer(_TRACKS)
    return b"".join([mux.mux(f) for f in _FRAMES])


def _passes(count: int) -> list[Frame]:
    return [replace(f, pts=f.pts + i * _SPAN, dts=f.dts + i * _SPAN) for i in range(count) for f in _FRAMES]


_LONG_FRAMES = _passes(_PASSES) if _DATA else []


def _mux_long() -> bytes:
    mux = Muxer(_TRACKS)
    return b"".join([mux.mux(f) for f in _LONG_FRAMES])


_LONG = _mux_long() if _DATA else b""


def _demux_long() -> int:
    dm = Demuxer()
    n = 0
    for pos in range(0, len(_LONG), 1316 * 8):
        n += sum(isinstance(e, FrameReceived) for e in dm.feed(_LONG[pos:pos + 1316 * 8]))
    n += sum(isinstance(e, FrameReceived) for e in dm.flush())
    assert n == len(_LONG_FRAMES)
    return n


_FFMPEG = shutil.which("ffmpeg")
_TMP = Path(tempfile.gettempdir())
_FILES: dict[str, Path] = {}


def _file(name: str, passes: int) -> Path:
    """The stream of ``passes`` passes as a file (written once per run, removed at exit)."""
    path = _FILES.get(name)
    if path is None:
        path = _TMP / f"mediaproto-bench-{os.getpid()}-{name}.ts"
        mux = Muxer(_TRACKS)
        with path.open("wb") as out:
            for i in range(0, passes, _PASSES):
                out.write(b"".join([mux.mux(replace(f, pts=f.pts + (i + j) * _SPAN, dts=f.dts + (i + j) * _SPAN))
                                    for j in range(min(_PASSES, passes - i)) for f in _FRAMES]))
        atexit.register(lambda: path.unlink(missing_ok=True))  # type: ignore[union-attr]
        _FILES[name] = path
    return path


def _ffmpeg_to(path: Path, fmt: str, out: Path | str = os.devnull) -> None:
    assert _FFMPEG is not None
    subprocess.run([_FFMPEG, "-nostdin", "-v", "error", "-i", str(path), "-map", "0", "-c", "copy", "-f", fmt,
                    "-y", str(out)], check=True, timeout=300)


def _ffmpeg(path: Path, fmt: str) -> float:
    """Seconds of one FFmpeg run: wall-clock, or its CPU seconds (all threads) under ``--cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    _ffmpeg_to(path, fmt)
    wall = time.perf_counter() - t0
    if not harness.CPU_TIME:
        return wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _difference(main: tuple[Path, str], base: tuple[Path, str], runs: int = 5) -> float:
    """The fastest of ``runs`` runs of the ``main`` command less the fastest of the ``base`` command
    (taken alternately; the fastest run is the one other work on the machine disturbed least, and
    the difference of two ~1 s runs is small, so medians would carry their noise into it)."""
    a, b = [], []
    for _ in range(runs):
        a.append(_ffmpeg(*main))
        b.append(_ffmpeg(*base))
    return min(a) - min(b)


def _packets_seen(path: Path) -> int:
    """How many packets (frames) ffprobe reads from a TS file."""
    out = subprocess.run([shutil.which("ffprobe") or "ffprobe", "-v", "error", "-count_packets", "-show_entries",
                          "stream=nb_read_packets", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    return sum(int(s["nb_read_packets"]) for s in json.loads(out)["streams"])


_checked = False


def _check_ffmpeg() -> None:
    """Once per run, FFmpeg's side checks what ours asserts: FFmpeg reads every frame of the 100 s
    stream (our demuxer counts them too), and its muxer writes every frame back (ours is timed on
    the same frames)."""
    global _checked
    if _checked or not shutil.which("ffprobe"):
        return
    long = _file("long", _PASSES)
    assert _packets_seen(long) == len(_LONG_FRAMES)
    remuxed = _TMP / f"mediaproto-bench-{os.getpid()}-remux.ts"
    try:
        _ffmpeg_to(long, "mpegts", remuxed)
        assert _packets_seen(remuxed) == len(_LONG_FRAMES)
    finally:
        remuxed.unlink(missing_ok=True)
    _checked = True


def _big(quick: bool) -> tuple[Path, int]:
    """The input FFmpeg is timed on and its passes (the 100 s stream under ``--quick``)."""
    _check_ffmpeg()
    return (_file("long", _PASSES), _PASSES) if quick else (_file("big", _BIG_PASSES), _BIG_PASSES)


def _ffmpeg_demux_seconds(quick: bool) -> float:
    """FFmpeg's demux of the big stream, less a run on one pass (4 s): per 100 s stream. (Under
    ``--quick``, one run on the 100 s stream, nothing subtracted: a check that it runs.)"""
    path, passes = _big(quick)
    if quick:
        return _ffmpeg(path, "null")
    one = _file("one", 1)
    return _difference((path, "null"), (one, "null")) * _PASSES / (passes - 1)


def _ffmpeg_mux_seconds(quick: bool) -> float:
    """FFmpeg's TS muxer alone on the big stream (``-f mpegts`` less ``-f null``): per 100 s stream.
    (Under ``--quick``, one ``-f mpegts`` run on the 100 s stream.)"""
    path, passes = _big(quick)
    if quick:
        return _ffmpeg(path, "mpegts")
    return _difference((path, "mpegts"), (path, "null")) * _PASSES / passes


def _peer_note() -> str:
    path = _FILES.get("big")
    return f"FFmpeg on {path.stat().st_size / 1e6:.0f} MB" if path is not None and path.exists() else ""


_SECTION = os.urandom(1021)  # the largest PSI section body
_peer = _FFMPEG and _DATA

BENCHMARKS = [
    Bench("mpegts.demux ref.ts", _demux, work=len(_DATA), unit="MB/s",
          note=lambda: f"{len(_FRAMES)} frames, {len(_DATA)} bytes"),
    Bench("mpegts.mux ref.ts frames", _mux, work=_ES_BYTES, unit="MB/s",
          note=lambda: f"MB/s of frames; {len(_mux())} bytes out"),
    Bench("mpegts.demux 100 s stream", _demux_long, work=len(_LONG), unit="MB/s", peer="ffmpeg",
          peer_time=_ffmpeg_demux_seconds if _peer else None, target=0.125,
          note=lambda: f"MB/s of TS; ours on {len(_LONG) / 1e6:.1f} MB; {_peer_note()}".rstrip("; ")),
    Bench("mpegts.mux 100 s stream frames", _mux_long, work=_ES_BYTES * _PASSES, unit="MB/s", peer="ffmpeg",
          peer_time=_ffmpeg_mux_seconds if _peer else None, target=1 / 3,
          note=lambda: f"MB/s of frames; {_peer_note()}".rstrip("; ")),
    Bench("mpegts.crc32 1021-byte section", lambda: crc32_mpeg2(_SECTION), work=len(_SECTION), unit="MB/s",
          note=lambda: "zlib-based; no peer (the table loop is our reference)"),
]
