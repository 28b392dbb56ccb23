"""RTMP over asyncio: publish to or play from a server, and serve publishers and players.

Publish::

    client = await mediaproto.aio.rtmp.connect("rtmp://127.0.0.1:1935/live/key")
    await client.publish(tracks)                 # the stream key of the URL
    for frame in frames:
        await client.send_frame(frame)           # waits while the socket's buffer is full
    await client.close()

Play::

    client = await mediaproto.aio.rtmp.connect("rtmp://127.0.0.1:1935/live/key")
    await client.play()
    async for item in client.media():            # Track values (sequence headers), then Frames
        ...

Serve::

    async def on_publish(session: Publishing) -> None:
        async for item in session.media():       # the publisher's tracks and frames
            ...

    server = await serve_rtmp(on_publish=on_publish, host="127.0.0.1", port=1935)

Both sides run :class:`mediaproto.rtmp.ClientConnection` / :class:`~mediaproto.rtmp.ServerConnection`
through the one :class:`~mediaproto.aio.driver.StreamDriver`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..endpoint import Event
from ..errors import LocalProtocolError, MediaProtoError
from ..media import Frame, Track
from ..rtmp import ClientConfiguration, ClientConnection, ServerConfiguration, ServerConnection
from ..rtmp.events import (ConnectionClosed, Connected, ConnectRejected, ConnectRequested, FrameReceived,
                           PlayRequested, PlayStarted, PublishRequested, PublishStarted, StatusReceived,
                           StreamClosed, TrackReceived)
from .driver import StreamDriver
from .session import CallbackTasks, EventQueue, SessionError

__all__ = ["RtmpClient", "connect", "split_url", "serve_rtmp", "Publishing", "Playing", "SessionError"]


def split_url(url: str) -> tuple[str, int, str, str, str]:
    """``rtmp://host:port/app/key?query`` -> (host, port, app, key with its query, tcUrl)."""
    parts = urlsplit(url)
    if parts.scheme != "rtmp" or not parts.hostname:
        raise LocalProtocolError(f"not an rtmp:// URL: {url!r}")
    app, _, key = parts.path.lstrip("/").partition("/")
    if parts.query:
        key += "?" + parts.query
    port = parts.port or 1935
    return parts.hostname, port, app, key, f"rtmp://{parts.hostname}:{port}/{app}"


class _ClientEvents(EventQueue):
    def check(self, event: Event) -> None:
        if isinstance(event, ConnectRejected):
            raise SessionError(f"the server refused the connection: {event.information}")
        if isinstance(event, StatusReceived) and event.level == "error":
            raise SessionError(f"the server refused: {event.code} {event.description}".rstrip())


class RtmpClient:
    """An RTMP client connection to one stream URL (made by :func:`connect`)."""

    def __init__(self, driver: StreamDriver, events: _ClientEvents, conn: ClientConnection, key: str,
                 timeout: float) -> None:
        self.driver = driver
        self.events = events
        self.conn = conn
        #: The stream key of the URL (with its query: a token, say).
        self.key = key
        self.timeout = timeout
        self.tracks: dict[int, Track] = {}

    async def publish(self, tracks: Sequence[Track], metadata: dict[str, Any] | None = None) -> None:
        """Publish the URL's stream key and send the tracks' sequence headers (and ``metadata``)."""
        self.conn.publish(self.key)
        self.driver.flush()
        await self.events.wait_for(PublishStarted, self.timeout)
        if metadata:
            self.conn.send_metadata(metadata)
        self.conn.send_tracks(tracks)
        self.driver.flush()

    async def send_frame(self, frame: Frame) -> None:
        """Send one frame; waits while the socket's write buffer is over its high-water mark."""
        self.conn.send_frame(frame)
        self.driver.flush()
        await self.driver.drain()

    async def play(self) -> None:
        """Ask to play the URL's stream key; returns when the server answered."""
        self.conn.play(self.key)
        self.driver.flush()
        await self.events.wait_for(PlayStarted, self.timeout)

    async def media(self) -> AsyncIterator[Track | Frame]:
        """The tracks (as their sequence headers arrive) and frames of what is played, until the
        stream or the connection ends."""
        while True:
            event = await self.events.next()
            if event is None or isinstance(event, (ConnectionClosed, StreamClosed)):
                return
            if isinstance(event, TrackReceived):
                self.tracks[event.track.id] = event.track
                yield event.track
            elif isinstance(event, FrameReceived):
                yield event.frame
            elif isinstance(event, StatusReceived) and event.code in ("NetStream.Play.Stop",
                                                                       "NetStream.Play.UnpublishNotify"):
                return
            else:
                self.events.check(event)

    async def close(self) -> None:
        """Close the stream (``deleteStream``) and the connection."""
        try:
            self.conn.close_stream()
        except MediaProtoError:
            pass
        self.driver.close()
        await asyncio.wait_for(self.driver.wait_closed(), self.timeout)


async def connect(url: str, *, configuration: ClientConfiguration | None = None,
                  timeout: float = 10.0) -> RtmpClient:
    """Connect to ``rtmp://host[:port]/app/key`` (handshake and ``connect`` done when it returns)."""
    host, port, app, key, tc_url = split_url(url)
    loop = asyncio.get_running_loop()
    conn = ClientConnection(app, tc_url, configuration=configuration)
    events = _ClientEvents()
    driver = StreamDriver(conn, events, name="rtmp")
    events.driver = driver
    try:
        await asyncio.wait_for(loop.create_connection(lambda: driver, host, port), timeout)
        await events.wait_for(Connected, timeout)
    except BaseException:  # refused, timed out or cancelled: no socket left behind
        driver.close()
        raise
    return RtmpClient(driver, events, conn, key, timeout)


# -- serving --------------------------------------------------------------------------------------

class Publishing:
    """A publisher on :func:`serve_rtmp`: what ``on_publish`` gets."""

    def __init__(self, session: _ServerSession, event: PublishRequested) -> None:
        self.session = session
        self.app = event.app
        #: The stream key (without the query).
        self.name, _, self.query = event.publishing_name.partition("?")
        self.stream_id = event.stream_id
        self.tracks: dict[int, Track] = {}
        self.queue: asyncio.Queue[Track | Frame | None] = asyncio.Queue(maxsize=1000)

    async def media(self) -> AsyncIterator[Track | Frame]:
        """The publisher's tracks and frames, until it stops or leaves."""
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item


class Playing:
    """A player on :func:`serve_rtmp`: what ``on_play`` gets."""

    def __init__(self, session: _ServerSession, event: PlayRequested) -> None:
        self.session = session
        self.app = event.app
        self.name, _, self.query = event.stream_name.partition("?")
        self.stream_id = event.stream_id
        #: Set when the player closed its stream (``deleteStream``) or :meth:`end` was called.
        self.ended = False

    @property
    def closed(self) -> bool:
        """Whether the player is gone (its connection or its stream closed): stop sending."""
        return self.ended or self.session.driver.closed

    def _check(self) -> None:
        if self.closed:
            raise SessionError("the player left")

    async def send_tracks(self, tracks: Sequence[Track], metadata: dict[str, Any] | None = None) -> None:
        """Send the tracks' sequence headers (and ``metadata``), before the first frame;
        :class:`SessionError` once the player left."""
        self._check()
        if metadata:
            self.session.conn.send_metadata(self.stream_id, metadata)
        self.session.conn.send_tracks(self.stream_id, tracks)
        self.session.driver.flush()

    async def send_frame(self, frame: Frame) -> None:
        """Send one frame; waits while the player's socket buffer is full; :class:`SessionError`
        once the player left."""
        self._check()
        self.session.conn.send_frame(self.stream_id, frame)
        self.session.driver.flush()
        await self.session.driver.drain()

    async def end(self) -> None:
        """Tell the player the stream ended (``NetStream.Play.UnpublishNotify`` and StreamEOF)."""
        if not self.closed:
            self.session.conn.end_play(self.stream_id)
            self.session.driver.flush()
        self.ended = True


OnPublish = Callable[[Publishing], Awaitable[None]]
OnPlay = Callable[[Playing], Awaitable[None]]


class _ServerSession(CallbackTasks):
    """One connection on :func:`serve_rtmp`: accepts what has a callback, refuses the rest."""

    def __init__(self, on_publish: OnPublish | None, on_play: OnPlay | None,
                 configuration: ServerConfiguration | None) -> None:
        self.on_publish = on_publish
        self.on_play = on_play
        self.conn = ServerConnection(configuration or ServerConfiguration())
        self.driver = StreamDriver(self.conn, self, name="rtmp")
        self.publishing: dict[int, Publishing] = {}
        self.playing: dict[int, Playing] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def handle_event(self, event: Event) -> None:
        if isinstance(event, ConnectRequested):
            self.conn.accept_connect(event)
        elif isinstance(event, PublishRequested):
            if self.on_publish is None:
                self.conn.reject_publish(event, "Publishing is not allowed here.")
                return
            self.conn.accept_publish(event)
            publishing = self.publishing[event.stream_id] = Publishing(self, event)
            self._run(self.on_publish(publishing))
        elif isinstance(event, PlayRequested):
            if self.on_play is None:
                self.conn.reject_play(event, "Playing is not allowed here.")
                return
            self.conn.accept_play(event)
            playing = self.playing[event.stream_id] = Playing(self, event)
            self._run(self.on_play(playing))
        elif isinstance(event, (TrackReceived, FrameReceived)):
            pub = self.publishing.get(event.stream_id)
            if pub is not None:
                item: Track | Frame = event.track if isinstance(event, TrackReceived) else event.frame
                if isinstance(item, Track):
                    pub.tracks[item.id] = item
                try:
                    pub.queue.put_nowait(item)
                except asyncio.QueueFull:  # the application does not keep up: stop reading the socket
                    if self.driver.transport is not None:
                        self.driver.transport.pause_reading()
                    self._run(self._put_later(pub, item))
        elif isinstance(event, StreamClosed):
            ended = self.publishing.pop(event.stream_id, None)
            if ended is not None:
                self._end(ended)
            player = self.playing.pop(event.stream_id, None)
            if player is not None:
                player.ended = True

    async def _put_later(self, pub: Publishing, item: Track | Frame) -> None:
        await pub.queue.put(item)
        if self.driver.transport is not None and not self.driver.closed:
            self.driver.transport.resume_reading()

    def _end(self, pub: Publishing) -> None:
        try:
            pub.queue.put_nowait(None)
        except asyncio.QueueFull:
            self._run(pub.queue.put(None))

    def connection_lost(self, exc: Exception | None) -> None:
        for pub in self.publishing.values():
            self._end(pub)
        self.publishing.clear()
        for player in self.playing.values():
            player.ended = True
        self.playing.clear()


async def serve_rtmp(on_publish: OnPublish | None = None, on_play: OnPlay | None = None, *,
                     host: str = "127.0.0.1", port: int = 1935,
                     configuration: ServerConfiguration | None = None) -> asyncio.Server:
    """Listen for RTMP on ``host:port``; each accepted publish runs ``on_publish(Publishing)`` and
    each play ``on_play(Playing)`` as a task (a missing callback refuses that request). Returns the
    :class:`asyncio.Server` (close it to stop)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _ServerSession(on_publish, on_play, configuration).driver, host, port)
