"""fMP4: the fragmenter against the MPEG-TS muxer on the same frames, and the fMP4 demuxer.

The frames are the reference clip's (``tests/vectors/ref.ts``: H.264 320x240 25 fps + AAC 48 kHz,
4 s), repeated ten times with their timestamps continued. The fragmenter cuts a fragment before every
video keyframe (HLS segments) and the peer is :class:`mediaproto.mpegts.Muxer` writing the same
frames; both are measured on the frames' media bytes. A second run cuts 200 ms parts (LL-HLS) as
well. The issue's target: the fragmenter within 1.5x of the TS muxer's throughput (ratio >= 0.67;
higher is better for the fragmenter).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness import Bench

from mediaproto.media import Frame, Track
from mediaproto.mp4 import Demuxer, Fragmenter
from mediaproto.mpegts import Demuxer as TsDemuxer
from mediaproto.mpegts import FrameReceived, Muxer, TracksChanged

_REF = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "ref.ts"
_DATA = _REF.read_bytes() if _REF.is_file() else b""


def _frames(repeats: int = 10) -> tuple[tuple[Track, ...], list[Frame]]:
    if not _DATA:
        return (), []
    dm = TsDemuxer()
    events = dm.feed(_DATA) + dm.flush()
    tracks = next(e.tracks for e in reversed(events) if isinstance(e, TracksChanged))
    clip = sorted((e.frame for e in events if isinstance(e, FrameReceived)), key=lambda f: f.dts)
    span = max(f.dts for f in clip) - min(f.dts for f in clip) + 3600  # no overlap between repeats
    return tracks, [replace(f, pts=f.pts + i * span, dts=f.dts + i * span) for i in range(repeats) for f in clip]


_TRACKS, _FRAMES = _frames()
_MEDIA_BYTES = sum(f.size for f in _FRAMES)
_VIDEO = next((t.id for t in _TRACKS if t.codec.is_video), None)


def _fragment() -> bytes:
    fr = Fragmenter(_TRACKS)
    out = [fr.init_segment()]
    for f in _FRAMES:
        if f.keyframe and f.track_id == _VIDEO and fr.queued:
            out.append(fr.fragment())
        fr.add(f)
    out.append(fr.drain())
    return b"".join(out)


def _fragment_parts(every: int = 5) -> bytes:
    """Fragments of 5 video frames (200 ms, LL-HLS parts) as well as at every keyframe."""
    fr = Fragmenter(_TRACKS)
    out = [fr.init_segment()]
    n = 0
    for f in _FRAMES:
        if f.track_id == _VIDEO:
            if fr.queued and (f.keyframe or n % every == 0):
                out.append(fr.fragment())
            n += 1
        fr.add(f)
    out.append(fr.drain())
    return b"".join(out)


def _mux_ts() -> bytes:
    mux = Muxer(_TRACKS)
    return b"".join([mux.mux(f) for f in _FRAMES])  # one frame per PES: nothing is held back


_FMP4 = _fragment() if _FRAMES else b""


def _demux() -> int:
    dm = Demuxer()
    n = 0
    for pos in range(0, len(_FMP4), 1 << 16):
        n += len(dm.feed(_FMP4[pos:pos + (1 << 16)]))
    return n + len(dm.flush())


BENCHMARKS = [
    # No peer: our own TS muxer is no peer (rows without a real peer have no ratio, issue 17);
    # "mpegts.mux" in bench_mpegts times it on the same kind of frames.
    Bench("mp4.fragment ref.ts frames x10", _fragment, work=_MEDIA_BYTES, unit="MB/s",
          note=lambda: f"{len(_FRAMES)} frames, fMP4 {len(_FMP4)} bytes vs TS {len(_mux_ts())} bytes"),
    Bench("mp4.fragment ref.ts frames x10, 200 ms parts", _fragment_parts, work=_MEDIA_BYTES, unit="MB/s",
          note=lambda: f"{len(_fragment_parts())} bytes"),
    Bench("mp4.demux ref.ts frames x10", _demux, work=len(_FMP4), unit="MB/s",
          note=lambda: f"{len(_FMP4)} bytes"),
]
