"""RTSP over asyncio: pull a stream (a camera, a server) or record to a server, and serve RTSP.

Pull::

    client = await mediaproto.aio.rtsp.connect("rtsp://user:pass@camera/stream", transport="udp")
    print(client.tracks)                         # from DESCRIBE
    async for frame in client.frames():          # until the server ends the stream
        ...
    await client.close()                         # TEARDOWN

Record (publish)::

    client = await mediaproto.aio.rtsp.connect(url, mode="record", tracks=tracks)
    await client.send_frame(frame)

Serve: :func:`serve_rtsp` with ``describe`` (the tracks of a path, or ``None`` for 404),
``on_play`` (a coroutine that sends frames) and ``on_record`` (one that reads them).

The client runs :class:`mediaproto.rtsp.ClientConnection` through the one
:class:`~mediaproto.aio.driver.StreamDriver`; over UDP it binds one RTP/RTCP socket pair per track
(:mod:`mediaproto.aio.udp`), read dry whenever readable, and reorders packets in a jitter buffer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from ..endpoint import ConnectionClosed, Datagram, Event, FrameReceived
from ..errors import LocalProtocolError, MediaProtoError
from ..media import Frame, Track
from ..rtp.rtcp import Goodbye
from ..rtsp import (AnnounceRequested, ClientConfiguration, ClientConnection, DescribeCompleted,
                    DescribeRequested, PlayRequested, PlayStarted, RecordRequested, RecordStarted, Redirected,
                    RequestFailed, RtcpReceived, ServerConfiguration, ServerConnection, SessionEnded,
                    SetupCompleted)
from .driver import StreamDriver
from .session import CallbackTasks, EventQueue, SessionError
from .udp import Routes, UdpPair, open_udp_pair

__all__ = ["RtspClient", "connect", "serve_rtsp", "RtspPlaying", "RtspRecording", "SessionError"]

log = logging.getLogger("mediaproto.aio.rtsp")

#: Over UDP, how long a packet after a gap waits for the gap to fill.
JITTER_LATENCY = 0.2
#: Over UDP, seconds between the last packet and the RTCP BYE of :meth:`RtspPlaying.end`.
GOODBYE_DELAY = 0.3
#: RTCP packets a player or publisher keeps for the application (the oldest go first).
MAX_RTCP_KEPT = 100


class _ClientEvents(EventQueue):
    def check(self, event: Event) -> None:
        if isinstance(event, RequestFailed):
            raise SessionError(f"{event.method}: {event.response.status_code} {event.response.reason}")
        if isinstance(event, Redirected):
            raise SessionError(f"redirected to {event.url}")


class RtspClient:
    """One RTSP session (made by :func:`connect`): its tracks, then frames in or out."""

    def __init__(self, driver: StreamDriver, events: _ClientEvents, conn: ClientConnection,
                 pairs: list[UdpPair], timeout: float) -> None:
        self.driver = driver
        self.events = events
        self.conn = conn
        self.pairs = pairs
        self.timeout = timeout
        #: The session's tracks (DESCRIBE's when playing, the published ones when recording).
        self.tracks: tuple[Track, ...] = ()

    async def frames(self) -> AsyncIterator[Frame]:
        """The frames that arrive, until the server ends every track (RTCP BYE) or the
        connection closes."""
        ended: set[int] = set()
        loop = asyncio.get_running_loop()
        until: float | None = None  # after the last BYE: when the jitter buffer has let go
        while True:
            try:
                event = await self.events.next(None if until is None else max(0.0, until - loop.time()))
            except asyncio.TimeoutError:
                return
            if event is None or isinstance(event, ConnectionClosed):
                return
            if isinstance(event, FrameReceived):
                yield event.frame
            elif isinstance(event, RtcpReceived):
                if any(isinstance(p, Goodbye) for p in event.packets):
                    ended.add(event.track_id)
                    if self.tracks and ended >= {t.id for t in self.tracks} and until is None:
                        # RTCP is not held back: over UDP, the last frames may still wait in the
                        # jitter buffer (up to its latency), so read on until it released them.
                        latency = self.conn.jitter_latency
                        if latency is None:
                            return
                        until = loop.time() + latency + 0.05
            else:
                self.events.check(event)

    async def send_frame(self, frame: Frame) -> None:
        """Send one frame of a recording session (in the clock of its track, every track on one
        timeline); waits while the socket's buffer is full. The connection sends RTCP sender
        reports on RFC 3550's schedule by itself (the first right after the first frame)."""
        if self.driver.closed:
            raise SessionError("the connection closed")
        self.conn.send_frame(frame, self.driver.loop.time())
        self.driver.flush()
        await self.driver.drain()

    async def close(self) -> None:
        """TEARDOWN (answered or not within a second), then close the connection and sockets."""
        if not self.driver.closed and self.conn.session_id is not None:
            try:
                self.conn.teardown()
                self.driver.flush()
                await asyncio.wait_for(self.driver.wait_closed(), 1.0)
            except (MediaProtoError, asyncio.TimeoutError):
                pass
        self.driver.close()
        for pair in self.pairs:
            pair.close()


async def connect(url: str, *, mode: str = "play", tracks: Sequence[Track] = (), transport: str = "tcp",
                  configuration: ClientConfiguration | None = None, timeout: float = 10.0,
                  max_udp_tracks: int = 4) -> RtspClient:
    """Open an RTSP session on ``rtsp://[user:password@]host[:port]/path``: DESCRIBE, SETUP of every
    track and PLAY (``mode="play"``), or ANNOUNCE ``tracks``, SETUP and RECORD (``mode="record"``).
    Returns when the session plays or records; :class:`SessionError` when the server refuses."""
    parts = urlsplit(url)
    if parts.scheme != "rtsp" or not parts.hostname:
        raise LocalProtocolError(f"not an rtsp:// URL: {url!r}")
    host, port = parts.hostname, parts.port or 554
    loop = asyncio.get_running_loop()
    events = _ClientEvents()
    pairs: list[UdpPair] = []
    config = replace(configuration or ClientConfiguration(), transport=transport)
    if transport == "udp":
        local = "127.0.0.1" if host in ("127.0.0.1", "localhost") else "0.0.0.0"
        for _ in range(len(tracks) if mode == "record" else max_udp_tracks):
            pairs.append(await open_udp_pair(lambda _addr: driver, local))
        config = replace(config, udp_ports=[p.ports for p in pairs],
                         jitter_latency=JITTER_LATENCY if config.jitter_latency is None else config.jitter_latency)
    conn = ClientConnection(url, mode=mode, tracks=tracks, configuration=config)
    by_port = {port: pair for pair in pairs for port in pair.ports}

    def send_datagram(d: Datagram, peer: str) -> None:
        pair = by_port.get(d.source_port)
        if pair is not None:
            pair.send_datagram(d, peer)

    driver = StreamDriver(conn, events, name="rtsp", datagram_sink=send_datagram)
    events.driver = driver
    client = RtspClient(driver, events, conn, pairs, timeout)
    try:
        await asyncio.wait_for(loop.create_connection(lambda: driver, host, port), timeout)
        conn.start(loop.time())
        driver.flush()
        if mode == "play":
            described = await events.wait_for(DescribeCompleted, timeout)
            client.tracks = described.tracks
            await events.wait_for(PlayStarted, timeout)
        else:
            client.tracks = tuple(tracks)
            await events.wait_for(RecordStarted, timeout)
    except BaseException:
        driver.close()
        for pair in pairs:
            pair.close()
        raise
    return client


# -- serving --------------------------------------------------------------------------------------

class RtspPlaying:
    """A player on :func:`serve_rtsp`: what ``on_play`` gets.

    The frames sent must be in the clocks of :attr:`tracks` (90 kHz video, the sample rate for
    audio), all tracks on one timeline. The connection sends RTCP sender reports by itself (the
    first right after the first frame, then on RFC 3550's schedule), pairing its clock with the
    stream time, which they take to run in real time from the first frame sent: send live media in
    real time, and players line the tracks up.
    """

    def __init__(self, session: _ServerSession, path: str, tracks: tuple[Track, ...]) -> None:
        self.session = session
        self.path = path
        self.tracks = tracks
        #: Frames sent, per track id.
        self.frames_sent: Counter[int] = Counter()
        #: The last RTCP packets the player sent (receiver reports, SDES, BYE), oldest first.
        self.rtcp: deque[object] = deque(maxlen=MAX_RTCP_KEPT)

    @property
    def closed(self) -> bool:
        """Whether the player is gone (TEARDOWN, timeout, connection closed): stop sending."""
        return self.session.driver.closed or self.session.ended

    async def send_frame(self, frame: Frame) -> None:
        """Send one frame to the player (TCP interleaved or UDP, as it set up); waits while the
        socket's buffer is full; :class:`SessionError` once the player left."""
        if self.closed:
            raise SessionError("the player left")
        conn, driver = self.session.conn, self.session.driver
        conn.send_frame(frame, driver.loop.time())
        self.frames_sent[frame.track_id] += 1
        driver.flush()
        await driver.drain()

    async def end(self) -> None:
        """Tell the player the stream ended: an RTCP BYE on every track (FFmpeg and GStreamer
        stop reading when each track got one; the player then sends TEARDOWN).

        Over UDP the BYE goes :data:`GOODBYE_DELAY` seconds after the last packet: RTP and RTCP
        arrive on two sockets, and a player that reads the BYE first drops the RTP still queued
        on the other one (FFmpeg lost the last G.711 packet so)."""
        if self.session.my_routes and not self.closed:
            await asyncio.sleep(GOODBYE_DELAY)
        if not self.closed:
            self.session.conn.send_goodbye(self.session.driver.loop.time(), b"end of stream")
            self.session.driver.flush()


class RtspRecording:
    """A publisher on :func:`serve_rtsp`: what ``on_record`` gets.

    Frames come in the clocks of :attr:`tracks`, each track's timeline starting at its first
    packet. A consumer that falls behind pauses the TCP connection (a publisher over UDP loses
    frames instead, with a log line).
    """

    def __init__(self, session: _ServerSession, path: str, tracks: tuple[Track, ...]) -> None:
        self.session = session
        self.path = path
        self.tracks = tracks
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue(maxsize=1000)
        #: The last RTCP packets the publisher sent (sender reports, SDES, BYE), oldest first.
        self.rtcp: deque[object] = deque(maxlen=MAX_RTCP_KEPT)

    async def frames(self) -> AsyncIterator[Frame]:
        """The publisher's frames until it ends the session."""
        while True:
            frame = await self.queue.get()
            if frame is None:
                return
            yield frame


Describe = Callable[[str], "Sequence[Track] | None"]
OnPlay = Callable[[RtspPlaying], Awaitable[None]]
OnRecord = Callable[[RtspRecording], Awaitable[None]]


class _ServerSession(CallbackTasks):
    def __init__(self, describe: Describe | None, on_play: OnPlay | None, on_record: OnRecord | None,
                 configuration: ServerConfiguration, udp: UdpPair, routes: Routes) -> None:
        self.describe, self.on_play, self.on_record = describe, on_play, on_record
        self.conn = ServerConnection(configuration)
        self.driver = StreamDriver(self.conn, self, name="rtsp", datagram_sink=udp.send_datagram)
        self.routes = routes
        self.my_routes: list[tuple[str, int]] = []
        self.described: dict[str, tuple[Track, ...]] = {}
        self.recording: RtspRecording | None = None
        self.announced: tuple[str, tuple[Track, ...]] | None = None
        self.playing: RtspPlaying | None = None
        self.ended = False
        self.tasks: set[asyncio.Task[None]] = set()

    def handle_event(self, event: Event) -> None:
        conn = self.conn
        if isinstance(event, DescribeRequested):
            tracks = self.describe(event.path) if self.describe is not None else None
            if tracks is None:
                conn.reject(event, 404)
                return
            self.described[event.path] = tuple(tracks)
            conn.accept_describe(event, tracks)
        elif isinstance(event, PlayRequested):
            tracks_ = self.described.get(event.path)
            if self.on_play is None or tracks_ is None:
                conn.reject(event, 404 if tracks_ is None else 405)
                return
            # RTP-Info for stream time 0: the frames the application sends are on one timeline, so
            # players line the tracks up from the first packet (and agree with our sender reports)
            conn.accept_play(event, start_pts={t.id: 0 for t in tracks_})
            self.driver.flush()  # the PLAY response goes before the first packet
            if self.playing is None:  # a PLAY after PAUSE resumes the same player
                self.playing = RtspPlaying(self, event.path, tracks_)
                self._run(self.on_play(self.playing))
        elif isinstance(event, AnnounceRequested):
            if self.on_record is None:
                conn.reject(event, 405)
                return
            self.announced = (event.path, event.tracks)
            conn.accept_announce(event)
        elif isinstance(event, RecordRequested):
            conn.accept_record(event)
            if self.announced is not None and self.on_record is not None and self.recording is None:
                self.recording = RtspRecording(self, *self.announced)
                self._run(self.on_record(self.recording))
        elif isinstance(event, FrameReceived):
            if self.recording is not None:
                self._put(self.recording, event.frame)
        elif isinstance(event, RtcpReceived):
            for target in (self.playing, self.recording):
                if target is not None:
                    target.rtcp.extend(event.packets)
        elif isinstance(event, SetupCompleted):
            if event.transport.client_port is not None:
                for port in event.transport.client_port:
                    route = (self.driver.host, port)
                    self.routes[route] = self.driver
                    self.my_routes.append(route)
        elif isinstance(event, SessionEnded):
            self._end()

    def _put(self, recording: RtspRecording, frame: Frame) -> None:
        try:
            recording.queue.put_nowait(frame)
            return
        except asyncio.QueueFull:
            pass
        transport = self.driver.transport
        if self.my_routes or transport is None:  # media over UDP cannot be paused
            log.warning("rtsp %s: the application does not keep up: frame dropped", self.driver.peer)
            return
        transport.pause_reading()  # TCP: the publisher waits until the application caught up
        self._run(self._put_later(recording, frame))

    async def _put_later(self, recording: RtspRecording, frame: Frame) -> None:
        await recording.queue.put(frame)
        if self.driver.transport is not None and not self.driver.closed:
            self.driver.transport.resume_reading()

    def _end(self) -> None:
        self.ended = True
        for route in self.my_routes:
            if self.routes.get(route) is self.driver:
                del self.routes[route]
        self.my_routes = []
        if self.recording is not None:
            try:
                self.recording.queue.put_nowait(None)
            except asyncio.QueueFull:
                self._run(self.recording.queue.put(None))
            self.recording = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()


async def serve_rtsp(describe: Describe | None = None, on_play: OnPlay | None = None,
                     on_record: OnRecord | None = None, *, host: str = "127.0.0.1", port: int = 8554,
                     rtp_port: int = 0, configuration: ServerConfiguration | None = None,
                     ) -> tuple[asyncio.Server, UdpPair]:
    """Listen for RTSP on ``host:port`` (and RTP/RTCP over UDP on ``rtp_port`` and the next port;
    0: any free even port). DESCRIBE asks ``describe(path)`` for the tracks (``None``: 404); PLAY
    runs ``on_play(RtspPlaying)`` and RECORD ``on_record(RtspRecording)`` as tasks (a missing
    callback refuses that request). Returns the server and the UDP pair (close both to stop)."""
    loop = asyncio.get_running_loop()
    routes: Routes = {}
    udp = await open_udp_pair(routes.get, host, rtp_port)
    base = configuration or ServerConfiguration()

    def session() -> StreamDriver:
        config = replace(base, udp_ports=udp.ports)
        return _ServerSession(describe, on_play, on_record, config, udp, routes).driver

    server = await loop.create_server(session, host, port)
    return server, udp
