"""RtpSender: counts, the SR schedule (first SR within 1 s, then RFC 3550 A.7), the anchor, RTT.

Intervals are computed here from RFC 3550 A.7's formula, with the random draws scripted.
"""

from __future__ import annotations

import math
import random

import pytest

from mediaproto.clock import ntp_to_compact, seconds_to_compact, unix_to_ntp
from mediaproto.errors import LocalProtocolError
from mediaproto.rtp import Goodbye, ReceiverReport, ReportBlock, RtpPacket, SenderReport, SourceDescription, parse_compound
from mediaproto.rtp.sender import UDP_IP_OVERHEAD, RtpSender

SSRC = 0x5EED0001
WALL = 1_700_000_000.0  # our wall clock is the monotonic clock plus this


class Script:
    """A random source that returns the given values in turn."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)
        self.drawn: list[float] = []

    def random(self) -> float:
        v = self.values[len(self.drawn) % len(self.values)]
        self.drawn.append(v)
        return v


def pkt(seq: int, ts: int, size: int = 100) -> RtpPacket:
    return RtpPacket(96, seq & 0xFFFF, ts & 0xFFFFFFFF, SSRC, b"p" * size)


def a7(avg_size: float, rtcp_bw: float, r: float, members: int = 2, senders: int = 1) -> float:
    """RFC 3550 A.7 for the sender of a two-party session (senders > members / 4: no split)."""
    assert senders > members * 0.25
    t = max(5.0, avg_size * members / rtcp_bw)
    return t * (r + 0.5) / (math.e - 1.5)


def test_no_report_before_the_first_packet() -> None:
    s = RtpSender(SSRC, 90000, rng=Script(0.5))
    assert s.next_timer() is None
    assert s.handle_timer(100.0, WALL + 100.0) is None
    with pytest.raises(LocalProtocolError):
        s.sender_report(100.0, WALL + 100.0)


def test_first_report_right_after_the_first_packet() -> None:
    s = RtpSender(SSRC, 90000, rng=random.Random(1), cname=b"cam@host")
    s.on_packet(pkt(1, 1000, 300), 100.0)
    due = s.next_timer()
    assert due is not None and 100.0 <= due <= 101.0
    data = s.handle_timer(due, WALL + due)
    assert data is not None
    sr, sdes = parse_compound(data, strict=True)
    assert isinstance(sr, SenderReport) and isinstance(sdes, SourceDescription)
    assert (sr.ssrc, sr.packet_count, sr.octet_count, sr.rtp_timestamp) == (SSRC, 1, 300, 1000)
    assert sr.ntp_timestamp == unix_to_ntp(WALL + due)
    assert sdes.chunks[0].ssrc == SSRC and sdes.chunks[0].cname == "cam@host"
    assert s.handle_timer(due, WALL + due) is None  # not twice


def test_first_report_delay() -> None:
    s = RtpSender(SSRC, 90000, rng=Script(0.5), first_report_delay=0.5)
    s.on_packet(pkt(1, 0), 10.0)
    assert s.next_timer() == 10.5
    assert s.handle_timer(10.4, WALL) is None


def test_schedule_follows_a7() -> None:
    draws = (0.0, 0.25, 0.99, 0.5, 0.7)
    s = RtpSender(SSRC, 90000, rng=Script(*draws), session_bandwidth=64000)
    s.on_packet(pkt(0, 0), 0.0)
    t = s.next_timer()
    assert t == 0.0
    avg = 128.0  # A.7's initial average RTCP size
    for k in range(5):
        assert t is not None
        data = s.handle_timer(t, WALL + t)
        assert data is not None
        avg += (len(data) + UDP_IP_OVERHEAD - avg) / 16
        nxt = s.next_timer()
        assert nxt is not None
        assert nxt == pytest.approx(t + a7(avg, 64000 * 0.05, draws[k]))
        assert 2.5 / (math.e - 1.5) <= nxt - t <= 7.5 / (math.e - 1.5)
        s.on_packet(pkt(k + 1, 3000 * (k + 1)), nxt - 0.01)
        t = nxt


def test_low_bandwidth_interval_exceeds_the_minimum() -> None:
    # 100 octets/s: RTCP gets 5 octets/s; two members with ~100-octet reports: about 40 s.
    s = RtpSender(SSRC, 8000, rng=Script(0.5), session_bandwidth=100)
    s.on_packet(pkt(0, 0), 0.0)
    data = s.handle_timer(0.0, WALL)
    assert data is not None
    avg = 128.0 + (len(data) + UDP_IP_OVERHEAD - 128.0) / 16
    assert s.next_timer() == pytest.approx(a7(avg, 5.0, 0.5))
    assert s.next_timer() > 30  # type: ignore[operator]


def test_max_interval_caps() -> None:
    s = RtpSender(SSRC, 90000, rng=Script(0.99), max_interval=5.0)
    s.on_packet(pkt(0, 0), 0.0)
    s.handle_timer(0.0, WALL)
    assert s.next_timer() == 5.0


def test_smaller_minimum_interval() -> None:
    # RFC 3550 6.2 allows a minimum below 5 s; A.7 then scales it the same way.
    s = RtpSender(SSRC, 90000, rng=Script(0.5), min_interval=1.0)
    s.on_packet(pkt(0, 0), 0.0)
    s.handle_timer(0.0, WALL)
    assert s.next_timer() == pytest.approx(1.0 / (math.e - 1.5))


def test_anchor_moves_only_on_a_frames_first_packet() -> None:
    s = RtpSender(SSRC, 90000, rng=Script(0.5))
    # One frame in three packets sent over 20 ms: the anchor is the first packet's time.
    for i, now in enumerate((10.0, 10.01, 10.02)):
        s.on_packet(pkt(i, 5000), now)
    # A B-frame (pts != dts) sent at 10.03 with an earlier timestamp does not move it either.
    s.on_packet(pkt(3, 5000 - 3000), 10.03, pts_equals_dts=False)
    sr = s.sender_report(11.0, WALL + 11.0)
    assert sr.rtp_timestamp == 5000 + 90000  # one second after the anchor at 10.0
    assert (sr.packet_count, sr.octet_count) == (4, 400)
    # The next frame's first packet moves it; the caller may say which instant it stands for.
    s.on_packet(pkt(4, 8000), 10.5, at=10.4)
    assert s.sender_report(11.4, WALL).rtp_timestamp == 8000 + 90000


def test_anchor_across_the_wrap() -> None:
    s = RtpSender(SSRC, 48000, rng=Script(0.5))
    s.on_packet(pkt(0, 0xFFFFFF00), 0.0)
    assert s.sender_report(1.0, WALL).rtp_timestamp == (0xFFFFFF00 + 48000) & 0xFFFFFFFF


def test_rtt_from_a_receiver_report_rfc3550_formula() -> None:
    s = RtpSender(SSRC, 90000, rng=Script(0.5))
    s.on_packet(pkt(0, 0), 20.0)
    data = s.handle_timer(20.0, WALL + 20.0)
    assert data is not None
    sr = parse_compound(data)[0]
    assert isinstance(sr, SenderReport)
    # The receiver got the SR 40 ms later and answered 250 ms after that; its RR reaches us
    # 40 ms later still: RTT 80 ms. RFC 3550 6.4.1: A - LSR - DLSR in compact NTP units.
    lsr = ntp_to_compact(sr.ntp_timestamp)
    dlsr = seconds_to_compact(0.25)
    arrival = 20.0 + 0.04 + 0.25 + 0.04
    a = ntp_to_compact(unix_to_ntp(WALL + arrival))
    expected = ((a - lsr - dlsr) & 0xFFFFFFFF) / 65536
    rr = ReceiverReport(0x1111, (ReportBlock(0x2222, lsr=lsr, dlsr=dlsr), ReportBlock(SSRC, lsr=lsr, dlsr=dlsr)))
    rtt = s.on_rtcp(parse_compound(bytes(rr)), arrival)
    assert rtt == pytest.approx(expected, abs=2 / 65536) and rtt == pytest.approx(0.08, abs=1e-4)
    assert s.rtt == rtt and s.statistics.rtt == rtt
    # An unknown LSR gives nothing, and leaves the last RTT.
    assert s.on_rtcp([ReceiverReport(1, (ReportBlock(SSRC, lsr=lsr + 99, dlsr=dlsr),))], arrival) is None
    assert s.rtt == rtt


def test_goodbye() -> None:
    s = RtpSender(SSRC, 90000, rng=Script(0.5))
    head = parse_compound(RtpSender(SSRC, 90000, rng=Script(0.5)).goodbye(0.0, WALL, b"bye"))
    assert isinstance(head[0], ReceiverReport) and isinstance(head[-1], Goodbye)  # nothing sent yet
    s.on_packet(pkt(0, 0), 0.0)
    packets = parse_compound(s.goodbye(1.0, WALL + 1.0), strict=True)
    assert [type(p) for p in packets] == [SenderReport, SourceDescription, Goodbye]
    assert packets[2].sources == (SSRC,)  # type: ignore[union-attr]
    assert s.closed and s.next_timer() is None
    with pytest.raises(LocalProtocolError):
        s.on_packet(pkt(1, 0), 2.0)


def test_constructor_checks() -> None:
    with pytest.raises(LocalProtocolError):
        RtpSender(1 << 32, 90000, rng=Script(0.5))
    with pytest.raises(LocalProtocolError):
        RtpSender(1, 0, rng=Script(0.5))
    with pytest.raises(LocalProtocolError):
        RtpSender(1, 90000, rng=Script(0.5), first_report_delay=-1)
