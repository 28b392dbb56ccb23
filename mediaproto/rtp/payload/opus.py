"""Opus over RTP (RFC 7587): one Opus packet per RTP packet, always a 48 kHz RTP clock.

Whatever the input sample rate, RTP timestamps count 48 kHz samples (RFC 7587 4.1), and the SDP
says ``opus/48000/2`` even for mono. The marker bit is set on the first packet of a talkspurt
(here: the first packet sent, and the first after :meth:`OpusPacketizer.start_talkspurt`).

>>> from mediaproto.media import Frame
>>> p = OpusPacketizer(111, ssrc=7, track_clock_rate=1000)
>>> pkt, = p.packetize(Frame(2, 20, 20, b"\\xfc\\xff\\xfe", True))
>>> pkt.timestamp, pkt.marker
(960, True)
>>> OpusDepacketizer(2).feed(pkt)[0].pts
960
"""

from __future__ import annotations

from ...errors import LocalProtocolError, ParseError
from ...media import Frame
from ..packet import RtpPacket
from ._simple import PacketPerFrameDepacketizer
from ..limits import Limits
from .base import Packetizer

__all__ = ["OPUS_CLOCK_RATE", "OpusPacketizer", "OpusDepacketizer"]

#: The RTP clock rate of Opus, whatever the audio's rate.
OPUS_CLOCK_RATE = 48000


class OpusPacketizer(Packetizer):
    """Packetize Opus packets (each frame's data is one Opus packet, RFC 6716).

    ``clock_rate`` must be 48000; frames' ``pts`` are rescaled from ``track_clock_rate``.
    """

    __slots__ = ("_talkspurt",)

    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        clock_rate: int = OPUS_CLOCK_RATE,
        mtu: int = 1200,
        initial_sequence: int = 0,
        *,
        track_clock_rate: int | None = None,
        initial_timestamp: int = 0,
    ) -> None:
        if clock_rate != OPUS_CLOCK_RATE:
            raise LocalProtocolError(f"the Opus RTP clock rate is always 48000, not {clock_rate}")
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
        """The next packet starts a talkspurt (after DTX silence): it gets the marker bit."""
        self._talkspurt = True

    def payloads(self, frame: Frame) -> list[bytes]:
        data = frame.payload
        if not data:
            raise LocalProtocolError("empty Opus packet")
        if len(data) > self.max_payload_size:
            raise LocalProtocolError(f"Opus packet of {len(data)} bytes does not fit mtu={self.mtu}")
        return [data]

    def packetize(self, frame: Frame) -> list[RtpPacket]:
        packets = self._packets(self.payloads(frame), self.rtp_timestamp(frame.pts), marker=self._talkspurt)
        self._talkspurt = False
        return packets


class OpusDepacketizer(PacketPerFrameDepacketizer):
    """Opus packets from RTP: each frame is one Opus packet, ``pts`` in 48 kHz ticks.

    An empty payload raises :class:`~mediaproto.errors.ParseError` (an Opus packet has at least its
    TOC byte).
    """

    __slots__ = ()

    def __init__(self, track_id: int, clock_rate: int = OPUS_CLOCK_RATE, *, limits: Limits | None = None) -> None:
        super().__init__(track_id, clock_rate, limits=limits)

    def _check(self, payload: bytes) -> None:
        if not payload:
            raise ParseError("empty Opus payload", offset=0)
