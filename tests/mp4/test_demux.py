"""The demuxer: FFmpeg's fMP4 HLS segments give the packets ffprobe reports, any split of the
input gives the same events, and malformed input raises only ProtocolError."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from mediaproto.media import Codec, Frame
from mediaproto.mp4 import Demuxer, Fragmenter, FrameReceived, Limits, TracksChanged, parse_boxes

from ._tracks import AAC, H264

VECTOR = Path(__file__).resolve().parents[1] / "vectors" / "hls-fmp4"
PACKETS = Path(__file__).resolve().parent / "vectors" / "hls-fmp4.packets.csv"


def _vector() -> bytes:
    return b"".join((VECTOR / name).read_bytes() for name in ("init.mp4", "index0.m4s", "index1.m4s"))


def _demux(data: bytes, chunk: int = 1 << 30, **kwargs: object) -> list[object]:
    dm = Demuxer(**kwargs)  # type: ignore[arg-type]
    events: list[object] = []
    for pos in range(0, len(data), chunk):
        events += dm.feed(data[pos:pos + chunk])
    return events + dm.flush()


def test_ffmpeg_hls_segments_match_ffprobe() -> None:
    events = _demux(_vector(), chunk=1000)
    tracks = [e for e in events if isinstance(e, TracksChanged)]
    assert len(tracks) == 1
    video, audio = tracks[0].tracks
    assert (video.codec, video.clock_rate, video.width, video.height) == (Codec.H264, 12800, 320, 240)
    assert (audio.codec, audio.clock_rate, audio.sample_rate, audio.channels) == (Codec.AAC, 48000, 48000, 2)
    got: dict[int, list[tuple[int, int, int, bool]]] = {0: [], 1: []}
    for e in events:
        if isinstance(e, FrameReceived):
            f = e.frame
            got[f.track_id - 1].append((f.pts, f.dts, e.size, f.keyframe))
    want: dict[int, list[tuple[int, int, int, bool]]] = {0: [], 1: []}
    with open(PACKETS, newline="") as fh:
        for stream, pts, dts, size, flags in csv.reader(fh):
            want[int(stream)].append((int(pts), int(dts), int(size), flags.startswith("K")))
    assert len(want[0]) == 100 and len(want[1]) == 189
    assert got == want


def test_edit_lists_can_be_ignored() -> None:
    events = _demux(_vector(), apply_edit_lists=False)
    first = next(e.frame for e in events if isinstance(e, FrameReceived) and e.frame.track_id == 1)
    assert first.dts == 0  # tfdt 0, without the 21 ms (269 ticks) empty edit


def test_vector_boxes_round_trip_byte_exact() -> None:
    for name in ("init.mp4", "index0.m4s", "index1.m4s"):
        raw = (VECTOR / name).read_bytes()
        assert b"".join(bytes(b) for b in parse_boxes(raw)) == raw


def test_video_frames_are_nal_units() -> None:
    events = _demux(_vector())
    frame = next(e.frame for e in events if isinstance(e, FrameReceived) and e.frame.track_id == 1)
    assert isinstance(frame.data, tuple)
    assert 5 in [n[0] & 0x1F for n in frame.data]  # an IDR slice


def _stream() -> bytes:
    fr = Fragmenter([H264, AAC])
    out = [fr.init_segment()]
    for i in range(12):
        if i % 4 == 0:
            out.append(fr.fragment())
        fr.add(Frame(1, i * 3600, i * 3600, (bytes([0x65 if i % 4 == 0 else 0x41, i]),), i % 4 == 0))
        fr.add(Frame(2, i * 1920, i * 1920, bytes([i]) * 5, True))
    return b"".join(out) + fr.drain()


STREAM = _stream()


@given(st.lists(st.integers(1, len(STREAM)), max_size=8))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    whole = _demux(STREAM)
    dm = Demuxer()
    events: list[object] = []
    last = 0
    for cut in sorted(cuts) + [len(STREAM)]:
        events += dm.feed(STREAM[last:cut])
        last = cut
    assert events + dm.flush() == whole


@settings(max_examples=200)
@given(st.data())
def test_mutated_input_raises_only_protocol_errors(data: st.DataObject) -> None:
    raw = bytearray(STREAM)
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[:data.draw(st.integers(0, len(raw)))]
    try:
        _demux(bytes(raw), chunk=data.draw(st.integers(1, 500)))
    except ProtocolError:
        pass


@given(st.binary(max_size=300))
def test_random_input_raises_only_protocol_errors(raw: bytes) -> None:
    try:
        _demux(raw)
    except ProtocolError:
        pass


def test_broken_demuxer_refuses_more_input() -> None:
    dm = Demuxer()
    init = Fragmenter([H264, AAC]).init_segment()
    with pytest.raises(ParseError) as err:
        dm.feed(init + struct.pack(">I4s", 3, b"moof"))
    assert err.value.offset == len(init)
    dm2 = Demuxer()
    with pytest.raises(ParseError):
        dm2.feed(struct.pack(">I4s", 3, b"moof"))
    assert dm2.broken
    with pytest.raises(LocalProtocolError):
        dm2.feed(b"")


def test_truncated_end_is_an_error() -> None:
    dm = Demuxer()
    dm.feed(STREAM[:-1])
    with pytest.raises(ParseError):
        dm.flush()


def test_box_size_limit() -> None:
    init = Fragmenter([H264, AAC]).init_segment()
    dm = Demuxer(Limits(max_box_size=len(init)))
    with pytest.raises(LimitExceeded) as err:
        dm.feed(init + struct.pack(">I4s", 5000, b"mdat"))
    assert err.value.offset == len(init)


def test_sample_outside_the_mdat() -> None:
    init_end = STREAM.index(b"moof") - 4
    moof_size = struct.unpack(">I", STREAM[init_end:init_end + 4])[0]
    # cut the mdat after the moof short, so the trun's samples point past it
    mdat_at = init_end + moof_size
    broken = STREAM[:mdat_at] + struct.pack(">I4s", 12, b"mdat") + b"abcd"
    with pytest.raises(ParseError, match="outside the mdat"):
        _demux(broken)
