"""Transport stream packets (ISO/IEC 13818-1 section 2.4.3.2) and their adaptation field (2.4.3.4).

A packet is 188 bytes: the 4-byte header (``sync_byte`` 0x47, ``transport_error_indicator``,
``payload_unit_start_indicator``, ``transport_priority``, the 13-bit ``PID``,
``transport_scrambling_control``, ``adaptation_field_control`` and the 4-bit
``continuity_counter``), an optional adaptation field and an optional payload.

:class:`TsPacket` and :class:`AdaptationField` parse and build every field. Building fills the
packet to 188 bytes with adaptation-field stuffing, so :attr:`AdaptationField.stuffing` is what
parsing found, not an input. The program clock references are kept in 27 MHz units
(``base * 300 + extension``); a non-canonical extension of 300 or more is normalised on rebuild.

The demuxer does not build these objects per packet (see :mod:`mediaproto.mpegts.demux`); they are
the exact, readable layer for tools, tests and the muxer's cold paths.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError

__all__ = [
    "PACKET_SIZE",
    "SYNC_BYTE",
    "NULL_PID",
    "PCR_HZ",
    "AdaptationFieldExtension",
    "AdaptationField",
    "TsPacket",
    "encode_pcr",
    "decode_pcr",
]

PACKET_SIZE = 188
SYNC_BYTE = 0x47
#: The PID of null packets.
NULL_PID = 0x1FFF
#: The PCR clock: 27 MHz (300 x the 90 kHz system clock base).
PCR_HZ = 27_000_000

_HEADER = struct.Struct(">BHB")


def encode_pcr(pcr: int) -> bytes:
    """The 6 bytes of a PCR/OPCR field for ``pcr`` in 27 MHz units (taken modulo 2**33 * 300)."""
    base, ext = divmod(pcr % ((1 << 33) * 300), 300)
    return ((base << 15) | 0x7E00 | ext).to_bytes(6, "big")


def decode_pcr(data: bytes | memoryview, offset: int = 0) -> int:
    """The PCR/OPCR in 27 MHz units from the 6 bytes at ``offset``."""
    v = int.from_bytes(data[offset:offset + 6], "big")
    return (v >> 15) * 300 + (v & 0x1FF)


@dataclass(frozen=True, slots=True)
class AdaptationFieldExtension:
    """The ``adaptation_field_extension`` (ISO/IEC 13818-1 2.4.3.4).

    :param ltw_offset: ``ltw_offset`` when ``ltw_flag`` is set, else ``None``.
    :param ltw_valid_flag: ``ltw_valid_flag`` (meaningful with ``ltw_offset``).
    :param piecewise_rate: the 22-bit ``piecewise_rate`` when ``piecewise_rate_flag`` is set.
    :param splice_type: the 4-bit ``splice_type`` when ``seamless_splice_flag`` is set.
    :param dts_next_au: the 33-bit ``DTS_next_AU`` when ``seamless_splice_flag`` is set.
    :param af_descriptor_not_present_flag: the 2013 flag (bit 4 of the flags byte).
    :param reserved: any bytes after the known fields (descriptors, reserved), kept as they are.
    """

    ltw_offset: int | None = None
    ltw_valid_flag: bool = False
    piecewise_rate: int | None = None
    splice_type: int | None = None
    dts_next_au: int | None = None
    af_descriptor_not_present_flag: bool = True
    reserved: bytes = b""

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> AdaptationFieldExtension:
        """Parse the extension's bytes after its length byte; ``offset`` is for error messages."""
        if not data:
            raise ParseError("empty adaptation field extension", offset=offset)
        flags = data[0]
        pos = 1
        ltw_offset = piecewise_rate = splice_type = dts_next_au = None
        ltw_valid = False
        try:
            if flags & 0x80:
                if pos + 2 > len(data):
                    raise IndexError
                v = int.from_bytes(data[pos:pos + 2], "big")
                ltw_valid = bool(v & 0x8000)
                ltw_offset = v & 0x7FFF
                pos += 2
            if flags & 0x40:
                if pos + 3 > len(data):
                    raise IndexError
                piecewise_rate = int.from_bytes(data[pos:pos + 3], "big") & 0x3FFFFF
                pos += 3
            if flags & 0x20:
                if pos + 5 > len(data):
                    raise IndexError
                splice_type = data[pos] >> 4
                dts_next_au = decode_timestamp(data, pos)
                pos += 5
        except IndexError:
            raise ParseError("adaptation field extension too short for its flags", offset=offset) from None
        return cls(ltw_offset, ltw_valid, piecewise_rate, splice_type, dts_next_au, bool(flags & 0x10),
                   bytes(data[pos:]))

    def to_bytes(self) -> bytes:
        """The extension including its leading ``adaptation_field_extension_length`` byte."""
        flags = 0x1F if self.af_descriptor_not_present_flag else 0x0F
        out = bytearray(1)
        if self.ltw_offset is not None:
            flags |= 0x80
            out += ((0x8000 if self.ltw_valid_flag else 0) | (self.ltw_offset & 0x7FFF)).to_bytes(2, "big")
        if self.piecewise_rate is not None:
            flags |= 0x40
            out += (0xC00000 | (self.piecewise_rate & 0x3FFFFF)).to_bytes(3, "big")
        if self.splice_type is not None or self.dts_next_au is not None:
            flags |= 0x20
            out += encode_timestamp((self.splice_type or 0) & 0xF, self.dts_next_au or 0)
        out[0] = flags
        out += self.reserved
        return bytes([len(out)]) + bytes(out)


def encode_timestamp(prefix: int, ts: int) -> bytes:
    """The 5-byte, marker-bit-interleaved form of a 33-bit timestamp with a 4-bit ``prefix``
    (``'0010'`` for a lone PTS, ``'0011'``/``'0001'`` for PTS/DTS pairs; the splice type in a
    ``DTS_next_AU``). ``ts`` is taken modulo 2**33."""
    ts &= 0x1FFFFFFFF
    return bytes((
        (prefix << 4) | ((ts >> 29) & 0x0E) | 1,
        (ts >> 22) & 0xFF,
        ((ts >> 14) & 0xFE) | 1,
        (ts >> 7) & 0xFF,
        ((ts << 1) & 0xFE) | 1,
    ))


def decode_timestamp(data: bytes | memoryview, offset: int = 0) -> int:
    """The 33-bit timestamp in the 5 bytes at ``offset`` (marker bits are not checked)."""
    b0, b1, b2, b3, b4 = data[offset:offset + 5]
    return ((b0 & 0x0E) << 29) | (b1 << 22) | ((b2 & 0xFE) << 14) | (b3 << 7) | (b4 >> 1)


@dataclass(frozen=True, slots=True)
class AdaptationField:
    """The adaptation field of a TS packet (ISO/IEC 13818-1 2.4.3.4).

    :param discontinuity_indicator: a system time-base or continuity-counter discontinuity.
    :param random_access_indicator: the next PES starts a random access point (a keyframe).
    :param elementary_stream_priority_indicator: the payload has a higher priority.
    :param pcr: ``program_clock_reference`` in 27 MHz units, or ``None``.
    :param opcr: ``original_program_clock_reference`` in 27 MHz units, or ``None``.
    :param splice_countdown: the signed 8-bit ``splice_countdown``, or ``None``.
    :param transport_private_data: the ``private_data_byte`` s, or ``None``.
    :param extension: the ``adaptation_field_extension``, or ``None``.
    :param stuffing: stuffing bytes found when parsing (building computes its own).
    :param empty: a zero-length field (only the length byte), as parsed; building writes one
        whenever the packet has exactly one byte to fill and no flag is set.
    """

    discontinuity_indicator: bool = False
    random_access_indicator: bool = False
    elementary_stream_priority_indicator: bool = False
    pcr: int | None = None
    opcr: int | None = None
    splice_countdown: int | None = None
    transport_private_data: bytes | None = None
    extension: AdaptationFieldExtension | None = None
    stuffing: int = 0
    empty: bool = False

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> AdaptationField:
        """Parse the field's bytes *after* its length byte (``adaptation_field_length`` bytes)."""
        n = len(data)
        if n == 0:
            return cls(empty=True)
        flags = data[0]
        pos = 1
        pcr = opcr = splice = None
        private = None
        ext = None
        if flags & 0x10:
            if pos + 6 > n:
                raise ParseError("adaptation field too short for its PCR", offset=offset + pos)
            pcr = decode_pcr(data, pos)
            pos += 6
        if flags & 0x08:
            if pos + 6 > n:
                raise ParseError("adaptation field too short for its OPCR", offset=offset + pos)
            opcr = decode_pcr(data, pos)
            pos += 6
        if flags & 0x04:
            if pos + 1 > n:
                raise ParseError("adaptation field too short for splice_countdown", offset=offset + pos)
            splice = data[pos] - 256 if data[pos] & 0x80 else data[pos]
            pos += 1
        if flags & 0x02:
            if pos + 1 > n or pos + 1 + data[pos] > n:
                raise ParseError("transport private data runs past the adaptation field", offset=offset + pos)
            length = data[pos]
            private = bytes(data[pos + 1:pos + 1 + length])
            pos += 1 + length
        if flags & 0x01:
            if pos + 1 > n or pos + 1 + data[pos] > n:
                raise ParseError("adaptation field extension runs past the field", offset=offset + pos)
            length = data[pos]
            ext = AdaptationFieldExtension.parse(bytes(data[pos + 1:pos + 1 + length]), offset + pos + 1)
            pos += 1 + length
        return cls(bool(flags & 0x80), bool(flags & 0x40), bool(flags & 0x20), pcr, opcr, splice, private,
                   ext, n - pos)

    def body(self) -> bytes:
        """The flags byte and optional fields, without length byte or stuffing."""
        flags = ((0x80 if self.discontinuity_indicator else 0) | (0x40 if self.random_access_indicator else 0)
                 | (0x20 if self.elementary_stream_priority_indicator else 0))
        parts = [b""]
        if self.pcr is not None:
            flags |= 0x10
            parts.append(encode_pcr(self.pcr))
        if self.opcr is not None:
            flags |= 0x08
            parts.append(encode_pcr(self.opcr))
        if self.splice_countdown is not None:
            flags |= 0x04
            parts.append(bytes([self.splice_countdown & 0xFF]))
        if self.transport_private_data is not None:
            flags |= 0x02
            parts.append(bytes([len(self.transport_private_data)]) + self.transport_private_data)
        if self.extension is not None:
            flags |= 0x01
            parts.append(self.extension.to_bytes())
        parts[0] = bytes([flags])
        return b"".join(parts)

    def to_bytes(self, size: int) -> bytes:
        """The whole field, length byte included, stuffed with 0xFF to exactly ``size`` bytes."""
        if size == 1 and self.body() == b"\x00":
            return b"\x00"
        body = self.body()
        if len(body) + 1 > size:
            raise LocalProtocolError(f"adaptation field needs {len(body) + 1} bytes, only {size} left")
        return bytes([size - 1]) + body + b"\xff" * (size - 1 - len(body))


@dataclass(frozen=True, slots=True)
class TsPacket:
    """One 188-byte transport stream packet.

    ``adaptation_field_control`` is derived: ``1`` payload only, ``2`` adaptation field only, ``3``
    both. A packet with a payload shorter than 184 bytes gets an adaptation field for stuffing.
    """

    pid: int
    payload: bytes = b""
    payload_unit_start_indicator: bool = False
    continuity_counter: int = 0
    transport_error_indicator: bool = False
    transport_priority: bool = False
    transport_scrambling_control: int = 0
    adaptation_field: AdaptationField | None = None

    @property
    def adaptation_field_control(self) -> int:
        """The 2-bit field as :meth:`to_bytes` writes it."""
        has_af = self.adaptation_field is not None or len(self.payload) < 184
        return (2 if has_af else 0) | (1 if self.payload else 0)

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> TsPacket:
        """Parse one packet from the first 188 bytes of ``data``."""
        raw = bytes(data[:PACKET_SIZE])
        if len(raw) < PACKET_SIZE:
            raise ParseError(f"TS packet needs 188 bytes, got {len(raw)}", offset=offset)
        sync, pid_word, last = _HEADER.unpack_from(raw)
        if sync != SYNC_BYTE:
            raise ParseError(f"sync byte 0x{sync:02x}, expected 0x47", offset=offset)
        afc = (last >> 4) & 3
        if afc == 0:
            raise ParseError("reserved adaptation_field_control 0", offset=offset + 3)
        pos = 4
        af = None
        if afc & 2:
            length = raw[4]
            limit = 183 if afc == 2 else 182
            if length > limit:
                raise ParseError(f"adaptation_field_length {length} exceeds {limit}", offset=offset + 4)
            af = AdaptationField.parse(raw[5:5 + length], offset + 5)
            pos = 5 + length
        payload = raw[pos:] if afc & 1 else b""
        return cls(pid_word & 0x1FFF, payload, bool(pid_word & 0x4000), last & 0x0F, bool(pid_word & 0x8000),
                   bool(pid_word & 0x2000), last >> 6, af)

    def to_bytes(self) -> bytes:
        """The 188 bytes of the packet."""
        payload = self.payload
        if len(payload) > 184:
            raise LocalProtocolError(f"TS payload of {len(payload)} bytes exceeds 184")
        if not (0 <= self.pid <= 0x1FFF):
            raise LocalProtocolError(f"PID {self.pid} out of range")
        room = 184 - len(payload)
        af = self.adaptation_field
        af_bytes = b""
        if af is not None or room:
            af_bytes = (af or AdaptationField()).to_bytes(room)
        afc = (2 if af_bytes else 0) | (1 if payload else 0)
        header = _HEADER.pack(
            SYNC_BYTE,
            (0x8000 if self.transport_error_indicator else 0) | (0x4000 if self.payload_unit_start_indicator else 0)
            | (0x2000 if self.transport_priority else 0) | self.pid,
            ((self.transport_scrambling_control & 3) << 6) | (afc << 4) | (self.continuity_counter & 0x0F),
        )
        return header + af_bytes + payload

    def __bytes__(self) -> bytes:
        return self.to_bytes()
