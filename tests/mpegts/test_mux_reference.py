"""The muxer writes byte for byte what it wrote before its fast paths (issue 17).

``_mux_reference.py`` is a frozen copy of ``mediaproto/mpegts/mux.py`` at commit cdf9eab, the last
commit before the per-frame fast paths; its output is covered by test_mux.py's structural checks
(and its interop tests against FFmpeg). Every case here runs both muxers on the same frames with
the same options and compares the bytes of each :meth:`Muxer.mux` / :meth:`Muxer.psi` /
:meth:`Muxer.drain` call, and the exceptions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.codecs.aac import AudioSpecificConfig
from mediaproto.errors import LocalProtocolError
from mediaproto.media import Codec, Frame, Track
from mediaproto.mpegts import Demuxer, FrameReceived, Muxer, TracksChanged

from . import _mux_reference as reference

SPS = b"\x67\x42\xc0\x0d\xd9\x01\x41\xfb\x01\x10"
PPS = b"\x68\xcb\x8c\xb2"
VPS5 = b"\x40\x01\x0c\x01"
SPS5 = b"\x42\x01\x01\x01"
PPS5 = b"\x44\x01\xc1\x72"
ASC = AudioSpecificConfig.lc(48000, 2).to_bytes()

H264 = Track(1, Codec.H264, 90000, parameter_sets=(SPS, PPS))
AAC48 = Track(2, Codec.AAC, 48000, config=ASC, sample_rate=48000, channels=2)
AAC90 = Track(3, Codec.AAC, 90000, config=ASC, sample_rate=48000, channels=2)
MP3 = Track(4, Codec.MP3, 90000, sample_rate=44100)
H265 = Track(5, Codec.H265, 90000, parameter_sets=(VPS5, SPS5, PPS5))
OPUS = Track(6, Codec.OPUS, 48000, sample_rate=48000, channels=2)
AC3 = Track(7, Codec.AC3, 90000, sample_rate=48000)
H264_BARE = Track(8, Codec.H264, 1000)  # no parameter sets, a 1 kHz clock (FLV's)
H264_44K = Track(9, Codec.H264, 44100, parameter_sets=(SPS, PPS))  # rescaled timestamps that round

REF_TS = Path(__file__).resolve().parents[1] / "vectors" / "ref.ts"


def _run(tracks: list[Track], calls: list[Any], **options: Any) -> None:
    """Run ``calls`` (frames, or the strings "psi" / "drain") through both muxers; compare each result."""
    new, old = Muxer(tracks, **options), reference.Muxer(tracks, **options)
    for i, call in enumerate(calls):
        results = []
        for m in (new, old):
            try:
                if call == "psi":
                    results.append(m.psi())
                elif call == "drain":
                    results.append(m.drain())
                else:
                    results.append(m.mux(call))
            except LocalProtocolError as exc:
                results.append(f"raised {exc}")
        assert results[0] == results[1], f"call {i}: {call!r}"
    assert new.drain() == old.drain()


def _ref_stream(passes: int) -> tuple[list[Track], list[Frame]]:
    dm = Demuxer()
    data = REF_TS.read_bytes()
    events = dm.feed(data) + dm.flush()
    tracks = list(next(e.tracks for e in reversed(events) if isinstance(e, TracksChanged)))
    frames = sorted((e.frame for e in events if isinstance(e, FrameReceived)), key=lambda f: f.dts)
    span = frames[-1].dts - frames[0].dts + 3600
    return tracks, [replace(f, pts=f.pts + i * span, dts=f.dts + i * span) for i in range(passes) for f in frames]


@pytest.mark.parametrize("options", [
    {},
    {"audio_frames_per_pes": 3},
    {"timestamp_offset": (1 << 33) - 90000 * 50},  # wraps 50 s in
    {"sdt_interval": None, "psi_interval": 0.5, "pcr_interval": 0.1},
])
def test_the_100_s_stream(options: dict[str, Any]) -> None:
    tracks, frames = _ref_stream(24)
    _run(tracks, list(frames), **options)


def _h264(i: int, size: int, key: bool = False, dts: int | None = None, pts_delta: int = 0) -> Frame:
    t = 3600 * i if dts is None else dts
    nals = (b"\x65" + bytes(range(256)) * (size // 256 + 1))[:size] if key else (b"\x41" + bytes([i & 0xFF]) * size)[:size]
    return Frame(1, t + pts_delta, t, (nals,), key)


def _aac(i: int, size: int, rate: int = 48000, track: int = 2) -> Frame:
    t = 1024 * i * rate // 48000
    return Frame(track, t, t, bytes([0x21, i & 0xFF]) * (size // 2) + b"\x00" * (size % 2), True)


@pytest.mark.parametrize("size", [1, 2, 150, 155, 160, 162, 163, 164, 165, 166, 168, 169, 170, 171, 175, 176, 177,
                                  182, 183, 184, 185, 186, 190, 191, 368, 369, 370, 500, 5000, 0xFFF0, 0xFFF2,
                                  0xFFF3, 0xFFF7, 0xFFF8,
                                  0x1FF8, 70000])
def test_edge_sizes(size: int) -> None:
    # AAC (ADTS, at most 0x1FF8 bytes; larger ones raise in both) and MP3 (as it is) around the
    # one-packet sizes, with and without the random access flag; video around the PCR packet's room
    frames: list[Any] = []
    for i in range(4):
        frames.append(_h264(i, size, key=i == 0, pts_delta=3600 * (i % 2)))
        frames.append(_aac(2 * i, size))
        frames.append(_aac(2 * i + 1, size))
        frames.append(Frame(4, 2000 * i + 900 * (i % 2), 2000 * i, b"\xff\xfb" + bytes(max(0, size - 2)), i % 2 == 0))
    _run([H264, AAC48, MP3], frames)
    _run([MP3], [f for f in frames if f.track_id == 4])  # audio only: PCR on every PES
    _run([AAC48, MP3], [f for f in frames if f.track_id != 1], audio_frames_per_pes=2)


def test_pcr_only_packets_psi_and_keyframes() -> None:
    # slow video (1 fps) and audio: PCR-only packets between the video PES; keyframes repeat PSI;
    # psi() called between frames (a segment cut)
    calls: list[Any] = []
    for i in range(200):
        if i % 47 == 0:
            calls.append("psi")
        if i % 48 == 0:
            calls.append(_h264(i // 48, 900, key=(i // 48) % 2 == 0, dts=90000 * (i // 48)))
        calls.append(_aac(i, 170))
        if i % 61 == 0:
            calls.append("drain")
    _run([H264, AAC48], calls)
    _run([H264, AAC48], calls, audio_frames_per_pes=4)
    _run([H264, AAC48], calls, sdt_interval=None, pcr_lead=0.0)
    _run([AAC48, H264], calls, timestamp_offset=12345)  # the video track second: still the PCR PID


def test_timestamp_wrap_and_negative_times() -> None:
    start = (1 << 33) - 90000
    frames = [_h264(i, 700, key=i % 25 == 0, dts=start + 3600 * i, pts_delta=7200) for i in range(60)]
    frames += [Frame(3, start + 1920 * i, start + 1920 * i, b"\x01" * 200, True) for i in range(120)]
    frames.sort(key=lambda f: f.dts)
    _run([H264, AAC90], frames)
    negative = [replace(f, pts=f.pts - start - 9000, dts=f.dts - start - 9000) for f in frames]
    _run([H264, AAC90], negative)
    _run([H264, AAC90], negative, timestamp_offset=1 << 32)


def test_other_codecs_and_nal_forms() -> None:
    calls: list[Any] = [
        Frame(8, 0, 0, (b"\x09\xf0", SPS, PPS, b"\x65\x00"), True),  # AUD present, in-band parameter sets
        Frame(8, 40, 40, (b"", b"\x41\x01", b""), False),  # empty NAL units dropped
        Frame(8, 80, 80, (b"\x65\x02",), True),  # IDR: the in-band SPS/PPS inserted after the AUD
        Frame(8, 120, 80, b"\x41\x03", False),  # bytes data, pts != dts
        Frame(8, 160, 160, (), False),  # nothing: an AUD alone
        Frame(8, 200, 200, (b"\x09\xf0", b"\x65\x04"), True),
        Frame(8, 240, 240, (SPS, b"\x65\x05"), True),  # PPS from the earlier in-band one
    ]
    _run([H264_BARE], calls)
    h265 = [
        Frame(5, 0, 0, (b"\x26\x01\xaf",), True),  # IDR_W_RADL: VPS/SPS/PPS inserted
        Frame(5, 3600, 3600, (b"\x02\x01\xd0",), False),
        Frame(5, 7200, 7200, (b"\x46\x01\x50", b"\x2a\x01\xaf"), True),  # AUD present, CRA
    ]
    _run([H265, OPUS, AC3], h265 + [Frame(6, 960 * i, 960 * i, bytes([0xFC]) * (i * 37 % 300), True) for i in range(9)]
         + [Frame(7, 2880 * i, 2880 * i, b"\x0b\x77" + bytes(i * 101), True) for i in range(5)])


def test_errors() -> None:
    _run([H264, AAC48], [Frame(9, 0, 0, b"x", True), Frame(2, 0, 0, bytes(0x1FF9), True), _aac(1, 100)])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 4, 9, "psi", "drain"]), st.integers(0, 3000), st.integers(-4000, 4000),
                          st.integers(0, 3), st.booleans()), max_size=40),
       st.sampled_from([1, 2, 3]), st.integers(0, (1 << 33) - 1), st.sampled_from([None, 0.2]))
def test_random_sequences(steps: list[tuple[Any, int, int, int, bool]], per_pes: int, offset: int,
                          sdt: float | None) -> None:
    calls: list[Any] = []
    clock = 0
    for what, size, step, pts_delta, key in steps:
        clock += step
        if isinstance(what, str):
            calls.append(what)
        elif what in (1, 9):
            calls.append(Frame(what, clock + 1801 * pts_delta, clock, (b"\x65" if key else b"\x41") + bytes(size), key))
        else:
            calls.append(Frame(what, clock, clock, bytes(size), key))
    _run([H264, AAC48, MP3, H264_44K], calls, audio_frames_per_pes=per_pes, timestamp_offset=offset, sdt_interval=sdt)
