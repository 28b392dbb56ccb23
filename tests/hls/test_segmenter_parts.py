"""LL-HLS part durations against RFC 8216bis (at most PART-TARGET) and Apple's validator (at least
85% of it, except a segment's last part), at frame rates that do not divide the part target."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from mediaproto.clock import rescale
from mediaproto.hls import parse
from mediaproto.hls.segmenter import PartReady, PlaylistChanged, Segmenter
from mediaproto.testsrc import TestSource


def _run(rate: Fraction, part_target: float, *, milliseconds: bool = False) -> tuple[Segmenter, list[PartReady], str]:
    src = TestSource(frame_rate=rate, keyframe_interval=1.0)
    tracks = src.tracks
    frames = src.frames_until(8)
    if milliseconds:  # as RTMP delivers them: 33/34 ms steps at 30 fps
        tracks = tuple(replace(t, clock_rate=1000) for t in tracks)
        rates = {t.id: t.clock_rate for t in src.tracks}
        frames = [replace(f, pts=rescale(f.pts, rates[f.track_id], 1000), dts=rescale(f.dts, rates[f.track_id], 1000))
                  for f in frames]
    seg = Segmenter(tracks, target_duration=1.0, part_target=part_target)
    parts: list[PartReady] = []
    text = ""
    for f in frames:
        for e in seg.feed(f):
            if isinstance(e, PartReady):
                parts.append(e)
            elif isinstance(e, PlaylistChanged):
                text = e.text
    return seg, parts, text


@pytest.mark.parametrize(
    "rate,part_target,milliseconds",
    [(Fraction(30000, 1001), 0.2, False), (Fraction(30000, 1001), 0.33334, False), (Fraction(30), 0.2, True),
     (Fraction(25), 0.2, False), (Fraction(25), 0.2, True), (Fraction(24000, 1001), 0.25, False)],
)
def test_parts_within_target_and_above_85_percent(rate: Fraction, part_target: float, milliseconds: bool) -> None:
    seg, parts, text = _run(rate, part_target, milliseconds=milliseconds)
    playlist = parse(text)
    announced = playlist.part_inf.part_target  # type: ignore[union-attr]
    assert announced == seg.part_target and abs(announced - part_target) <= 1 / float(rate) / 2 + 0.01
    by_segment: dict[int, list[PartReady]] = {}
    for p in parts:
        by_segment.setdefault(p.sequence, []).append(p)
    complete = list(by_segment.values())[:-1]  # the segment in progress may lack its last part
    assert complete
    for seg_parts in complete:
        for p in seg_parts:
            assert p.duration <= announced + 1e-9
        for p in seg_parts[:-1]:
            assert p.duration >= 0.85 * announced, (p.duration, announced)


def test_a_target_that_frames_fill_is_kept() -> None:
    seg, parts, _ = _run(Fraction(25), 0.2)
    assert seg.part_target == 0.2 and {round(p.duration, 6) for p in parts} == {0.2}
