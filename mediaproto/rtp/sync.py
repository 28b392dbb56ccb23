"""Put the tracks of one RTP stream on one media timeline.

Every RTP track starts its timestamps at a random value, in its own clock rate, wrapping at
2**32. A :class:`TrackSynchronizer` maps them onto one timeline for the whole stream: its zero is
the arrival of the stream's first packet on the caller's monotonic clock, and each track's output
is in that track's clock rate (``pts / clock_rate`` seconds on the common timeline).

Each track's output is its unwrapped RTP timestamp plus an integer **offset**. What the offsets
are made of, best first:

1. **Sender reports** (RFC 3550 6.4.1): each pairs one track's RTP timestamp with the sender's
   NTP time. The tracks of one sender share its NTP clock, so the *difference* between two
   tracks' NTP times says how they line up. The NTP time itself is the sender's own and never
   compared with ours: it may be Unix time, running time from zero, hours off, never set.
   Only differences between reports enter the arithmetic (and an SR whose NTP time is 0, "not
   set", is ignored).
2. **RTP-Info** (RTSP PLAY): the ``rtptime`` of every track stands for the same instant.
3. **Arrival**: a track's first packet is placed at its arrival time on the stream's timeline.

In symbols: alignment information gives, for track *i*, a function ``A_i(u) = a_i + u / rate_i``
(seconds in the sender's space: ``a_i = ntp_i - rtp_i / rate_i`` from an SR, ``-rtptime_i /
rate_i`` from RTP-Info), and the target offset makes ``out_i / rate_i = A_i(u) - C``, with one
constant ``C`` per space, fixed from the first track that had that kind of information and was
already placed (so that track does not move). A track's first packet gets its target at once;
a track already playing when its target changes (a late report, drift between the tracks'
clocks shown by successive reports) **slews**: its offset moves toward the target by at most
``slew_rate`` ticks per tick of media, never so far that the output stops increasing. Output per
track is therefore non-decreasing, and strictly increasing wherever the decode-order input is.

Offsets move only when a track's decode timestamp passes the highest one seen: a late packet or
a B-frame's earlier PTS is mapped with the offset in force, and :meth:`TrackSynchronizer.frame`
applies one offset to both the PTS and the DTS of a frame.

A jump of more than ``max_gap`` seconds either way (a sender that restarted its timestamps)
restarts the track: placed again by arrival, never before its last output, its old alignment
forgotten until the next report. A report that would move a track by more than ``max_gap``
seconds is not believed (the track keeps its offset).
"""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction

from ..clock import Unwrapper
from ..errors import LocalProtocolError
from ..media import Frame

__all__ = ["TrackSynchronizer", "AlignmentBuffer", "ARRIVAL", "RTP_INFO", "SENDER_REPORT"]

#: Alignment sources, as :meth:`TrackSynchronizer.source` names them.
ARRIVAL = "arrival"
RTP_INFO = "rtp-info"
SENDER_REPORT = "sender-report"

_SPACES = (RTP_INFO, SENDER_REPORT)  # lowest priority first
_NTP_MOD = 1 << 64


class _Track:
    __slots__ = ("rate", "unwrap", "offset", "highest", "last_out", "budget", "align")

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.unwrap = Unwrapper(32)
        self.offset: int | None = None
        self.highest = 0
        self.last_out: int | None = None
        self.budget = 0.0
        #: a_i per alignment space, in seconds.
        self.align: dict[str, float] = {}


class TrackSynchronizer:
    """Map the RTP timestamps of a stream's tracks onto one timeline.

    :param slew_rate: how fast a playing track's offset moves toward a new target, in ticks per
        tick of media (0.05: 50 ms per second). Must be below 1 (the output keeps increasing);
        0 freezes offsets once a track plays.
    :param max_gap: seconds of timestamp jump, forward or back, that mean the sender restarted.
    """

    __slots__ = ("slew_rate", "max_gap", "epoch", "_tracks", "_c", "_ntp0")

    def __init__(self, *, slew_rate: float = 0.05, max_gap: float = 10.0) -> None:
        if not 0 <= slew_rate < 1:
            raise LocalProtocolError(f"slew_rate must be in [0, 1), got {slew_rate}")
        if max_gap <= 0:
            raise LocalProtocolError(f"max_gap must be positive, got {max_gap}")
        self.slew_rate = slew_rate
        self.max_gap = max_gap
        #: The caller's monotonic time of the stream's first packet: the timeline's zero.
        self.epoch: float | None = None
        self._tracks: dict[int, _Track] = {}
        self._c: dict[str, float] = {}
        self._ntp0: int | None = None

    # -- tracks and alignment -----------------------------------------------------------------
    def add_track(self, track_id: int, clock_rate: int) -> None:
        """Register a track; its timestamps are in ``clock_rate`` Hz, and so is its output."""
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        if track_id in self._tracks:
            raise LocalProtocolError(f"track {track_id} is already added")
        self._tracks[track_id] = _Track(clock_rate)

    def _track(self, track_id: int) -> _Track:
        try:
            return self._tracks[track_id]
        except KeyError:
            raise LocalProtocolError(f"unknown track {track_id}: add_track first") from None

    @property
    def track_ids(self) -> tuple[int, ...]:
        """The registered tracks."""
        return tuple(self._tracks)

    def set_rtp_info(self, track_id: int, rtp_timestamp: int) -> None:
        """The ``rtptime`` of the track in PLAY's RTP-Info: every track's stands for one instant."""
        tr = self._track(track_id)
        tr.align[RTP_INFO] = -tr.unwrap.unwrap(rtp_timestamp) / tr.rate
        self._target(tr)  # the first placed track with this kind of information fixes its C

    def on_sender_report(self, track_id: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """A sender report of the track's source: ``ntp_timestamp`` (64-bit, the sender's own
        clock) and ``rtp_timestamp`` stand for the same instant. An NTP time of 0 is ignored."""
        tr = self._track(track_id)
        ntp = ntp_timestamp % _NTP_MOD
        if ntp == 0:
            return
        if self._ntp0 is None:
            self._ntp0 = ntp
        rel = (ntp - self._ntp0) % _NTP_MOD
        if rel >= _NTP_MOD >> 1:
            rel -= _NTP_MOD
        tr.align[SENDER_REPORT] = rel / (1 << 32) - tr.unwrap.unwrap(rtp_timestamp) / tr.rate
        self._target(tr)

    def source(self, track_id: int) -> str:
        """What the track's target comes from: :data:`SENDER_REPORT`, :data:`RTP_INFO` or
        :data:`ARRIVAL`."""
        align = self._track(track_id).align
        for space in reversed(_SPACES):
            if space in align:
                return space
        return ARRIVAL

    def offset(self, track_id: int) -> int | None:
        """The offset in force (output minus unwrapped RTP timestamp), ``None`` before any packet."""
        return self._track(track_id).offset

    def target(self, track_id: int) -> int | None:
        """Where the offset is heading; ``None`` while only arrival places the track."""
        tr = self._track(track_id)
        return self._target(tr) if tr.offset is not None else None

    def _target(self, tr: _Track) -> int | None:
        best: int | None = None
        for space in _SPACES:
            a = tr.align.get(space)
            if a is None:
                continue
            c = self._c.get(space)
            if c is None:
                base = best if best is not None else tr.offset
                if base is None:
                    continue
                c = self._c[space] = a - base / tr.rate  # this track stays where it is
            best = round(tr.rate * (a - c))
        return best

    def shift(self, seconds: float) -> dict[int, int]:
        """Move the whole timeline later by ``seconds`` (every track, what is to come too): its
        zero then stands ``seconds`` before the first arrival. Returns the ticks added per track.

        :class:`AlignmentBuffer` uses it so that no track starts before zero (a track aligned to an
        instant before the first packet's arrival, a B-frame's decode time before its picture)."""
        if self.epoch is not None:
            self.epoch -= seconds
        for space in self._c:
            self._c[space] -= seconds
        added = {}
        for track_id, tr in self._tracks.items():
            ticks = added[track_id] = math.ceil(seconds * tr.rate)  # no track ends up before zero
            if tr.offset is not None:
                tr.offset += ticks
            if tr.last_out is not None:
                tr.last_out += ticks
        return added

    # -- mapping ------------------------------------------------------------------------------
    def map(self, track_id: int, rtp_timestamp: int, now: float) -> int:
        """The timeline timestamp of an RTP timestamp of the track arriving at ``now`` (the
        caller's monotonic clock, seconds). Call in arrival (decode) order."""
        tr = self._track(track_id)
        u = tr.unwrap.unwrap(rtp_timestamp)
        out = u + self._advance(tr, u, now)
        if tr.last_out is None or out > tr.last_out:
            tr.last_out = out
        return out

    def frame(self, frame: Frame, now: float) -> Frame:
        """``frame`` (``pts``/``dts`` as RTP timestamps, e.g. a depacketizer's, wrapped or
        unwrapped) on the timeline: one offset, driven by the DTS, for both."""
        tr = self._track(frame.track_id)
        u = tr.unwrap.unwrap(frame.dts)
        offset = self._advance(tr, u, now)
        dts = u + offset
        if tr.last_out is None or dts > tr.last_out:
            tr.last_out = dts
        return Frame(frame.track_id, dts + (frame.pts - frame.dts), dts, frame.data, frame.keyframe)

    def _advance(self, tr: _Track, u: int, now: float) -> int:
        offset = tr.offset
        if offset is not None:
            d = u - tr.highest
            if abs(d) <= self.max_gap * tr.rate:
                if d <= 0:
                    return offset  # late, duplicate, or a B-frame's PTS: the offset in force
                tr.highest = u
                target = self._believable(tr, self._target(tr), offset)
                if target is None or target == offset or self.slew_rate == 0:
                    tr.budget = 0.0
                    return offset
                return self._slew(tr, offset, target, d)
            tr.align.clear()  # the sender restarted: its old reports describe other timestamps
        return self._place(tr, u, now)

    def _place(self, tr: _Track, u: int, now: float) -> int:
        """A track's first packet (or first after a restart)."""
        if self.epoch is None:
            self.epoch = now
        offset = tr.offset = round((now - self.epoch) * tr.rate) - u
        target = self._believable(tr, self._target(tr), offset)
        if target is not None:
            offset = target
        if tr.last_out is not None and u + offset <= tr.last_out:
            offset = tr.last_out + 1 - u  # never before what the track already output
        tr.offset = offset
        tr.highest = u
        tr.budget = 0.0
        return offset

    def _believable(self, tr: _Track, target: int | None, offset: int) -> int | None:
        """``target``, unless it would move the track by more than ``max_gap`` from where arrival
        or the alignment so far put it: reports that far off are not believed."""
        if target is not None and abs(target - offset) > self.max_gap * tr.rate:
            return None
        return target

    def _slew(self, tr: _Track, offset: int, target: int, d: int) -> int:
        budget = tr.budget + self.slew_rate * d
        step = int(budget)
        if target > offset:
            step = min(step, target - offset)
            offset += step
        else:
            step = min(step, offset - target, d - 1)  # the output still advances by >= 1 tick
            offset -= step
        tr.budget = min(budget - step, 1.0)
        tr.offset = offset
        return offset


class AlignmentBuffer:
    """Hold a stream's first frames until every track can be aligned, then map them all.

    A :class:`TrackSynchronizer` places a track that has no report yet by its arrival; a sender
    report that comes later moves it only by slewing. An encoder's latency (x264's lookahead) makes
    video arrive a second or more after the audio captured with it, so placing by arrival and
    slewing afterwards would play the first seconds out of sync. This buffer keeps the frames
    (with their arrival times) until every track has a sender report or RTP-Info, or until
    ``wait`` seconds passed since the first frame, and only then hands them to the synchroniser, in
    arrival order, with the arrival time each came with. After that, frames pass straight through.

    Sans-IO: :meth:`feed` returns what can be released, :meth:`next_timer` says when the wait
    ends and :meth:`handle_timer` releases at that time.

    :param sync: the synchroniser (its tracks added).
    :param wait: seconds to wait for reports (0: no holding).
    :param max_frames: frames held at most; past it, everything is released.
    """

    __slots__ = ("sync", "wait", "max_frames", "_held", "_deadline", "_open")

    def __init__(self, sync: TrackSynchronizer, *, wait: float = 1.0, max_frames: int = 4096) -> None:
        if wait < 0 or max_frames < 1:
            raise LocalProtocolError("wait >= 0 and max_frames >= 1 required")
        self.sync = sync
        self.wait = wait
        self.max_frames = max_frames
        self._held: deque[tuple[Frame, float]] = deque()
        self._deadline: float | None = None
        self._open = wait == 0

    @property
    def holding(self) -> bool:
        """Whether frames are still being held for alignment."""
        return not self._open

    def _aligned(self) -> bool:
        sync = self.sync
        return bool(sync.track_ids) and all(sync.source(t) != ARRIVAL for t in sync.track_ids)

    def feed(self, frame: Frame, now: float) -> list[Frame]:
        """A frame (RTP timestamps) that arrived at ``now``: the frames released, on the timeline."""
        if self._open:
            return [self.sync.frame(frame, now)]
        if self._deadline is None:
            self._deadline = now + self.wait
        self._held.append((frame, now))
        if self._aligned() or now >= self._deadline or len(self._held) >= self.max_frames:
            return self.release()
        return []

    def flush(self) -> list[Frame]:
        """The input ended: every held frame, as :meth:`release` (the verb every incremental
        stage ends with, see docs/design.rst)."""
        return self.release()

    def release(self) -> list[Frame]:
        """Stop holding: every held frame, mapped with its arrival time; if one would come out
        before the timeline's zero, the timeline moves later so that none does."""
        self._open = True
        self._deadline = None
        sync = self.sync
        out = [sync.frame(f, t) for f, t in self._held]
        self._held.clear()
        rates = {t: sync._track(t).rate for t in sync.track_ids}
        earliest = min((Fraction(min(f.dts, f.pts), rates[f.track_id]) for f in out), default=Fraction(0))
        if earliest < 0:
            added = sync.shift(float(-earliest))
            out = [Frame(f.track_id, f.pts + added[f.track_id], f.dts + added[f.track_id], f.data, f.keyframe)
                   for f in out]
        return out

    def check(self) -> list[Frame]:
        """Release if every track became aligned (call after a report arrived)."""
        if not self._open and self._held and self._aligned():
            return self.release()
        return []

    def next_timer(self) -> float | None:
        """When the wait for reports ends, or ``None``."""
        return None if self._open else self._deadline

    def handle_timer(self, now: float) -> list[Frame]:
        """At or after :meth:`next_timer`: release what is held."""
        if not self._open and self._deadline is not None and now >= self._deadline:
            return self.release()
        return []
