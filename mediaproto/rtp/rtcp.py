"""RTCP (RFC 3550 section 6): SR, RR, SDES, BYE, APP and compound packets.

Feedback messages (RFC 4585, RFC 5104, TWCC, REMB) live in :mod:`mediaproto.rtp.rtcp_feedback`,
extended reports (RFC 3611) in :mod:`mediaproto.rtp.rtcp_xr`; :func:`parse_compound` decodes all of
them and keeps every other packet type as a :class:`~mediaproto.rtp.rtcp_base.RawRtcpPacket`.

>>> sr = SenderReport(ssrc=0x1234, ntp_timestamp=0, rtp_timestamp=0, packet_count=0, octet_count=0)
>>> sdes = SourceDescription((SdesChunk(0x1234, ((SDES_CNAME, b"me@host"),)),))
>>> parse_compound(serialize_compound([sr, sdes])) == [sr, sdes]
True
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence, Union

from ..errors import LocalProtocolError, ParseError
from .rtcp_base import (
    APP,
    BYE,
    HEADER,
    PSFB,
    RR,
    RTPFB,
    SDES,
    SR,
    TWO_U32,
    U32,
    XR,
    RawRtcpPacket,
    check_header,
    check_u32,
    rtcp_header,
    truncated,
)
from .rtcp_feedback import FeedbackPacket, GenericNack, parse_psfb, parse_rtpfb
from .rtcp_xr import ExtendedReport

__all__ = [
    "ReportBlock",
    "SenderReport",
    "ReceiverReport",
    "SdesChunk",
    "SourceDescription",
    "Goodbye",
    "ApplicationDefined",
    "RtcpPacket",
    "parse_compound",
    "serialize_compound",
    "validate_compound",
    "SDES_END",
    "SDES_CNAME",
    "SDES_NAME",
    "SDES_EMAIL",
    "SDES_PHONE",
    "SDES_LOC",
    "SDES_TOOL",
    "SDES_NOTE",
    "SDES_PRIV",
]

_BLOCK = struct.Struct(">IIIIII")
_SENDER_INFO = struct.Struct(">IQIII")
_unpack_u32 = U32.unpack_from

#: SDES item types (RFC 3550 6.5).
SDES_END, SDES_CNAME, SDES_NAME, SDES_EMAIL, SDES_PHONE, SDES_LOC, SDES_TOOL, SDES_NOTE, SDES_PRIV = range(9)


@dataclass(slots=True)
class ReportBlock:
    """One reception report block (RFC 3550 6.4.1), about one source.

    :param ssrc: the source this block reports on (SSRC_n).
    :param fraction_lost: packets lost since the previous report, as a fraction of 256.
    :param packets_lost: cumulative number of packets lost (signed 24-bit: duplicates can make it
        negative).
    :param highest_sequence: extended highest sequence number received (cycles << 16 | seq).
    :param jitter: interarrival jitter, in RTP timestamp units.
    :param lsr: middle 32 bits of the NTP timestamp of the last SR from that source (0: none yet).
    :param dlsr: delay since that SR, in units of 1/65536 s.
    """

    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    def serialize(self) -> bytes:
        """The 24 bytes of the block."""
        if not 0 <= self.fraction_lost <= 255:
            raise LocalProtocolError(f"fraction_lost must be 0-255, got {self.fraction_lost}")
        if not -0x800000 <= self.packets_lost <= 0x7FFFFF:
            raise LocalProtocolError(f"packets_lost must fit signed 24 bits, got {self.packets_lost}")
        try:
            return _BLOCK.pack(
                self.ssrc,
                (self.fraction_lost << 24) | (self.packets_lost & 0xFFFFFF),
                self.highest_sequence,
                self.jitter,
                self.lsr,
                self.dlsr,
            )
        except struct.error as exc:
            raise LocalProtocolError(f"report block field out of range: {exc}") from None

    def __bytes__(self) -> bytes:
        return self.serialize()


#: A report block with fraction lost apart and the signed 24-bit cumulative loss as a signed 16
#: and an unsigned 8 (``high << 8 | low``); the SR fast path also reads the next packet's header.
_BLOCK_SPLIT = struct.Struct(">IBhBIIII").unpack_from
_unpack_sender_info = _SENDER_INFO.unpack_from
_SOURCES = [struct.Struct(f">{n}I").unpack_from for n in range(32)]
_SR_ONE_NEXT = struct.Struct(">IQIII" + "IBhB" + "IIII" + "HH").unpack_from
_SDES_ONE = struct.Struct(">IBB").unpack_from
_unpack_two_u32 = TWO_U32.unpack_from
_iter_pairs = struct.Struct(">HH").iter_unpack
_NACK_1, _NACK_2, _NACK_3 = (struct.Struct(">II" + "HH" * n).unpack_from for n in (1, 2, 3))
#: Parsers build their values with ``object.__new__`` and slot stores, which costs about 60% of
#: calling the dataclass ``__init__`` (CPython 3.11); the objects are the same, every field set.
_new = object.__new__


def _blocks(data: bytes, pos: int, count: int) -> tuple[ReportBlock, ...]:
    """``count`` report blocks from ``pos`` (the caller checked the length)."""
    new = _new
    if count == 1:
        block = new(ReportBlock)
        (block.ssrc, block.fraction_lost, lost_high, lost_low, block.highest_sequence, block.jitter, block.lsr,
         block.dlsr) = _BLOCK_SPLIT(data, pos)
        block.packets_lost = lost_high << 8 | lost_low  # signed 24 bits: a signed 16 and an 8
        return (block,)
    out = []
    for p in range(pos, pos + 24 * count, 24):
        block = new(ReportBlock)
        (block.ssrc, block.fraction_lost, lost_high, lost_low, block.highest_sequence, block.jitter, block.lsr,
         block.dlsr) = _BLOCK_SPLIT(data, p)
        block.packets_lost = lost_high << 8 | lost_low
        out.append(block)
    return tuple(out)


@dataclass(slots=True)
class SenderReport:
    """SR (RFC 3550 6.4.1): sender info plus reception report blocks.

    :param ntp_timestamp: the 64-bit NTP timestamp (see :func:`mediaproto.clock.unix_to_ntp`).
    :param rtp_timestamp: the RTP timestamp of the same instant.
    :param packet_count: the sender's packet count.
    :param octet_count: the sender's payload octet count.
    :param profile_extension: profile-specific words after the report blocks.
    """

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    profile_extension: bytes = b""

    packet_type = SR

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int) -> SenderReport:
        if end - start < 24 + 24 * count:
            raise truncated(f"SR with {count} report blocks", start - 4)
        sr = _new(cls)
        sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count, sr.octet_count = _unpack_sender_info(data, start)
        sr.reports = _blocks(data, start + 24, count) if count else ()
        sr.profile_extension = data[start + 24 + 24 * count : end]
        return sr

    def serialize(self) -> bytes:
        """The packet's bytes."""
        try:
            info = _SENDER_INFO.pack(self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count)
        except struct.error as exc:
            raise LocalProtocolError(f"SR field out of range: {exc}") from None
        body = b"".join([info, *(r.serialize() for r in self.reports), self.profile_extension])
        return rtcp_header(len(self.reports), SR, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class ReceiverReport:
    """RR (RFC 3550 6.4.2): the reporter's SSRC and its reception report blocks."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    profile_extension: bytes = b""

    packet_type = RR

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int) -> ReceiverReport:
        if end - start < 4 + 24 * count:
            raise truncated(f"RR with {count} report blocks", start - 4)
        rr = _new(cls)
        (rr.ssrc,) = _unpack_u32(data, start)
        rr.reports = _blocks(data, start + 4, count) if count else ()
        rr.profile_extension = data[start + 4 + 24 * count : end]
        return rr

    def serialize(self) -> bytes:
        """The packet's bytes."""
        check_u32(self.ssrc, "ssrc")
        body = b"".join([U32.pack(self.ssrc), *(r.serialize() for r in self.reports), self.profile_extension])
        return rtcp_header(len(self.reports), RR, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class SdesChunk:
    """The SDES items of one source: ``(item type, value)`` pairs (``SDES_CNAME`` ... ``SDES_PRIV``).

    Values are raw bytes (UTF-8 text by RFC 3550; a PRIV value keeps its prefix-length octet and
    prefix).
    """

    ssrc: int
    items: tuple[tuple[int, bytes], ...] = ()

    @property
    def cname(self) -> str | None:
        """The CNAME item as text (invalid UTF-8 replaced), or ``None``."""
        for kind, value in self.items:
            if kind == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None


@dataclass(slots=True)
class SourceDescription:
    """SDES (RFC 3550 6.5): one chunk per source."""

    chunks: tuple[SdesChunk, ...] = ()

    packet_type = SDES

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int, lenient: bool = False) -> SourceDescription:
        chunks = []
        pos = start
        for _ in range(count):
            if pos + 4 > end:
                raise truncated("SDES chunk", pos)
            chunk = _new(SdesChunk)
            (chunk.ssrc,) = _unpack_u32(data, pos)
            pos += 4
            items = []
            while pos < end:
                kind = data[pos]
                if not kind:  # SDES_END
                    pos += 4 - ((pos - start) & 3)
                    break
                value_end = pos + 2 + data[pos + 1] if pos + 1 < end else end + 1
                if value_end > end:
                    raise truncated("SDES item", pos)
                items.append((kind, data[pos + 2 : value_end]))
                pos = value_end
            else:
                if not lenient:  # QUIRKS: "SDES without the END item (some servers)"
                    raise ParseError("SDES chunk has no END item", offset=pos)
            chunk.items = tuple(items)
            chunks.append(chunk)
        if pos < end and any(data[pos:end]):
            raise ParseError(f"SDES has {end - pos} bytes after its {count} chunks", offset=pos)
        sdes = _new(cls)
        sdes.chunks = tuple(chunks)
        return sdes

    def serialize(self) -> bytes:
        """The packet's bytes (each chunk ends with END and null octets to a 32-bit boundary)."""
        parts = []
        for chunk in self.chunks:
            check_u32(chunk.ssrc, "SDES ssrc")
            items = [U32.pack(chunk.ssrc)]
            size = 4
            for kind, value in chunk.items:
                if not 1 <= kind <= 255 or len(value) > 255:
                    raise LocalProtocolError(f"SDES item type must be 1-255 and value at most 255 bytes, got {kind}")
                items.append(bytes((kind, len(value))))
                items.append(bytes(value))
                size += 2 + len(value)
            items.append(bytes(4 - (size & 3)))
            parts.append(b"".join(items))
        body = b"".join(parts)
        return rtcp_header(len(self.chunks), SDES, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class Goodbye:
    """BYE (RFC 3550 6.6): the sources leaving and an optional reason (UTF-8 text as bytes)."""

    sources: tuple[int, ...] = ()
    reason: bytes | None = None

    packet_type = BYE

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int) -> Goodbye:
        pos = start + 4 * count
        if pos > end:
            raise truncated(f"BYE with {count} sources", start - 4)
        sources = _SOURCES[count](data, start)
        reason = None
        if pos < end:
            length = data[pos]
            if pos + 1 + length > end:
                raise truncated("BYE reason", pos)
            reason = data[pos + 1 : pos + 1 + length]
        return cls(sources, reason)

    def serialize(self) -> bytes:
        """The packet's bytes (the reason null-padded to a 32-bit boundary)."""
        if len(self.sources) > 31:
            raise LocalProtocolError(f"a BYE carries at most 31 sources, got {len(self.sources)}")
        for s in self.sources:
            check_u32(s, "BYE source")
        body = struct.pack(f">{len(self.sources)}I", *self.sources)
        if self.reason is not None:
            if len(self.reason) > 255:
                raise LocalProtocolError("BYE reason longer than 255 bytes")
            text = bytes((len(self.reason),)) + bytes(self.reason)
            body += text + bytes(-len(text) % 4)
        return rtcp_header(len(self.sources), BYE, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class ApplicationDefined:
    """APP (RFC 3550 6.7).

    :param subtype: 5 bits.
    :param name: 4 ASCII characters, as bytes.
    :param data: application data, whole 32-bit words.
    """

    subtype: int
    ssrc: int
    name: bytes
    data: bytes = b""

    packet_type = APP

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, count: int) -> ApplicationDefined:
        if end - start < 8:
            raise truncated("APP", start - 4)
        (ssrc,) = U32.unpack_from(data, start)
        return cls(count, ssrc, data[start + 4 : start + 8], data[start + 8 : end])

    def serialize(self) -> bytes:
        """The packet's bytes."""
        if len(self.name) != 4:
            raise LocalProtocolError(f"APP name must be 4 bytes, got {self.name!r}")
        check_u32(self.ssrc, "APP ssrc")
        body = U32.pack(self.ssrc) + bytes(self.name) + bytes(self.data)
        return rtcp_header(self.subtype, APP, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


#: Any decoded RTCP packet.
RtcpPacket = Union[
    SenderReport,
    ReceiverReport,
    SourceDescription,
    Goodbye,
    ApplicationDefined,
    FeedbackPacket,
    ExtendedReport,
    RawRtcpPacket,
]

_Parser = Callable[[bytes, int, int, int], RtcpPacket]

_PARSERS: dict[int, _Parser] = {
    SR: SenderReport._parse,
    RR: ReceiverReport._parse,
    SDES: SourceDescription._parse,
    BYE: Goodbye._parse,
    APP: ApplicationDefined._parse,
    RTPFB: parse_rtpfb,
    PSFB: parse_psfb,
    XR: ExtendedReport._parse,
}


def _parse_sdes_lenient(data: bytes, start: int, end: int, count: int) -> SourceDescription:
    return SourceDescription._parse(data, start, end, count, True)


def _by_key(sdes: _Parser) -> dict[int, _Parser]:
    """Parsers by the first two header octets of a version 2 packet without padding (V, P, count
    and PT in one 16-bit key): one dictionary look-up finds the parser and rules out padding and
    other versions."""
    table: dict[int, _Parser] = {}
    for count in range(32):
        for packet_type, parser in _PARSERS.items():
            table[(0x80 | count) << 8 | packet_type] = parser
        table[0x8000 | count << 8 | SDES] = sdes
    table[0x8100 | RTPFB] = GenericNack._parse
    return table


_BY_KEY = _by_key(SourceDescription._parse)
_BY_KEY_LENIENT = _by_key(_parse_sdes_lenient)
_unpack_key = struct.Struct(">HH").unpack_from


def parse_compound(data: bytes, *, strict: bool = False, sdes_without_end: bool = False) -> list[RtcpPacket]:
    """Parse a compound RTCP packet (one datagram, or one interleaved frame) into its packets.

    Unknown packet types, and feedback messages of unknown FMT, come back as
    :class:`~mediaproto.rtp.rtcp_base.RawRtcpPacket`. Padding (P bit) is removed.

    :param strict: also apply the RFC 3550 A.2 checks (first packet SR or RR, padding only in the
        last packet, a CNAME present: see :func:`validate_compound`).
    :param sdes_without_end: accept an SDES chunk that ends without the END item (QUIRKS: some
        servers send it so).
    :raises ParseError: on a version other than 2, a length that overruns the datagram, invalid
        padding, or a malformed packet body.
    """
    total = len(data)
    if total < 4:
        raise ParseError(f"RTCP packet shorter than 4 bytes ({total})", offset=0)
    out: list[RtcpPacket] = []
    append = out.append
    new = _new
    pos = 0
    try:
        key, words = _unpack_key(data, 0)
        while True:
            start = pos + 4
            end = start + (words << 2)
            # The usual packets are decoded inline, each with one Struct call: SR with one report
            # block and no profile extension (the next packet's header read with it), SDES with
            # one chunk holding one item, generic NACK. Keys: V=2, P=0, count 1, then the PT.
            # Any other shape or type, padding, and every error go through _parse_one.
            if end > total:
                append(_parse_one(data, key, pos, start, end, strict, sdes_without_end))
            elif key == 0x81C8 and words == 12:  # SR, RC=1
                sr = new(SenderReport)
                if end + 4 <= total:  # another packet follows: read its header too
                    block = new(ReportBlock)
                    (sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count, sr.octet_count, block.ssrc,
                     block.fraction_lost, lost_high, lost_low, block.highest_sequence, block.jitter, block.lsr,
                     block.dlsr, key, words) = _SR_ONE_NEXT(data, start)
                    block.packets_lost = lost_high << 8 | lost_low  # signed 24 bits: a signed 16 and an 8
                    sr.reports = (block,)
                    sr.profile_extension = b""
                    append(sr)
                    pos = end
                    continue
                sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count, sr.octet_count = _unpack_sender_info(
                    data, start)
                sr.reports = _blocks(data, start + 24, 1)
                sr.profile_extension = b""
                append(sr)
            elif key == 0x81CA and words >= 2:  # SDES, SC=1
                ssrc, kind, length = _SDES_ONE(data, start)
                value_end = start + 6 + length
                if kind and 0 < end - value_end < 5 and not data[value_end]:  # END, then nulls to the word
                    chunk = new(SdesChunk)
                    chunk.ssrc = ssrc
                    chunk.items = ((kind, data[start + 6 : value_end]),)
                    sdes = new(SourceDescription)
                    sdes.chunks = (chunk,)
                    append(sdes)
                else:
                    append(_parse_one(data, key, pos, start, end, strict, sdes_without_end))
            elif key == 0x81CD and words >= 2:  # RTPFB, FMT=1
                nack = new(GenericNack)
                if words == 3:  # one to three PID+BLP pairs: one Struct each
                    nack.sender_ssrc, nack.media_ssrc, pid, blp = _NACK_1(data, start)
                    nack.pairs = ((pid, blp),)
                elif words == 4:
                    nack.sender_ssrc, nack.media_ssrc, pid, blp, pid2, blp2 = _NACK_2(data, start)
                    nack.pairs = ((pid, blp), (pid2, blp2))
                elif words == 5:
                    nack.sender_ssrc, nack.media_ssrc, pid, blp, pid2, blp2, pid3, blp3 = _NACK_3(data, start)
                    nack.pairs = ((pid, blp), (pid2, blp2), (pid3, blp3))
                else:
                    nack.sender_ssrc, nack.media_ssrc = _unpack_two_u32(data, start)
                    nack.pairs = tuple(_iter_pairs(data[start + 8 : end]))
                append(nack)
            else:
                append(_parse_one(data, key, pos, start, end, strict, sdes_without_end))
            if end == total:
                break
            pos = end
            key, words = _unpack_key(data, pos)
    except struct.error:
        raise ParseError("RTCP packet truncated", offset=pos) from None
    if strict:
        validate_compound(out)
    return out


def _parse_one(data: bytes, key: int, pos: int, start: int, end: int, strict: bool, lenient: bool) -> RtcpPacket:
    """Any packet: the common header's checks, padding removed, then its type's parser."""
    by_key = _BY_KEY_LENIENT if lenient else _BY_KEY
    total = len(data)
    if end <= total:
        parser = by_key.get(key)
        if parser is not None:  # version 2, no padding, fits
            return parser(data, start, end, key >> 8 & 0x1F)
        if key & 0xE000 == 0x8000:  # an unknown type
            return RawRtcpPacket(key & 0xFF, key >> 8 & 0x1F, data[start:end])
    body_end = check_header(data, key >> 8, key & 0xFF, pos, start, end, strict)
    parser = by_key.get(key & 0xDFFF)  # the same type without the P bit
    if parser is None:
        return RawRtcpPacket(key & 0xFF, key >> 8 & 0x1F, data[start:body_end])
    return parser(data, start, body_end, key >> 8 & 0x1F)


def serialize_compound(packets: Iterable[RtcpPacket]) -> bytes:
    """The bytes of a compound packet: each packet's bytes, one after the other."""
    return b"".join([p.serialize() for p in packets])


def validate_compound(packets: Sequence[RtcpPacket], *, require_cname: bool = True) -> None:
    """Check the RFC 3550 rules for a compound packet (section 6.1, the A.2 validity checks that
    survive parsing): it is not empty, it starts with an SR or RR, and (unless ``require_cname`` is
    false, e.g. for RFC 5506 reduced-size RTCP) it holds an SDES with a CNAME item.

    The byte-level checks of A.2 (version, padding only on the last packet, lengths adding up to
    the datagram) are made by :func:`parse_compound` with ``strict=True``.

    :raises ParseError: naming the first rule broken.
    """
    if not packets:
        raise ParseError("empty compound RTCP packet")
    if not isinstance(packets[0], (SenderReport, ReceiverReport)):
        raise ParseError(f"compound RTCP must start with SR or RR, not {type(packets[0]).__name__}")
    if require_cname:
        for p in packets:
            if isinstance(p, SourceDescription) and any(c.cname is not None for c in p.chunks):
                return
        raise ParseError("compound RTCP has no SDES CNAME")
