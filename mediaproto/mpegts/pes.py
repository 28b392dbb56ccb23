"""PES packets (ISO/IEC 13818-1 section 2.4.3.6): the header that carries stream id, PTS and DTS.

:class:`PesHeader` parses and builds the fixed part (``packet_start_code_prefix``, ``stream_id``,
``PES_packet_length``) and the optional header with every flag: scrambling, priority,
``data_alignment_indicator``, copyright, original-or-copy, the 33-bit ``PTS``/``DTS``, ``ESCR``,
``ES_rate``, ``DSM_trick_mode``, ``additional_copy_info``, ``previous_PES_packet_CRC`` and the
``PES_extension`` (kept as bytes), and stuffing. A ``PES_packet_length`` of 0 means unbounded, as
video PES in transport streams use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from .packet import decode_timestamp, encode_timestamp

__all__ = [
    "PesHeader",
    "STREAM_ID_PROGRAM_STREAM_MAP",
    "STREAM_ID_PRIVATE_1",
    "STREAM_ID_PADDING",
    "STREAM_ID_PRIVATE_2",
    "STREAM_ID_AUDIO",
    "STREAM_ID_VIDEO",
    "has_optional_header",
    "build_pes_header",
]

STREAM_ID_PROGRAM_STREAM_MAP = 0xBC
STREAM_ID_PRIVATE_1 = 0xBD
STREAM_ID_PADDING = 0xBE
STREAM_ID_PRIVATE_2 = 0xBF
#: The first MPEG audio stream id (0xC0-0xDF).
STREAM_ID_AUDIO = 0xC0
#: The first video stream id (0xE0-0xEF).
STREAM_ID_VIDEO = 0xE0

# stream_ids whose PES packets have no optional header: program_stream_map, padding_stream,
# private_stream_2, ECM, EMM, program_stream_directory, DSMCC_stream, ITU-T H.222.1 type E.
_NO_OPTIONAL_HEADER = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xFF, 0xF2, 0xF8})

_FIXED = struct.Struct(">3sBH")


def has_optional_header(stream_id: int) -> bool:
    """Whether PES packets of ``stream_id`` carry the optional header with flags and timestamps."""
    return stream_id not in _NO_OPTIONAL_HEADER


def _encode_escr(escr: int) -> bytes:
    base, ext = divmod(escr % ((1 << 33) * 300), 300)
    v = (((base >> 30) & 7) << 43) | (1 << 42) | (((base >> 15) & 0x7FFF) << 27) | (1 << 26) \
        | ((base & 0x7FFF) << 11) | (1 << 10) | (ext << 1) | 1
    return (v | (3 << 46)).to_bytes(6, "big")


def _decode_escr(data: bytes, pos: int) -> int:
    v = int.from_bytes(data[pos:pos + 6], "big")
    base = (((v >> 43) & 7) << 30) | (((v >> 27) & 0x7FFF) << 15) | ((v >> 11) & 0x7FFF)
    return base * 300 + ((v >> 1) & 0x1FF)


@dataclass(frozen=True, slots=True)
class PesHeader:
    """A PES packet header.

    :param stream_id: ``stream_id`` (0xE0-0xEF video, 0xC0-0xDF audio, 0xBD private_stream_1 ...).
    :param pes_packet_length: bytes after this field; 0 means unbounded (video only).
    :param pts: the 33-bit ``PTS``, or ``None``.
    :param dts: the 33-bit ``DTS``, or ``None`` (only with a PTS).
    :param pes_scrambling_control: 2 bits.
    :param pes_priority: ``PES_priority``.
    :param data_alignment_indicator: the payload starts with an access unit / syntax element.
    :param copyright: ``copyright``.
    :param original_or_copy: ``original_or_copy``.
    :param escr: ``ESCR`` in 27 MHz units, or ``None``.
    :param es_rate: the 22-bit ``ES_rate`` (50 bytes/s units), or ``None``.
    :param dsm_trick_mode: the 8-bit trick mode byte, or ``None``.
    :param additional_copy_info: 7 bits, or ``None``.
    :param previous_pes_packet_crc: 16 bits, or ``None``.
    :param pes_extension: the ``PES_extension`` bytes (flags byte onwards), or ``None``.
    :param stuffing: the count of 0xFF stuffing bytes at the end of the header.
    :param header_length: bytes of the whole header (what the payload starts after), as parsed.
    """

    stream_id: int
    pes_packet_length: int = 0
    pts: int | None = None
    dts: int | None = None
    pes_scrambling_control: int = 0
    pes_priority: bool = False
    data_alignment_indicator: bool = False
    copyright: bool = False
    original_or_copy: bool = False
    escr: int | None = None
    es_rate: int | None = None
    dsm_trick_mode: int | None = None
    additional_copy_info: int | None = None
    previous_pes_packet_crc: int | None = None
    pes_extension: bytes | None = None
    stuffing: int = 0
    header_length: int = 0

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> PesHeader:
        """Parse the header at the start of a PES packet; the payload starts at
        :attr:`header_length`. Raises :class:`~mediaproto.errors.ParseError` when malformed."""
        raw = bytes(data[:264])  # 6 fixed + 3 + at most 255 optional
        if len(raw) < 6:
            raise ParseError("PES header needs 6 bytes", offset=offset)
        prefix, stream_id, length = _FIXED.unpack_from(raw)
        if prefix != b"\x00\x00\x01":
            raise ParseError("missing PES packet_start_code_prefix", offset=offset)
        if stream_id not in _NO_OPTIONAL_HEADER:
            if len(raw) < 9:
                raise ParseError("PES optional header truncated", offset=offset + 6)
            f1, f2, hlen = raw[6], raw[7], raw[8]
            if f1 & 0xC0 != 0x80:
                raise ParseError("PES optional header does not start with '10'", offset=offset + 6)
            end = 9 + hlen
            if end > len(raw):
                raise ParseError(f"PES_header_data_length {hlen} runs past the data", offset=offset + 8)
            if length and length < 3 + hlen:
                raise ParseError(f"PES_packet_length {length} shorter than its header", offset=offset + 4)
            pos = 9
            pts = dts = escr = es_rate = trick = copy_info = crc = None
            ext = None
            try:
                pts_dts = f2 >> 6
                if pts_dts == 1:
                    raise ParseError("PTS_DTS_flags '01' is forbidden", offset=offset + 7)
                if pts_dts & 2:
                    if pos + 5 > end:
                        raise IndexError
                    pts = decode_timestamp(raw, pos)
                    pos += 5
                    if pts_dts == 3:
                        if pos + 5 > end:
                            raise IndexError
                        dts = decode_timestamp(raw, pos)
                        pos += 5
                if f2 & 0x20:
                    if pos + 6 > end:
                        raise IndexError
                    escr = _decode_escr(raw, pos)
                    pos += 6
                if f2 & 0x10:
                    if pos + 3 > end:
                        raise IndexError
                    es_rate = (int.from_bytes(raw[pos:pos + 3], "big") >> 1) & 0x3FFFFF
                    pos += 3
                if f2 & 0x08:
                    if pos + 1 > end:
                        raise IndexError
                    trick = raw[pos]
                    pos += 1
                if f2 & 0x04:
                    if pos + 1 > end:
                        raise IndexError
                    copy_info = raw[pos] & 0x7F
                    pos += 1
                if f2 & 0x02:
                    if pos + 2 > end:
                        raise IndexError
                    crc = int.from_bytes(raw[pos:pos + 2], "big")
                    pos += 2
                if f2 & 0x01:
                    ext_end = _extension_end(raw, pos, end)
                    ext = raw[pos:ext_end]
                    pos = ext_end
            except IndexError:
                raise ParseError("PES header fields run past PES_header_data_length", offset=offset + pos) from None
            return cls(stream_id, length, pts, dts, (f1 >> 4) & 3, bool(f1 & 8), bool(f1 & 4), bool(f1 & 2),
                       bool(f1 & 1), escr, es_rate, trick, copy_info, crc, ext, end - pos, end)
        return cls(stream_id, length, header_length=6)

    def to_bytes(self, payload_size: int | None = None) -> bytes:
        """The header bytes. With ``payload_size`` the ``PES_packet_length`` is computed from it
        (0 when over 65535, for video); otherwise :attr:`pes_packet_length` is written as given."""
        sid = self.stream_id
        if not (0 <= sid <= 0xFF):
            raise LocalProtocolError(f"stream_id {sid} out of range")
        if sid in _NO_OPTIONAL_HEADER:
            body = b""
        else:
            f1 = 0x80 | ((self.pes_scrambling_control & 3) << 4) | (8 if self.pes_priority else 0) \
                | (4 if self.data_alignment_indicator else 0) | (2 if self.copyright else 0) \
                | (1 if self.original_or_copy else 0)
            f2 = 0
            parts = []
            if self.pts is not None:
                if self.dts is not None:
                    f2 |= 0xC0
                    parts.append(encode_timestamp(3, self.pts))
                    parts.append(encode_timestamp(1, self.dts))
                else:
                    f2 |= 0x80
                    parts.append(encode_timestamp(2, self.pts))
            elif self.dts is not None:
                raise LocalProtocolError("a PES header with a DTS needs a PTS")
            if self.escr is not None:
                f2 |= 0x20
                parts.append(_encode_escr(self.escr))
            if self.es_rate is not None:
                f2 |= 0x10
                parts.append((0x800001 | ((self.es_rate & 0x3FFFFF) << 1)).to_bytes(3, "big"))
            if self.dsm_trick_mode is not None:
                f2 |= 0x08
                parts.append(bytes([self.dsm_trick_mode & 0xFF]))
            if self.additional_copy_info is not None:
                f2 |= 0x04
                parts.append(bytes([0x80 | (self.additional_copy_info & 0x7F)]))
            if self.previous_pes_packet_crc is not None:
                f2 |= 0x02
                parts.append((self.previous_pes_packet_crc & 0xFFFF).to_bytes(2, "big"))
            if self.pes_extension is not None:
                f2 |= 0x01
                parts.append(self.pes_extension)
            if self.stuffing:
                parts.append(b"\xff" * self.stuffing)
            optional = b"".join(parts)
            if len(optional) > 255:
                raise LocalProtocolError("PES header data longer than 255 bytes")
            body = bytes((f1, f2, len(optional))) + optional
        if payload_size is None:
            length = self.pes_packet_length
        else:
            length = len(body) + payload_size
            if length > 0xFFFF:
                length = 0
        return _FIXED.pack(b"\x00\x00\x01", sid, length) + body


def _extension_end(raw: bytes, pos: int, end: int) -> int:
    """Where the PES_extension starting at ``pos`` ends (2.4.3.6 PES_extension_flag fields)."""
    flags = raw[pos]
    p = pos + 1
    if flags & 0x80:  # PES_private_data_flag
        p += 16
    if flags & 0x40:  # pack_header_field_flag
        if p >= end:
            raise IndexError
        p += 1 + raw[p]
    if flags & 0x20:  # program_packet_sequence_counter_flag
        p += 2
    if flags & 0x10:  # P-STD_buffer_flag
        p += 2
    if flags & 0x01:  # PES_extension_flag_2
        if p >= end:
            raise IndexError
        p += 1 + (raw[p] & 0x7F)
    if p > end:
        raise IndexError
    return p


def build_pes_header(stream_id: int, pts: int | None, dts: int | None, payload_size: int, *,
                     data_alignment: bool = False) -> bytes:
    """A PES header with only PTS (and DTS when it differs), the form muxers write.

    ``PES_packet_length`` is computed from ``payload_size`` (0 when it does not fit in 16 bits).
    """
    if pts is None:
        opt = b""
        f2 = 0
    elif dts is None or dts == pts:
        opt = encode_timestamp(2, pts)
        f2 = 0x80
    else:
        opt = encode_timestamp(3, pts) + encode_timestamp(1, dts)
        f2 = 0xC0
    length = 3 + len(opt) + payload_size
    if length > 0xFFFF:
        length = 0
    return _FIXED.pack(b"\x00\x00\x01", stream_id, length) + bytes((0x84 if data_alignment else 0x80, f2,
                                                                     len(opt))) + opt
