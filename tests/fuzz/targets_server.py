"""Fuzz targets of the live server's protocol handlers: the RTMP and RTSP sessions (over a fake
transport, one per input, on one event loop) and the HTTP request handler (a stream reader fed the
input, a fake writer).

Only public constructors are used (``Hub``, ``RtmpSession``, ``RtspSession``, ``HttpServer``): the
server's internals change often. Besides the engine's contract, a handler must not log an internal
error: the driver's "closing after an internal error" (the handler used the endpoint wrongly), a
logged traceback (``log.exception``) or an exception the event loop caught are all findings.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from mediaproto.server import Hub
from mediaproto.server.config import Limits
from mediaproto.server.http import HttpServer
from mediaproto.server.rtmp import RtmpSession
from mediaproto.server.rtsp import RtspSession

from . import seeds
from .engine import Target, chunks
from .targets_parsers import TEXT_TOKENS
from .targets_sessions import _rtmp_server_seeds, _rtsp_server_seeds


class ServerFault(Exception):
    """A handler logged an internal error or let an exception reach the event loop."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages[:3]))
        #: What tells two faults apart: the first message without its numbers and names.
        self.fuzz_key = re.sub(r"\d+|'[^']*'|\"[^\"]*\"", "#", messages[0])[:120]


class _Faults(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or "internal error" in text or "failed" in text:
            self.messages.append(text + (f" [{record.exc_info[1]!r}]" if record.exc_info else ""))


_FAULTS = _Faults()
_loop: asyncio.AbstractEventLoop | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        _loop.set_exception_handler(lambda loop, ctx: _FAULTS.messages.append(
            f"event loop: {ctx.get('message')} {ctx.get('exception')!r}"))
        logger = logging.getLogger("mediaproto")
        logger.addHandler(_FAULTS)
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)
    return _loop


def _run(coro: Any) -> object:
    loop = _event_loop()
    _FAULTS.messages.clear()
    result = loop.run_until_complete(coro)
    if _FAULTS.messages:
        raise ServerFault(_FAULTS.messages)
    return result


class FakeTransport(asyncio.Transport):
    """Takes what the driver writes; reports a peer on 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0


class FakeUdp:
    """The server's shared UDP pair, as the RTSP session sees it."""

    ports = (8000, 8001)

    def send_datagram(self, datagram: Any, host: str) -> None:
        pass

    def drain(self) -> None:
        pass

    def send(self, source_port: int, data: bytes, addr: tuple[str, int]) -> None:
        pass


_LIMITS = Limits(http_idle_timeout=0.05, hls_blocking_timeout=0.05, handshake_timeout=0.05)


async def _drive(driver: Any, data: bytes) -> int:
    transport = FakeTransport()
    driver.connection_made(transport)
    for piece in chunks(data):
        if driver.closed:
            break
        driver.data_received(piece)
        await asyncio.sleep(0)
    if not driver.closed:
        driver.eof_received()
    driver.connection_lost(None)
    await asyncio.sleep(0)
    return min(transport.written, 1 << 16) >> 10


def run_server_rtmp(data: bytes) -> object:
    async def go() -> int:
        hub = Hub(_LIMITS)
        return await _drive(RtmpSession(hub).driver, data)
    return _run(go())


def run_server_rtsp(data: bytes) -> object:
    async def go() -> int:
        hub = Hub(_LIMITS)
        return await _drive(RtspSession(hub, FakeUdp(), {}).driver, data)  # type: ignore[arg-type]
    return _run(go())


class FakeWriter:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def write(self, data: bytes) -> None:
        self.written += len(data)

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.closing

    async def wait_closed(self) -> None:
        pass


def _stats() -> dict[str, object]:
    return {"streams": []}


def run_server_http(data: bytes) -> object:
    async def go() -> int:
        hub = Hub(_LIMITS)
        server = HttpServer({}, _stats, lambda host: "<html></html>", _LIMITS)
        hub.stream("live/test")
        reader = asyncio.StreamReader(limit=_LIMITS.http_max_head)
        reader.feed_data(data)
        reader.feed_eof()
        writer = FakeWriter()
        await server.handle(reader, writer)  # type: ignore[arg-type]
        return min(writer.written, 1 << 16) >> 8
    return _run(go())


_HTTP_SEEDS = [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /api/streams HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /live/test/index.m3u8?_HLS_msn=3&_HLS_part=1&token=a HTTP/1.1\r\n\r\nHEAD /live/test/0.ts HTTP/1.0\r\n\r\n",
    b"POST /api/v1/kick?id=1 HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcdGET /x HTTP/1.1\r\n\r\n",
    b"GET /live/test/index.m3u8?_HLS_skip=YES HTTP/1.1\r\nHost: a\r\n\r\n",
]


def targets() -> list[Target]:
    return [
        Target("server_rtmp_session", run_server_rtmp, _rtmp_server_seeds, max_size=12000, mem_base=1024 * 1024),
        Target("server_rtsp_session", run_server_rtsp, _rtsp_server_seeds, TEXT_TOKENS + (b"$\x00", b"Session: "),
               max_size=8192, mem_base=1024 * 1024),
        Target("server_http", run_server_http, lambda: list(_HTTP_SEEDS),
               TEXT_TOKENS + (b"GET ", b"HTTP/1.1", b"Content-Length: ", b"?_HLS_msn=", b"&_HLS_part=", b"%2F", b"%"),
               max_size=4096, mem_base=512 * 1024),
    ]


__all__ = ["targets", "seeds"]
