"""The HTTP server's fast path: HLS requests on a kept-alive connection answered in the protocol.

An HLS client on a kept-alive connection spends its life asking for the playlist and the next
segment. Between two requests the connection's coroutine (:meth:`HttpServer.handle`) waits for
the next request's first byte under the idle timeout; :class:`FastHttpProtocol` sees the request
arrive first. When the bytes are whole ``GET`` request heads for a segment, part, init segment or
plain playlist (no query, so no blocking reload and no token to add to the URIs) of a path the
client may read, it writes each one's prepared response (:mod:`mediaproto.server.prepared`)
itself, moves the idle deadline on, and the coroutine never wakes: per request, a parse of the
head, the access check, a dictionary lookup and one write. Anything else (a blocking reload,
``HEAD``, a body, ``Connection: close``, a head split over reads, a client with unread
responses piling up) goes to the coroutine as before, with every limit it applies.

Needs ``asyncio.timeout`` (Python 3.11) to move the coroutine's idle deadline; without it every
request takes the coroutine's path.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from .auth import Action
from .hls import PLAYLISTS

if TYPE_CHECKING:
    from .http import HttpServer

__all__ = ["FastHttpProtocol", "fast_response", "MAX_UNREAD"]

#: Past this many response bytes the client has not read yet, its requests take the coroutine's
#: path (which waits for the client to read, up to ``http_idle_timeout``).
MAX_UNREAD = 1 << 20

_BAIL = frozenset(("connection", "content-length", "transfer-encoding", "expect", "upgrade"))


class FastHttpProtocol(asyncio.StreamReaderProtocol):
    """``asyncio.StreamReaderProtocol`` for :meth:`HttpServer.handle`, with the fast path."""

    def __init__(self, server: HttpServer, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(reader, functools.partial(server.handle, fast=self), loop=loop)
        self.server = server
        self.loop = loop
        #: The ``asyncio.timeout`` of the coroutine's wait for a next request, while it waits.
        self.idle: Any = None
        self.fast_transport: asyncio.Transport | None = None
        self.host = "?"
        #: Requests answered here (for tests and benchmarks).
        self.served = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.fast_transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.host = str(peer[0]) if isinstance(peer, tuple) else "?"

    def data_received(self, data: bytes) -> None:
        idle, transport = self.idle, self.fast_transport
        if idle is not None and transport is not None:
            served = self.served
            pos = 0
            while transport.get_write_buffer_size() < MAX_UNREAD:
                end = data.find(b"\r\n\r\n", pos)
                if end < 0:
                    break
                response = fast_response(self.server, data[pos:end], self.host)
                if response is None:
                    break
                transport.write(response)
                self.served += 1
                pos = end + 4
            if self.served != served:
                idle.reschedule(self.loop.time() + self.server.limits.http_idle_timeout)
                if pos == len(data):
                    return
                data = data[pos:]
        super().data_received(data)


def fast_response(server: HttpServer, head: bytes, host: str) -> bytes | None:
    """The prepared response to request ``head`` (without its blank line), or ``None`` when the
    request is not a plain kept-alive HLS ``GET`` the server can answer at once."""
    if not head.startswith(b"GET /"):
        return None
    lines = head.decode("latin-1").split("\r\n")
    request = lines[0].split(" ")
    if len(request) != 3 or request[2] != "HTTP/1.1":
        return None
    authorization = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in _BAIL:
            return None
        if name == "authorization":
            authorization = value.strip()
    path, _, query = request[1].partition("?")
    if "%" in path:
        return None
    name, _, file = path.strip("/").rpartition("/")
    if not name or not file:
        return None
    context = server.context
    if context is not None:
        settings = context.path(name)
        if settings is None or (settings.pulled and file.endswith(".m3u8")):
            return None
        if not context.auth.check_http(settings, Action.READ, authorization, query).ok:
            return None
    output = server.outputs.get(name)
    if output is None:
        return None
    if file.endswith(".m3u8"):
        if query or (file != "index.m3u8" and file not in PLAYLISTS):
            return None
        configured = context.config.hls_container if context is not None else "ts"
        container = PLAYLISTS.get(file, configured)
        if not output.serves(container):
            return None
        response = output.playlist_response(False, container, False)
    elif file == "player.html":
        return None
    else:
        response = output.response(file)
    if response is None:
        return None
    server.note_client(name, host, len(response))
    return response
