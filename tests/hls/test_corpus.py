"""Playlists from peers' test suites (tests/hls/corpus, sources in SOURCES.tsv) and the m3u8 rules
of issue 16: strict RFC 8216bis ordering and EXT-X-DEFINE rules with messages that name the tag and
the rule; a lenient mode for what hls.js and AVPlayer accept; byte-exact round trips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mediaproto import hls
from mediaproto.errors import ParseError, ProtocolError

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.m3u8"))
_TAG_NAMED = re.compile(r"EXT(?:M3U|INF|-X-[A-Z-]+)")


def test_corpus_is_big_enough() -> None:
    assert len(FILES) >= 150
    listed = {line.split("\t")[0] for line in (CORPUS / "SOURCES.tsv").read_text().splitlines() if not line.startswith("#")}
    assert {f.name for f in FILES} == listed


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_round_trips_or_is_refused_naming_the_tag(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    for lenient in (False, True):
        try:
            pl = hls.parse(text, lenient=lenient)
        except ProtocolError as exc:
            assert _TAG_NAMED.search(str(exc)), exc  # the refusal names the tag it is about
            assert exc.line is not None
            continue
        assert pl.dumps() == text
        assert hls.parse(pl.dumps(), lenient=lenient).dumps() == text


def test_corpus_counts() -> None:
    """Most of the peers' playlists are accepted; what lenient mode adds is counted."""
    strict = lenient = 0
    for path in FILES:
        text = path.read_bytes().decode("utf-8")
        for mode in (False, True):
            try:
                hls.parse(text, lenient=mode)
            except ProtocolError:
                continue
            if mode:
                lenient += 1
            else:
                strict += 1
    assert strict >= 150 and lenient > strict


MEDIA = "#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-TARGETDURATION:6\n"


@pytest.mark.parametrize(
    "text,tag,rule",
    [
        (MEDIA + "#EXTINF:6,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:6,\nb.ts\n", "EXT-X-MEDIA-SEQUENCE", "4.4.3.2"),
        (MEDIA + "#EXTINF:6,\na.ts\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n", "EXT-X-DISCONTINUITY-SEQUENCE", "4.4.3.3"),
        (MEDIA + "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=36\n#EXTINF:6,\na.ts\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"
         "#EXTINF:6,\nb.ts\n", "EXT-X-SKIP", "4.4.5.2"),
        (MEDIA + "#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:6,\na.ts\n", "EXT-X-SESSION-KEY", "not allowed"),
        (MEDIA + "#EXTINF:6,\n{$base}/a.ts\n#EXT-X-DEFINE:NAME=\"base\",VALUE=\"x\"\n", "EXT-X-DEFINE", "4.3"),
        ("#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{$v}/a.m3u8\n#EXT-X-DEFINE:NAME=\"v\",VALUE=\"x\"\n",
         "EXT-X-DEFINE", "4.3"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:2.5\n", "EXT-X-TARGETDURATION", "decimal-integer"),
        (MEDIA + "#EXTM3U\n", "EXTM3U", "first line"),
    ],
)
def test_strict_rules_name_the_tag_and_the_rule(text: str, tag: str, rule: str) -> None:
    with pytest.raises(ParseError) as exc:
        hls.parse(text)
    assert tag in str(exc.value) and rule in str(exc.value)
    assert exc.value.line is not None


def test_strict_accepts_the_legal_orders() -> None:
    text = (MEDIA + "#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DEFINE:NAME=\"base\",VALUE=\"x\"\n"
            "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXTINF:6,\n{$base}/a.ts\n#EXT-X-ENDLIST\n")
    pl = hls.parse(text)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.segments[0].uri == "x/a.ts" and pl.dumps() == text


@pytest.mark.parametrize(
    "text",
    [
        MEDIA + "#EXTM3U\n#EXTINF:6,\na.ts\n",  # a second #EXTM3U
        MEDIA + "#EXTINF: 5,\na.ts\n",  # a space before the duration
        MEDIA + "#EXT-X-KEY:METHOD=AES-128, URI=\"k\" ,IV=0x1\n#EXTINF:6,\na.ts\n",  # spaces in the list
        "#EXTM3U\n#EXT-X-VERSION: 3\n#EXT-X-STREAM-INF:PROGRAM-ID=1, BANDWIDTH=200000\nv.m3u8\n",
    ],
)
def test_lenient_accepts_what_players_play(text: str) -> None:
    with pytest.raises(ParseError):
        hls.parse(text)
    pl = hls.parse(text, lenient=True)
    assert pl.dumps() == text


def test_lenient_reads_the_values() -> None:
    pl = hls.parse(MEDIA + "#EXT-X-KEY:METHOD=AES-128, URI=\"a, b\"\n#EXTINF: 5,\na.ts\n", lenient=True)
    assert isinstance(pl, hls.MediaPlaylist)
    seg = pl.segments[0]
    assert seg.duration == 5.0 and seg.keys[0].uri == "a, b"  # spaces inside quotes stay
    mv = hls.parse("#EXTM3U\n#EXT-X-STREAM-INF:PROGRAM-ID=1, BANDWIDTH=200000\nv.m3u8\n", lenient=True)
    assert isinstance(mv, hls.MultivariantPlaylist) and mv.variants[0].stream_inf.bandwidth == 200000
