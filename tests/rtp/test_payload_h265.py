"""H.265 over RTP (RFC 7798): AP and FU layouts from the RFC, DONL, round trips, loss, fuzzing."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError, ProtocolError
from mediaproto.media import Frame
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import H265Depacketizer, H265Packetizer

# NAL unit headers: F=0, type, LayerId=0, TID=1
VPS = b"\x40\x01" + bytes.fromhex("0c01ffff016000000300b0")
SPS = b"\x42\x01" + bytes.fromhex("0101600000030090")
PPS = b"\x44\x01" + bytes.fromhex("c172b46240")
AUD = b"\x46\x01\x10"


def idr(n: int) -> bytes:  # IDR_W_RADL (19), first_slice_segment_in_pic_flag 1
    return b"\x26\x01\xaf" + b"\x5a" * (n - 3)


def trail(n: int, first: bool = True) -> bytes:  # TRAIL_R (1)
    return b"\x02\x01" + (b"\xd0" if first else b"\x50") + b"\x33" * (n - 3)


def pkt(seq: int, ts: int, payload: bytes, marker: bool = False) -> RtpPacket:
    return RtpPacket(96, seq & 0xFFFF, ts, 77, payload, marker)


def feed_all(d: H265Depacketizer, packets: list[RtpPacket]) -> list[Frame]:
    return [f for p in packets for f in d.feed(p)]


def test_aggregation_packet_layout_rfc7798_4_4_2() -> None:
    # Figure 7: PayloadHdr (type 48, F = OR, LayerId and TID the lowest), then size + NAL unit each.
    expected = b"\x60\x01" + b"".join(struct.pack(">H", len(n)) + n for n in (VPS, SPS, PPS))
    packets = H265Packetizer(96, ssrc=1).packetize(Frame(0, 0, 0, (VPS, SPS, PPS, idr(3000)), True))
    assert packets[0].payload == expected
    assert H265Depacketizer(0)._parse(expected) == ([VPS, SPS, PPS], None)


def test_fragmentation_unit_layout_rfc7798_4_4_3() -> None:
    # PayloadHdr: type 49 with the NAL unit's F, LayerId, TID; FU header: S, E, FuType.
    nal = idr(2500)
    payloads = [x.payload for x in H265Packetizer(96, ssrc=1, mtu=1012).packetize(Frame(0, 0, 0, (nal,), True))]
    body = nal[2:]
    assert payloads == [b"\x62\x01\x93" + body[:997], b"\x62\x01\x13" + body[997:1994], b"\x62\x01\x53" + body[1994:]]


def test_round_trip_keyframe_and_sizes() -> None:
    p = H265Packetizer(96, ssrc=1, mtu=400, parameter_sets=(VPS, SPS, PPS), insert_parameter_sets=True)
    key = Frame(0, 0, 0, (AUD, idr(1000)), True)
    packets = p.packetize(key) + p.packetize(Frame(0, 3000, 3000, (trail(500), trail(300, first=False))))
    assert all(len(bytes(x)) <= 400 for x in packets)
    d = H265Depacketizer(0)
    frames = feed_all(d, packets)
    assert frames == [
        Frame(0, 0, 0, (AUD, VPS, SPS, PPS, idr(1000)), True),
        Frame(0, 3000, 3000, (trail(500), trail(300, first=False)), False),
    ]


def test_donl_fields_are_skipped() -> None:
    d = H265Depacketizer(0, donl=True)
    ap = b"\x60\x01" + b"\x00\x05" + struct.pack(">H", len(VPS)) + VPS + b"\x00" + struct.pack(">H", len(SPS)) + SPS
    assert d._parse(ap) == ([VPS, SPS], None)
    nal = idr(10)
    assert d._parse(nal[:2] + b"\x00\x07" + nal[2:]) == ([nal], None)
    fu_start = b"\x62\x01\x93" + b"\x00\x08" + nal[2:6]
    assert d._parse(fu_start) == ([], (True, False, nal[:2], nal[2:6]))


def test_gap_drops_the_unit_and_late_joiner() -> None:
    p = H265Packetizer(96, ssrc=1, mtu=300)
    f1 = Frame(0, 0, 0, (idr(1200),), True)
    f2 = Frame(0, 3000, 3000, (trail(900),))
    packets = p.packetize(f1) + p.packetize(f2)
    assert feed_all(H265Depacketizer(0), packets[:2] + packets[3:]) == [f2]
    assert feed_all(H265Depacketizer(0), packets[1:]) == [f2]


@pytest.mark.parametrize("payload", [b"", b"\x02", b"\x64\x01\x00", b"\x60\x01\x00\x09\x02\x01", b"\x60\x01\x00\x01\x02", b"\x7e\x01\x00"])
def test_malformed(payload: bytes) -> None:
    with pytest.raises(ParseError):
        H265Depacketizer(0).feed(pkt(1, 0, payload, True))


def test_quirk_fu_with_start_and_end_bits() -> None:
    nal = idr(30)
    d = H265Depacketizer(0)
    assert d.feed(pkt(1, 0, b"\x62\x01\xd3" + nal[2:], True)) == [Frame(0, 0, 0, (nal,), True)]
    assert d.quirks_seen == {"fu-start-and-end"}


bodies = st.binary(min_size=1, max_size=2000)


@given(st.lists(st.tuples(st.booleans(), bodies, st.lists(bodies, max_size=3)), min_size=1, max_size=4), st.integers(40, 1500))
def test_round_trip_property(units: list[tuple[bool, bytes, list[bytes]]], mtu: int) -> None:
    frames = []
    for i, (key, first, rest) in enumerate(units):
        t = 19 if key else 1
        nals = (bytes([t << 1, 1, 0x80 | first[0]]) + first[1:], *(bytes([t << 1, 1, b[0] & 0x7F]) + b[1:] for b in rest))
        nals = tuple(n.replace(b"\x00\x00", b"\x00\x03") for n in nals)
        frames.append(Frame(0, 3000 * i, 3000 * i, nals, key))
    p = H265Packetizer(96, ssrc=1, mtu=mtu)
    packets = [x for f in frames for x in p.packetize(f)]
    assert all(len(bytes(x)) <= mtu for x in packets)
    d = H265Depacketizer(0)
    assert feed_all(d, packets) + d.flush() == frames


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_random_payloads_raise_only_protocol_errors(payloads: list[bytes]) -> None:
    for donl in (False, True):
        d = H265Depacketizer(0, donl=donl)
        for i, payload in enumerate(payloads):
            try:
                d.feed(pkt(i, i // 2, payload, i % 2 == 1))
            except ProtocolError:
                pass


def test_quirks_shared_with_h264() -> None:
    d = H265Depacketizer(0)
    # cameras that never set the marker bit: units end when the timestamp changes
    out = [f for p in (pkt(1, 0, VPS), pkt(2, 0, idr(20)), pkt(3, 3000, trail(9))) for f in d.feed(p)]
    assert out == [Frame(0, 0, 0, (VPS, idr(20)), True)]
    assert d.flush() == [Frame(0, 3000, 3000, (trail(9),), False)]
    # an AP ending in zero padding, and a single NAL unit packet with a start code inside
    ap = b"\x60\x01" + struct.pack(">H", len(SPS)) + SPS + bytes(5)
    assert d._parse(ap) == ([SPS], None)
    assert d._parse(PPS + b"\x00\x00\x00\x01" + idr(9)) == ([PPS, idr(9)], None)
    assert d.quirks_seen == {"no-marker-bit", "aggregation-zero-padding", "annexb-in-payload"}
    with pytest.raises(ParseError):
        H265Depacketizer(0, strict=True).feed(pkt(1, 0, ap))


def test_reolink_style_parameter_sets_with_the_previous_timestamp() -> None:
    d = H265Depacketizer(0)
    packets = [pkt(1, 3000, trail(20), True), pkt(2, 3000, VPS, True), pkt(3, 6000, SPS), pkt(4, 6000, PPS),
               pkt(5, 6000, idr(40), True)]
    assert feed_all(d, packets) == [Frame(0, 3000, 3000, (trail(20),)), Frame(0, 6000, 6000, (VPS, SPS, PPS, idr(40)), True)]
    assert "parameter-sets-previous-timestamp" in d.quirks_seen
