"""The demuxer against FFmpeg's ref.ts (ffprobe's packet list), damage, PMT changes, limits, fuzz."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.errors import ProtocolError
from mediaproto.media import Codec, Frame, Track
from mediaproto.mpegts import (
    ContinuityError,
    Demuxer,
    Discontinuity,
    FrameReceived,
    Limits,
    Muxer,
    Resynced,
    StreamError,
    SyncLost,
    TracksChanged,
)


@pytest.fixture(scope="module")
def ref_ts(vectors: Path) -> bytes:
    return (vectors / "ref.ts").read_bytes()


@pytest.fixture(scope="module")
def ffprobe_packets(vectors: Path) -> list[tuple[int, int, int, int, bool]]:
    """ffprobe -show_entries packet=stream_index,pts,dts,size,flags (stream 0 = PID 0x100)."""
    rows = []
    with open(vectors / "ref.ts.packets.csv", newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 5 and row[0] in ("0", "1"):
                rows.append((int(row[0]), int(row[1]), int(row[2]), int(row[3]), row[4].startswith("K")))
    return rows


def _demux(data: bytes, chunk: int | list[int] = 1 << 20, demuxer: Demuxer | None = None) -> list[object]:
    dm = demuxer or Demuxer()
    events: list[object] = []
    if isinstance(chunk, int):
        for i in range(0, len(data), chunk):
            events += dm.feed(data[i:i + chunk])
    else:
        pos = 0
        for size in chunk:
            events += dm.feed(data[pos:pos + size])
            pos += size
        events += dm.feed(data[pos:])
    return events + dm.flush()


def _packets(events: list[object]) -> list[tuple[int, int, int, int, bool]]:
    out = []
    for e in events:
        if isinstance(e, FrameReceived):
            f = e.frame
            out.append((0 if f.track_id == 0x100 else 1, f.pts, f.dts, e.size, f.keyframe))
    return out


def test_same_packets_as_ffprobe(ref_ts: bytes, ffprobe_packets: list[tuple[int, int, int, int, bool]]) -> None:
    # FFmpeg packs up to 16 ADTS frames into one audio PES (12 PES here); ffprobe's AAC parser splits
    # them and reports 189 packets of one ADTS frame each (size includes the 7-byte header), with the
    # PTS advanced by 1024 samples (1920 ticks at 48 kHz). The demuxer does the same.
    events = _demux(ref_ts)
    got = _packets(events)
    assert len(ffprobe_packets) == 289
    assert sorted(got) == sorted(ffprobe_packets)
    # per stream, in the same order
    for sid in (0, 1):
        assert [p for p in got if p[0] == sid] == [p for p in ffprobe_packets if p[0] == sid]
    assert not [e for e in events if not isinstance(e, (FrameReceived, TracksChanged))]


def test_tracks_and_config(ref_ts: bytes, vectors: Path) -> None:
    events = _demux(ref_ts)
    changes = [e for e in events if isinstance(e, TracksChanged)]
    assert changes[0].program_number == 1 and changes[0].pcr_pid == 0x100
    assert [(t.id, t.codec) for t in changes[0].tracks] == [(0x100, Codec.H264), (0x101, Codec.AAC)]
    video, audio = changes[-1].tracks
    # the SPS/PPS FFmpeg announces for the same clip in its SDP (sprop-parameter-sets)
    sdp = (vectors / "rtp-ffmpeg-h264-aac.sdp").read_text()
    sprop = sdp.split("sprop-parameter-sets=")[1].split(";")[0]
    assert video.parameter_sets == tuple(base64.b64decode(s) for s in sprop.split(","))
    assert (video.width, video.height) == (320, 240)  # ffprobe
    # AAC LC 48 kHz stereo (ffprobe): AudioSpecificConfig 0x1190
    assert (audio.config, audio.sample_rate, audio.channels, audio.clock_rate) == (b"\x11\x90", 48000, 2, 90000)
    # every config change comes before the first frame that needs it
    first_frame = next(i for i, e in enumerate(events) if isinstance(e, FrameReceived))
    first_audio = next(i for i, e in enumerate(events) if isinstance(e, FrameReceived) and e.frame.track_id == 0x101)
    assert events.index(changes[1]) < first_frame
    assert events.index(changes[-1]) < first_audio


def test_frames_are_nal_tuples_without_aud(ref_ts: bytes) -> None:
    frames = [e.frame for e in _demux(ref_ts) if isinstance(e, FrameReceived) and e.frame.track_id == 0x100]
    for f in frames:
        assert isinstance(f.data, tuple)
        assert all(nal[0] & 0x1F != 9 for nal in f.data)
    assert [nal[0] & 0x1F for nal in frames[0].nal_units][:3] == [6, 7, 8]  # SEI, SPS, PPS, then IDR


@settings(max_examples=8)
@given(st.lists(st.integers(1, 5000), max_size=60))
def test_any_split(ref_ts: bytes, ffprobe_packets: list[tuple[int, int, int, int, bool]], sizes: list[int]) -> None:
    assert sorted(_packets(_demux(ref_ts, sizes))) == sorted(ffprobe_packets)


def test_garbage_and_resync(ref_ts: bytes) -> None:
    data = b"junk" + ref_ts[:188 * 500] + b"garbage\x47xx" + ref_ts[188 * 500:]
    events = _demux(data, 1000)
    lost = [e for e in events if isinstance(e, SyncLost)]
    back = [e for e in events if isinstance(e, Resynced)]
    assert [e.offset for e in lost] == [0, 4 + 188 * 500]
    assert [e.offset for e in back] == [4, 4 + 188 * 500 + 10]
    assert len([e for e in events if isinstance(e, FrameReceived)]) == 289


def test_continuity_error_drops_the_unit(ref_ts: bytes) -> None:
    # drop the 2nd packet of the first video PES (packet index 4)
    data = ref_ts[:188 * 4] + ref_ts[188 * 5:]
    events = _demux(data)
    errors = [e for e in events if isinstance(e, ContinuityError)]
    assert len(errors) == 1
    assert (errors[0].pid, errors[0].expected, errors[0].got, errors[0].offset) == (0x100, 1, 2, 188 * 4)
    video = [e for e in events if isinstance(e, FrameReceived) and e.frame.track_id == 0x100]
    assert len(video) == 99


def test_duplicate_packet_is_ignored(ref_ts: bytes, ffprobe_packets: list[tuple[int, int, int, int, bool]]) -> None:
    data = ref_ts[:188 * 5] + ref_ts[188 * 4:]
    events = _demux(data)
    assert sorted(_packets(events)) == sorted(ffprobe_packets)
    assert not [e for e in events if isinstance(e, ContinuityError)]


def test_discontinuity_indicator(ref_ts: bytes) -> None:
    data = bytearray(ref_ts)
    pos = 188 * 3  # the first video packet: adaptation field with PCR
    assert data[pos + 5] & 0x10
    data[pos + 5] |= 0x80
    events = _demux(bytes(data))
    assert [(e.pid, e.offset) for e in events if isinstance(e, Discontinuity)] == [(0x100, pos)]


def test_transport_error_indicator(ref_ts: bytes) -> None:
    data = bytearray(ref_ts)
    data[188 * 4 + 1] |= 0x80
    events = _demux(bytes(data))
    assert any(isinstance(e, StreamError) and e.pid == 0x100 for e in events)
    assert len([e for e in events if isinstance(e, FrameReceived) and e.frame.track_id == 0x100]) == 99


def test_pmt_change_is_followed(ref_ts: bytes) -> None:
    track = Track(1, Codec.H264, 90000)
    other = Muxer([track], first_pid=0x200, sdt_interval=None)
    nals = (b"\x67\x42\xc0\x0d\xd9", b"\x68\xcb\x8c\xb2", b"\x65\x88\x84")
    second = b"".join(other.mux(Frame(1, 900000 + i * 3600, 900000 + i * 3600, nals, True)) for i in range(3))
    # the same PMT PID with a new program definition (as after an encoder restart)
    events = _demux(ref_ts + second)
    changes = [e for e in events if isinstance(e, TracksChanged)]
    assert [t.id for t in changes[-1].tracks] == [0x200]
    assert len([e for e in events if isinstance(e, FrameReceived) and e.frame.track_id == 0x200]) == 3


def test_limits(ref_ts: bytes) -> None:
    events = _demux(ref_ts, demuxer=Demuxer(Limits(max_pes_size=1000)))
    video = [e for e in events if isinstance(e, FrameReceived) and e.frame.track_id == 0x100]
    assert video and all(e.size <= 1000 for e in video)
    dropped = [e for e in events if isinstance(e, StreamError) and "larger" in e.message and e.pid == 0x100]
    assert len(video) + len(dropped) == 100
    events = _demux(ref_ts, demuxer=Demuxer(Limits(max_pids=1)))
    assert {e.frame.track_id for e in events if isinstance(e, FrameReceived)} == {0x100}


def test_buffer_stays_bounded() -> None:
    dm = Demuxer()
    for _ in range(50):
        dm.feed(b"\x47" + bytes(999))
    assert len(dm._rest) <= 1000


@settings(max_examples=60)
@given(st.binary(max_size=2000))
def test_random_bytes_do_not_raise(data: bytes) -> None:
    dm = Demuxer()
    try:
        dm.feed(data)
        dm.feed(b"\x47" + data)
        dm.flush()
    except ProtocolError:
        pass


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 188 * 40 - 1), st.integers(0, 255)), min_size=1, max_size=30))
def test_mutated_stream_does_not_raise(ref_ts: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(ref_ts[:188 * 40])
    for pos, value in edits:
        data[pos] = value
    dm = Demuxer()
    try:
        dm.feed(bytes(data))
        dm.flush()
    except ProtocolError:
        pass


def test_adts_channel_configuration_0_is_a_stream_error() -> None:
    # channel configuration 0 (a program_config_element in the stream) gives no AudioSpecificConfig:
    # the demuxer used to raise LocalProtocolError out of feed(); now the PES is dropped as damaged
    from mediaproto.codecs.aac import AudioSpecificConfig

    mux = Muxer([Track(1, Codec.AAC, 90000, config=AudioSpecificConfig.lc(48000, 2).to_bytes())])
    pes = [bytearray(mux.mux(Frame(1, 1920 * i, 1920 * i, bytes([i]) * 100, True))) for i in range(4)]
    for p in pes[:2]:
        adts = p.index(b"\xff\xf1", 188 * 3 if p is pes[0] else 0)
        p[adts + 3] &= 0x3F  # channel_configuration 2 -> 0
    dm = Demuxer()
    events = dm.feed(b"".join(pes)) + dm.flush()
    errors = [e for e in events if isinstance(e, StreamError)]
    assert len(errors) == 2 and all("channel configuration 0" in e.message for e in errors)
    frames = [e.frame for e in events if isinstance(e, FrameReceived)]
    assert [f.payload for f in frames] == [bytes([2]) * 100, bytes([3]) * 100]
    assert dm.tracks[0].channels == 2
