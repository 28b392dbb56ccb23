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

The ``720p`` rows do the same on a live-like stream with large frames: 10 s of 1280x720 25 fps
H.264 at about 4 Mbit/s (libx264, CBR, 1 s GOP) and AAC 128 kbit/s, made once by ffmpeg into the
temp directory (never into git; the rows are skipped without ffmpeg/libx264), 3 passes (30 s,
16 MB) for our side and 40 passes (about 220 MB) for FFmpeg. Frames there average 20 KB against
0.6 KB in the reference clip, so the two rows show how the ratio depends on the frame size (the
per-frame work against the per-packet work).

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


_FFMPEG = shutil.which("ffmpeg")
_TMP = Path(tempfile.gettempdir())


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


class _Clip:
    """A clip's frames repeated with continued timestamps: ``passes`` of them for our side (the
    "long" stream), ``big_passes`` (over 200 MB of TS) for FFmpeg's, written by our muxer."""

    def __init__(self, name: str, data: bytes, passes: int, big_passes: int) -> None:
        self.name = name
        self.passes = passes
        self.big_passes = big_passes
        events = _demux_all(data) if data else []
        self.tracks = next((e.tracks for e in reversed(events) if isinstance(e, TracksChanged)), ())
        self.frames = sorted((e.frame for e in events if isinstance(e, FrameReceived)), key=lambda f: f.dts)
        #: one pass: the decode times' span and one video frame more (25 fps), so passes never overlap
        self.span = (self.frames[-1].dts - self.frames[0].dts + 3600) if self.frames else 0
        self.es_bytes = sum(f.size for f in self.frames)
        self.long_frames = self.repeat(0, passes) if data else []
        self.long = self.mux_long() if data else b""
        self.files: dict[str, Path] = {}
        self.checked = False

    def repeat(self, first: int, count: int) -> list[Frame]:
        return [replace(f, pts=f.pts + i * self.span, dts=f.dts + i * self.span)
                for i in range(first, first + count) for f in self.frames]

    def mux_long(self) -> bytes:
        mux = Muxer(self.tracks)
        return b"".join([mux.mux(f) for f in self.long_frames])

    def demux_long(self) -> int:
        dm = Demuxer()
        n = 0
        data = self.long
        for pos in range(0, len(data), 1316 * 8):
            n += sum(isinstance(e, FrameReceived) for e in dm.feed(data[pos:pos + 1316 * 8]))
        n += sum(isinstance(e, FrameReceived) for e in dm.flush())
        assert n == len(self.long_frames)
        return n

    def file(self, kind: str, passes: int) -> Path:
        """The stream of ``passes`` passes as a file (written once per run, removed at exit)."""
        path = self.files.get(kind)
        if path is None:
            path = _TMP / f"mediaproto-bench-{os.getpid()}-{self.name}-{kind}.ts"
            mux = Muxer(self.tracks)
            with path.open("wb") as out:
                for i in range(0, passes, self.passes):
                    out.write(b"".join([mux.mux(f) for f in self.repeat(i, min(self.passes, passes - i))]))
            atexit.register(lambda: path.unlink(missing_ok=True))  # type: ignore[union-attr]
            self.files[kind] = path
        return path

    def check_ffmpeg(self) -> None:
        """Once per run, FFmpeg's side checks what ours asserts: FFmpeg reads every frame of the long
        stream (our demuxer counts them too), and its muxer writes every frame back (ours is timed
        on the same frames)."""
        if self.checked or not shutil.which("ffprobe"):
            return
        long = self.file("long", self.passes)
        assert _packets_seen(long) == len(self.long_frames)
        remuxed = _TMP / f"mediaproto-bench-{os.getpid()}-{self.name}-remux.ts"
        try:
            _ffmpeg_to(long, "mpegts", remuxed)
            assert _packets_seen(remuxed) == len(self.long_frames)
        finally:
            remuxed.unlink(missing_ok=True)
        self.checked = True

    def big(self, quick: bool) -> tuple[Path, int]:
        """The input FFmpeg is timed on and its passes (the long stream under ``--quick``)."""
        self.check_ffmpeg()
        if quick:
            return self.file("long", self.passes), self.passes
        return self.file("big", self.big_passes), self.big_passes

    def ffmpeg_demux_seconds(self, quick: bool) -> float:
        """FFmpeg's demux of the big stream, less a run on one pass (the empty run: start-up and
        probing): per long stream. (Under ``--quick``, one run on the long stream, nothing
        subtracted: a check that it runs.)"""
        path, passes = self.big(quick)
        if quick:
            return _ffmpeg(path, "null")
        one = self.file("one", 1)
        return _difference((path, "null"), (one, "null")) * self.passes / (passes - 1)

    def ffmpeg_mux_seconds(self, quick: bool) -> float:
        """FFmpeg's TS muxer alone on the big stream (``-f mpegts`` less ``-f null``): per long
        stream. (Under ``--quick``, one ``-f mpegts`` run on the long stream.)"""
        path, passes = self.big(quick)
        if quick:
            return _ffmpeg(path, "mpegts")
        return _difference((path, "mpegts"), (path, "null")) * self.passes / passes

    def video_frame_size(self) -> float:
        sizes = [f.size for f in self.frames if isinstance(f.data, tuple)]
        return sum(sizes) / max(1, len(sizes))

    def peer_note(self) -> str:
        path = self.files.get("big")
        return f"FFmpeg on {path.stat().st_size / 1e6:.0f} MB" if path is not None and path.exists() else ""


def _demux_all(data: bytes) -> list[object]:
    dm = Demuxer()
    return [*dm.feed(data), *dm.flush()]


def _hd_source() -> bytes:
    """10 s of 1280x720 25 fps H.264 (~4 Mbit/s CBR, 1 s GOP) + AAC as TS, made once by ffmpeg into
    the temp directory (the same settings as bench_live's stream); ``b""`` without ffmpeg/libx264."""
    path = _TMP / "mediaproto-bench-mpegts-720p-4M.ts"
    if not (path.exists() and path.stat().st_size > 4_000_000):
        if _FFMPEG is None:
            return b""
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            subprocess.run(
                [_FFMPEG, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                 "testsrc2=size=1280x720:rate=25:duration=10", "-f", "lavfi", "-i",
                 "anoisesrc=sample_rate=48000:amplitude=0.2:seed=7:duration=10", "-c:v", "libx264", "-preset",
                 "veryfast", "-g", "25", "-pix_fmt", "yuv420p", "-b:v", "4M", "-maxrate", "4M", "-minrate", "4M",
                 "-bufsize", "1M", "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                 "-f", "mpegts", str(tmp)], check=True, timeout=300, capture_output=True)
        except (subprocess.SubprocessError, OSError):
            tmp.unlink(missing_ok=True)
            return b""
        tmp.replace(path)
    return path.read_bytes()


_SMALL = _Clip("small", _DATA, 24, 32 * 24)
_HD = _Clip("720p", _hd_source() if _DATA else b"", 3, 40)
# the names the docs' profiling recipe uses
_TRACKS, _FRAMES, _LONG_FRAMES, _LONG = _SMALL.tracks, _SMALL.frames, _SMALL.long_frames, _SMALL.long
_ES_BYTES, _PASSES = _SMALL.es_bytes, _SMALL.passes
_mux_long = _SMALL.mux_long
_demux_long = _SMALL.demux_long


def _mux() -> bytes:
    mux = Muxer(_TRACKS)
    return b"".join([mux.mux(f) for f in _FRAMES])


_SECTION = os.urandom(1021)  # the largest PSI section body
_peer = _FFMPEG and _DATA

BENCHMARKS = [
    Bench("mpegts.demux ref.ts", _demux, work=len(_DATA), unit="MB/s",
          note=lambda: f"{len(_FRAMES)} frames, {len(_DATA)} bytes"),
    Bench("mpegts.mux ref.ts frames", _mux, work=_ES_BYTES, unit="MB/s",
          note=lambda: f"MB/s of frames; {len(_mux())} bytes out"),
    Bench("mpegts.demux 100 s stream", _SMALL.demux_long, work=len(_SMALL.long), unit="MB/s", peer="ffmpeg",
          peer_time=_SMALL.ffmpeg_demux_seconds if _peer else None, target=0.125,
          note=lambda: f"MB/s of TS; ours on {len(_SMALL.long) / 1e6:.1f} MB; {_SMALL.peer_note()}".rstrip("; ")),
    Bench("mpegts.mux 100 s stream frames", _SMALL.mux_long, work=_SMALL.es_bytes * _SMALL.passes, unit="MB/s",
          peer="ffmpeg", peer_time=_SMALL.ffmpeg_mux_seconds if _peer else None, target=1 / 3,
          note=lambda: f"MB/s of frames; {_SMALL.peer_note()}".rstrip("; ")),
]
if _HD.frames:
    BENCHMARKS += [
        Bench("mpegts.demux 720p 4 Mbit/s", _HD.demux_long, work=len(_HD.long), unit="MB/s", peer="ffmpeg",
              peer_time=_HD.ffmpeg_demux_seconds, target=0.125,
              note=lambda: f"MB/s of TS; ours on {len(_HD.long) / 1e6:.1f} MB; {_HD.peer_note()}".rstrip("; ")),
        Bench("mpegts.mux 720p 4 Mbit/s frames", _HD.mux_long, work=_HD.es_bytes * _HD.passes, unit="MB/s",
              peer="ffmpeg", peer_time=_HD.ffmpeg_mux_seconds, target=1 / 3,
              note=lambda: f"MB/s of frames, video {_HD.video_frame_size() / 1e3:.0f} KB a frame; {_HD.peer_note()}"
              .rstrip("; ")),
    ]
BENCHMARKS.append(
    Bench("mpegts.crc32 1021-byte section", lambda: crc32_mpeg2(_SECTION), work=len(_SECTION), unit="MB/s",
          note=lambda: "zlib-based; no peer (the table loop is our reference)"))
