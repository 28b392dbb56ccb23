from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.clock import (
    NTP_UNIX_OFFSET,
    RtpClockMap,
    Unwrapper,
    compact_to_seconds,
    ntp_join,
    ntp_split,
    ntp_to_compact,
    ntp_to_unix,
    rescale,
    seconds_to_compact,
    seq_add,
    serial_diff,
    serial_gt,
    serial_lt,
    unix_to_ntp,
)
from mediaproto.errors import LocalProtocolError

RATES = st.sampled_from([1000, 8000, 16000, 22050, 44100, 48000, 90000, 27_000_000])


def test_rescale_known_values() -> None:
    assert rescale(90000, 90000, 1000) == 1000
    assert rescale(1, 1000, 90000) == 90
    assert rescale(1024, 48000, 90000) == 1920
    assert rescale(1024, 44100, 90000) == 2090  # 2089.795... rounds up
    assert rescale(45, 90000, 1000) == 1  # 0.5 ms rounds half up
    assert rescale(44, 90000, 1000) == 0
    assert rescale(-45, 90000, 1000) == 0  # -0.5 rounds towards +inf
    assert rescale(2**33 - 1, 90000, 90000) == 2**33 - 1


def test_rescale_rejects_bad_rates() -> None:
    with pytest.raises(LocalProtocolError):
        rescale(1, 0, 1000)


@given(st.integers(-(2**40), 2**40), RATES, RATES)
def test_rescale_is_round_to_nearest(value: int, a: int, b: int) -> None:
    from fractions import Fraction

    exact = Fraction(value * b, a)
    assert abs(rescale(value, a, b) - exact) <= Fraction(1, 2)


@given(st.integers(-(2**40), 2**40), RATES, RATES)
def test_rescale_round_trip_within_one(value: int, a: int, b: int) -> None:
    # Going to a finer clock and back is exact; to a coarser one and back is within its resolution.
    back = rescale(rescale(value, a, b), b, a)
    tolerance = 1 if b >= a else (a + b - 1) // b
    assert abs(back - value) <= tolerance
    if b >= a:
        assert abs(back - value) <= 1


@pytest.mark.parametrize("bits", [16, 32, 33])
def test_unwrap_known_wrap(bits: int) -> None:
    mod = 1 << bits
    u = Unwrapper(bits)
    assert [u.unwrap(v) for v in (mod - 2, mod - 1, 1, 0, 2)] == [mod - 2, mod - 1, mod + 1, mod, mod + 2]


def test_unwrap_backwards_before_start() -> None:
    u = Unwrapper(16)
    assert u.unwrap(0) == 0
    assert u.unwrap(65535) == -1
    assert u.highest == 0


@st.composite
def reordered_sequences(draw: st.DrawFn) -> tuple[int, list[int], list[int]]:
    bits = draw(st.sampled_from([16, 32, 33]))
    half = 1 << (bits - 1)
    start = draw(st.integers(0, (1 << bits) - 1))
    # Forward steps small enough that any reordering window below spans under half the range.
    steps = draw(st.lists(st.integers(0, half // 8), min_size=1, max_size=200))
    values = [start]
    for s in steps:
        values.append(values[-1] + s)
    # Local reordering: swap neighbours within a window of 4.
    order = list(range(len(values)))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for i in range(1, len(order)):
        j = i - rnd.randint(0, min(3, i))
        if rnd.random() < 0.3:
            order[i], order[j] = order[j], order[i]
    # The first value delivered anchors the unwrapper: put the first value first.
    first = order.index(0)
    order[0], order[first] = order[first], order[0]
    return bits, values, order


@given(reordered_sequences())
def test_unwrap_recovers_monotonic_values_with_reordering(case: tuple[int, list[int], list[int]]) -> None:
    bits, values, order = case
    u = Unwrapper(bits)
    mod = 1 << bits
    got = {i: u.unwrap(values[i] % mod) for i in order}
    offset = values[0] - got[0]
    assert all(got[i] + offset == values[i] for i in order)


def test_serial_arithmetic() -> None:
    assert serial_lt(65535, 0)
    assert serial_gt(0, 65535)
    assert not serial_lt(0, 0)
    assert serial_diff(2, 65535) == 3
    assert serial_diff(65535, 2) == -3
    assert serial_diff(32768, 0) == -32768  # undefined in RFC 1982: counted as "before"
    assert seq_add(65535, 2) == 1
    assert seq_add(0, -1) == 65535
    assert serial_lt(2**32 - 1, 5, bits=32)


@given(st.integers(0, 65535), st.integers(-32767, 32767))
def test_serial_diff_inverts_seq_add(seq: int, n: int) -> None:
    assert serial_diff(seq_add(seq, n), seq) == n


def test_ntp_known_values() -> None:
    # 1970-01-01 is NTP second 2208988800 (RFC 868 / RFC 5905).
    assert unix_to_ntp(0) == NTP_UNIX_OFFSET << 32
    assert ntp_split(unix_to_ntp(0.5)) == (NTP_UNIX_OFFSET, 0x80000000)
    assert ntp_join(*ntp_split(0x0123456789ABCDEF)) == 0x0123456789ABCDEF
    assert ntp_to_compact(0x0123456789ABCDEF) == 0x456789AB
    assert compact_to_seconds(0x00018000) == 1.5
    assert seconds_to_compact(1.5) == 0x00018000
    assert seconds_to_compact(-1) == 0
    assert seconds_to_compact(1e9) == 0xFFFFFFFF


@given(st.floats(0, 2**32 - NTP_UNIX_OFFSET - 1, allow_nan=False))  # NTP era 0 ends in 2036
def test_ntp_round_trip(seconds: float) -> None:
    assert abs(ntp_to_unix(unix_to_ntp(seconds)) - seconds) < 1e-6


def test_rtp_clock_map() -> None:
    m = RtpClockMap(90000)
    assert m.wallclock(0) is None and m.rtp_timestamp(0.0) is None and not m.has_report
    m.add_report(1000.0, 2**32 - 90000)  # one second before the RTP wrap
    assert m.wallclock(2**32 - 90000) == 1000.0
    assert m.wallclock(0) == 1001.0  # after the wrap
    assert m.wallclock(45000) == 1001.5
    assert m.rtp_timestamp(1002.0) == 90000
    assert m.measured_rate is None
    m.add_report(1010.0, (2**32 - 90000 + 10 * 90090) % 2**32)  # a sender running 0.1 % fast
    assert m.measured_rate == pytest.approx(90090)
    assert m.wallclock((2**32 - 90000 + 10 * 90090 + 90000) % 2**32) == pytest.approx(1011.0)
