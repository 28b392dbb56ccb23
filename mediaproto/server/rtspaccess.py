"""Per-path access for RTSP sessions: credentials (Basic, Digest or a token), paths that are not
configured, paths that have a pulled source, on-demand sources, and the session log lines.

:class:`RtspAccess` is what :class:`mediaproto.server.rtsp.RtspSession` asks before it answers a
DESCRIBE, ANNOUNCE or PLAY; each refusal is answered here (401 with challenges, 403, 404) and
logged, rate-limited, with the client address.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Callable

from ..errors import MediaProtoError
from ..rtsp import AnnounceRequested, DescribeRequested, PlayRequested, RecordRequested
from .auth import Action
from .context import ServerContext
from .sessions import Session

if TYPE_CHECKING:
    from ..aio.driver import StreamDriver
    from ..rtsp import ServerConnection

__all__ = ["RtspAccess", "SOURCE_WAIT"]

log = logging.getLogger("mediaproto.server.rtsp")

#: How long a DESCRIBE of a path with an on-demand source waits for the source.
SOURCE_WAIT = 10.0

Request = DescribeRequested | AnnounceRequested | PlayRequested | RecordRequested


class RtspAccess:
    """The access checks and the sessions of one RTSP connection."""

    def __init__(self, context: ServerContext, conn: ServerConnection, driver: StreamDriver) -> None:
        self.context = context
        self.conn = conn
        self.driver = driver
        self.session: Session | None = None
        self._cleared: Request | None = None
        self._waiter: asyncio.Task[None] | None = None

    def allow(self, event: Request, action: Action) -> bool:
        """Whether ``event`` may go on; when not, it is answered (401/403/404) and logged."""
        if self._cleared is event:
            return True
        path = event.path
        settings = self.context.path(path)
        if settings is None:
            return self._refuse(event, 404, "path not configured")
        if action is Action.PUBLISH and settings.pulled:
            return self._refuse(event, 403, "path has a source")
        request = event.request
        # FFmpeg appends the control (/streamid=0) and a slash after the query (QUIRKS)
        query = request.uri.partition("?")[2].split("/", 1)[0]
        verdict, challenges = self.context.auth.check_rtsp(
            settings, action, request.method, request.headers.get("Authorization"), query, self.context.clock())
        if verdict.ok:
            return True
        status = 403 if not challenges else 401
        # A first request without credentials, answered with a challenge, is how every RTSP client
        # starts: counted, logged at debug level only.
        level = logging.DEBUG if verdict.missing and challenges else logging.WARNING
        return self._refuse(event, status, verdict.reason, [("WWW-Authenticate", c) for c in challenges], level)

    def _refuse(self, event: Request, status: int, reason: str, headers: list[tuple[str, str]] | None = None,
                level: int = logging.WARNING) -> bool:
        self.context.refuse("rtsp", self.driver.host, event.path, reason, level=level)
        self.conn.reject(event, status, headers=headers or ())
        return False

    def wait_for_source(self, event: DescribeRequested, redo: Callable[[DescribeRequested], None]) -> bool:
        """For a path with a pulled source that is not live yet: ask for the source and answer
        ``event`` (with ``redo``) once it is live or :data:`SOURCE_WAIT` passed. False when the
        request can be answered now."""
        settings = self.context.path(event.path)
        stream = self.context.hub.streams.get(event.path)
        if settings is None or not settings.pulled:
            return False
        self.context.demand(event.path)
        if stream is not None and stream.live and stream.tracks:
            return False
        self._cleared = event
        self._waiter = asyncio.ensure_future(self._wait(event, redo))
        return True

    async def _wait(self, event: DescribeRequested, redo: Callable[[DescribeRequested], None]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SOURCE_WAIT
        while loop.time() < deadline and not self.driver.closed:
            self.context.demand(event.path)
            stream = self.context.hub.streams.get(event.path)
            if stream is not None and stream.live and stream.tracks:
                break
            await asyncio.sleep(0.1)
        if self.driver.closed:
            return
        # answered now: the source is live (accept) or not (404), by the session's own handler
        try:
            redo(event)
        except MediaProtoError as exc:
            log.info("rtsp %s: %s", self.driver.peer, exc)
        self.driver.flush()

    def opened(self, role: str, path: str, dropped: Callable[[], int] = lambda: 0) -> None:
        """A session started (PLAY or RECORD accepted)."""
        if self.session is not None:
            return
        driver = self.driver
        self.session = self.context.sessions.open(
            "rtsp", role, path, driver.peer,
            counters=lambda: (driver.bytes_received, driver.bytes_sent, dropped()),
            closer=lambda: driver.close(abort=True))

    def closed(self, reason: str = "") -> None:
        """The session ended (TEARDOWN, timeout, the connection closed)."""
        if self._waiter is not None:
            self._waiter.cancel()
            self._waiter = None
        if self.session is not None:
            self.context.sessions.close(self.session, reason)
            self.session = None
