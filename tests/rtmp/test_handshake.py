"""The RTMP handshake against FFmpeg's bytes and against an independent HMAC computation."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError, ProtocolError
from mediaproto.rtmp.handshake import ClientHandshake, ServerHandshake

# The keys as published (Adobe's Flash Player / Media Server keys, e.g. in FFmpeg's rtmpproto.c).
FP_KEY = b"Genuine Adobe Flash Player 001" + bytes.fromhex(
    "F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE")
FMS_KEY = b"Genuine Adobe Flash Media Server 001" + bytes.fromhex(
    "F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE")


def _counter() -> "callable":
    state = [0]

    def rnd(n: int) -> bytes:
        out = bytes((state[0] + i) * 7 % 251 for i in range(n))
        state[0] += n
        return out
    return rnd


def _digest_at(block: bytes, schema: int) -> int:
    base = 8 if schema == 0 else 772
    return sum(block[base:base + 4]) % 728 + base + 4


def _valid(block: bytes, key: bytes, schema: int) -> bool:
    off = _digest_at(block, schema)
    want = hmac.new(key, block[:off] + block[off + 32:], hashlib.sha256).digest()
    return want == block[off:off + 32]


@pytest.fixture(scope="module")
def c2s(vectors: Path) -> bytes:
    return (vectors / "rtmp-ffmpeg-publish.c2s.bin").read_bytes()


@pytest.fixture(scope="module")
def s2c(vectors: Path) -> bytes:
    return (vectors / "rtmp-ffmpeg-publish.s2c.bin").read_bytes()


def test_server_answers_ffmpeg_digest_client_in_kind(c2s: bytes) -> None:
    assert c2s[0] == 3 and c2s[5:9] != b"\0\0\0\0"  # FFmpeg's C1 is the digest kind
    hs = ServerHandshake(random_bytes=_counter())
    rest = hs.receive_data(c2s[:1537])
    assert rest == b"" and not hs.done
    assert hs.digest and hs.schema == 0
    out = hs.data_to_send()
    assert len(out) == 1 + 1536 * 2 and out[0] == 3
    s1, s2 = out[1:1537], out[1537:]
    assert _valid(s1, FMS_KEY[:36], 0)
    # S2 ends in HMAC(HMAC(FMS key, client digest), S2[:1504])
    c1 = c2s[1:1537]
    off = _digest_at(c1, 0)
    client_digest = c1[off:off + 32]
    key = hmac.new(FMS_KEY, client_digest, hashlib.sha256).digest()
    assert s2[-32:] == hmac.new(key, s2[:-32], hashlib.sha256).digest()
    rest = hs.receive_data(c2s[1537:4000])
    assert hs.done and rest == c2s[3073:4000]
    assert rest[:1] == b"\x03"  # the connect command's chunk


def test_server_byte_by_byte(c2s: bytes) -> None:
    hs = ServerHandshake()
    rest = b"".join(hs.receive_data(c2s[i:i + 1]) for i in range(3100))
    assert hs.done and rest == c2s[3073:3100]


def test_server_answers_simple_client_simply() -> None:
    c1 = b"\x00\x00\x00\x10" + b"\x00" * 4 + bytes(range(256)) * 6
    c1 = c1[:1536]
    hs = ServerHandshake(random_bytes=_counter())
    hs.receive_data(b"\x03" + c1)
    out = hs.data_to_send()
    assert not hs.digest
    assert out[5:9] == b"\0\0\0\0"  # simple S1
    assert out[1537:] == c1  # S2 echoes C1


def test_digest_client_with_wrong_digest_falls_back_to_simple(c2s: bytes) -> None:
    c1 = bytearray(c2s[1:1537])
    c1[100] ^= 0xFF
    c1[1000] ^= 0xFF
    hs = ServerHandshake()
    hs.receive_data(b"\x03" + bytes(c1))
    assert not hs.digest
    assert hs.data_to_send()[1537:] == bytes(c1)


def test_client_echoes_simple_server_like_ffmpeg(c2s: bytes, s2c: bytes) -> None:
    # FFmpeg's listening server sends a simple S1; FFmpeg's client then echoes S1 as C2.
    hs = ClientHandshake()
    first = hs.data_to_send()
    assert len(first) == 1537 and first[0] == 3
    rest = hs.receive_data(s2c[:3073 + 10])
    assert hs.done and rest == s2c[3073:3083]
    assert hs.data_to_send() == c2s[1537:3073]


def test_client_c1_is_a_valid_schema0_digest() -> None:
    c1 = ClientHandshake().data_to_send()[1:]
    assert _valid(c1, FP_KEY[:30], 0)


def test_client_and_server_digest_roundtrip() -> None:
    c = ClientHandshake(random_bytes=_counter())
    s = ServerHandshake()
    s.receive_data(c.data_to_send())
    assert s.digest
    c.receive_data(s.data_to_send())
    assert c.server_digest
    c2 = c.data_to_send()
    assert s.receive_data(c2 + b"xyz") == b"xyz" and s.done and c.done


def test_schema1_client_detected() -> None:
    # build a schema-1 C1 independently
    body = bytearray(bytes(range(256)) * 6)[:1536]
    body[4:8] = bytes((9, 0, 124, 2))
    off = _digest_at(bytes(body), 1)
    body[off:off + 32] = hmac.new(FP_KEY[:30], bytes(body[:off] + body[off + 32:]), hashlib.sha256).digest()
    s = ServerHandshake()
    s.receive_data(b"\x03" + bytes(body))
    assert s.digest and s.schema == 1
    assert _valid(s.data_to_send()[1:1537], FMS_KEY[:36], 1)


@pytest.mark.parametrize("version", [0, 6, 8, 0x47])
def test_wrong_version_is_a_clear_error(version: int) -> None:
    with pytest.raises(ParseError, match="version"):
        ServerHandshake().receive_data(bytes((version,)))
    c = ClientHandshake()
    with pytest.raises(ParseError, match="version"):
        c.receive_data(bytes((version,)) + b"\0" * 10)


@given(st.binary(max_size=4000))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    for hs in (ServerHandshake(), ClientHandshake()):
        try:
            hs.receive_data(data)
        except ProtocolError:
            pass
