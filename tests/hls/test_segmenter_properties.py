"""Segmenter invariants over random frame timings and keyframe patterns."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from mediaproto import hls
from mediaproto.clock import rescale
from mediaproto.hls.segmenter import PartReady, PlaylistChanged, SegmentReady, Segmenter
from mediaproto.media import Codec, Frame, Track

SPS = bytes.fromhex("6742c00dd9014 1fb0110000003001000000303 20f142a480".replace(" ", ""))
PPS = bytes.fromhex("68cb8cb2")
TRACK = Track(0, Codec.H264, 90000, parameter_sets=(SPS, PPS))


@given(
    st.lists(st.tuples(st.sampled_from([3000, 3003, 3600, 3750]), st.integers(0, 30) | st.just(0)), min_size=1, max_size=300),
    st.sampled_from([1.0, 2.0, 4.0]),
    st.sampled_from([None, 0.2, 0.5]),
)
def test_cuts_durations_and_parts(steps: list[tuple[int, int]], target: float, part_target: float | None) -> None:
    seg = Segmenter([TRACK], target_duration=target, part_target=part_target, mode="event")
    dts = 0
    frames = []
    keys = []
    for i, (delta, k) in enumerate(steps):
        key = i == 0 or k == 0
        frames.append(Frame(0, dts, dts, (b"\x65\x88\x84" if key else b"\x41\x9a\x02",), key))
        keys.append((dts, key))
        dts += delta
    last_delta = steps[-2][0] if len(steps) > 1 else 0
    events: list[object] = []
    for f in frames:
        events += seg.feed(f)
    events += seg.flush()
    ready = [e for e in events if isinstance(e, SegmentReady)]
    # the spec of the cut: a keyframe at least `target` after the segment's start
    starts = [0]
    for t, key in keys[1:]:
        if key and t - starts[-1] >= round(target * 90000):
            starts.append(t)
    end = frames[-1].dts + last_delta
    bounds = starts + [end]
    expected = [(rescale(b, 90000, 1000) - rescale(a, 90000, 1000)) / 1000 for a, b in zip(bounds, bounds[1:])]
    assert [s.duration for s in ready] == expected
    pl = hls.parse([e for e in events if isinstance(e, PlaylistChanged)][-1].text)
    assert isinstance(pl, hls.MediaPlaylist) and pl.target_duration is not None
    assert all(math.floor(s.duration + 0.5) <= pl.target_duration for s in pl.segments)
    assert pl.target_duration >= math.ceil(target)
    if part_target is not None:
        parts = [e for e in events if isinstance(e, PartReady)]
        for s in ready:
            mine = [p for p in parts if p.sequence == s.sequence]
            assert mine and mine[0].independent
            assert round(sum(p.duration for p in mine), 3) == s.duration
            # at most the part target announced (fitted to whole frames, within half a frame plus
            # an eighth of the one requested) plus rounding at a constant frame rate; a frame longer
            # than the one before it can overshoot by the difference (its length is known too late)
            deltas = [d for d, _ in steps]
            announced = pl.part_inf.part_target if pl.part_inf is not None else part_target
            assert announced == seg.part_target
            assert abs(announced - part_target) <= 0.625 * max(deltas) / 90000 + 0.001
            slack = (max(deltas) - min(deltas)) / 90000 + 0.001
            assert all(p.duration <= announced + slack for p in mine)
            assert s.data == b"".join(p.data for p in mine)
