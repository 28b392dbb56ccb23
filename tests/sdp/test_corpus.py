"""Real SDPs from peers' test suites (tests/sdp/corpus, sources in SOURCES.tsv): each parses in
lenient mode, round-trips byte-exact, and gives the tracks its rtpmap lines announce.

The expected codec of each media description is read here with a plain regular expression from the
SDP text (its first payload type and that type's ``a=rtpmap`` encoding name, or RFC 3551's static
table), not from our parser's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mediaproto import sdp
from mediaproto.errors import ParseError
from mediaproto.media import Codec

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.sdp"))

#: rtpmap encoding names (upper case) and RFC 3551 static payload types we have a codec for.
NAMES = {"H264": Codec.H264, "H265": Codec.H265, "MPEG4-GENERIC": Codec.AAC, "MP4A-LATM": Codec.AAC,
         "OPUS": Codec.OPUS, "PCMU": Codec.PCMU, "PCMA": Codec.PCMA, "L16": Codec.L16, "MP2T": Codec.MP2T}
STATIC = {"0": Codec.PCMU, "8": Codec.PCMA, "33": Codec.MP2T}


def expected_codecs(text: str) -> list[Codec | None]:
    """Per m= section: the codec its first payload type announces, None when we have none for it."""
    out: list[Codec | None] = []
    for section in re.split(r"\r?\nm=", "\n" + text)[1:]:
        fmts = section.split("\n", 1)[0].split()[3:]
        first = fmts[0] if fmts else ""
        m = re.search(rf"(?m)^a=rtpmap:{re.escape(first)} +([^/\r\n]+)/[0-9]+", section) if first else None
        if m is not None:
            out.append(NAMES.get(m[1].strip().upper()))
        else:
            out.append(STATIC.get(first) if not re.search(rf"(?m)^a=rtpmap:{re.escape(first)}\b", section) else None)
    return out


def test_corpus_is_big_enough() -> None:
    assert len(FILES) >= 80
    listed = {line.split("\t")[0] for line in (CORPUS / "SOURCES.tsv").read_text().splitlines() if not line.startswith("#")}
    assert {f.name for f in FILES} == listed  # every file says where it comes from


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_lenient_parse_round_trips_and_gives_tracks(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    s = sdp.parse(text, lenient=True)
    assert s.dumps() == text
    assert sdp.parse(s.dumps(), lenient=True).dumps() == text
    expected = expected_codecs(text)
    assert len(s.media) == len(expected)
    for md, codec in zip(s.media, expected):
        md.formats()  # never raises: a broken rtpmap is reported by format_errors()
        if codec is None:
            continue
        try:
            track = sdp.track_from_media(md)
        except ParseError as exc:  # a codec we know, with a broken config: must say so
            assert "config" in str(exc) or "sprop" in str(exc), exc
            continue
        assert track.codec is codec


def test_broken_rtpmap_is_reported_alone() -> None:
    """gortsplib's "issue mediamtx/227" style: one rtpmap without a clock rate."""
    text = ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96 98\r\n"
            "a=rtpmap:96 H264/90000\r\na=rtpmap:98 MetaData\r\n")
    md = sdp.parse(text).media[0]
    assert [f.payload_type for f in md.formats()] == [96]
    errors = md.format_errors()
    assert list(errors) == ["98"] and "clock rate" in str(errors["98"])
    assert sdp.track_from_media(md).codec is Codec.H264


@pytest.mark.parametrize(
    "text",
    [
        # an o= line with seven fields (the address used to be cut off)
        "v=0\r\no=- 14665860 31787219 1 IN IP4 192.168.4.226\r\ns=x\r\nt=0 0\r\n",
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nc=IN IP4\r\nt=0 0\r\n",  # c= without an address
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nc=IN IP4 0.0.0.0\r\nb=AS:50\r\n",  # c=/b= after t=
        "o=-0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=now-\r\n",  # no v=, o=-0, t=now-
        "v=0\r\no=- 0 0 IP IP4 1.2.3.4\r\ns=x\r\nc=IP IP4 1.2.3.4\r\nt=0 0\r\n",  # IP for IN
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        "a=fmtp:96 packetization-mode=1; profile-level-id=42e01f\r\n",  # spaces after ; (FFmpeg)
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=control:x\r\nc=IN IP4 0.0.0.0\r\n",
        "v=0\n\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\nt=0 0",  # a blank line, mixed endings, no final one
    ],
)
def test_lenient_loses_nothing(text: str) -> None:
    s = sdp.parse(text, lenient=True)
    assert s.dumps() == text


def test_lenient_keeps_the_fields_in_the_model() -> None:
    s = sdp.parse("v=0\r\no=- 14665860 31787219 1 IN IP4 192.168.4.226\r\ns=x\r\nc=IN IP4\r\nt=0 0\r\n", lenient=True)
    assert (s.origin.sess_version, s.origin.unicast_address) == ("1", "192.168.4.226")
    assert s.connection is not None and (s.connection.addrtype, s.connection.address) == ("IP4", "")
    s.origin.unicast_address = "10.0.0.1"  # an edited line is written from its fields
    assert "o=- 14665860 31787219 1 IN IP4 10.0.0.1\r\n" in s.dumps()
    s = sdp.parse("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nc=IN IP4 0.0.0.0\r\n", lenient=True)
    s.bandwidths.append(sdp.Bandwidth("AS", 10))  # the counts changed: RFC order again
    assert s.dumps().endswith("s=x\r\nc=IN IP4 0.0.0.0\r\nb=AS:10\r\nt=0 0\r\n")
