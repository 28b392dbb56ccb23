"""A reordering (jitter) buffer with NACK bookkeeping and keyframe requests.

Packets go in with their arrival time (:meth:`JitterBuffer.push`) and come out in sequence
order (:meth:`JitterBuffer.pop`):

- the first packet waits ``latency`` seconds (packets sent before it may arrive after it); after
  that, the next packet in sequence comes out as soon as it is there;
- a gap is waited for until the first packet after it has waited ``latency`` seconds, or until
  every missing packet of the gap has been given up by the NACK logic; then the gap is declared
  lost and the packets after it come out;
- the buffer holds at most ``limits.max_jitter_packets`` (:class:`~mediaproto.rtp.Limits`); a packet that lands further ahead than that (a long
  outage or a sender restart) flushes what is buffered and restarts the sequence there.

Sequence numbers are unwrapped (:class:`~mediaproto.clock.Unwrapper`), so everything is correct
across the 65535 -> 0 wrap.

Missing packets are reported for retransmission requests (:meth:`JitterBuffer.nack_requests`,
:meth:`JitterBuffer.nack_packet`): each missing number is asked for at most ``nack_retries`` times,
``nack_interval`` seconds apart, and given up after that. When packets are declared lost, or the
sequence restarts, :attr:`JitterBuffer.keyframe_needed` turns true until
:meth:`JitterBuffer.take_keyframe_request` reads it: the cue to send a PLI or FIR.

Time is passed in (``now``, seconds on the caller's monotonic clock); :meth:`JitterBuffer.next_timer`
says when :meth:`JitterBuffer.pop` or :meth:`JitterBuffer.nack_requests` has something new to do.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from ..clock import Unwrapper
from ..errors import LocalProtocolError
from .limits import Limits
from .packet import RtpPacket
from .rtcp_feedback import GenericNack

__all__ = ["JitterBuffer", "JitterBufferStats"]


@dataclass(slots=True)
class JitterBufferStats:
    """Counters of what the buffer saw."""

    #: Packets handed out by :meth:`JitterBuffer.pop`.
    delivered: int = 0
    #: Sequence numbers skipped as lost.
    lost: int = 0
    #: Packets that arrived after their place had been passed (dropped).
    late: int = 0
    #: Packets that arrived twice (dropped).
    duplicates: int = 0
    #: Missing packets that arrived after being reported missing (reordered or retransmitted).
    recovered: int = 0
    #: NACK requests made (one per sequence number per attempt).
    nacks_sent: int = 0
    #: Sequence restarts (jumps beyond ``limits.max_jitter_packets``).
    resets: int = 0


@dataclass(slots=True)
class _Missing:
    first_missed: float
    next_nack: float
    retries: int = 0
    given_up: bool = False


class JitterBuffer:
    """Reorder RTP packets of one source and track what is missing.

    :param latency: seconds a packet after a gap waits for the gap to fill before the gap is
        declared lost.
    :param limits: the package's bounds; ``max_jitter_packets`` is the most packets held (and the
        largest gap tracked).
    :param nack_retries: how many times each missing packet is asked for (0: no NACKs, and gaps
        are waited for the full latency).
    :param nack_interval: seconds between two requests for the same packet (about one RTT).
    :param nack_delay: seconds a packet must be missing before the first request (reordering
        tolerance).
    """

    __slots__ = (
        "latency", "limits", "nack_retries", "nack_interval", "nack_delay", "stats",
        "_unwrap", "_packets", "_heap", "_next", "_highest", "_missing", "_started", "_emitted",
        "_keyframe", "_ready", "_first_arrival", "_max_packets",
    )

    def __init__(
        self,
        latency: float = 0.2,
        *,
        limits: Limits | None = None,
        nack_retries: int = 3,
        nack_interval: float = 0.05,
        nack_delay: float = 0.0,
    ) -> None:
        if latency < 0 or nack_retries < 0 or nack_interval <= 0:
            raise LocalProtocolError("latency >= 0, nack_retries >= 0 and nack_interval > 0 required")
        self.latency = latency
        self.limits = limits if limits is not None else Limits()
        self._max_packets = self.limits.max_jitter_packets
        self.nack_retries = nack_retries
        self.nack_interval = nack_interval
        self.nack_delay = nack_delay
        self.stats = JitterBufferStats()
        self._unwrap = Unwrapper(16)
        self._packets: dict[int, tuple[RtpPacket, float]] = {}
        self._heap: list[int] = []
        self._next = 0  # the extended sequence number to hand out next
        self._highest = -1  # the highest extended sequence number seen
        self._missing: dict[int, _Missing] = {}
        self._started = False
        self._emitted = False
        self._keyframe = False
        self._ready: list[RtpPacket] = []
        self._first_arrival = 0.0

    def __len__(self) -> int:
        """Packets held."""
        return len(self._packets)

    @property
    def keyframe_needed(self) -> bool:
        """Whether packets were lost or the sequence restarted since the last
        :meth:`take_keyframe_request`: the decoder needs a keyframe (send PLI or FIR)."""
        return self._keyframe

    def take_keyframe_request(self) -> bool:
        """Return :attr:`keyframe_needed` and clear it."""
        needed, self._keyframe = self._keyframe, False
        return needed

    def _add_missing(self, first: int, last: int, now: float) -> None:
        if self.nack_retries == 0:
            return
        due = now + self.nack_delay
        missing = self._missing
        for ext in range(max(first, last - self._max_packets + 1), last + 1):
            if ext not in self._packets:
                missing[ext] = _Missing(now, due)

    def _reset(self, ext: int) -> None:
        """Flush everything held, in order, and restart the sequence at ``ext``."""
        for key in sorted(self._packets):
            self._ready.append(self._packets[key][0])
        self._packets.clear()
        self._heap.clear()
        self._missing.clear()
        self._next = ext
        self._highest = ext - 1
        self._keyframe = True
        self.stats.resets += 1

    def push(self, packet: RtpPacket, now: float) -> bool:
        """Add a packet that arrived at ``now``; ``False`` when it is dropped (late or duplicate)."""
        ext = self._unwrap.unwrap(packet.sequence_number)
        if not self._started:
            self._started = True
            self._first_arrival = now
            self._next = ext
            self._highest = ext - 1
        elif ext < self._next:
            if self._next - ext >= self._max_packets:
                self._reset(ext)  # far behind: the sender restarted its sequence
            elif not self._emitted and self._next - ext < self._max_packets - len(self._packets):
                # Reordered before anything went out: start earlier and track the new gap.
                self._add_missing(ext + 1, self._next - 1, now)
                self._next = ext
            else:
                self.stats.late += 1
                return False
        if ext in self._packets:
            self.stats.duplicates += 1
            return False
        if ext - self._next >= self._max_packets:
            self._reset(ext)
        if ext > self._highest:
            if ext > self._highest + 1:
                self._add_missing(max(self._highest + 1, self._next), ext - 1, now)
            self._highest = ext
        elif self._missing.pop(ext, None) is not None:
            self.stats.recovered += 1
        self._packets[ext] = (packet, now)
        heapq.heappush(self._heap, ext)
        return True

    def _gap_expired(self, first_after: int, now: float) -> bool:
        arrival = self._packets[first_after][1]
        if now >= arrival + self.latency:
            return True
        if self.nack_retries == 0:
            return False
        missing = self._missing
        limit = self.nack_retries
        for ext in range(self._next, first_after):
            state = missing.get(ext)
            if state is None:
                return False
            if not state.given_up and not (state.retries >= limit and now >= state.next_nack):
                return False
        return True

    def pop(self, now: float) -> list[RtpPacket]:
        """The packets that may go out now, in sequence order."""
        out = self._ready
        self._ready = []
        packets = self._packets
        heap = self._heap
        stats = self.stats
        # At the start, wait one latency for packets sent before the first arrival.
        while heap and (self._emitted or now >= self._first_arrival + self.latency):
            first = heap[0]
            if first != self._next:
                if not self._gap_expired(first, now):
                    break
                skipped = first - self._next
                stats.lost += skipped
                for ext in range(self._next, first):
                    self._missing.pop(ext, None)
                self._keyframe = True
                self._next = first
            heapq.heappop(heap)
            out.append(packets.pop(first)[0])
            self._next = first + 1
        stats.delivered += len(out)
        if out:
            self._emitted = True
        return out

    def nack_requests(self, now: float) -> list[int]:
        """The 16-bit sequence numbers to ask for now (each counts as one retry); numbers asked
        for ``nack_retries`` times are given up."""
        out = []
        for ext, state in self._missing.items():
            if state.given_up or now < state.next_nack:
                continue
            if state.retries >= self.nack_retries:
                state.given_up = True
                continue
            state.retries += 1
            state.next_nack = now + self.nack_interval
            out.append(ext & 0xFFFF)
        self.stats.nacks_sent += len(out)
        return out

    def nack_packet(self, now: float, sender_ssrc: int, media_ssrc: int) -> GenericNack | None:
        """:meth:`nack_requests` as a Generic NACK packet, or ``None`` when nothing is due."""
        seqs = self.nack_requests(now)
        return GenericNack.from_lost(sender_ssrc, media_ssrc, seqs) if seqs else None

    @property
    def missing(self) -> list[int]:
        """16-bit sequence numbers currently missing (not yet given up)."""
        return [ext & 0xFFFF for ext, s in self._missing.items() if not s.given_up]

    def next_timer(self) -> float | None:
        """The earliest time at which :meth:`pop` or :meth:`nack_requests` has new work, or
        ``None`` (``-inf`` when :meth:`pop` has packets right now, after a restart)."""
        times = []
        if self._ready:
            return float("-inf")
        heap = self._heap
        if heap and not self._emitted:
            times.append(self._first_arrival + self.latency)
        elif heap and heap[0] != self._next:
            times.append(self._packets[heap[0]][1] + self.latency)
        for state in self._missing.values():
            if not state.given_up:
                times.append(state.next_nack)
        return min(times) if times else None
