"""HLS at CDN scale: nginx (``proxy_cache`` with ``proxy_cache_lock``) as the edge in front of the
live server as the origin, configured as docs/guide/server.rst shows ("Behind a CDN or nginx").

nginx runs as a non-daemon process from a configuration in a temp dir, on a free port of
127.0.0.1, for the test's length at most. Many clients play through the edge; the origin must
see one request per segment (and per LL-HLS part and blocking reload), whatever the number of
clients, and a playlist request about once per second: the ``Cache-Control`` headers of
:mod:`mediaproto.server.prepared` make the edge's cache right.
"""

from __future__ import annotations

import asyncio
import collections
import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from ._live import free_config, live_server_thread

pytestmark = pytest.mark.interop

#: The edge's configuration (also in docs/guide/server.rst): {dir}, {port}, {origin}.
NGINX_CONF = """
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=hls:10m max_size=1g inactive=2m use_temp_path=off;
    upstream origin {{
        server 127.0.0.1:{origin};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_key $uri$is_args$args;
            proxy_cache_lock on;
            proxy_cache_min_uses 0;
            proxy_cache_lock_timeout 15s;
            proxy_cache_lock_age 15s;
            proxy_read_timeout 20s;
            proxy_cache_use_stale updating;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
"""


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_edge(tmp: Path, origin: int) -> tuple[subprocess.Popen[bytes], int]:
    """nginx on a free port in front of ``origin``; a non-daemon process the caller stops."""
    nginx = _nginx()
    if nginx is None:
        if os.environ.get("MEDIAPROTO_REQUIRE_INTEROP") == "1":
            pytest.fail("nginx not installed (Debian: nginx)")
        pytest.skip("nginx not installed (Debian: nginx)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # nginx inherits it: 1,100 clients below
    if soft < min(hard, 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    port = _free_port()
    (tmp / "cache").mkdir()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp, port=port, origin=origin))
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {proc.stderr.read() if proc.stderr else b''!r}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("nginx did not listen within 10 s")


class Origin:
    """The live server (test source) in a thread; counts the HTTP requests it answers by target."""

    def __init__(self, **config: Any) -> None:
        self.config = free_config(test_source=True, **config)
        self.seen: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.slow: dict[str, float] = {}  # target -> seconds the origin waits before answering it

    @staticmethod
    def _wrap(http: Any, seen: collections.Counter[str], lock: threading.Lock, slow: dict[str, float]) -> None:
        route = http._route

        async def counting(path: str, query: str, host: str, headers: dict[str, str], prepared: bool = False) -> Any:
            target = f"{path}?{query}" if query else path
            with lock:
                seen[target] += 1
            if target in slow:
                await asyncio.sleep(slow[target])
            return await route(path, query, host, headers, prepared=prepared)

        http._route = counting

    def count_fast(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Count the requests the HTTP fast path answers too (mediaproto.server.httpfast)."""
        from mediaproto.server import httpfast

        fast = httpfast.fast_response

        def counting(server: Any, head: bytes, host: str) -> bytes | None:
            response = fast(server, head, host)
            target = head.split(b" ", 2)[1].decode()
            if target in self.slow:
                return None  # the coroutine path, which waits
            if response is not None:
                with self.lock:
                    self.seen[target] += 1
            return response

        monkeypatch.setattr(httpfast, "fast_response", counting)


@pytest.fixture
def edge(tmp_path: Path, request: pytest.FixtureRequest,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int, Origin]]:
    origin = Origin(**getattr(request, "param", {}))
    origin.count_fast(monkeypatch)
    with live_server_thread(origin.config) as (live, _loop):
        assert live.http is not None
        Origin._wrap(live.http, origin.seen, origin.lock, origin.slow)
        proc, port = start_edge(tmp_path, live.ports["http"])
        try:
            yield port, live.ports["http"], origin
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def get(port: int, target: str, timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def wait_playlist(port: int, path: str, segments: int) -> str:
    deadline = time.monotonic() + 20
    while True:
        status, _, body = get(port, path)
        text = body.decode()
        if status == 200 and text.count("#EXTINF") >= segments:
            return text
        assert time.monotonic() < deadline, f"no playlist with {segments} segments: {status} {text[:200]}"
        time.sleep(0.2)


def uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_origin_headers_tell_the_edge_what_to_keep(edge: tuple[int, int, Origin]) -> None:
    _, origin_port, _ = edge
    text = wait_playlist(origin_port, "/live/test/index.m3u8", 2)
    status, headers, _ = get(origin_port, "/live/test/index.m3u8")
    assert status == 200 and headers["cache-control"] == "public, max-age=1"  # half of 1 s segments, at least 1
    status, headers, body = get(origin_port, f"/live/test/{uris(text)[-1]}")
    assert status == 200 and headers["cache-control"] == "public, max-age=60" and body[:1] == b"\x47"
    assert headers["content-length"] == str(len(body))
    status, headers, _ = get(origin_port, "/live/test/seg999999.ts")
    assert status == 404 and headers["cache-control"] == "no-cache"  # nginx keeps no error


def test_many_edge_clients_one_origin_request_per_segment(edge: tuple[int, int, Origin]) -> None:
    port, _, origin = edge
    wait_playlist(port, "/live/test/index.m3u8", 2)
    with origin.lock:
        origin.seen.clear()
    clients, seconds = 40, 3.5
    stop = time.monotonic() + seconds
    got: dict[str, set[bytes]] = collections.defaultdict(set)
    statuses: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def client(n: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        fetched = 0
        seen: set[str] = set()
        try:
            while time.monotonic() < stop:
                conn.request("GET", "/live/test/index.m3u8")
                r = conn.getresponse()
                text = r.read().decode()
                for uri in uris(text)[-3:]:
                    if uri in seen:
                        continue
                    conn.request("GET", f"/live/test/{uri}")
                    s = conn.getresponse()
                    data = s.read()
                    with lock:
                        statuses[s.headers.get("X-Cache-Status", "?")] += 1
                        got[uri].add(data)
                    assert s.status == 200, (uri, s.status)
                    seen.add(uri)
                    fetched += 1
                time.sleep(0.25 + 0.01 * (n % 10))
        finally:
            conn.close()
        return fetched

    with ThreadPoolExecutor(clients) as pool:
        fetched = list(pool.map(client, range(clients)))
    assert min(fetched) >= 3, fetched
    segments = {k: v for k, v in origin.seen.items() if k.endswith(".ts")}
    # Every segment the clients fetched through the edge reached the origin exactly once.
    assert set(segments) == {f"/live/test/{u}" for u in got}, (segments, sorted(got))
    assert all(count == 1 for count in segments.values()), segments
    assert all(len(bodies) == 1 for bodies in got.values())  # everyone got the same bytes
    assert statuses["HIT"] > statuses["MISS"] * 10, statuses
    # Playlists: about one origin request per max-age (1 s), not one per client poll.
    playlists = origin.seen["/live/test/index.m3u8"]
    polls = sum(1 for _ in range(clients)) * int(seconds / 0.25)
    assert 1 <= playlists <= seconds + 3, (playlists, polls)


async def _aligned_clients(port: int, clients: int, seconds: float) -> list[list[int]]:
    """``clients`` keep-alive HLS clients that all reload the playlist just after each whole second
    (when nginx's copy of a ``max-age=1`` playlist expires: nginx counts whole seconds) and fetch
    each new segment; the media sequence numbers each one fetched."""

    async def one(n: int) -> list[int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def get(target: str) -> tuple[int, bytes]:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: edge\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
            return int(head[9:12]), await reader.readexactly(length)

        fetched: list[int] = []
        try:
            while time.time() < stop:
                await asyncio.sleep(1 - time.time() % 1 + 0.001 * (n % 5))
                status, body = await get("/live/test/index.m3u8")
                assert status == 200, status
                text = body.decode()
                seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)[1])  # type: ignore[index]
                for i, uri in enumerate(uris(text)):
                    if seq + i > (fetched[-1] if fetched else seq + len(uris(text)) - 2):
                        status, data = await get(f"/live/test/{uri}")
                        assert status == 200 and data[:1] == b"\x47", (uri, status)
                        fetched.append(seq + i)
        finally:
            writer.close()
        return fetched

    stop = time.time() + seconds
    return list(await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(clients))), seconds + 30))


def test_hundreds_of_clients_the_origin_sees_the_load_of_one(edge: tuple[int, int, Origin]) -> None:
    port, _, origin = edge
    wait_playlist(port, "/live/test/index.m3u8", 2)
    with origin.lock:
        origin.seen.clear()
    seconds = 5.0
    fetched = asyncio.run(_aligned_clients(port, 300, seconds))
    for got in fetched:  # every client played: each segment from its first on, none missed
        assert len(got) >= 3 and got == list(range(got[0], got[0] + len(got))), got
    with origin.lock:
        seen = dict(origin.seen)
    segments = {k: v for k, v in seen.items() if k.endswith(".ts")}
    assert segments and all(count == 1 for count in segments.values()), segments
    # An expired playlist is renewed by one request while the others get the copy being renewed
    # (proxy_cache_use_stale updating; without it, every request in that moment goes to the
    # origin): nginx keeps a max-age=1 answer 1 to 2 s, so at most one origin request a second,
    # as one client polling the origin directly would make.
    assert 1 <= seen["/live/test/index.m3u8"] <= seconds + 1, seen


@pytest.mark.parametrize("edge", [{"ll_hls": True}], indirect=True)
def test_llhls_blocking_reloads_collapse_at_the_edge(edge: tuple[int, int, Origin]) -> None:
    port, _, origin = edge
    text = wait_playlist(port, "/live/test/index.m3u8", 2)
    hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg(\d+)\.(\d+)\.ts"', text)
    assert hint is not None, text
    msn, part = int(hint[1]), int(hint[2])
    target = f"/live/test/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"
    with origin.lock:
        origin.seen.clear()
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda _: get(port, target), range(30)))
    assert {a[0] for a in answers} == {200}
    assert len({a[2] for a in answers}) == 1  # one prepared response, one cached copy
    assert f'seg{msn}.{part}.ts' in answers[0][2].decode() or f"seg{msn + 1}.0.ts" in answers[0][2].decode()
    assert answers[0][1]["cache-control"] == "public, max-age=60"
    assert origin.seen[target] == 1, origin.seen
    # The part itself: once at the origin for all.
    name = f"seg{msn}.{part}.ts"
    if name in answers[0][2].decode():
        with ThreadPoolExecutor(30) as pool:
            parts = list(pool.map(lambda _: get(port, f"/live/test/{name}"), range(30)))
        assert {p[0] for p in parts} == {200} and len({p[2] for p in parts}) == 1
        assert origin.seen[f"/live/test/{name}"] == 1, origin.seen


def test_over_1024_clients_waiting_for_a_segment_make_one_origin_request(edge: tuple[int, int, Origin]) -> None:
    """nginx counts a cache key's uses in a 10-bit field: without ``proxy_cache_min_uses 0``, the
    1,024th request that arrives while the segment is still on its way from the origin wraps the
    count to 0, and nginx sends that request to the origin too, uncached (an edge that falls behind
    sent two to four requests per segment). 1,100 clients ask for a segment the origin answers 2 s late."""
    port, origin_port, origin = edge
    clients = 1100
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2 * clients + 100:
        pytest.skip("file-descriptor limit below 2,300")
    target = f"/live/test/{uris(wait_playlist(origin_port, '/live/test/index.m3u8', 2))[-1]}"  # not asked of the edge yet
    origin.slow[target] = 2.0

    async def run() -> list[tuple[bytes, bytes]]:
        conns = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(clients)))
        try:
            for _, writer in conns:  # all within a few ms: the origin has not answered any yet
                writer.write(f"GET {target} HTTP/1.1\r\nHost: edge\r\n\r\n".encode())

            async def answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
                return head, await reader.readexactly(length)

            return list(await asyncio.wait_for(asyncio.gather(*(answer(r) for r, _ in conns)), 30))
        finally:
            for _, writer in conns:
                writer.close()

    answers = asyncio.run(run())
    assert all(head.startswith(b"HTTP/1.1 200") for head, _ in answers)
    assert len({body for _, body in answers}) == 1 and answers[0][1][:1] == b"\x47"
    statuses = collections.Counter(re.search(rb"X-Cache-Status: (\w+)", head)[1] for head, _ in answers)  # type: ignore[index]
    with origin.lock:
        asked = origin.seen[target]
    assert asked == 1 and statuses[b"MISS"] == 1, (asked, statuses)
