"""G.711 over RTP (RFC 3551 4.5.14): PCMU (payload type 0) and PCMA (payload type 8).

One byte per sample at 8000 Hz; RTP timestamps count samples. A frame longer than a packet is
split into several packets whose timestamps advance by the samples before them. The marker bit is
set on the first packet of a talkspurt (the first packet sent, and after
:meth:`G711Packetizer.start_talkspurt`).

>>> from mediaproto.media import Frame
>>> p = G711Packetizer(0, ssrc=1, mtu=12 + 160)
>>> [(pkt.timestamp, len(pkt.payload)) for pkt in p.packetize(Frame(0, 8000, 8000, bytes(400), True))]
[(8000, 160), (8160, 160), (8320, 80)]
"""

from __future__ import annotations

from ...errors import LocalProtocolError
from ...media import Frame
from ..packet import RtpPacket
from ._simple import PacketPerFrameDepacketizer
from ..limits import Limits
from .base import Packetizer

__all__ = ["PCMU", "PCMA", "G711Packetizer", "G711Depacketizer"]

#: The static payload types of RFC 3551.
PCMU = 0
PCMA = 8


class G711Packetizer(Packetizer):
    """Packetize G.711 samples (``frame.data`` holds one byte per sample).

    :param payload_type: :data:`PCMU` (0) or :data:`PCMA` (8), or a dynamic type.
    """

    __slots__ = ("_talkspurt",)

    def __init__(
        self,
        payload_type: int = PCMU,
        ssrc: int = 0,
        clock_rate: int = 8000,
        mtu: int = 1200,
        initial_sequence: int = 0,
        *,
        track_clock_rate: int | None = None,
        initial_timestamp: int = 0,
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
        self._talkspurt = True

    def start_talkspurt(self) -> None:
        """The next packet starts a talkspurt: it gets the marker bit."""
        self._talkspurt = True

    def payloads(self, frame: Frame) -> list[bytes]:
        data = frame.payload
        if not data:
            raise LocalProtocolError("empty G.711 frame")
        room = self.max_payload_size
        return [data[pos : pos + room] for pos in range(0, len(data), room)]

    def packetize(self, frame: Frame) -> list[RtpPacket]:
        ts = self.rtp_timestamp(frame.pts)
        packets = []
        for payload in self.payloads(frame):
            packets.extend(self._packets([payload], ts, marker=False))
            ts = (ts + len(payload)) & 0xFFFFFFFF
        if self._talkspurt:
            packets[0].marker = True
            self._talkspurt = False
        return packets


class G711Depacketizer(PacketPerFrameDepacketizer):
    """G.711 samples from RTP: one frame per packet, ``pts`` in samples (8000 Hz)."""

    __slots__ = ()

    def __init__(self, track_id: int, clock_rate: int = 8000, *, limits: Limits | None = None) -> None:
        super().__init__(track_id, clock_rate, limits=limits)
