"""The receiving side of one RTP stream: statistics, receiver reports, round-trip time.

An :class:`RtpReceiver` is in charge of the source we receive on one stream (gortsplib's
``rtpreceiver`` has the same job): it keeps RFC 3550's A.1/A.3/A.8 statistics in a
:class:`~mediaproto.rtp.stats.ReceiverStatistics` (a new one when the source changes SSRC),
remembers the last sender report for LSR/DLSR, and says when the next receiver report is due:
the A.7 interval, capped at 5 s by default (QUIRKS: servers drop clients that stay silent).

Round-trip time needs a report of ours the peer can answer. An RR carries no timestamp, so a pure
receiver has one only with ``rrtr=True``: each report then carries an RFC 3611 receiver reference
time, and a peer that answers with a DLRR block gives the RTT. Report blocks about our SSRC with
an LSR we know (when the same SSRC also sent SRs through a shared
:class:`~mediaproto.rtp.stats.RttMeter`) count too.

``now`` is the caller's monotonic clock; ``wallclock`` (Unix seconds) is only written into RRTR.
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
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
)
from .rtcp_xr import DelaySinceLastRr, ExtendedReport, ReceiverReferenceTime
from .sender import UDP_IP_OVERHEAD
from .stats import RTCP_MIN_TIME, RandomSource, ReceiverStatistics, RtcpScheduler, RttMeter

__all__ = ["RtpReceiver", "MAX_REPORT_INTERVAL"]

#: Servers drop clients silent for longer than their session timeout (often 60 s, some much less);
#: a receiver reports at least this often.
MAX_REPORT_INTERVAL = 5.0


class RtpReceiver:
    """The source we receive on one stream: statistics, receiver reports, RTT.

    :param clock_rate: the stream's RTP clock rate (for the jitter).
    :param local_ssrc: the SSRC our reports come from.
    :param rng: the random source of the A.7 randomisation (``random.Random`` fits).
    :param remote_ssrc: the source's SSRC when signalling named it (SETUP's ``ssrc=``): packets of
        other sources are then ignored. ``None``: follow whichever source sends, starting new
        statistics when it changes.
    :param cname: the SDES CNAME sent with every report.
    :param session_bandwidth: octets per second of the session (RTCP gets 5%).
    :param max_interval: the longest wait between reports (5 s; ``None``: pure A.7).
    :param min_interval: A.7's minimum interval.
    :param rrtr: add an RFC 3611 receiver reference time to each report (needs ``wallclock``
        in :meth:`handle_timer`), so a peer that answers with DLRR gives an RTT.
    :param rtt_meter: share one with an :class:`~mediaproto.rtp.sender.RtpSender` of the same SSRC.
    """

    __slots__ = (
        "clock_rate", "local_ssrc", "remote_ssrc", "cname", "rrtr", "statistics", "scheduler",
        "rtt_meter", "bye_received", "reports_sent", "_started",
    )

    def __init__(
        self,
        clock_rate: int,
        *,
        local_ssrc: int,
        rng: RandomSource,
        remote_ssrc: int | None = None,
        cname: bytes = b"mediaproto",
        session_bandwidth: float = 64000.0,
        max_interval: float | None = MAX_REPORT_INTERVAL,
        min_interval: float = RTCP_MIN_TIME,
        rrtr: bool = False,
        rtt_meter: RttMeter | None = None,
    ) -> None:
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        if not 0 <= local_ssrc <= 0xFFFFFFFF:
            raise LocalProtocolError(f"local_ssrc must fit 32 bits, got {local_ssrc}")
        self.clock_rate = clock_rate
        self.local_ssrc = local_ssrc
        self.remote_ssrc = remote_ssrc
        self.cname = cname
        self.rrtr = rrtr
        #: The statistics of the current source (``None`` before its first packet).
        self.statistics: ReceiverStatistics | None = None
        #: The A.7 schedule of our reports.
        self.scheduler = RtcpScheduler(session_bandwidth, rng, max_interval=max_interval,
                                       min_interval=min_interval)
        #: Our timestamped reports and when they went out, for the RTT of the answers.
        self.rtt_meter = rtt_meter if rtt_meter is not None else RttMeter()
        #: Whether the source said BYE (the stream ended).
        self.bye_received = False
        #: Compound RTCP packets built by :meth:`handle_timer` so far.
        self.reports_sent = 0
        self._started = False

    # -- RTP ----------------------------------------------------------------------------------
    def start(self, now: float) -> None:
        """Start the report schedule (the first packet does it otherwise): call at PLAY, so a
        session whose media are late still reports."""
        if not self._started:
            self._started = True
            self.scheduler.start(now)

    def on_packet(self, packet: RtpPacket, now: float, *, pts_equals_dts: bool = True) -> bool:
        """Count a packet that arrived at ``now``.

        :param pts_equals_dts: ``False`` keeps the packet out of the jitter (QUIRKS: B-frames).
        :returns: whether it counted (valid source, in sequence, late or duplicate; see
            :meth:`~mediaproto.rtp.stats.ReceiverStatistics.update_seq`).
        """
        ssrc = packet.ssrc
        if self.remote_ssrc is not None and ssrc != self.remote_ssrc:
            return False
        stats = self.statistics
        if stats is None or stats.ssrc != ssrc:  # a new source, or the sender restarted
            stats = self.statistics = ReceiverStatistics(ssrc, self.clock_rate)
        self.start(now)
        return stats.update(packet, now, jitter=pts_equals_dts)

    # -- RTCP in ------------------------------------------------------------------------------
    def on_rtcp(self, packets: Iterable[RtcpPacket], now: float, size: int | None = None) -> float | None:
        """Digest a compound RTCP packet from the peer: its SR (for LSR/DLSR and the clock map),
        report blocks or DLRR items about our SSRC (RTT), its BYE.

        :param size: the compound packet's size in octets, for A.7's average (optional).
        :returns: the RTT measured from this packet, if any (also in :attr:`rtt`).
        """
        if size is not None:
            self.scheduler.on_received(size + UDP_IP_OVERHEAD)
        stats = self.statistics
        meter = self.rtt_meter
        me = self.local_ssrc
        rtt = None
        for packet in packets:
            if isinstance(packet, SenderReport) and stats is not None and packet.ssrc == stats.ssrc:
                stats.on_sender_report(packet, now)
            if isinstance(packet, (SenderReport, ReceiverReport)):
                for block in packet.reports:
                    measured = meter.measure(block.lsr, block.dlsr, now) if block.ssrc == me else None
                    rtt = rtt if measured is None else measured
            elif isinstance(packet, ExtendedReport):
                for xr in packet.blocks:
                    if isinstance(xr, DelaySinceLastRr):
                        for item in xr.items:
                            if item.ssrc == me:
                                measured = meter.measure(item.last_rr, item.delay_since_last_rr, now)
                                rtt = rtt if measured is None else measured
            elif isinstance(packet, Goodbye) and stats is not None and stats.ssrc in packet.sources:
                self.bye_received = True
        return rtt

    @property
    def rtt(self) -> float | None:
        """The latest round-trip time in seconds, ``None`` until a report of ours was answered."""
        return self.rtt_meter.rtt

    # -- RTCP out -----------------------------------------------------------------------------
    def next_timer(self) -> float | None:
        """When the next RR is due on the caller's monotonic clock (``None`` before start)."""
        return self.scheduler.next_timer()

    def handle_timer(self, now: float, wallclock: float | None = None) -> bytes | None:
        """The compound RR + SDES (+ XR RRTR) packet if one is due at ``now``, else ``None``.

        :param wallclock: Unix seconds at ``now``; needed for the RRTR when ``rrtr`` is set.
        """
        due = self.next_timer()
        if due is None or now < due:
            return None
        data = self.report(now, wallclock)
        self.reports_sent += 1
        self.scheduler.on_sent(len(data) + UDP_IP_OVERHEAD, now)
        return data

    def receiver_report(self, now: float) -> ReceiverReport:
        """An RR with a report block about the source once it is valid (RFC 3550 6.4.2); starts
        a new interval for the fraction lost."""
        stats = self.statistics
        blocks = (stats.report_block(now),) if stats is not None and stats.expected else ()
        return ReceiverReport(self.local_ssrc, blocks)

    def report(self, now: float, wallclock: float | None = None) -> bytes:
        """The compound packet :meth:`handle_timer` sends, built now, outside the schedule."""
        data = bytes(self.receiver_report(now)) + bytes(
            SourceDescription((SdesChunk(self.local_ssrc, ((SDES_CNAME, self.cname),)),)))
        if self.rrtr and wallclock is not None:
            ntp = unix_to_ntp(wallclock)
            self.rtt_meter.on_sent(ntp, now)
            data += bytes(ExtendedReport(self.local_ssrc, (ReceiverReferenceTime(ntp),)))
        return data
