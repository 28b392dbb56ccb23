"""Receiver/sender statistics (RFC 3550 A.1, A.3, A.8, 6.4.1) and the A.7 interval; expected values
worked out by hand from the RFC's algorithms and examples."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.clock import NTP_UNIX_OFFSET, ntp_to_unix, unix_to_ntp
from mediaproto.errors import LocalProtocolError
from mediaproto.rtp import ReceiverReport, ReportBlock, RtpPacket, SenderReport, parse_compound
from mediaproto.rtp.stats import (
    COMPENSATION,
    ReceiverStatistics,
    RtcpScheduler,
    SenderStatistics,
    round_trip_time,
    rtcp_interval,
)


def pkt(seq: int, ts: int = 0, payload: bytes = b"") -> RtpPacket:
    return RtpPacket(96, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x1234, payload)


def test_probation() -> None:
    s = ReceiverStatistics(0x1234, 90000)
    assert not s.update(pkt(100), 0.0)  # first packet: on probation
    assert s.update(pkt(101), 0.0)  # MIN_SEQUENTIAL = 2 reached: base_seq = 101
    assert (s.base_seq, s.received, s.expected, s.lost) == (101, 1, 1, 0)


def test_probation_restarts_on_gap() -> None:
    s = ReceiverStatistics(1, 90000)
    assert not s.update(pkt(10), 0)
    assert not s.update(pkt(20), 0)  # not sequential: probation starts over from 20
    assert s.update(pkt(21), 0)
    assert s.base_seq == 21


def test_wrap_counts_cycles() -> None:
    s = ReceiverStatistics(1, 90000)
    for seq in (65533, 65534, 65535, 0, 1):
        s.update(pkt(seq), 0)
    assert s.cycles == 65536
    assert s.extended_max == 65537
    assert s.expected == 65537 - 65534 + 1 == 4
    assert s.lost == 0


def test_loss_and_fraction() -> None:
    s = ReceiverStatistics(1, 90000)
    for seq in range(100, 111):
        if seq not in (105, 106):
            s.update(pkt(seq), 0)
    assert (s.expected, s.received, s.lost) == (10, 8, 2)
    block = s.report_block(0)
    assert block.fraction_lost == 2 * 256 // 10 == 51
    assert block.packets_lost == 2 and block.highest_sequence == 110
    # Next interval: 10 more, none lost.
    for seq in range(111, 121):
        s.update(pkt(seq), 0)
    block = s.report_block(0)
    assert block.fraction_lost == 0 and block.packets_lost == 2


def test_duplicates_make_loss_negative() -> None:
    s = ReceiverStatistics(1, 90000)
    for seq in (1, 2, 3, 3, 3):
        s.update(pkt(seq), 0)
    assert s.lost == -2
    assert s.report_block(0).packets_lost == -2
    assert s.report_block(0).fraction_lost == 0


def test_restart_after_big_jump() -> None:
    s = ReceiverStatistics(1, 90000)
    for seq in range(1, 6):
        s.update(pkt(seq), 0)
    assert not s.update(pkt(20000), 0)  # beyond MAX_DROPOUT: suspicious
    assert s.update(pkt(20001), 0)  # sequential after it: the source restarted
    assert s.base_seq == 20001 and s.received == 1


def test_late_packet_within_misorder_counts() -> None:
    s = ReceiverStatistics(1, 90000)
    for seq in (1, 2, 4, 3):
        assert s.update(pkt(seq), 0) == (seq != 1)
    assert s.lost == 0 and s.max_seq == 4


def test_jitter_a8() -> None:
    s = ReceiverStatistics(1, 8000)
    # Packets every 20 ms (160 ticks), arriving alternately 10 ms early and on time: |D| = 80.
    s.update(pkt(0, 0), 0.0)
    s.update(pkt(1, 160), 0.020)
    assert s.jitter_value == 0
    s.update(pkt(2, 320), 0.030)
    assert s.jitter_value == pytest.approx(5.0)
    s.update(pkt(3, 480), 0.060)
    assert s.jitter_value == pytest.approx(5 + (80 - 5) / 16)
    assert s.jitter == 9


def test_jitter_across_timestamp_wrap_and_exclusion() -> None:
    s = ReceiverStatistics(1, 90000)
    s.update(pkt(0, 0xFFFFFF00), 0.0)
    s.update(pkt(1, 0xFFFFFF00 + 3000), 3000 / 90000)  # wraps: perfectly regular
    assert s.jitter_value == pytest.approx(0, abs=1e-6)
    # A B-frame (PTS != DTS) arrives "late" by its reordering; the caller excludes it.
    s.update(pkt(2, 0xFFFFFF00 + 12000), 6000 / 90000, jitter=False)
    assert s.jitter_value == pytest.approx(0, abs=1e-6)
    assert s.received == 2


def test_lsr_dlsr_from_sender_report() -> None:
    s = ReceiverStatistics(0x693605F8, 90000)
    s.update(pkt(1), 10.0)
    s.update(pkt(2), 10.0)
    # FFmpeg's SR from the capture: NTP 0xeeb0e750_0c8b4395 -> LSR is the middle 32 bits.
    sr = SenderReport(0x693605F8, 0xEEB0E7500C8B4395, 0xC30D1683, 0, 0)
    s.on_sender_report(sr, 10.0)
    block = s.report_block(11.5)
    assert block.lsr == 0xE7500C8B
    assert block.dlsr == int(1.5 * 65536)
    assert s.clock_map.wallclock(0xC30D1683) == pytest.approx(ntp_to_unix(0xEEB0E7500C8B4395))


def test_rtt_rfc3550_example() -> None:
    # RFC 3550 6.4.1: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 -> RTT 6.125 s.
    arrival = (0xB710 << 32) | (0x8000 << 16)
    wallclock = arrival / 2**32 - NTP_UNIX_OFFSET
    block = ReportBlock(1, lsr=0xB7052000, dlsr=0x00054000)
    assert round_trip_time(block, wallclock) == pytest.approx(6.125)
    assert round_trip_time(ReportBlock(1), wallclock) is None
    assert round_trip_time(ReportBlock(1, lsr=0xB7108001), wallclock) is None  # negative


def test_sender_statistics_and_sr() -> None:
    s = SenderStatistics(0xABCD, 90000)
    with pytest.raises(LocalProtocolError):
        s.sender_report(1000.0)
    s.on_packet_sent(pkt(1, 5000, b"x" * 100), wallclock=1_700_000_000.0)
    s.on_packet_sent(pkt(2, 5000, b"x" * 50))  # same frame: no new anchor
    sr = s.sender_report(1_700_000_001.0)
    assert (sr.ssrc, sr.packet_count, sr.octet_count) == (0xABCD, 2, 150)
    assert sr.rtp_timestamp == 5000 + 90000
    assert sr.ntp_timestamp == unix_to_ntp(1_700_000_001.0)
    # An RR about our stream echoes the SR's LSR; 0.25 s later with DLSR 0.2 s: RTT 0.05 s.
    lsr = (sr.ntp_timestamp >> 16) & 0xFFFFFFFF
    rtt = s.on_report_block(ReportBlock(0xABCD, lsr=lsr, dlsr=int(0.2 * 65536)), 1_700_000_001.25)
    assert rtt == pytest.approx(0.05, abs=1e-4) and s.rtt == rtt
    assert s.on_report_block(ReportBlock(0x9999, lsr=lsr), 1_700_000_001.25) is None


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_rtcp_interval_a7() -> None:
    # Small session: the 5 s minimum (2.5 s initially), scaled by random()+0.5 and 1/(e-3/2).
    assert rtcp_interval(2, 1, 1000.0, False, 100.0, False, FixedRandom(0.5)) == pytest.approx(5 / (math.e - 1.5))
    assert rtcp_interval(2, 1, 1000.0, False, 100.0, True, FixedRandom(0.5)) == pytest.approx(2.5 / COMPENSATION)
    assert rtcp_interval(2, 1, 1000.0, False, 100.0, False, FixedRandom(0.0)) == pytest.approx(2.5 / COMPENSATION)
    # 1000 members, 1 sender: receivers share 75% of rtcp_bw; n = 999.
    t = rtcp_interval(1000, 1, 1000.0, False, 100.0, False, FixedRandom(0.5))
    assert t == pytest.approx(100.0 * 999 / 750.0 / COMPENSATION)
    # The sender itself: 25% of rtcp_bw shared by the 1 sender.
    t = rtcp_interval(1000, 1, 100.0, True, 100.0, False, FixedRandom(0.5))
    assert t == pytest.approx(5 / COMPENSATION)  # 100*1/25 = 4 s < 5 s minimum


def test_rtcp_scheduler_with_seeded_random() -> None:
    rng = random.Random(7)
    sched = RtcpScheduler(session_bandwidth=64000, rng=rng)
    assert sched.next_timer() is None
    first = sched.start(100.0)
    assert 100 + 1.25 / COMPENSATION <= first <= 100 + 3.75 / COMPENSATION
    nxt = sched.on_sent(120, first)
    assert first + 2.5 / COMPENSATION <= nxt <= first + 7.5 / COMPENSATION
    assert sched.avg_rtcp_size == pytest.approx(128 + (120 - 128) / 16)
    sched.on_received(200)
    assert sched.avg_rtcp_size > 127


def test_scheduler_max_interval_quirk() -> None:
    # random() = 0.99 -> 5 s * 1.49 / (e - 1.5) = 6.1 s: over the 5 s servers tolerate.
    assert RtcpScheduler(64000, FixedRandom(0.99), initial=False).interval() > 6
    assert RtcpScheduler(64000, FixedRandom(0.99), initial=False, max_interval=5.0).interval() == 5.0


@given(st.lists(st.integers(0, 0xFFFF), max_size=300), st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=5))
def test_statistics_never_break(seqs: list[int], timestamps: list[int]) -> None:
    s = ReceiverStatistics(1, 90000)
    for i, seq in enumerate(seqs):
        s.update(pkt(seq, timestamps[i % len(timestamps)]), i * 0.01)
        if i % 50 == 0:
            block = s.report_block(i * 0.01)
            assert parse_compound(bytes(ReceiverReport(2, (block,)))) == [ReceiverReport(2, (block,))]
    assert s.received <= len(seqs)
    assert s.jitter_value >= 0
