"""RtpReceiver on a lossy, reordered, jittered stream: loss, jitter and RTT checked against RFC 3550's
formulas (A.3 expected/lost/fraction, A.8 jitter, 6.4.1 LSR/DLSR and A - LSR - DLSR), computed here
from the simulated stream itself, not from the receiver."""

from __future__ import annotations

import math
import random

import pytest

from mediaproto.clock import ntp_to_compact, seconds_to_compact, unix_to_ntp
from mediaproto.errors import LocalProtocolError
from mediaproto.rtp import (
    DelaySinceLastRr,
    DlrrItem,
    ExtendedReport,
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtpPacket,
    SenderReport,
    SourceDescription,
    parse_compound,
)
from mediaproto.rtp.receiver import RtpReceiver
from mediaproto.rtp.rtcp_xr import ReceiverReferenceTime

REMOTE, LOCAL = 0xCAFE0001, 0x0B0E0002
WALL = 1_700_000_000.0
RATE = 90000


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def simulate(seed: int) -> list[tuple[float, int, int, bool]]:
    """(arrival, extended seq, extended timestamp, is a B-frame) in arrival order: 30 fps video,
    1-4 packets a frame sent 1 ms apart, every 4th frame a B-frame sent out of timestamp
    order; 5% lost, 1% duplicated, 0-40 ms of network delay (which reorders)."""
    rng = random.Random(seed)
    seq, ts0 = 65_400, 0xFFFF_0000  # both counters wrap during the stream
    sent: list[tuple[float, int, int, bool]] = []
    for frame in range(600):
        b_frame = frame % 4 == 2
        ts = ts0 + 3000 * (frame - 1 if b_frame else frame)  # a B-frame's pts is before its dts
        t = frame / 30
        for k in range(rng.randint(1, 4)):
            sent.append((t + k * 0.001, seq, ts, b_frame))
            seq += 1
    arrivals = []
    for i, (t, s, ts, b) in enumerate(sent):
        if i < 2:  # the first two arrive in order: the source passes probation (A.1) at once
            arrivals.append((t, s, ts, b))
            continue
        if rng.random() < 0.05:
            continue
        copies = 2 if rng.random() < 0.01 else 1
        for _ in range(copies):
            arrivals.append((t + rng.uniform(0.0, 0.040), s, ts, b))
    arrivals.sort(key=lambda a: a[0])
    return arrivals


def rfc_jitter(arrivals: list[tuple[float, int, int, bool]]) -> float:
    """A.8 over the counted packets (all but the first, on probation), skipping B-frames and packets
    with the same timestamp as the previous one used."""
    j = 0.0
    prev: tuple[float, int] | None = None
    for arrival, _, ts, b in arrivals[1:]:
        if b or (prev is not None and ts == prev[1]):
            continue
        if prev is not None:
            d = (arrival - prev[0]) * RATE - (ts - prev[1])
            j += (abs(d) - j) / 16
        prev = (arrival, ts)
    return j


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lossy_reordered_jittered_stream(seed: int) -> None:
    arrivals = simulate(seed)
    rx = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.5), rrtr=True)
    # The peer's SR arrives mid-stream; our RR goes out later.
    half = len(arrivals) // 2
    for i, (arrival, seq, ts, b) in enumerate(arrivals):
        rx.on_packet(RtpPacket(96, seq & 0xFFFF, ts & 0xFFFFFFFF, REMOTE, b"x" * 10), arrival,
                     pts_equals_dts=not b)
        if i == half:
            sr_ntp = unix_to_ntp(7777.5)  # the sender's own clock: anything
            sr_at = arrival
            rx.on_rtcp(parse_compound(bytes(SenderReport(REMOTE, sr_ntp, ts & 0xFFFFFFFF, 1, 2))), arrival)
        if i == half // 2:  # a first report interval ends here
            first_expected = max(a[1] for a in arrivals[: i + 1]) - arrivals[1][1] + 1
            first_received = i  # the packets after the first (on probation), duplicates included
            assert rx.receiver_report(arrival).reports[0].packets_lost == first_expected - first_received
    stats = rx.statistics
    assert stats is not None
    # A.3, from the stream: expected = highest - base + 1; received counts duplicates.
    base = arrivals[1][1]
    highest = max(a[1] for a in arrivals)
    expected = highest - base + 1
    received = len(arrivals) - 1
    assert (stats.expected, stats.received, stats.lost) == (expected, received, expected - received)
    assert 0 < expected - received < 0.07 * expected  # about 5% lost, less the duplicates
    # A.8 jitter, computed independently over the same arrivals.
    assert stats.jitter_value == pytest.approx(rfc_jitter(arrivals), rel=1e-9)
    # Our RR 1.25 s after the SR: LSR = middle 32 bits of its NTP, DLSR = 1.25 s in 1/65536 s.
    now = arrivals[-1][0] + 0.1
    data = rx.report(now, WALL + now)
    rr, sdes, xr = parse_compound(data, strict=True)
    assert isinstance(rr, ReceiverReport) and isinstance(sdes, SourceDescription) and isinstance(xr, ExtendedReport)
    (block,) = rr.reports
    assert block.ssrc == REMOTE and rr.ssrc == LOCAL
    assert block.highest_sequence == highest & 0xFFFFFFFF and block.highest_sequence > 0xFFFF  # cycles counted
    assert block.packets_lost == expected - received
    interval_expected = expected - first_expected
    interval_lost = interval_expected - (received - first_received)
    assert block.fraction_lost == (interval_lost << 8) // interval_expected
    assert block.jitter == int(rfc_jitter(arrivals))
    assert block.lsr == ntp_to_compact(sr_ntp)
    assert block.dlsr == round((now - sr_at) * 65536)
    # RTT: the peer answers our RRTR with DLRR after holding it 30 ms; 20 ms each way.
    rrtr = xr.blocks[0]
    assert isinstance(rrtr, ReceiverReferenceTime) and rrtr.ntp_timestamp == unix_to_ntp(WALL + now)
    lrr, dlrr = ntp_to_compact(rrtr.ntp_timestamp), seconds_to_compact(0.030)
    back = now + 0.020 + 0.030 + 0.020
    answer = ExtendedReport(REMOTE, (DelaySinceLastRr((DlrrItem(LOCAL, lrr, dlrr),)),))
    rtt = rx.on_rtcp(parse_compound(bytes(answer)), back)
    a = ntp_to_compact(unix_to_ntp(WALL + back))
    assert rtt == pytest.approx(((a - lrr - dlrr) & 0xFFFFFFFF) / 65536, abs=2 / 65536)
    assert rtt == pytest.approx(0.040, abs=1e-4) and rx.rtt == rtt


def test_cumulative_loss_clamps_to_24_bits() -> None:
    rx = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.5))
    for seq in (1, 2, 3):
        rx.on_packet(RtpPacket(96, seq, 0, REMOTE), 0.0)
    assert rx.statistics is not None
    rx.statistics.cycles = 1 << 24 << 16  # 2**40 packets expected, 2 received
    assert rx.receiver_report(1.0).reports[0].packets_lost == 0x7FFFFF
    rx.statistics.cycles = 0
    rx.statistics.received = 1 << 24  # more duplicates than anyone could send
    assert rx.receiver_report(1.0).reports[0].packets_lost == -0x800000
    parse_compound(rx.report(1.0))  # and it serializes


def test_reports_at_least_every_5_seconds() -> None:
    rng = random.Random(5)
    rx = RtpReceiver(RATE, local_ssrc=LOCAL, rng=rng)
    assert rx.next_timer() is None
    rx.start(100.0)
    first = rx.next_timer()
    assert first is not None and 100 + 1.25 / (math.e - 1.5) <= first <= 100 + 3.75 / (math.e - 1.5)
    t = first
    for _ in range(200):
        data = rx.handle_timer(t)
        assert data is not None
        nxt = rx.next_timer()
        assert nxt is not None and 2.5 / (math.e - 1.5) <= nxt - t <= 5.0
        t = nxt
    assert rx.reports_sent == 200
    # Pure A.7 (max_interval=None) waits longer than 5 s for a high draw.
    pure = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.99), max_interval=None)
    pure.start(0.0)
    pure.handle_timer(pure.next_timer() or 0.0)
    assert (pure.next_timer() or 0.0) - 0 > 6.0


def test_empty_report_before_packets_and_no_rrtr_without_wallclock() -> None:
    rx = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.5), rrtr=True)
    packets = parse_compound(rx.report(0.0), strict=True)
    assert packets[0] == ReceiverReport(LOCAL) and len(packets) == 2


def test_source_change_and_remote_ssrc() -> None:
    rx = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.5))
    for seq in (10, 11, 12):
        rx.on_packet(RtpPacket(96, seq, 0, REMOTE), 0.0)
    first = rx.statistics
    rx.on_packet(RtpPacket(96, 500, 0, REMOTE + 1), 0.0)
    assert rx.statistics is not first and rx.statistics is not None and rx.statistics.ssrc == REMOTE + 1
    fixed = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.5), remote_ssrc=REMOTE)
    assert not fixed.on_packet(RtpPacket(96, 1, 0, REMOTE + 1), 0.0)
    assert fixed.statistics is None


def test_rtt_from_a_report_block_about_us_and_bye() -> None:
    rx = RtpReceiver(RATE, local_ssrc=LOCAL, rng=Fixed(0.5))
    rx.on_packet(RtpPacket(96, 1, 0, REMOTE), 0.0)
    rx.rtt_meter.on_sent(unix_to_ntp(WALL + 1.0), 1.0)  # as a sender of the same SSRC would
    lsr = ntp_to_compact(unix_to_ntp(WALL + 1.0))
    sr = SenderReport(REMOTE, unix_to_ntp(5.0), 0, 1, 1, (ReportBlock(LOCAL, lsr=lsr, dlsr=seconds_to_compact(0.5)),))
    assert rx.on_rtcp([sr], 1.6) == pytest.approx(0.1, abs=1e-4)
    assert not rx.bye_received
    rx.on_rtcp([Goodbye((REMOTE,))], 2.0)
    assert rx.bye_received


def test_constructor_checks() -> None:
    with pytest.raises(LocalProtocolError):
        RtpReceiver(0, local_ssrc=LOCAL, rng=Fixed(0.5))
    with pytest.raises(LocalProtocolError):
        RtpReceiver(RATE, local_ssrc=-1, rng=Fixed(0.5))
