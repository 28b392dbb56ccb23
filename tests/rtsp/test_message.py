from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, ParseError, ProtocolError
from mediaproto.rtsp.message import Headers, InterleavedFrame, Limits, MessageParser, Request, Response

# Table of (bytes, value) cases shared by the encoder and the decoder (RFC 2326 examples).
CASES = [
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nRequire: implicit-play\r\nProxy-Require: gzipped-messages\r\n\r\n",
     Request("OPTIONS", "*", Headers([("CSeq", "1"), ("Require", "implicit-play"), ("Proxy-Require", "gzipped-messages")]))),
    (b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE\r\n\r\n",
     Response(200, "OK", Headers([("CSeq", "1"), ("Public", "DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE")]))),
    (b"DESCRIBE rtsp://server.example.com/fizzle/foo RTSP/1.0\r\nCSeq: 312\r\nAccept: application/sdp\r\n\r\n",
     Request("DESCRIBE", "rtsp://server.example.com/fizzle/foo", Headers([("CSeq", "312"), ("Accept", "application/sdp")]))),
    (b"RTSP/1.0 200 OK\r\nCSeq: 312\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
     Response(200, "OK", Headers([("CSeq", "312"), ("Content-Type", "application/sdp"), ("Content-Length", "4")]), b"v=0\n")),
    (b"PLAY rtsp://h/a RTSP/2.0\r\nCSeq: 4\r\nSession: 12345678\r\nRange: npt=0-\r\n\r\n",
     Request("PLAY", "rtsp://h/a", Headers([("CSeq", "4"), ("Session", "12345678"), ("Range", "npt=0-")]), version="RTSP/2.0")),
    (b"$\x01\x00\x03abc", InterleavedFrame(1, b"abc")),
    (b"GET_PARAMETER rtsp://h/a RTSP/1.0\r\nCSeq: 9\r\n\r\n", Request("GET_PARAMETER", "rtsp://h/a", Headers([("CSeq", "9")]))),
]


@pytest.mark.parametrize("data,value", CASES)
def test_table_decode_and_encode(data: bytes, value: object) -> None:
    assert MessageParser().feed(data) == [value]
    assert bytes(value) == data  # type: ignore[call-overload]


def test_every_split_parses_the_same() -> None:
    stream = b"".join(d for d, _ in CASES) * 2
    expected = [v for _, v in CASES] * 2
    for cut in range(1, len(stream)):
        p = MessageParser()
        assert p.feed(stream[:cut]) + p.feed(stream[cut:]) == expected
    p = MessageParser()
    got = []
    for i in range(len(stream)):
        got += p.feed(stream[i:i + 1])
    assert got == expected and p.buffered == 0


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    [req] = MessageParser().feed(b"SETUP rtsp://h/a RTSP/1.0\r\ncseq: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert isinstance(req, Request)
    assert req.cseq == 3 and req.headers.get("CSEQ") == "3" and req.headers.get_all("X-a") == ["1", "2"]


def test_ffmpeg_record_capture(vectors: Path) -> None:
    c2s = (vectors / "rtsp-ffmpeg-record-tcp.c2s.bin").read_bytes()
    events = MessageParser().feed(c2s)
    methods = [e.method for e in events if isinstance(e, Request)]
    assert methods == ["OPTIONS", "ANNOUNCE", "SETUP", "SETUP", "RECORD", "TEARDOWN"]
    frames = [e for e in events if isinstance(e, InterleavedFrame)]
    assert {f.channel for f in frames} <= {0, 1, 2, 3} and len(frames) > 100
    assert all(f.data[0] >> 6 == 2 for f in frames)  # every one is RTP/RTCP version 2
    s2c = (vectors / "rtsp-ffmpeg-record-tcp.s2c.bin").read_bytes()
    responses = MessageParser().feed(s2c)
    assert [r.status_code for r in responses if isinstance(r, Response)][:5] == [200] * 5


@pytest.mark.parametrize(
    "data",
    [
        b"DESCRIBE rtsp://h RTSP/1.0\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"DESCRIBE rtsp://h RTSP/1.0\r\nContent-Length: -1\r\n\r\n",
        b"DESCRIBE rtsp://h RTSP/1.0\r\nContent-Length: 1x\r\n\r\n",
        b"DESCRIBE rtsp://h RTSP/1.0\nCSeq: 1\r\n\r\n",  # bare LF when strict
        b"DESCRIBE rtsp://h HTTP/1.1\r\n\r\n",
        b"RTSP/1.0 2000 OK\r\n\r\n",
        b"DESCRIBE rtsp://h RTSP/1.0\r\nno colon here\r\n\r\n",
    ],
    ids=["conflicting-length", "negative-length", "non-numeric-length", "bare-lf", "http-version", "bad-status", "bad-header"],
)
def test_ambiguous_framing_is_an_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        MessageParser().feed(data)


def test_lenient_accepts_bare_lf() -> None:
    [req] = MessageParser(lenient=True).feed(b"OPTIONS rtsp://h RTSP/1.0\nCSeq: 1\n\n")
    assert isinstance(req, Request) and req.cseq == 1


def test_limits_bound_memory() -> None:
    p = MessageParser(Limits(max_head_bytes=1024))
    with pytest.raises(LimitExceeded):
        for _ in range(100):
            p.feed(b"X" * 100)  # an endless header line
    with pytest.raises(LimitExceeded):
        MessageParser().feed(b"ANNOUNCE rtsp://h RTSP/1.0\r\nContent-Length: 999999999\r\n\r\n")
    with pytest.raises(LimitExceeded):
        MessageParser(Limits(max_headers=3)).feed(b"OPTIONS * RTSP/1.0\r\n" + b"A: b\r\n" * 4 + b"\r\n")
    # Endless interleaved frames nobody reads: each is returned at once, nothing accumulates.
    p = MessageParser()
    frame = bytes(InterleavedFrame(0, bytes(60000)))
    for _ in range(200):
        assert len(p.feed(frame)) == 1
    assert p.buffered == 0 and len(p._buf) < 2 * 65536 + len(frame)


def test_large_burst_is_linear() -> None:
    frame = bytes(InterleavedFrame(0, bytes(1400)))
    burst = frame * (10_000_000 // len(frame))
    t0 = time.perf_counter()
    n_burst = len(MessageParser().feed(burst))
    one_shot = time.perf_counter() - t0
    p = MessageParser()
    n_small = 0
    t0 = time.perf_counter()
    for i in range(0, len(burst), 65536):
        n_small += len(p.feed(burst[i:i + 65536]))
    chunked = time.perf_counter() - t0
    assert n_burst == n_small == len(burst) // len(frame)
    # Not a speed target: a guard against quadratic behaviour (which costs 100x, not 2x).
    assert one_shot < 20 * chunked + 0.5


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    try:
        MessageParser().feed(data)
    except ProtocolError:
        pass
    try:
        MessageParser(lenient=True).feed(data)
    except ProtocolError:
        pass


@given(st.data())
def test_mutated_messages_raise_only_protocol_errors(data: st.DataObject) -> None:
    stream = b"".join(d for d, _ in CASES)
    pos = data.draw(st.integers(0, len(stream) - 1))
    mutated = stream[:pos] + data.draw(st.binary(max_size=8)) + stream[pos + data.draw(st.integers(0, 8)):]
    try:
        MessageParser().feed(mutated)
    except ProtocolError:
        pass
