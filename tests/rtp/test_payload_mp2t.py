from __future__ import annotations

from mediaproto.media import Codec, Frame, Track
from mediaproto.rtp.payload import depacketizer_for, packetizer_for


def test_factory_picks_mp2t_from_a_track() -> None:
    track = Track(0, Codec.MP2T, 90000)
    packetizer = packetizer_for(track, 33, 1, mtu=1500)
    depacketizer = depacketizer_for(track)
    ts = bytes([0x47]) + bytes(187)
    packets = packetizer.packetize(Frame(0, 0, 0, ts * 10))
    assert [len(p.payload) for p in packets] == [7 * 188, 3 * 188]  # RFC 2250: 7 x 188 per datagram
    frames = [f for p in packets for f in depacketizer.feed(p)]
    assert b"".join(f.payload for f in frames) == ts * 10
