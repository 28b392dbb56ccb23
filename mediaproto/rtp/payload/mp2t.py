"""MPEG-2 transport streams over RTP (RFC 2250 section 2): whole 188-byte TS packets, seven per
datagram (7 x 188 = 1316 bytes, which fits a 1500-byte Ethernet MTU), payload type 33, 90 kHz
clock.

The RTP timestamp is the transmission time of the first byte in 90 kHz ticks; callers pass the
chunk's time as the frame's ``pts``. Frames carry ``bytes`` that are whole TS packets.

>>> from mediaproto.media import Frame
>>> ts = (b"\\x47" + bytes(187)) * 10
>>> [len(pkt.payload) // 188 for pkt in Mp2tPacketizer(ssrc=1, mtu=1500).packetize(Frame(0, 0, 0, ts))]
[7, 3]
"""

from __future__ import annotations

from ...errors import LocalProtocolError, ParseError
from ...media import Frame
from ..packet import RtpPacket
from ._simple import PacketPerFrameDepacketizer
from ..limits import Limits
from .base import RTP_HEADER_SIZE, Packetizer

__all__ = ["MP2T", "TS_PACKET_SIZE", "Mp2tPacketizer", "Mp2tDepacketizer"]

#: The static payload type of MP2T (RFC 3551).
MP2T = 33
TS_PACKET_SIZE = 188


class Mp2tPacketizer(Packetizer):
    """Packetize TS bytes (whole 188-byte packets), up to ``packets_per_datagram`` per RTP packet.

    :param packets_per_datagram: 7 by default; fewer when ``mtu`` leaves no room for seven.
    """

    __slots__ = ("packets_per_datagram",)

    min_payload_size = TS_PACKET_SIZE

    def __init__(
        self,
        payload_type: int = MP2T,
        ssrc: int = 0,
        clock_rate: int = 90000,
        mtu: int = RTP_HEADER_SIZE + 7 * TS_PACKET_SIZE,
        initial_sequence: int = 0,
        *,
        track_clock_rate: int | None = None,
        initial_timestamp: int = 0,
        packets_per_datagram: int = 7,
    ) -> None:
        super().__init__(
            payload_type,
            ssrc,
            clock_rate,
            mtu,
            initial_sequence,
            track_clock_rate=track_clock_rate,
            initial_timestamp=initial_timestamp,
        )
        if packets_per_datagram < 1:
            raise LocalProtocolError("packets_per_datagram must be at least 1")
        self.packets_per_datagram = min(packets_per_datagram, self.max_payload_size // TS_PACKET_SIZE)

    def payloads(self, frame: Frame) -> list[bytes]:
        data = frame.payload
        if len(data) % TS_PACKET_SIZE:
            raise LocalProtocolError(f"{len(data)} bytes are not whole 188-byte TS packets")
        step = self.packets_per_datagram * TS_PACKET_SIZE
        return [data[pos : pos + step] for pos in range(0, len(data), step)]

    def packetize(self, frame: Frame) -> list[RtpPacket]:
        """RFC 2250 sets the marker bit only on timestamp discontinuities: never here."""
        return self._packets(self.payloads(frame), self.rtp_timestamp(frame.pts), marker=False)


class Mp2tDepacketizer(PacketPerFrameDepacketizer):
    """TS packets from RTP: each frame is the payload (whole TS packets), ``pts`` in 90 kHz.

    A payload that is not whole 188-byte packets each starting with the 0x47 sync byte raises
    :class:`~mediaproto.errors.ParseError`.
    """

    __slots__ = ()

    def __init__(self, track_id: int, clock_rate: int = 90000, *, limits: Limits | None = None) -> None:
        super().__init__(track_id, clock_rate, limits=limits)

    def _check(self, payload: bytes) -> None:
        n = len(payload)
        if not n or n % TS_PACKET_SIZE:
            raise ParseError(f"RTP payload of {n} bytes is not whole 188-byte TS packets", offset=0)
        if payload[::TS_PACKET_SIZE] != b"\x47" * (n // TS_PACKET_SIZE):
            pos = next(i for i in range(0, n, TS_PACKET_SIZE) if payload[i] != 0x47)
            raise ParseError("TS packet without the 0x47 sync byte", offset=pos)
