"""H.264 / AVC (ITU-T H.264) bitstream helpers: NAL framing.

Annex B byte streams (start codes) and AVCC length-prefixed NAL units, both converted to and from
the neutral form of :class:`~mediaproto.media.Frame`: a tuple of NAL units without start codes or
length prefixes.
"""

from __future__ import annotations

from ..errors import ParseError

__all__ = ["START_CODE", "split_annexb", "join_annexb", "split_avcc", "join_avcc", "nal_type"]

#: The 4-byte start code written before every NAL unit by :func:`join_annexb`.
START_CODE = b"\x00\x00\x00\x01"


def split_annexb(data: bytes | bytearray | memoryview) -> list[bytes]:
    """Split an Annex B byte stream into NAL units without start codes.

    Accepts 3- and 4-byte start codes (and any run of leading zero bytes), strips the trailing zero
    bytes before each start code, and skips empty units. Linear in the input size. Raises
    :class:`~mediaproto.errors.ParseError` when there is no start code, or non-zero bytes before the
    first one.
    """
    raw = bytes(data)
    pos = raw.find(b"\x00\x00\x01")
    if pos < 0:
        raise ParseError("no Annex B start code", offset=0)
    if raw[:pos].strip(b"\x00"):
        raise ParseError("bytes before the first Annex B start code", offset=0)
    nals: list[bytes] = []
    start = pos + 3
    find = raw.find
    while True:
        nxt = find(b"\x00\x00\x01", start)
        nal = raw[start:nxt if nxt >= 0 else len(raw)].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        if nxt < 0:
            return nals
        start = nxt + 3


def join_annexb(nals: tuple[bytes, ...] | list[bytes]) -> bytes:
    """Join NAL units into an Annex B byte stream with 4-byte start codes."""
    if not nals:
        return b""
    return START_CODE + START_CODE.join(nals)


def split_avcc(data: bytes | bytearray | memoryview, length_size: int = 4) -> list[bytes]:
    """Split length-prefixed NAL units (AVCC, as in FLV/RTMP and MP4) with ``length_size``-byte
    big-endian lengths (1, 2 or 4). Raises :class:`~mediaproto.errors.ParseError` on a length that
    runs past the end."""
    if length_size not in (1, 2, 4):
        raise ParseError(f"NAL length size must be 1, 2 or 4, not {length_size}")
    raw = bytes(data)
    end = len(raw)
    nals: list[bytes] = []
    pos = 0
    while pos < end:
        if pos + length_size > end:
            raise ParseError("truncated NAL unit length", offset=pos)
        n = int.from_bytes(raw[pos:pos + length_size], "big")
        pos += length_size
        if pos + n > end:
            raise ParseError(f"NAL unit of {n} bytes runs past the end", offset=pos - length_size)
        nals.append(raw[pos:pos + n])
        pos += n
    return nals


def join_avcc(nals: tuple[bytes, ...] | list[bytes], length_size: int = 4) -> bytes:
    """Join NAL units with ``length_size``-byte big-endian length prefixes."""
    return b"".join([b for nal in nals for b in (len(nal).to_bytes(length_size, "big"), nal)])


def nal_type(nal: bytes) -> int:
    """The ``nal_unit_type`` (5 bits) of an H.264 NAL unit."""
    if not nal:
        raise ParseError("empty NAL unit")
    return nal[0] & 0x1F
