"""The one asyncio driver: runs any Sans-IO stream endpoint of :mod:`mediaproto.endpoint` over a
transport.

Every RTMP and RTSP session of the package, client or server, is a :class:`StreamDriver` around an
endpoint (``rtmp.ServerConnection``, ``rtsp.ClientConnection``, ...) and a handler that answers its
events. The driver owns everything asyncio:

- bytes from the transport go to ``endpoint.receive_data(data, now)``; each event goes to the
  handler, then what the endpoint queued is written (:meth:`StreamDriver.flush`);
- one clock: ``now`` is always ``loop.time()``, and the timer is armed with ``loop.call_at`` on the
  endpoint's :meth:`next_timer` deadline, so the deadline the endpoint computes and the moment the
  loop fires are read from the same clock. The timer is re-armed after every call into the
  endpoint whenever the deadline changed (earlier or later);
- datagrams an endpoint queues (RTP over UDP) go to a ``datagram_sink``, and datagrams the
  :mod:`~mediaproto.aio.udp` sockets route to this driver go to ``receive_datagram``;
- backpressure: :meth:`write_buffer_size` is the transport's write buffer (servers skip or drop
  a slow player on it), and :meth:`drain` waits while the transport is paused (clients that send);
- a :class:`~mediaproto.errors.ProtocolError` from the peer closes the connection after writing
  what the endpoint queued (an RTSP 400, say) and is logged as one line naming the peer; the peer
  closing is handed to the endpoint as ``b""`` so it can emit its closing events.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Protocol, cast

from ..endpoint import Datagram, Event, StreamEndpoint
from ..errors import MediaProtoError, ProtocolError

__all__ = ["StreamDriver", "Handler", "DatagramSink"]

log = logging.getLogger("mediaproto.aio")

#: Where a driver's outgoing datagrams go: (datagram, peer host).
DatagramSink = Callable[[Datagram, str], None]


class Handler(Protocol):
    """What a driver calls: the application side of one connection."""

    def handle_event(self, event: Event) -> None:
        """One event of the endpoint (called in order; the driver flushes after the batch)."""

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport closed (after the endpoint saw ``b""`` and its events were handled)."""


class StreamDriver(asyncio.Protocol):
    """Runs ``endpoint`` over one stream transport, handing its events to ``handler``.

    :param endpoint: a stream endpoint of the contract (RTMP or RTSP, client or server).
    :param handler: receives the events; may be set later with :attr:`handler` (before data arrive).
    :param name: the protocol's name for log lines (``rtmp``, ``rtsp``).
    :param datagram_sink: where queued UDP datagrams go (RTSP over UDP); dropped without one.
    """

    def __init__(self, endpoint: StreamEndpoint, handler: Handler | None = None, *, name: str = "",
                 datagram_sink: DatagramSink | None = None) -> None:
        self.endpoint = endpoint
        self.handler = handler
        self.name = name
        self.datagram_sink = datagram_sink
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        #: ``host:port`` of the peer, for log lines; :attr:`host` alone for UDP.
        self.peer = "?"
        self.host = "?"
        self.closed = False
        #: Set when the transport is gone (await :meth:`wait_closed`).
        self._closed_future: asyncio.Future[None] = self.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()
        #: Bytes received on the connection and written to it (UDP datagrams included), for the
        #: server's session logs and metrics.
        self.bytes_received = 0
        self.bytes_sent = 0

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's do not derive from asyncio.Transport
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.host, self.peer = peer[0], f"{peer[0]}:{peer[1]}"
        self.flush()  # what the endpoint queued before the connection (a client's first request)

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self.receive(self.endpoint.receive_data, data)

    def eof_received(self) -> bool | None:
        if not self.endpoint.closed and not self.endpoint.broken:
            self.receive(self.endpoint.receive_data, b"")
        return None  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed and not self.endpoint.closed and not self.endpoint.broken:
            self.closed = True
            try:
                self._handle(self.endpoint.receive_data(b"", self.loop.time()))
            except MediaProtoError:
                pass
        self.closed = True
        self._cancel_timer()
        self._can_write.set()
        if not self._closed_future.done():
            self._closed_future.set_result(None)
        if self.handler is not None:
            self.handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # -- driving the endpoint -----------------------------------------------------------------
    def receive(self, call: Callable[..., list[Any]], *args: Any) -> None:
        """Call ``call(*args, now)`` on the endpoint, handle its events and flush.

        The one entry for input: stream bytes (``endpoint.receive_data``), datagrams
        (``endpoint.receive_datagram``) and the timer (``endpoint.handle_timer``).
        """
        if self.closed:
            return
        try:
            events = call(*args, self.loop.time())
            self._handle(events)
        except ProtocolError as exc:
            log.info("%s %s: closing: %s", self.name, self.peer, exc)
            self.close()
            return
        except MediaProtoError as exc:  # the handler used the endpoint wrongly: a bug, but only this peer's
            log.warning("%s %s: closing after an internal error: %s", self.name, self.peer, exc)
            self.close(abort=True)
            return
        self.flush()

    def receive_datagram(self, data: bytes, source_port: int, destination_port: int) -> None:
        """A datagram the UDP sockets routed to this connection's endpoint."""
        receive = getattr(self.endpoint, "receive_datagram", None)
        self.bytes_received += len(data)
        if receive is not None:
            self.receive(receive, data, source_port, destination_port)

    def _handle(self, events: list[Any]) -> None:
        handler = self.handler
        if handler is not None:
            for event in events:
                handler.handle_event(event)

    def flush(self) -> None:
        """Write what the endpoint queued (bytes and datagrams), then re-arm the timer."""
        if self.closed or self.transport is None:
            return
        data = self.endpoint.data_to_send()
        if data:
            self.bytes_sent += len(data)
            self.transport.write(data)
        datagrams = getattr(self.endpoint, "datagrams_to_send", None)
        if datagrams is not None:
            for d in datagrams():
                if self.datagram_sink is not None:
                    self.bytes_sent += len(d.data)
                    self.datagram_sink(d, self.host)
        self._arm_timer()

    def write(self, data: bytes) -> None:
        """Write bytes prepared outside the endpoint (fan-out), after what the endpoint queued."""
        if self.closed or self.transport is None:
            return
        pending = self.endpoint.data_to_send()
        self.bytes_sent += len(pending) + len(data)
        self.transport.write(pending + data if pending else data)

    def _arm_timer(self) -> None:
        deadline = self.endpoint.next_timer()
        if deadline == self._deadline and (deadline is None or self._timer is not None):
            return
        self._cancel_timer()
        self._deadline = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = None

    def _on_timer(self) -> None:
        self._timer = None
        self._deadline = None
        if not self.endpoint.broken and not self.endpoint.closed:
            self.receive(self.endpoint.handle_timer)
        else:
            self.flush()

    # -- backpressure and closing -------------------------------------------------------------
    def write_buffer_size(self) -> int:
        """Bytes waiting in the transport's write buffer."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark."""
        await self._can_write.wait()

    def close(self, abort: bool = False) -> None:
        """Close after writing what is queued (``abort``: at once, dropping it, for a peer far behind)."""
        if self.transport is not None and not self.closed:
            if abort:
                self.transport.abort()
            else:
                self.flush()
                self.transport.close()
        self.closed = True
        self._cancel_timer()

    async def wait_closed(self) -> None:
        """Wait until the transport is gone."""
        await asyncio.shield(self._closed_future)
