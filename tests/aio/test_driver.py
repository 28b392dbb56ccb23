"""StreamDriver (mediaproto.aio.driver) around a fake endpoint, over real sockets on 127.0.0.1.

The loop of these tests runs its clock one million seconds ahead of ``time.monotonic()``: a
driver that read any other clock than ``loop.time()`` would hand the endpoint times a million
seconds off, and arm its timer a million seconds early or late.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mediaproto.aio.driver import StreamDriver
from mediaproto.endpoint import ConnectionClosed, Event, StreamEndpoint
from mediaproto.errors import ParseError

OFFSET = 1_000_000.0
#: Every wait of these tests ends by this many seconds.
BOUND = 5.0


class OffsetLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock is ``OFFSET`` seconds ahead of the monotonic clock."""

    def time(self) -> float:
        return super().time() + OFFSET


def run(main: Callable[[], Awaitable[None]]) -> None:
    loop = OffsetLoop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 20))
    finally:
        loop.close()


class FakeEndpoint:
    """A stream endpoint that records what the driver does to it."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, float]] = []
        self.timer_calls: list[float] = []
        self.deadline: float | None = None
        self.outgoing = b""
        self._closed = False
        self._broken = False

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        self.received.append((data, now))
        if data == b"bad":
            self._broken = True
            self.outgoing += b"400 refused\n"  # what an endpoint queues before it raises
            raise ParseError("not a valid message", offset=0)
        if not data:
            self._closed = True
            return [ConnectionClosed()]
        self.outgoing += b"echo:" + data
        return []

    def data_to_send(self) -> bytes:
        out, self.outgoing = self.outgoing, b""
        return out

    def next_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> list[Event]:
        self.timer_calls.append(now)
        self.deadline = None
        return []

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def broken(self) -> bool:
        return self._broken


class Recorder:
    """The handler: events and the end of the connection."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lost = asyncio.Event()

    def handle_event(self, event: Event) -> None:
        self.events.append(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


async def serve(endpoint: FakeEndpoint, handler: Recorder) -> tuple[asyncio.StreamReader, asyncio.StreamWriter,
                                                                      list[StreamDriver], asyncio.Server]:
    drivers: list[StreamDriver] = []

    def make() -> StreamDriver:
        drivers.append(StreamDriver(endpoint, handler, name="fake"))
        return drivers[-1]

    server = await asyncio.get_running_loop().create_server(make, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), BOUND)
    return reader, writer, drivers, server


async def poke(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, data: bytes) -> None:
    """Send ``data`` and wait for the endpoint's echo (so the driver has flushed and re-armed)."""
    writer.write(data)
    want = b"echo:" + data
    got = await asyncio.wait_for(reader.readexactly(len(want)), BOUND)
    assert got == want


def test_the_fake_endpoint_keeps_the_contract() -> None:
    assert isinstance(FakeEndpoint(), StreamEndpoint)


def test_timer_is_rearmed_when_the_deadline_moves_earlier() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, _, server = await serve(endpoint, handler)
        endpoint.deadline = loop.time() + 60.0
        await poke(writer, reader, b"a")  # armed for 60 s from now
        endpoint.deadline = early = loop.time() + 0.1
        await poke(writer, reader, b"b")  # the same endpoint now wants 0.1 s
        start = loop.time()
        while not endpoint.timer_calls and loop.time() - start < BOUND:
            await asyncio.sleep(0.01)
        assert len(endpoint.timer_calls) == 1
        assert early <= endpoint.timer_calls[0] < early + 1.0
        writer.close()
        server.close()

    run(main)


def test_timer_is_rearmed_when_the_deadline_moves_later() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, _, server = await serve(endpoint, handler)
        endpoint.deadline = loop.time() + 0.2
        await poke(writer, reader, b"a")
        endpoint.deadline = later = loop.time() + 0.6
        await poke(writer, reader, b"b")
        await asyncio.sleep(0.4)  # past the first deadline: the timer must not have fired
        assert endpoint.timer_calls == []
        start = loop.time()
        while not endpoint.timer_calls and loop.time() - start < BOUND:
            await asyncio.sleep(0.01)
        assert len(endpoint.timer_calls) == 1 and later <= endpoint.timer_calls[0] < later + 1.0
        writer.close()
        server.close()

    run(main)


def test_cleared_deadline_cancels_the_timer() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, _, server = await serve(endpoint, handler)
        endpoint.deadline = loop.time() + 0.1
        await poke(writer, reader, b"a")
        endpoint.deadline = None
        await poke(writer, reader, b"b")
        await asyncio.sleep(0.3)
        assert endpoint.timer_calls == []
        writer.close()
        server.close()

    run(main)


def test_endpoint_and_timer_read_the_loop_clock() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, _, server = await serve(endpoint, handler)
        before = loop.time()
        await poke(writer, reader, b"x")
        after = loop.time()
        (data, now), = endpoint.received
        assert data == b"x" and before <= now <= after  # loop.time(), a million seconds ahead
        endpoint.deadline = loop.time() + 0.05
        await poke(writer, reader, b"y")
        start = loop.time()
        while not endpoint.timer_calls and loop.time() - start < BOUND:
            await asyncio.sleep(0.01)
        assert endpoint.deadline is None and endpoint.timer_calls[0] > OFFSET
        assert endpoint.timer_calls[0] - start < 1.0
        writer.close()
        server.close()

    run(main)


def test_protocol_error_closes_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, drivers, server = await serve(endpoint, handler)
        writer.write(b"bad")
        # what the endpoint queued before it raised is written, then the connection closes
        assert await asyncio.wait_for(reader.read(), BOUND) == b"400 refused\n"
        await asyncio.wait_for(handler.lost.wait(), BOUND)
        assert drivers[0].closed and endpoint.broken
        writer.close()
        server.close()

    with caplog.at_level(logging.DEBUG, logger="mediaproto.aio"):
        run(main)
    lines = [r for r in caplog.records if r.name == "mediaproto.aio"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "fake 127.0.0.1:" in lines[0].getMessage() and "not a valid message" in lines[0].getMessage()


def test_peer_close_is_handed_to_the_endpoint_as_empty_bytes() -> None:
    async def main() -> None:
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, drivers, server = await serve(endpoint, handler)
        await poke(writer, reader, b"hello")
        writer.close()
        await asyncio.wait_for(handler.lost.wait(), BOUND)
        assert [d for d, _ in endpoint.received] == [b"hello", b""]  # b"" once, not twice
        assert any(isinstance(e, ConnectionClosed) for e in handler.events)
        assert drivers[0].closed
        server.close()

    run(main)


def test_reset_connection_is_also_handed_over_once() -> None:
    async def main() -> None:
        endpoint, handler = FakeEndpoint(), Recorder()
        reader, writer, _, server = await serve(endpoint, handler)
        await poke(writer, reader, b"x")
        transport: Any = writer.transport
        transport.abort()  # RST instead of FIN
        await asyncio.wait_for(handler.lost.wait(), BOUND)
        assert [d for d, _ in endpoint.received] == [b"x", b""]
        server.close()

    run(main)
