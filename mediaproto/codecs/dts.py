"""Decode timestamps for video whose frames arrive in decode order with a presentation time only.

RTP carries one timestamp per access unit: the presentation time (RFC 6184 section 5.1, RFC 7798
section 4.1). A stream with B-frames therefore arrives with its frames in decode order and its
timestamps out of order, and every container or protocol that wants a decode time (MPEG-TS, FLV,
MP4) needs one that never goes backwards and is never after the presentation time. This module
computes it, in the manner of the DTS extractors of bluenviron/mediacommon and of FFmpeg's
``compute_pkt_fields`` (a buffer of the last presentation times).

The theory. Let ``N`` be the stream's reorder depth: the largest number of frames that precede a
frame in decode order and follow it in output order (H.264 ``max_num_reorder_frames``, H.265
``sps_max_num_reorder_pics``). The frame decoded ``i``-th is then shown ``k``-th with
``k >= i - N``, so when frame ``i`` arrives every frame shown before position ``i - N`` has
already arrived: the ``(i - N)``-th smallest presentation time seen so far is known, and it is
the decode time this module gives frame ``i``. In a buffer of presentation times that is: push the
new one; while more than ``N`` are held, pop the smallest; the last popped value is the decode
time. It is never after the frame's own presentation time (that was pushed before popping the
smallest), it never decreases (each pop is at least the one before, as long as no frame is
reordered deeper than ``N``), and with a constant frame rate it equals an encoder's decode time
(x264 and x265 give frame ``i`` the ``i``-th presentation time minus ``N`` frame durations) up to
a constant. The first ``N`` frames, before ``N`` are held, get times extrapolated one frame
duration apart below the smallest held.

``N`` comes from the codec layer (:mod:`.h264_dts`, :mod:`.h265_dts`): the SPS where it says, and
a prediction from the picture order counts of the slice headers (a gap in the counts announces
frames that will be decoded later but shown earlier) where it does not. It only grows (a larger
``N`` shifts all decode times by a constant). When a frame is reordered deeper than ``N`` after
all (a stream whose SPS says less than it does, a prediction that came too late), its decode time
cannot be both monotonic and at most its presentation time: it is made monotonic (the previous
decode time plus one tick), counted in :attr:`DtsTimeline.conflicts`, and ``N`` grows by one.

Timestamps that jump by more than :attr:`DtsTimeline.max_jump` (a restarted sender, a pause)
start a new timeline: the buffer is emptied; after a jump backwards the decode times go back too,
as the presentation times did.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from math import gcd

from ..errors import LocalProtocolError

__all__ = ["MAX_REORDER", "DtsTimeline", "PocReorderPredictor", "DtsExtractor"]

#: The deepest reordering accepted: H.264 and H.265 never hold more than 16 frames (MaxDpbFrames).
MAX_REORDER = 16


class DtsTimeline:
    """Decode times from presentation times given in decode order, for a reorder depth
    :attr:`reorder` that the caller may raise at any time (see the module docs).

    :param clock_rate: ticks per second of the timestamps.
    :param frame_duration: the frame duration in ticks, if known (a frame rate from the SPS):
        it spaces the decode times of the first :attr:`reorder` frames. Without it the gaps between
        presentation times are used once seen, and 1/30 s before.

    >>> t = DtsTimeline(90000, frame_duration=3000)
    >>> t.reorder = 1
    >>> [t.next(p) for p in (0, 9000, 3000, 6000, 18000, 12000, 15000)]
    [-3000, 0, 3000, 6000, 9000, 12000, 15000]
    """

    __slots__ = ("reorder", "frame_duration", "max_jump", "conflicts", "_clock_rate", "_pending", "_last",
                 "_last_pts", "_learned", "_starting")

    def __init__(self, clock_rate: int = 90000, *, frame_duration: int | None = None) -> None:
        if clock_rate <= 0:
            raise LocalProtocolError(f"clock rate must be positive, got {clock_rate}")
        if frame_duration is not None and frame_duration <= 0:
            raise LocalProtocolError(f"frame duration must be positive, got {frame_duration}")
        #: The reorder depth ``N`` in use (0 to :data:`MAX_REORDER`).
        self.reorder = 0
        #: The frame duration from the stream's parameters, or ``None``.
        self.frame_duration = frame_duration
        #: A jump of the presentation times larger than this (in ticks; 10 s) starts a new timeline.
        self.max_jump = 10 * clock_rate
        #: Frames reordered deeper than :attr:`reorder` (their decode time is after their
        #: presentation time, to stay monotonic).
        self.conflicts = 0
        self._clock_rate = clock_rate
        self._pending: list[int] = []  # a min-heap of presentation times not yet used as a decode time
        self._last: int | None = None  # the last decode time given
        self._last_pts: int | None = None
        self._learned: int | None = None  # the last gap between consecutive decode times
        self._starting = True  # no decode time popped since the timeline started

    @property
    def clock_rate(self) -> int:
        """Ticks per second of the timestamps."""
        return self._clock_rate

    @property
    def duration(self) -> int:
        """The frame duration used for extrapolation, in ticks."""
        if self.frame_duration is not None:
            return self.frame_duration
        if self._learned is not None:
            return self._learned
        return max(1, self._clock_rate // 30)

    def reset(self) -> None:
        """Start a new timeline: forget the held presentation times and the last decode time."""
        self._pending = []
        self._last = None
        self._last_pts = None
        self._starting = True

    def next(self, pts: int) -> int:
        """The decode time of the next frame in decode order, whose presentation time is ``pts``."""
        last_pts = self._last_pts
        if last_pts is not None and abs(pts - last_pts) > max(self.max_jump, (2 * self.reorder + 2) * self.duration):
            self.reset()
        self._last_pts = pts
        reorder = min(max(self.reorder, 0), MAX_REORDER)
        pending = self._pending
        heapq.heappush(pending, pts)
        if len(pending) > reorder:
            self._starting = False
            dts = heapq.heappop(pending)
            while len(pending) > reorder:  # the reorder depth went down (a new SPS)
                dts = heapq.heappop(pending)
        elif self._starting:  # the start of the timeline: one frame duration apart
            dts = pending[0] - (reorder + 1 - len(pending)) * self.duration
        else:  # the depth grew: creep until enough frames are held (frames to come may be shown earlier)
            dts = (self._last if self._last is not None else pts) + 1
        last = self._last
        if last is not None:
            if dts > last and len(pending) == reorder:
                self._learned = dts - last
            if dts <= last:
                if pts <= last:  # reordered deeper than N: stay monotonic, and hold one more frame
                    self.conflicts += 1
                    if pts < last:  # (not for a repeated timestamp: two fields of one frame)
                        self.reorder = min(reorder + 1, MAX_REORDER)
                dts = last + 1
        self._last = dts
        return dts


class PocReorderPredictor:
    """Predicts the reorder depth from picture order counts (POC), before the frames that need it.

    Feed it the POC of every frame in decode order (:meth:`add`) and call :meth:`start` at every
    picture that starts a new POC sequence (an IDR). :meth:`add` returns a lower bound on the
    stream's reorder depth: the frames already decoded that a frame not yet decoded will follow
    in decode order and precede in output order. A frame is "not yet decoded" when its POC slot,
    between POCs already seen, is still empty: the POCs of successive frames grow by a step that
    is 2 for most H.264 encoders (x264: two fields per frame) and 1 for H.265 encoders (x265); it
    is taken as ``step`` until the differences seen say otherwise (their greatest common divisor,
    once three pictures follow the first).

    A slot that stays empty for :data:`MAX_REORDER` frames is forgotten (a lost frame), and
    :meth:`forget_gaps` forgets every empty slot (call it when frames were lost).
    """

    __slots__ = ("step", "_base", "_max", "_floor", "_step_gcd", "_count", "_seen")

    def __init__(self, step: int = 2) -> None:
        if step <= 0:
            raise LocalProtocolError(f"POC step must be positive, got {step}")
        #: The POC step assumed until the stream shows its own.
        self.step = step
        self._base = 0
        self._max = 0
        self._floor = 0  # slots at or below it are not waited for
        self._step_gcd = 0
        self._count = 0
        self._seen: list[int] = []  # the POCs of the last frames of this sequence, decode order

    def start(self, poc: int) -> None:
        """A new POC sequence starts at a picture of POC ``poc`` (then :meth:`add` it)."""
        self._base = self._max = self._floor = poc
        self._step_gcd = 0
        self._count = 0
        self._seen = []

    def forget_gaps(self) -> None:
        """Frames were lost: stop waiting for the POCs not seen so far."""
        self._floor = self._max

    def _step(self) -> int:
        g = self._step_gcd
        if self._count >= 4 and g:
            return g
        return min(g, self.step) if g else self.step

    def add(self, poc: int) -> int:
        """Account for the next frame in decode order; return the reorder depth it shows."""
        seen = self._seen
        later = sum(1 for p in seen if p > poc)  # the frame's own reorder count
        if poc != self._base:
            self._step_gcd = gcd(self._step_gcd, abs(poc - self._base))
        self._count += 1
        seen.append(poc)
        if len(seen) > 2 * MAX_REORDER:
            del seen[0]
        if poc > self._max:
            self._max = poc
        step = self._step()
        floor = max(self._floor, self._max - MAX_REORDER * step)
        seen_set = set(seen)
        base = self._base
        # The lowest empty slot above the floor; every frame seen above it will precede it in
        # decode order and follow it in output order.
        first = floor + step - (floor - base) % step
        slot = first
        while slot < self._max and slot in seen_set:
            slot += step
        waiting = sum(1 for p in seen if p > slot) if slot < self._max else 0
        return min(max(later, waiting), MAX_REORDER)


class DtsExtractor:
    """The base of the per-codec extractors: access units in decode order in, decode times out.

    :param clock_rate: the clock of the presentation times (90000 for RTP video).
    :param parameter_sets: parameter sets known before the stream (SDP ``sprop-parameter-sets``,
        a decoder configuration record); in-band ones replace them as they come.
    :param frame_duration: the frame duration in ticks, when known from outside the stream.
    :param strict: raise :class:`~mediaproto.errors.ParseError` on a parameter set or slice
        header that does not parse, instead of ignoring it (the decode times stay monotonic and
        at most the presentation times either way).

    :meth:`extract` gives each frame its decode time. For a stream that cannot reorder (H.264
    ``pic_order_cnt_type`` 2, Baseline profile; a reorder depth of 0) it is the presentation time.
    Without parameter sets there is nothing to go by: it is the presentation time too, raised to
    the previous decode time plus one tick where that went backwards (B-frames before the first
    SPS; no decoder can use them without one).
    """

    __slots__ = ("timeline", "strict", "_predictor", "_sps_reorder", "_predicted")

    #: The POC step of successive frames most encoders of the codec use (see PocReorderPredictor).
    poc_step = 2

    def __init__(self, clock_rate: int = 90000, *, parameter_sets: Sequence[bytes] = (),
                 frame_duration: int | None = None, strict: bool = False) -> None:
        #: The :class:`DtsTimeline` doing the arithmetic (its ``reorder`` and ``conflicts``).
        self.timeline = DtsTimeline(clock_rate, frame_duration=frame_duration)
        self.strict = strict
        self._predictor = PocReorderPredictor(self.poc_step)
        self._sps_reorder = 0
        self._predicted = 0
        for nal in parameter_sets:
            if nal:
                self._parameter_set(bytes(nal))

    @property
    def reorder(self) -> int:
        """The reorder depth in use."""
        return self.timeline.reorder

    def undecodable(self, nals: Sequence[bytes]) -> bool:
        """Whether no decoder can use this access unit, so that the caller may drop it before
        :meth:`extract` (H.265: the RASL pictures of the CRA picture a stream was joined at)."""
        return False

    def lost_frames(self) -> None:
        """Tell the extractor that frames were lost before the next one (a gap in the POCs is
        then a loss, not frames to come)."""
        self._predictor.forget_gaps()

    def extract(self, nals: Sequence[bytes], pts: int) -> int:
        """The decode time of the next access unit in decode order (its NAL units without start
        codes), whose presentation time is ``pts``."""
        self._frame(nals)
        timeline = self.timeline
        reorder = max(self._sps_reorder, self._predicted)
        if reorder > timeline.reorder:
            timeline.reorder = min(reorder, MAX_REORDER)
        return timeline.next(pts)

    # -- the codec's part ---------------------------------------------------------------------------
    def _parameter_set(self, nal: bytes) -> bool:
        """Take a parameter set NAL unit; return whether ``nal`` was one."""
        raise NotImplementedError

    def _frame(self, nals: Sequence[bytes]) -> None:
        """Read the parameter sets and the first slice header of an access unit, update
        ``_sps_reorder`` and ``_predicted``."""
        raise NotImplementedError

    def _set_sps_reorder(self, reorder: int | None, frame_duration: int | None) -> None:
        """A new SPS is active; it says the reorder depth (``None``: it does not say) and maybe
        the frame duration. The depth learned from the stream before is forgotten (a new SPS may
        come from a new encoder); the decode times jump forward if it is smaller."""
        self._sps_reorder = min(reorder or 0, MAX_REORDER)
        self._predicted = 0
        self.timeline.reorder = self._sps_reorder
        if frame_duration is not None and frame_duration > 0:
            self.timeline.frame_duration = frame_duration

    def _predict(self, poc: int, new_sequence: bool) -> None:
        if new_sequence:
            self._predictor.start(poc)
        self._predicted = max(self._predicted, self._predictor.add(poc))
