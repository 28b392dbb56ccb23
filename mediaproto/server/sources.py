"""Pulled sources: a path whose media the server fetches from an ``rtsp://`` URL (a camera, over
TCP or UDP, with Basic or Digest credentials in the URL) or an ``rtmp://`` URL, with the clients of
:mod:`mediaproto.aio`.

A source runs always (from the start of the server) or on demand (``source_on_demand``: started
when a reader asks for the path, stopped ``source_on_demand_close_after`` seconds after the last
reader left). When the source fails or ends it is tried again after ``source_retry`` seconds,
doubling up to ``source_retry_max`` while it keeps failing; players that reconnect then play again.
Each connection of a source is a session (role ``publish``) in the log, the metrics and the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

from ..aio import rtmp as aio_rtmp
from ..aio import rtsp as aio_rtsp
from ..errors import MediaProtoError
from ..media import Frame, Track
from .config import PathConfig
from .context import ServerContext
from .hub import Stream

__all__ = ["SourceManager", "PulledSource", "redact", "SILENCE_TIMEOUT"]

log = logging.getLogger("mediaproto.server.sources")

#: A source that sends nothing this long is dropped and pulled again.
SILENCE_TIMEOUT = 10.0
#: How often on-demand sources check whether someone still reads them.
DEMAND_CHECK = 1.0


def redact(url: str) -> str:
    """``url`` without its password (for log lines and the API)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def _timed(items: AsyncIterator[Track | Frame], timeout: float) -> AsyncIterator[Track | Frame]:
    while True:
        try:
            item = await asyncio.wait_for(items.__anext__(), timeout)
        except StopAsyncIteration:
            return
        yield item


class PulledSource:
    """One path pulled from a URL, again and again until stopped."""

    def __init__(self, context: ServerContext, name: str, settings: PathConfig) -> None:
        self.context = context
        self.name = name
        self.settings = settings
        self.url = settings.source
        self.task: asyncio.Task[None] | None = None
        self.last_demand = context.clock()
        self.connected = False
        self._client_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None

    async def _run(self) -> None:
        delay = self.settings.source_retry
        while True:
            started = time.monotonic()
            got_media = False
            try:
                got_media = await self._once()
                log.info("%s: source %s ended", self.name, redact(self.url))
            except asyncio.CancelledError:
                raise
            except (MediaProtoError, OSError, asyncio.TimeoutError, EOFError) as exc:
                log.warning("%s: source %s: %s", self.name, redact(self.url), exc or type(exc).__name__)
            if got_media and time.monotonic() - started > self.settings.source_retry:
                delay = self.settings.source_retry
            log.info("%s: pulling %s again in %.0f s", self.name, redact(self.url), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.source_retry_max)

    async def _once(self) -> bool:
        """One connection to the source; True when media came."""
        stream = self.context.hub.stream(self.name)
        scheme = urlsplit(self.url).scheme
        if scheme == "rtsp":
            client = await aio_rtsp.connect(self.url, transport=self.settings.source_transport, timeout=10.0)
            closer, driver = client.close, client.driver
        else:
            rtmp_client = await aio_rtmp.connect(self.url, timeout=10.0)
            try:
                await rtmp_client.play()
            except BaseException:
                await rtmp_client.close()
                raise
            closer, driver = rtmp_client.close, rtmp_client.driver
        loop = asyncio.get_running_loop()
        if not stream.start(f"source {redact(self.url)}", loop.time()):
            await closer()
            raise MediaProtoError(f"{self.name} is already published")
        session = self.context.sessions.open(
            scheme, "publish", self.name, redact(self.url),
            counters=lambda: (driver.bytes_received, driver.bytes_sent, 0),
            closer=lambda: driver.close(abort=True))  # a kick: the source reconnects
        got = False
        try:
            if scheme == "rtsp":
                got = await self._pump_rtsp(client, stream)
            else:
                got = await self._pump_rtmp(rtmp_client, stream)
        finally:
            stream.end()
            self.context.sessions.close(session, "source ended")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(closer(), 2.0)
        return got

    async def _pump_rtsp(self, client: aio_rtsp.RtspClient, stream: Stream) -> bool:
        loop = asyncio.get_running_loop()
        stream.set_tracks(client.tracks)
        got = False
        # The RTSP client puts the source's tracks on one timeline (RTP-Info and sender reports).
        async for frame in _timed(client.frames(), SILENCE_TIMEOUT):
            assert isinstance(frame, Frame)
            stream.push(frame, loop.time())
            got = True
        return got

    async def _pump_rtmp(self, client: aio_rtmp.RtmpClient, stream: Stream) -> bool:
        loop = asyncio.get_running_loop()
        got = False
        async for item in _timed(client.media(), SILENCE_TIMEOUT):
            if isinstance(item, Track):
                stream.set_track(item)
            else:
                stream.push(item, loop.time())
                got = True
        return got


class SourceManager:
    """Starts the sources of the configured paths (always, or on demand) and stops them."""

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self.sources: dict[str, PulledSource] = {}
        self._watch: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the always-on sources (paths named exactly) and the on-demand watcher."""
        for name, settings in self.context.config.paths.items():
            if settings.pulled and not settings.source_on_demand and not name.startswith("~") \
                    and name not in ("all", "all_others"):
                self._source(name, settings).start()
        self._watch = asyncio.ensure_future(self._watch_demand())

    def _source(self, name: str, settings: PathConfig) -> PulledSource:
        source = self.sources.get(name)
        if source is None:
            source = self.sources[name] = PulledSource(self.context, name, settings)
        return source

    def demand(self, path: str) -> None:
        """A reader asks for ``path``: start its on-demand source."""
        settings = self.context.path(path)
        if settings is None or not settings.pulled:
            return
        source = self._source(path, settings)
        source.last_demand = self.context.clock()
        if source.task is None or source.task.done():
            log.info("%s: a reader came: pulling %s", path, redact(settings.source))
            source.start()

    async def _watch_demand(self) -> None:
        while True:
            await asyncio.sleep(DEMAND_CHECK)
            now = self.context.clock()
            for name, source in list(self.sources.items()):
                s = source.settings
                if not s.source_on_demand or source.task is None:
                    continue
                if self.context.sessions.readers(name):
                    source.last_demand = now
                elif now - source.last_demand > s.source_on_demand_close_after:
                    log.info("%s: no reader for %.0f s: stopping the source", name, now - source.last_demand)
                    await source.stop()

    async def stop(self) -> None:
        """Stop every source."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for source in self.sources.values():
            await source.stop()
