from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.bits import BitReader, BitWriter, ebsp_to_rbsp, rbsp_to_ebsp
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError

# ue(v) code words from ITU-T H.264 table 9-2.
UE_TABLE = [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (4, "00101"), (5, "00110"), (6, "00111"),
            (7, "0001000"), (14, "0001111"), (15, "000010000")]
# se(v) mapping from table 9-3.
SE_TABLE = [(0, 0), (1, 1), (2, -1), (3, 2), (4, -2), (5, 3), (6, -3)]


def _bits_to_bytes(bits: str) -> bytes:
    bits = bits + "1"  # a stop bit so trailing zeros are not mistaken for data
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


@pytest.mark.parametrize("value,code", UE_TABLE)
def test_ue_table(value: int, code: str) -> None:
    assert BitReader(_bits_to_bytes(code)).read_ue() == value
    w = BitWriter()
    w.write_ue(value)
    w.write_trailing_bits()
    assert w.getvalue() == _bits_to_bytes(code)


@pytest.mark.parametrize("code_num,value", SE_TABLE)
def test_se_table(code_num: int, value: int) -> None:
    w = BitWriter()
    w.write_ue(code_num)
    assert BitReader(w.getvalue()).read_se() == value
    w2 = BitWriter()
    w2.write_se(value)
    assert w2.getvalue() == w.getvalue()


fields = st.lists(
    st.one_of(
        st.tuples(st.just("u"), st.integers(1, 70)).flatmap(lambda t: st.tuples(st.just(t[1]), st.integers(0, 2 ** t[1] - 1))),
        st.tuples(st.just("ue"), st.integers(0, 2**32 - 2)),
        st.tuples(st.just("se"), st.integers(-(2**31) + 1, 2**31 - 1)),
        st.tuples(st.just("bytes"), st.binary(max_size=20)),
    ),
    max_size=60,
)


@given(fields)
def test_writer_reader_round_trip(items: list[tuple[object, object]]) -> None:
    w = BitWriter()
    for kind, value in items:
        if kind == "ue":
            w.write_ue(value)  # type: ignore[arg-type]
        elif kind == "se":
            w.write_se(value)  # type: ignore[arg-type]
        elif kind == "bytes":
            w.write_bytes(value)  # type: ignore[arg-type]
        else:
            w.write(value, kind)  # type: ignore[arg-type]
    total = w.bit_length
    w.write_trailing_bits()
    r = BitReader(w.getvalue())
    for kind, value in items:
        if kind == "ue":
            assert r.read_ue() == value
        elif kind == "se":
            assert r.read_se() == value
        elif kind == "bytes":
            assert bytes(r.read(8) for _ in range(len(value))) == value  # type: ignore[arg-type]
        else:
            assert r.read(kind) == value  # type: ignore[arg-type]
    assert r.position == total
    assert not r.more_rbsp_data()


def test_more_rbsp_data() -> None:
    r = BitReader(bytes([0b10110000]))
    r.read(1)
    assert r.more_rbsp_data()  # "01" then the stop bit
    r.read(2)
    assert not r.more_rbsp_data()


def test_reader_errors_are_parse_errors_with_offset() -> None:
    r = BitReader(b"\x00\x00")
    with pytest.raises(ParseError) as exc:
        r.read_ue()
    assert exc.value.offset == 0
    r = BitReader(b"\xff")
    r.read(8)
    with pytest.raises(ParseError) as exc:
        r.read(1)
    assert exc.value.offset == 1


def test_writer_rejects_overflow() -> None:
    with pytest.raises(LocalProtocolError):
        BitWriter().write(4, 2)


@given(st.binary(max_size=64))
def test_reader_raises_only_protocol_errors(data: bytes) -> None:
    r = BitReader(data)
    try:
        while True:
            r.read_ue()
            r.read_se()
            r.read(3)
    except ProtocolError:
        pass


# Emulation prevention: H.264 section 7.4.1 examples.
@pytest.mark.parametrize(
    "rbsp,ebsp",
    [
        (b"\x00\x00\x00", b"\x00\x00\x03\x00"),
        (b"\x00\x00\x01", b"\x00\x00\x03\x01"),
        (b"\x00\x00\x02", b"\x00\x00\x03\x02"),
        (b"\x00\x00\x03", b"\x00\x00\x03\x03"),
        (b"\x00\x00\x04", b"\x00\x00\x04"),
        (b"\x00\x00\x00\x00\x01", b"\x00\x00\x03\x00\x00\x03\x01"),
        (b"\x65\x00\x00", b"\x65\x00\x00\x03"),  # cabac_zero_word at the end
        (b"\x01\x02", b"\x01\x02"),
    ],
)
def test_emulation_prevention_vectors(rbsp: bytes, ebsp: bytes) -> None:
    assert rbsp_to_ebsp(rbsp) == ebsp
    assert ebsp_to_rbsp(ebsp) == rbsp


@given(st.lists(st.sampled_from([b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\xff"]), max_size=200).map(b"".join))
def test_emulation_prevention_round_trip(rbsp: bytes) -> None:
    ebsp = rbsp_to_ebsp(rbsp)
    for bad in (b"\x00\x00\x00", b"\x00\x00\x01", b"\x00\x00\x02"):
        assert bad not in ebsp
    trailing_zeros = len(rbsp) - len(rbsp.rstrip(b"\x00"))
    if trailing_zeros % 2 == 0:  # RBSP ends in its stop bit or in whole cabac_zero_words
        assert not ebsp.endswith(b"\x00")
    assert ebsp_to_rbsp(ebsp) == rbsp


# bitstring as an independent reference for the exp-Golomb and fixed-width codes.
import bitstring  # noqa: E402  (a runtime dependency: always installed)


@given(st.lists(st.one_of(
    st.tuples(st.just("ue"), st.integers(0, 2**20)),
    st.tuples(st.just("se"), st.integers(-(2**20), 2**20)),
    st.tuples(st.sampled_from(["uint:1", "uint:7", "uint:16", "uint:33"]), st.integers(0, 1)),
), max_size=40))
def test_against_bitstring(items: list[tuple[str, int]]) -> None:
    fmt = ", ".join(f"{k}={v}" for k, v in items)
    reference = bitstring.pack(fmt) if items else bitstring.BitArray()
    w = BitWriter()
    for kind, value in items:
        if kind == "ue":
            w.write_ue(value)
        elif kind == "se":
            w.write_se(value)
        else:
            w.write(value, int(kind.split(":")[1]))
    assert w.bit_length == len(reference)
    padded = reference + bitstring.Bits("0b" + "0" * (-len(reference) % 8)) if len(reference) % 8 else reference
    assert w.getvalue() == padded.bytes
    r = BitReader(padded.bytes)
    for kind, value in items:
        got = r.read_ue() if kind == "ue" else r.read_se() if kind == "se" else r.read(int(kind.split(":")[1]))
        assert got == value
