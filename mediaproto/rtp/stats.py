"""RTP session statistics (RFC 3550 appendix A): what a receiver reports and a sender announces.

- :class:`ReceiverStatistics` — one remote source as a receiver sees it: sequence validation with
  probation (A.1), expected / lost / fraction lost (A.3), interarrival jitter (A.8), and the
  reception report block with LSR/DLSR from the last SR received.
- :class:`SenderStatistics` — our own source: packet and octet counts, the RTP/wallclock anchor,
  and sender reports.
- :func:`round_trip_time` — RTT from a report block about our stream (RFC 3550 6.4.1).
- :func:`rtcp_interval` and :class:`RtcpScheduler` — the RTCP transmission interval (A.7) with the
  randomisation drawn from an injected random source.

Nothing here reads a clock. ``now`` is the caller's monotonic time in seconds (used for delays
and jitter); ``wallclock`` is Unix time in seconds (used for NTP timestamps in reports).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from ..clock import RtpClockMap, compact_to_seconds, ntp_to_compact, ntp_to_unix, seconds_to_compact, unix_to_ntp
from ..errors import LocalProtocolError
from .packet import RtpPacket
from .rtcp import ReportBlock, SenderReport

__all__ = [
    "RTP_SEQ_MOD",
    "MIN_SEQUENTIAL",
    "MAX_DROPOUT",
    "MAX_MISORDER",
    "ReceiverStatistics",
    "SenderStatistics",
    "round_trip_time",
    "RttMeter",
    "RandomSource",
    "rtcp_interval",
    "RtcpScheduler",
]

RTP_SEQ_MOD = 1 << 16
#: Packets in sequence before a source is valid (A.1).
MIN_SEQUENTIAL = 2
#: The largest forward jump that is still in sequence (A.1).
MAX_DROPOUT = 3000
#: The largest backward jump that is still a late packet, not a restart (A.1).
MAX_MISORDER = 100


class ReceiverStatistics:
    """Reception statistics of one source, as RFC 3550 appendix A.1, A.3 and A.8 define them.

    Feed every packet of the source to :meth:`update`; call :meth:`on_sender_report` for each SR
    from it; build a report block with :meth:`report_block` when an RR or SR goes out.

    :param ssrc: the source.
    :param clock_rate: its RTP clock rate, for the jitter.
    """

    __slots__ = (
        "ssrc", "clock_rate", "min_sequential", "max_dropout", "max_misorder",
        "max_seq", "cycles", "base_seq", "bad_seq", "probation", "received", "expected_prior",
        "received_prior", "jitter_value", "_last_arrival", "_last_timestamp", "lsr", "_last_sr_time",
        "clock_map", "_started",
    )

    def __init__(
        self,
        ssrc: int,
        clock_rate: int,
        *,
        min_sequential: int = MIN_SEQUENTIAL,
        max_dropout: int = MAX_DROPOUT,
        max_misorder: int = MAX_MISORDER,
    ) -> None:
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.min_sequential = min_sequential
        self.max_dropout = max_dropout
        self.max_misorder = max_misorder
        self.max_seq = 0
        #: Shifted count of sequence number cycles (a multiple of 65536).
        self.cycles = 0
        self.base_seq = 0
        self.bad_seq = RTP_SEQ_MOD + 1
        self.probation = min_sequential
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        #: The interarrival jitter estimate, in RTP timestamp units (A.8).
        self.jitter_value = 0.0
        self._last_arrival: float | None = None
        self._last_timestamp = 0
        #: The compact NTP time of the last SR received from the source (0: none).
        self.lsr = 0
        self._last_sr_time: float | None = None
        #: RTP timestamp to wallclock, from the source's SRs (lip sync).
        self.clock_map = RtpClockMap(clock_rate)
        self._started = False

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def update_seq(self, seq: int) -> bool:
        """RFC 3550 A.1 ``update_seq``: whether the packet counts (the source is valid and the
        number is in sequence, late, or a duplicate)."""
        seq &= 0xFFFF
        if not self._started:
            self._started = True
            self._init_seq(seq)
            self.max_seq = (seq - 1) & 0xFFFF
            self.probation = self.min_sequential
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = self.min_sequential - 1
                self.max_seq = seq
            return False
        if udelta < self.max_dropout:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - self.max_misorder:
            if seq == self.bad_seq:
                # Two sequential packets after a big jump: the sender restarted.
                self._init_seq(seq)
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                return False
        # else: a duplicate or a reordered packet
        self.received += 1
        return True

    def update(self, packet: RtpPacket, now: float, *, jitter: bool = True) -> bool:
        """Count one arriving packet: sequence validation, then the jitter.

        :param now: arrival time, seconds on the caller's monotonic clock.
        :param jitter: whether this packet may update the jitter. QUIRKS: compute RFC 3550 jitter
            only from packets whose PTS equals their DTS (B-frames distort it); pass ``False`` for
            the others.
        :returns: whether the packet counted (see :meth:`update_seq`).
        """
        valid = self.update_seq(packet.sequence_number)
        if valid and jitter:
            self.update_jitter(packet.timestamp, now)
        return valid

    def update_jitter(self, rtp_timestamp: int, now: float) -> None:
        """RFC 3550 A.8: ``J += (|D(i-1, i)| - J) / 16`` with the arrival time in RTP units. The
        timestamp difference is taken modulo 2**32, so the RTP timestamp wrap is harmless.

        Only packets whose timestamp differs from the previous one counted here take part: the
        later packets of a frame share its sampling instant, so their spread measures the
        sender's pacing, not the network (QUIRKS; gortsplib and GStreamer do the same)."""
        last = self._last_arrival
        if last is not None:
            if rtp_timestamp == self._last_timestamp:
                return
            ts_delta = (rtp_timestamp - self._last_timestamp) & 0xFFFFFFFF
            if ts_delta >= 0x80000000:
                ts_delta -= 0x100000000
            d = abs((now - last) * self.clock_rate - ts_delta)
            self.jitter_value += (d - self.jitter_value) / 16.0
        self._last_arrival = now
        self._last_timestamp = rtp_timestamp

    @property
    def extended_max(self) -> int:
        """The extended highest sequence number received (A.3)."""
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        """Packets expected so far (A.3)."""
        return self.extended_max - self.base_seq + 1 if self.probation == 0 else 0

    @property
    def lost(self) -> int:
        """Cumulative packets lost (A.3), negative when duplicates arrived."""
        return self.expected - self.received

    @property
    def jitter(self) -> int:
        """The jitter as an RR carries it (RTP timestamp units, truncated)."""
        return int(self.jitter_value)

    def on_sender_report(self, sr: SenderReport, now: float) -> None:
        """Remember an SR from the source: its LSR for our report blocks and its RTP/NTP pair for
        :attr:`clock_map`."""
        self.lsr = ntp_to_compact(sr.ntp_timestamp)
        self._last_sr_time = now
        self.clock_map.add_report(ntp_to_unix(sr.ntp_timestamp), sr.rtp_timestamp)

    def report_block(self, now: float) -> ReportBlock:
        """The reception report block for this source, and start a new reporting interval (A.3:
        the fraction lost counts since the previous call)."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        self.expected_prior = expected
        received_interval = self.received - self.received_prior
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            fraction = 0
        else:
            fraction = min((lost_interval << 8) // expected_interval, 255)
        lost = max(-0x800000, min(self.lost, 0x7FFFFF))
        dlsr = 0
        if self._last_sr_time is not None:
            dlsr = seconds_to_compact(now - self._last_sr_time)
        return ReportBlock(
            self.ssrc, fraction, lost, self.extended_max & 0xFFFFFFFF, min(self.jitter, 0xFFFFFFFF), self.lsr, dlsr
        )


def round_trip_time(block: ReportBlock, wallclock: float) -> float | None:
    """The round-trip time in seconds from a report block about our stream, received at
    ``wallclock`` (Unix seconds): ``A - LSR - DLSR`` (RFC 3550 6.4.1). ``None`` when the block
    has no LSR yet or the result is negative (clocks disagree)."""
    if block.lsr == 0:
        return None
    arrival = ntp_to_compact(unix_to_ntp(wallclock))
    rtt = (arrival - block.lsr - block.dlsr) & 0xFFFFFFFF
    if rtt >= 0x80000000:
        return None
    return rtt / 65536.0


class RttMeter:
    """Round-trip times from the reports we sent and the peer's answers to them.

    Every report we send carries an NTP timestamp (an SR's, or an XR receiver reference time);
    the peer answers with its middle 32 bits (LSR / LRR) and the delay it held it (DLSR / DLRR).
    :meth:`on_sent` remembers, for the last :attr:`capacity` reports, which compact NTP time went
    out at which ``now``; :meth:`measure` finds the answer's LSR among them and returns
    ``arrival - sent - delay`` on the caller's monotonic clock: RFC 3550 6.4.1's
    ``A - LSR - DLSR``, without trusting our wall clock to run steadily between the two.
    """

    __slots__ = ("capacity", "_sent", "rtt")

    def __init__(self, capacity: int = 16) -> None:
        if capacity <= 0:
            raise LocalProtocolError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._sent: dict[int, float] = {}
        #: The latest round-trip time measured, in seconds (``None`` until one is).
        self.rtt: float | None = None

    def on_sent(self, ntp_timestamp: int, now: float) -> None:
        """We sent a report carrying the 64-bit ``ntp_timestamp`` at ``now``."""
        sent = self._sent
        sent[ntp_to_compact(ntp_timestamp)] = now
        while len(sent) > self.capacity:
            del sent[next(iter(sent))]

    def measure(self, lsr: int, dlsr: int, now: float) -> float | None:
        """The RTT from an answer (``lsr``, ``dlsr`` as a report block or DLRR item carries them)
        that arrived at ``now``; ``None`` when ``lsr`` is 0, unknown, or the result negative
        (a result within DLSR's rounding of zero counts as zero)."""
        sent = self._sent.get(lsr) if lsr else None
        if sent is None:
            return None
        rtt = now - sent - compact_to_seconds(dlsr)
        if rtt < -2 / 65536:  # beyond the 1/65536 s rounding of DLSR: a bogus answer
            return None
        rtt = self.rtt = max(rtt, 0.0)
        return rtt


class SenderStatistics:
    """Our own sending source: counts, the RTP/wallclock anchor, sender reports and RTT.

    :param ssrc: our SSRC.
    :param clock_rate: the RTP clock rate of what we send.
    """

    __slots__ = ("ssrc", "clock_rate", "packet_count", "octet_count", "clock_map", "rtt")

    def __init__(self, ssrc: int, clock_rate: int) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.packet_count = 0
        #: Payload octets sent (headers and padding excluded, RFC 3550 6.4.1).
        self.octet_count = 0
        #: Maps our RTP timestamps to wallclock; anchored by :meth:`on_packet_sent`.
        self.clock_map = RtpClockMap(clock_rate)
        #: The latest round-trip time measured, in seconds.
        self.rtt: float | None = None

    def on_packet_sent(self, packet: RtpPacket, wallclock: float | None = None) -> None:
        """Count a packet we sent.

        :param wallclock: the Unix time the packet's RTP timestamp stands for (its capture time).
            Pass it only for the first packet of a frame (QUIRKS: move the RTP/wallclock anchor
            only on a frame's first packet), or leave it out and anchor with
            :meth:`set_anchor`.
        """
        self.packet_count = (self.packet_count + 1) & 0xFFFFFFFF
        self.octet_count = (self.octet_count + len(packet.payload)) & 0xFFFFFFFF
        if wallclock is not None:
            self.clock_map.add_report(wallclock, packet.timestamp)

    def set_anchor(self, wallclock: float, rtp_timestamp: int) -> None:
        """Pair an RTP timestamp with the Unix time it was sampled at."""
        self.clock_map.add_report(wallclock, rtp_timestamp)

    def sender_report(self, wallclock: float, reports: tuple[ReportBlock, ...] = ()) -> SenderReport:
        """An SR for ``wallclock`` (Unix seconds): its RTP timestamp extrapolated from the anchor
        at the nominal clock rate.

        :raises LocalProtocolError: before any anchor (no packet with a wallclock yet).
        """
        rtp = self.clock_map.rtp_timestamp(wallclock)
        if rtp is None:
            raise LocalProtocolError("no RTP/wallclock anchor yet: pass wallclock to on_packet_sent first")
        return SenderReport(self.ssrc, unix_to_ntp(wallclock), rtp, self.packet_count, self.octet_count, reports)

    def on_report_block(self, block: ReportBlock, wallclock: float) -> float | None:
        """Take a report block about our stream; returns (and keeps in :attr:`rtt`) the RTT."""
        if block.ssrc != self.ssrc:
            return None
        rtt = round_trip_time(block, wallclock)
        if rtt is not None:
            self.rtt = rtt
        return rtt


class RandomSource(Protocol):
    """What the interval needs from a random generator (``random.Random`` fits)."""

    def random(self) -> float: ...


#: RFC 3550 A.7 constants.
RTCP_MIN_TIME = 5.0
RTCP_SENDER_BW_FRACTION = 0.25
RTCP_RCVR_BW_FRACTION = 1 - RTCP_SENDER_BW_FRACTION
COMPENSATION = math.e - 1.5


def rtcp_interval(
    members: int,
    senders: int,
    rtcp_bw: float,
    we_sent: bool,
    avg_rtcp_size: float,
    initial: bool,
    rng: RandomSource,
    min_time: float = RTCP_MIN_TIME,
) -> float:
    """The randomised RTCP transmission interval in seconds (RFC 3550 A.7 ``rtcp_interval``).

    :param rtcp_bw: the RTCP bandwidth in octets per second (5% of the session bandwidth).
    :param avg_rtcp_size: the average compound RTCP size in octets (with UDP/IP headers).
    :param initial: whether no RTCP packet was sent yet (halves the minimum).
    :param rng: the random source; the interval is scaled by ``rng.random() + 0.5``.
    """
    rtcp_min_time = min_time / 2 if initial else min_time
    n = members
    if senders <= members * RTCP_SENDER_BW_FRACTION:
        if we_sent:
            rtcp_bw *= RTCP_SENDER_BW_FRACTION
            n = senders
        else:
            rtcp_bw *= RTCP_RCVR_BW_FRACTION
            n -= senders
    t = avg_rtcp_size * n / rtcp_bw if rtcp_bw > 0 else rtcp_min_time
    if t < rtcp_min_time:
        t = rtcp_min_time
    t *= rng.random() + 0.5
    return t / COMPENSATION


@dataclass
class RtcpScheduler:
    """When to send the next compound RTCP packet (RFC 3550 6.3 and A.7, without reconsideration).

    Call :meth:`on_sent` after sending one, :meth:`on_received` for each one received; send when
    ``now >= next_timer()``.

    :param session_bandwidth: octets per second of the whole session; RTCP gets 5%.
    :param rng: the injected random source.
    :param max_interval: an upper bound on the interval, or ``None`` for pure A.7. QUIRKS: servers
        drop clients that stay silent, so an RTSP client should report at least every 5 s
        (``max_interval=5.0``); A.7 alone can wait up to 6.2 s even in a two-party session.
    """

    session_bandwidth: float
    rng: RandomSource
    members: int = 2
    senders: int = 1
    we_sent: bool = False
    avg_rtcp_size: float = 128.0
    initial: bool = True
    next_time: float | None = None
    max_interval: float | None = None
    #: RFC 3550 6.2's minimum interval (5 s; 6.2 allows a smaller one scaled to the bandwidth).
    min_interval: float = RTCP_MIN_TIME

    @property
    def rtcp_bw(self) -> float:
        """The RTCP share: 5% of the session bandwidth (RFC 3550 6.2)."""
        return self.session_bandwidth * 0.05

    def start(self, now: float) -> float:
        """Schedule the first report; returns its time."""
        self.next_time = now + self.interval()
        return self.next_time

    def interval(self) -> float:
        """A fresh randomised interval for the current membership."""
        t = rtcp_interval(self.members, self.senders, self.rtcp_bw, self.we_sent, self.avg_rtcp_size,
                          self.initial, self.rng, self.min_interval)
        return t if self.max_interval is None else min(t, self.max_interval)

    def next_timer(self) -> float | None:
        """The time of the next report, or ``None`` before :meth:`start`."""
        return self.next_time

    def on_sent(self, size: int, now: float) -> float:
        """A compound packet of ``size`` octets went out at ``now``; returns the next time."""
        self.avg_rtcp_size += (size - self.avg_rtcp_size) / 16.0
        self.initial = False
        self.next_time = now + self.interval()
        return self.next_time

    def on_received(self, size: int) -> None:
        """A compound packet of ``size`` octets arrived (updates the average size)."""
        self.avg_rtcp_size += (size - self.avg_rtcp_size) / 16.0
