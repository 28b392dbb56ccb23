"""Opus (RFC 7587), G.711 (RFC 3551) and MPEG-TS over RTP (RFC 2250); the shared base."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.media import Frame
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import (
    G711Depacketizer,
    G711Packetizer,
    Mp2tDepacketizer,
    Mp2tPacketizer,
    OpusDepacketizer,
    OpusPacketizer,
)


def test_opus_clock_is_48k_rfc7587_4_1() -> None:
    p = OpusPacketizer(111, ssrc=3, track_clock_rate=16000, initial_sequence=7)
    a = p.packetize(Frame(0, 320, 320, b"\x78\x01\x02", True))[0]
    b = p.packetize(Frame(0, 640, 640, b"\x78\x03", True))[0]
    assert (a.timestamp, b.timestamp) == (960, 1920)
    assert (a.marker, b.marker) == (True, False)  # first packet of the talkspurt
    assert (a.sequence_number, b.sequence_number, a.payload) == (7, 8, b"\x78\x01\x02")
    p.start_talkspurt()
    assert p.packetize(Frame(0, 960, 960, b"\x78", True))[0].marker
    with pytest.raises(LocalProtocolError):
        OpusPacketizer(111, ssrc=1, clock_rate=16000)
    with pytest.raises(LocalProtocolError):
        p.packetize(Frame(0, 0, 0, bytes(1300), True))


def test_opus_depacketizer_counts_loss() -> None:
    d = OpusDepacketizer(4)
    out = [f for s in (1, 2, 5, 4, 6) for f in d.feed(RtpPacket(111, s, s * 960, 9, b"\xfc" + bytes([s])))]
    assert [f.pts for f in out] == [960, 1920, 4800, 5760]
    assert (d.lost_packets, d.lost_units, d.late_packets) == (2, 2, 1)
    with pytest.raises(ParseError):
        d.feed(RtpPacket(111, 7, 0, 9, b""))


def test_g711_samples_and_split() -> None:
    p = G711Packetizer(8, ssrc=2, mtu=12 + 160, initial_timestamp=2**32 - 160)
    packets = p.packetize(Frame(0, 0, 0, bytes(range(200)) + bytes(120), True))
    assert [(x.payload_type, x.timestamp, len(x.payload), x.marker) for x in packets] == [
        (8, 2**32 - 160, 160, True),
        (8, 0, 160, False),
    ]
    d = G711Depacketizer(0)
    frames = [f for x in packets for f in d.feed(x)]
    assert [f.pts for f in frames] == [2**32 - 160, 2**32]  # unwrapped
    assert b"".join(f.payload for f in frames) == bytes(range(200)) + bytes(120)


def test_mp2t_seven_packets_per_datagram_rfc2250() -> None:
    ts = b"".join(b"\x47" + bytes([i]) * 187 for i in range(15))
    p = Mp2tPacketizer(ssrc=1)
    assert p.mtu == 12 + 1316
    packets = p.packetize(Frame(0, 90000, 90000, ts))
    assert [len(x.payload) for x in packets] == [1316, 1316, 188]
    assert [x.payload_type for x in packets] == [33] * 3 and not any(x.marker for x in packets)
    d = Mp2tDepacketizer(0)
    assert b"".join(f.payload for x in packets for f in d.feed(x)) == ts
    assert Mp2tPacketizer(ssrc=1, mtu=600).packets_per_datagram == 3
    with pytest.raises(LocalProtocolError):
        p.packetize(Frame(0, 0, 0, bytes(100)))
    for seq, bad in enumerate((b"", bytes(188), b"\x47" * 100), start=9):
        with pytest.raises(ParseError):
            d.feed(RtpPacket(33, seq, 0, 1, bad))


def test_packetizer_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        G711Packetizer(128)
    with pytest.raises(LocalProtocolError):
        G711Packetizer(0, ssrc=2**32)
    with pytest.raises(LocalProtocolError):
        Mp2tPacketizer(mtu=100)
    with pytest.raises(LocalProtocolError):
        G711Packetizer(0, mtu=65536)


def test_ssrc_change_is_a_restart_not_a_loss() -> None:
    d = G711Depacketizer(0)
    d.feed(RtpPacket(0, 100, 0, 1, b"\xff"))
    assert d.feed(RtpPacket(0, 5, 160, 2, b"\xff"))[0].payload == b"\xff"
    assert (d.lost_packets, d.late_packets) == (0, 0)


@given(st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=400)), max_size=30))
def test_random_input_raises_only_protocol_errors(items: list[tuple[int, bytes]]) -> None:
    for d in (OpusDepacketizer(0), G711Depacketizer(0), Mp2tDepacketizer(0)):
        for seq, payload in items:
            try:
                frames = d.feed(RtpPacket(96, seq, seq * 3, 1, payload))
            except ProtocolError:
                continue
            assert all(f.payload == payload for f in frames)
