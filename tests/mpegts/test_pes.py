"""PES headers: hand-encoded bytes (ISO/IEC 13818-1 2.4.3.6-2.4.3.7), FFmpeg's headers, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.mpegts.pes import PesHeader, build_pes_header, has_optional_header

CASES = [
    # FFmpeg's first video PES in ref.ts: stream 0xE0, unbounded, PTS only = 127890 (ffprobe's pts)
    ("000001e00000 8080 05 2100 07e7 25", PesHeader(0xE0, 0, pts=127890, header_length=14)),
    # audio with PTS 90000 and DTS 87000 ('0011'/'0001' prefixes), data alignment, length 300
    ("000001c0012c 84c0 0a 310005bf21 110005a7b1", PesHeader(0xC0, 300, 90000, 87000, data_alignment_indicator=True,
                                                           header_length=19)),
    # every flag of the first flags byte, no optional fields, 2 stuffing bytes
    ("000001bd0000 bf00 02 ffff", PesHeader(0xBD, 0, pes_scrambling_control=3, pes_priority=True,
                                          data_alignment_indicator=True, copyright=True, original_or_copy=True,
                                          stuffing=2, header_length=11)),
    # ESCR (base 90000, ext 5), ES_rate 1000, trick mode 0x1f, copy info 0x55, CRC 0xbeef
    ("000001e00000 803e 0d c40016fc840b 8007d1 1f d5 beef",
     PesHeader(0xE0, 0, escr=90000 * 300 + 5, es_rate=1000, dsm_trick_mode=0x1F, additional_copy_info=0x55,
               previous_pes_packet_crc=0xBEEF, header_length=22)),
    # PES_extension: only P-STD_buffer_flag (2 bytes)
    ("000001e00000 8001 03 1e 6000", PesHeader(0xE0, 0, pes_extension=bytes.fromhex("1e6000"), header_length=12)),
    # padding stream: no optional header
    ("000001be0004", PesHeader(0xBE, 4, header_length=6)),
]


@pytest.mark.parametrize(("hexstr", "header"), CASES)
def test_parse_table(hexstr: str, header: PesHeader) -> None:
    assert PesHeader.parse(bytes.fromhex(hexstr.replace(" ", "")) + b"payload") == header


@pytest.mark.parametrize(("hexstr", "header"), CASES)
def test_build_table(hexstr: str, header: PesHeader) -> None:
    assert header.to_bytes() == bytes.fromhex(hexstr.replace(" ", ""))


def test_build_pes_header() -> None:
    assert build_pes_header(0xE0, 127890, 127890, 0) == bytes.fromhex("000001e00008808005210007e725")
    raw = build_pes_header(0xC0, 90000, 87000, 100, data_alignment=True)
    assert PesHeader.parse(raw) == PesHeader(0xC0, 113, 90000, 87000, data_alignment_indicator=True, header_length=19)
    assert build_pes_header(0xE0, 0, 0, 70000)[4:6] == b"\x00\x00"  # too long: unbounded
    assert PesHeader(0xE0, pts=1).to_bytes(payload_size=10)[4:6] == (10 + 8).to_bytes(2, "big")


def test_stream_ids() -> None:
    assert not has_optional_header(0xBE) and not has_optional_header(0xBF) and not has_optional_header(0xBC)
    assert has_optional_header(0xE0) and has_optional_header(0xC0) and has_optional_header(0xBD)


def test_ffmpeg_pes_headers(vectors: Path) -> None:
    data = (vectors / "ref.ts").read_bytes()
    headers = []
    for pos in range(0, len(data), 188):
        pkt = data[pos:pos + 188]
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if pkt[1] & 0x40 and pid in (0x100, 0x101):
            start = 4 + (1 + pkt[4] if pkt[3] & 0x20 else 0)
            headers.append((pid, PesHeader.parse(pkt[start:])))
    video = [h for pid, h in headers if pid == 0x100]
    assert len(video) == 100  # ffprobe: 100 video packets, one PES each
    assert all(h.stream_id == 0xE0 and h.pes_packet_length == 0 for h in video)
    assert video[0].pts == 127890 and video[1].pts == 131490
    audio = [h for pid, h in headers if pid == 0x101]
    assert all(h.stream_id == 0xC0 and h.pes_packet_length > 0 for h in audio)
    assert audio[0].pts == 126000  # ffprobe's first audio pts


def test_errors() -> None:
    with pytest.raises(ParseError):
        PesHeader.parse(b"\x00\x00\x02\xe0\x00\x00\x80\x80\x05")
    with pytest.raises(ParseError):
        PesHeader.parse(bytes.fromhex("000001e00000 8080 05 2100".replace(" ", "")))
    with pytest.raises(ParseError):  # PTS_DTS_flags '01'
        PesHeader.parse(bytes.fromhex("000001e0000080400000"))
    with pytest.raises(ParseError):
        PesHeader.parse(bytes.fromhex("000001e0000040000000"))
    with pytest.raises(LocalProtocolError):
        PesHeader(0xE0, dts=5).to_bytes()


ts33 = st.integers(0, (1 << 33) - 1)


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.none() | ts33, ts33, st.integers(0, 3), st.booleans(),
       st.booleans(), st.none() | st.integers(0, (1 << 33) * 300 - 1), st.none() | st.integers(0, 0x3FFFFF),
       st.none() | st.integers(0, 255), st.none() | st.integers(0, 0x7F), st.none() | st.integers(0, 0xFFFF),
       st.integers(0, 16))
def test_round_trip(sid: int, length: int, pts: int | None, dts: int, sc: int, prio: bool, align: bool,
                    escr: int | None, rate: int | None, trick: int | None, info: int | None, crc: int | None,
                    stuffing: int) -> None:
    header = PesHeader(sid, length, pts, dts if pts is not None and dts % 2 else None, sc, prio, align,
                       escr=escr, es_rate=rate, dsm_trick_mode=trick, additional_copy_info=info,
                       previous_pes_packet_crc=crc, stuffing=stuffing)
    raw = header.to_bytes()
    if not has_optional_header(sid):
        assert PesHeader.parse(raw) == PesHeader(sid, length, header_length=6)
        return
    if length and length < len(raw) - 6:
        with pytest.raises(ParseError):
            PesHeader.parse(raw)
        return
    from dataclasses import replace
    assert PesHeader.parse(raw) == replace(header, header_length=len(raw))


@given(st.binary(max_size=64))
def test_random_bytes(data: bytes) -> None:
    for raw in (data, b"\x00\x00\x01" + data, b"\x00\x00\x01\xe0\x00\x00" + data):
        try:
            PesHeader.parse(raw)
        except ProtocolError:
            pass
