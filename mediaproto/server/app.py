"""The live server: RTMP and RTSP in; HLS, RTSP and RTMP out, through one hub of streams.

:class:`LiveServer` binds the listeners of a :class:`~mediaproto.server.config.Config`, runs every
connection through :class:`mediaproto.aio.driver.StreamDriver` and the shared UDP pair of
:mod:`mediaproto.aio.udp`, and attaches an HLS output to every stream. ``mediaproto-server``
(:mod:`mediaproto.server.cli`) runs one from the command line; a program can embed one::

    server = LiveServer(Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0))
    await server.start()      # server.ports: the ports taken
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Awaitable, TypeVar

from ..aio.driver import StreamDriver
from ..aio.udp import Routes, UdpPair, open_udp_pair
from ..rtsp import DigestAuthenticator
from .api import Api, TrackMeter
from .auth import Authorizer
from .config import Config
from .context import ServerContext
from .guard import ConnectionGuard, Probe, guarded
from .hls import HlsOutput
from .http import HttpServer, index_page
from .httpfast import FastHttpProtocol
from .hub import Hub, Stream
from .record import Recorder
from .rtmp import RtmpSession
from .rtsp import RtspSession
from .sessions import Sessions
from .sources import SourceManager
from .testsource import publish_test_source

__all__ = ["LiveServer", "ListenError", "BACKLOG"]

log = logging.getLogger("mediaproto.server")
T = TypeVar("T")

#: Listen backlog: hundreds of players may connect at once (asyncio's default, 100, makes the
#: kernel drop the SYNs past it, and those clients retry only a second or more later).
BACKLOG = 1024


class ListenError(OSError):
    """A listener could not be bound: ``what`` (``rtmp``, ``rtsp``, ``http``, ``rtp``) on ``port``."""

    def __init__(self, what: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.what = what
        self.port = port


async def _bind(what: str, port: int, coro: Awaitable[T]) -> T:
    try:
        return await coro
    except OSError as exc:
        raise ListenError(what, port, exc) from exc


def _rtmp_ready(driver: StreamDriver) -> bool:
    return isinstance(driver.handler, RtmpSession) and driver.handler.handshake_done


def _rtsp_ready(driver: StreamDriver) -> bool:
    # every request is answered, or waits for the application's answer
    return driver.bytes_sent > 0 or getattr(driver.endpoint, "pending", None) is not None


def _rtsp_progress(driver: StreamDriver) -> tuple[int, int]:
    buffered: int = getattr(driver.endpoint, "buffered", 0)
    return driver.bytes_received - buffered, buffered


_RTMP_PROBE: Probe[StreamDriver] = Probe(_rtmp_ready)
_RTSP_PROBE: Probe[StreamDriver] = Probe(_rtsp_ready, _rtsp_progress)


@dataclass
class LiveServer:
    """The running server: the hub, the listeners, and the HLS outputs."""

    config: Config = field(default_factory=Config)
    hub: Hub = field(init=False)
    hls: dict[str, HlsOutput] = field(default_factory=dict)
    udp: UdpPair | None = None
    routes: Routes = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    _servers: list[asyncio.AbstractServer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    http: HttpServer | None = None
    context: ServerContext = field(init=False)
    sources: SourceManager = field(init=False)
    #: The bitrate meter and the recorder of each stream (recorders only for recorded paths).
    meters: dict[str, TrackMeter] = field(default_factory=dict)
    recorders: dict[str, Recorder] = field(default_factory=dict)
    api: Api = field(init=False)
    #: The connection limits of the three TCP ports (see :mod:`mediaproto.server.guard`).
    guard: ConnectionGuard = field(init=False)

    def __post_init__(self) -> None:
        self.hub = Hub(self.config.limits)
        self.context = ServerContext(self.config, self.hub,
                                     Authorizer(log_interval=self.config.auth_log_interval), Sessions())
        self.guard = self.context.guard = ConnectionGuard(
            self.config.limits, time.monotonic, interval=self.config.auth_log_interval,
            counts=self.context.auth.refusals.counts)
        self.sources = SourceManager(self.context)
        self.context.demand = self.sources.demand
        self.api = Api(self.context, self.meters)

    async def start(self) -> None:
        """Bind every listener (an ``OSError`` names the port that could not be bound)."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        self.context.clock = self.context.sessions.clock = self.guard.clock = loop.time
        self.hub.on_stream.append(self._attach_hls)
        self.hub.on_release.append(self._detach_hls)
        authenticator = None
        passwords: dict[str, str] = {}
        if cfg.rtsp_user is not None:
            authenticator = DigestAuthenticator("mediaproto", secrets.token_bytes(16))
            passwords = {cfg.rtsp_user: cfg.rtsp_password or ""}
        self.udp = udp = await _bind("rtp", cfg.rtp_port,
                                     open_udp_pair(self.routes.get, cfg.host, cfg.rtp_port,
                                                   (cfg.rtcp_port or None) if cfg.rtp_port else None))
        guard = self.guard
        rtmp = await _bind("rtmp", cfg.rtmp_port, loop.create_server(guarded(
            guard, "rtmp", lambda: RtmpSession(self.hub, context=self.context).driver, _RTMP_PROBE),
            cfg.host, cfg.rtmp_port, backlog=BACKLOG))
        self._servers.append(rtmp)
        rtsp = await _bind("rtsp", cfg.rtsp_port, loop.create_server(guarded(
            guard, "rtsp", lambda: RtspSession(self.hub, udp, self.routes, authenticator=authenticator,
                                               passwords=passwords, context=self.context).driver, _RTSP_PROBE),
            cfg.host, cfg.rtsp_port, backlog=BACKLOG))
        self._servers.append(rtsp)
        self.http = http_server = HttpServer(
            self.hls, self.stats, lambda host: index_page(self.stats()["streams"], cfg.host, self.ports),  # type: ignore[arg-type]
            cfg.limits, context=self.context, api=self.api)

        def http_protocol() -> asyncio.StreamReaderProtocol:  # what asyncio.start_server builds, and
            reader = asyncio.StreamReader(limit=cfg.limits.http_max_head, loop=loop)  # the HLS fast path
            return FastHttpProtocol(http_server, reader, loop)

        # HTTP applies its request timeouts itself (mediaproto.server.http): no probe
        http = await _bind("http", cfg.http_port, loop.create_server(
            guarded(guard, "http", http_protocol), cfg.host, cfg.http_port, backlog=BACKLOG))
        self._servers.append(http)
        self.ports = {
            "rtmp": rtmp.sockets[0].getsockname()[1],
            "rtsp": rtsp.sockets[0].getsockname()[1],
            "http": http.sockets[0].getsockname()[1],
            "rtp": udp.ports[0],
            "rtcp": udp.ports[1],
        }
        if cfg.test_source:
            self._tasks.append(asyncio.create_task(publish_test_source(
                self.hub, "live/test", width=cfg.test_size[0], height=cfg.test_size[1], start_time=time.time() % 86400)))
        self.sources.start()
        self._tasks.append(asyncio.create_task(self._sweep()))
        log.info("RTMP  rtmp://%s:%d/live/<name>", cfg.host, self.ports["rtmp"])
        log.info("RTSP  rtsp://%s:%d/live/<name>", cfg.host, self.ports["rtsp"])
        log.info("HTTP  http://%s:%d/  (HLS: /live/<name>/index.m3u8)", cfg.host, self.ports["http"])

    async def _sweep(self) -> None:
        """End the HLS sessions gone idle, every second."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            if self.http is not None:
                self.http.sweep(loop.time())
            self.guard.flush()

    def _detach_hls(self, stream: Stream) -> None:
        self.hls.pop(stream.name, None)
        self.meters.pop(stream.name, None)
        recorder = self.recorders.pop(stream.name, None)
        if recorder is not None:
            recorder.on_end(stream)

    def _attach_hls(self, stream: Stream) -> None:
        cfg = self.config
        output = HlsOutput(stream, target_duration=cfg.hls_segment, window=cfg.hls_window,
                           part_target=cfg.part_target if cfg.ll_hls else None)
        self.hls[stream.name] = output
        stream.subscribe(output)
        meter = self.meters[stream.name] = TrackMeter(asyncio.get_running_loop().time)
        stream.subscribe(meter)
        settings = cfg.path(stream.name)
        if settings is not None and settings.record:
            recorder = self.recorders[stream.name] = Recorder(stream, settings)
            stream.subscribe(recorder)

    def stats(self) -> dict[str, object]:
        """``/api/streams``: the live streams (HLS readers counted per stream)."""
        return self.api.streams(self.ports)

    async def stop(self) -> None:
        """Stop the test source and the pulled sources, close every listener and the UDP pair,
        and finish the recordings."""
        await self.sources.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in self._servers:
            server.close()
        if self.udp is not None:
            self.udp.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        for name, recorder in list(self.recorders.items()):
            recorder.on_end(recorder.stream)
        if self.http is not None:
            await self.http.close_connections()
            self.http.close_all()
