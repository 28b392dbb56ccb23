"""Properties: random and mutated playlist text raises only ProtocolError; generated playlists
round-trip through dumps and parse."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mediaproto import hls
from mediaproto.errors import ProtocolError

from . import cases

SEEDS = [getattr(cases, n) for n in dir(cases) if n.isupper()]
TOKENS = [
    "#EXTM3U", "#EXTINF:", "#EXT-X-KEY:", "METHOD=", "URI=", '"', ",", "=", "0x", "@", "\n", "\r",
    "#EXT-X-PART:", "#EXT-X-STREAM-INF:", "#EXT-X-DEFINE:", "{$", "}", "YES", "NO", "x", "-1", "1.5",
    "#EXT-X-SKIP:", "#EXT-X-MEDIA:", "#EXT-X-PROGRAM-DATE-TIME:", "T", ":", "Z", "#EXT-X-DATERANGE:",
]  # fmt: skip


def _parse_only_protocol_errors(text: str | bytes) -> None:
    try:
        pl = hls.parse(text, query_params={"token": "q"}, imports={"base": "b"})
    except ProtocolError:
        return
    # whatever parses also dumps back byte-exact
    expected = text if isinstance(text, str) else text.decode()
    assert pl.dumps() == expected


@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _parse_only_protocol_errors(data)
    _parse_only_protocol_errors(b"#EXTM3U\n" + data)


@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=5), max_size=60))
def test_random_token_soup(tokens: list[str]) -> None:
    _parse_only_protocol_errors("#EXTM3U\n" + "".join(tokens))


@given(st.sampled_from(SEEDS), st.data())
def test_mutated_playlists(seed: str, data: st.DataObject) -> None:
    text = seed
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = data.draw(st.sampled_from(TOKENS) | st.text(max_size=3))
        if op == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + len(chunk) :]
        else:
            text = text[:pos] + chunk + text[pos + len(chunk) :]
    _parse_only_protocol_errors(text)


_uri = st.from_regex(r"[a-z0-9/._-]{1,20}", fullmatch=True).filter(lambda u: u[0] not in "#")
_quoted = st.from_regex(r'[A-Za-z0-9 ./:_-]{0,12}', fullmatch=True)
_ms = st.integers(0, 20_000).map(lambda n: n / 1000)
_dt = st.integers(0, 10**9).map(lambda n: datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=n))
_key = st.builds(
    hls.Key, st.sampled_from(["NONE", "AES-128", "SAMPLE-AES"]), st.none() | _quoted,
    st.none() | st.binary(min_size=16, max_size=16), st.none() | _quoted,
)  # fmt: skip
_part = st.builds(hls.PartialSegment, _ms, _uri, st.booleans(), st.none() | st.builds(hls.ByteRange, st.integers(0, 10**6), st.none() | st.integers(0, 10**6)), st.booleans())
_daterange = st.builds(
    hls.DateRange, _quoted, class_=st.none() | _quoted, duration=st.none() | _ms,
    client_attributes=st.lists(st.tuples(st.sampled_from(["X-A", "X-B"]), _quoted), max_size=1, unique_by=lambda t: t[0]).map(tuple),
)  # fmt: skip
_segment = st.builds(
    hls.Segment, _uri, _ms, _quoted.map(lambda t: t.replace(",", "")),
    byterange=st.none() | st.builds(hls.ByteRange, st.integers(0, 10**6)),
    discontinuity=st.booleans(), keys=st.lists(_key, max_size=2),
    map=st.none() | st.builds(hls.Map, _uri), program_date_time=st.none() | _dt,
    dateranges=st.lists(_daterange, max_size=2), gap=st.booleans(),
    bitrate=st.none() | st.integers(0, 10**6), parts=st.lists(_part, max_size=3),
)  # fmt: skip


@given(
    st.lists(_segment, max_size=6),
    st.none() | st.integers(0, 10**9),
    st.none() | st.sampled_from(["EVENT", "VOD"]),
    st.lists(_part, max_size=3),
    st.booleans(),
)
def test_generated_media_round_trip(
    segments: list[hls.Segment], seq: int | None, ptype: str | None, parts: list[hls.PartialSegment], end: bool
) -> None:
    pl = hls.MediaPlaylist(
        segments=segments, target_duration=20, media_sequence=seq, playlist_type=ptype,
        part_inf=hls.PartInf(0.5) if parts else None,
        server_control=hls.ServerControl(can_block_reload=True, part_hold_back=1.5) if parts else None,
        partial_segment=hls.Segment(parts=parts) if parts else None,
        preload_hints=[hls.PreloadHint("PART", "next.mp4")] if parts else [],
        endlist=end,
    )  # fmt: skip
    text = pl.dumps()
    back = hls.parse(text)
    assert back == pl
    assert back.dumps() == text


@given(st.lists(st.tuples(st.integers(1, 10**9), _uri, st.none() | st.tuples(st.integers(1, 4000), st.integers(1, 4000))), max_size=5))
def test_generated_multivariant_round_trip(variants: list[tuple[int, str, tuple[int, int] | None]]) -> None:
    pl = hls.MultivariantPlaylist(
        variants=[hls.Variant(hls.StreamInf(b, resolution=hls.Resolution(*r) if r else None), u) for b, u, r in variants],
        media=[hls.Media("AUDIO", "aud", "English", language="en", autoselect=True)],
        version=4,
    )
    back = hls.parse(pl.dumps())
    assert back == pl and back.dumps() == pl.dumps()
