"""The playlist writer's fast paths against the schema-driven writing they stand in for.

A segment built from values is written field by field (``_write_segment``) instead of through the
``(key, index, value)`` walk, EXT-X-PART lines are written directly, and durations are memoised:
the text must be the same, and must parse back to the same values.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto import hls
from mediaproto.hls import MediaPlaylist, Segment
from mediaproto.hls.attributes import encode
from mediaproto.hls.lines import format_duration
from mediaproto.hls.mediawriter import _seg_line, _seg_present, _write_segment
from mediaproto.hls.tags import ByteRange, DateRange, Key, Map, PartialSegment

_durations = st.one_of(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.sampled_from([2.0, 4.00008, 0.33334]),
                       st.integers(min_value=0, max_value=100))
_uris = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='",'), min_size=1, max_size=12)
_parts = st.builds(PartialSegment, _durations, _uris, st.booleans(),
                   st.one_of(st.none(), st.builds(ByteRange, st.integers(1, 999), st.one_of(st.none(), st.integers(0, 99)))),
                   st.booleans(), st.sampled_from([(), (("X-A", "1"),)]))
_segments = st.builds(
    Segment,
    uri=st.one_of(st.just(""), _uris),
    duration=_durations,
    title=st.sampled_from(["", "a title"]),
    byterange=st.one_of(st.none(), st.builds(ByteRange, st.integers(1, 999))),
    discontinuity=st.booleans(),
    keys=st.lists(st.builds(Key, st.just("AES-128"), _uris), max_size=2),
    map=st.one_of(st.none(), st.builds(Map, _uris)),
    program_date_time=st.one_of(st.none(), st.integers(0, 10**6).map(
        lambda ms: datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms))),
    dateranges=st.lists(st.builds(DateRange, _uris, start_date=st.just("2026-01-01T00:00:00.000Z")), max_size=1),
    gap=st.booleans(),
    bitrate=st.one_of(st.none(), st.integers(0, 10**7)),
    parts=st.lists(_parts, max_size=3),
    extra=st.lists(st.sampled_from(["#EXT-X-FOO", "# a comment"]), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(_segments, st.sampled_from(["", "\r"]))
def test_built_segment_lines_match_the_schema_walk(seg: Segment, cr: str) -> None:
    expected = [_seg_line(k, v) + cr for k, _, v in _seg_present(seg)] + ([seg.uri + cr] if seg.uri else [])
    out: list[str] = []
    _write_segment(seg, out, cr)
    assert out == expected


@given(_parts)
def test_part_line_matches_the_schema(part: PartialSegment) -> None:
    assert part.dumps() == f"{part.TAG}:{encode(part.SCHEMA, part)}"
    assert part.dumps() == part.dumps()  # the memoised duration gives the same text again


def test_duration_memo_keeps_the_canonical_text() -> None:
    # RFC 8216 4.4.4.1: decimal-floating-point EXTINF durations; three decimals when exact
    assert [format_duration(v) for v in (2.0, 2.0, 4.00008, 4.00008, 5.005, -0.0, 0.0)] == [
        "2.000", "2.000", "4.00008", "4.00008", "5.005", "-0.000", "0.000"]


def test_built_live_playlist_parses_back() -> None:
    pl = MediaPlaylist(target_duration=4, version=6, media_sequence=10)
    for i in range(10, 14):
        pl.segments.append(Segment(f"s{i}.m4s", 4.00008, parts=[PartialSegment(0.33334, f"p{i}.{j}.m4s", j == 0)
                                                                    for j in range(3)]))
    text = pl.dumps()
    assert '#EXT-X-PART:DURATION=0.33334,URI="p10.0.m4s",INDEPENDENT=YES\n' in text
    assert '#EXT-X-PART:DURATION=0.33334,URI="p10.1.m4s"\n' in text
    back = hls.parse(text)
    assert isinstance(back, MediaPlaylist)
    assert [(s.uri, s.duration, s.parts) for s in back.segments] == [(s.uri, s.duration, s.parts) for s in pl.segments]
