"""The hub: one :class:`Stream` per path, publishers push frames in, outputs subscribe.

A publisher (an RTMP or RTSP RECORD session, or the built-in test source) owns a stream while it
publishes: it sets the tracks and pushes :class:`~mediaproto.media.Frame` values. Every output
(an RTMP player, an RTSP session, the HLS segmenter) subscribes to the stream and gets the tracks,
then the frames since the last video keyframe (the GOP cache: a late joiner starts at once, on a
keyframe), then every new frame. Outputs never talk to each other or to the publisher, so a slow
output can only hurt itself.
"""

from __future__ import annotations

import hmac
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..errors import MediaProtoError
from ..media import Frame, Track
from .config import Limits

log = logging.getLogger("mediaproto.server")

#: Without video, the cache keeps about a second of audio.
MAX_AUDIO_ONLY_FRAMES = 50


class Output(Protocol):
    """What a stream calls on its subscribers."""

    def on_tracks(self, stream: Stream) -> None:
        """The stream's tracks were set or changed (the publisher started, or a track appeared)."""

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        """A frame, in decode order across tracks."""

    def on_end(self, stream: Stream) -> None:
        """The publisher left: the stream ended (it may start again with a new publisher)."""


@dataclass(eq=False)
class Stream:
    """One live stream: its tracks, its GOP cache, its outputs and its statistics."""

    name: str
    limits: Limits = field(default_factory=Limits)
    tracks: dict[int, Track] = field(default_factory=dict)
    publisher: str | None = None
    metadata: dict[str, Any] | None = None
    outputs: list[Output] = field(default_factory=list)
    gop: list[Frame] = field(default_factory=list)
    started_at: float | None = None
    #: Frames received per track id in the current (or last) publishing session.
    frames_by_track: dict[int, int] = field(default_factory=dict)
    #: Frames not sent to a player because it was past its high-water mark (it skipped to the
    #: next keyframe), and players disconnected for being far behind, since the server started.
    frames_skipped: int = 0
    players_dropped: int = 0
    #: Per-stream caches of the outputs (a frame serialized once for all the players of a
    #: protocol), cleared whenever the tracks change.
    cache: dict[str, Any] = field(default_factory=dict)
    _recent: deque[tuple[float, int]] = field(default_factory=deque)
    #: The last decode time per track (what comes next must be later) and whether that was logged.
    _last_dts: dict[int, int] = field(default_factory=dict)
    _nudge_logged: bool = False

    @property
    def live(self) -> bool:
        """Whether a publisher is pushing frames."""
        return self.publisher is not None

    @property
    def frames_in(self) -> int:
        """Frames received in the current (or last) publishing session."""
        return sum(self.frames_by_track.values())

    @property
    def track_list(self) -> tuple[Track, ...]:
        """The tracks by id."""
        return tuple(self.tracks[k] for k in sorted(self.tracks))

    @property
    def has_video(self) -> bool:
        """Whether a track is video (then players start, and restart after skipping, on a keyframe)."""
        return any(t.codec.is_video for t in self.tracks.values())

    def is_video_keyframe(self, frame: Frame) -> bool:
        """Whether ``frame`` is a keyframe of a video track (where the GOP cache restarts)."""
        track = self.tracks.get(frame.track_id)
        return frame.keyframe and track is not None and track.codec.is_video

    # -- the publisher's side -----------------------------------------------------------------
    def start(self, publisher: str, now: float) -> bool:
        """Take the stream for ``publisher``; False when another one holds it."""
        if self.publisher is not None:
            return False
        self.publisher = publisher
        self.started_at = now
        self.frames_by_track = {}
        self._last_dts = {}  # a new publisher's time starts anew
        self._nudge_logged = False
        self._recent.clear()
        log.info("%s: published by %s", self.name, publisher)
        return True

    def set_tracks(self, tracks: tuple[Track, ...] | list[Track]) -> None:
        """Set every track at once (RTSP ANNOUNCE, the test source)."""
        self.tracks = {t.id: t for t in tracks}
        self._tracks_changed()

    def set_track(self, track: Track) -> None:
        """Add or replace one track (RTMP sends video and audio sequence headers apart)."""
        if self.tracks.get(track.id) == track:
            return
        self.tracks[track.id] = track
        self._tracks_changed()

    def _tracks_changed(self) -> None:
        self.gop.clear()
        self.cache.clear()
        for out in list(self.outputs):
            out.on_tracks(self)

    def push(self, frame: Frame, now: float) -> None:
        """A frame from the publisher: cache it and hand it to every output."""
        track_id = frame.track_id
        if track_id not in self.tracks:
            return
        last = self._last_dts.get(track_id)
        if last is not None and frame.dts <= last:
            frame = self._nudged(frame, last)
        self._last_dts[track_id] = frame.dts
        self.frames_by_track[track_id] = self.frames_by_track.get(track_id, 0) + 1
        self._recent.append((now, frame.size))
        while self._recent and self._recent[0][0] < now - 5.0:
            self._recent.popleft()
        has_video = self.has_video
        if self.is_video_keyframe(frame):
            self.gop = [frame]
        elif self.gop or not has_video:
            self.gop.append(frame)
            limit = self.limits.gop_frames if has_video else MAX_AUDIO_ONLY_FRAMES
            if len(self.gop) > limit:
                del self.gop[: len(self.gop) - limit]
        for out in list(self.outputs):
            try:
                out.on_frame(self, frame)
            except MediaProtoError as exc:  # one output's bug must not end the stream for everyone
                log.warning("%s: dropping an output after an error: %s", self.name, exc)
                self.unsubscribe(out)

    def _nudged(self, frame: Frame, last: int) -> Frame:
        """A frame whose decode time repeats or goes back (a publisher's quirk: GStreamer sends an
        AAC encoder's priming frame with the next frame's timestamp; a restarted encoder) moved
        just after the previous one, so no output ever sees a time repeat or go back."""
        if not self._nudge_logged:
            self._nudge_logged = True
            log.info("%s: track %d: a decode time repeats or goes back (%d after %d): moved after the previous one",
                     self.name, frame.track_id, frame.dts, last)
        dts = last + 1
        return Frame(frame.track_id, max(frame.pts, dts), dts, frame.data, frame.keyframe)

    def end(self) -> None:
        """The publisher left: tell every output, forget the tracks and the cache."""
        if self.publisher is None:
            return
        log.info("%s: %s stopped publishing after %d frames", self.name, self.publisher, self.frames_in)
        self.publisher = None
        for out in list(self.outputs):
            out.on_end(self)
        self.tracks = {}
        self.metadata = None
        self.gop.clear()
        self.cache.clear()

    # -- the outputs' side --------------------------------------------------------------------
    def subscribe(self, out: Output) -> None:
        """Add an output; when the stream is live it gets the tracks and the GOP cache at once."""
        self.outputs.append(out)
        if self.live and self.tracks:
            out.on_tracks(self)
            for frame in list(self.gop):
                out.on_frame(self, frame)

    def unsubscribe(self, out: Output) -> None:
        """Remove an output (a player left)."""
        if out in self.outputs:
            self.outputs.remove(out)

    def bitrate(self, now: float) -> float:
        """Media bits per second over the last five seconds."""
        recent = [size for t, size in self._recent if t >= now - 5.0]
        if not recent or self.started_at is None:
            return 0.0
        return 8 * sum(recent) / min(5.0, max(now - self.started_at, 1e-3))


def token_ok(query: str, token: str | None) -> bool:
    """Whether a publisher's query string carries ``token=<token>`` (always true without a token);
    compared in constant time."""
    if token is None:
        return True
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return hmac.compare_digest(params.get("token", "").encode(), token.encode())


class Gate:
    """Backpressure for one player: whether to send it a frame, skip it, or drop the player.

    A player starts on a video keyframe. When its socket buffer passes ``limits.high_water`` it
    skips frames until the buffer drains and the next keyframe comes, so it loses frames and the
    others lose nothing; past ``limits.drop_water``, or past the high-water mark for
    ``limits.slow_timeout`` seconds (on ``clock``, the loop's), it is dropped. Skipped frames and
    dropped players are counted on the stream.
    """

    __slots__ = ("waiting_keyframe", "skipping", "slow_since", "limits", "clock", "skipped")

    SEND, SKIP, DROP = "send", "skip", "drop"

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.waiting_keyframe = True
        self.skipping = False  # waiting for a keyframe after the high-water mark
        self.slow_since: float | None = None  # when the write buffer went past HIGH_WATER
        self.skipped = 0  # frames this player did not get (for its session's log line)

    def admit(self, stream: Stream, frame: Frame, buffered: int) -> str:
        """:attr:`SEND`, :attr:`SKIP` or :attr:`DROP` for ``frame``, with ``buffered`` bytes waiting."""
        limits = self.limits
        if buffered > limits.high_water:
            if buffered > limits.drop_water:
                log.warning("%s: dropping a player: %d bytes waiting", stream.name, buffered)
                stream.players_dropped += 1
                return self.DROP
            now = self.clock()
            if self.slow_since is None:
                self.slow_since = now
            elif now - self.slow_since > limits.slow_timeout:
                log.warning("%s: dropping a player: behind for %.0f s", stream.name, now - self.slow_since)
                stream.players_dropped += 1
                return self.DROP
            self.waiting_keyframe = self.skipping = True
            stream.frames_skipped += 1
            self.skipped += 1
            return self.SKIP
        self.slow_since = None
        if self.waiting_keyframe:
            if not stream.is_video_keyframe(frame) and stream.has_video:
                stream.frames_skipped += self.skipping
                self.skipped += self.skipping
                return self.SKIP
            self.waiting_keyframe = self.skipping = False
        return self.SEND


class Hub:
    """The streams by path (``live/<name>``)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.streams: dict[str, Stream] = {}
        #: Called with each stream created, so outputs that follow every stream (HLS) can attach.
        self.on_stream: list[Callable[[Stream], None]] = []
        #: Called with each stream forgotten by :meth:`release`, so those outputs can detach.
        self.on_release: list[Callable[[Stream], None]] = []

    def stream(self, name: str) -> Stream:
        """The stream called ``name``, created (empty, not live) when new."""
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = Stream(name, self.limits)
            for callback in self.on_stream:
                callback(stream)
        return stream

    def release(self, stream: Stream) -> None:
        """Forget ``stream`` if it was never published and no player waits on it any more.

        An RTMP player may ask for a name before anyone publishes it (it then waits for the
        publisher); without this, every name a client ever asked for would stay in memory.
        Outputs that follow every stream (HLS) say so with a true ``passive`` attribute.
        """
        if stream.live or stream.started_at is not None or self.streams.get(stream.name) is not stream:
            return
        if any(not getattr(out, "passive", False) for out in stream.outputs):
            return
        del self.streams[stream.name]
        for callback in self.on_release:
            callback(stream)
