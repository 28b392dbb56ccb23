"""The HTTP fast path (mediaproto.server.httpfast): plain HLS GETs on a kept-alive connection are
answered by the protocol with the prepared responses, the idle deadline moves on with each, and
everything else still goes through the connection's coroutine."""

from __future__ import annotations

import http.client
import socket
import time
from typing import Any, Iterator

import pytest

from mediaproto.server import httpfast
from mediaproto.server.config import Limits

from ._live import free_config, live_server_thread


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The targets the fast path answered."""
    seen: list[str] = []
    fast = httpfast.fast_response

    def counting(server: Any, head: bytes, host: str) -> bytes | None:
        response = fast(server, head, host)
        if response is not None:
            seen.append(head.split(b" ", 2)[1].decode())
        return response

    monkeypatch.setattr(httpfast, "fast_response", counting)
    return seen


@pytest.fixture
def port() -> Iterator[int]:
    config = free_config(test_source=True, limits=Limits(http_idle_timeout=1.0))
    with live_server_thread(config) as (live, _loop):
        yield live.ports["http"]


def _segments(conn: http.client.HTTPConnection) -> tuple[str, list[str]]:
    deadline = time.monotonic() + 15
    while True:
        conn.request("GET", "/live/test/index.m3u8")
        r = conn.getresponse()
        text = r.read().decode()
        uris = [x for x in text.splitlines() if x and not x.startswith("#")]
        if r.status == 200 and len(uris) >= 2:
            return text, uris
        assert time.monotonic() < deadline, text
        time.sleep(0.2)


def test_kept_alive_requests_take_the_fast_path(port: int, served: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    text, uris = _segments(conn)  # the connection's first request: the coroutine's path
    for uri in uris[-2:]:
        conn.request("GET", f"/live/test/{uri}")
        r = conn.getresponse()
        data = r.read()
        assert r.status == 200 and r.headers["Content-Type"] == "video/mp2t"
        assert r.headers["Cache-Control"] == "public, max-age=60"
        assert len(data) == int(r.headers["Content-Length"]) and data[0] == 0x47 and len(data) % 188 == 0
    conn.request("GET", "/live/test/index.m3u8")
    r = conn.getresponse()
    playlist = r.read().decode()
    assert r.status == 200 and playlist.startswith("#EXTM3U") and r.headers["Cache-Control"] == "public, max-age=1"
    assert [f"/live/test/{u}" for u in uris[-2:]] + ["/live/test/index.m3u8"] == served[-3:]
    # Not for the fast path: HEAD, a blocking reload, a close, an unknown stream: all still answered.
    n = len(served)
    conn.request("HEAD", f"/live/test/{uris[-1]}")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"" and r.headers["Content-Length"] == str(len(data))
    conn.request("GET", "/live/nope/index.m3u8")
    r = conn.getresponse()
    r.read()
    assert r.status == 404
    conn.request("GET", "/live/test/index.m3u8", headers={"Connection": "close"})
    r = conn.getresponse()
    assert r.status == 200 and r.read().startswith(b"#EXTM3U")
    assert len(served) == n
    conn.close()


def _response(f: Any, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One response from the connection's one buffered reader ``f``."""
    status = int(f.readline().split(b" ", 2)[1])
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head_only else f.read(int(headers.get("content-length", "0")))
    return status, headers, body


def test_pipelined_requests_in_one_read(port: int, served: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    _, uris = _segments(conn)
    conn.close()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s, s.makefile("rb") as f:
        s.sendall(b"GET /live/test/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")  # the first: the coroutine's
        assert _response(f)[0] == 200
        n = len(served)
        heads = b"".join(f"GET /live/test/{u} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for u in uris[-2:])
        s.sendall(heads + b"HEAD /live/test/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in uris[-2:]:
            status, headers, body = _response(f)
            assert status == 200 and headers["content-type"] == "video/mp2t" and body[0] == 0x47
            assert len(body) == int(headers["content-length"]) and len(body) % 188 == 0
        status, headers, body = _response(f, head_only=True)  # the rest went to the coroutine, in order
        assert status == 200 and headers["content-type"] == "application/vnd.apple.mpegurl"
        assert len(served) == n + 2


def test_the_idle_deadline_moves_on_with_each_fast_request(port: int, served: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    _segments(conn)
    n = len(served)
    start = time.monotonic()
    while time.monotonic() - start < 2.5:  # 2.5 s of requests every 0.3 s: past the 1 s idle timeout
        conn.request("GET", "/live/test/index.m3u8")
        r = conn.getresponse()
        assert r.status == 200
        r.read()
        time.sleep(0.3)
    assert len(served) - n >= 6
    time.sleep(1.8)  # silent past the idle timeout: closed
    conn.request("GET", "/live/test/index.m3u8")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()


def test_stop_ends_kept_alive_connections() -> None:
    """A client still connected (keep-alive, waiting for its next request) when the server stops
    leaves no connection task behind: before, its coroutine outlived the loop and failed with
    'Event loop is closed' when the garbage collector closed it."""
    import asyncio
    import gc
    import sys

    from mediaproto.server import Config, LiveServer

    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u.exc_value))

    async def scenario() -> tuple[asyncio.StreamWriter, int]:
        server = LiveServer(Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0,
                                   test_source=False))
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.ports["http"])
        writer.write(b"GET /api/streams HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        await server.stop()
        left = sum(1 for t in asyncio.all_tasks() if t is not asyncio.current_task())
        return writer, left

    loop = asyncio.new_event_loop()
    try:
        writer, left = loop.run_until_complete(scenario())
    finally:
        loop.close()
    try:
        del writer
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert left == 0
    assert unraisable == []
