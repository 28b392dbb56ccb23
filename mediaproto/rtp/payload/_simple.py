"""The depacketizer of payload formats where every packet is whole frames (Opus, G.711, MPEG-TS)."""

from __future__ import annotations

from ...errors import ProtocolError
from ...media import Frame
from ..packet import RtpPacket
from .base import Depacketizer

__all__ = ["PacketPerFrameDepacketizer"]


class PacketPerFrameDepacketizer(Depacketizer):
    """One frame per packet: nothing spans packets, so a gap loses only the missing packets
    (each counted in :attr:`lost_units` as well as :attr:`lost_packets`)."""

    __slots__ = ()

    def _check(self, payload: bytes) -> None:
        """Raise :class:`~mediaproto.errors.ParseError` when ``payload`` is not valid."""

    def feed(self, packet: RtpPacket) -> list[Frame]:
        lost_before = self.lost_packets
        gap = self._check_sequence(packet)
        if gap < 0:
            return []
        self.lost_units += self.lost_packets - lost_before
        payload = packet.payload
        try:
            self._check(payload)
        except ProtocolError:
            self.malformed_packets += 1
            self.lost_units += 1
            raise
        pts = self._pts(packet.timestamp)
        return [Frame(self.track_id, pts, pts, payload, True)]
