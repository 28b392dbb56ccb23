"""RTMP in and out: publishers (OBS, ffmpeg) push into the hub, players read from it.

Each connection is a :class:`~mediaproto.aio.driver.StreamDriver` around an
:class:`mediaproto.rtmp.ServerConnection`, with an :class:`RtmpSession` answering its events.
Fan-out serializes each frame once per (message stream id, chunk size) with
:func:`mediaproto.rtmp.connection.frame_chunks` and writes those same bytes to every player of that
group (as nginx-rtmp shares one chain of chunks), owed per player and written once per event-loop
turn (:mod:`mediaproto.server.fanout`). Each player has a write-buffer high-water mark:
past it, the player skips to the next keyframe; far past it, it is dropped. Neither holds back the
others or grows memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..aio.driver import StreamDriver
from ..endpoint import Event
from ..errors import MediaProtoError
from ..media import Frame
from ..rtmp import Limits as RtmpLimits
from ..rtmp import ServerConfiguration, ServerConnection
from ..rtmp.connection import frame_chunks
from ..rtmp.events import (
    ConnectionClosed,
    ConnectRequested,
    FrameReceived,
    MetadataReceived,
    PlayRequested,
    PublishRequested,
    StreamClosed,
    TrackReceived,
)
from ..rtmp.flv import MediaTagEncoder
from .auth import Action
from .config import Config, Limits
from .context import ServerContext, stream_path
from .fanout import flusher_for
from .hub import Gate, Hub, Stream
from .sessions import Session

log = logging.getLogger("mediaproto.server.rtmp")

#: How often each connection checks its idle and handshake timeouts.
IDLE_CHECK = 5.0


class _SharedChunks:
    """The chunk bytes of the current frame of one stream, per (stream id, chunk size)."""

    def __init__(self, stream: Stream) -> None:
        self.tracks = stream.track_list
        self.encoder = MediaTagEncoder(list(self.tracks))
        self.frame: Frame | None = None
        self.chunks: dict[tuple[int, int], bytes] = {}

    def get(self, frame: Frame, stream_id: int, chunk_size: int) -> bytes:
        if frame is not self.frame:
            self.frame = frame
            self.chunks = {}
        key = (stream_id, chunk_size)
        data = self.chunks.get(key)
        if data is None:
            data = self.chunks[key] = frame_chunks(self.encoder, frame, stream_id=stream_id, chunk_size=chunk_size)
        return data


def _shared_for(stream: Stream) -> _SharedChunks:
    """The stream's shared chunks (kept in ``stream.cache``, which a change of tracks clears)."""
    shared = stream.cache.get("rtmp")
    if shared is None:
        shared = stream.cache["rtmp"] = _SharedChunks(stream)
    return shared


class RtmpPlayer:
    """A hub output: one RTMP player (a ``play`` on a message stream)."""

    def __init__(self, session: RtmpSession, stream_id: int) -> None:
        self.session = session
        self.stream_id = stream_id
        self.gate = Gate(session.limits, session.driver.loop.time)
        self.tracks_sent: tuple[Any, ...] = ()
        self.frames_sent = 0
        #: The shared chunk bytes owed since the last write (written once per loop turn by the
        #: loop's :class:`~mediaproto.server.fanout.TurnFlusher`), and the write-buffer size
        #: after that write.
        self.owed: list[bytes] = []
        self.buffered = 0
        self.flusher = flusher_for(session.driver.loop, session.limits.write_coalesce)
        #: The play request not answered yet (the stream was not live), and its StreamNotFound timer.
        self.pending: PlayRequested | None = None
        self.not_found: asyncio.TimerHandle | None = None

    def on_tracks(self, stream: Stream) -> None:
        tracks = stream.track_list
        if tracks and self.pending is not None:
            self.session.conn.accept_play(self.pending, metadata=stream.metadata)
            self.pending = None
            if self.not_found is not None:
                self.not_found.cancel()
                self.not_found = None
        if tracks and tracks != self.tracks_sent:
            self.flush_owed()  # the old tracks' frames go before the new sequence headers
            self.session.conn.send_tracks(self.stream_id, tracks)
            self.tracks_sent = tracks
            self.gate.waiting_keyframe = stream.has_video
            self.session.driver.flush()

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        # The hot path of fan-out: once per frame and player, so kept short: the gate is asked
        # only while the player waits for a keyframe or its buffer was past the high-water mark
        # at its last write; otherwise the frame's shared bytes are appended to what it owes.
        session = self.session
        driver = session.driver
        if driver.closed or self.pending is not None:
            return
        gate = self.gate
        if gate.waiting_keyframe or self.buffered > gate.limits.high_water:
            self.buffered = driver.write_buffer_size()
            verdict = gate.admit(stream, frame, self.buffered)
            if verdict is not Gate.SEND:
                if verdict is Gate.DROP:
                    stream.unsubscribe(self)
                    self.owed = []
                    driver.close(abort=True)
                return
        shared = stream.cache.get("rtmp") or _shared_for(stream)
        owed = self.owed
        if not owed:
            self.flusher.mark(self)
        owed.append(shared.get(frame, self.stream_id, session.conn.outgoing_chunk_size))
        self.frames_sent += 1

    def flush_owed(self) -> None:
        """Write the frames owed in one write (control messages queued meanwhile, such as
        acknowledgements, go first: :meth:`StreamDriver.write` sends them)."""
        owed = self.owed
        if not owed:
            return
        self.owed = []
        driver = self.session.driver
        driver.write(owed[0] if len(owed) == 1 else b"".join(owed))
        self.buffered = buffered = driver.write_buffer_size()
        if buffered <= self.gate.limits.high_water:
            self.gate.slow_since = None

    def on_end(self, stream: Stream) -> None:
        self.flush_owed()
        if not self.session.driver.closed and self.pending is None:
            try:
                self.session.conn.end_play(self.stream_id)
            except MediaProtoError:
                pass
            self.tracks_sent = ()
            self.session.driver.flush()


class RtmpSession:
    """One RTMP connection (publisher, player, or both): the handler of its driver."""

    def __init__(self, hub: Hub, *, token: str | None = None, limits: Limits | None = None,
                 context: ServerContext | None = None) -> None:
        self.hub = hub
        self.limits = limits or hub.limits
        if context is None:
            context = ServerContext(Config(token=token, limits=self.limits), hub)
        self.context = context
        self.conn = ServerConnection(ServerConfiguration(
            ping_interval=self.limits.rtmp_ping_interval,
            limits=RtmpLimits(max_command_size=self.limits.rtmp_max_command)))
        self.driver = StreamDriver(self.conn, self, name="rtmp")
        self.publishing: dict[int, Stream] = {}
        self.playing: dict[int, tuple[Stream, RtmpPlayer]] = {}
        self.sessions: dict[int, Session] = {}
        loop = self.driver.loop
        self.last_received = self.started = loop.time()
        #: The handshake is over and ``connect`` came (the server's
        #: :class:`~mediaproto.server.guard.ConnectionGuard` closes a connection without it after
        #: ``Limits.handshake_timeout``).
        self.handshake_done = False
        self._idle_timer: asyncio.TimerHandle | None = loop.call_later(IDLE_CHECK, self._check_idle)

    @property
    def peer(self) -> str:
        return self.driver.peer

    def _check_idle(self) -> None:
        self._idle_timer = None
        driver = self.driver
        if driver.closed:
            return
        now = driver.loop.time()
        if now - self.last_received > self.limits.rtmp_idle_timeout:
            log.info("rtmp %s: closing: silent for %.0f s", self.peer, now - self.last_received)
            driver.close(abort=True)
        else:
            self._idle_timer = driver.loop.call_later(IDLE_CHECK, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for stream_id in list(self.publishing) + list(self.playing):
            self._stop(stream_id, "connection closed")

    # -- events -------------------------------------------------------------------------------
    def _open(self, stream_id: int, role: str, path: str, player: RtmpPlayer | None = None) -> None:
        driver = self.driver

        def counters() -> tuple[int, int, int]:
            return driver.bytes_received, driver.bytes_sent, player.gate.skipped if player is not None else 0

        self.sessions[stream_id] = self.context.sessions.open(
            "rtmp", role, path, self.peer, counters=counters, closer=lambda: driver.close(abort=True))

    def _refuse(self, path: str, reason: str) -> None:
        self.context.refuse("rtmp", self.driver.host, path, reason)

    def _allowed(self, path: str, query: str, action: Action) -> str | None:
        """Why ``action`` on ``path`` is refused, or ``None``."""
        settings = self.context.path(path)
        if settings is None:
            return "path not configured"
        if action is Action.PUBLISH and settings.pulled:
            return "path has a source"
        verdict = self.context.auth.check_query(settings, action, query)
        return None if verdict.ok else verdict.reason

    def handle_event(self, event: Event) -> None:
        self.last_received = self.driver.loop.time()
        if isinstance(event, ConnectRequested):
            self.handshake_done = True
            self.conn.accept_connect(event)
        elif isinstance(event, PublishRequested):
            name, query = stream_path(event.app, event.publishing_name)
            why = self._allowed(name, query, Action.PUBLISH)
            if why is not None:
                self._refuse(name, why)
                code = "NetStream.Publish.Unauthorized" if "credentials" in why or "token" in why else \
                    "NetStream.Publish.BadName"
                self.conn.reject_publish(event, f"Publishing {name} refused: {why}.", code=code)
                return
            stream = self.hub.stream(name)
            if not stream.start(f"rtmp {self.peer}", self.driver.loop.time()):
                self._refuse(name, "already published")
                self.conn.reject_publish(event, f"{name} is already being published.")
                return
            self.publishing[event.stream_id] = stream
            self.conn.accept_publish(event)
            self._open(event.stream_id, "publish", name)
        elif isinstance(event, TrackReceived):
            target = self.publishing.get(event.stream_id)
            if target is not None:
                target.set_track(event.track)
        elif isinstance(event, FrameReceived):
            target = self.publishing.get(event.stream_id)
            if target is not None:
                target.push(event.frame, self.driver.loop.time())
        elif isinstance(event, MetadataReceived):
            target = self.publishing.get(event.stream_id)
            if target is not None:
                target.metadata = event.metadata
        elif isinstance(event, PlayRequested):
            self._play(event)
        elif isinstance(event, StreamClosed):
            self._stop(event.stream_id, "closed by the peer")
        elif isinstance(event, ConnectionClosed):
            self.driver.close()

    def _play(self, event: PlayRequested) -> None:
        name, query = stream_path(event.app, event.stream_name)
        why = self._allowed(name, query, Action.READ)
        if why is not None:
            self._refuse(name, why)
            code = "NetStream.Play.Unauthorized" if "credentials" in why or "token" in why else \
                "NetStream.Play.StreamNotFound"
            self.conn.reject_play(event, f"Playing {name} refused: {why}.", code=code)
            return
        stream = self.hub.stream(name)
        player = RtmpPlayer(self, event.stream_id)
        self.playing[event.stream_id] = (stream, player)
        self._open(event.stream_id, "read", name, player)
        self.context.demand(name)
        if stream.live and stream.tracks:
            self.conn.accept_play(event, metadata=stream.metadata)
        else:
            # answered when the publisher's tracks come (on_tracks), or StreamNotFound after the wait
            player.pending = event
            settings = self.context.path(name)
            wait = self.context.config.rtmp_play_wait
            if settings is not None and settings.pulled:
                wait = max(wait, 10.0)
            player.not_found = self.driver.loop.call_later(wait, self._not_found, event.stream_id)
        stream.subscribe(player)

    def _not_found(self, stream_id: int) -> None:
        entry = self.playing.get(stream_id)
        pending = entry[1].pending if entry is not None else None
        if entry is None or pending is None or self.driver.closed:
            return
        stream, player = entry
        self._refuse(stream.name, "stream not found")
        try:
            self.conn.reject_play(pending, f"{stream.name} is not published.")
        except MediaProtoError:
            pass
        player.pending = None
        self._stop(stream_id, "stream not found")
        self.driver.flush()

    def _stop(self, stream_id: int, reason: str = "") -> None:
        stream = self.publishing.pop(stream_id, None)
        if stream is not None:
            stream.end()
        entry = self.playing.pop(stream_id, None)
        if entry is not None:
            if entry[1].not_found is not None:
                entry[1].not_found.cancel()
            entry[0].unsubscribe(entry[1])
            self.hub.release(entry[0])
        session = self.sessions.pop(stream_id, None)
        if session is not None:
            self.context.sessions.close(session, reason)

    def players(self) -> int:
        return len(self.playing)
