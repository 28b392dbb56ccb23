"""What every RTCP packet shares (RFC 3550 6.4): the common header and the raw form of packets
this library does not decode.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|  count  |      PT       |             length            |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

``length`` counts 32-bit words minus one. ``count`` is the report count, source count, item count,
APP subtype or feedback message type (FMT), depending on the packet type.

Every packet class has ``packet_type`` (a class constant), ``serialize()`` / ``bytes(packet)`` and
a ``_parse(data, start, end, count)`` class method that the compound parser calls with the packet's
body (after the header, padding removed) as ``data[start:end]``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ..errors import LocalProtocolError, ParseError

__all__ = [
    "SR",
    "RR",
    "SDES",
    "BYE",
    "APP",
    "RTPFB",
    "PSFB",
    "XR",
    "RawRtcpPacket",
    "rtcp_header",
    "pad_body",
]

#: RTCP packet types (RFC 3550, RFC 4585, RFC 3611).
SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR = 200, 201, 202, 203, 204, 205, 206, 207

HEADER = struct.Struct(">BBH")
U32 = struct.Struct(">I")
TWO_U32 = struct.Struct(">II")


def rtcp_header(count: int, packet_type: int, body_length: int, padding: int = 0) -> bytes:
    """The 4-byte common header for a body of ``body_length`` bytes (a multiple of 4, padding
    included); ``padding`` non-zero sets the P bit."""
    if not 0 <= count <= 31:
        raise LocalProtocolError(f"RTCP count must be 0-31, got {count}")
    if body_length % 4:
        raise LocalProtocolError(f"RTCP body must be whole 32-bit words, got {body_length} bytes")
    words = body_length >> 2
    if words > 0xFFFF:
        raise LocalProtocolError(f"RTCP packet too long ({body_length} bytes)")
    return HEADER.pack(0xA0 | count if padding else 0x80 | count, packet_type, words)


def pad_body(body: bytes, packet_type: int, count: int) -> bytes:
    """Header + ``body`` padded to a 32-bit word with the RTCP padding mechanism (P bit, the last
    octet counts the padding) when it is not word-aligned."""
    pad = -len(body) % 4
    if pad:
        body += bytes(pad - 1) + bytes((pad,))
    return rtcp_header(count, packet_type, len(body), pad) + body


def check_u32(value: int, name: str) -> None:
    """Raise :class:`LocalProtocolError` unless ``value`` fits 32 unsigned bits."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise LocalProtocolError(f"{name} must fit 32 bits, got {value}")


@dataclass(slots=True)
class RawRtcpPacket:
    """An RTCP packet kept as it came: an unknown packet type, or a feedback message type (FMT)
    this library does not decode. Nothing is dropped silently.

    :param packet_type: PT.
    :param count: the 5-bit count/FMT/subtype field.
    :param body: everything after the common header, padding removed.
    """

    packet_type: int
    count: int
    body: bytes = b""

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int, packet_type: int) -> RawRtcpPacket:
        return cls(packet_type, count, data[start:end])

    def serialize(self) -> bytes:
        """Header + body (padded with the P bit when the body is not word-aligned)."""
        if not 0 <= self.packet_type <= 255:
            raise LocalProtocolError(f"RTCP packet type must be 0-255, got {self.packet_type}")
        return pad_body(bytes(self.body), self.packet_type, self.count)

    def __bytes__(self) -> bytes:
        return self.serialize()


def truncated(what: str, offset: int) -> ParseError:
    """The error for a body too short for what it says it holds."""
    return ParseError(f"RTCP {what} truncated", offset=offset)


def check_header(data: bytes, b0: int, packet_type: int, pos: int, start: int, end: int, strict: bool) -> int:
    """The slow path of the common header: errors, and the body end once padding is removed."""
    if b0 & 0xC0 != 0x80:
        raise ParseError(f"RTCP version {b0 >> 6}, expected 2", offset=pos)
    total = len(data)
    if end > total:
        raise ParseError(f"RTCP packet of {(end - start) >> 2} words overruns the datagram", offset=pos)
    if packet_type == RTPFB and b0 & 0x1F == 15:  # TWCC reads to the end: see its class
        return end
    pad = data[end - 1] if end > start else 0
    if pad == 0 or pad > end - start:
        raise ParseError(f"RTCP padding count {pad} invalid", offset=end - 1)
    if strict and end != total:
        raise ParseError("RTCP padding bit set on a packet that is not the last", offset=pos)
    return end - pad
