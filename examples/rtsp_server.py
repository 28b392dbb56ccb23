#!/usr/bin/env python3
"""A small live RTSP server on asyncio, built on :class:`mediaproto.rtsp.ServerConnection`.

    python3 examples/rtsp_server.py --port 8554 [--user alice --password secret]
    ffplay rtsp://127.0.0.1:8554/test                                   # the built-in test source
    ffmpeg -re -i in.flv -c copy -f rtsp rtsp://127.0.0.1:8554/live/pub # publish (TCP or UDP)
    ffplay rtsp://127.0.0.1:8554/live/pub                               # play what is published

The paths ``test`` and ``live/test`` serve :class:`mediaproto.testsrc.TestSource`, driven by the
event loop's clock. Any other path accepts one publisher (ANNOUNCE + RECORD) and any number of
players. Each path is a :class:`Stream`: its tracks, the frames since the last video keyframe (so a
late player starts at a keyframe) and its players; the publisher pushes frames into it and it
writes them to every player. A player whose socket buffer passes a high-water mark skips frames
until the next keyframe instead of growing memory.

Media over UDP use one shared RTP/RTCP socket pair (``--rtp-port``, RTCP on the next port);
datagrams are routed to the session by the client's (host, port). Publishers' timestamps are put
on one timeline with their RTCP sender reports, so players get audio and video in sync: PLAY
answers with each track's ``rtptime`` in RTP-Info, and sender reports follow every 5 s.

Each frame is packetized once per stream; every session sends those packets with its own SSRC,
sequence numbers and timestamp offset written into their headers
(:meth:`~mediaproto.rtsp.connection.RtspConnection.send_packetized`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mediaproto.errors import MediaProtoError  # noqa: E402
from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtp.rtcp import SenderReport  # noqa: E402
from mediaproto.rtsp import (  # noqa: E402
    AnnounceRequested,
    DescribeRequested,
    DigestAuthenticator,
    FrameReceived,
    PauseRequested,
    PlayRequested,
    RecordRequested,
    RtcpReceived,
    RtspEvent,
    ServerConnection,
    SessionEnded,
)
from mediaproto.rtsp.events import SetupCompleted  # noqa: E402
from mediaproto.rtsp.streams import describe, make_packetizer  # noqa: E402
from mediaproto.testsrc import TestSource  # noqa: E402

from live.timeline import TrackTimeline  # noqa: E402
from live.udp import UdpPair, open_udp_pair  # noqa: E402

log = logging.getLogger("rtsp_server")

HIGH_WATER = 4 * 1024 * 1024
SENDER_REPORT_INTERVAL = 5.0
TEST_PATHS = ("test", "live/test")
Route = tuple[str, int]


@dataclass
class Player:
    """A session playing a stream, and what it was sent (tests read the counts)."""

    session: "RtspSession"
    waiting_keyframe: bool = False
    frames_sent: dict[int, int] = field(default_factory=dict)
    start_seconds: float | None = None
    stopped: bool = False


class Stream:
    """One path: its tracks, the GOP cache and the players.

    Frame timestamps are in each track's clock rate on one timeline whose zero is the wall-clock
    time ``epoch`` (Unix seconds): a frame at ``pts`` happened at ``epoch + pts / clock_rate``.
    """

    def __init__(self, hub: "Hub", path: str, tracks: tuple[Track, ...], epoch: float) -> None:
        self.hub = hub
        self.path = path
        self.tracks = tracks
        self.rates = {t.id: t.clock_rate for t in tracks}
        self.has_video = any(t.codec.is_video for t in tracks)
        self.epoch = epoch
        self.gop: list[tuple[Frame, list[bytes]]] = []
        self.players: list[Player] = []
        self.publisher: RtspSession | None = None
        # Packetized once per stream, not once per player: every session sends these bytes with
        # its own SSRC, sequence numbers and timestamp offset (ServerConnection.send_packetized).
        _, media = describe(tracks)
        self.packetizers = {m.track.id: make_packetizer(m, 0) for m in media}

    def seconds(self, frame: Frame) -> float:
        return frame.pts / self.rates.get(frame.track_id, 90000)

    def is_video_keyframe(self, frame: Frame) -> bool:
        return frame.keyframe and frame.track_id in self.rates and any(
            t.id == frame.track_id and t.codec.is_video for t in self.tracks)

    def push(self, frame: Frame) -> None:
        """A new frame from the source: cache it and write it to every player."""
        for cb in self.hub.on_push:
            cb(self.path, frame)
        packetizer = self.packetizers.get(frame.track_id)
        packets = [bytes(p) for p in packetizer.packetize(frame)] if packetizer is not None else []
        if self.has_video:
            if self.is_video_keyframe(frame):
                at = self.seconds(frame)
                self.gop = [g for g in self.gop if self.seconds(g[0]) >= at]  # keep audio from the same instant
            if self.gop or self.is_video_keyframe(frame):
                self.gop.append((frame, packets))
            if len(self.gop) > 3000:  # no keyframe for a long time: stay bounded
                self.gop.clear()
        for player in list(self.players):
            self.send(player, frame, packets)

    def send(self, player: Player, frame: Frame, packets: list[bytes]) -> None:
        if player.stopped:
            return
        session = player.session
        if session.write_buffer_size() > HIGH_WATER:
            player.waiting_keyframe = True
            return
        if player.waiting_keyframe:
            if self.has_video and not self.is_video_keyframe(frame):
                return
            player.waiting_keyframe = False
        if player.start_seconds is None:
            player.start_seconds = self.seconds(frame)
        limit = self.hub.play_seconds
        if limit is not None and self.seconds(frame) - player.start_seconds >= limit:
            player.stopped = True
            session.finish_play_soon()
            return
        try:
            session.conn.send_packetized(frame.track_id, packets)
        except MediaProtoError as exc:
            log.warning("%s: dropping a player: %s", self.path, exc)
            self.remove(session)
            return
        player.frames_sent[frame.track_id] = player.frames_sent.get(frame.track_id, 0) + 1
        session.flush()

    def start_pts(self) -> dict[int, int]:
        """Where a new player starts, per track: the cached keyframe's time, else now."""
        at = self.seconds(self.gop[0][0]) if self.gop else time.time() - self.epoch
        return {tid: round(at * rate) for tid, rate in self.rates.items()}

    def add(self, session: "RtspSession") -> Player:
        player = Player(session)
        self.players.append(player)
        for frame, packets in list(self.gop):
            self.send(player, frame, packets)
        return player

    def remove(self, session: "RtspSession") -> None:
        self.players = [p for p in self.players if p.session is not session]

    def now_pts(self) -> dict[int, int]:
        """The stream time of this instant, per track (for sender reports)."""
        at = time.time() - self.epoch
        return {tid: round(at * rate) for tid, rate in self.rates.items()}


class Hub:
    """The streams by path, the UDP routes, the settings; plus observers for tests."""

    def __init__(self, *, authenticator: DigestAuthenticator | None = None, passwords: dict[str, str] | None = None,
                 session_timeout: int = 60, play_seconds: float | None = None, jitter_latency: float = 0.1) -> None:
        self.streams: dict[str, Stream] = {}
        self.routes: dict[Route, RtspSession] = {}
        self.udp: UdpPair | None = None
        self.authenticator = authenticator
        self.passwords = passwords or {}
        self.session_timeout = session_timeout
        #: Seconds a publisher's UDP packets wait in a reordering buffer for a gap to fill.
        self.jitter_latency = jitter_latency
        #: Stop each player after this many seconds of media and send it RTCP BYE (for tests).
        self.play_seconds = play_seconds
        #: Called with (path, frame as received from the publisher, in its RTP clock).
        self.on_frame: list[Callable[[str, Frame], None]] = []
        #: Called with (path, frame on the stream's timeline) for every frame a stream gets.
        self.on_push: list[Callable[[str, Frame], None]] = []
        #: Called with (path, player) when a player's session ends.
        self.on_player_end: list[Callable[[str, Player], None]] = []
        #: Called with (path,) when a publisher's session ends.
        self.on_unpublish: list[Callable[[str], None]] = []
        #: Called with (path, track id, parsed RTCP packets) for the RTCP any session sends us.
        self.on_rtcp: list[Callable[[str, int, tuple[object, ...]], None]] = []


class TestSourceStream:
    """The built-in test source, pushing frames as the event loop's clock advances."""

    def __init__(self, hub: Hub, source: TestSource) -> None:
        loop = asyncio.get_running_loop()
        self.source = source
        self.start = loop.time()
        self.stream = Stream(hub, TEST_PATHS[0], source.tracks, time.time())
        for path in TEST_PATHS:
            hub.streams[path] = self.stream
        self.task = loop.create_task(self.run())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for frame in self.source.frames_until(loop.time() - self.start):
                self.stream.push(frame)
            await asyncio.sleep(0.01)


class RtspSession(asyncio.Protocol):
    """One TCP connection: bytes in, events out, bytes back."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        udp_ports = hub.udp.ports if hub.udp is not None else None
        self.conn = ServerConnection(authenticator=hub.authenticator, passwords=hub.passwords, udp_ports=udp_ports,
                                     session_timeout=hub.session_timeout, jitter_latency=hub.jitter_latency)
        self.transport: asyncio.Transport | None = None
        self.host = "127.0.0.1"
        self.loop = asyncio.get_running_loop()
        self.publishing: Stream | None = None
        self.timelines: dict[int, TrackTimeline] = {}
        self.playing: tuple[Stream, Player] | None = None
        self.routes: list[Route] = []
        self._timer: asyncio.TimerHandle | None = None
        self._reports: asyncio.TimerHandle | None = None

    # -- transport ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.host = peer[0]
        log.info("connection from %s", peer)

    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport else 0

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
        udp = self.hub.udp
        for d in self.conn.datagrams_to_send():
            if udp is not None:
                udp.send(d.source_port, d.data, (self.host, d.destination_port))
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.conn.next_timer()
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            events = self.conn.handle_timer(self.loop.time())
        except MediaProtoError:
            return
        self.handle_all(events)

    def data_received(self, data: bytes) -> None:
        if self.routes and self.hub.udp is not None:
            self.hub.udp.drain()  # media that came before this request go first (TEARDOWN!)
        try:
            events = self.conn.receive_data(data, self.loop.time())
        except MediaProtoError as exc:
            log.warning("closing %s: %s", self.host, exc)
            self.flush()
            if self.transport is not None:
                self.transport.close()
            return
        self.handle_all(events)

    def datagram_received(self, data: bytes, source_port: int, destination_port: int) -> None:
        try:
            events = self.conn.receive_datagram(data, source_port, destination_port, self.loop.time())
        except MediaProtoError:
            return
        self.handle_all(events)

    def connection_lost(self, exc: Exception | None) -> None:
        log.info("connection from %s closed", self.host)
        if self._timer is not None:
            self._timer.cancel()
        try:
            events = self.conn.receive_data(b"", self.loop.time())
        except MediaProtoError:
            events = []
        for event in events:
            self.handle(event)
        self._leave()

    # -- events -------------------------------------------------------------------------------
    def handle_all(self, events: list[RtspEvent]) -> None:
        for event in events:
            self.handle(event)
        self.flush()

    def handle(self, event: RtspEvent) -> None:
        hub = self.hub
        if isinstance(event, FrameReceived):
            stream = self.publishing
            if stream is not None and stream.publisher is self:
                for cb in hub.on_frame:
                    cb(stream.path, event.frame)
                f = event.frame
                stream.push(self.timelines[f.track_id].frame(f, stream.epoch))
        elif isinstance(event, RtcpReceived):
            for cbr in hub.on_rtcp:
                cbr(self.conn.path or "", event.track_id, event.packets)
            known = self.timelines.get(event.track_id)
            for packet in event.packets:
                if isinstance(packet, SenderReport) and known is not None:
                    known.add_report(packet)
        elif isinstance(event, DescribeRequested):
            stream = hub.streams.get(event.path)
            if stream is None or (stream.publisher is None and event.path not in TEST_PATHS):
                log.info("DESCRIBE %s: not found", event.path)
                self.conn.reject(event, 404)
            else:
                self.conn.accept_describe(event, stream.tracks)
        elif isinstance(event, AnnounceRequested):
            if event.path in TEST_PATHS or event.path in hub.streams or self.publishing is not None:
                log.info("ANNOUNCE %s: refused, the path is taken", event.path)
                self.conn.reject(event, 403)
                return
            stream = Stream(hub, event.path, event.tracks, time.time())
            stream.publisher = self
            hub.streams[event.path] = stream
            self.publishing = stream
            self.timelines = {t.id: TrackTimeline(t.clock_rate) for t in event.tracks}
            log.info("ANNOUNCE %s: %s", event.path, ", ".join(t.codec.name for t in event.tracks))
            self.conn.accept_announce(event)
        elif isinstance(event, SetupCompleted):
            port = event.transport.client_port
            if port is not None:
                for p in port:
                    hub.routes[(self.host, p)] = self
                    self.routes.append((self.host, p))
        elif isinstance(event, RecordRequested):
            if self.publishing is None or self.publishing.path != event.path:
                self.conn.reject(event, 455)
                return
            log.info("RECORD %s", event.path)
            self.conn.accept_record(event)
        elif isinstance(event, PlayRequested):
            stream = hub.streams.get(event.path)
            if stream is None:
                self.conn.reject(event, 404)
                return
            self.conn.accept_play(event, start_pts=stream.start_pts())
            self.flush()
            if self.playing is None:
                log.info("PLAY %s", event.path)
                self.playing = (stream, stream.add(self))
                self._schedule_reports()
        elif isinstance(event, PauseRequested):
            self._stop_playing()
        elif isinstance(event, SessionEnded):
            log.info("session on %s ended (%s)", event.path, event.reason)
            self._leave()
            if event.reason == "timeout" and self.transport is not None:
                self.transport.close()

    # -- play ---------------------------------------------------------------------------------
    def _schedule_reports(self) -> None:
        self._reports = self.loop.call_later(0.5, self._send_reports)

    def _send_reports(self) -> None:
        self._reports = None
        if self.playing is None:
            return
        stream, player = self.playing
        if not player.stopped:
            try:
                self.conn.send_sender_reports(time.time(), stream.now_pts())
            except MediaProtoError:
                return
            self.flush()
        self._reports = self.loop.call_later(SENDER_REPORT_INTERVAL, self._send_reports)

    def finish_play_soon(self) -> None:
        """The player had its ``play_seconds``: RTCP BYE on every track a little later (after
        the last packets are read), which ends FFmpeg's input cleanly."""
        def bye() -> None:
            try:
                self.conn.send_goodbye(b"end of stream")
            except MediaProtoError:
                return
            self.flush()
        self.loop.call_later(0.3, bye)

    def _stop_playing(self) -> None:
        if self.playing is None:
            return
        stream, player = self.playing
        stream.remove(self)
        self.playing = None
        if self._reports is not None:
            self._reports.cancel()
            self._reports = None
        for cb in self.hub.on_player_end:
            cb(stream.path, player)

    def _leave(self) -> None:
        """The session ended: stop playing, stop publishing, forget the UDP routes."""
        self._stop_playing()
        stream = self.publishing
        if stream is not None and stream.publisher is self:
            self.publishing = None
            stream.publisher = None
            self.hub.streams.pop(stream.path, None)
            for player in list(stream.players):
                player.session.finish_play_soon()
                player.stopped = True
            for cb in self.hub.on_unpublish:
                cb(stream.path)
        for route in self.routes:
            if self.hub.routes.get(route) is self:
                del self.hub.routes[route]
        self.routes.clear()


class RtspServer:
    """The listening server: TCP for RTSP, the UDP pair, the test source."""

    def __init__(self, hub: Hub, server: asyncio.Server, udp: UdpPair, test_source: TestSourceStream) -> None:
        self.hub, self.server, self.udp, self.test_source = hub, server, udp, test_source

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        self.server.close()
        self.udp.close()
        self.test_source.task.cancel()


async def serve(hub: Hub, host: str = "127.0.0.1", port: int = 8554, rtp_port: int = 8000,
                source: TestSource | None = None) -> RtspServer:
    """Start listening (``port`` 0: any free port; ``rtp_port`` 0: any free pair)."""
    loop = asyncio.get_running_loop()
    hub.udp = await open_udp_pair(hub.routes, host, rtp_port)  # type: ignore[arg-type]
    server = await loop.create_server(lambda: RtspSession(hub), host, port)
    test_source = TestSourceStream(hub, source or TestSource())
    return RtspServer(hub, server, hub.udp, test_source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8554, help="RTSP port (default 8554)")
    parser.add_argument("--rtp-port", type=int, default=8000, help="UDP RTP port; RTCP is the next (default 8000)")
    parser.add_argument("--user", help="require Digest authentication with this user name")
    parser.add_argument("--password", default="", help="the user's password")
    parser.add_argument("--session-timeout", type=int, default=60, help="seconds (default 60)")
    parser.add_argument("--size", default="320x240", help="test source WIDTHxHEIGHT (default 320x240)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    authenticator = DigestAuthenticator("mediaproto", secrets.token_bytes(16)) if args.user else None
    hub = Hub(authenticator=authenticator, passwords={args.user: args.password} if args.user else None,
              session_timeout=args.session_timeout)
    width, height = (int(v) for v in args.size.lower().split("x"))

    async def run() -> None:
        srv = await serve(hub, args.host, args.port, args.rtp_port, TestSource(width, height))
        log.info("listening on rtsp://%s:%d/ (test source at /test), RTP/RTCP on UDP %d-%d",
                 args.host, srv.port, *srv.udp.ports)
        try:
            async with srv.server:
                await srv.server.serve_forever()
        finally:
            srv.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
