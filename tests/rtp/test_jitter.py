"""The jitter/reorder buffer: ordering, latency, loss, the wrap, NACK retries, bounds, property."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.rtp import GenericNack, Limits, RtpPacket
from mediaproto.rtp.jitter import JitterBuffer


def pkt(seq: int) -> RtpPacket:
    return RtpPacket(96, seq & 0xFFFF, 0, 1, bytes([seq & 0xFF]))


def seqs(packets: list[RtpPacket]) -> list[int]:
    return [p.sequence_number for p in packets]


def test_in_order_passes_straight_through() -> None:
    jb = JitterBuffer(latency=0.1)
    jb.push(pkt(0), 0.0)
    assert jb.pop(0.0) == []  # the first packet waits one latency
    assert jb.next_timer() == 0.1
    assert seqs(jb.pop(0.1)) == [0]
    for i in range(1, 5):
        assert jb.push(pkt(i), 0.1 + i * 0.01)
        assert seqs(jb.pop(0.1 + i * 0.01)) == [i]
    assert jb.next_timer() is None and len(jb) == 0


def test_reorder_within_latency() -> None:
    jb = JitterBuffer(latency=0.1, nack_retries=0)
    jb.push(pkt(1), 0.0)
    jb.push(pkt(3), 0.01)
    assert seqs(jb.pop(0.1)) == [1]
    assert jb.next_timer() == pytest.approx(0.11)
    jb.push(pkt(2), 0.105)
    assert seqs(jb.pop(0.105)) == [2, 3]
    assert jb.stats.lost == 0 and not jb.keyframe_needed


def test_gap_declared_lost_after_latency() -> None:
    jb = JitterBuffer(latency=0.1, nack_retries=0)
    jb.push(pkt(1), 0.0)
    jb.push(pkt(3), 0.05)
    jb.push(pkt(4), 0.06)
    assert seqs(jb.pop(0.1)) == [1]
    deadline = jb.next_timer()
    assert deadline == 0.05 + 0.1
    assert jb.pop(0.149) == []
    assert seqs(jb.pop(deadline)) == [3, 4]
    assert jb.stats.lost == 1
    assert jb.take_keyframe_request() and not jb.keyframe_needed
    # The lost packet arriving later is late.
    assert not jb.push(pkt(2), 0.2) and jb.stats.late == 1


def test_sequence_wrap() -> None:
    jb = JitterBuffer(latency=0.1)
    for seq in (65534, 65535, 1, 0, 2):
        jb.push(pkt(seq), 0.0)
    assert seqs(jb.pop(0.1)) == [65534, 65535, 0, 1, 2]


def test_reordered_first_packets() -> None:
    jb = JitterBuffer(latency=0.1)
    jb.push(pkt(11), 0.0)
    jb.push(pkt(10), 0.05)
    assert jb.pop(0.05) == []
    assert seqs(jb.pop(0.1)) == [10, 11]


def test_duplicates_dropped() -> None:
    jb = JitterBuffer()
    assert jb.push(pkt(5), 0)
    assert not jb.push(pkt(5), 0)
    assert jb.stats.duplicates == 1


def test_nack_retries_then_give_up() -> None:
    jb = JitterBuffer(latency=1.0, nack_retries=2, nack_interval=0.05)
    jb.push(pkt(1), -1.0)
    assert seqs(jb.pop(0.0)) == [1]
    jb.push(pkt(4), 0.01)
    assert jb.missing == [2, 3]
    assert jb.nack_requests(0.01) == [2, 3]
    assert jb.nack_requests(0.02) == []  # not yet due again
    assert jb.next_timer() == 0.01 + 0.05
    nack = jb.nack_packet(0.061, 0xA, 0xB)
    assert isinstance(nack, GenericNack) and nack.lost == [2, 3] and nack.media_ssrc == 0xB
    # Retransmission of 2 arrives; 3 stays missing, gets no third request and is given up.
    jb.push(pkt(2), 0.07)
    assert seqs(jb.pop(0.07)) == [2]
    assert jb.nack_requests(0.2) == []
    assert jb.missing == []
    assert seqs(jb.pop(0.2)) == [4]  # well before the 1 s latency
    assert jb.stats.lost == 1 and jb.stats.nacks_sent == 4 and jb.stats.recovered == 1


def test_nack_across_wrap() -> None:
    jb = JitterBuffer()
    jb.push(pkt(65534), 0)
    jb.push(pkt(1), 0)
    assert jb.nack_requests(0) == [65535, 0]
    assert GenericNack.from_lost(1, 2, jb.missing).pairs == ((65535, 1),)


def test_bounded_and_restart_on_big_jump() -> None:
    jb = JitterBuffer(latency=10.0, limits=Limits(max_jitter_packets=8))
    jb.push(pkt(1), 0)
    assert seqs(jb.pop(10)) == [1]
    jb.push(pkt(3), 10)
    jb.push(pkt(5), 10)
    assert jb.pop(10) == []
    jb.push(pkt(30000), 10.1)  # far ahead: flush and restart there
    assert seqs(jb.pop(10.1)) == [3, 5, 30000]
    assert jb.stats.resets == 1 and jb.take_keyframe_request()
    assert len(jb) == 0 and jb.missing == []
    jb.push(pkt(100), 10.2)  # far behind: the sender restarted lower
    assert seqs(jb.pop(10.2)) == [100]
    assert jb.stats.resets == 2


@given(st.integers(0, 0xFFFF), st.integers(1, 200), st.data())
def test_shuffle_and_drop_within_latency(start: int, n: int, data: st.DataObject) -> None:
    """Packets shuffled within a window smaller than the latency and some dropped come out
    exactly as the delivered ones, in sequence order, across the wrap."""
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    delivered = [i for i in range(n) if rng.random() > 0.2 or i == 0]
    arrival = {i: i * 0.001 + rng.uniform(0, 0.02) for i in delivered}  # 20 ms reordering
    jb = JitterBuffer(latency=0.05, nack_retries=0)
    out: list[int] = []
    for i in sorted(delivered, key=arrival.__getitem__):
        jb.push(pkt(start + i), arrival[i])
        out.extend(seqs(jb.pop(arrival[i])))
    out.extend(seqs(jb.pop(1e9)))
    assert out == [(start + i) & 0xFFFF for i in delivered]
    assert jb.stats.late == 0 and jb.stats.lost == n - len(delivered) - (n - 1 - max(delivered))


@given(
    st.lists(st.tuples(st.integers(0, 0xFFFF), st.floats(0, 0.05)), max_size=150),
    st.integers(1, 64),
    st.integers(0, 3),
)
def test_invariants_under_arbitrary_input(events: list[tuple[int, float]], max_packets: int, retries: int) -> None:
    """Whatever arrives: bounded, in serial order without repeats, every packet accounted for."""
    jb = JitterBuffer(latency=0.05, limits=Limits(max_jitter_packets=max_packets), nack_retries=retries, nack_interval=0.01)
    now = 0.0
    out: list[int] = []
    accepted = 0
    for seq, step in events:
        now += step
        accepted += jb.push(pkt(seq), now)
        assert len(jb) <= max_packets
        jb.nack_requests(now)
        timer = jb.next_timer()
        assert timer is None or timer >= now - 1 or timer == float("-inf")
        out.extend(seqs(jb.pop(now)))
    out.extend(seqs(jb.pop(now + 100)))
    assert len(jb) == 0
    assert len(out) == accepted == jb.stats.delivered
    assert jb.stats.delivered + jb.stats.late + jb.stats.duplicates == len(events)
