"""What the asyncio clients and servers share: a handler that turns a driver's events into awaitables.

An :class:`EventQueue` is the :class:`~mediaproto.aio.driver.Handler` of one connection: it keeps
the events in a bounded queue that coroutines read with :meth:`EventQueue.next` or
:meth:`EventQueue.wait_for`. When the queue is full the driver stops reading the socket (the
transport is paused), so a consumer that falls behind slows its peer down instead of growing
memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar

from ..endpoint import Event
from ..errors import MediaProtoError
from .driver import StreamDriver

__all__ = ["EventQueue", "SessionError", "CallbackTasks", "MAX_QUEUED_EVENTS"]

E = TypeVar("E", bound=Event)

#: Events held for a slow reader before the driver stops reading the socket.
MAX_QUEUED_EVENTS = 1000


class SessionError(MediaProtoError):
    """The peer refused a request (an RTMP error status, an RTSP error response) or went away."""


class EventQueue:
    """The handler of one connection: events in order, for coroutines to await."""

    def __init__(self) -> None:
        self.driver: StreamDriver | None = None
        self._events: deque[Event] = deque()
        self._wakeup: asyncio.Event = asyncio.Event()
        self.lost = False

    # -- Handler ------------------------------------------------------------------------------
    def handle_event(self, event: Event) -> None:
        self._events.append(event)
        self._wakeup.set()
        driver = self.driver
        if len(self._events) >= MAX_QUEUED_EVENTS and driver is not None and driver.transport is not None:
            driver.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wakeup.set()

    # -- for coroutines -----------------------------------------------------------------------
    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` once the connection is gone and every event was read."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while not self._events:
            if self.lost:
                return None
            self._wakeup.clear()
            remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if remaining is not None and remaining <= 0:
                raise asyncio.TimeoutError()
            await asyncio.wait_for(self._wakeup.wait(), remaining)
        event = self._events.popleft()
        driver = self.driver
        if len(self._events) < MAX_QUEUED_EVENTS // 2 and driver is not None and driver.transport is not None \
                and not driver.closed and not driver.transport.is_reading():
            driver.transport.resume_reading()
        return event

    async def wait_for(self, kind: type[E] | tuple[type[E], ...], timeout: float | None) -> E:
        """Read events until one of ``kind``; raises :class:`SessionError` when the connection
        ends first and :class:`asyncio.TimeoutError` after ``timeout`` seconds."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
            event = await self.next(remaining)
            if event is None:
                raise SessionError("the connection closed")
            if isinstance(event, kind):
                return event
            self.check(event)

    def check(self, event: Event) -> None:
        """Raise :class:`SessionError` for an event that says the peer refused (overridden)."""


log = logging.getLogger("mediaproto.aio")


class CallbackTasks:
    """What a served connection (``serve_rtmp``, ``serve_rtsp``) runs of the application: each
    callback a task; one that fails closes the connection with one log line (a
    :class:`SessionError`, the peer gone while the callback sent to it, only at debug level)."""

    driver: StreamDriver
    tasks: set[asyncio.Task[None]]

    def _run(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, SessionError):  # the peer left while a callback was sending to it
            log.debug("%s %s: %s", self.driver.name, self.driver.peer, exc)
        elif exc is not None:
            log.warning("%s %s: the application failed: %r", self.driver.name, self.driver.peer, exc)
            self.driver.close()
