"""The sending side of one RTP source: counts, sender reports on RFC 3550's schedule, RTT.

An :class:`RtpSender` is in charge of one SSRC we send (gortsplib's ``rtpsender`` has the same
job). The caller tells it about every RTP packet it sends (:meth:`RtpSender.on_packet`), asks it
when the next sender report is due (:meth:`RtpSender.next_timer`) and lets it build that report
(:meth:`RtpSender.handle_timer`): a compound RTCP packet, SR then SDES CNAME (RFC 3550 6.1). Report
blocks that peers send about our SSRC give the round-trip time (:meth:`RtpSender.on_rtcp`).

Two clocks, both passed in, never read:

- ``now``: the caller's monotonic clock, in seconds. It schedules the reports, and the
  RTP/wallclock anchor lives on it: the first packet of each frame pairs its RTP timestamp with
  the ``now`` it was sent at (or the instant the caller says its timestamp stands for).
- ``wallclock``: Unix seconds, only to write the SR's NTP timestamp. The SR pairs it with the RTP
  timestamp extrapolated from the anchor to ``now``, so both fields describe the same instant
  whatever our wall clock's offset, and a wall-clock step never moves the RTP timestamps.

The schedule: the first SR right after the first packet (``first_report_delay``, 0 s by default:
players that sync audio to video by SRs need one early); then the RFC 3550 A.7 interval (a 5 s
minimum, randomised by ``rng.random() + 0.5`` and divided by ``e - 3/2``), optionally capped.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..clock import unix_to_ntp
from ..errors import LocalProtocolError
from .packet import RtpPacket
from .rtcp import (
    SDES_CNAME,
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
)
from .stats import RTCP_MIN_TIME, RandomSource, RtcpScheduler, RttMeter, SenderStatistics

__all__ = ["RtpSender", "UDP_IP_OVERHEAD"]

#: Octets of UDP and IPv4 headers that A.7's average RTCP size includes.
UDP_IP_OVERHEAD = 28


class RtpSender:
    """One source we send: packet and octet counts, sender reports, round-trip time.

    :param ssrc: our SSRC (the one in the RTP packets).
    :param clock_rate: the RTP clock rate of those packets.
    :param rng: the random source of the A.7 randomisation (``random.Random`` fits).
    :param cname: the SDES CNAME sent with every report.
    :param session_bandwidth: octets per second of the session (RTCP gets 5%, senders a quarter).
    :param first_report_delay: seconds from the first packet to the first SR.
    :param max_interval: an upper bound on the interval between reports (``None``: pure A.7).
    :param min_interval: A.7's minimum interval (5 s; RFC 3550 6.2 allows a smaller one).
    """

    __slots__ = (
        "ssrc", "clock_rate", "cname", "first_report_delay", "statistics", "scheduler", "rtt_meter",
        "_last_timestamp", "_first_due", "_closed", "reports_sent", "_anchor",
    )

    def __init__(
        self,
        ssrc: int,
        clock_rate: int,
        *,
        rng: RandomSource,
        cname: bytes = b"mediaproto",
        session_bandwidth: float = 64000.0,
        first_report_delay: float = 0.0,
        max_interval: float | None = None,
        min_interval: float = RTCP_MIN_TIME,
    ) -> None:
        if not 0 <= ssrc <= 0xFFFFFFFF:
            raise LocalProtocolError(f"ssrc must fit 32 bits, got {ssrc}")
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        if first_report_delay < 0:
            raise LocalProtocolError(f"first_report_delay must not be negative, got {first_report_delay}")
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.cname = cname
        self.first_report_delay = first_report_delay
        #: Counts and the RTP/time anchor; its ``clock_map`` runs on the caller's monotonic clock.
        self.statistics = SenderStatistics(ssrc, clock_rate)
        #: The A.7 schedule (members, senders and the average size are its fields).
        self.scheduler = RtcpScheduler(session_bandwidth, rng, we_sent=True, max_interval=max_interval,
                                       min_interval=min_interval)
        #: Which of our SRs went out when, for the RTT of the answers.
        self.rtt_meter = RttMeter()
        #: Compound RTCP packets built by :meth:`handle_timer` so far.
        self.reports_sent = 0
        self._last_timestamp: int | None = None
        self._first_due: float | None = None
        self._closed = False
        self._anchor: tuple[float, int] | None = None  # (instant, RTP timestamp) not yet in the clock map

    # -- RTP ----------------------------------------------------------------------------------
    def on_packet(self, packet: RtpPacket, now: float, *, at: float | None = None,
                  pts_equals_dts: bool = True) -> None:
        """Count a packet we sent at ``now``.

        The RTP/time anchor moves only on the first packet of a frame (its timestamp differs from
        the previous packet's) whose PTS equals its DTS (QUIRKS: a B-frame's timestamp is not its
        sending instant, and the later packets of a frame were not sampled when they were sent).

        :param at: the instant on the caller's monotonic clock that the packet's timestamp stands
            for, when the caller knows it better than the sending time (a server that puts every
            track on one timeline passes ``epoch + pts / rate`` here, so its SRs align the tracks
            exactly); ``now`` by default.
        :param pts_equals_dts: ``False`` for the packets of a frame that is out of decode order.
        """
        self.on_sent(packet.timestamp, len(packet.payload), now, at=at, pts_equals_dts=pts_equals_dts)

    def on_sent(self, timestamp: int, payload_octets: int, now: float, *, at: float | None = None,
                pts_equals_dts: bool = True, packets: int = 1) -> None:
        """:meth:`on_packet` for a packet known by its RTP timestamp and payload size only (a
        server that writes the same packets to many sessions builds no packet object per session),
        or for ``packets`` packets of one timestamp carrying ``payload_octets`` in all."""
        if self._closed:
            raise LocalProtocolError("the sender said BYE")
        stats = self.statistics
        stats.packet_count = (stats.packet_count + packets) & 0xFFFFFFFF
        stats.octet_count = (stats.octet_count + payload_octets) & 0xFFFFFFFF
        if timestamp != self._last_timestamp and pts_equals_dts:
            self._anchor = (now if at is None else at, timestamp)  # enters the clock map at the next SR
        self._last_timestamp = timestamp
        if self._first_due is None:
            self._first_due = now + self.first_report_delay

    def on_shared(self, packet_count: int, octet_count: int, timestamp: int, now: float, *,
                  at: float | None = None) -> None:
        """The counts of a source whose packets are counted elsewhere, and the RTP timestamp of
        its latest frame (standing for ``at``, ``now`` by default): one stream sent alike to many
        sessions, whose sender reports all carry its counts since it started, as gst-rtsp-server's
        shared media and gortsplib's ``ServerStream`` report. Call it with the session's first
        packet and before each report (:meth:`next_timer`, :meth:`handle_timer`, :meth:`goodbye`)."""
        if self._closed:
            raise LocalProtocolError("the sender said BYE")
        stats = self.statistics
        stats.packet_count = packet_count & 0xFFFFFFFF
        stats.octet_count = octet_count & 0xFFFFFFFF
        if timestamp != self._last_timestamp:
            self._anchor = (now if at is None else at, timestamp)
        self._last_timestamp = timestamp
        if self._first_due is None:
            self._first_due = now + self.first_report_delay

    @property
    def packet_count(self) -> int:
        """RTP packets sent (modulo 2**32, as the SR carries it)."""
        return self.statistics.packet_count

    @property
    def octet_count(self) -> int:
        """RTP payload octets sent (modulo 2**32)."""
        return self.statistics.octet_count

    # -- RTCP out -----------------------------------------------------------------------------
    def next_timer(self) -> float | None:
        """When the next SR is due on the caller's monotonic clock; ``None`` before the first
        packet (nothing to report) and after :meth:`goodbye`."""
        if self._closed or self._first_due is None:
            return None
        if self.reports_sent == 0:
            return self._first_due
        return self.scheduler.next_timer()

    def handle_timer(self, now: float, wallclock: float) -> bytes | None:
        """The compound SR + SDES packet to send if one is due at ``now``, else ``None``.

        :param wallclock: Unix seconds at ``now`` (the SR's NTP timestamp).
        """
        due = self.next_timer()
        if due is None or now < due:
            return None
        data = self._compound(self.sender_report(now, wallclock))
        self.reports_sent += 1
        self.scheduler.on_sent(len(data) + UDP_IP_OVERHEAD, now)
        return data

    def sender_report(self, now: float, wallclock: float, reports: tuple[ReportBlock, ...] = ()) -> SenderReport:
        """An SR for the instant ``now`` (monotonic) = ``wallclock`` (Unix seconds): its RTP
        timestamp extrapolated from the anchor at the nominal clock rate. Remembered for the RTT.

        :raises LocalProtocolError: before the first packet.
        """
        if self._anchor is not None:
            self.statistics.set_anchor(*self._anchor)
            self._anchor = None
        rtp = self.statistics.clock_map.rtp_timestamp(now)
        if rtp is None:
            raise LocalProtocolError("no packet sent yet: nothing to report")
        ntp = unix_to_ntp(wallclock)
        self.rtt_meter.on_sent(ntp, now)
        return SenderReport(self.ssrc, ntp, rtp, self.packet_count, self.octet_count, reports)

    def goodbye(self, now: float, wallclock: float, reason: bytes | None = None) -> bytes:
        """The compound packet that ends the stream: an SR (an empty RR before any packet), the
        SDES CNAME and a BYE (RFC 3550 6.6). No report is due after it."""
        if self.statistics.clock_map.has_report or self._anchor is not None:
            head: SenderReport | ReceiverReport = self.sender_report(now, wallclock)
        else:
            head = ReceiverReport(self.ssrc)
        self._closed = True
        return self._compound(head) + bytes(Goodbye((self.ssrc,), reason))

    @property
    def closed(self) -> bool:
        """Whether :meth:`goodbye` was called."""
        return self._closed

    def _compound(self, head: SenderReport | ReceiverReport) -> bytes:
        sdes = SourceDescription((SdesChunk(self.ssrc, ((SDES_CNAME, self.cname),)),))
        return bytes(head) + bytes(sdes)

    # -- RTCP in ------------------------------------------------------------------------------
    def on_rtcp(self, packets: Iterable[RtcpPacket], now: float, size: int | None = None) -> float | None:
        """Digest a compound RTCP packet from a peer: the report blocks about our SSRC in its SRs
        and RRs give the round-trip time (``arrival - our SR's time - DLSR``).

        :param size: the compound packet's size in octets, for A.7's average (optional).
        :returns: the RTT measured from this packet, if any (also kept in :attr:`rtt`).
        """
        if size is not None:
            self.scheduler.on_received(size + UDP_IP_OVERHEAD)
        rtt = None
        for packet in packets:
            if isinstance(packet, (SenderReport, ReceiverReport)):
                for block in packet.reports:
                    if block.ssrc == self.ssrc:
                        measured = self.rtt_meter.measure(block.lsr, block.dlsr, now)
                        if measured is not None:
                            rtt = measured
        if rtt is not None:
            self.statistics.rtt = rtt
        return rtt

    @property
    def rtt(self) -> float | None:
        """The latest round-trip time in seconds, ``None`` until a peer answered an SR."""
        return self.rtt_meter.rtt
