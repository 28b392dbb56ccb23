"""A Sans-IO live HLS segmenter: frames in, MPEG-TS segments, LL-HLS parts and playlists out.

::

    seg = Segmenter(tracks, target_duration=2.0, window=6)
    for frame in frames:
        for event in seg.feed(frame):
            ...  # SegmentReady -> write the file; PlaylistChanged -> write index.m3u8
    events = seg.flush()  # the last segment and the playlist with #EXT-X-ENDLIST

**Cutting.** The timeline is the decode time of the *main* track (the first video track, or the
first track when there is no video). A segment starts at a main-track keyframe once the segment
has lasted ``target_duration``; audio-only streams are cut by duration alone (within half a frame
of the target). Frames before the first keyframe are dropped. EXTINF durations come from the
timestamps (the next segment's start minus this one's), rounded so that their sum stays exact to
the millisecond. EXT-X-TARGETDURATION is the largest EXTINF rounded half-up (at least as strict as
RFC 8216's "rounded to the nearest integer"), and never less than ``target_duration`` rounded up;
it never decreases.

**Discontinuities.** A track whose decode time goes backwards, or jumps forward by more than
``discontinuity_threshold`` seconds, ends the current segment; the next one starts at the next
keyframe with EXT-X-DISCONTINUITY and a fresh TS muxer. EXT-X-DISCONTINUITY-SEQUENCE counts the
discontinuities that slid out of the window. EXT-X-PROGRAM-DATE-TIME, when the wallclock time of
the first frame is given, is computed from the timestamps and carried across discontinuities.

**Modes.** ``live``: a sliding window of ``window`` segments with EXT-X-MEDIA-SEQUENCE; a segment
that left the playlist is reported removed (:class:`SegmentRemoved`) once it has been out of it
for its own duration plus the playlist's (RFC 8216 section 6.2.2). ``event``: segments are never
removed (EXT-X-PLAYLIST-TYPE:EVENT). ``vod``: the playlist is written once, by :meth:`flush`.

**Low-latency HLS** (``part_target`` set): every segment is also cut into partial segments
(INDEPENDENT=YES on parts that start with a keyframe), with EXT-X-PART-INF, EXT-X-SERVER-CONTROL
with CAN-BLOCK-RELOAD=YES, PART-HOLD-BACK of three part targets and CAN-SKIP-UNTIL of six target
durations, and an EXT-X-PRELOAD-HINT for the next part in every live playlist. Parts are listed for
the segments within three target durations of the live edge. A part closes before the frame that
would take it past the part target, judged by the last frame interval.

A part target that is not a whole number of frames cannot meet both RFC 8216bis ("at most
PART-TARGET") and Apple's validator ("at least 85% of it", but for a segment's last part): 0.2 s
at 29.97 fps gives parts of 5 frames, 83%; RTMP's millisecond timestamps at 30 fps jitter by a
millisecond. So once the main track's frame interval is known (before the first part is
published), such a target becomes the nearest whole number of frames plus an eighth of a frame,
rounded up to the millisecond (0.2 s at 29.97 fps: 0.205 s, parts of 6 frames, 98%), and
:attr:`Segmenter.part_target` holds the value announced. A target that is a whole number of frames
(0.2 s at 25 fps) is kept as it is.

**Containers.** ``container="ts"`` (the default) writes MPEG-TS segments and parts, each
segment starting with the PAT and PMT. ``container="fmp4"`` writes fragmented MP4
(:mod:`mediaproto.mp4`, through :class:`~mediaproto.hls.fmp4.Fmp4Writer`): every segment, and
every LL-HLS part, is one movie fragment, a segment cut into parts is its parts' fragments in
order, and the playlist (version 6 or more) names the init segment with EXT-X-MAP, whose bytes
are :meth:`Segmenter.init_segment` and whose name is :attr:`Segmenter.init_name`. Cutting,
timing, parts and playlists are the same code for both.

**Blocking playlist reload.** A server answering ``_HLS_msn=M&_HLS_part=P`` does not poll: it
keeps one waiter (an ``asyncio.Condition`` or ``Event``) per stream, wakes it whenever
:meth:`Segmenter.feed` returned a :class:`PartReady` or :class:`SegmentReady`, and lets every
waiting request check :meth:`Segmenter.has` ``(M, P)``; when true it answers with
:meth:`Segmenter.playlist` (``skip=True`` for ``_HLS_skip=YES``). :attr:`Segmenter.latest` gives
the newest ``(msn, part)``; the draft says to answer 400 for an ``_HLS_msn`` more than two
segments beyond it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from ..clock import rescale
from ..endpoint import Event
from ..errors import LocalProtocolError
from ..media import Frame, Track
from ..mpegts.mux import Muxer
from .fmp4 import Fmp4Writer
from .playlist import MediaPlaylist, Segment
from .tags import Map, PartialSegment, PartInf, PreloadHint, ServerControl, Skip

__all__ = [
    "Segmenter",
    "SegmentReady",
    "PartReady",
    "SegmentRemoved",
    "PlaylistChanged",
    "SegmenterEvent",
]

_HZ = 90000


@dataclass(frozen=True, slots=True)
class SegmentReady(Event):
    """A media segment is complete: write ``data`` to ``name`` before the next playlist."""

    sequence: int
    name: str
    data: bytes
    duration: float
    discontinuity: bool = False
    program_date_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class PartReady(Event):
    """LL-HLS: partial segment ``part_index`` of segment ``sequence`` is complete."""

    sequence: int
    part_index: int
    name: str
    data: bytes
    duration: float
    independent: bool


@dataclass(frozen=True, slots=True)
class SegmentRemoved(Event):
    """A segment (and its parts) left the playlist long enough ago to be deleted."""

    name: str
    part_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlaylistChanged(Event):
    """The media playlist's new text (write it after the segments and parts reported before it)."""

    text: str


SegmenterEvent = SegmentReady | PartReady | SegmentRemoved | PlaylistChanged


def _client_query(query: str) -> str:
    """``?a=1&b=2`` from a request query, without the ``_HLS_*`` parameters ('' when none)."""
    kept = [p for p in query.lstrip("?").split("&") if p and not p.startswith("_HLS_")]
    return "?" + "&".join(kept) if kept else ""


@dataclass(slots=True)
class _Part:
    index: int
    name: str
    start: int
    independent: bool
    chunks: list[bytes] = field(default_factory=list)
    duration: float = 0.0
    end: int = 0


@dataclass(slots=True)
class _Seg:
    msn: int
    name: str
    start: int
    discontinuity: bool
    pdt: datetime | None
    chunks: list[bytes] = field(default_factory=list)
    parts: list[_Part] = field(default_factory=list)
    duration: float = 0.0
    end: int = 0


class Segmenter:
    """Cut frames into HLS segments (see the module docs).

    :param tracks: the stream's tracks (muxed together into each TS segment).
    :param target_duration: the segment duration to aim for, in seconds.
    :param window: live mode: how many segments the playlist lists.
    :param part_target: LL-HLS part target duration in seconds (e.g. 0.2 or 0.33334);
        ``None`` for plain HLS.
    :param mode: ``"live"``, ``"event"`` or ``"vod"``.
    :param segment_name: segment file names, ``{n}`` being the media sequence number.
    :param part_name: part file names, ``{n}`` the segment's sequence number, ``{part}`` the index.
    :param program_date_time: the wallclock time of the first frame (timezone-aware); writes
        EXT-X-PROGRAM-DATE-TIME on every segment when given.
    :param discontinuity_threshold: a forward jump of any track's decode time larger than this
        (seconds) is a discontinuity; any backward step is one too.
    :param can_skip: LL-HLS: announce delta updates (CAN-SKIP-UNTIL) and serve them from
        ``playlist(skip=True)``.
    :param first_sequence: the media sequence number of the first segment.
    :param mux_options: keyword arguments for each :class:`~mediaproto.mpegts.mux.Muxer`
        (e.g. ``{"audio_frames_per_pes": 4}``; waiting audio is flushed at every cut), or with
        ``container="fmp4"`` for each :class:`~mediaproto.mp4.Fragmenter` (``{"styp": True}``).
    :param container: ``"ts"`` (MPEG-TS) or ``"fmp4"`` (fragmented MP4 with EXT-X-MAP); fMP4
        takes H.264, H.265, AAC and Opus tracks with their decoder configuration (others raise
        :class:`~mediaproto.errors.LocalProtocolError`). ``segment_name`` and ``part_name``
        default to ``seg{n}.ts``/``seg{n}.{part}.ts``, or ``.m4s`` for fMP4.
    :param init_name: fMP4: the init segment's name in EXT-X-MAP.
    """

    def __init__(
        self,
        tracks: Sequence[Track],
        target_duration: float = 2.0,
        window: int = 6,
        part_target: float | None = None,
        mode: str = "live",
        segment_name: str | None = None,
        part_name: str | None = None,
        program_date_time: datetime | None = None,
        discontinuity_threshold: float = 10.0,
        can_skip: bool = True,
        first_sequence: int = 0,
        mux_options: Mapping[str, Any] | None = None,
        container: str = "ts",
        init_name: str = "init.mp4",
    ) -> None:
        if not tracks:
            raise LocalProtocolError("a Segmenter needs at least one track")
        if mode not in ("live", "event", "vod"):
            raise LocalProtocolError(f"mode must be 'live', 'event' or 'vod', got {mode!r}")
        if not target_duration > 0 or window < 1:
            raise LocalProtocolError("target_duration must be positive and window at least 1")
        if part_target is not None and not 0 < part_target <= target_duration:
            raise LocalProtocolError("part_target must be positive and at most target_duration")
        if container not in ("ts", "fmp4"):
            raise LocalProtocolError(f"container must be 'ts' or 'fmp4', got {container!r}")
        self.container = container
        self.init_name = init_name
        ext = "m4s" if container == "fmp4" else "ts"
        self.tracks = tuple(tracks)
        self._by_id = {t.id: t for t in self.tracks}
        main = next((t for t in self.tracks if t.codec.is_video), self.tracks[0])
        self._main = main.id
        self._main_video = main.codec.is_video
        self.target_duration = target_duration
        self.window = window
        self.part_target = part_target
        self.mode = mode
        self.segment_name = segment_name if segment_name is not None else "seg{n}." + ext
        self.part_name = part_name if part_name is not None else "seg{n}.{part}." + ext
        self.can_skip = can_skip and part_target is not None
        self._target_ticks = round(target_duration * _HZ)
        self._part_ticks = round(part_target * _HZ) if part_target is not None else 0
        self._threshold = round(discontinuity_threshold * _HZ)
        self._mux_options = dict(mux_options or {})
        self._muxer = self._new_muxer()
        self._pdt0 = program_date_time
        self._pdt_base: tuple[datetime, int] | None = None  # (wallclock, ticks) of the timeline start
        self._epoch: int | None = None  # ticks of the timeline start, for millisecond rounding
        self._next_msn = first_sequence
        self._segments: deque[_Seg] = deque()  # complete segments in the playlist
        self._cur: _Seg | None = None
        self._part: _Part | None = None
        self._last_dts: dict[int, int] = {}
        self._last_main = 0
        self._frame_ticks = 0
        self._part_fitted = False
        self._pending_discontinuity = False
        self._disc_seq = 0
        self._target_int = max(1, math.ceil(target_duration - 1e-9))
        self._removals: deque[tuple[int, SegmentRemoved]] = deque()
        self._ended = False
        self._text: str | None = None

    def _new_muxer(self, old: Muxer | Fmp4Writer | None = None) -> Muxer | Fmp4Writer:
        """A TS muxer or an fMP4 writer (whose fragment numbers go on from ``old``'s)."""
        if self.container == "fmp4":
            first = old.sequence_number if isinstance(old, Fmp4Writer) else 1
            return Fmp4Writer(self.tracks, first, **self._mux_options)
        return Muxer(self.tracks, **self._mux_options)

    # -- the caller's view ----------------------------------------------------------------------

    def init_segment(self) -> bytes | None:
        """fMP4: the init segment (``ftyp`` + ``moov``) to serve as :attr:`init_name`; ``None``
        for TS."""
        muxer = self._muxer
        return muxer.init_segment() if isinstance(muxer, Fmp4Writer) else None

    @property
    def latest(self) -> tuple[int, int | None] | None:
        """The newest ``(msn, part)``: the segment in progress and its last complete part
        (LL-HLS), else the last complete segment and ``None``; ``None`` before anything."""
        cur = self._cur
        if cur is not None and cur.parts:
            return cur.msn, cur.parts[-1].index
        if self._segments:
            last = self._segments[-1]
            return last.msn, (last.parts[-1].index if last.parts else None)
        return None

    def has(self, msn: int, part: int | None = None) -> bool:
        """Whether a blocking request for ``_HLS_msn=msn`` (and ``_HLS_part=part``) can be answered.

        A part index past the last part of a complete segment means the first part of the next
        segment, as the draft says.
        """
        cur = self._cur
        last_done = cur.msn - 1 if cur is not None else self._next_msn - 1
        if part is None:
            return msn <= last_done
        if msn <= last_done:
            first = self._segments[0].msn if self._segments else last_done + 1
            if msn < first:
                return True
            return part < len(self._segments[msn - first].parts) or self.has(msn + 1, 0)
        return cur is not None and msn == cur.msn and part < len(cur.parts)

    def playlist(self, skip: bool = False, query: str = "") -> str:
        """The current playlist text.

        :param skip: give the delta update (EXT-X-SKIP), for ``_HLS_skip=YES``.
        :param query: the client's request query string; its parameters other than ``_HLS_*``
            are appended to every segment, part and hint URI (clients that authenticate with a
            token in the query need them on every request).
        """
        suffix = _client_query(query)
        skip = skip and self.can_skip
        if not skip and not suffix:
            if self._text is None:
                self._text = self._build(False, "").dumps()
            return self._text
        return self._build(skip, suffix).dumps()

    # -- input ----------------------------------------------------------------------------------

    def feed(self, frame: Frame) -> list[SegmenterEvent]:
        """Add one frame (decode order, tracks interleaved); returns what became ready."""
        if self._ended:
            raise LocalProtocolError("feed() after flush()")
        track = self._by_id.get(frame.track_id)
        if track is None:
            raise LocalProtocolError(f"no track with id {frame.track_id}")
        dts = rescale(frame.dts, track.clock_rate, _HZ)
        events: list[SegmenterEvent] = []
        last = self._last_dts.get(frame.track_id)
        if last is not None and (dts < last or dts - last > self._threshold):
            if self._cur is not None:
                self._close_segment(self._last_main + self._frame_ticks, events)
                self._flush_playlist(events)
            self._pending_discontinuity = True
            self._last_dts.clear()
            self._muxer = self._new_muxer(self._muxer)
            prev = self._segments[-1] if self._segments else None
            if prev is not None and prev.pdt is not None:
                self._pdt_base = (prev.pdt + timedelta(seconds=prev.duration), -1)
            self._epoch = None
        is_main = frame.track_id == self._main
        if self._cur is None:
            if not is_main or (self._main_video and not frame.keyframe):
                return events  # wait for a keyframe of the main track
            self._open_segment(dts, events)
        elif is_main:
            if dts > self._last_main:
                self._frame_ticks = dts - self._last_main
                if not self._part_fitted and self._part_ticks:
                    self._fit_part_target()
            cur = self._cur
            can_cut = frame.keyframe or not self._main_video
            slack = 0 if self._main_video else self._frame_ticks // 2
            if can_cut and dts - cur.start >= self._target_ticks - slack:
                self._close_segment(dts, events)
                self._open_segment(dts, events)
                self._flush_playlist(events)
            elif self._part is not None and dts + self._frame_ticks - self._part.start > self._part_ticks:
                self._close_part(dts, events)
                self._flush_playlist(events)
                self._open_part(dts, frame.keyframe or not self._main_video)
        self._last_dts[frame.track_id] = dts
        if is_main:
            self._last_main = dts
        data = self._muxer.mux(frame)
        holder = self._part or self._cur
        if data and holder is not None:
            holder.chunks.append(data)
        return events

    def flush(self) -> list[SegmenterEvent]:
        """The stream ended: the last segment and the final playlist (with EXT-X-ENDLIST). Later
        calls return ``[]``; :meth:`feed` after it raises :class:`~mediaproto.errors.LocalProtocolError`."""
        if self._ended:
            return []
        events: list[SegmenterEvent] = []
        if self._cur is not None:
            self._close_segment(self._last_main + self._frame_ticks, events)
        self._ended = True
        self._text = None
        events.append(PlaylistChanged(self.playlist()))
        return events

    # -- segments and parts ---------------------------------------------------------------------

    def _ms(self, ticks: int) -> int:
        assert self._epoch is not None
        return rescale(ticks - self._epoch, _HZ, 1000)

    def _fit_part_target(self) -> None:
        """Make the part target a whole number of main-track frames (see the module docs)."""
        self._part_fitted = True
        frame = self._frame_ticks
        if frame <= 0 or self._part_ticks % frame == 0:
            return
        frames = max(1, round(self._part_ticks / frame))
        ticks = frames * frame + frame // 8
        self._part_ticks = ticks
        self.part_target = math.ceil(ticks * 1000 / _HZ) / 1000

    def _open_segment(self, start: int, events: list[SegmenterEvent]) -> None:
        if self._epoch is None:
            self._epoch = start
        pdt = None
        if self._pdt0 is not None:
            if self._pdt_base is None:
                self._pdt_base = (self._pdt0, start)
            elif self._pdt_base[1] == -1:  # after a discontinuity: continue the wallclock here
                self._pdt_base = (self._pdt_base[0], start)
            base, base_ticks = self._pdt_base
            pdt = base + timedelta(milliseconds=rescale(start - base_ticks, _HZ, 1000))
        msn = self._next_msn
        self._next_msn += 1
        self._cur = _Seg(msn, self.segment_name.format(n=msn), start, self._pending_discontinuity, pdt)
        self._pending_discontinuity = False
        psi = self._muxer.psi()
        if self.part_target is not None:
            self._open_part(start, True)
            assert self._part is not None
            self._part.chunks.append(psi)
        else:
            self._cur.chunks.append(psi)

    def _open_part(self, start: int, independent: bool) -> None:
        assert self._cur is not None
        index = len(self._cur.parts)
        self._part = _Part(index, self.part_name.format(n=self._cur.msn, part=index), start, independent)

    def _close_part(self, end: int, events: list[SegmenterEvent]) -> None:
        part, cur = self._part, self._cur
        assert part is not None and cur is not None
        rest = self._muxer.drain()
        if rest:
            part.chunks.append(rest)
        part.end = end
        part.duration = (self._ms(end) - self._ms(part.start)) / 1000
        data = b"".join(part.chunks)
        part.chunks = []
        cur.parts.append(part)
        cur.chunks.append(data)
        self._part = None
        events.append(PartReady(cur.msn, part.index, part.name, data, part.duration, part.independent))

    def _close_segment(self, end: int, events: list[SegmenterEvent]) -> None:
        cur = self._cur
        assert cur is not None
        if self._part is not None:
            self._close_part(end, events)
        else:
            rest = self._muxer.drain()
            if rest:
                cur.chunks.append(rest)
        cur.end = end
        cur.duration = (self._ms(end) - self._ms(cur.start)) / 1000
        data = b"".join(cur.chunks)
        cur.chunks = []
        self._cur = None
        self._segments.append(cur)
        self._target_int = max(self._target_int, math.floor(cur.duration + 0.5))
        events.append(SegmentReady(cur.msn, cur.name, data, cur.duration, cur.discontinuity, cur.pdt))
        if self.mode == "live":
            while len(self._segments) > self.window:
                old = self._segments.popleft()
                if old.discontinuity:
                    self._disc_seq += 1
                listed = sum(s.end - s.start for s in self._segments)
                deadline = end + (old.end - old.start) + listed
                self._removals.append((deadline, SegmentRemoved(old.name, tuple(p.name for p in old.parts))))
            while self._removals and self._removals[0][0] <= end:
                events.append(self._removals.popleft()[1])
        self._text = None

    def _flush_playlist(self, events: list[SegmenterEvent]) -> None:
        self._text = None
        if self.mode != "vod":
            events.append(PlaylistChanged(self.playlist()))

    def _build(self, skip: bool, suffix: str) -> MediaPlaylist:
        ll = self.part_target is not None
        td = self._target_int
        segs = list(self._segments)
        cur = self._cur
        edge = cur.parts[-1].end if cur is not None and cur.parts else (segs[-1].end if segs else 0)
        parts_after = edge - 3 * td * _HZ
        skip_until = 6 * td
        skipped = 0
        if skip:
            while skipped < len(segs) and segs[skipped].end <= edge - skip_until * _HZ:
                skipped += 1
            skip = skipped > 0  # nothing to skip: the full playlist is the answer
        out = [
            Segment(
                s.name + suffix, s.duration, discontinuity=s.discontinuity, program_date_time=s.pdt,
                parts=[PartialSegment(p.duration, p.name + suffix, p.independent) for p in s.parts]
                if ll and s.end > parts_after else [],
            )  # fmt: skip
            for s in segs[skipped:]
        ]
        fmp4 = self.container == "fmp4"
        if fmp4 and out:
            out[0].map = Map(self.init_name + suffix)
        pl = MediaPlaylist(
            segments=out,
            target_duration=td,
            version=9 if skip else 6 if ll or fmp4 else 3,
            media_sequence=segs[0].msn if segs else (cur.msn if cur is not None else self._next_msn),
            discontinuity_sequence=self._disc_seq or None,
            playlist_type={"event": "EVENT", "vod": "VOD"}.get(self.mode),
            independent_segments=self._main_video,
            endlist=self._ended,
            skip=Skip(skipped) if skip else None,
        )
        if ll:
            assert self.part_target is not None
            pl.part_inf = PartInf(self.part_target)
            pl.server_control = ServerControl(
                can_block_reload=True,
                can_skip_until=float(skip_until) if self.can_skip else None,
                part_hold_back=math.ceil(3 * self.part_target * 1000 - 1e-6) / 1000,
            )
            if cur is not None and cur.parts:
                pl.partial_segment = Segment(
                    discontinuity=cur.discontinuity, program_date_time=cur.pdt,
                    parts=[PartialSegment(p.duration, p.name + suffix, p.independent) for p in cur.parts],
                    map=Map(self.init_name + suffix) if fmp4 and not out else None,
                )  # fmt: skip
            if not self._ended:
                msn, index = (cur.msn, len(cur.parts)) if cur is not None else (self._next_msn, 0)
                pl.preload_hints = [PreloadHint("PART", self.part_name.format(n=msn, part=index) + suffix)]
        return pl
