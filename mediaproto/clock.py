"""The clock layer: every protocol's notion of time, converted exactly.

RTP counts in its payload's clock rate and wraps at 2**32; RTMP counts milliseconds and wraps at
2**32; MPEG-TS counts 90 kHz ticks and wraps at 2**33 (the PCR also has a 27 MHz part); HLS speaks
seconds; RTCP uses 64-bit NTP timestamps. This module owns all of it, so that converting a frame's
time from one protocol to another is always one :func:`rescale` plus an :class:`Unwrapper` where the
input wraps.

Nothing here reads a clock: wall-clock and monotonic times are passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LocalProtocolError

__all__ = [
    "rescale",
    "Unwrapper",
    "serial_diff",
    "serial_lt",
    "serial_gt",
    "seq_add",
    "NTP_UNIX_OFFSET",
    "unix_to_ntp",
    "ntp_to_unix",
    "ntp_to_compact",
    "compact_to_seconds",
    "seconds_to_compact",
    "ntp_split",
    "ntp_join",
    "RtpClockMap",
]


def rescale(value: int, from_rate: int, to_rate: int) -> int:
    """Convert ``value`` ticks of a ``from_rate`` Hz clock to ticks of a ``to_rate`` Hz clock.

    Exact integer arithmetic, rounded to the nearest tick (halves round towards +infinity), so
    that ``rescale(rescale(v, a, b), b, a)`` is within one tick of ``v`` and no float ever loses
    precision on a 33-bit timestamp.

    >>> rescale(90000, 90000, 1000)
    1000
    >>> rescale(1, 1000, 90000)
    90
    """
    if from_rate <= 0 or to_rate <= 0:
        raise LocalProtocolError(f"clock rates must be positive, got {from_rate} and {to_rate}")
    if from_rate == to_rate:
        return value
    return (2 * value * to_rate + from_rate) // (2 * from_rate)


class Unwrapper:
    """Extend a counter that wraps at ``2**bits`` to a monotonic, unbounded integer.

    Each value is placed at the point closest to the highest value seen so far (within half the
    range either way), so reordered values just before a wrap and new values just after it both
    land where they belong. The first value is taken as it is (``start`` plus the value).

    >>> u = Unwrapper(16)
    >>> [u.unwrap(v) for v in (65534, 65535, 1, 0, 2)]
    [65534, 65535, 65537, 65536, 65538]
    """

    __slots__ = ("bits", "_mod", "_half", "_max")

    def __init__(self, bits: int) -> None:
        if bits <= 1:
            raise LocalProtocolError(f"an Unwrapper needs at least 2 bits, got {bits}")
        self.bits = bits
        self._mod = 1 << bits
        self._half = 1 << (bits - 1)
        self._max: int | None = None

    @property
    def highest(self) -> int | None:
        """The highest unwrapped value returned so far, or ``None`` before the first call."""
        return self._max

    def reset(self) -> None:
        """Forget the history: the next value is taken as it is."""
        self._max = None

    def unwrap(self, value: int) -> int:
        """Return ``value`` (taken modulo ``2**bits``) extended next to the values seen before."""
        value &= self._mod - 1
        top = self._max
        if top is None:
            self._max = value
            return value
        delta = (value - top) & (self._mod - 1)
        if delta >= self._half:
            delta -= self._mod
        extended = top + delta
        if delta > 0:
            self._max = extended
        return extended


def serial_diff(a: int, b: int, bits: int = 16) -> int:
    """Signed distance from ``b`` to ``a`` in RFC 1982 serial-number arithmetic.

    Positive when ``a`` is after ``b``. The distance of exactly half the range is undefined in
    RFC 1982; this returns ``-2**(bits-1)`` for it, so it counts as "before".

    >>> serial_diff(2, 65535)
    3
    """
    mod = 1 << bits
    d = (a - b) & (mod - 1)
    return d - mod if d >= mod >> 1 else d


def serial_lt(a: int, b: int, bits: int = 16) -> bool:
    """``a < b`` in RFC 1982 serial-number order (never compare raw sequence numbers with ``<``)."""
    return serial_diff(a, b, bits) < 0


def serial_gt(a: int, b: int, bits: int = 16) -> bool:
    """``a > b`` in RFC 1982 serial-number order."""
    return serial_diff(a, b, bits) > 0


def seq_add(seq: int, n: int, bits: int = 16) -> int:
    """``seq + n`` modulo ``2**bits`` (``n`` may be negative)."""
    return (seq + n) & ((1 << bits) - 1)


#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
NTP_UNIX_OFFSET = 2_208_988_800

_NTP_MOD = 1 << 64


def unix_to_ntp(seconds: float) -> int:
    """A Unix time in seconds as a 64-bit NTP timestamp (32.32 fixed point, wrapping in 2036)."""
    return round((seconds + NTP_UNIX_OFFSET) * (1 << 32)) % _NTP_MOD


def ntp_to_unix(ntp: int, era: int = 0) -> float:
    """A 64-bit NTP timestamp as Unix seconds; ``era`` counts the 2**32-second NTP eras."""
    return ((ntp & (_NTP_MOD - 1)) + (era << 64)) / (1 << 32) - NTP_UNIX_OFFSET


def ntp_split(ntp: int) -> tuple[int, int]:
    """The (most significant word, least significant word) of a 64-bit NTP timestamp, as RTCP SR
    fields name them."""
    return (ntp >> 32) & 0xFFFFFFFF, ntp & 0xFFFFFFFF


def ntp_join(msw: int, lsw: int) -> int:
    """The 64-bit NTP timestamp from its two 32-bit words."""
    return ((msw & 0xFFFFFFFF) << 32) | (lsw & 0xFFFFFFFF)


def ntp_to_compact(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp (16.16 fixed point), as RTCP LSR uses it."""
    return (ntp >> 16) & 0xFFFFFFFF


def compact_to_seconds(compact: int) -> float:
    """A compact 16.16 NTP value (an LSR, a DLSR, a round-trip time) in seconds."""
    return (compact & 0xFFFFFFFF) / 65536.0


def seconds_to_compact(seconds: float) -> int:
    """Seconds as a compact 16.16 NTP value, as RTCP DLSR carries a delay (saturating at the top)."""
    if seconds <= 0:
        return 0
    return min(round(seconds * 65536), 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class _Anchor:
    wallclock: float
    rtp: int  # unwrapped


class RtpClockMap:
    """Map RTP timestamps of one source to wall-clock time, from sender reports.

    Each RTCP sender report pairs an NTP time with the RTP timestamp of the same instant; feed them
    to :meth:`add_report` (with the NTP time converted to seconds, e.g. by :func:`ntp_to_unix`).
    Then :meth:`wallclock` maps any RTP timestamp of that source to seconds, at the nominal clock
    rate from the latest report, and :meth:`rtp_timestamp` maps back (what a sender uses to build
    its own reports). RTP timestamps wrap at 2**32; the map unwraps them.

    Until the first report, both lookups return ``None``.
    """

    __slots__ = ("clock_rate", "_unwrap", "_first", "_last")

    def __init__(self, clock_rate: int) -> None:
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        self.clock_rate = clock_rate
        self._unwrap = Unwrapper(32)
        self._first: _Anchor | None = None
        self._last: _Anchor | None = None

    def add_report(self, wallclock: float, rtp_timestamp: int) -> None:
        """Record that ``rtp_timestamp`` was sampled at ``wallclock`` seconds."""
        anchor = _Anchor(wallclock, self._unwrap.unwrap(rtp_timestamp))
        if self._first is None:
            self._first = anchor
        self._last = anchor

    @property
    def has_report(self) -> bool:
        """Whether any report has been added."""
        return self._last is not None

    @property
    def measured_rate(self) -> float | None:
        """The clock rate the reports imply (RTP ticks per wall-clock second), from the first to the
        latest report; ``None`` until two reports at different times."""
        first, last = self._first, self._last
        if first is None or last is None or last.wallclock == first.wallclock:
            return None
        return (last.rtp - first.rtp) / (last.wallclock - first.wallclock)

    def wallclock(self, rtp_timestamp: int) -> float | None:
        """The wall-clock time, in seconds, of ``rtp_timestamp``; ``None`` before any report."""
        last = self._last
        if last is None:
            return None
        ext = self._unwrap.unwrap(rtp_timestamp)
        return last.wallclock + (ext - last.rtp) / self.clock_rate

    def rtp_timestamp(self, wallclock: float) -> int | None:
        """The 32-bit RTP timestamp of ``wallclock`` seconds; ``None`` before any report."""
        last = self._last
        if last is None:
            return None
        return (last.rtp + round((wallclock - last.wallclock) * self.clock_rate)) & 0xFFFFFFFF
