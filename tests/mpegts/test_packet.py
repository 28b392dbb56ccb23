"""TS packets: a table of hand-encoded packets (ISO/IEC 13818-1 2.4.3.2-2.4.3.5), FFmpeg's packets,
round trips and fuzzing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.mpegts.packet import (
    AdaptationField,
    AdaptationFieldExtension,
    TsPacket,
    decode_pcr,
    decode_timestamp,
    encode_pcr,
    encode_timestamp,
)

P184 = bytes(range(184))

# (header + adaptation field as hex, payload bytes, the packet) -- bytes written by hand from the spec.
CASES = [
    # payload only: PID 0x100, cc 10
    ("4701001a", P184, TsPacket(0x100, P184, continuity_counter=10)),
    # PUSI, TEI, priority, PID 0x1FFE, scrambling '10', cc 15
    ("ff ff fe 9f".replace("ff ff", "47 ff", 1), P184,
     TsPacket(0x1FFE, P184, True, 15, True, True, 2)),
    # one byte of stuffing: adaptation_field_length 0
    ("47010031 00", P184[:183], TsPacket(0x100, P184[:183], continuity_counter=1,
                                         adaptation_field=AdaptationField(empty=True))),
    # RAI + PCR (base 64890 = FFmpeg's first PCR in ref.ts, extension 0), no stuffing
    ("47410030 07 50 00007ebd7e00", P184[:176],
     TsPacket(0x100, P184[:176], True, 0, adaptation_field=AdaptationField(random_access_indicator=True,
                                                                          pcr=64890 * 300))),
    # adaptation field only: discontinuity + ES priority + PCR with extension 299, OPCR, 170 stuffing
    ("47010020 b7 b8 00007ebd7f2b 000000017e00" + "ff" * 170, b"",
     TsPacket(0x100, b"", adaptation_field=AdaptationField(True, False, True, pcr=64890 * 300 + 299, opcr=600,
                                                          stuffing=170))),
    # splice countdown -3 and 2 bytes of transport private data, then stuffing
    ("47010035 07 06 fd 02 abcd ff ff", P184[:176],
     TsPacket(0x100, P184[:176], continuity_counter=5,
              adaptation_field=AdaptationField(splice_countdown=-3, transport_private_data=b"\xab\xcd", stuffing=2))),
    # extension with ltw (valid, 0x1234), piecewise_rate 0x12345, seamless splice type 3 DTS 90000
    ("47010037 0e 01 0b ff 9234 c12345 310005bf21 ff", P184[:169],
     TsPacket(0x100, P184[:169], continuity_counter=7, adaptation_field=AdaptationField(
         extension=AdaptationFieldExtension(0x1234, True, 0x12345, 3, 90000), stuffing=1))),
]


def _bytes(head: str, payload: bytes) -> bytes:
    return bytes.fromhex(head.replace(" ", "")) + payload


@pytest.mark.parametrize(("head", "payload", "packet"), CASES)
def test_parse_table(head: str, payload: bytes, packet: TsPacket) -> None:
    raw = _bytes(head, payload)
    assert len(raw) == 188
    assert TsPacket.parse(raw) == packet


@pytest.mark.parametrize(("head", "payload", "packet"), CASES)
def test_build_table(head: str, payload: bytes, packet: TsPacket) -> None:
    assert packet.to_bytes() == _bytes(head, payload)
    assert bytes(packet) == _bytes(head, payload)


def test_timestamp_known_bytes() -> None:
    # PTS 90000 with the '0010' prefix is the classic 21 00 05 bf 21
    assert encode_timestamp(2, 90000) == bytes.fromhex("210005bf21")
    assert decode_timestamp(bytes.fromhex("210005bf21")) == 90000
    assert decode_timestamp(encode_timestamp(3, (1 << 33) - 1)) == (1 << 33) - 1
    assert encode_timestamp(2, 1 << 33) == encode_timestamp(2, 0)  # wraps


def test_pcr_known_bytes() -> None:
    assert encode_pcr(64890 * 300) == bytes.fromhex("00007ebd7e00")
    assert decode_pcr(bytes.fromhex("00007ebd7f2b")) == 64890 * 300 + 299


def test_ffmpeg_packets_round_trip(vectors: Path) -> None:
    data = (vectors / "ref.ts").read_bytes()
    assert len(data) % 188 == 0
    pcrs = 0
    for pos in range(0, len(data), 188):
        raw = data[pos:pos + 188]
        packet = TsPacket.parse(raw, pos)
        assert packet.to_bytes() == raw
        if packet.adaptation_field is not None and packet.adaptation_field.pcr is not None:
            pcrs += 1
            assert packet.pid == 0x100  # ffprobe: pcr_pid=256
    assert pcrs > 0


def test_errors() -> None:
    good = _bytes(*CASES[0][:2])
    with pytest.raises(ParseError):
        TsPacket.parse(good[:187])
    with pytest.raises(ParseError):
        TsPacket.parse(b"\x48" + good[1:])
    with pytest.raises(ParseError):  # reserved adaptation_field_control
        TsPacket.parse(good[:3] + b"\x0a" + good[4:])
    with pytest.raises(ParseError):  # AF length 183 with a payload
        TsPacket.parse(good[:3] + b"\x3a\xb7" + good[5:])
    with pytest.raises(LocalProtocolError):
        TsPacket(0x100, bytes(185)).to_bytes()
    with pytest.raises(LocalProtocolError):
        TsPacket(0x100, bytes(180), adaptation_field=AdaptationField(pcr=0)).to_bytes()
    with pytest.raises(LocalProtocolError):
        TsPacket(0x2000).to_bytes()


extensions = st.builds(
    AdaptationFieldExtension,
    st.none() | st.integers(0, 0x7FFF), st.booleans(), st.none() | st.integers(0, 0x3FFFFF),
    st.none(), st.none(), st.booleans(), st.binary(max_size=4),
).map(lambda e: e if e.ltw_offset is not None else replace(e, ltw_valid_flag=False)) | st.builds(AdaptationFieldExtension, splice_type=st.integers(0, 15), dts_next_au=st.integers(0, (1 << 33) - 1))

fields = st.builds(
    AdaptationField, st.booleans(), st.booleans(), st.booleans(),
    st.none() | st.integers(0, (1 << 33) * 300 - 1), st.none() | st.integers(0, (1 << 33) * 300 - 1),
    st.none() | st.integers(-128, 127), st.none() | st.binary(max_size=20), st.none() | extensions,
)


@given(st.integers(0, 0x1FFF), st.binary(max_size=184), st.booleans(), st.integers(0, 15), st.booleans(),
       st.booleans(), st.integers(0, 3), st.none() | fields)
def test_round_trip(pid: int, payload: bytes, pusi: bool, cc: int, tei: bool, prio: bool, sc: int,
                    af: AdaptationField | None) -> None:
    packet = TsPacket(pid, payload, pusi, cc, tei, prio, sc, af)
    try:
        raw = packet.to_bytes()
    except LocalProtocolError:
        return  # the adaptation field does not fit beside this payload
    assert len(raw) == 188
    back = TsPacket.parse(raw)
    assert back.to_bytes() == raw
    assert (back.pid, back.payload, back.payload_unit_start_indicator, back.continuity_counter) == (
        pid, payload, pusi, cc)
    if af is not None:
        got = back.adaptation_field
        assert got is not None
        assert (got.pcr, got.opcr, got.splice_countdown, got.transport_private_data, got.extension) == (
            af.pcr, af.opcr, af.splice_countdown, af.transport_private_data, af.extension)


@given(st.binary(min_size=188, max_size=188))
def test_random_bytes_raise_only_protocol_errors(raw: bytes) -> None:
    raw = b"\x47" + raw[1:]
    try:
        TsPacket.parse(raw)
    except ProtocolError:
        pass


@given(st.sampled_from([c for c in CASES]), st.integers(4, 187), st.integers(0, 255))
def test_mutated_packets_raise_only_protocol_errors(case: tuple[str, bytes, TsPacket], pos: int, value: int) -> None:
    raw = bytearray(_bytes(case[0], case[1]))
    raw[pos] = value
    try:
        TsPacket.parse(bytes(raw)).to_bytes()
    except (ProtocolError, LocalProtocolError):
        pass
