"""What every RTP payload format shares: the packetizer and depacketizer bases.

A **packetizer** turns :class:`~mediaproto.media.Frame` values into :class:`~mediaproto.rtp.packet.RtpPacket`
values. It owns the sender side of the RTP header: the payload type, the SSRC, the sequence number
(incremented for every packet, wrapping at 2**16) and the timestamp, which is the frame's ``pts``
rescaled from the track's clock rate to the payload's clock rate (:func:`mediaproto.clock.rescale`)
plus a start offset (RFC 3550 wants it random: the caller injects it as ``initial_timestamp``).
Packets never exceed ``mtu`` bytes including the 12-byte RTP header; the marker bit is set on the
last packet of an access unit.

A **depacketizer** turns the packets of one stream, in sequence order (put a jitter buffer before it
when the network reorders), back into frames. Its frames carry ``pts = dts =`` the RTP timestamp
extended past its 32-bit wrap by a :class:`mediaproto.clock.Unwrapper`, in the payload's clock rate.
It watches the sequence numbers: a gap means packets were lost, and an access unit that may have lost
a packet is dropped whole and counted in :attr:`Depacketizer.lost_units`: a depacketizer never emits
a corrupt frame. Duplicates and packets that arrive too late are dropped and counted.

Malformed payloads raise :class:`~mediaproto.errors.ParseError` (a subclass of
:class:`~mediaproto.errors.ProtocolError`); the unit they belonged to is dropped, and the
depacketizer stays usable: frames that were completed by the same call are kept and returned by the
next :meth:`Depacketizer.feed` (or :meth:`Depacketizer.flush`).
"""

from __future__ import annotations

from ...clock import Unwrapper, rescale, serial_diff
from ...errors import LocalProtocolError
from ...media import Frame
from ..limits import Limits
from ..packet import RtpPacket

__all__ = ["RTP_HEADER_SIZE", "MAX_MTU", "Packetizer", "Depacketizer"]

#: The fixed RTP header size, without CSRCs or extensions.
RTP_HEADER_SIZE = 12

#: The largest ``mtu``: RTSP interleaved frames have a 16-bit length, and the 16-bit sizes of
#: STAP-A/AP entries must hold any NAL unit that fits a packet.
MAX_MTU = 65535

#: Packets further behind the expected sequence number than this are a restart, not late arrivals
#: (RFC 3550 A.1 MAX_MISORDER).
MAX_MISORDER = 100
#: A jump forward larger than this is a restart of the sender, not a loss (RFC 3550 A.1 MAX_DROPOUT).
MAX_DROPOUT = 3000


class Packetizer:
    """The sender side shared by every payload format.

    :param payload_type: the RTP payload type (0-127), static or as the SDP ``a=rtpmap`` assigns it.
    :param ssrc: the synchronization source identifier (pick it at random, RFC 3550 8.1).
    :param clock_rate: the payload format's RTP clock rate (90000 for video, 48000 for Opus ...).
    :param mtu: the largest RTP packet to produce, in bytes, including the 12-byte header.
    :param initial_sequence: the first sequence number (random per RFC 3550).
    :param track_clock_rate: the clock rate of the frames' ``pts``; defaults to ``clock_rate``.
    :param initial_timestamp: added to every RTP timestamp (random per RFC 3550).
    """

    __slots__ = (
        "payload_type",
        "ssrc",
        "clock_rate",
        "mtu",
        "sequence_number",
        "track_clock_rate",
        "initial_timestamp",
    )

    #: The smallest payload this format can work with; ``mtu`` must leave room for it.
    min_payload_size = 1

    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        clock_rate: int,
        mtu: int = 1200,
        initial_sequence: int = 0,
        *,
        track_clock_rate: int | None = None,
        initial_timestamp: int = 0,
    ) -> None:
        if not 0 <= payload_type <= 127:
            raise LocalProtocolError(f"payload type must be 0-127, got {payload_type}")
        if not 0 <= ssrc <= 0xFFFFFFFF:
            raise LocalProtocolError(f"SSRC must be a 32-bit value, got {ssrc}")
        if clock_rate <= 0 or (track_clock_rate is not None and track_clock_rate <= 0):
            raise LocalProtocolError("clock rates must be positive")
        if mtu > MAX_MTU:
            raise LocalProtocolError(f"mtu {mtu} is over {MAX_MTU} (the largest RTSP interleaved frame)")
        if mtu < RTP_HEADER_SIZE + self.min_payload_size:
            raise LocalProtocolError(
                f"mtu {mtu} leaves no room for a {self.min_payload_size}-byte payload after the RTP header"
            )
        self.payload_type = payload_type
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.mtu = mtu
        #: The sequence number the next packet gets.
        self.sequence_number = initial_sequence & 0xFFFF
        self.track_clock_rate = track_clock_rate if track_clock_rate is not None else clock_rate
        self.initial_timestamp = initial_timestamp & 0xFFFFFFFF

    @property
    def max_payload_size(self) -> int:
        """The largest payload one packet may carry (``mtu`` minus the RTP header)."""
        return self.mtu - RTP_HEADER_SIZE

    def rtp_timestamp(self, pts: int) -> int:
        """The 32-bit RTP timestamp of a frame whose ``pts`` is in the track's clock rate."""
        ts = pts if self.track_clock_rate == self.clock_rate else rescale(pts, self.track_clock_rate, self.clock_rate)
        return (ts + self.initial_timestamp) & 0xFFFFFFFF

    def _packets(self, payloads: list[bytes], timestamp: int, marker: bool = True) -> list[RtpPacket]:
        """One packet per payload, numbered in order; the marker bit on the last when ``marker``."""
        pt = self.payload_type
        ssrc = self.ssrc
        seq = self.sequence_number
        packets = [
            RtpPacket(pt, (seq + i) & 0xFFFF, timestamp, ssrc, payload, False) for i, payload in enumerate(payloads)
        ]
        self.sequence_number = (seq + len(packets)) & 0xFFFF
        if marker and packets:
            packets[-1].marker = True
        return packets

    def packetize(self, frame: Frame) -> list[RtpPacket]:
        """The packets that carry ``frame``, the marker bit set on the last one."""
        return self._packets(self.payloads(frame), self.rtp_timestamp(frame.pts))

    def payloads(self, frame: Frame) -> list[bytes]:
        """The packet payloads that carry ``frame`` (the format's job)."""
        raise NotImplementedError


class Depacketizer:
    """The receiver side shared by every payload format: sequence tracking and timestamps.

    :param track_id: the :attr:`~mediaproto.media.Frame.track_id` of the frames produced.
    :param clock_rate: the payload's RTP clock rate; frames' ``pts`` are in this rate.
    :param limits: bounds on buffered data.

    Counters, for statistics and logs:

    * :attr:`lost_packets`: packets missing from the sequence (gaps);
    * :attr:`lost_units`: access units dropped because a packet of theirs was lost, or because
      they arrived incomplete (a late joiner's first unit, a malformed packet);
    * :attr:`late_packets`: duplicates and packets that arrived after their successors;
    * :attr:`malformed_packets`: payloads that raised :class:`~mediaproto.errors.ParseError`;
    * :attr:`quirks_seen`: the names of the tolerated peer quirks met so far (see each format).
    """

    __slots__ = (
        "track_id",
        "clock_rate",
        "limits",
        "lost_packets",
        "lost_units",
        "late_packets",
        "malformed_packets",
        "quirks_seen",
        "_expected",
        "_ssrc",
        "_unwrapper",
        "_ready",
    )

    def __init__(self, track_id: int, clock_rate: int, *, limits: Limits | None = None) -> None:
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        self.track_id = track_id
        self.clock_rate = clock_rate
        self.limits = limits if limits is not None else Limits()
        self.lost_packets = 0
        self.lost_units = 0
        self.late_packets = 0
        self.malformed_packets = 0
        self.quirks_seen: set[str] = set()
        self._expected: int | None = None
        self._ssrc: int | None = None
        self._unwrapper = Unwrapper(32)
        self._ready: list[Frame] = []

    def _check_sequence(self, packet: RtpPacket) -> int:
        """Account for ``packet``'s sequence number.

        Returns ``-1`` for a duplicate or late packet (to be dropped), ``0`` when it is the one
        expected, and a positive number when packets were lost (or the sender restarted: a new
        SSRC or a jump past the RFC 3550 A.1 bounds), after which units in progress are suspect.
        """
        seq = packet.sequence_number
        expected = self._expected
        if expected is None or packet.ssrc != self._ssrc:
            restart = expected is not None
            self._ssrc = packet.ssrc
            self._expected = (seq + 1) & 0xFFFF
            return 1 if restart else 0
        if seq == expected:
            self._expected = (seq + 1) & 0xFFFF
            return 0
        gap = serial_diff(seq, expected)
        if -MAX_MISORDER <= gap < 0:
            self.late_packets += 1
            return -1
        self._expected = (seq + 1) & 0xFFFF
        if 0 < gap <= MAX_DROPOUT:
            self.lost_packets += gap
            return gap
        return 1  # a restart: no count of lost packets makes sense

    def _pts(self, timestamp: int) -> int:
        return self._unwrapper.unwrap(timestamp)

    def feed(self, packet: RtpPacket) -> list[Frame]:
        """Feed the next packet of the stream; returns the frames it completed (often none).

        :raises ParseError: on a malformed payload (the unit is dropped; call again with the next
            packet).
        :raises LimitExceeded: when a unit grows past :attr:`limits` (the unit is dropped).
        """
        raise NotImplementedError

    def flush(self) -> list[Frame]:
        """At the end of the stream: the frames completed but not returned yet, and the unit in
        progress if it is whole."""
        out, self._ready = self._ready, []
        return out

    def _take_ready(self) -> list[Frame]:
        out = self._ready
        self._ready = []
        return out
