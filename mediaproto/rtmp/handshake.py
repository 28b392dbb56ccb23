"""The RTMP handshake: C0/C1/C2 and S0/S1/S2, simple and digest ("complex"), client and server.

Both sides send a version byte (3) and a 1536-byte block, then echo the peer's block back. The
*simple* handshake (Adobe's published spec) puts a 4-byte time and 4 zero bytes at the start of the
block and random bytes after them; the echo is a copy. The *digest* handshake (Flash Player,
FFmpeg, FMLE) puts a version in bytes 4-7 and an HMAC-SHA256 digest inside the random part:

* the block is split into a 764-byte "key" part and a 764-byte "digest" part after the first 8
  bytes; in schema 0 the digest part comes first (bytes 8-771), in schema 1 it comes second
  (bytes 772-1535). Inside the digest part, the sum of its first four bytes modulo 728, plus 4,
  gives the digest's position;
* the digest is HMAC-SHA256 over the block without its 32 digest bytes, keyed with the first 30
  bytes of the Flash Player key (client) or the first 36 bytes of the Media Server key (server);
* the echo (C2, S2) is random bytes whose last 32 bytes are HMAC-SHA256 over the first 1504,
  keyed with HMAC-SHA256(full key, the peer's digest).

What real peers need (see QUIRKS.md): C1 bytes 4-7 all zero means the simple handshake; otherwise
the server looks for the client digest at schema 1 then schema 0, and falls back to the simple
handshake if neither matches. The server answers a digest client in kind and a simple client
simply. C2 is not verified strictly (FFmpeg's would fail), and neither is S2.

Both classes are Sans-IO: :meth:`receive_data` returns the bytes that came after the handshake (the
start of the chunk stream), :meth:`data_to_send` drains what to write. Randomness is injected as
``random_bytes`` (default :func:`os.urandom`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Callable

from ..errors import ParseError

__all__ = [
    "RTMP_VERSION",
    "HANDSHAKE_SIZE",
    "GENUINE_FP_KEY",
    "GENUINE_FMS_KEY",
    "find_digest",
    "make_digest_block",
    "make_echo_block",
    "ServerHandshake",
    "ClientHandshake",
]

#: The only RTMP version this library speaks (6 and 8 are RTMPE, not supported).
RTMP_VERSION = 3
#: Size of C1, C2, S1 and S2.
HANDSHAKE_SIZE = 1536

_KEY_TAIL = bytes.fromhex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae")
#: The Flash Player key: the client digest uses its first 30 bytes, the C2 key the whole of it.
GENUINE_FP_KEY = b"Genuine Adobe Flash Player 001" + _KEY_TAIL
#: The Media Server key: the server digest uses its first 36 bytes, the S2 key the whole of it.
GENUINE_FMS_KEY = b"Genuine Adobe Flash Media Server 001" + _KEY_TAIL

_DIGEST_LEN = 32
#: The version FFmpeg puts into bytes 4-7 of a digest C1 (9.0.124.2), and the server version we send.
_CLIENT_VERSION = bytes((9, 0, 124, 2))
_SERVER_VERSION = bytes((4, 0, 0, 1))


def _digest_offset(block: bytes, schema: int) -> int:
    base = 8 if schema == 0 else 772
    return sum(block[base : base + 4]) % 728 + base + 4


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def find_digest(block: bytes, key: bytes) -> tuple[int, bytes] | None:
    """Find a valid digest in a C1/S1 ``block`` keyed with ``key`` (30 or 36 key bytes).

    Tries schema 1 first, then schema 0 (the order QUIRKS.md gives). Returns ``(schema, digest)``
    or ``None`` when neither position holds a matching digest.
    """
    if len(block) != HANDSHAKE_SIZE:
        return None
    for schema in (1, 0):
        off = _digest_offset(block, schema)
        expected = _hmac(key, block[:off] + block[off + _DIGEST_LEN :])
        if hmac.compare_digest(expected, block[off : off + _DIGEST_LEN]):
            return schema, expected
    return None


def make_digest_block(random_bytes: Callable[[int], bytes], key: bytes, version: bytes, schema: int,
                      time_ms: int = 0) -> tuple[bytes, bytes]:
    """Build a digest C1/S1 block: time, ``version``, random, the digest at the ``schema`` offset.

    Returns ``(block, digest)``.
    """
    block = bytearray((time_ms & 0xFFFFFFFF).to_bytes(4, "big") + version + random_bytes(HANDSHAKE_SIZE - 8))
    off = _digest_offset(bytes(block), schema)
    digest = _hmac(key, bytes(block[:off] + block[off + _DIGEST_LEN :]))
    block[off : off + _DIGEST_LEN] = digest
    return bytes(block), digest


def make_echo_block(random_bytes: Callable[[int], bytes], full_key: bytes, peer_digest: bytes) -> bytes:
    """Build a digest C2/S2: random bytes ending in HMAC(HMAC(full_key, peer_digest), the rest)."""
    body = random_bytes(HANDSHAKE_SIZE - _DIGEST_LEN)
    return body + _hmac(_hmac(full_key, peer_digest), body)


def _check_version(version: int) -> None:
    if version != RTMP_VERSION:
        what = "RTMPE (encrypted) is not supported" if version in (6, 8) else "expected 3"
        raise ParseError(f"unsupported RTMP version {version}: {what}", offset=0)


class ServerHandshake:
    """The server side: reads C0+C1, answers S0+S1+S2, reads C2.

    :param random_bytes: the random source, ``n -> n bytes``.
    :param time_ms: the time field put into S1 (the server's uptime in ms, or 0).
    """

    def __init__(self, *, random_bytes: Callable[[int], bytes] = os.urandom, time_ms: int = 0) -> None:
        self._random = random_bytes
        self._time = time_ms
        self._buf = bytearray()
        self._out = bytearray()
        self._state = 0  # 0: want C0+C1; 1: want C2; 2: done
        #: Whether the client used the digest handshake (known once C1 arrived).
        self.digest: bool = False
        #: The digest schema the client used (0 or 1), or None for the simple handshake.
        self.schema: int | None = None
        #: The client's C1 bytes 4-7 (its version, all zero for the simple handshake).
        self.client_version: bytes = b""

    @property
    def done(self) -> bool:
        """Whether C2 has arrived and the chunk stream starts."""
        return self._state == 2

    def receive_data(self, data: bytes) -> bytes:
        """Consume handshake bytes; return whatever followed the handshake (chunk stream bytes)."""
        if self._state == 2:
            return bytes(data)
        self._buf += data
        if self._state == 0:
            if self._buf:
                _check_version(self._buf[0])
            if len(self._buf) < 1 + HANDSHAKE_SIZE:
                return b""
            c1 = bytes(self._buf[1 : 1 + HANDSHAKE_SIZE])
            del self._buf[: 1 + HANDSHAKE_SIZE]
            self._answer(c1)
            self._state = 1
        if len(self._buf) < HANDSHAKE_SIZE:
            return b""
        # C2 is the client's echo of S1; not verified strictly (FFmpeg's would fail).
        rest = bytes(self._buf[HANDSHAKE_SIZE:])
        self._buf = bytearray()
        self._state = 2
        return rest

    def _answer(self, c1: bytes) -> None:
        self.client_version = c1[4:8]
        found = None
        if c1[4:8] != b"\x00\x00\x00\x00":
            found = find_digest(c1, GENUINE_FP_KEY[:30])
        self._out.append(RTMP_VERSION)
        if found is None:
            s1 = (self._time & 0xFFFFFFFF).to_bytes(4, "big") + b"\x00\x00\x00\x00" + self._random(HANDSHAKE_SIZE - 8)
            self._out += s1
            self._out += c1  # the simple echo
            return
        schema, client_digest = found
        self.digest = True
        self.schema = schema
        s1, _ = make_digest_block(self._random, GENUINE_FMS_KEY[:36], _SERVER_VERSION, schema, self._time)
        self._out += s1
        self._out += make_echo_block(self._random, GENUINE_FMS_KEY, client_digest)

    def data_to_send(self) -> bytes:
        """The bytes to write to the client now."""
        out = bytes(self._out)
        self._out.clear()
        return out


class ClientHandshake:
    """The client side: sends C0+C1 at once, reads S0+S1, sends C2, reads S2.

    :param digest: send a digest C1 (schema 0, as FFmpeg does) rather than a simple one.
    :param random_bytes: the random source, ``n -> n bytes``.
    :param time_ms: the time field put into C1.
    """

    def __init__(self, *, digest: bool = True, random_bytes: Callable[[int], bytes] = os.urandom,
                 time_ms: int = 0) -> None:
        self._random = random_bytes
        self._buf = bytearray()
        self._out = bytearray((RTMP_VERSION,))
        self._state = 0  # 0: want S0+S1; 1: want S2; 2: done
        self.digest = digest
        if digest:
            c1, self._c1_digest = make_digest_block(random_bytes, GENUINE_FP_KEY[:30], _CLIENT_VERSION, 0, time_ms)
        else:
            c1 = (time_ms & 0xFFFFFFFF).to_bytes(4, "big") + b"\x00\x00\x00\x00" + random_bytes(HANDSHAKE_SIZE - 8)
            self._c1_digest = b""
        self._out += c1
        #: Whether the server answered with a valid digest S1.
        self.server_digest: bool = False

    @property
    def done(self) -> bool:
        """Whether S2 has arrived; the chunk stream starts."""
        return self._state == 2

    def receive_data(self, data: bytes) -> bytes:
        """Consume handshake bytes; return whatever followed the handshake (chunk stream bytes)."""
        if self._state == 2:
            return bytes(data)
        self._buf += data
        if self._state == 0:
            if self._buf:
                _check_version(self._buf[0])
            if len(self._buf) < 1 + HANDSHAKE_SIZE:
                return b""
            s1 = bytes(self._buf[1 : 1 + HANDSHAKE_SIZE])
            del self._buf[: 1 + HANDSHAKE_SIZE]
            found = None
            if self.digest and s1[4:8] != b"\x00\x00\x00\x00":
                found = find_digest(s1, GENUINE_FMS_KEY[:36])
            if found is None:
                self._out += s1  # simple echo, as FFmpeg answers a simple server
            else:
                self.server_digest = True
                self._out += make_echo_block(self._random, GENUINE_FP_KEY, found[1])
            self._state = 1
        if len(self._buf) < HANDSHAKE_SIZE:
            return b""
        rest = bytes(self._buf[HANDSHAKE_SIZE:])  # S2 is not verified strictly
        self._buf = bytearray()
        self._state = 2
        return rest

    def data_to_send(self) -> bytes:
        """The bytes to write to the server now (C0+C1 at first, then C2)."""
        out = bytes(self._out)
        self._out.clear()
        return out

