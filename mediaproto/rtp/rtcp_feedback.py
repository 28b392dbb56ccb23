"""RTCP feedback messages: RTPFB (PT 205) and PSFB (PT 206) of RFC 4585 and RFC 5104.

- :class:`GenericNack` — RTPFB FMT 1 (RFC 4585 6.2.1): PID + BLP pairs.
- :class:`TransportWideFeedback` — RTPFB FMT 15 (draft-holmer-rmcat-transport-wide-cc-extensions-01).
- :class:`PictureLossIndication` — PSFB FMT 1 (RFC 4585 6.3.1).
- :class:`SliceLossIndication` — PSFB FMT 2 (RFC 4585 6.3.2).
- :class:`FullIntraRequest` — PSFB FMT 4 (RFC 5104 4.3.1).
- :class:`ReceiverEstimatedMaxBitrate` — PSFB FMT 15, "REMB" (draft-alvestrand-rmcat-remb-03).

Other FMT values come back from the compound parser as
:class:`~mediaproto.rtp.rtcp_base.RawRtcpPacket` (``count`` holds the FMT).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable, Sequence, Union

from ..errors import LocalProtocolError, ParseError
from .rtcp_base import PSFB, RTPFB, TWO_U32, RawRtcpPacket, check_u32, pad_body, rtcp_header, truncated

__all__ = [
    "GenericNack",
    "TransportWideFeedback",
    "PictureLossIndication",
    "SliceLossIndication",
    "FullIntraRequest",
    "ReceiverEstimatedMaxBitrate",
    "FeedbackPacket",
    "parse_rtpfb",
    "parse_psfb",
    "TWCC_NOT_RECEIVED",
    "TWCC_SMALL_DELTA",
    "TWCC_LARGE_DELTA",
]

_PAIR = struct.Struct(">HH")
_TWCC_HEAD = struct.Struct(">HHI")
_FIR_ENTRY = struct.Struct(">IB3x")
_I16 = struct.Struct(">h")
#: Offsets from the PID named by each value of the low and high byte of a BLP.
_BLP_LOW = [tuple(i + 1 for i in range(8) if b >> i & 1) for b in range(256)]
_BLP_HIGH = [tuple(i + 9 for i in range(8) if b >> i & 1) for b in range(256)]
_iter_pairs = _PAIR.iter_unpack
_unpack_two_u32 = TWO_U32.unpack_from
#: Parsers build their values with ``object.__new__`` and slot stores (cheaper than ``__init__``).
_new = object.__new__


def _ssrcs(sender_ssrc: int, media_ssrc: int) -> bytes:
    check_u32(sender_ssrc, "sender_ssrc")
    check_u32(media_ssrc, "media_ssrc")
    return TWO_U32.pack(sender_ssrc, media_ssrc)


def _check_ssrcs(start: int, end: int, what: str) -> None:
    if end - start < 8:
        raise truncated(what, start - 4)


@dataclass(slots=True)
class GenericNack:
    """Generic NACK (RFC 4585 6.2.1): each ``(pid, blp)`` pair names packet ``pid`` and, by the bits
    of ``blp``, the 16 packets after it.

    Use :meth:`from_lost` to build one from sequence numbers and :attr:`lost` to read them back.
    """

    sender_ssrc: int
    media_ssrc: int
    pairs: tuple[tuple[int, int], ...] = ()

    packet_type = RTPFB
    fmt = 1

    @property
    def lost(self) -> list[int]:
        """The sequence numbers asked for, in packet order, wrapping at 65536 (``pid`` 65535 with
        BLP bit 0 names packet 0)."""
        out: list[int] = []
        append = out.append
        for pid, blp in self.pairs:
            append(pid)
            if not blp:
                continue
            if pid < 0xFFF0:  # no wrap within this pair
                if blp & 0xFF:
                    for d in _BLP_LOW[blp & 0xFF]:
                        append(pid + d)
                if blp > 0xFF:
                    for d in _BLP_HIGH[blp >> 8]:
                        append(pid + d)
            else:
                for d in _BLP_LOW[blp & 0xFF] + _BLP_HIGH[blp >> 8]:
                    append((pid + d) & 0xFFFF)
        return out

    @classmethod
    def from_lost(cls, sender_ssrc: int, media_ssrc: int, lost: Iterable[int]) -> GenericNack:
        """Pack sequence numbers into as few PID+BLP pairs as their order allows. Numbers are
        taken in the order given (give them in serial order, see :func:`mediaproto.clock.serial_lt`);
        each one within 16 after the current PID goes into its BLP."""
        pairs: list[tuple[int, int]] = []
        pid = -1
        blp = 0
        for seq in lost:
            seq &= 0xFFFF
            if pid >= 0:
                d = (seq - pid) & 0xFFFF
                if 1 <= d <= 16:
                    blp |= 1 << (d - 1)
                    continue
                if d == 0:
                    continue
                pairs.append((pid, blp))
            pid, blp = seq, 0
        if pid >= 0:
            pairs.append((pid, blp))
        return cls(sender_ssrc, media_ssrc, tuple(pairs))

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int, fmt: int = 1) -> GenericNack:
        if end - start < 8:
            raise truncated("NACK", start - 4)
        nack = _new(cls)
        nack.sender_ssrc, nack.media_ssrc = _unpack_two_u32(data, start)
        fci = start + 8
        nack.pairs = tuple(_iter_pairs(data[fci : end - ((end - fci) & 3)]))
        return nack

    def serialize(self) -> bytes:
        """The packet's bytes."""
        try:
            fci = b"".join([_PAIR.pack(pid, blp) for pid, blp in self.pairs])
        except struct.error as exc:
            raise LocalProtocolError(f"NACK pair out of range: {exc}") from None
        body = _ssrcs(self.sender_ssrc, self.media_ssrc) + fci
        return rtcp_header(1, RTPFB, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


#: TWCC packet status symbols.
TWCC_NOT_RECEIVED, TWCC_SMALL_DELTA, TWCC_LARGE_DELTA = 0, 1, 2


def _chunk_symbols(chunk: int) -> list[int]:
    if chunk & 0x8000 == 0:  # run length chunk
        return [(chunk >> 13) & 3] * (chunk & 0x1FFF)
    if chunk & 0x4000 == 0:  # status vector, 14 one-bit symbols
        return [(chunk >> (13 - i)) & 1 for i in range(14)]
    return [(chunk >> (12 - 2 * i)) & 3 for i in range(7)]  # 7 two-bit symbols


@dataclass(slots=True)
class TransportWideFeedback:
    """Transport-wide congestion control feedback (RTPFB FMT 15,
    draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1).

    :param base_sequence_number: transport-wide sequence number of the first packet described.
    :param packet_status_count: how many packets are described.
    :param reference_time: 24 bits, in multiples of 64 ms.
    :param fb_pkt_count: 8-bit feedback packet counter.
    :param chunks: the packet chunks as their 16-bit values (run length or status vector).
    :param recv_deltas: one per received packet, in units of 250 µs (signed when large).

    :attr:`packet_statuses` decodes the chunks; :meth:`build` encodes statuses into chunks.

    Status 3 is reserved in the draft; old libwebrtc sent it for "received, no delta" (pion's test
    vectors have it), so it is accepted and carries no delta. libwebrtc also sets the P bit on
    packets whose last octet is not a padding count; the compound parser therefore reads a TWCC
    body up to the end of the packet and ignores the octets after the last delta.

    A parsed packet keeps how it was padded, so it is written back byte-exact: ``padding_bit``
    (the P bit as received) and ``tail`` (the octets after the last delta, padding included:
    libwebrtc's padding count, or the zero octets other senders put there without the P bit).
    Neither takes part in equality. A built packet (``padding_bit`` None) is padded as libwebrtc
    pads, with the P bit and a padding count.
    """

    sender_ssrc: int
    media_ssrc: int
    base_sequence_number: int
    packet_status_count: int
    reference_time: int
    fb_pkt_count: int
    chunks: tuple[int, ...] = ()
    recv_deltas: tuple[int, ...] = ()
    padding_bit: bool | None = field(default=None, compare=False)
    tail: bytes = field(default=b"", compare=False)

    packet_type = RTPFB
    fmt = 15

    @property
    def packet_statuses(self) -> list[int]:
        """One status per described packet (``TWCC_NOT_RECEIVED``, ``TWCC_SMALL_DELTA``,
        ``TWCC_LARGE_DELTA`` or 3, reserved)."""
        out: list[int] = []
        for chunk in self.chunks:
            out.extend(_chunk_symbols(chunk))
        return out[: self.packet_status_count]

    def received(self) -> list[tuple[int, int]]:
        """``(sequence number, arrival time in µs)`` of each received packet, the time counted from
        ``reference_time * 64 ms`` plus the running sum of deltas."""
        out = []
        t = self.reference_time * 64000
        deltas = iter(self.recv_deltas)
        for i, status in enumerate(self.packet_statuses):
            if status in (TWCC_SMALL_DELTA, TWCC_LARGE_DELTA):
                t += next(deltas, 0) * 250
                out.append(((self.base_sequence_number + i) & 0xFFFF, t))
        return out

    @classmethod
    def build(
        cls,
        sender_ssrc: int,
        media_ssrc: int,
        base_sequence_number: int,
        reference_time: int,
        fb_pkt_count: int,
        statuses: Sequence[int],
        recv_deltas: Sequence[int],
    ) -> TransportWideFeedback:
        """Encode ``statuses`` into chunks: run length chunks for runs of 7 or more equal
        statuses, one-bit status vectors (14 symbols) where no large delta is near, two-bit ones
        (7 symbols) otherwise."""
        chunks: list[int] = []
        n = len(statuses)
        i = 0
        while i < n:
            s = statuses[i]
            run = 1
            while i + run < n and statuses[i + run] == s and run < 0x1FFF:
                run += 1
            if run >= 7 or i + run == n:
                chunks.append((s << 13) | run)
                i += run
                continue
            window = statuses[i : i + 14]
            if len(window) == 14 and all(x <= 1 for x in window):
                chunk = 0x8000
                for k, x in enumerate(window):
                    chunk |= x << (13 - k)
                chunks.append(chunk)
                i += 14
            else:
                chunk = 0xC000
                for k, x in enumerate(statuses[i : i + 7]):
                    chunk |= x << (12 - 2 * k)
                chunks.append(chunk)
                i += 7
        return cls(sender_ssrc, media_ssrc, base_sequence_number, n, reference_time, fb_pkt_count,
                   tuple(chunks), tuple(recv_deltas))

    @classmethod
    def _parse(cls, data: bytes, start: int, end: int) -> TransportWideFeedback:
        if end - start < 16:
            raise truncated("TWCC feedback", start - 4)
        sender, media = TWO_U32.unpack_from(data, start)
        base, count, ref = _TWCC_HEAD.unpack_from(data, start + 8)
        pos = start + 16
        chunks = []
        # The chunks only, then a second pass over them for the deltas: never one symbol per
        # packet (a 2-byte run length chunk describes up to 8191 packets), so memory follows the
        # input's size, not what it claims.
        described = 0
        while described < count:
            if pos + 2 > end:
                raise truncated("TWCC packet chunks", pos)
            chunk = (data[pos] << 8) | data[pos + 1]
            chunks.append(chunk)
            if chunk & 0x8000 == 0:
                described += chunk & 0x1FFF
            else:
                described += 14 if chunk & 0x4000 == 0 else 7
            pos += 2
        deltas: list[int] = []
        left = count
        for chunk in chunks:
            if chunk & 0x8000 == 0:
                runs: Iterable[tuple[int, int]] = (((chunk >> 13) & 3, chunk & 0x1FFF),)
            else:
                runs = ((symbol, 1) for symbol in _chunk_symbols(chunk))
            for status, n in runs:
                n = min(n, left)
                left -= n
                if status == TWCC_SMALL_DELTA:
                    if pos + n > end:
                        raise truncated("TWCC receive deltas", max(pos, end))
                    deltas += data[pos:pos + n]
                    pos += n
                elif status == TWCC_LARGE_DELTA:
                    if pos + 2 * n > end:
                        raise truncated("TWCC receive deltas", pos + 2 * max(0, (end - pos) // 2))
                    deltas += struct.unpack_from(f">{n}h", data, pos)
                    pos += 2 * n
        return cls(sender, media, base, count, ref >> 8, ref & 0xFF, tuple(chunks), tuple(deltas),
                   bool(data[start - 4] & 0x20) if start >= 4 else None, data[pos:end])

    def serialize(self) -> bytes:
        """The packet's bytes, padded to a 32-bit word with the P bit as libwebrtc does."""
        statuses = self.packet_statuses
        if len(statuses) < self.packet_status_count:
            raise LocalProtocolError("TWCC chunks describe fewer packets than packet_status_count")
        try:
            parts = [
                _ssrcs(self.sender_ssrc, self.media_ssrc),
                _TWCC_HEAD.pack(self.base_sequence_number, self.packet_status_count,
                                ((self.reference_time & 0xFFFFFF) << 8) | self.fb_pkt_count),
                struct.pack(f">{len(self.chunks)}H", *self.chunks),
            ]
            deltas = iter(self.recv_deltas)
            for status in statuses:
                if status == TWCC_SMALL_DELTA:
                    parts.append(bytes((next(deltas),)))
                elif status == TWCC_LARGE_DELTA:
                    parts.append(_I16.pack(next(deltas)))
        except (struct.error, ValueError) as exc:
            raise LocalProtocolError(f"TWCC field out of range: {exc}") from None
        except StopIteration:
            raise LocalProtocolError("TWCC has fewer recv_deltas than received packets") from None
        if next(deltas, None) is not None:
            raise LocalProtocolError("TWCC has more recv_deltas than received packets")
        body = b"".join(parts)
        if self.padding_bit is not None and (len(body) + len(self.tail)) % 4 == 0:
            body += self.tail  # as received: the P bit and the octets after the last delta
            return rtcp_header(15, RTPFB, len(body), self.padding_bit) + body
        return pad_body(body, RTPFB, 15)

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class PictureLossIndication:
    """PLI (RFC 4585 6.3.1): ask ``media_ssrc`` for a keyframe. No FCI."""

    sender_ssrc: int
    media_ssrc: int

    packet_type = PSFB
    fmt = 1

    def serialize(self) -> bytes:
        """The packet's bytes."""
        return rtcp_header(1, PSFB, 8) + _ssrcs(self.sender_ssrc, self.media_ssrc)

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class SliceLossIndication:
    """SLI (RFC 4585 6.3.2): entries of ``(first, number, picture_id)`` (13, 13 and 6 bits)."""

    sender_ssrc: int
    media_ssrc: int
    entries: tuple[tuple[int, int, int], ...] = ()

    packet_type = PSFB
    fmt = 2

    def serialize(self) -> bytes:
        """The packet's bytes."""
        parts = [_ssrcs(self.sender_ssrc, self.media_ssrc)]
        for first, number, picture_id in self.entries:
            if not (0 <= first < 8192 and 0 <= number < 8192 and 0 <= picture_id < 64):
                raise LocalProtocolError(f"SLI entry out of range: {(first, number, picture_id)}")
            parts.append(((first << 19) | (number << 6) | picture_id).to_bytes(4, "big"))
        body = b"".join(parts)
        return rtcp_header(2, PSFB, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class FullIntraRequest:
    """FIR (RFC 5104 4.3.1): entries of ``(ssrc, seq_nr)``; ``media_ssrc`` is 0 by the RFC."""

    sender_ssrc: int
    media_ssrc: int = 0
    entries: tuple[tuple[int, int], ...] = ()

    packet_type = PSFB
    fmt = 4

    def serialize(self) -> bytes:
        """The packet's bytes."""
        try:
            fci = b"".join([_FIR_ENTRY.pack(ssrc, seq) for ssrc, seq in self.entries])
        except struct.error as exc:
            raise LocalProtocolError(f"FIR entry out of range: {exc}") from None
        body = _ssrcs(self.sender_ssrc, self.media_ssrc) + fci
        return rtcp_header(4, PSFB, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(slots=True)
class ReceiverEstimatedMaxBitrate:
    """REMB (PSFB FMT 15 with the "REMB" identifier, draft-alvestrand-rmcat-remb-03).

    The bitrate is ``br_mantissa << br_exp`` bits per second (:attr:`bitrate`); build from a
    bitrate with :meth:`from_bitrate`.
    """

    sender_ssrc: int
    br_exp: int
    br_mantissa: int
    ssrcs: tuple[int, ...] = ()
    media_ssrc: int = 0

    packet_type = PSFB
    fmt = 15

    @property
    def bitrate(self) -> int:
        """Bits per second."""
        return self.br_mantissa << self.br_exp

    @classmethod
    def from_bitrate(cls, sender_ssrc: int, bitrate: int, ssrcs: Sequence[int] = ()) -> ReceiverEstimatedMaxBitrate:
        """The smallest exponent whose 18-bit mantissa holds ``bitrate`` (rounded down)."""
        if bitrate < 0:
            raise LocalProtocolError(f"bitrate must not be negative, got {bitrate}")
        exp = max(0, bitrate.bit_length() - 18)
        if exp > 63:
            raise LocalProtocolError(f"bitrate {bitrate} does not fit REMB")
        return cls(sender_ssrc, exp, bitrate >> exp, tuple(ssrcs))

    def serialize(self) -> bytes:
        """The packet's bytes."""
        if not (0 <= self.br_exp < 64 and 0 <= self.br_mantissa < 1 << 18 and len(self.ssrcs) < 256):
            raise LocalProtocolError("REMB exponent, mantissa or SSRC count out of range")
        for s in self.ssrcs:
            check_u32(s, "REMB ssrc")
        body = b"".join([
            _ssrcs(self.sender_ssrc, self.media_ssrc),
            b"REMB",
            ((len(self.ssrcs) << 24) | (self.br_exp << 18) | self.br_mantissa).to_bytes(4, "big"),
            struct.pack(f">{len(self.ssrcs)}I", *self.ssrcs),
        ])
        return rtcp_header(15, PSFB, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.serialize()


_parse_nack = GenericNack._parse

#: Any RTPFB or PSFB message.
FeedbackPacket = Union[
    GenericNack,
    TransportWideFeedback,
    PictureLossIndication,
    SliceLossIndication,
    FullIntraRequest,
    ReceiverEstimatedMaxBitrate,
    RawRtcpPacket,
]


def parse_rtpfb(data: bytes, start: int, end: int, fmt: int) -> FeedbackPacket:
    """Decode an RTPFB body ``data[start:end]`` by its FMT (unknown FMT: raw)."""
    if fmt == 1:
        return _parse_nack(data, start, end)
    if fmt == 15:
        return TransportWideFeedback._parse(data, start, end)
    _check_ssrcs(start, end, "RTPFB")
    return RawRtcpPacket(RTPFB, fmt, data[start:end])


def parse_psfb(data: bytes, start: int, end: int, fmt: int) -> FeedbackPacket:
    """Decode a PSFB body ``data[start:end]`` by its FMT (unknown FMT or AFB other than REMB: raw)."""
    _check_ssrcs(start, end, "PSFB")
    sender, media = TWO_U32.unpack_from(data, start)
    fci = start + 8
    if fmt == 1:
        return PictureLossIndication(sender, media)
    if fmt == 2:
        n = (end - fci) >> 2
        words = struct.unpack_from(f">{n}I", data, fci)
        return SliceLossIndication(sender, media, tuple((w >> 19, (w >> 6) & 0x1FFF, w & 0x3F) for w in words))
    if fmt == 4:
        if (end - fci) % 8:
            raise ParseError("FIR entries are not whole 8-byte entries", offset=fci)
        entries = []
        for pos in range(fci, end - 7, 8):
            entries.append(_FIR_ENTRY.unpack_from(data, pos))
        return FullIntraRequest(sender, media, tuple(entries))
    if fmt == 15 and end - fci >= 8 and data[fci : fci + 4] == b"REMB":
        (word,) = struct.unpack_from(">I", data, fci + 4)
        num = word >> 24
        if fci + 8 + 4 * num > end:
            raise truncated("REMB SSRC list", fci + 4)
        ssrcs = struct.unpack_from(f">{num}I", data, fci + 8)
        return ReceiverEstimatedMaxBitrate(sender, (word >> 18) & 0x3F, word & 0x3FFFF, ssrcs, media)
    return RawRtcpPacket(PSFB, fmt, data[start:end])
