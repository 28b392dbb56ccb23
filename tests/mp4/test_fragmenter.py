"""The fragmenter: what the fragments hold (checked box by box against ISO/IEC 14496-12), and the
round trip fragmenter -> demuxer returning exactly the frames it got, B-frames included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError
from mediaproto.media import Frame, Track
from mediaproto.mp4 import (
    NON_SYNC_SAMPLE_FLAGS,
    SYNC_SAMPLE_FLAGS,
    ContainerBox,
    Demuxer,
    FrameReceived,
    Fragmenter,
    MediaDataBox,
    MovieFragmentHeaderBox,
    SegmentTypeBox,
    TrackFragmentBaseMediaDecodeTimeBox,
    TrackFragmentHeaderBox,
    TrackRunBox,
    TracksChanged,
    parse_boxes,
    parse_init_segment,
)

from ._tracks import AAC, H264, H265, OPUS

# a GOP of I P B B (decode order) at 25 fps: pts of B-frames before the P they follow
GOP = [(3600, 0, True), (14400, 3600, False), (7200, 7200, False), (10800, 10800, False)]
OPUS_20MS = b"\xfc" + b"\x00" * 20  # TOC: config 31 (CELT FB 20 ms), one frame


def video(pts: int, dts: int, key: bool, n: int = 0) -> Frame:
    return Frame(1, pts, dts, (bytes([0x65 if key else 0x41, n]), b"\x06\x05\x01\xff"), key)


def test_fragment_layout() -> None:
    fr = Fragmenter([H264, AAC])
    for pts, dts, key in GOP:
        fr.add(video(pts, dts, key))
    for i in range(3):
        fr.add(Frame(2, 1024 * i, 1024 * i, bytes([i]) * 10, True))
    data = fr.fragment()
    moof, mdat = parse_boxes(data)
    assert isinstance(moof, ContainerBox) and isinstance(mdat, MediaDataBox)
    assert moof.first(MovieFragmentHeaderBox) == MovieFragmentHeaderBox(1)
    vtraf, atraf = moof.containers(b"traf")
    assert vtraf.first(TrackFragmentHeaderBox) == TrackFragmentHeaderBox(1)  # default-base-is-moof only
    assert vtraf.first(TrackFragmentBaseMediaDecodeTimeBox) == TrackFragmentBaseMediaDecodeTimeBox(0, version=1)
    vrun = vtraf.first(TrackRunBox)
    assert vrun is not None and vrun.version == 0 and vrun.flags == 0xF01
    assert [s.sample_duration for s in vrun.samples] == [3600, 3600, 3600, 3600]  # last one: the previous
    assert [s.sample_composition_time_offset for s in vrun.samples] == [3600, 10800, 0, 0]
    assert [s.sample_flags for s in vrun.samples] == [SYNC_SAMPLE_FLAGS] + [NON_SYNC_SAMPLE_FLAGS] * 3
    assert [s.sample_size for s in vrun.samples] == [14] * 4  # two NAL units, 4-byte lengths
    # data_offset counts from the moof's first byte to the sample data in the mdat
    assert vrun.data_offset == len(bytes(moof)) + 8
    assert data[vrun.data_offset:vrun.data_offset + 14] == b"\x00\x00\x00\x02\x65\x00\x00\x00\x00\x04\x06\x05\x01\xff"
    arun = atraf.first(TrackRunBox)
    assert arun is not None and arun.flags == 0x701  # no composition offsets for audio
    assert arun.data_offset == vrun.data_offset + 56
    assert [s.sample_duration for s in arun.samples] == [1024, 1024, 1024]  # AAC: 1024 samples per frame
    assert {s.sample_flags for s in arun.samples} == {SYNC_SAMPLE_FLAGS}
    avcc = [b"\x00\x00\x00\x02" + bytes([0x65 if key else 0x41, 0]) + b"\x00\x00\x00\x04\x06\x05\x01\xff"
            for _, _, key in GOP]
    assert mdat.data == b"".join(avcc) + b"".join(bytes([i]) * 10 for i in range(3))
    assert fr.fragment() == b""
    fr.add(video(18000, 14400, True))
    second = parse_boxes(fr.fragment())[0]
    assert isinstance(second, ContainerBox)
    assert second.first(MovieFragmentHeaderBox) == MovieFragmentHeaderBox(2)
    assert second.containers(b"traf")[0].first(TrackFragmentBaseMediaDecodeTimeBox) == \
        TrackFragmentBaseMediaDecodeTimeBox(14400)


def test_negative_composition_offsets_use_trun_version_1() -> None:
    fr = Fragmenter([H264])
    fr.add(video(0, 3600, True))
    fr.add(video(3600, 7200, False))
    moof = parse_boxes(fr.fragment())[0]
    assert isinstance(moof, ContainerBox)
    trun = moof.containers(b"traf")[0].first(TrackRunBox)
    assert trun is not None and trun.version == 1
    assert [s.sample_composition_time_offset for s in trun.samples] == [-3600, -3600]


def test_styp_and_opus_duration() -> None:
    fr = Fragmenter([OPUS], styp=True)
    fr.add(Frame(2, 0, 0, OPUS_20MS, True))
    styp, moof, _ = parse_boxes(fr.fragment())
    assert isinstance(styp, SegmentTypeBox) and styp.major_brand == b"msdh"
    assert isinstance(moof, ContainerBox)
    trun = moof.containers(b"traf")[0].first(TrackRunBox)
    assert trun is not None and trun.samples[0].sample_duration == 960  # 20 ms at 48 kHz


def test_init_segment_tracks() -> None:
    for tracks in ([H264, AAC], [H265, AAC], [H264, OPUS]):
        got = parse_init_segment(Fragmenter(tracks).init_segment())
        assert [t.codec for t in got] == [t.codec for t in tracks]
        assert [t.id for t in got] == [1, 2]
        assert got[0].parameter_sets == tracks[0].parameter_sets
        assert (got[0].width, got[0].height) == (160, 120)  # from the SPS
        assert got[1].config == tracks[1].config and got[1].channels == 2 and got[1].sample_rate == 48000


def test_api_misuse() -> None:
    fr = Fragmenter([H264, AAC])
    with pytest.raises(LocalProtocolError):
        fr.add(Frame(9, 0, 0, b"x"))
    with pytest.raises(LocalProtocolError):
        fr.add(Frame(1, -1, -1, (b"\x65",), True))
    fr.add(Frame(1, 10, 10, (b"\x65",), True))
    with pytest.raises(LocalProtocolError):
        fr.add(Frame(1, 9, 9, (b"\x41",)))
    with pytest.raises(LocalProtocolError):
        fr.add(Frame(1, 20, 20, b"\x41"))  # video data must be NAL units
    with pytest.raises(LocalProtocolError):
        Fragmenter([Track(1, H264.codec, 90000)])  # no SPS/PPS: no init segment
    with pytest.raises(LocalProtocolError):
        Fragmenter([])


# -- the round trip --------------------------------------------------------------------------------

nal = st.binary(min_size=1, max_size=40)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Track], list[Frame], list[bool]]:
    video_track = draw(st.sampled_from([H264, H265]))
    audio_track = draw(st.sampled_from([AAC, OPUS]))
    start = draw(st.integers(0, 1 << 34))
    frames: list[Frame] = []
    dts = start
    for i in range(draw(st.integers(1, 30))):
        dts += draw(st.integers(0, 7200))
        # composition offsets of B-frame streams, negative ones included (trun version 1)
        cto = draw(st.sampled_from([0, 3600, 7200, 10800, -3600]))
        frames.append(Frame(1, dts + cto, dts, tuple(draw(st.lists(nal, min_size=1, max_size=4))),
                            i == 0 or draw(st.booleans())))
    adts = draw(st.integers(0, 1 << 20))
    for _ in range(draw(st.integers(0, 30))):
        adts += draw(st.integers(0, 2048))
        frames.append(Frame(2, adts, adts, draw(st.binary(min_size=1, max_size=30)), True))
    cuts = draw(st.lists(st.booleans(), min_size=len(frames), max_size=len(frames)))
    order = draw(st.permutations(range(len(frames))))
    # interleave the two tracks any way, each in its own decode order
    by_track = {1: [f for f in frames if f.track_id == 1], 2: [f for f in frames if f.track_id == 2]}
    picks = sorted(range(len(frames)), key=lambda k: order[k])
    merged = []
    positions = {1: 0, 2: 0}
    video_count = len(by_track[1])
    for k in picks:
        tid = 1 if k < video_count else 2
        merged.append(by_track[tid][positions[tid]])
        positions[tid] += 1
    return [video_track, audio_track], merged, cuts


@given(streams(), st.integers(1, 4096))
def test_fragmenter_to_demuxer_returns_the_frames(stream: tuple[list[Track], list[Frame], list[bool]],
                                                   chunk: int) -> None:
    tracks, frames, cuts = stream
    fr = Fragmenter(tracks)
    out = [fr.init_segment()]
    for frame, cut in zip(frames, cuts):
        if cut:
            out.append(fr.fragment())
        fr.add(frame)
    out.append(fr.drain())
    data = b"".join(out)
    dm = Demuxer()
    events = []
    for pos in range(0, len(data), chunk):
        events += dm.feed(data[pos:pos + chunk])
    events += dm.flush()
    assert isinstance(events[0], TracksChanged)
    assert [t.codec for t in events[0].tracks] == [t.codec for t in tracks]
    got = [e.frame for e in events if isinstance(e, FrameReceived)]
    for tid in (1, 2):
        assert [f for f in got if f.track_id == tid] == [f for f in frames if f.track_id == tid]
