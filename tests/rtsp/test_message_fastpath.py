"""The message parser's fast path (short heads with CRLF lines) against its line-by-line parser.

``MessageParser`` parses a short, well-formed head in one loop and sends anything else (a bare
LF, folding, white space around a name, bad UTF-8, a long head) to the line-by-line parser. These
tests hold the two to the same events and the same errors, and check the fast path's values
against RFC 2326 directly.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, ParseError, ProtocolError
from mediaproto.rtsp.message import Headers, Limits, MessageParser, Request, Response


def _slow(limits: Limits | None = None, lenient: bool = False) -> MessageParser:
    parser = MessageParser(limits, lenient=lenient)
    parser._short_head = -1  # every head goes to the line-by-line parser
    return parser


def _outcome(parser: MessageParser, data: bytes) -> object:
    try:
        return ("events", parser.feed(data), parser.buffered)
    except ProtocolError as exc:
        return (type(exc).__name__, exc.message, exc.offset)


# Header lines the fast path must take, and lines it must leave to the other parser.
_LINE_PARTS = st.sampled_from([
    "CSeq", "Content-Length", "content-length", "CONTENT-LENGTH", "Session", "X", "Transport",
    ":", ": ", " :", " ", "\t", "\r", "\n", "\r\n", "1", "12", "x", "-1", "é", "\x85", "\u00a0", "\x0b",
    "rtsp://h/a", ";", "=",
])
_LINE = st.lists(_LINE_PARTS, min_size=0, max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(_LINE, max_size=8), body=st.binary(max_size=6), lenient=st.booleans(),
       start=st.sampled_from(["OPTIONS * RTSP/1.0", "RTSP/1.0 200 OK", "FOO rtsp://h RTSP/2.0", "RTSP/1.0 20 OK"]))
@example(lines=["CSeq : 1"], body=b"", lenient=False, start="OPTIONS * RTSP/1.0")
@example(lines=["CSeq: 1", " folded"], body=b"", lenient=False, start="OPTIONS * RTSP/1.0")
@example(lines=["Content-Length: 2", "content-length: 3"], body=b"abc", lenient=False, start="RTSP/1.0 200 OK")
@example(lines=["A\tB: 1"], body=b"", lenient=False, start="OPTIONS * RTSP/1.0")
def test_fast_path_parses_as_the_line_parser(lines: list[str], body: bytes, lenient: bool, start: str) -> None:
    data = ("\r\n".join([start, *lines]) + "\r\n\r\n").encode("utf-8") + body
    assert _outcome(MessageParser(lenient=lenient), data) == _outcome(_slow(lenient=lenient), data)


@given(st.binary(max_size=40))
def test_fast_path_on_bad_utf8_and_bytes(junk: bytes) -> None:
    data = b"SETUP rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\nX-" + junk + b": v\r\n\r\n"
    for lenient in (False, True):
        assert _outcome(MessageParser(lenient=lenient), data) == _outcome(_slow(lenient=lenient), data)


def test_values_by_the_rfc() -> None:
    # RFC 2326 section 4.2: header names are case-insensitive; values have their LWS trimmed.
    data = (b"RTSP/1.0 200 OK\r\nCSeq:3\r\ncontent-LENGTH:   4 \r\nSession:\t 47112344;timeout=60\t\r\n"
            b"Empty:\r\n\r\nv=0\nSETUP rtsp://h/a/trackID=1 RTSP/1.0\r\nCSeq: 4\r\n\r\n")
    first, second = MessageParser().feed(data)
    assert first == Response(200, "OK", Headers([("CSeq", "3"), ("content-LENGTH", "4"),
                                                  ("Session", "47112344;timeout=60"), ("Empty", "")]), b"v=0\n")
    assert first.headers.get("content-length") == "4" and first.cseq == 3
    assert second == Request("SETUP", "rtsp://h/a/trackID=1", Headers([("CSeq", "4")]))


def test_errors_on_the_fast_path() -> None:
    with pytest.raises(ParseError, match="malformed header line"):
        MessageParser().feed(b"OPTIONS * RTSP/1.0\r\nBad Name: 1\r\n\r\n")
    with pytest.raises(ParseError, match="conflicting Content-Length"):
        MessageParser().feed(b"RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    with pytest.raises(LimitExceeded, match="more than 2 headers"):
        MessageParser(Limits(max_headers=2)).feed(b"OPTIONS * RTSP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
    with pytest.raises(LimitExceeded, match="Content-Length 11 over the limit"):
        MessageParser(Limits(max_body_bytes=10)).feed(b"RTSP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n")
    with pytest.raises(ParseError, match="bare LF"):
        MessageParser().feed(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\nX: 2\r\n\r\n")
    # a long head takes the line-by-line parser, which applies the name and value limits
    with pytest.raises(LimitExceeded, match="header X longer than 20"):
        MessageParser(Limits(max_header_value=20)).feed(b"OPTIONS * RTSP/1.0\r\nX: " + b"v" * 21 + b"\r\n\r\n")
