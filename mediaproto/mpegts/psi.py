"""Program-specific information: sections, PAT, PMT, descriptors (ISO/IEC 13818-1 2.4.4) and the
DVB SDT (ETSI EN 300 468 5.2.3).

A section travels in the payload of TS packets on one PID: a packet with
``payload_unit_start_indicator`` begins with a ``pointer_field`` giving the bytes that still belong
to the previous section, and a section may span several packets. :class:`SectionAssembler`
reassembles them; :func:`packetize_section` cuts a section into packets. Every long-form section
ends in an MPEG-2 CRC-32 (:mod:`mediaproto.mpegts.crc`), checked by :func:`parse_section` and
computed by :func:`build_section`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LimitExceeded, LocalProtocolError, ParseError
from .crc import crc32_mpeg2
from .limits import Limits

__all__ = [
    "PAT_PID",
    "SDT_PID",
    "TABLE_ID_PAT",
    "TABLE_ID_PMT",
    "TABLE_ID_SDT",
    "Section",
    "parse_section",
    "build_section",
    "SectionAssembler",
    "packetize_section",
    "Descriptor",
    "parse_descriptors",
    "registration_descriptor",
    "service_descriptor",
    "PatProgram",
    "Pat",
    "PmtStream",
    "Pmt",
    "SdtService",
    "Sdt",
    "decode_dvb_string",
]

PAT_PID = 0x0000
SDT_PID = 0x0011
TABLE_ID_PAT = 0x00
TABLE_ID_PMT = 0x02
TABLE_ID_SDT = 0x42

#: The largest section (section_length 4093, the limit for private sections).
MAX_SECTION_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Section:
    """A long-form (``section_syntax_indicator`` = 1) PSI section with its CRC checked.

    :param body: the bytes after ``last_section_number`` and before ``CRC_32``.
    """

    table_id: int
    table_id_extension: int
    version_number: int
    current_next_indicator: bool
    section_number: int
    last_section_number: int
    body: bytes
    private_indicator: bool = False


def parse_section(data: bytes, offset: int = 0) -> Section:
    """Parse one whole long-form section (header to CRC), checking length and CRC."""
    n = len(data)
    if n < 12:
        raise ParseError(f"PSI section of {n} bytes is too short", offset=offset)
    table_id = data[0]
    section_length = ((data[1] & 0x0F) << 8) | data[2]
    if not data[1] & 0x80:
        raise ParseError(f"table 0x{table_id:02x}: section_syntax_indicator 0 (short sections unsupported)",
                         offset=offset + 1)
    if 3 + section_length != n:
        raise ParseError(f"section_length {section_length} does not match {n - 3} bytes", offset=offset + 1)
    if crc32_mpeg2(data) != 0:
        raise ParseError(f"table 0x{table_id:02x}: CRC_32 mismatch", offset=offset + n - 4)
    return Section(table_id, (data[3] << 8) | data[4], (data[5] >> 1) & 0x1F, bool(data[5] & 1), data[6],
                   data[7], bytes(data[8:n - 4]), bool(data[1] & 0x40))


def build_section(table_id: int, table_id_extension: int, body: bytes, *, version_number: int = 0,
                  current_next_indicator: bool = True, section_number: int = 0,
                  last_section_number: int = 0, private_indicator: bool = False) -> bytes:
    """A long-form section around ``body``, with ``section_length`` and ``CRC_32`` computed."""
    section_length = 5 + len(body) + 4
    if section_length > MAX_SECTION_SIZE - 3:
        raise LocalProtocolError(f"section of {section_length} bytes is too long")
    head = bytes((
        table_id,
        0x80 | (0x40 if private_indicator else 0) | 0x30 | (section_length >> 8),
        section_length & 0xFF,
        (table_id_extension >> 8) & 0xFF,
        table_id_extension & 0xFF,
        0xC0 | ((version_number & 0x1F) << 1) | (1 if current_next_indicator else 0),
        section_number & 0xFF,
        last_section_number & 0xFF,
    )) + body
    return head + crc32_mpeg2(head).to_bytes(4, "big")


class SectionAssembler:
    """Reassemble the sections of one PID from TS packet payloads.

    Feed each packet's payload with its ``payload_unit_start_indicator``; :meth:`feed` returns the
    sections completed by it (whole, CRC unchecked). Bytes before the first unit start are
    skipped; stuffing (0xFF) after a section ends the packet's sections.
    """

    __slots__ = ("_buf", "limits", "_max")

    def __init__(self, limits: Limits | None = None) -> None:
        self._buf: bytearray | None = None
        self.limits = limits if limits is not None else Limits()
        self._max = self.limits.max_section_size

    def reset(self) -> None:
        """Drop a partly received section (after a continuity error)."""
        self._buf = None

    def feed(self, payload: bytes, payload_unit_start: bool, offset: int = 0) -> list[bytes]:
        """Add one packet's payload; return the sections it completes."""
        out: list[bytes] = []
        if payload_unit_start:
            if not payload:
                raise ParseError("PSI packet with unit start but no pointer_field", offset=offset)
            pointer = payload[0]
            if 1 + pointer > len(payload):
                self._buf = None
                raise ParseError(f"pointer_field {pointer} runs past the packet", offset=offset)
            if self._buf is not None and pointer:
                self._buf += payload[1:1 + pointer]
                self._extract(out, offset)
            self._buf = bytearray(payload[1 + pointer:])
        elif self._buf is None:
            return out
        else:
            self._buf += payload
        self._extract(out, offset)
        return out

    def flush(self) -> list[bytes]:
        """The input ended: :meth:`feed` has returned every whole section, and a section cut short
        cannot be checked, so it is dropped. Returns ``[]``."""
        self._buf = None
        return []

    def _extract(self, out: list[bytes], offset: int) -> None:
        buf = self._buf
        while buf:
            if buf[0] == 0xFF:
                self._buf = None
                return
            if len(buf) < 3:
                return
            total = 3 + (((buf[1] & 0x0F) << 8) | buf[2])
            if total > self._max:
                self._buf = None
                raise LimitExceeded(f"PSI section of {total} bytes exceeds max_section_size={self._max}", offset=offset)
            if len(buf) < total:
                return
            out.append(bytes(buf[:total]))
            del buf[:total]
        self._buf = None


def packetize_section(pid: int, section: bytes, continuity_counter: int) -> tuple[bytes, int]:
    """Cut ``section`` into TS packets on ``pid`` (pointer_field 0, 0xFF payload stuffing).

    Returns the packets and the next continuity counter.
    """
    data = b"\x00" + section
    out = []
    cc = continuity_counter & 0x0F
    first = True
    for pos in range(0, len(data), 184):
        chunk = data[pos:pos + 184]
        out.append(bytes((0x47, (0x40 if first else 0) | (pid >> 8), pid & 0xFF, 0x10 | cc)))
        out.append(chunk)
        if len(chunk) < 184:
            out.append(b"\xff" * (184 - len(chunk)))
        cc = (cc + 1) & 0x0F
        first = False
    return b"".join(out), cc


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A descriptor: ``descriptor_tag`` and its raw bytes (kept whatever the tag)."""

    tag: int
    data: bytes

    @property
    def format_identifier(self) -> bytes | None:
        """The 4-byte ``format_identifier`` of a registration descriptor (tag 5), else ``None``."""
        if self.tag == 0x05 and len(self.data) >= 4:
            return self.data[:4]
        return None

    def to_bytes(self) -> bytes:
        """Tag, length and data."""
        if len(self.data) > 255:
            raise LocalProtocolError("descriptor data longer than 255 bytes")
        return bytes((self.tag, len(self.data))) + self.data


def parse_descriptors(data: bytes, offset: int = 0) -> tuple[Descriptor, ...]:
    """Parse a descriptor loop."""
    out = []
    pos = 0
    n = len(data)
    while pos < n:
        if pos + 2 > n or pos + 2 + data[pos + 1] > n:
            raise ParseError("descriptor runs past its loop", offset=offset + pos)
        length = data[pos + 1]
        out.append(Descriptor(data[pos], bytes(data[pos + 2:pos + 2 + length])))
        pos += 2 + length
    return tuple(out)


def _join_descriptors(descriptors: tuple[Descriptor, ...]) -> bytes:
    return b"".join(d.to_bytes() for d in descriptors)


def registration_descriptor(format_identifier: bytes, info: bytes = b"") -> Descriptor:
    """A registration descriptor (tag 5) with a 4-byte ``format_identifier`` such as ``b"Opus"``."""
    if len(format_identifier) != 4:
        raise LocalProtocolError("format_identifier must be 4 bytes")
    return Descriptor(0x05, format_identifier + info)


def service_descriptor(service_provider_name: str, service_name: str, service_type: int = 0x01) -> Descriptor:
    """A DVB service descriptor (tag 0x48). Names are written as UTF-8 with the 0x15 selector when
    they are not plain ASCII."""
    def enc(s: str) -> bytes:
        return s.encode("ascii") if s.isascii() else b"\x15" + s.encode("utf-8")
    provider, name = enc(service_provider_name), enc(service_name)
    return Descriptor(0x48, bytes((service_type, len(provider))) + provider + bytes((len(name),)) + name)


def decode_dvb_string(data: bytes) -> str:
    """Decode a DVB text field (EN 300 468 annex A): a leading selector byte below 0x20 names the
    character table (0x15 UTF-8, 0x01-0x0B ISO 8859-5..15, 0x10 ISO 8859 by number, 0x11 UCS-2);
    without one, the default table is decoded as Latin-1. Undecodable bytes are replaced."""
    if not data:
        return ""
    first = data[0]
    if first >= 0x20:
        return data.decode("latin-1")
    if first == 0x15:
        return data[1:].decode("utf-8", "replace")
    if first == 0x11:
        return data[1:].decode("utf-16-be", "replace")
    if 0x01 <= first <= 0x0B:
        try:
            return data[1:].decode(f"iso8859-{first + 4}", "replace")
        except LookupError:
            return data[1:].decode("latin-1")
    if first == 0x10 and len(data) >= 3:
        try:
            return data[3:].decode(f"iso8859-{data[2]}", "replace")
        except LookupError:
            return data[3:].decode("latin-1")
    return data[1:].decode("latin-1")


@dataclass(frozen=True, slots=True)
class PatProgram:
    """One PAT entry: ``program_number`` and its ``program_map_PID`` (``network_PID`` for 0)."""

    program_number: int
    pid: int


@dataclass(frozen=True, slots=True)
class Pat:
    """The program association table (table_id 0x00, PID 0)."""

    transport_stream_id: int
    programs: tuple[PatProgram, ...]
    version_number: int = 0
    current_next_indicator: bool = True
    section_number: int = 0
    last_section_number: int = 0

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> Pat:
        """Parse a PAT section (CRC checked)."""
        s = parse_section(data, offset)
        if s.table_id != TABLE_ID_PAT:
            raise ParseError(f"table_id 0x{s.table_id:02x} is not a PAT", offset=offset)
        body = s.body
        if len(body) % 4:
            raise ParseError("PAT program loop is not a multiple of 4 bytes", offset=offset + 8)
        programs = tuple(PatProgram((body[i] << 8) | body[i + 1], ((body[i + 2] & 0x1F) << 8) | body[i + 3])
                         for i in range(0, len(body), 4))
        return cls(s.table_id_extension, programs, s.version_number, s.current_next_indicator,
                   s.section_number, s.last_section_number)

    def to_bytes(self) -> bytes:
        """The section bytes."""
        body = b"".join(bytes((p.program_number >> 8, p.program_number & 0xFF, 0xE0 | (p.pid >> 8), p.pid & 0xFF))
                        for p in self.programs)
        return build_section(TABLE_ID_PAT, self.transport_stream_id, body, version_number=self.version_number,
                             current_next_indicator=self.current_next_indicator,
                             section_number=self.section_number, last_section_number=self.last_section_number)


@dataclass(frozen=True, slots=True)
class PmtStream:
    """One elementary stream of a PMT: ``stream_type``, ``elementary_PID`` and its ES_info
    descriptors."""

    stream_type: int
    elementary_pid: int
    descriptors: tuple[Descriptor, ...] = ()

    @property
    def format_identifier(self) -> bytes | None:
        """The ``format_identifier`` of the stream's first registration descriptor, if any."""
        for d in self.descriptors:
            fid = d.format_identifier
            if fid is not None:
                return fid
        return None


@dataclass(frozen=True, slots=True)
class Pmt:
    """The program map table (table_id 0x02) of one program."""

    program_number: int
    pcr_pid: int
    streams: tuple[PmtStream, ...]
    program_info: tuple[Descriptor, ...] = ()
    version_number: int = 0
    current_next_indicator: bool = True

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> Pmt:
        """Parse a PMT section (CRC checked, descriptors kept)."""
        s = parse_section(data, offset)
        if s.table_id != TABLE_ID_PMT:
            raise ParseError(f"table_id 0x{s.table_id:02x} is not a PMT", offset=offset)
        body = s.body
        base = offset + 8
        if len(body) < 4:
            raise ParseError("PMT too short", offset=base)
        pcr_pid = ((body[0] & 0x1F) << 8) | body[1]
        info_len = ((body[2] & 0x0F) << 8) | body[3]
        if 4 + info_len > len(body):
            raise ParseError("program_info_length runs past the section", offset=base + 2)
        program_info = parse_descriptors(body[4:4 + info_len], base + 4)
        pos = 4 + info_len
        streams = []
        while pos < len(body):
            if pos + 5 > len(body):
                raise ParseError("truncated PMT stream entry", offset=base + pos)
            es_len = ((body[pos + 3] & 0x0F) << 8) | body[pos + 4]
            if pos + 5 + es_len > len(body):
                raise ParseError("ES_info_length runs past the section", offset=base + pos + 3)
            streams.append(PmtStream(body[pos], ((body[pos + 1] & 0x1F) << 8) | body[pos + 2],
                                     parse_descriptors(body[pos + 5:pos + 5 + es_len], base + pos + 5)))
            pos += 5 + es_len
        return cls(s.table_id_extension, pcr_pid, tuple(streams), program_info, s.version_number,
                   s.current_next_indicator)

    def to_bytes(self) -> bytes:
        """The section bytes."""
        info = _join_descriptors(self.program_info)
        parts = [bytes((0xE0 | (self.pcr_pid >> 8), self.pcr_pid & 0xFF, 0xF0 | (len(info) >> 8), len(info) & 0xFF)),
                 info]
        for st in self.streams:
            es = _join_descriptors(st.descriptors)
            parts.append(bytes((st.stream_type, 0xE0 | (st.elementary_pid >> 8), st.elementary_pid & 0xFF,
                                0xF0 | (len(es) >> 8), len(es) & 0xFF)))
            parts.append(es)
        return build_section(TABLE_ID_PMT, self.program_number, b"".join(parts),
                             version_number=self.version_number, current_next_indicator=self.current_next_indicator)


@dataclass(frozen=True, slots=True)
class SdtService:
    """One service of an SDT with its descriptors."""

    service_id: int
    descriptors: tuple[Descriptor, ...] = ()
    eit_schedule_flag: bool = False
    eit_present_following_flag: bool = False
    running_status: int = 4
    free_ca_mode: bool = False

    def _service_descriptor(self) -> bytes | None:
        for d in self.descriptors:
            if d.tag == 0x48:
                return d.data
        return None

    def _names(self) -> tuple[bytes, bytes] | None:
        data = self._service_descriptor()
        if data is None or len(data) < 2:
            return None
        plen = data[1]
        if 2 + plen >= len(data):
            return None
        provider = data[2:2 + plen]
        nlen = data[2 + plen]
        name = data[3 + plen:3 + plen + nlen]
        return provider, name

    @property
    def service_provider_name(self) -> str | None:
        """The provider name of the service descriptor, if any."""
        names = self._names()
        return None if names is None else decode_dvb_string(names[0])

    @property
    def service_name(self) -> str | None:
        """The service name of the service descriptor, if any."""
        names = self._names()
        return None if names is None else decode_dvb_string(names[1])


@dataclass(frozen=True, slots=True)
class Sdt:
    """The DVB service description table (table_id 0x42 for the actual TS, PID 0x11)."""

    transport_stream_id: int
    original_network_id: int
    services: tuple[SdtService, ...]
    version_number: int = 0
    current_next_indicator: bool = True
    section_number: int = 0
    last_section_number: int = 0
    table_id: int = TABLE_ID_SDT

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> Sdt:
        """Parse an SDT section (table_id 0x42 or 0x46; CRC checked)."""
        s = parse_section(data, offset)
        if s.table_id not in (0x42, 0x46):
            raise ParseError(f"table_id 0x{s.table_id:02x} is not an SDT", offset=offset)
        body = s.body
        base = offset + 8
        if len(body) < 3:
            raise ParseError("SDT too short", offset=base)
        onid = (body[0] << 8) | body[1]
        pos = 3
        services = []
        while pos < len(body):
            if pos + 5 > len(body):
                raise ParseError("truncated SDT service entry", offset=base + pos)
            dlen = ((body[pos + 3] & 0x0F) << 8) | body[pos + 4]
            if pos + 5 + dlen > len(body):
                raise ParseError("descriptors_loop_length runs past the section", offset=base + pos + 3)
            services.append(SdtService((body[pos] << 8) | body[pos + 1],
                                       parse_descriptors(body[pos + 5:pos + 5 + dlen], base + pos + 5),
                                       bool(body[pos + 2] & 2), bool(body[pos + 2] & 1), body[pos + 3] >> 5,
                                       bool(body[pos + 3] & 0x10)))
            pos += 5 + dlen
        return cls(s.table_id_extension, onid, tuple(services), s.version_number, s.current_next_indicator,
                   s.section_number, s.last_section_number, s.table_id)

    def to_bytes(self) -> bytes:
        """The section bytes."""
        parts = [bytes((self.original_network_id >> 8, self.original_network_id & 0xFF, 0xFF))]
        for sv in self.services:
            d = _join_descriptors(sv.descriptors)
            parts.append(bytes((sv.service_id >> 8, sv.service_id & 0xFF,
                                0xFC | (2 if sv.eit_schedule_flag else 0) | (1 if sv.eit_present_following_flag else 0),
                                ((sv.running_status & 7) << 5) | (0x10 if sv.free_ca_mode else 0) | (len(d) >> 8),
                                len(d) & 0xFF)))
            parts.append(d)
        return build_section(self.table_id, self.transport_stream_id, b"".join(parts),
                             version_number=self.version_number, current_next_indicator=self.current_next_indicator,
                             section_number=self.section_number, last_section_number=self.last_section_number,
                             private_indicator=True)  # DVB: reserved_future_use
