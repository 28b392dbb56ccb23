"""RTSP in and out: players (TCP interleaved or UDP) read from the hub, publishers (ANNOUNCE and
RECORD) push into it.

RTP wants its own clocks (90 kHz video, the sample rate for audio) while an RTMP publisher's
frames count milliseconds: :class:`RtpView` converts a stream's tracks and frames once per stream,
not once per player. UDP uses one shared RTP/RTCP port pair; datagrams from clients are routed to
their session by (address, port).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import replace
from fractions import Fraction

from ..aio.driver import StreamDriver
from ..aio.rtsp import GOODBYE_DELAY
from ..aio.udp import Routes, UdpPair
from ..clock import rescale
from ..endpoint import Event
from ..errors import MediaProtoError
from ..media import Codec, Frame, Track
from ..rtsp import Limits as RtspLimits
from ..rtsp import (
    AnnounceRequested,
    DescribeRequested,
    PauseRequested,
    DigestAuthenticator,
    FrameReceived,
    PlayRequested,
    RecordRequested,
    ServerConfiguration,
    ServerConnection,
    SessionEnded,
    SetupCompleted,
)
from ..rtsp.streams import PreparedFrame, SharedSource, describe
from .auth import Action
from .config import Config, Limits
from .context import ServerContext
from .fanout import flusher_for
from .hub import Gate, Hub, Stream
from .rtspaccess import RtspAccess

log = logging.getLogger("mediaproto.server.rtsp")

#: The SSRCs and session ids of every session (the operating system's randomness; one instance
#: for all: each ``random.SystemRandom()`` would carry an unused 2.5 KB Mersenne Twister state).
_RNG = random.SystemRandom()


def rtp_clock(track: Track) -> int:
    """The RTP clock rate for a track's codec."""
    if track.codec.is_video:
        return 90000
    if track.codec is Codec.OPUS:
        return 48000
    return track.sample_rate or track.clock_rate


class RtpView:
    """A stream's tracks and frames in RTP clocks, converted once for all RTSP players."""

    def __init__(self, stream: Stream) -> None:
        source = stream.track_list
        self.tracks = tuple(replace(t, clock_rate=rtp_clock(t)) for t in source)
        self._rates = {t.id: (t.clock_rate, rtp_clock(t)) for t in source}
        self._frame: Frame | None = None
        self._converted: Frame | None = None

    def frame(self, frame: Frame) -> Frame:
        if frame is self._frame and self._converted is not None:
            return self._converted
        src, dst = self._rates.get(frame.track_id, (1, 1))
        converted = frame if src == dst else replace(frame, pts=rescale(frame.pts, src, dst), dts=rescale(frame.dts, src, dst))
        self._frame, self._converted = frame, converted
        return converted


def rtp_view(stream: Stream) -> RtpView:
    """The stream's :class:`RtpView`, kept in ``stream.cache`` (cleared when the tracks change)."""
    view: RtpView | None = stream.cache.get("rtp_view")
    if view is None:
        view = stream.cache["rtp_view"] = RtpView(stream)
    return view


class SharedMedia:
    """A stream's tracks as shared RTP streams (one :class:`~mediaproto.rtsp.streams.SharedSource`
    per track: one SSRC, one sequence, one timestamp base) for every RTSP session with this MTU,
    as gst-rtsp-server's shared media: each frame becomes packets once, and over TCP one
    ``bytes`` per interleaved channel, which every player appends. Kept in ``stream.cache``
    (cleared when the tracks change); the sources keep the frames of the GOP cache prepared (at
    most ``gop_frames`` each, forgotten at each video keyframe), so a late joiner's GOP replay
    carries the sequence numbers everyone got."""

    def __init__(self, stream: Stream, mtu: int) -> None:
        self.view = rtp_view(stream)
        _, media = describe(self.view.tracks)
        history = stream.limits.gop_frames
        self.sources = {m.track.id: SharedSource(m, _RNG.getrandbits(32), mtu=mtu, initial_sequence=_RNG.getrandbits(16),
                                                 history=history) for m in media}
        self._video = {t.id for t in self.view.tracks if t.codec.is_video}
        #: The latest frame prepared, and its packets (what every player asks for next).
        self.frame: Frame | None = None
        self.prepared: PreparedFrame | None = None

    def prepare(self, frame: Frame) -> PreparedFrame | None:
        """``frame`` (the hub's, in its own clock) prepared by its track's source."""
        if frame is self.frame:
            return self.prepared
        source = self.sources.get(frame.track_id)
        if source is None:
            prepared = None
        else:
            prepared = source.find(frame)
            if prepared is None:
                if frame.keyframe and frame.track_id in self._video:
                    for s in self.sources.values():  # a new GOP (the hub's cache restarts): what
                        s.forget()                   # came before is replayed no more
                prepared = source.prepare(self.view.frame(frame), key=frame)
        self.frame, self.prepared = frame, prepared
        return prepared

    def start_sequence(self, stream: Stream) -> dict[int, int]:
        """Per track, the sequence number of the first packet a new player gets: that of the
        track's first frame in the GOP cache (replayed to it), else the next one."""
        out: dict[int, int] = {}
        for frame in stream.gop:
            if frame.track_id not in out:
                prepared = self.prepare(frame)
                if prepared is not None:
                    out[frame.track_id] = prepared.first_sequence
        for tid, source in self.sources.items():
            out.setdefault(tid, source.sequence_number)
        return out


def shared_media(stream: Stream, mtu: int) -> SharedMedia:
    """The stream's :class:`SharedMedia` for ``mtu``, kept in ``stream.cache``."""
    key = f"rtsp_media_{mtu}"
    media: SharedMedia | None = stream.cache.get(key)
    if media is None:
        media = stream.cache[key] = SharedMedia(stream, mtu)
    return media


class RtspPlayer:
    """A hub output: one RTSP session that is playing."""

    def __init__(self, session: RtspSession, media: SharedMedia | None) -> None:
        self.session = session
        self.driver = driver = session.driver
        self.conn = session.conn
        self.clock = driver.loop.time
        self.gate = Gate(session.limits, driver.loop.time)
        self.high_water = self.gate.limits.high_water
        self.frames_sent = 0
        #: PAUSE stops the packets (the session stays); PLAY resumes at the next keyframe.
        self.paused = False
        #: Packets are queued on the connection and written once per loop turn (the loop's
        #: :class:`~mediaproto.server.fanout.TurnFlusher`); the write-buffer size after that write.
        self.marked = False
        self.buffered = 0
        self.flusher = flusher_for(session.driver.loop, session.limits.write_coalesce)
        #: The stream's shared RTP streams, when this session's tracks send them (else each frame
        #: goes through ``send_frame``: a session set up before the stream's tracks changed).
        self.media = media
        #: Every set-up track is interleaved (no datagrams to send), and writes made since PLAY.
        self.tcp = all(st.transport.interleaved is not None for st in session.conn.tracks)
        self.flushes = 0

    def on_tracks(self, stream: Stream) -> None:
        # RTSP cannot change tracks mid-session: a new publisher with other tracks ends the session.
        if self.session.described != rtp_view(stream).tracks:
            self.session.driver.close()

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        driver = self.driver
        if driver.closed or self.paused:
            return
        gate = self.gate
        if gate.waiting_keyframe or self.buffered > self.high_water:
            self.buffered = driver.write_buffer_size()
            verdict = gate.admit(stream, frame, self.buffered)
            if verdict is not Gate.SEND:
                if verdict is Gate.DROP:
                    stream.unsubscribe(self)
                    driver.close(abort=True)
                return
        media = self.media
        if media is not None:  # the frame's packets, made once for every player: an append
            prepared = media.prepared if frame is media.frame else media.prepare(frame)
            if prepared is not None:
                self.conn.send_prepared(prepared, self.clock())
        else:
            self.conn.send_frame(rtp_view(stream).frame(frame), self.clock())
        self.frames_sent += 1
        if not self.marked:
            self.marked = True
            self.flusher.mark(self)

    def flush_owed(self) -> None:
        """Write the packets queued this loop turn (one write, or the UDP datagrams). Over TCP the
        connection's timer (sender reports) is re-armed at the first write and every 64th: the
        timer re-arms itself when it fires, and media sent does not bring its deadline closer."""
        self.marked = False
        driver = self.driver
        flushes = self.flushes = self.flushes + 1
        if self.tcp and flushes > 1 and flushes % 64:
            driver.write(b"")  # what the connection queued, in one write
        else:
            driver.flush()
        self.buffered = buffered = driver.write_buffer_size()
        if buffered <= self.high_water:
            self.gate.slow_since = None

    def on_end(self, stream: Stream) -> None:
        # Tell the player at once that the publisher is gone: an RTCP BYE on every track (FFmpeg
        # and GStreamer stop reading when each track got one). The session stays valid until the
        # player's TEARDOWN (answered 200) or its timeout; it gets nothing more.
        session = self.session
        stream.unsubscribe(self)
        if session.player is not None and session.player[1] is self:
            session.player = None
        if session._routes:  # over UDP: after the last RTP (see mediaproto.aio.rtsp.GOODBYE_DELAY)
            session.driver.loop.call_later(GOODBYE_DELAY, session.say_goodbye)
        else:
            session.say_goodbye()


class RtspSession:
    """One RTSP connection (a player or a publisher): the handler of its driver."""

    def __init__(self, hub: Hub, udp: UdpPair, routes: Routes, *, authenticator: DigestAuthenticator | None = None,
                 passwords: dict[str, str] | None = None, token: str | None = None,
                 limits: Limits | None = None, context: ServerContext | None = None) -> None:
        self.hub = hub
        self.token = token
        self.udp = udp
        self.routes = routes
        self.limits = limits or hub.limits
        # Our RTCP carries Unix time in its NTP fields (players may show it; none relies on it).
        wallclock_offset = time.time() - asyncio.get_running_loop().time()
        self.conn = ServerConnection(ServerConfiguration(udp_ports=udp.ports, authenticator=authenticator,
                                                         passwords=passwords or {},
                                                         wallclock_offset=wallclock_offset,
                                                         limits=RtspLimits(max_head_bytes=self.limits.rtsp_max_head),
                                                         rng=_RNG))
        self.driver = _RtspDriver(self.conn, self, udp)
        self.access = RtspAccess(context or ServerContext(Config(token=token, limits=self.limits), hub),
                                 self.conn, self.driver)
        self.described: tuple[Track, ...] = ()
        self.player: tuple[Stream, RtspPlayer] | None = None
        self.publishing: Stream | None = None
        self._announced: tuple[Track, ...] = ()
        self._routes: list[tuple[str, int]] = []

    @property
    def peer(self) -> str:
        return self.driver.peer

    def say_goodbye(self) -> None:
        """The stream ended: an RTCP BYE on every track the player set up."""
        if not self.driver.closed:
            try:
                self.conn.send_goodbye(self.driver.loop.time(), b"end of stream")
            except MediaProtoError:
                pass  # the session ended meanwhile
            self.driver.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cleanup()
        self.access.closed("connection closed")

    def _cleanup(self) -> None:
        for route in self._routes:
            if self.routes.get(route) is self.driver:
                del self.routes[route]
        self._routes = []
        if self.player is not None:
            self.player[0].unsubscribe(self.player[1])
            self.player = None
        if self.publishing is not None:
            self.publishing.end()
            self.publishing = None

    # -- events -------------------------------------------------------------------------------
    def handle_event(self, event: Event) -> None:
        if isinstance(event, DescribeRequested):
            if not self.access.allow(event, Action.READ) or self.access.wait_for_source(event, self.handle_event):
                return
            stream = self.hub.streams.get(event.path)
            if stream is None or not stream.live or not stream.tracks:
                self.conn.reject(event, 404)
                return
            self.described = rtp_view(stream).tracks
            self.conn.accept_describe(event, self.described, sources=shared_media(stream, self.conn.mtu).sources)
        elif isinstance(event, PlayRequested):
            if not self.access.allow(event, Action.READ):
                return
            stream = self.hub.streams.get(event.path)
            if self.player is not None and self.player[1].paused and self.player[0] is stream:
                self.conn.accept_play(event)  # resume (RFC 2326 10.5) at the next keyframe
                self.player[1].paused = False
                self.player[1].gate.waiting_keyframe = stream.has_video
                return
            if stream is None or not stream.live or rtp_view(stream).tracks != self.described:
                self.conn.reject(event, 404)
                return
            media: SharedMedia | None = shared_media(stream, self.conn.mtu)
            assert media is not None
            if any(st.source is not media.sources.get(st.media.track.id) for st in self.conn.tracks):
                media = None  # set up with the sources of tracks that changed since: its own path
            self.conn.accept_play(event, start_pts=_start_pts(stream),
                                  start_sequence=media.start_sequence(stream) if media is not None else None)
            self.driver.flush()  # the PLAY response goes before the first packet
            player = RtspPlayer(self, media)
            self.player = (stream, player)
            self.access.opened("read", stream.name, lambda: player.gate.skipped)
            stream.subscribe(player)
        elif isinstance(event, PauseRequested):
            if self.player is not None:
                self.player[1].paused = True
        elif isinstance(event, AnnounceRequested):
            if not self.access.allow(event, Action.PUBLISH):
                return
            stream = self.hub.stream(event.path)
            if not stream.start(f"rtsp {self.peer}", self.driver.loop.time()):
                self.conn.reject(event, 403, "Stream Already Published")
                return
            self.publishing = stream
            self._announced = event.tracks
            self.conn.accept_announce(event)
        elif isinstance(event, RecordRequested):
            self.conn.accept_record(event)
            if self.publishing is not None:
                self.access.opened("publish", self.publishing.name)
                self.publishing.set_tracks(self._announced)
        elif isinstance(event, FrameReceived):
            # The connection put the publisher's tracks on one timeline (its sender reports align
            # them; the publisher's NTP clock is never compared with ours).
            if self.publishing is not None:
                self.publishing.push(event.frame, self.driver.loop.time())
        elif isinstance(event, SetupCompleted):
            if event.transport.client_port is not None:
                for port in event.transport.client_port:
                    route = (self.driver.host, port)
                    self.routes[route] = self.driver
                    self._routes.append(route)
        elif isinstance(event, SessionEnded):
            self._cleanup()
            self.access.closed(event.reason)
            if event.reason != "teardown":
                self.driver.close()

    def players(self) -> int:
        return 1 if self.player is not None else 0


class _RtspDriver(StreamDriver):
    """The stream driver of an RTSP session, whose RTP may come over the shared UDP pair: the
    datagrams that arrived before a request are handed over first (a TEARDOWN must not overtake
    the last RTP of a UDP publisher)."""

    def __init__(self, conn: ServerConnection, session: RtspSession, udp: UdpPair) -> None:
        super().__init__(conn, session, name="rtsp", datagram_sink=udp.send_datagram)
        self.session = session
        self.udp = udp

    def data_received(self, data: bytes) -> None:
        if self.session._routes:
            self.udp.drain()
        super().data_received(data)


def _start_pts(stream: Stream) -> dict[int, int]:
    """Where a new player starts, for PLAY's RTP-Info: the instant of the first frame it gets
    (the GOP cache's keyframe), in every track's RTP clock, so players line the tracks up from
    the first packet (and agree with our sender reports when those come)."""
    first = stream.gop[0] if stream.gop else None
    source = stream.tracks.get(first.track_id) if first is not None else None
    # Before the first frame: the stream's time 0. Any common instant is right, as the packets'
    # RTP timestamps are the frames' stream times plus each track's initial timestamp.
    seconds = Fraction(first.pts, source.clock_rate) if first is not None and source is not None else Fraction(0)
    return {t.id: round(seconds * t.clock_rate) for t in rtp_view(stream).tracks}
