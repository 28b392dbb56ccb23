"""The compound parser's inline paths (SR with one block, SDES with one item, NACK) against the
general per-type parsers, hand-worked RFC 3550 / RFC 4585 layouts, and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError, ProtocolError
from mediaproto.rtp.rtcp import (
    SDES_CNAME,
    ReceiverReport,
    ReportBlock,
    SdesChunk,
    SenderReport,
    SourceDescription,
    parse_compound,
    serialize_compound,
)
from mediaproto.rtp.rtcp_feedback import GenericNack

H = bytes.fromhex

# SR (RFC 3550 6.4.1): V=2 RC=1 PT=200 length=12 | SSRC | NTP (2 words) | RTP ts | packets | octets
# | report block: SSRC_1 | fraction lost (8) + cumulative lost (signed 24) | highest | jitter | LSR | DLSR
SR_HEX = (
    "81c8000c 00000001 eeb0e750 0c8b4395 00000064 0000000a 00000400"
    "00000002 {word} 0001000a 00000020 11223344 00018000"
)
# SDES (RFC 3550 6.5): RC=1 | SSRC | CNAME (1), length 2, "ab" | END | null octets to the word
SDES_HEX = "81ca0003 00000001 01026162 00000000"
# Generic NACK (RFC 4585 6.2.1): FMT=1 PT=205 | sender SSRC | media SSRC | PID | BLP ...
NACK_HEX = "81cd0003 00000001 00000002 00640011"


@pytest.mark.parametrize(
    "word,fraction,lost",
    [("10fffffe", 0x10, -2), ("ff800000", 255, -0x800000), ("007fffff", 0, 0x7FFFFF), ("01000000", 1, 0)],
)
def test_sr_one_block_then_sdes_then_nack(word: str, fraction: int, lost: int) -> None:
    data = H(SR_HEX.format(word=word) + SDES_HEX + NACK_HEX)
    block = ReportBlock(2, fraction, lost, 0x1000A, 0x20, 0x11223344, 0x18000)
    sr = SenderReport(1, 0xEEB0E7500C8B4395, 100, 10, 1024, (block,))
    sdes = SourceDescription((SdesChunk(1, ((SDES_CNAME, b"ab"),)),))
    nack = GenericNack(1, 2, ((100, 0x11),))
    assert parse_compound(data) == [sr, sdes, nack]
    assert parse_compound(data, strict=True, sdes_without_end=True) == [sr, sdes, nack]
    assert nack.lost == [100, 101, 105]  # PID, then BLP bits 0 and 4
    # The SR alone (no next header to read with it) and last in the compound.
    alone = H(SR_HEX.format(word=word))
    assert parse_compound(alone) == [sr]
    assert parse_compound(H(SDES_HEX) + alone) == [sdes, sr]


@pytest.mark.parametrize(
    "hex_,items",
    [
        ("81ca0002 00000001 01026161", None),  # no END: the lenient path only
        ("81ca0002 00000001 01010100", ((1, b"\x01"),)),  # END right at the end of the word
        ("81ca0003 00000001 01020102 00000000", ((1, b"\x01\x02"),)),
        ("81ca0004 00000001 01020102 00000000 00000000", ((1, b"\x01\x02"),)),  # an extra null word
        ("81ca0003 00000001 01000200 00000000", ((1, b""), (2, b""))),  # two empty items
        ("81ca0002 00000001 00000000", ()),  # a chunk with no item
    ],
)
def test_sdes_shapes(hex_: str, items: tuple[tuple[int, bytes], ...] | None) -> None:
    if items is None:
        with pytest.raises(ParseError):
            parse_compound(H(hex_))
        assert parse_compound(H(hex_), sdes_without_end=True) == [SourceDescription((SdesChunk(1, ((1, b"aa"),)),))]
    else:
        assert parse_compound(H(hex_)) == [SourceDescription((SdesChunk(1, items),))]


@pytest.mark.parametrize(
    "hex_",
    [
        "81ca0003 00000001 01020102 00000000 ffffffff",  # length says 3 words, 4 follow
        "81ca0004 00000001 01020102 00000000 00000001",  # garbage after the chunk
        "81ca0002 00000001 01050102",  # item longer than the packet
        "81cd0002 00000001 00000002 00640011",  # NACK length one short
        "81c8000c 00000001",  # SR length overruns
        "81c8000c" + "00" * 48 + "80",  # SR then a partial header
    ],
)
def test_fast_shapes_invalid(hex_: str) -> None:
    with pytest.raises(ParseError):
        parse_compound(H(hex_))


def _reference_lost(pairs: tuple[tuple[int, int], ...]) -> list[int]:
    """RFC 4585 6.2.1 read literally: PID, then PID + i + 1 for each set bit i of BLP (16-bit)."""
    out = []
    for pid, blp in pairs:
        out.append(pid)
        out.extend((pid + i + 1) % 65536 for i in range(16) if blp & (1 << i))
    return out


u16 = st.integers(0, 0xFFFF)
pairs = st.lists(st.tuples(st.one_of(u16, st.integers(0xFFE0, 0xFFFF)), u16), max_size=6).map(tuple)


@given(pairs)
def test_nack_lost_matches_rfc_reading(p: tuple[tuple[int, int], ...]) -> None:
    nack = GenericNack(1, 2, p)
    assert nack.lost == _reference_lost(p)
    assert parse_compound(bytes(nack)) == [nack]


u32 = st.integers(0, 0xFFFFFFFF)
one_block = st.builds(ReportBlock, u32, st.integers(0, 255), st.integers(-0x800000, 0x7FFFFF), u32, u32, u32, u32)
fast_shapes = st.one_of(
    st.builds(SenderReport, u32, st.integers(0, (1 << 64) - 1), u32, u32, u32, st.tuples(one_block)),
    st.builds(ReceiverReport, u32, st.tuples(one_block)),
    st.builds(SourceDescription, st.tuples(st.builds(
        SdesChunk, u32, st.tuples(st.tuples(st.integers(1, 255), st.binary(max_size=12)))))),
    st.builds(GenericNack, u32, u32, pairs),
)


def _padded(packet: bytes) -> bytes:
    """The same packet with the P bit and one padding word: the general parsers read it."""
    words = int.from_bytes(packet[2:4], "big") + 1
    return bytes((packet[0] | 0x20, packet[1])) + words.to_bytes(2, "big") + packet[4:] + H("00000004")


@given(st.lists(fast_shapes, min_size=1, max_size=4))
def test_inline_paths_equal_general_parsers(pkts: list) -> None:  # type: ignore[type-arg]
    data = serialize_compound(pkts)
    padded = b"".join(_padded(bytes(p)) for p in pkts)
    assert parse_compound(data) == pkts
    assert parse_compound(padded) == pkts
    assert parse_compound(data, sdes_without_end=True) == pkts


SEEDS = [
    H(SR_HEX.format(word="10fffffe") + SDES_HEX + NACK_HEX),
    H(SR_HEX.format(word="10fffffe") + "81cd0005 00000001 00000002 00640011 00820001 00c88000"),
    H(SDES_HEX + "81cd0004 00000001 00000002 00640011 00820001"),
]


@given(st.sampled_from(SEEDS), st.data())
def test_mutated_fast_shapes_raise_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    buf = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        buf[draw.draw(st.integers(0, len(buf) - 1))] = draw.draw(st.integers(0, 255))
    buf = buf[: draw.draw(st.integers(0, len(buf)))]
    for lenient in (False, True):
        try:
            for p in parse_compound(bytes(buf), sdes_without_end=lenient, strict=lenient):
                bytes(p)  # what parses must also serialize
                if isinstance(p, GenericNack):
                    assert p.lost == _reference_lost(p.pairs)
        except ProtocolError:
            pass
