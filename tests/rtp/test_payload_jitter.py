"""Packetize -> shuffle and drop within the jitter buffer's latency -> depacketize: exactly the
frames whose packets were all delivered come back, in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mediaproto.media import Frame
from mediaproto.rtp.jitter import JitterBuffer
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import AacDepacketizer, AacPacketizer, Depacketizer, H264Depacketizer, H264Packetizer

LATENCY = 0.2

bodies = st.binary(min_size=1, max_size=2500).map(lambda b: b.replace(b"\x00\x00", b"\x00\x03"))
# access units of slices: the first with first_mb_in_slice 0, the others not
units = st.tuples(st.sampled_from([1, 5]), bodies, st.lists(bodies, max_size=3)).map(
    lambda t: (bytes([0x60 | t[0], 0x80 | t[1][0]]) + t[1][1:],
               *(bytes([0x60 | t[0], 0x7F & b[0]]) + b[1:] for b in t[2]))
)


def deliver(
    per_frame: list[list[RtpPacket]], frames: list[Frame], data: st.DataObject, depacketizer: Depacketizer
) -> tuple[list[Frame], list[Frame]]:
    """Send the packets 1 ms apart with random delays below the latency, drop some; run them
    through a jitter buffer into ``depacketizer``; the frames out and the frames fully delivered."""
    arrivals = []
    expected = []
    n = 0
    for frame, packets in zip(frames, per_frame):
        whole = True
        for packet in packets:
            if data.draw(st.integers(0, 9)) == 0:
                whole = False
            else:
                delay = data.draw(st.floats(0, LATENCY * 0.9))
                arrivals.append((n * 0.001 + delay, n, packet))
            n += 1
        if whole:
            expected.append(frame)
    arrivals.sort(key=lambda a: (a[0], a[1]))
    jb = JitterBuffer(latency=LATENCY, nack_retries=0)
    out: list[Frame] = []
    for now, _, packet in arrivals:
        jb.push(packet, now)
        for ready in jb.pop(now):
            out += depacketizer.feed(ready)
    for ready in jb.pop(1e6):
        out += depacketizer.feed(ready)
    return out + depacketizer.flush(), expected


@given(st.lists(units, min_size=1, max_size=8), st.integers(100, 1400), st.integers(0, 65535), st.data())
def test_h264_through_a_jitter_buffer(aus: list[tuple[bytes, ...]], mtu: int, seq: int, data: st.DataObject) -> None:
    p = H264Packetizer(96, ssrc=9, mtu=mtu, initial_sequence=seq)
    frames = [Frame(0, 3000 * i, 3000 * i, au, au[0][0] & 0x1F == 5) for i, au in enumerate(aus)]
    out, expected = deliver([p.packetize(f) for f in frames], frames, data, H264Depacketizer(0))
    assert out == expected


@given(st.lists(st.binary(min_size=1, max_size=2500), min_size=1, max_size=10), st.integers(100, 1400), st.data())
def test_aac_through_a_jitter_buffer(aus: list[bytes], mtu: int, data: st.DataObject) -> None:
    p = AacPacketizer(97, ssrc=9, clock_rate=48000, mtu=mtu, initial_sequence=65530)
    frames = [Frame(1, 1024 * i, 1024 * i, au, True) for i, au in enumerate(aus)]
    out, expected = deliver([p.packetize(f) for f in frames], frames, data, AacDepacketizer(1, 48000))
    assert out == expected
