"""Connection limits of the live server, in one place for every TCP port (RTMP, RTSP, HTTP).

:class:`ConnectionGuard` counts the connections open on each listener and from each client
address (all listeners together). Every listener's protocol factory is wrapped in
:func:`guarded`: a connection over ``Limits.max_connections`` (per port) or
``Limits.max_connections_per_address`` is aborted as soon as it is accepted, before any session
object is built for it, so a flood costs a socket accept and a log counter, no more.

The protocol's own objects (session, Sans-IO connection, driver) are built at the connection's
first byte: each protocol here waits for its client to speak first, so an idle connection costs
its transport and this wrapper, about 1 KB, and the server's memory under thousands of idle
connections stays small.

The same wrapper holds a connection to ``Limits.handshake_timeout``: a connection that sent
nothing by then, or whose protocol has not seen its first complete request (RTSP), handshake
and ``connect`` (RTMP) by then, is aborted, however slowly it keeps sending; and, where the
protocol can tell what it holds (RTSP), one message may take at most ``Limits.head_timeout``
from its first byte to its last. HTTP applies both to the connections that sent a byte in
:mod:`mediaproto.server.http` itself (its heads are read by a stream reader; the first one's
time counts from :attr:`GuardedProtocol.started`), and logs through
:meth:`ConnectionGuard.refuse` too.

Each kind of refusal is logged once at once, then at most once per ``interval`` seconds per
listener and kind, with the count held back in between and the latest address::

    rtsp 127.0.0.5: refused: over 256 connections from one address (max_connections_per_address); further refusals of this kind are counted, one line per 10 s
    rtsp: refused 4744 more: over 256 connections from one address (max_connections_per_address) in 10 s, the latest from 127.0.0.9

The counts (:attr:`ConnectionGuard.counts`) feed ``mediaproto_sessions_refused_total``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Generic, TypeVar, cast

from .config import Limits

__all__ = ["ConnectionGuard", "GuardedProtocol", "guarded", "Probe",
           "TOO_MANY", "TOO_MANY_FROM_ADDRESS", "NO_REQUEST", "SLOW_MESSAGE", "HEAD_TOO_LARGE"]

log = logging.getLogger("mediaproto.server.guard")

#: The kinds of refusal (the ``reason`` label of the metrics).
TOO_MANY = "connection limit"
TOO_MANY_FROM_ADDRESS = "connection limit per address"
NO_REQUEST = "no request in time"
SLOW_MESSAGE = "request too slow"
HEAD_TOO_LARGE = "request head too large"

P = TypeVar("P", bound=asyncio.BaseProtocol)


class ConnectionGuard:
    """Counts the open connections per listener and per client address; logs refusals.

    :param limits: read at each call (a change takes effect for the next connection).
    :param clock: the loop's clock, for the rate limit of the log lines.
    :param interval: seconds between two lines of one kind of refusal on one listener.
    :param counts: where refusals are counted by (listener, kind): the server shares the dict of
        its other refusals, so ``/metrics`` shows them all.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float], *, interval: float = 10.0,
                 counts: dict[tuple[str, str], int] | None = None) -> None:
        self.limits = limits
        self.clock = clock
        self.interval = interval
        #: Connections open, by listener (``rtmp``, ``rtsp``, ``http``).
        self.open: dict[str, int] = {}
        #: Connections open, by client address (every listener together; no entry at zero).
        self.by_address: dict[str, int] = {}
        #: Refusals and closings since the start, by (listener, kind).
        self.counts: dict[tuple[str, str], int] = counts if counts is not None else {}
        # (listener, kind) -> (time of the last line, refusals held back since, latest address, detail)
        self._lines: dict[tuple[str, str], tuple[float, int, str, str]] = {}

    def admit(self, listener: str, host: str) -> bool:
        """Count a new connection from ``host`` on ``listener``; ``False`` (and a refusal logged)
        when it is over a limit: the caller closes it at once and does not :meth:`release` it."""
        limits = self.limits
        if self.open.get(listener, 0) >= limits.max_connections:
            self.refuse(listener, host, TOO_MANY,
                        f"over {limits.max_connections} connections on the port (max_connections)")
            return False
        held = self.by_address.get(host, 0)
        if held >= limits.max_connections_per_address:
            self.refuse(listener, host, TOO_MANY_FROM_ADDRESS,
                        f"over {limits.max_connections_per_address} connections from one address "
                        "(max_connections_per_address)")
            return False
        self.open[listener] = self.open.get(listener, 0) + 1
        self.by_address[host] = held + 1
        return True

    def release(self, listener: str, host: str) -> None:
        """An admitted connection closed."""
        self.open[listener] = max(0, self.open.get(listener, 0) - 1)
        held = self.by_address.get(host, 0) - 1
        if held > 0:
            self.by_address[host] = held
        else:
            self.by_address.pop(host, None)

    def refuse(self, listener: str, host: str, kind: str, detail: str) -> None:
        """Count a refusal (or a closing) of ``kind`` and log it, rate-limited per listener and kind."""
        key = (listener, kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        now = self.clock()
        line = self._lines.get(key)
        if line is None:
            self._lines[key] = (now, 0, host, detail)
            log.warning("%s %s: refused: %s; further refusals of this kind are counted, one line per %g s",
                        listener, host, detail, self.interval)
            return
        last, held, _, _ = line
        if now - last >= self.interval:
            self._lines[key] = (now, 0, host, detail)
            log.warning("%s: refused %d more: %s in %.0f s, the latest from %s",
                        listener, held + 1, detail, now - last, host)
        else:
            self._lines[key] = (last, held + 1, host, detail)

    def flush(self) -> None:
        """Log the refusals held back whose interval is over (the server calls this every second,
        so the count of a flood that stopped is not left unsaid)."""
        now = self.clock()
        for key, (last, held, host, detail) in list(self._lines.items()):
            if held and now - last >= self.interval:
                self._lines[key] = (now, 0, host, detail)
                log.warning("%s: refused %d more: %s in %.0f s, the latest from %s",
                            key[0], held, detail, now - last, host)


class Probe(Generic[P]):
    """What the guard may ask one protocol's connection object (``P``, the inner protocol).

    :param ready: whether the first complete request (or handshake) has arrived.
    :param progress: ``(bytes consumed into whole messages, bytes of an unfinished message)``,
        or ``None`` where the protocol cannot tell (no ``head_timeout`` then).
    """

    def __init__(self, ready: Callable[[P], bool],
                 progress: Callable[[P], tuple[int, int]] | None = None) -> None:
        self.ready = ready
        self.progress = progress


class GuardedProtocol(asyncio.Protocol, Generic[P]):
    """Admits a connection through the guard, then hands everything to the protocol ``factory``
    builds (only for an admitted connection), and watches its timeouts."""

    def __init__(self, guard: ConnectionGuard, listener: str, factory: Callable[[], P],
                 probe: Probe[P] | None = None) -> None:
        self.guard = guard
        self.listener = listener
        self.factory = factory
        self.probe = probe
        self.inner: P | None = None
        self.admitted = False
        #: The loop time the connection was accepted (HTTP counts its first request's time from it).
        self.started = 0.0
        self.host = "?"
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last: tuple[int, int] = (-1, 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.host = str(peer[0]) if isinstance(peer, tuple) else "?"
        # a TCP listener's (uvloop's transports do not derive from asyncio.Transport)
        transport = cast(asyncio.Transport, transport)
        if not self.guard.admit(self.listener, self.host):
            transport.abort()
            return
        self.transport = transport
        self.admitted = True
        loop = asyncio.get_running_loop()
        self.started = loop.time()
        self._timer = loop.call_at(self.started + self.guard.limits.handshake_timeout, self._first_request)

    def _build(self) -> P:
        """The protocol's own object, built at the first byte: every protocol here waits for the
        client to speak first, and a connection that never does costs no session."""
        inner = self.inner = self.factory()
        assert self.transport is not None
        inner.connection_made(self.transport)
        return inner

    def data_received(self, data: bytes) -> None:
        inner = self.inner
        if inner is None:
            if not self.admitted or self.transport is None or self.transport.is_closing():
                return
            inner = self._build()
        inner.data_received(data)  # type: ignore[attr-defined]

    def eof_received(self) -> bool | None:
        inner = self.inner
        return inner.eof_received() if inner is not None else None  # type: ignore[attr-defined]

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.admitted:
            return  # refused: never counted
        self.admitted = False
        self.guard.release(self.listener, self.host)
        inner = self.inner
        if inner is not None:
            inner.connection_lost(exc)

    # -- timeouts -------------------------------------------------------------------------------
    def _abort(self, kind: str, detail: str) -> None:
        self.guard.refuse(self.listener, self.host, kind, detail)
        if self.transport is not None:
            self.transport.abort()

    def _first_request(self) -> None:
        self._timer = None
        inner, probe = self.inner, self.probe
        if not self.admitted or (inner is not None and probe is None):
            return  # closed, or the protocol applies its own timeouts (HTTP)
        limits = self.guard.limits
        if inner is None or probe is None or not probe.ready(inner):
            what = "handshake and connect" if self.listener == "rtmp" else "complete request"
            self._abort(NO_REQUEST, f"no {what} within {limits.handshake_timeout:g} s (handshake_timeout)")
            return
        if probe.progress is not None:
            self._last = probe.progress(inner)
            self._timer = asyncio.get_running_loop().call_later(limits.head_timeout, self._check_message)

    def _check_message(self) -> None:
        """Every ``head_timeout``: the message that was unfinished at the last check and still is,
        with nothing completed in between, has taken at least that long."""
        self._timer = None
        inner, probe = self.inner, self.probe
        if inner is None or probe is None or probe.progress is None:
            return
        now = probe.progress(inner)
        limits = self.guard.limits
        if now[1] and self._last[1] and now[0] == self._last[0]:
            self._abort(SLOW_MESSAGE, f"a message unfinished after {limits.head_timeout:g} s (head_timeout)")
            return
        self._last = now
        self._timer = asyncio.get_running_loop().call_later(limits.head_timeout, self._check_message)


def guarded(guard: ConnectionGuard, listener: str, factory: Callable[[], P],
            probe: Probe[P] | None = None) -> Callable[[], GuardedProtocol[P]]:
    """A protocol factory for ``loop.create_server`` that admits each connection through ``guard``."""
    return lambda: GuardedProtocol(guard, listener, factory, probe)
