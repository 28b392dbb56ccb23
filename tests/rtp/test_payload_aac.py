"""AAC over RTP (RFC 3640 mpeg4-generic): AU-header layouts, several AUs, fragments, ADTS quirk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.codecs.aac import AudioSpecificConfig, adts_wrap
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.media import Frame
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import AacDepacketizer, AacPacketizer


def au(n: int, fill: int = 0x21) -> bytes:
    return bytes([fill]) * n


def pkt(seq: int, ts: int, payload: bytes, marker: bool = True) -> RtpPacket:
    return RtpPacket(97, seq & 0xFFFF, ts, 5, payload, marker)


def test_au_header_section_aac_hbr_rfc3640_3_2_1() -> None:
    # AU-headers-length = 2 x 16 bits; AU-size (13 bits) then AU-Index / AU-Index-delta (3 bits, 0).
    frames = [Frame(1, 0, 0, au(100), True), Frame(1, 1024, 1024, au(200, 0x22), True)]
    (packet,) = AacPacketizer(97, ssrc=5, clock_rate=48000).packetize_many(frames)
    assert packet.payload == b"\x00\x20" + (100 << 3).to_bytes(2, "big") + (200 << 3).to_bytes(2, "big") + au(100) + au(200, 0x22)
    assert packet.marker and packet.timestamp == 0
    assert AacDepacketizer(1, 48000).feed(packet) == frames


def test_au_header_section_aac_lbr() -> None:
    # mode=AAC-lbr: sizelength=6, indexlength=2, indexdeltalength=2: one byte per AU-header.
    payload = b"\x00\x10" + bytes([10 << 2, 20 << 2]) + au(10) + au(20, 0x22)
    d = AacDepacketizer(1, 16000, size_length=6, index_length=2, index_delta_length=2)
    assert d.feed(pkt(1, 5000, payload)) == [Frame(1, 5000, 5000, au(10), True), Frame(1, 6024, 6024, au(20, 0x22), True)]
    p = AacPacketizer(97, 5, 16000, size_length=6, index_length=2, index_delta_length=2, initial_timestamp=5000)
    assert p.packetize_many([Frame(1, 0, 0, au(10)), Frame(1, 1024, 1024, au(20, 0x22))])[0].payload == payload
    with pytest.raises(LocalProtocolError):
        p.packetize(Frame(1, 0, 0, au(64)))  # does not fit 6 bits


def test_au_index_delta_spaces_the_timestamps() -> None:
    # 13/3/3 with AU-Index-delta 1: the second AU is two frames after the first (interleaving).
    payload = b"\x00\x20" + (3 << 3).to_bytes(2, "big") + ((4 << 3) | 1).to_bytes(2, "big") + au(3) + au(4)
    frames = AacDepacketizer(1, 44100).feed(pkt(1, 100, payload))
    assert [f.pts for f in frames] == [100, 100 + 2 * 1024]


def test_frame_length_and_sample_rate() -> None:
    payload = b"\x00\x20" + (3 << 3).to_bytes(2, "big") + (4 << 3).to_bytes(2, "big") + au(3) + au(4)
    assert [f.pts for f in AacDepacketizer(1, 48000, frame_length=960).feed(pkt(1, 0, payload))] == [0, 960]
    assert [f.pts for f in AacDepacketizer(1, 90000, sample_rate=48000).feed(pkt(1, 0, payload))] == [0, 1920]


def test_fragmented_au_rfc3640_3_2_3() -> None:
    big = bytes(range(256)) * 12  # 3072 bytes
    p = AacPacketizer(97, ssrc=5, clock_rate=48000, mtu=1200, track_clock_rate=1000)
    packets = p.packetize(Frame(1, 500, 500, big, True))
    header = b"\x00\x10" + (3072 << 3).to_bytes(2, "big")
    assert [x.payload for x in packets] == [header + big[:1184], header + big[1184:2368], header + big[2368:]]
    assert [x.marker for x in packets] == [False, False, True]
    assert {x.timestamp for x in packets} == {24000}
    d = AacDepacketizer(1, 48000)
    assert [f for x in packets for f in d.feed(x)] == [Frame(1, 24000, 24000, big, True)]
    # a lost fragment drops the AU, and the next AU comes through
    d = AacDepacketizer(1, 48000)
    after = p.packetize(Frame(1, 600, 600, au(50), True))
    assert [f for x in [packets[0], packets[2], *after] for f in d.feed(x)] == [Frame(1, 28800, 28800, au(50), True)]
    assert (d.lost_packets, d.lost_units) == (1, 1)
    # a late joiner's middle fragment never completes an AU
    d = AacDepacketizer(1, 48000)
    assert [f for x in packets[1:] + after for f in d.feed(x)] == [Frame(1, 28800, 28800, au(50), True)]
    assert d.lost_units == 1


def test_quirk_cameras_adts_inside_rfc3640() -> None:
    config = AudioSpecificConfig.parse(bytes.fromhex("1190"))
    raw = [au(100), au(120, 0x22)]
    payload = b"\x00\x20" + b"".join(((len(r) + 7) << 3).to_bytes(2, "big") for r in raw) + b"".join(adts_wrap(r, config) for r in raw)
    d = AacDepacketizer(1, 48000)
    assert [f.data for f in d.feed(pkt(1, 0, payload))] == raw
    assert d.quirks_seen == {"aac-adts-in-rfc3640"}
    with pytest.raises(ParseError):
        AacDepacketizer(1, 48000, strict=True).feed(pkt(1, 0, payload))


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x00\x10", b"\x00\x11\x00\x00\x00", b"\x00\x20\x00\x08\x00\x08" + au(1), b"\xff\xff" + au(3),
     b"\x00\x10\x00\x00" + au(4)],
)
def test_malformed(payload: bytes) -> None:
    with pytest.raises(ParseError):
        AacDepacketizer(1, 48000).feed(pkt(1, 0, payload))


@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=12), st.integers(60, 1500))
def test_round_trip(aus: list[bytes], mtu: int) -> None:
    frames = [Frame(1, 1024 * i, 1024 * i, a, True) for i, a in enumerate(aus)]
    p = AacPacketizer(97, ssrc=5, clock_rate=48000, mtu=mtu)
    d = AacDepacketizer(1, 48000)
    packets = p.packetize_many(frames)
    assert all(len(bytes(x)) <= mtu for x in packets)
    assert [f for x in packets for f in d.feed(x)] == frames


@given(st.lists(st.binary(max_size=50), max_size=20))
def test_random_payloads_raise_only_protocol_errors(payloads: list[bytes]) -> None:
    d = AacDepacketizer(1, 48000)
    for i, payload in enumerate(payloads):
        try:
            frames = d.feed(pkt(i, i // 2 * 1024, payload, i % 3 == 0))
        except ProtocolError:
            continue
        assert all(f.data for f in frames)
