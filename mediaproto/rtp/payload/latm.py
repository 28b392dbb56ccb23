"""AAC over RTP as MP4A-LATM (RFC 6416), with the configuration out of band (``cpresent=0``).

The payload is one or more ``AudioMuxElement`` (ISO/IEC 14496-3 1.7.3, ``muxConfigPresent`` 0)
for a StreamMuxConfig of one program, one layer, ``allStreamsSameTimeFraming`` 1 and
``numSubFrames`` 0: each element is a ``PayloadLengthInfo`` (the AU size as bytes of 255 followed by
the remainder byte) and the AU itself. An element too large for a packet is continued in the next
packets, which carry the same timestamp; the marker bit is set on the packet that ends an element.

>>> from mediaproto.media import Frame
>>> (pkt,) = LatmPacketizer(96, ssrc=1, clock_rate=44100).packetize(Frame(1, 0, 0, bytes(300), True))
>>> pkt.payload[:2].hex(), len(pkt.payload)
('ff2d', 302)
>>> LatmDepacketizer(1, 44100).feed(pkt)[0].size
300

The SDP carries the StreamMuxConfig in ``config``; :func:`mediaproto.sdp.track_from_media` turns it
into the AudioSpecificConfig of the track.
"""

from __future__ import annotations

from ...clock import rescale
from ...errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from ...media import Frame
from ..packet import RtpPacket
from ..limits import Limits
from .base import Depacketizer, Packetizer

__all__ = ["LatmPacketizer", "LatmDepacketizer", "payload_length_info"]


def payload_length_info(size: int) -> bytes:
    """``PayloadLengthInfo()`` for one AU of ``size`` bytes: ``size // 255`` bytes of 255, then
    ``size % 255``."""
    return b"\xff" * (size // 255) + bytes((size % 255,))


class LatmPacketizer(Packetizer):
    """Packetize raw AAC frames as MP4A-LATM, one AudioMuxElement per frame, fragmented across
    packets when it does not fit."""

    __slots__ = ()

    def payloads(self, frame: Frame) -> list[bytes]:
        au = frame.payload
        if not au:
            raise LocalProtocolError("empty AAC frame")
        element = payload_length_info(len(au)) + au
        room = self.max_payload_size
        return [element[pos : pos + room] for pos in range(0, len(element), room)]


class LatmDepacketizer(Depacketizer):
    """Rebuild raw AAC frames from MP4A-LATM packets (``cpresent=0``).

    :param frame_length: samples per AAC frame, to time the second and later AUs of a packet.
    :param sample_rate: the audio sample rate if it differs from ``clock_rate``.

    Packets are gathered until the marker bit; a new timestamp before the marker drops what was
    gathered, and a gap drops it and every packet up to the next marker bit (nothing tells the
    start of an element from its continuation); each counted once in :attr:`lost_units`.
    """

    __slots__ = ("_parts", "_size", "_ts", "_duration", "_resync")

    def __init__(
        self,
        track_id: int,
        clock_rate: int,
        *,
        limits: Limits | None = None,
        frame_length: int = 1024,
        sample_rate: int | None = None,
    ) -> None:
        super().__init__(track_id, clock_rate, limits=limits)
        self._parts: list[bytes] = []
        self._size = 0
        self._ts: int | None = None
        self._duration = rescale(frame_length, sample_rate or clock_rate, clock_rate)
        self._resync = 0  # after a gap: 1 or 2 (the lost unit not counted yet) until a marker bit

    def _drop(self) -> None:
        if self._parts:
            self.lost_units += 1
        self._parts = []
        self._size = 0
        self._ts = None

    def feed(self, packet: RtpPacket) -> list[Frame]:
        gap = self._check_sequence(packet)
        if gap < 0:
            return []
        if gap:
            # Nothing in a packet tells an element's start from its continuation: skip to the
            # packet after the next marker bit.
            counted = bool(self._parts)
            self._drop()
            self._resync = 1 if counted else 2
        if self._resync:
            if packet.marker:
                self.lost_units += self._resync - 1
                self._resync = 0
            return []
        if self._ts is not None and packet.timestamp != self._ts:
            self._drop()
        if not packet.payload:
            self.malformed_packets += 1
            raise ParseError("empty MP4A-LATM payload", offset=0)
        self._ts = packet.timestamp
        self._parts.append(packet.payload)
        self._size += len(packet.payload)
        if self._size > self.limits.max_unit_size:
            self._drop()
            raise LimitExceeded(f"LATM element over {self.limits.max_unit_size} bytes")
        if not packet.marker:
            return []
        data = b"".join(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts = []
        self._size = 0
        self._ts = None
        try:
            aus = self._elements(data)
        except ProtocolError:
            self.malformed_packets += 1
            self.lost_units += 1
            raise
        pts = self._pts(packet.timestamp)
        step = self._duration
        return [Frame(self.track_id, pts + i * step, pts + i * step, au, True) for i, au in enumerate(aus)]

    @staticmethod
    def _elements(data: bytes) -> list[bytes]:
        aus = []
        pos = 0
        end = len(data)
        while pos < end:
            start = pos
            size = 0
            while True:
                if pos >= end:
                    raise ParseError("LATM PayloadLengthInfo runs past the end", offset=start)
                value = data[pos]
                pos += 1
                size += value
                if value != 255:
                    break
            if pos + size > end:
                raise ParseError(f"LATM AU of {size} bytes runs past the end", offset=start)
            if size == 0:
                raise ParseError("LATM AU of 0 bytes", offset=start)
            aus.append(data[pos : pos + size])
            pos += size
        return aus

    def flush(self) -> list[Frame]:
        self._drop()
        return self._take_ready()
