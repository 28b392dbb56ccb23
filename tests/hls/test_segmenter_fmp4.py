"""The segmenter's fMP4 container: EXT-X-MAP playlists, segments that are their parts, and every
frame back out of init + segments with its timestamps, key flag and bytes.

The frames are read back with :class:`mediaproto.mp4.Demuxer`, itself checked against ffprobe on
FFmpeg's and GStreamer's fMP4 (tests/interop/test_mp4.py); tests/server/test_hls_fmp4.py has
ffprobe, ffmpeg and VLC read the live server's fMP4 playlists.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError
from mediaproto.hls import MediaPlaylist, parse
from mediaproto.hls.segmenter import PartReady, PlaylistChanged, SegmentReady, Segmenter
from mediaproto.media import Codec, Frame, Track
from mediaproto.mp4 import Demuxer, FrameReceived
from mediaproto.testsrc import TestSource


def run(seg: Segmenter, frames: list[Frame]) -> tuple[list[SegmentReady], list[PartReady], str]:
    segments: list[SegmentReady] = []
    parts: list[PartReady] = []
    text = ""
    for event in [e for f in frames for e in seg.feed(f)] + seg.flush():
        if isinstance(event, SegmentReady):
            segments.append(event)
        elif isinstance(event, PartReady):
            parts.append(event)
        elif isinstance(event, PlaylistChanged):
            text = event.text
    return segments, parts, text


def demux(init: bytes, chunks: list[bytes]) -> list[Frame]:
    demuxer = Demuxer(apply_edit_lists=False)
    out = [e.frame for c in [init, *chunks] for e in demuxer.feed(c) if isinstance(e, FrameReceived)]
    return out + [e.frame for e in demuxer.flush() if isinstance(e, FrameReceived)]


def same(got: list[Frame], want: list[Frame], mp4_ids: dict[int, int]) -> None:
    assert len(got) == len(want)
    key = lambda f: (f.dts, f.track_id)  # noqa: E731 - both sides in decode order per track
    for g, w in zip(sorted(got, key=key), sorted(want, key=lambda f: (f.dts, mp4_ids[f.track_id]))):
        assert (g.track_id, g.pts, g.dts, g.keyframe) == (mp4_ids[w.track_id], w.pts, w.dts, w.keyframe)
        assert g.nal_units == w.nal_units if isinstance(w.data, tuple) else g.data == w.data


@pytest.mark.parametrize("part_target", [None, 0.2])
def test_every_frame_comes_back_from_init_and_segments(part_target: float | None) -> None:
    src = TestSource(keyframe_interval=1.0)
    frames = src.frames_until(6)
    seg = Segmenter(src.tracks, target_duration=1.0, part_target=part_target, container="fmp4", mode="event")
    init = seg.init_segment()
    assert init is not None and init[4:8] == b"ftyp"
    segments, parts, text = run(seg, frames)
    assert [s.name for s in segments] == [f"seg{n}.m4s" for n in range(len(segments))]
    assert all(s.data[4:8] == b"moof" for s in segments)
    same(demux(init, [s.data for s in segments]), frames, {0: 1, 1: 2})
    pl = parse(text)
    assert isinstance(pl, MediaPlaylist) and pl.version is not None and pl.version >= 6
    assert pl.segments[0].map is not None and pl.segments[0].map.uri == "init.mp4"
    assert all(s.map is None for s in pl.segments[1:])
    if part_target is not None:
        assert parts and all(p.name.endswith(".m4s") for p in parts)
        for s in segments:  # RFC 8216bis 4.4.4.9: a segment is its parts, in order
            assert b"".join(p.data for p in parts if p.sequence == s.sequence) == s.data
        for p in parts:  # INDEPENDENT=YES exactly on parts that start with a keyframe
            first_video = next(f for f in demux(init, [p.data]) if f.track_id == 1)
            assert first_video.keyframe == p.independent, p.name


def test_ts_stays_ts() -> None:
    src = TestSource()
    seg = Segmenter(src.tracks, target_duration=1.0)
    assert seg.init_segment() is None
    segments, _, text = run(seg, src.frames_until(3))
    assert segments[0].name == "seg0.ts" and segments[0].data[0] == 0x47
    assert "#EXT-X-MAP" not in text and "#EXT-X-VERSION:3" in text


def test_map_names_and_query_on_every_uri() -> None:
    src = TestSource()
    seg = Segmenter(src.tracks, target_duration=1.0, part_target=0.2, container="fmp4", init_name="init7.mp4",
                    segment_name="s{n}.m4s", part_name="s{n}.{part}.m4s")
    run(seg, src.frames_until(2.5))
    text = seg.playlist(query="token=abc&_HLS_msn=3")
    assert '#EXT-X-MAP:URI="init7.mp4?token=abc"' in text
    assert "s0.m4s?token=abc" in text and 'URI="s2.0.m4s?token=abc"' in text


def test_the_map_is_there_before_the_first_segment_is_complete() -> None:
    src = TestSource()
    seg = Segmenter(src.tracks, target_duration=2.0, part_target=0.2, container="fmp4")
    for f in src.frames_until(0.5):
        seg.feed(f)
    pl = parse(seg.playlist())
    assert isinstance(pl, MediaPlaylist) and not pl.segments
    assert pl.partial_segment is not None and pl.partial_segment.map is not None


def test_negative_timestamps_are_moved_forward_together() -> None:
    src = TestSource()
    rates = {t.id: t.clock_rate for t in src.tracks}
    shift = {tid: -2 * rate for tid, rate in rates.items()}  # the stream starts at -2 s
    frames = [replace(f, pts=f.pts + shift[f.track_id], dts=f.dts + shift[f.track_id]) for f in src.frames_until(3)]
    seg = Segmenter(src.tracks, target_duration=1.0, container="fmp4")
    init = seg.init_segment()
    assert init is not None
    segments, _, _ = run(seg, frames)
    got = demux(init, [s.data for s in segments])
    assert min(f.dts for f in got) == 0
    video0 = [f for f in got if f.track_id == 1][0].dts / rates[0]
    audio0 = [f for f in got if f.track_id == 2][0].dts / rates[1]
    assert abs(video0 - audio0) < 0.03  # moved by the same time


def test_a_discontinuity_restarts_the_timeline() -> None:
    src = TestSource()
    first = src.frames_until(2.2)
    later = [replace(f, pts=f.pts // 4, dts=f.dts // 4) for f in TestSource().frames_until(2.2)]  # back in time
    seg = Segmenter(src.tracks, target_duration=1.0, container="fmp4")
    segments, _, text = run(seg, first + later)
    assert "#EXT-X-DISCONTINUITY" in text
    assert [s.discontinuity for s in segments].count(True) == 1


def test_unsupported_tracks_and_containers_are_refused() -> None:
    mp3 = Track(id=0, codec=Codec.MP3, clock_rate=44100, sample_rate=44100, channels=2)
    with pytest.raises(LocalProtocolError):
        Segmenter([mp3], container="fmp4")
    Segmenter([mp3])  # TS takes it
    with pytest.raises(LocalProtocolError):
        Segmenter(TestSource().tracks, container="mkv")


@settings(max_examples=25, deadline=None)
@given(target=st.sampled_from([0.5, 1.0, 2.0]), part=st.sampled_from([None, 0.1, 0.2, 0.4]),
       seconds=st.floats(1.0, 5.0), audio=st.booleans())
def test_fragments_carry_every_frame(target: float, part: float | None, seconds: float, audio: bool) -> None:
    if part is not None and part > target:
        part = None
    src = TestSource(keyframe_interval=0.5, audio=audio)
    frames = src.frames_until(seconds)
    seg = Segmenter(src.tracks, target_duration=target, part_target=part, container="fmp4")
    init = seg.init_segment()
    assert init is not None
    segments, parts, _ = run(seg, frames)
    same(demux(init, [s.data for s in segments]), frames, {0: 1, 1: 2})
    if part is not None:
        same(demux(init, [p.data for p in parts]), frames, {0: 1, 1: 2})
