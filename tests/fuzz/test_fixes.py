"""What the fuzzer found, pinned down by hand beside the regression inputs: each test states the
rule the fix follows, with values from the specs rather than from our output."""

from __future__ import annotations

import struct
import tracemalloc

import pytest

from mediaproto import sdp
from mediaproto.errors import ProtocolError
from mediaproto.rtmp.message import stream_id_arg
from mediaproto.rtp import TransportWideFeedback, parse_compound


@pytest.mark.parametrize(("value", "expected"), [
    (1.0, 1), (0.0, 0), (4294967295.0, 4294967295), (7, 7),
    (float("nan"), None), (float("inf"), None), (float("-inf"), None), (1.5, None), (-1.0, None),
    (4294967296.0, None), (True, None), ("1", None), (None, None),
])
def test_stream_id_arg(value: object, expected: int | None) -> None:
    """An RTMP message stream id is a 32-bit unsigned field (the chunk header's 4 bytes)."""
    assert stream_id_arg(value) == expected


def _twcc(count: int, chunks: list[int], deltas: bytes) -> bytes:
    """An RTPFB FMT 15 packet (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1), unpadded."""
    body = struct.pack(">IIHHI", 1, 2, 100, count, (5 << 8) | 3)
    body += b"".join(struct.pack(">H", c) for c in chunks) + deltas
    body += bytes(-len(body) % 4)
    return struct.pack(">BBH", 0x80 | 15, 205, len(body) // 4) + body


def test_twcc_run_length_chunk_is_read_without_expanding_it() -> None:
    # One run length chunk (T=0, S=1 small delta, run 8191): 8191 received packets, each with a
    # one-byte delta; only 3 follow, so the packet is truncated.
    claim = _twcc(8191, [(1 << 13) | 8191], b"\x04\x04\x04")
    tracemalloc.start()
    with pytest.raises(ProtocolError):
        parse_compound(claim)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 1024  # one symbol per packet was a list of 8191 (64 KiB)
    # Not-received runs need no deltas: 65535 packets described by 8 chunks of 2 bytes.
    chunks = [8191] * 8 + [(0 << 13) | 7]
    (packet,) = parse_compound(_twcc(65535, chunks, b""))
    assert isinstance(packet, TransportWideFeedback) and packet.recv_deltas == ()


def test_twcc_deltas_follow_the_statuses() -> None:
    # A two-bit status vector (1 1 S S, 7 symbols): small, large, not received, small, then 3 more
    # not received; deltas: 1 byte, 2 bytes signed, 1 byte.
    chunk = 0xC000 | (1 << 12) | (2 << 10) | (0 << 8) | (1 << 6)
    (packet,) = parse_compound(_twcc(4, [chunk], b"\x10" + struct.pack(">h", -300) + b"\x20"))
    assert isinstance(packet, TransportWideFeedback)
    assert packet.recv_deltas == (0x10, -300, 0x20)
    assert [s for s, _ in packet.received()] == [100, 101, 103]


def test_rtpmap_with_clock_rate_zero_is_a_broken_rtpmap() -> None:
    text = ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video 9 RTP/AVP 96 97\r\n"
            "a=rtpmap:96 H264/0\r\na=rtpmap:97 H264/90000\r\n")
    media = sdp.parse(text).media[0]
    assert [f.payload_type for f in media.formats()] == [97]
    assert list(media.format_errors()) == ["96"]
    assert sdp.track_from_media(media).clock_rate == 90000
