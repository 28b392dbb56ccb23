"""RTCP extended reports, XR (RFC 3611): the RRTR and DLRR blocks decoded, other blocks raw.

::

    XR:     header (PT 207) | SSRC | report blocks...
    block:  BT (8) | type-specific (8) | block length (16, 32-bit words minus one) | contents

RRTR (BT 4) lets a receiver-only endpoint send an NTP timestamp; DLRR (BT 5) answers it with
``(ssrc, last_rr, delay_since_last_rr)`` sub-blocks, so that both ends can compute a round-trip time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Union

from ..errors import LocalProtocolError, ParseError
from .rtcp_base import XR, U32, check_u32, rtcp_header, truncated

__all__ = [
    "ReceiverReferenceTime",
    "DlrrItem",
    "DelaySinceLastRr",
    "RawXrBlock",
    "XrBlock",
    "ExtendedReport",
    "XR_RRTR",
    "XR_DLRR",
]

#: XR block types decoded here.
XR_RRTR, XR_DLRR = 4, 5

_BLOCK_HEADER = struct.Struct(">BBH")
_NTP = struct.Struct(">Q")
_DLRR_ITEM = struct.Struct(">III")


@dataclass(slots=True)
class ReceiverReferenceTime:
    """Receiver Reference Time block (RFC 3611 4.4): a 64-bit NTP timestamp."""

    ntp_timestamp: int

    block_type = XR_RRTR

    def serialize(self) -> bytes:
        """The block's 12 bytes."""
        if not 0 <= self.ntp_timestamp < 1 << 64:
            raise LocalProtocolError("RRTR ntp_timestamp must fit 64 bits")
        return _BLOCK_HEADER.pack(XR_RRTR, 0, 2) + _NTP.pack(self.ntp_timestamp)


@dataclass(slots=True)
class DlrrItem:
    """One DLRR sub-block: ``last_rr`` is the compact NTP time of the RRTR received from ``ssrc``,
    ``delay_since_last_rr`` the delay since, in 1/65536 s."""

    ssrc: int
    last_rr: int
    delay_since_last_rr: int


@dataclass(slots=True)
class DelaySinceLastRr:
    """DLRR block (RFC 3611 4.5)."""

    items: tuple[DlrrItem, ...] = ()

    block_type = XR_DLRR

    def serialize(self) -> bytes:
        """The block's bytes."""
        try:
            subs = b"".join([_DLRR_ITEM.pack(i.ssrc, i.last_rr, i.delay_since_last_rr) for i in self.items])
        except struct.error as exc:
            raise LocalProtocolError(f"DLRR field out of range: {exc}") from None
        if len(self.items) * 3 > 0xFFFF:
            raise LocalProtocolError("too many DLRR sub-blocks")
        return _BLOCK_HEADER.pack(XR_DLRR, 0, 3 * len(self.items)) + subs


@dataclass(slots=True)
class RawXrBlock:
    """An XR block kept as it came (every type but RRTR and DLRR)."""

    block_type: int
    type_specific: int
    contents: bytes = b""

    def serialize(self) -> bytes:
        """The block's bytes (``contents`` must be whole 32-bit words)."""
        if len(self.contents) % 4 or not 0 <= self.block_type <= 255 or not 0 <= self.type_specific <= 255:
            raise LocalProtocolError("XR block contents must be whole words, type fields 0-255")
        return _BLOCK_HEADER.pack(self.block_type, self.type_specific, len(self.contents) >> 2) + bytes(self.contents)


#: Any XR report block.
XrBlock = Union[ReceiverReferenceTime, DelaySinceLastRr, RawXrBlock]


@dataclass(slots=True)
class ExtendedReport:
    """XR packet (RFC 3611 2): the reporter's SSRC and its report blocks."""

    ssrc: int
    blocks: tuple[XrBlock, ...] = ()

    packet_type = XR

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int) -> ExtendedReport:
        if end - start < 4:
            raise truncated("XR", start - 4)
        (ssrc,) = U32.unpack_from(data, start)
        pos = start + 4
        blocks: list[XrBlock] = []
        while pos < end:
            if pos + 4 > end:
                raise truncated("XR block header", pos)
            bt, specific, words = _BLOCK_HEADER.unpack_from(data, pos)
            body = pos + 4
            block_end = body + 4 * words
            if block_end > end:
                raise truncated(f"XR block type {bt}", pos)
            if bt == XR_RRTR:
                if words != 2:
                    raise ParseError(f"RRTR block length {words}, expected 2", offset=pos)
                blocks.append(ReceiverReferenceTime(_NTP.unpack_from(data, body)[0]))
            elif bt == XR_DLRR:
                if words % 3:
                    raise ParseError(f"DLRR block length {words} is not a multiple of 3", offset=pos)
                blocks.append(DelaySinceLastRr(tuple(
                    DlrrItem(*_DLRR_ITEM.unpack_from(data, p)) for p in range(body, block_end, 12)
                )))
            else:
                blocks.append(RawXrBlock(bt, specific, data[body:block_end]))
            pos = block_end
        return cls(ssrc, tuple(blocks))

    def serialize(self) -> bytes:
        """The packet's bytes."""
        check_u32(self.ssrc, "XR ssrc")
        body = U32.pack(self.ssrc) + b"".join([b.serialize() for b in self.blocks])
        return rtcp_header(0, XR, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()
