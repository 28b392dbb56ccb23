"""RTMP in and out: publishers (OBS, ffmpeg) push into the hub, players read from it.

Fan-out serializes each frame once per (message stream id, chunk size) with
:func:`mediaproto.rtmp.connection.frame_chunks` and writes those same bytes to every player of that
group (as nginx-rtmp shares one chain of chunks). Each player has a write-buffer high-water mark:
past it, the player skips to the next keyframe; far past it, it is dropped. Neither holds back the
others or grows memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from mediaproto.errors import MediaProtoError
from mediaproto.media import Frame
from mediaproto.rtmp.connection import frame_chunks
from mediaproto.rtmp.events import (
    ConnectionClosed,
    ConnectRequested,
    FrameReceived,
    MetadataReceived,
    PlayRequested,
    PublishRequested,
    StreamClosed,
    TrackReceived,
)
from mediaproto.rtmp.flv import MediaTagEncoder
from mediaproto.rtmp.server import ServerConnection

from .hub import Gate, Hub, Stream, token_ok

log = logging.getLogger("live.rtmp")

#: A connection that sent nothing for this long is closed (a publisher that hangs without closing
#: would hold its stream name forever). Healthy peers answer our pings (every 30 s) at least.
IDLE_TIMEOUT = 70.0
#: ... and one that has not finished the handshake after this long.
HANDSHAKE_TIMEOUT = 10.0
#: How often each connection checks the two.
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
        self.gate = Gate()
        self.tracks_sent: tuple[Any, ...] = ()
        self.frames_sent = 0

    def on_tracks(self, stream: Stream) -> None:
        tracks = stream.track_list
        if tracks and tracks != self.tracks_sent:
            self.session.conn.send_tracks(self.stream_id, tracks)
            self.tracks_sent = tracks
            self.gate.waiting_keyframe = stream.has_video
            self.session.flush()

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        # The hot path of fan-out: once per frame and player, so kept short.
        session = self.session
        transport = session.transport
        if session.closed or transport is None:
            return
        verdict = self.gate.admit(stream, frame, transport.get_write_buffer_size())
        if verdict is not Gate.SEND:
            if verdict is Gate.DROP:
                stream.unsubscribe(self)
                session.close(abort=True)
            return
        shared = stream.cache.get("rtmp") or _shared_for(stream)
        conn = session.conn
        data = shared.get(frame, self.stream_id, conn.outgoing_chunk_size)
        pending = conn.data_to_send()  # control messages queued meanwhile (acknowledgements) go first
        transport.write(pending + data if pending else data)
        self.frames_sent += 1

    def on_end(self, stream: Stream) -> None:
        if not self.session.closed:
            try:
                self.session.conn.end_play(self.stream_id)
            except MediaProtoError:
                pass
            self.tracks_sent = ()
            self.session.flush()


class RtmpSession(asyncio.Protocol):
    """One RTMP connection: publisher, player, or both."""

    def __init__(self, hub: Hub, *, token: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self.token = token
        self.clock = clock
        self.conn = ServerConnection(ping_interval=30.0, now=clock())
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.publishing: dict[int, Stream] = {}
        self.playing: dict[int, tuple[Stream, RtmpPlayer]] = {}
        self.closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self.last_received = self.started = clock()
        self.handshake_done = False

    # -- asyncio ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
        self._idle_timer = asyncio.get_running_loop().call_later(IDLE_CHECK, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self.closed:
            return
        now = self.clock()
        if not self.handshake_done and now - self.started > HANDSHAKE_TIMEOUT:
            log.info("rtmp %s: closing: no handshake after %.0f s", self.peer, now - self.started)
            self.close(abort=True)
        elif now - self.last_received > IDLE_TIMEOUT:
            log.info("rtmp %s: closing: silent for %.0f s", self.peer, now - self.last_received)
            self.close(abort=True)
        else:
            self._idle_timer = asyncio.get_running_loop().call_later(IDLE_CHECK, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_received = self.clock()
        try:
            events = self.conn.receive_data(data)
            for event in events:
                self._handle(event)
        except MediaProtoError as exc:
            log.info("rtmp %s: closing: %s", self.peer, exc)
            self.close()
            return
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for timer in (self._timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        for stream_id in list(self.publishing) + list(self.playing):
            self._stop(stream_id)

    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def flush(self) -> None:
        if self.closed or self.transport is None:
            return
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)
        self._arm_timer()

    def close(self, abort: bool = False) -> None:
        """Close after what is queued (``abort``: at once, dropping it: for a player far behind)."""
        if self.transport is not None and not self.closed:
            if abort:
                self.transport.abort()
            else:
                self.flush()
                self.transport.close()
        self.closed = True

    def _arm_timer(self) -> None:
        deadline = self.conn.next_timer()
        if deadline is None or self._timer is not None:
            return
        self._timer = asyncio.get_running_loop().call_later(max(0.0, deadline - self.clock()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self.closed and not self.conn.broken:
            self.conn.handle_timer(self.clock())
            self.flush()

    # -- events -------------------------------------------------------------------------------
    def _key_ok(self, name: str) -> tuple[str, bool]:
        key, _, query = name.partition("?")
        return key, token_ok(query, self.token)

    def _handle(self, event: object) -> None:
        if isinstance(event, ConnectRequested):
            self.handshake_done = True
            self.conn.accept_connect(event)
        elif isinstance(event, PublishRequested):
            key, ok = self._key_ok(event.publishing_name)
            name = f"{event.app}/{key}"
            if not ok:
                log.warning("rtmp %s: bad token for %s", self.peer, name)
                self.conn.reject_publish(event, "Bad stream key.")
                return
            stream = self.hub.stream(name)
            if not stream.start(f"rtmp {self.peer}", self.clock()):
                self.conn.reject_publish(event, f"{name} is already being published.")
                return
            self.publishing[event.stream_id] = stream
            self.conn.accept_publish(event)
        elif isinstance(event, TrackReceived):
            target = self.publishing.get(event.stream_id)
            if target is not None:
                target.set_track(event.track)
        elif isinstance(event, FrameReceived):
            target = self.publishing.get(event.stream_id)
            if target is not None:
                target.push(event.frame, self.clock())
        elif isinstance(event, MetadataReceived):
            target = self.publishing.get(event.stream_id)
            if target is not None:
                target.metadata = event.metadata
        elif isinstance(event, PlayRequested):
            name = f"{event.app}/{event.stream_name.split('?')[0]}"
            stream = self.hub.stream(name)
            self.conn.accept_play(event, metadata=stream.metadata)
            player = RtmpPlayer(self, event.stream_id)
            self.playing[event.stream_id] = (stream, player)
            stream.subscribe(player)
        elif isinstance(event, StreamClosed):
            self._stop(event.stream_id)
        elif isinstance(event, ConnectionClosed):
            self.close()

    def _stop(self, stream_id: int) -> None:
        stream = self.publishing.pop(stream_id, None)
        if stream is not None:
            stream.end()
        entry = self.playing.pop(stream_id, None)
        if entry is not None:
            entry[0].unsubscribe(entry[1])
            self.hub.release(entry[0])

    def players(self) -> int:
        return len(self.playing)
