"""PSI: FFmpeg's PAT/PMT/SDT, hand-built tables with descriptors, sections across packets and the
pointer field, and fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, ParseError, ProtocolError
from mediaproto.mpegts import Limits
from mediaproto.mpegts.crc import crc32_mpeg2_table
from mediaproto.mpegts.psi import (
    Descriptor,
    Pat,
    PatProgram,
    Pmt,
    PmtStream,
    Sdt,
    SdtService,
    SectionAssembler,
    build_section,
    decode_dvb_string,
    packetize_section,
    parse_descriptors,
    parse_section,
    registration_descriptor,
    service_descriptor,
)


def _with_crc(hexstr: str) -> bytes:
    body = bytes.fromhex(hexstr.replace(" ", ""))
    return body + crc32_mpeg2_table(body).to_bytes(4, "big")


def _ffmpeg_sections(vectors: Path) -> dict[int, bytes]:
    data = (vectors / "ref.ts").read_bytes()
    out: dict[int, bytes] = {}
    for pos in range(0, 188 * 4, 188):
        pkt = data[pos:pos + 188]
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if pid in (0, 0x11, 0x1000):
            length = ((pkt[6] & 0x0F) << 8) | pkt[7]
            out[pid] = pkt[5:5 + 3 + length]
    return out


def test_ffmpeg_tables(vectors: Path) -> None:
    # expected values: ffprobe -show_programs -show_streams ref.ts (program_id=1 pmt_pid=4096 pcr_pid=256,
    # h264 id=0x100 codec_tag 0x1b, aac id=0x101 codec_tag 0x0f, service_name=Service01 service_provider=FFmpeg)
    sections = _ffmpeg_sections(vectors)
    pat = Pat.parse(sections[0])
    assert pat.programs == (PatProgram(1, 4096),)
    pmt = Pmt.parse(sections[0x1000])
    assert pmt.program_number == 1 and pmt.pcr_pid == 256
    assert [(s.stream_type, s.elementary_pid) for s in pmt.streams] == [(0x1B, 0x100), (0x0F, 0x101)]
    sdt = Sdt.parse(sections[0x11])
    assert sdt.services[0].service_id == 1
    assert sdt.services[0].service_name == "Service01"
    assert sdt.services[0].service_provider_name == "FFmpeg"
    for pid, cls in ((0, Pat), (0x1000, Pmt), (0x11, Sdt)):
        assert cls.parse(sections[pid]).to_bytes() == sections[pid]  # type: ignore[attr-defined]


# A PMT written by hand (2.4.4.8): program 1, PCR PID 0x101, program_info with a registration
# descriptor 'HDMV', an Opus stream (type 0x06, PID 0x101) with registration 'Opus' and the DVB
# extension descriptor 0x7f {0x80, 2}, and an H.265 stream on PID 0x102 without descriptors.
PMT_HEX = ("02 b0 2c 0001 c1 00 00 e101 f006 0504 48444d56"
           " 06 e101 f00a 0504 4f707573 7f02 8002"
           " 24 e102 f000")


def test_pmt_with_descriptors() -> None:
    raw = _with_crc(PMT_HEX.replace("b0 2c", "b0 " + f"{len(bytes.fromhex(PMT_HEX.replace(' ', ''))) + 1:02x}"))
    pmt = Pmt.parse(raw)
    assert pmt.pcr_pid == 0x101
    assert pmt.program_info == (Descriptor(0x05, b"HDMV"),)
    assert pmt.program_info[0].format_identifier == b"HDMV"
    opus, hevc = pmt.streams
    assert opus == PmtStream(0x06, 0x101, (registration_descriptor(b"Opus"), Descriptor(0x7F, b"\x80\x02")))
    assert opus.format_identifier == b"Opus"
    assert hevc == PmtStream(0x24, 0x102, ()) and hevc.format_identifier is None
    assert pmt.to_bytes() == raw


def test_pat_by_hand() -> None:
    # network PID 0x10 for program 0, program 1 on PID 0x1000; version 3
    raw = _with_crc("00 b0 11 0007 c7 00 00 0000 e010 0001 f000")
    pat = Pat.parse(raw)
    assert pat.transport_stream_id == 7 and pat.version_number == 3
    assert pat.programs == (PatProgram(0, 0x10), PatProgram(1, 0x1000))
    assert pat.to_bytes() == raw


def test_sdt_utf8_names() -> None:
    sdt = Sdt(1, 0xFF01, (SdtService(1, (service_descriptor("Prövider", "Sérvice"),)),))
    back = Sdt.parse(sdt.to_bytes())
    assert back.services[0].service_name == "Sérvice"
    assert back.services[0].service_provider_name == "Prövider"
    assert decode_dvb_string(b"\x15caf\xc3\xa9") == "café"
    assert decode_dvb_string(b"\x05caf\xe9") == "café"  # ISO 8859-9
    assert decode_dvb_string(b"plain") == "plain"


def test_section_errors() -> None:
    good = Pat(1, (PatProgram(1, 0x1000),)).to_bytes()
    with pytest.raises(ParseError):
        parse_section(good[:-1] + bytes([good[-1] ^ 1]))  # CRC
    with pytest.raises(ParseError):
        parse_section(good + b"\x00")  # length
    with pytest.raises(ParseError):
        Pmt.parse(good)  # wrong table
    with pytest.raises(ParseError):
        parse_descriptors(b"\x05\x04Opu")


def _payloads(packets: bytes) -> list[tuple[bytes, bool]]:
    return [(packets[i + 4:i + 188], bool(packets[i + 1] & 0x40)) for i in range(0, len(packets), 188)]


def test_section_across_packets() -> None:
    streams = tuple(PmtStream(0x06, 0x100 + i, (Descriptor(0x05, b"Opus"), Descriptor(0x7F, b"\x80\x02")))
                    for i in range(25))
    section = Pmt(1, 0x100, streams).to_bytes()
    assert len(section) > 2 * 184
    packets, cc = packetize_section(0x1000, section, 14)
    assert len(packets) == 188 * 3 and cc == 1
    assert [packets[i + 3] & 0x0F for i in range(0, len(packets), 188)] == [14, 15, 0]
    asm = SectionAssembler()
    got = [s for p, u in _payloads(packets) for s in asm.feed(p, u)]
    assert got == [section]
    assert Pmt.parse(got[0]).streams == streams


def test_pointer_field_and_several_sections() -> None:
    a = build_section(0x02, 1, b"\xe1\x00\xf0\x00" + b"\x1b\xe1\x00\xf0\x00" * 40)
    b = build_section(0x02, 2, b"\xe1\x01\xf0\x00")
    c = build_section(0x02, 3, b"\xe1\x02\xf0\x00")
    # packet 1 starts a; packet 2 holds the tail of a (pointer_field), then b and c, then stuffing
    first = b"\x00" + a[:183]
    tail = a[183:]
    second = bytes([len(tail)]) + tail + b + c
    second += b"\xff" * (184 - len(second))
    asm = SectionAssembler()
    assert asm.feed(first, True) == []
    assert asm.feed(second, True) == [a, b, c]
    # a continuation without a unit start is ignored until the next start
    asm = SectionAssembler()
    assert asm.feed(second[1 + len(tail):], False) == []


def test_assembler_errors() -> None:
    asm = SectionAssembler()
    with pytest.raises(ParseError):
        asm.feed(b"\x05\x00", True)
    with pytest.raises(ParseError):
        asm.feed(b"", True)
    asm = SectionAssembler(Limits(max_section_size=100))
    with pytest.raises(LimitExceeded):
        asm.feed(b"\x00\x02\xb1\x00" + bytes(180), True)


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=6), st.data())
def test_sections_survive_any_packing(bodies: list[bytes], data: st.DataObject) -> None:
    sections = [build_section(0x40 + i, i, b) for i, b in enumerate(bodies)]
    stream = b"".join(sections)
    asm = SectionAssembler()
    got: list[bytes] = []
    pos = 0
    boundaries = set()
    acc = 0
    for s in sections:
        boundaries.add(acc)
        acc += len(s)
    while pos < len(stream):
        # a packet starting a unit: the pointer_field points at the next section start
        size = data.draw(st.integers(1, 184).map(lambda x: 185 - x))  # shrinks to full packets
        nxt = min((b for b in boundaries if b >= pos), default=None)
        if nxt is not None and nxt - pos < size:  # a section starts here: unit start, pointer_field
            pointer = nxt - pos
            payload = bytes([pointer]) + stream[pos:pos + size - 1]
            got += asm.feed(payload, True)
            pos += size - 1
        else:
            got += asm.feed(stream[pos:pos + size], False)
            pos += size
    assert got == sections
    assert [parse_section(s).body for s in got] == bodies


@given(st.binary(max_size=300))
def test_random_tables_raise_only_protocol_errors(data: bytes) -> None:
    for cls in (Pat, Pmt, Sdt):
        for raw in (data, _mutate_base(data)):
            try:
                cls.parse(raw)  # type: ignore[attr-defined]
            except ProtocolError:
                pass


def _mutate_base(data: bytes) -> bytes:
    body = data[:200]
    head = bytes((0x02, 0xB0 | ((len(body) + 9) >> 8), (len(body) + 9) & 0xFF, 0, 1, 0xC1, 0, 0)) + body
    return head + crc32_mpeg2_table(head).to_bytes(4, "big")


@given(st.lists(st.tuples(st.binary(max_size=184), st.booleans()), max_size=10))
def test_random_payloads_raise_only_protocol_errors(packets: list[tuple[bytes, bool]]) -> None:
    asm = SectionAssembler()
    for payload, start in packets:
        try:
            asm.feed(payload, start)
        except ProtocolError:
            pass
