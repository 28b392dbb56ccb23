"""The live segmenter: cuts, durations, windows, discontinuities, PDT, LL-HLS parts and blocking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import m3u8
import pytest

from mediaproto import hls
from mediaproto.errors import LocalProtocolError
from mediaproto.hls.segmenter import (
    PartReady,
    PlaylistChanged,
    SegmentReady,
    Segmenter,
    SegmentRemoved,
)
from mediaproto.media import Codec, Frame, Track
from mediaproto.testsrc import TestSource


def run(seg: Segmenter, frames: list[Frame]) -> list[object]:
    events: list[object] = []
    for f in frames:
        events += seg.feed(f)
    events += seg.flush()
    return events


def of(events: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def test_segments_cut_at_keyframes_with_exact_durations() -> None:
    src = TestSource(keyframe_interval=1.0)  # 25 fps, IDR every second
    seg = Segmenter(src.tracks, target_duration=2.0, window=100, mode="event")
    events = run(seg, src.frames_until(9.0))
    ready = of(events, SegmentReady)
    assert [s.duration for s in ready] == [2.0, 2.0, 2.0, 2.0, 1.0]
    assert [s.name for s in ready] == [f"seg{n}.ts" for n in range(5)]
    text = of(events, PlaylistChanged)[-1].text
    # an independent parser reads what we wrote
    pl = m3u8.loads(text)
    assert pl.target_duration == 2 and pl.is_endlist and pl.playlist_type == "event"
    assert [s.duration for s in pl.segments] == [2.0, 2.0, 2.0, 2.0, 1.0]
    for s in ready:  # whole TS packets, starting with the PAT/PMT (SDT first, PID 0x11)
        assert len(s.data) % 188 == 0 and s.data[0] == 0x47
        pids = {((s.data[i + 1] & 0x1F) << 8) | s.data[i + 2] for i in range(0, 188 * 3, 188)}
        assert 0 in pids


def test_ntsc_durations_to_the_millisecond() -> None:
    src = TestSource(frame_rate=Fraction(30000, 1001), keyframe_interval=2.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=2.0, mode="vod")
    events = run(seg, src.frames_until(8.1))
    # 60 frames of 1001/30000 s = 2.002 s; the sum stays exact: 243 frames = 8.1081 s
    durations = [s.duration for s in of(events, SegmentReady)]
    assert durations[:4] == [2.002, 2.002, 2.002, 2.002]
    assert round(sum(durations), 3) == round(243 * 1001 / 30000, 3)
    pl = hls.parse(of(events, PlaylistChanged)[-1].text)
    assert isinstance(pl, hls.MediaPlaylist) and pl.playlist_type == "VOD" and pl.endlist
    assert pl.target_duration == 2  # 2.002 rounds to 2 (RFC 8216 4.3.3.1)


def test_long_gop_raises_target_duration() -> None:
    src = TestSource(keyframe_interval=3.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=2.0)
    events = run(seg, src.frames_until(9.0))
    assert [s.duration for s in of(events, SegmentReady)] == [3.0, 3.0, 3.0]
    pl = hls.parse(of(events, PlaylistChanged)[-1].text)
    assert isinstance(pl, hls.MediaPlaylist) and pl.target_duration == 3


def test_sliding_window_and_removal_delay() -> None:
    src = TestSource(keyframe_interval=1.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=1.0, window=3)
    events: list[object] = []
    removed_at: dict[str, int] = {}
    ready_count = 0
    for f in src.frames_until(10.0):
        for e in seg.feed(f):
            events.append(e)
            if isinstance(e, SegmentReady):
                ready_count += 1
            if isinstance(e, SegmentRemoved):
                removed_at[e.name] = ready_count
    pl = hls.parse(seg.playlist())
    assert isinstance(pl, hls.MediaPlaylist)
    assert [s.uri for s in pl.segments] == ["seg6.ts", "seg7.ts", "seg8.ts"]
    assert pl.media_sequence == 6 and not pl.endlist
    # seg0 leaves the playlist when seg3 is ready; it must stay available for its duration
    # plus the playlist's (1 + 3 s): removed when seg7 is ready
    assert removed_at["seg0.ts"] == 8
    assert removed_at["seg1.ts"] == 9


def _with_jump(frames: list[Frame], at: int, jump: int) -> list[Frame]:
    out = []
    for i, f in enumerate(frames):
        if i >= at:
            rate = 90000 if f.track_id == 0 else 48000
            d = jump * rate // 90000
            f = Frame(f.track_id, f.pts + d, f.dts + d, f.data, f.keyframe)
        out.append(f)
    return out


def test_discontinuity_on_timestamp_jump_and_pdt() -> None:
    src = TestSource(keyframe_interval=1.0)
    frames = src.frames_until(6.0)
    cut = next(i for i, f in enumerate(frames) if f.track_id == 0 and f.pts == 3 * 90000)
    frames = _with_jump(frames, cut, -1_000_000)  # timestamps go back ~11 s at 3 s
    start = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    seg = Segmenter(src.tracks, target_duration=2.0, window=2, program_date_time=start)
    events = run(seg, frames)
    ready = of(events, SegmentReady)
    assert [(s.duration, s.discontinuity) for s in ready] == [(2.0, False), (1.0, False), (2.0, True), (1.0, False)]
    assert [s.program_date_time for s in ready] == [start + timedelta(seconds=t) for t in (0, 2, 3, 5)]
    pl = hls.parse(of(events, PlaylistChanged)[-1].text)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.media_sequence == 2 and pl.discontinuity_sequence is None
    assert pl.segments[0].discontinuity and pl.segments[0].program_date_time == start + timedelta(seconds=3)
    m = m3u8.loads(of(events, PlaylistChanged)[-1].text)
    assert m.segments[0].discontinuity


def test_discontinuity_sequence_counts_slid_out_discontinuities() -> None:
    src = TestSource(keyframe_interval=1.0, audio=False)
    frames = _with_jump(src.frames_until(8.0), 50, 90000 * 60)  # +60 s at 2 s
    seg = Segmenter(src.tracks, target_duration=1.0, window=2)
    events = run(seg, frames)
    pl = hls.parse(of(events, PlaylistChanged)[-1].text)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.discontinuity_sequence == 1 and not any(s.discontinuity for s in pl.segments)


def test_audio_only_cut_by_duration() -> None:
    track = Track(1, Codec.AAC, 48000, config=bytes.fromhex("1190"), sample_rate=48000, channels=2)
    frames = [Frame(1, n * 1024, n * 1024, b"\x21\x00\x03\x40\x68\x1c", True) for n in range(470)]  # ~10 s
    seg = Segmenter([track], target_duration=2.0, mode="event")
    ready = of(run(seg, frames), SegmentReady)
    frame = 1024 / 48000
    for s in ready[:-1]:
        assert abs(s.duration - 2.0) <= frame / 2 + 0.001
    assert round(sum(s.duration for s in ready), 3) == round(470 * frame, 3)


@pytest.mark.parametrize("part_target", [0.2, 0.33334, 0.5])
def test_ll_hls_parts(part_target: float) -> None:
    src = TestSource(keyframe_interval=1.0)
    seg = Segmenter(src.tracks, target_duration=2.0, window=4, part_target=part_target)
    events: list[object] = []
    for f in src.frames_until(6.7):
        events += seg.feed(f)
    parts = of(events, PartReady)
    by_segment: dict[int, list[PartReady]] = {}
    for p in parts:
        by_segment.setdefault(p.sequence, []).append(p)
    for msn, ps in by_segment.items():
        assert [p.part_index for p in ps] == list(range(len(ps)))
        assert ps[0].independent
        for p in ps[:-1]:  # Apple's validator rule, against the target announced
            assert 0.85 * seg.part_target <= p.duration <= seg.part_target  # type: ignore[operator]
    ready = of(events, SegmentReady)
    for s in ready:  # a segment is its parts, byte for byte
        assert s.data == b"".join(p.data for p in by_segment[s.sequence])
        assert round(sum(p.duration for p in by_segment[s.sequence]), 3) == s.duration
    # parts starting at a keyframe (every second, 25 frames) are independent
    for p in parts:
        starts_at_key = any(
            abs(sum(q.duration for q in by_segment[p.sequence][: p.part_index]) - k) < 1e-6 for k in (0.0, 1.0)
        )
        assert p.independent == starts_at_key
    text = seg.playlist()
    pl = hls.parse(text)
    assert isinstance(pl, hls.MediaPlaylist)
    # 0.33334 and 0.5 s are not whole numbers of 40 ms frames: the target announced is fitted
    assert pl.part_inf == hls.PartInf(seg.part_target) and abs(seg.part_target - part_target) <= 0.025  # type: ignore[arg-type, operator]
    sc = pl.server_control
    assert sc is not None and sc.can_block_reload
    assert sc.part_hold_back is not None and sc.part_hold_back >= round(3 * seg.part_target, 9)  # type: ignore[operator]
    assert sc.can_skip_until is not None and sc.can_skip_until >= 6 * (pl.target_duration or 0)
    assert len(pl.preload_hints) == 1 and pl.preload_hints[0].type == "PART"
    assert pl.partial_segment is not None and pl.partial_segment.parts
    assert pl.version is not None and pl.version >= 6


def test_blocking_reload_queries() -> None:
    src = TestSource(keyframe_interval=1.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=2.0, part_target=0.2)
    assert seg.latest is None and not seg.has(0) and not seg.has(0, 0)
    frames = src.frames_until(2.5)
    # 2.0 s of frames: segment 0 is not complete until the keyframe at 2.0 s arrives
    for f in frames[:50]:
        seg.feed(f)
    assert seg.latest == (0, 8) and seg.has(0, 8) and not seg.has(0, 9) and not seg.has(0)
    events = seg.feed(frames[50])  # the keyframe at 2.0 s
    assert [type(e).__name__ for e in events] == ["PartReady", "SegmentReady", "PlaylistChanged"]
    assert seg.has(0) and seg.has(0, 9) and seg.latest == (0, 9)
    assert seg.has(0, 10) is False  # past the last part of 0 means part 0 of segment 1
    for f in frames[51:56]:
        seg.feed(f)
    assert seg.latest == (1, 0) and seg.has(0, 10) and seg.has(1, 0) and not seg.has(1, 1)
    hint = hls.parse(seg.playlist())
    assert isinstance(hint, hls.MediaPlaylist) and hint.preload_hints[0].uri == "seg1.1.ts"


def test_delta_update_skips_old_segments() -> None:
    src = TestSource(keyframe_interval=1.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=1.0, window=20, part_target=0.2)
    for f in src.frames_until(15.1):
        seg.feed(f)
    full = hls.parse(seg.playlist())
    delta = hls.parse(seg.playlist(skip=True))
    assert isinstance(full, hls.MediaPlaylist) and isinstance(delta, hls.MediaPlaylist)
    assert delta.skip is not None and delta.skip.skipped_segments > 0 and delta.version == 9
    # what is left covers at least CAN-SKIP-UNTIL (6 target durations)
    assert sum(s.duration for s in delta.segments) >= 6 * (full.target_duration or 0) - 1
    merged = hls.merge_delta(full, delta)
    assert [s.uri for s in merged.segments] == [s.uri for s in full.segments]


def test_vod_writes_the_playlist_once() -> None:
    src = TestSource(keyframe_interval=1.0)
    seg = Segmenter(src.tracks, target_duration=2.0, mode="vod")
    events = run(seg, src.frames_until(4.0))
    assert len(of(events, PlaylistChanged)) == 1 and not of(events, SegmentRemoved)


def test_api_misuse() -> None:
    src = TestSource()
    with pytest.raises(LocalProtocolError):
        Segmenter(src.tracks, mode="nope")
    with pytest.raises(LocalProtocolError):
        Segmenter(src.tracks, target_duration=1.0, part_target=2.0)
    seg = Segmenter(src.tracks)
    with pytest.raises(LocalProtocolError):
        seg.feed(Frame(9, 0, 0, b"", True))
    seg.flush()
    with pytest.raises(LocalProtocolError):
        seg.feed(src.video_frame(0))


def test_client_query_kept_on_uris_except_hls_params() -> None:
    src = TestSource(keyframe_interval=1.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=1.0, part_target=0.2)
    for f in src.frames_until(2.5):
        seg.feed(f)
    pl = hls.parse(seg.playlist(query="_HLS_msn=2&token=abc&_HLS_part=1&x=1"))
    assert isinstance(pl, hls.MediaPlaylist) and pl.partial_segment is not None
    uris = [s.uri for s in pl.segments] + [p.uri for s in pl.segments for p in s.parts]
    uris += [p.uri for p in pl.partial_segment.parts] + [h.uri for h in pl.preload_hints]
    assert uris and all(u.endswith(".ts?token=abc&x=1") for u in uris)
    assert seg.playlist(query="_HLS_msn=2") == seg.playlist()


def test_delta_update_with_nothing_to_skip_is_the_full_playlist() -> None:
    src = TestSource(keyframe_interval=1.0, audio=False)
    seg = Segmenter(src.tracks, target_duration=1.0, window=4, part_target=0.2)
    for f in src.frames_until(5.1):
        seg.feed(f)
    assert seg.playlist(skip=True) == seg.playlist()
