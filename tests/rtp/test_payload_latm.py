"""AAC over RTP as MP4A-LATM (RFC 6416, cpresent=0): PayloadLengthInfo, fragments, several elements."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError, ProtocolError
from mediaproto.media import Frame
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import LatmDepacketizer, LatmPacketizer
from mediaproto.rtp.payload.latm import payload_length_info


def pkt(seq: int, ts: int, payload: bytes, marker: bool = True) -> RtpPacket:
    return RtpPacket(97, seq, ts, 3, payload, marker)


@pytest.mark.parametrize("size, expected", [(1, "01"), (254, "fe"), (255, "ff00"), (300, "ff2d"), (510, "ffff00")])
def test_payload_length_info_iso14496_3_1_7_3(size: int, expected: str) -> None:
    # PayloadLengthInfo: tmp = 8 bits, repeated while tmp == 255, MuxSlotLengthBytes = the sum
    assert payload_length_info(size).hex() == expected


def test_fragmented_element() -> None:
    au = bytes(range(256)) * 10
    p = LatmPacketizer(97, ssrc=3, clock_rate=48000, mtu=1012)
    packets = p.packetize(Frame(1, 2048, 2048, au, True))
    element = b"\xff" * 10 + bytes([2560 % 255]) + au
    assert [x.payload for x in packets] == [element[:1000], element[1000:2000], element[2000:]]
    assert [x.marker for x in packets] == [False, False, True]
    d = LatmDepacketizer(1, 48000)
    assert [f for x in packets for f in d.feed(x)] == [Frame(1, 2048, 2048, au, True)]
    d = LatmDepacketizer(1, 48000)
    after = p.packetize(Frame(1, 3072, 3072, b"next", True))
    assert [f for x in (packets[0], packets[2], *after) for f in d.feed(x)] == [Frame(1, 3072, 3072, b"next", True)]
    assert (d.lost_packets, d.lost_units) == (1, 1)
    # a whole element lost: the packet after the gap is skipped too (it might be a continuation)
    q = LatmPacketizer(97, ssrc=3, clock_rate=48000)
    sent = [x for data in (b"a", b"lost", b"skipped", b"b") for x in q.packetize(Frame(1, 0, 0, data, True))]
    d = LatmDepacketizer(1, 48000)
    assert [f.data for x in (sent[0], sent[2], sent[3]) for f in d.feed(x)] == [b"a", b"b"]
    assert (d.lost_packets, d.lost_units) == (1, 1)


def test_several_elements_in_one_packet() -> None:
    payload = b"\x03abc" + b"\x02de"
    frames = LatmDepacketizer(1, 44100).feed(pkt(1, 100, payload))
    assert [(f.pts, f.data) for f in frames] == [(100, b"abc"), (1124, b"de")]


def test_new_timestamp_before_the_marker_drops_the_element() -> None:
    d = LatmDepacketizer(1, 48000)
    assert d.feed(pkt(1, 0, b"\x05ab", marker=False)) == []
    assert d.feed(pkt(2, 1024, b"\x02xy")) == [Frame(1, 1024, 1024, b"xy", True)]
    assert d.lost_units == 1


@pytest.mark.parametrize("payload", [b"", b"\xff", b"\x05ab", b"\x00"])
def test_malformed(payload: bytes) -> None:
    with pytest.raises(ParseError):
        LatmDepacketizer(1, 48000).feed(pkt(1, 0, payload))


@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=6), st.integers(20, 1500))
def test_round_trip(aus: list[bytes], mtu: int) -> None:
    frames = [Frame(1, 1024 * i, 1024 * i, a, True) for i, a in enumerate(aus)]
    p = LatmPacketizer(97, ssrc=3, clock_rate=48000, mtu=mtu)
    d = LatmDepacketizer(1, 48000)
    packets = [x for f in frames for x in p.packetize(f)]
    assert all(len(bytes(x)) <= mtu for x in packets)
    assert [f for x in packets for f in d.feed(x)] == frames


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_random_payloads_raise_only_protocol_errors(payloads: list[bytes]) -> None:
    d = LatmDepacketizer(1, 48000)
    for i, payload in enumerate(payloads):
        try:
            d.feed(pkt(i, i // 2, payload, i % 2 == 1))
        except ProtocolError:
            pass
