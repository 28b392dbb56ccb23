"""RTP payload formats: packetize and depacketize access units, against aiortc where it has a peer.

The main H.264 case is a 100 KB IDR access unit (SPS, PPS, one large slice) cut into FU-A packets of a
1200-byte MTU and put back together. The peer does the same with aiortc's own pieces:
``H264Encoder._packetize`` (what its sender calls on each encoded frame), an ``aiortc.rtp.RtpPacket``
per payload, then ``h264_depayload`` per packet (``H264PayloadDescriptor.parse``) and the join its
jitter buffer does. Both sides build packet objects and neither serializes them. A second case sends
30 small frames of one packet each (per-frame overhead rather than bytes).

aiortc gives no decode times, so the rows against it run our depacketizer with
``decode_times=False``: the same work. Our frames' decode times (``dts`` from the H.264 DTS
extractor: the SPS, PPS and first slice header of every access unit read, see
:mod:`mediaproto.codecs.h264_dts`) have their own rows, without a peer, on a depacketizer that
lives across calls as it does on a stream (timestamps move on each call).
"""

from __future__ import annotations

import random

from harness import Bench

from mediaproto.media import Frame
from mediaproto.rtp.payload import AacDepacketizer, AacPacketizer, H264Depacketizer, H264Packetizer

_rng = random.Random(1)
_SPS = bytes.fromhex("6742c00dd90141fb011000000300100000030320f142a480")
_PPS = bytes.fromhex("68cb8cb2")
_SLICE = b"\x65\x88" + bytes(_rng.getrandbits(8) | 1 for _ in range(100 * 1024 - 2))  # no start codes
_AU = (_SPS, _PPS, _SLICE)
_FRAME = Frame(0, 0, 0, _AU, True)
_AU_BYTES = sum(map(len, _AU))


def _ours_h264() -> None:
    packetizer = H264Packetizer(96, ssrc=1, mtu=1200)
    depacketizer = H264Depacketizer(0, decode_times=False)
    push = depacketizer.feed
    out: list[Frame] = []
    for packet in packetizer.packetize(_FRAME):
        out += push(packet)
    assert len(out) == 1


class _Stream:
    """A packetizer and a depacketizer (with decode times) kept across calls, and the next pts."""

    def __init__(self) -> None:
        self.packetizer = H264Packetizer(96, ssrc=1, mtu=1200)
        self.depacketizer = H264Depacketizer(0)
        self.pts = 0


_STREAM = _Stream()


def _ours_h264_dts() -> None:
    s = _STREAM
    s.pts += 3000
    push = s.depacketizer.feed
    out: list[Frame] = []
    for packet in s.packetizer.packetize(Frame(0, s.pts, s.pts, _AU, True)):
        out += push(packet)
    assert len(out) == 1 and out[0].dts <= s.pts


# A low-bitrate live stream: 30 P pictures of one 600-byte slice each, one packet per frame.
_SMALL = [Frame(0, 3000 * i, 3000 * i, (b"\x41\x9a" + bytes([7]) * 598,)) for i in range(30)]


def _ours_h264_small() -> None:
    packetizer = H264Packetizer(96, ssrc=1, mtu=1200)
    push = H264Depacketizer(0, decode_times=False).feed
    out: list[Frame] = []
    for frame in _SMALL:
        for packet in packetizer.packetize(frame):
            out += push(packet)
    assert len(out) == 30


_SMALL_STREAM = _Stream()


def _ours_h264_small_dts() -> None:
    s = _SMALL_STREAM
    push = s.depacketizer.feed
    packetize = s.packetizer.packetize
    out: list[Frame] = []
    for frame in _SMALL:
        s.pts += 3000
        for packet in packetize(Frame(0, s.pts, s.pts, frame.data)):
            out += push(packet)
    assert len(out) == 30


_AAC_FRAMES = [Frame(1, 1024 * i, 1024 * i, bytes([0x21]) * (300 + i), True) for i in range(50)]


def _ours_aac() -> None:
    packetizer = AacPacketizer(97, ssrc=1, clock_rate=48000)
    depacketizer = AacDepacketizer(1, 48000)
    n = 0
    for packet in packetizer.packetize_many(_AAC_FRAMES):
        n += len(depacketizer.feed(packet))
    assert n == 50


_peer_h264 = None
_peer_h264_small = None
try:
    from aiortc.codecs.h264 import H264Encoder, h264_depayload
    from aiortc.rtp import RtpPacket as AiortcRtpPacket

    def _aiortc_h264() -> None:
        payloads = H264Encoder._packetize(_AU)
        packets = []
        for i, payload in enumerate(payloads):
            packet = AiortcRtpPacket(payload_type=96, sequence_number=i, timestamp=0, ssrc=1)
            packet.payload = payload
            packet.marker = i == len(payloads) - 1
            packets.append(packet)
        data = b"".join([h264_depayload(p.payload) for p in packets])
        assert len(data) > _AU_BYTES

    def _aiortc_h264_small() -> None:
        out = []
        for i, frame in enumerate(_SMALL):
            payloads = H264Encoder._packetize(frame.nal_units)
            packets = []
            for j, payload in enumerate(payloads):
                packet = AiortcRtpPacket(payload_type=96, sequence_number=i, timestamp=frame.pts, ssrc=1)
                packet.payload = payload
                packet.marker = j == len(payloads) - 1
                packets.append(packet)
            out.append(b"".join([h264_depayload(p.payload) for p in packets]))
        assert len(out) == 30

    _peer_h264 = _aiortc_h264
    _peer_h264_small = _aiortc_h264_small
except ImportError:  # pragma: no cover - the peer is optional
    pass


BENCHMARKS = [
    Bench(
        "rtp_payload.h264 100KB AU pack+unpack",
        _ours_h264,
        work=_AU_BYTES,
        unit="MB/s",
        peer="aiortc",
        peer_run=_peer_h264,
        target=1.5,
    ),
    Bench(
        "rtp_payload.h264 30 small frames pack+unpack",
        _ours_h264_small,
        work=30,
        unit="ops/s",
        peer="aiortc",
        peer_run=_peer_h264_small,
    ),
    Bench("rtp_payload.h264 100KB AU pack+unpack+dts", _ours_h264_dts, work=_AU_BYTES, unit="MB/s",
          note=lambda: "with decode times; no peer"),
    Bench("rtp_payload.h264 30 small frames pack+unpack+dts", _ours_h264_small_dts, work=30, unit="ops/s",
          note=lambda: "with decode times; no peer"),
    Bench("rtp_payload.aac 50 AUs pack+unpack", _ours_aac, work=50, unit="ops/s"),
]
