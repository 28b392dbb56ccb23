"""RTCP feedback (RFC 4585, RFC 5104, TWCC, REMB) and XR (RFC 3611): real bytes, RFC layouts,
properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtp.rtcp import parse_compound, serialize_compound
from mediaproto.rtp.rtcp_base import RawRtcpPacket
from mediaproto.rtp.rtcp_feedback import (
    FullIntraRequest,
    GenericNack,
    PictureLossIndication,
    ReceiverEstimatedMaxBitrate,
    SliceLossIndication,
    TransportWideFeedback,
)
from mediaproto.rtp.rtcp_xr import DelaySinceLastRr, DlrrItem, ExtendedReport, RawXrBlock, ReceiverReferenceTime

H = bytes.fromhex

# pion/rtcp transport_layer_cc_test.go "example1" and "example4" (bytes from Chrome), with
# pion's decoded values; they also round-trip through our builder.
TWCC_EXAMPLE1 = H("afcd0005 fa17fa17 43032fa0 00990001 3de80217 20019401")
TWCC_EXAMPLE4 = H("afcd0007 fa17fa17 193dd8bb 00040007 10636e01 20074c24 24100c0c 10000003")

CASES = [
    # RFC 4585 6.2.1: PID 65534, BLP bits 0 and 1: packets 65534, 65535 and 0.
    ("nack-wrap", H("81cd0003 00000001 00000002 fffe0003"), GenericNack(1, 2, ((65534, 3),))),
    ("nack-two-pairs", H("81cd0004 00000001 00000002 000a8000 00640000"), GenericNack(1, 2, ((10, 0x8000), (100, 0)))),
    ("pli", H("81ce0002 00000001 00000002"), PictureLossIndication(1, 2)),
    # RFC 4585 6.3.2: first=1 (13 bits), number=2 (13 bits), PictureID=3 (6 bits).
    ("sli", H("82ce0003 00000001 00000002 00080083"), SliceLossIndication(1, 2, ((1, 2, 3),))),
    # RFC 5104 4.3.1: media SSRC 0, FCI = SSRC, seq nr, 24 reserved bits.
    ("fir", H("84ce0004 00000001 00000000 00000005 07000000"), FullIntraRequest(1, 0, ((5, 7),))),
    # Chrome REMB (pion's receiver_estimated_maximum_bitrate_test.go): 139487 * 2**6 bit/s.
    (
        "remb-chrome",
        bytes([143, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 82, 69, 77, 66, 1, 26, 32, 223, 72, 116, 237, 22]),
        ReceiverEstimatedMaxBitrate(1, 6, 139487, (1215622422,)),
    ),
    (
        "twcc-pion-example1",
        TWCC_EXAMPLE1,
        TransportWideFeedback(4195875351, 1124282272, 153, 1, 4057090, 23, (0x2001,), (148,)),
    ),
    (
        "twcc-pion-example4",
        TWCC_EXAMPLE4,
        TransportWideFeedback(4195875351, 423483579, 4, 7, 1074030, 1, (0x2007,), (76, 36, 36, 16, 12, 12, 16)),
    ),
    ("rtpfb-tmmbr-raw", H("83cd0003 00000001 00000002 01020304"), RawRtcpPacket(205, 3, H("00000001 00000002 01020304"))),
    ("psfb-afb-raw", H("8fce0003 00000001 00000002 41424344"), RawRtcpPacket(206, 15, H("00000001 00000002 41424344"))),
    (
        "xr-rrtr",
        H("80cf0004 00000001 04000002 eeb0e750 0c8b4395"),
        ExtendedReport(1, (ReceiverReferenceTime(0xEEB0E7500C8B4395),)),
    ),
    (
        "xr-dlrr-and-raw",
        H("80cf0007 00000001 05000003 00000002 00000003 00000004 07ab0001 01020304"),
        ExtendedReport(1, (DelaySinceLastRr((DlrrItem(2, 3, 4),)), RawXrBlock(7, 0xAB, H("01020304")))),
    ),
]


@pytest.mark.parametrize("name,data,packet", CASES, ids=[c[0] for c in CASES])
def test_parse(name: str, data: bytes, packet: object) -> None:
    assert parse_compound(data) == [packet]


@pytest.mark.parametrize("name,data,packet", CASES, ids=[c[0] for c in CASES])
def test_serialize(name: str, data: bytes, packet: object) -> None:
    assert bytes(packet) == data  # type: ignore[call-overload]


def test_nack_expansion_wraps_at_65536() -> None:
    # aiortc expands this to [65535, 65536]; RFC 4585 sequence numbers are 16-bit.
    nack = GenericNack(1, 2, ((65535, 1),))
    assert nack.lost == [65535, 0]
    assert parse_compound(H("81cd0003 00000001 00000002 fffe0003"))[0].lost == [65534, 65535, 0]  # type: ignore[union-attr]


def test_nack_from_lost() -> None:
    assert GenericNack.from_lost(1, 2, [65530, 65535, 3, 30]).pairs == ((65530, 0x10 | 0x100), (30, 0))
    assert GenericNack.from_lost(1, 2, [5, 5, 6]).pairs == ((5, 1),)
    assert GenericNack.from_lost(1, 2, []).pairs == ()


@given(st.lists(st.integers(0, 0xFFFF), max_size=40))
def test_nack_from_lost_roundtrip(lost: list[int]) -> None:
    start = lost[0] if lost else 0
    ordered = sorted(set(lost), key=lambda s: (s - start) & 0xFFFF)
    nack = GenericNack.from_lost(1, 2, ordered)
    assert nack.lost == ordered
    assert parse_compound(bytes(nack)) == [nack]


def test_twcc_draft_chunk_examples() -> None:
    # draft-holmer-rmcat-transport-wide-cc-extensions-01, 3.1.3 and 3.1.4.
    def statuses(chunk: int, n: int) -> list[int]:
        return TransportWideFeedback(0, 0, 0, n, 0, 0, (chunk,)).packet_statuses

    assert statuses(0x00DD, 221) == [0] * 221
    assert statuses(0x6018, 24) == [3] * 24
    assert statuses(0x9F1C, 14) == [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]
    assert statuses(0xCD50, 7) == [0, 3, 1, 1, 1, 0, 0]


def test_twcc_pion_decode_only() -> None:
    """libwebrtc quirks in pion's examples 2 and 3: the P bit set without a valid padding count,
    and status 3 ("received without delta")."""
    ex2 = H("afcd0006 fa17fa17 193dd8bb 0174000e 45b15a40 d800f0ff d0000003")
    (p,) = parse_compound(ex2)
    assert isinstance(p, TransportWideFeedback)
    assert (p.base_sequence_number, p.packet_status_count, p.reference_time, p.fb_pkt_count) == (372, 14, 4567386, 64)
    assert p.packet_statuses == [1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 3, 3, 3, 3]
    assert p.recv_deltas == (208, 0)
    ex3 = H("afcd0007 fa17fa17 193dd8bb 01740006 45b15a40 40022004 1ffe1f9a d000d000")
    (p,) = parse_compound(ex3)
    assert isinstance(p, TransportWideFeedback)
    assert p.packet_statuses == [2, 2, 1, 1, 1, 1]
    assert [d * 250 for d in p.recv_deltas] == [2047500, 2022500, 52000, 0, 52000, 0]
    assert p.received()[0] == (372, 4567386 * 64000 + 2047500)


def test_twcc_padding_is_written_back_as_received() -> None:
    """Issue 16: a TWCC whose FCI ends in zero padding without the P bit comes back byte-exact
    (it used to be written with the P bit and a padding count); libwebrtc's P-bit forms too."""
    zero_padded = H("8fcd0005 fa17fa17 43032fa0 00990001 3de80217 20019400")
    (p,) = parse_compound(zero_padded)
    assert isinstance(p, TransportWideFeedback)
    example1 = TransportWideFeedback(4195875351, 1124282272, 153, 1, 4057090, 23, (0x2001,), (148,))
    assert p == example1  # the same feedback as pion's example 1, padded differently
    assert (p.padding_bit, p.tail) == (False, b"\x00")
    assert bytes(p) == zero_padded
    assert bytes(example1) == TWCC_EXAMPLE1  # built: the P bit and a padding count
    for data in (TWCC_EXAMPLE1, TWCC_EXAMPLE4,
                 H("afcd0006 fa17fa17 193dd8bb 0174000e 45b15a40 d800f0ff d0000003"),
                 H("afcd0007 fa17fa17 193dd8bb 01740006 45b15a40 40022004 1ffe1f9a d000d000"),
                 H("8fcd0006 fa17fa17 193dd8bb 00990001 3de80217 20019400 00000000")):
        assert serialize_compound(parse_compound(data)) == data


def test_twcc_build_all_chunk_kinds() -> None:
    statuses = [1] * 20 + [0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1] + [2, 1, 0, 2, 1, 1, 1] + [0, 1]
    deltas = [4 if s == 1 else -300 for s in statuses if s]
    fb = TransportWideFeedback.build(1, 2, 65530, 0xABCDEF, 9, statuses, deltas)
    kinds = {c >> 14 for c in fb.chunks}
    assert kinds == {0, 2, 3}  # run length, 1-bit vector, 2-bit vector
    assert fb.packet_statuses == statuses
    data = bytes(fb)
    assert len(data) % 4 == 0
    assert parse_compound(data) == [fb]
    assert fb.received()[0] == (65530, 0xABCDEF * 64000 + 1000)


@given(
    st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=120),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFF),
    st.integers(0, 255),
)
def test_twcc_roundtrip_property(statuses: list[int], base: int, ref: int, count: int) -> None:
    deltas = [7 if s == 1 else -7 for s in statuses if s]
    fb = TransportWideFeedback.build(1, 2, base, ref, count, statuses, deltas)
    assert fb.packet_statuses == statuses
    assert parse_compound(bytes(fb)) == [fb]


def test_twcc_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        bytes(TransportWideFeedback.build(1, 2, 0, 0, 0, [1], []))
    with pytest.raises(LocalProtocolError):
        bytes(TransportWideFeedback.build(1, 2, 0, 0, 0, [1], [1, 2]))
    with pytest.raises(LocalProtocolError):
        bytes(TransportWideFeedback.build(1, 2, 0, 0, 0, [1], [256]))
    with pytest.raises(LocalProtocolError):
        bytes(TransportWideFeedback(1, 2, 0, 5, 0, 0, (0x2001,), (1,)))


def test_remb_bitrate() -> None:
    remb = ReceiverEstimatedMaxBitrate.from_bitrate(1, 8927168, (1215622422,))
    assert (remb.br_exp, remb.br_mantissa, remb.bitrate) == (6, 139487, 8927168)
    assert ReceiverEstimatedMaxBitrate.from_bitrate(1, 8927167).bitrate == 8927104  # rounds down
    with pytest.raises(LocalProtocolError):
        ReceiverEstimatedMaxBitrate.from_bitrate(1, -1)


INVALID = [
    ("nack-short", H("81cd0001 00000001")),
    ("twcc-short", H("8fcd0003 00000001 00000002 00000003")),
    ("twcc-chunks-missing", H("8fcd0004 00000001 00000002 00000005 00000000")),
    ("twcc-deltas-missing", H("8fcd0005 00000001 00000002 00000005 00000000 20050000")),
    ("psfb-short", H("81ce0001 00000001")),
    ("fir-half-entry", H("84ce0003 00000001 00000000 00000005")),
    ("remb-ssrcs-missing", H("8fce0005 00000001 00000000 52454d42 021a20df 00000001")),
    ("xr-short", H("80cf0000")),
    ("xr-block-overrun", H("80cf0002 00000001 04000002")),
    ("xr-rrtr-bad-length", H("80cf0003 00000001 04000001 00000000")),
    ("xr-dlrr-bad-length", H("80cf0003 00000001 05000001 00000000")),
]


@pytest.mark.parametrize("name,data", INVALID, ids=[c[0] for c in INVALID])
def test_invalid(name: str, data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_compound(data)


@pytest.mark.parametrize(
    "packet",
    [
        GenericNack(1, 2, ((65536, 0),)),
        GenericNack(1 << 32, 2),
        SliceLossIndication(1, 2, ((8192, 0, 0),)),
        FullIntraRequest(1, 0, ((1, 256),)),
        ReceiverEstimatedMaxBitrate(1, 64, 0),
        ReceiverEstimatedMaxBitrate(1, 0, 1 << 18),
        ExtendedReport(1, (ReceiverReferenceTime(1 << 64),)),
        ExtendedReport(1, (RawXrBlock(1, 0, b"abc"),)),
        ExtendedReport(1, (DelaySinceLastRr((DlrrItem(1 << 32, 0, 0),)),)),
    ],
)
def test_build_rejects_out_of_range(packet: object) -> None:
    with pytest.raises(LocalProtocolError):
        bytes(packet)  # type: ignore[call-overload]


u32 = st.integers(0, 0xFFFFFFFF)
feedback = st.one_of(
    st.builds(GenericNack, u32, u32, st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)), max_size=5).map(tuple)),
    st.builds(PictureLossIndication, u32, u32),
    st.builds(SliceLossIndication, u32, u32,
              st.lists(st.tuples(st.integers(0, 8191), st.integers(0, 8191), st.integers(0, 63)), max_size=3).map(tuple)),
    st.builds(FullIntraRequest, u32, u32, st.lists(st.tuples(u32, st.integers(0, 255)), max_size=3).map(tuple)),
    st.builds(ReceiverEstimatedMaxBitrate, u32, st.integers(0, 63), st.integers(0, (1 << 18) - 1),
              st.lists(u32, max_size=3).map(tuple), u32),
    st.builds(ExtendedReport, u32, st.lists(st.one_of(
        st.builds(ReceiverReferenceTime, st.integers(0, (1 << 64) - 1)),
        st.builds(DelaySinceLastRr, st.lists(st.builds(DlrrItem, u32, u32, u32), max_size=2).map(tuple)),
        st.builds(RawXrBlock, st.integers(6, 255), st.integers(0, 255), st.binary(max_size=8).map(lambda b: b[: len(b) // 4 * 4])),
    ), max_size=3).map(tuple)),
)


@given(st.lists(feedback, min_size=1, max_size=4))
def test_roundtrip_property(pkts: list) -> None:  # type: ignore[type-arg]
    data = serialize_compound(pkts)
    assert parse_compound(data) == pkts
    assert serialize_compound(parse_compound(data)) == data


@given(st.sampled_from([c[1] for c in CASES]), st.data())
def test_mutated_bytes_raise_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    buf = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        buf[draw.draw(st.integers(0, len(buf) - 1))] = draw.draw(st.integers(0, 255))
    buf = buf[: draw.draw(st.integers(0, len(buf)))]
    try:
        for p in parse_compound(bytes(buf)):
            if isinstance(p, TransportWideFeedback):
                p.received()
    except ProtocolError:
        pass


@given(st.integers(200, 207), st.integers(0, 31), st.binary(max_size=60))
def test_random_bodies_raise_only_protocol_errors(pt: int, count: int, body: bytes) -> None:
    body = body[: len(body) // 4 * 4]
    data = bytes((0x80 | count, pt)) + (len(body) // 4).to_bytes(2, "big") + body
    try:
        parse_compound(data)
    except ProtocolError:
        pass
