"""HLS at CDN scale: thousands of clients through an nginx edge, the origin sees the load of one.

    python3 benchmarks/hls_edge.py                          # 5,000, 10,000, 20,000 clients, 20 s each
    python3 benchmarks/hls_edge.py --steps 2000 --seconds 10
    python3 benchmarks/hls_edge.py --quick                  # the wiring: 20 clients, live/test, seconds

Three processes, deployed as docs/guide/server.rst's "Behind a CDN or nginx" shows:

* the origin: ``mediaproto-server`` (1 s segments) through ``hls_edge.py origin``, which counts
  what the server answers (requests and bytes by kind: playlist, segment, blocking reload, other)
  into a file ten times a second; its stream is a 600 kbit/s H.264 + AAC FLV published in real
  time by ``ffmpeg -re -c copy`` (``bench_vs_nginx.source``), with ``--quick`` ``live/test``;
* the edge: Debian's ``nginx``, ``master_process off``, one worker pinned to CPU 0, with the
  guide's configuration (``proxy_cache``, ``proxy_cache_lock``, ``proxy_cache_use_stale
  updating``, the origin's ``Cache-Control`` honoured), ``sendfile`` and fd limits for 20,000;
* the clients: ``hls_edge.py load`` pinned to CPU 1 on uvloop: raw-socket HTTP/1.1 keep-alive
  clients (``asyncio.Protocol``, request bytes built once, bodies counted by ``Content-Length``),
  each reloading the playlist every target duration and fetching each new segment once, from the
  live edge on. A probe straight at the origin waits for each next segment with a blocking
  reload (``_HLS_msn``) and notes when the origin had it.

A client *played* when it fetched every segment the origin made in the measured window, each
within 4 s (4 target durations) of the origin having it, with no error; one that misses a segment
or falls behind has failed. ``--sample`` clients keep their segments: whole TS packets (0x47 every
188 bytes), the first video DTS going up by less than 3 target durations from one segment to the
next, and the same bytes for a segment in every sampled client.

Per step: clients that played, lag percentiles, nginx's CPU per client-second, the origin's HLS
requests and bytes per second against ONE client's straight at the origin (measured first, same
code), the load tool's own CPU (``/proc/PID/stat`` over the window). Heavy runs take the load
lock: ``flock /tmp/mediaproto-load.lock python3 benchmarks/hls_edge.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from harness import Bench  # noqa: E402
from live_load import first_video_dts, pin, proc_cpu  # noqa: E402

KINDS = ("playlist", "segment", "blocking", "other")

#: The edge: the guide's configuration, plus limits for 20,000 clients and sendfile.
NGINX_CONF = """
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 200000;
events {{ worker_connections 100000; }}
http {{
    log_format origin '$msec $upstream_cache_status $upstream_status $upstream_response_length $request_uri';
    access_log {dir}/origin.log origin if=$upstream_addr;   # only what went to the origin
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=hls:10m max_size=1g inactive=2m use_temp_path=off;
    upstream origin {{
        server 127.0.0.1:{origin};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_key $uri$is_args$args;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 15s;
            proxy_cache_lock_age 15s;
            proxy_read_timeout 20s;
            proxy_cache_use_stale {stale};   # updating: while one request renews an expired playlist
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile(n: int = 200_000) -> None:
    """Lift this process's file-descriptor limit (root may raise the hard limit too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n), max(hard, n)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the origin: mediaproto-server, counted --------------------------------------------------------

def origin(counts_file: str, server_args: list[str]) -> int:
    """``mediaproto-server`` with counters on its two HTTP paths (the coroutine's ``_route`` and
    the fast path), written to ``counts_file`` every 0.1 s as JSON with a ``time.monotonic``."""
    from mediaproto.server import cli, httpfast
    from mediaproto.server.http import HttpServer

    counts = {f"{k}_{w}": 0 for k in KINDS for w in ("requests", "bytes")}

    def note(target: str, size: int) -> None:
        path, _, query = target.partition("?")
        kind = ("blocking" if "_HLS_msn" in query else "playlist" if path.endswith(".m3u8")
                else "segment" if path.endswith((".ts", ".m4s", ".mp4")) else "other")
        counts[kind + "_requests"] += 1
        counts[kind + "_bytes"] += size

    route = HttpServer._route

    async def counted_route(self: HttpServer, path: str, query: str, host: str, headers: dict[str, str],
                            prepared: bool = False) -> Any:
        answer = await route(self, path, query, host, headers, prepared=prepared)
        note(f"{path}?{query}", len(answer[1]))
        return answer

    fast = httpfast.fast_response

    def counted_fast(server: Any, head: bytes, host: str) -> bytes | None:
        response = fast(server, head, host)
        if response is not None:
            note(head.split(b" ", 2)[1].decode("latin-1"), len(response))
        return response

    HttpServer._route = counted_route  # type: ignore[method-assign]
    httpfast.fast_response = counted_fast

    def write() -> None:
        tmp = counts_file + ".tmp"
        while True:
            Path(tmp).write_text(json.dumps({"time": time.monotonic(), **counts}))
            os.replace(tmp, counts_file)
            time.sleep(0.1)

    threading.Thread(target=write, daemon=True).start()
    return cli.main(server_args)


def read_counts(path: str) -> dict[str, float]:
    for _ in range(50):
        try:
            return json.loads(Path(path).read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            time.sleep(0.01)
    raise RuntimeError(f"no origin counts in {path}")


# -- the load tool -------------------------------------------------------------------------------

class Tool:
    """What the clients share: the request bytes, parsed playlists, counters, the probe's times."""

    def __init__(self, name: str, interval: float) -> None:
        self.prefix = f"/{name}/".encode()
        self.playlist_request = b"GET " + self.prefix + b"index.m3u8 HTTP/1.1\r\nHost: edge\r\n\r\n"
        self.requests: dict[bytes, bytes] = {}
        self.parsed: dict[bytes, tuple[int, list[bytes]]] = {}
        self.interval = interval
        self.responses = self.bytes = 0
        self.available: dict[int, float] = {}  # msn -> when the origin had it (the probe)
        self.sampled: dict[int, set[int]] = {}  # msn -> hashes of the sampled clients' bodies
        self.bad_samples: list[str] = []
        self.loop = asyncio.get_running_loop()

    def segment_request(self, uri: bytes) -> bytes:
        r = self.requests.get(uri) or b"GET " + self.prefix + uri + b" HTTP/1.1\r\nHost: edge\r\n\r\n"
        self.requests[uri] = r
        return r

    def parse(self, body: bytes) -> tuple[int, list[bytes]]:
        """(media sequence, segment URIs) of a playlist; the clients share the same bytes."""
        p = self.parsed.get(body)
        if p is None:
            if len(self.parsed) > 64:
                self.parsed.clear()
            lines = body.split(b"\n")
            seq = next((int(x[22:]) for x in lines if x.startswith(b"#EXT-X-MEDIA-SEQUENCE:")), 0)
            p = self.parsed[body] = (seq, [x.strip() for x in lines if x.strip() and not x.startswith(b"#")])
        return p


class Client(asyncio.Protocol):
    """One HLS player: the playlist every target duration, then each new segment, in order."""

    def __init__(self, tool: Tool, sample: bool) -> None:
        self.tool, self.sample = tool, sample
        self.transport: asyncio.Transport | None = None
        self.head, self.remaining, self.status = b"", -1, 0  # remaining: body bytes due; -1: in a head
        self.keep: list[bytes] | None = None  # the body's pieces, when kept
        self.is_playlist = True
        self.first = -1  # first msn fetched; times[i] is when first + i arrived
        self.times = array("d")
        self.queue: list[tuple[int, bytes]] = []
        self.reloaded, self.error = 0.0, ""
        self.last_dts: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.reload()

    def reload(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.reloaded = self.tool.loop.time()
        self.is_playlist = True
        self.transport.write(self.tool.playlist_request)

    def data_received(self, data: bytes) -> None:
        while data:
            if self.remaining < 0:
                buf = self.head + data if self.head else data
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self.head = buf
                    return
                self.head = b""
                self.status = int(buf[9:12])
                i = buf.find(b"Content-Length: ", 0, end)
                if i < 0:
                    i = buf.lower().find(b"content-length: ", 0, end)
                self.remaining = int(buf[i + 16:buf.find(b"\r\n", i)])
                self.keep = [] if self.is_playlist or self.sample else None
                data = buf[end + 4:]
            n, r = len(data), self.remaining
            if n < r:
                self.remaining = r - n
                self.tool.bytes += n
                if self.keep is not None:
                    self.keep.append(data)
                return
            self.tool.bytes += r
            if self.keep is not None:
                self.keep.append(data[:r] if n > r else data)
            self.remaining = -1
            data = data[r:] if n > r else b""
            self.answered()

    def answered(self) -> None:
        tool = self.tool
        tool.responses += 1
        if self.status != 200:
            self.error = self.error or f"status {self.status}"
        if self.is_playlist:
            if self.status == 200:
                seq, uris = tool.parse(b"".join(self.keep or ()))
                last = self.first + len(self.times) - 1
                if self.first < 0:
                    self.queue = [(seq + len(uris) - 1, uris[-1])] if uris else []
                else:
                    self.queue = [(seq + i, u) for i, u in enumerate(uris) if seq + i > last]
                    if self.queue and self.queue[0][0] != last + 1:
                        self.error = self.error or f"missed segment {last + 1}"
        else:
            msn = self.queue.pop(0)[0]
            if self.first < 0:
                self.first = msn
            self.times.append(tool.loop.time())
            if self.sample and self.keep is not None:
                self.check(msn, b"".join(self.keep))
        if self.queue:
            self.is_playlist = False
            assert self.transport is not None
            self.transport.write(tool.segment_request(self.queue[0][1]))
        else:
            tool.loop.call_at(max(self.reloaded + tool.interval, tool.loop.time()), self.reload)

    def check(self, msn: int, body: bytes) -> None:
        tool = self.tool
        tool.sampled.setdefault(msn, set()).add(hash(body))
        if len(body) % 188 or body[::188].count(0x47) != len(body) // 188:
            tool.bad_samples.append(f"segment {msn}: not whole TS packets")
        dts = first_video_dts(body)
        if dts is None:
            tool.bad_samples.append(f"segment {msn}: no video PES")
        elif self.last_dts is not None and not 0 < dts - self.last_dts < 3 * 90_000 * tool.interval:
            tool.bad_samples.append(f"segment {msn}: first DTS {dts} after {self.last_dts}")
        if dts is not None:
            self.last_dts = dts

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = self.error or f"connection lost {exc!r}"
        self.transport = None


async def probe(tool: Tool, port: int, name: str, stop: asyncio.Event) -> None:
    """Straight at the origin: a blocking reload for each next segment; notes when each came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def get(target: str) -> tuple[int, bytes]:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: origin\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        i = head.lower().find(b"content-length:")
        body = await reader.readexactly(int(head[i + 15:head.find(b"\r\n", i)]))
        return int(head[9:12]), body

    try:
        status, body = await get(f"/{name}/index.m3u8")
        seq, uris = tool.parse(body)
        msn = seq + len(uris)
        while not stop.is_set():
            status, body = await get(f"/{name}/index.m3u8?_HLS_msn={msn}")
            if status == 200:
                tool.available[msn] = tool.loop.time()
                msn += 1
    finally:
        writer.close()


async def load(a: argparse.Namespace) -> dict[str, Any]:
    gc.disable()
    tool = Tool(a.name, a.interval)
    loop = tool.loop
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(tool, a.origin_port, a.name, stop))
    every = max(1, a.clients // max(1, a.sample))  # the sampled clients spread over the ramp
    clients = [Client(tool, n % every == 0 and n // every < a.sample) for n in range(a.clients)]

    async def connect(c: Client, n: int) -> None:
        try:
            await loop.create_connection(lambda: c, "127.0.0.1", a.port, local_addr=(f"127.0.0.{2 + n % 32}", 0))
        except OSError as exc:
            c.error = f"connect: {exc!r}"

    t0 = loop.time()
    tasks = []
    for n, c in enumerate(clients):  # connect over --ramp seconds, each client at its own phase
        delay = t0 + a.ramp * n / max(1, a.clients) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(connect(c, n)))
    await asyncio.gather(*tasks)
    await asyncio.sleep(max(0.0, t0 + a.ramp + a.warm - loop.time()))

    def snapshot() -> dict[str, Any]:
        use = resource.getrusage(resource.RUSAGE_SELF)
        return {"time": loop.time(), "nginx": proc_cpu(a.nginx_pid) if a.nginx_pid else 0.0,
                "origin": proc_cpu(a.origin_pid), "self": use.ru_utime + use.ru_stime,
                "counts": read_counts(a.counts), "responses": tool.responses, "bytes": tool.bytes}

    s0 = snapshot()
    await asyncio.sleep(a.seconds)
    s1 = snapshot()
    await asyncio.sleep(a.late)  # the window's last segments may still be on their way
    stop.set()
    prober.cancel()
    window = [m for m, t in tool.available.items() if s0["time"] <= t <= s1["time"]]
    lags: list[float] = []
    failed: dict[str, int] = {}
    for c in clients:
        why = c.error
        if not why and window:
            last = c.first + len(c.times) - 1
            if c.first < 0 or c.first > min(window) or last < max(window):
                why = "did not fetch every segment"
            else:
                mine = [c.times[m - c.first] - tool.available[m] for m in window]
                lags.extend(mine)
                if max(mine) > a.late:
                    why = "fell behind"
        if why:
            key = " ".join(why.split()[:2]).rstrip(":")
            failed[key] = failed.get(key, 0) + 1
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    lags.sort()
    c0, c1 = s0["counts"], s1["counts"]
    ct = max(c1["time"] - c0["time"], 1e-9)
    wall = s1["time"] - s0["time"]
    return {
        "clients": a.clients, "window": wall, "segments_in_window": len(window),
        "played": a.clients - sum(failed.values()), "failed": failed,
        "lag_p50": lags[len(lags) // 2] if lags else None, "lag_p99": lags[int(len(lags) * 0.99)] if lags else None,
        "lag_max": lags[-1] if lags else None,
        "nginx_cpu": (s1["nginx"] - s0["nginx"]) / wall, "origin_cpu": (s1["origin"] - s0["origin"]) / wall,
        "load_cpu": (s1["self"] - s0["self"]) / wall,
        "client_requests_per_s": (s1["responses"] - s0["responses"]) / wall,
        "client_bytes_per_s": (s1["bytes"] - s0["bytes"]) / wall,
        "origin": {k: (c1[k] - c0[k]) / ct for k in c1 if k != "time"},
        "samples": sum(c.sample for c in clients), "sampled_segments": len(tool.sampled),
        "sample_mismatch": sum(len(h) > 1 for h in tool.sampled.values()), "bad_samples": tool.bad_samples[:5],
    }


def run_load(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser()
    for flag in ("--port", "--origin-port", "--origin-pid", "--nginx-pid", "--clients", "--sample", "--cpu"):
        p.add_argument(flag, type=int, default=0)
    for flag in ("--seconds", "--late", "--ramp", "--warm", "--interval"):
        p.add_argument(flag, type=float, default=1.0)
    p.add_argument("--name", default="live/edge")
    p.add_argument("--counts", required=True)
    a = p.parse_args(argv)
    pin(a.cpu)
    raise_nofile()
    try:
        import uvloop
    except ImportError:  # asyncio's loop: the load tool holds fewer clients
        return asyncio.run(load(a))
    return uvloop.run(load(a))


# -- the ramp ------------------------------------------------------------------------------------

class Deployment:
    """The origin (and its publisher) and the nginx edge, each a process; ``close`` stops them."""

    def __init__(self, quick: bool, stale: str = "updating") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mediaproto-hls-edge-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.counts = str(self.dir / "counts.json")
        self.http, rtmp = free_port(), free_port()
        self.name = "live/test" if quick else "live/edge"
        args = ["--http-port", str(self.http), "--rtmp-port", str(rtmp), "--rtsp-port", str(free_port()),
                "--rtp-port", "0", "--hls-segment", "1"] + ([] if quick else ["--no-test-source"])
        self.origin = self._start([sys.executable, __file__, "origin", self.counts, "--", *args])
        self._wait_port(self.http, self.origin)
        if not quick:
            from bench_vs_nginx import source

            src = source("600k", 300)
            self._start(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", src, "-c", "copy", "-f", "flv",
                         f"rtmp://127.0.0.1:{rtmp}/{self.name}"])
        self.wait_stream()
        self.port = free_port()
        (self.dir / "cache").mkdir()
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port, origin=self.http, stale=stale))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = self._start([nginx, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(conf)],
                                 cpu=0)
        self._wait_port(self.port, self.nginx)

    def _start(self, cmd: list[str], cpu: int | None = None) -> subprocess.Popen[bytes]:
        """``cmd`` with its output in a log file of the temp dir (a pipe nobody reads could fill)."""
        with open(self.dir / f"{len(self.procs)}.log", "wb") as out:
            self.procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=lambda: pin(cpu)))
        return self.procs[-1]

    def _wait_port(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                log = (self.dir / f"{self.procs.index(proc)}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{proc.args!r} exited: {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.args!r} did not listen on {port}") from None
                time.sleep(0.05)

    def wait_stream(self, segments: int = 2) -> None:
        """Until the origin's playlist lists ``segments`` segments."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/{self.name}/index.m3u8", timeout=15) as r:
                    if r.read().count(b"#EXTINF") >= segments:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the origin has no playlist for {self.name} with {segments} segments")

    def load(self, clients: int, seconds: float, direct: bool = False, sample: int = 20,
             warm: float = 3.0) -> dict[str, Any]:
        """One trial of ``hls_edge.py load`` pinned to CPU 1: through the edge, or ``direct`` at the origin."""
        ramp = min(1.0, clients / 100) * max(1.0, clients / 4000)
        args = [sys.executable, __file__, "load", "--cpu", "1", "--port", str(self.http if direct else self.port),
                "--origin-port", str(self.http), "--origin-pid", str(self.origin.pid), "--nginx-pid",
                str(0 if direct else self.nginx.pid), "--clients", str(clients), "--sample", str(sample),
                "--seconds", str(seconds), "--late", "4", "--ramp", str(ramp), "--warm", str(warm), "--interval", "1",
                "--name", self.name, "--counts", self.counts]
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + ramp + 120)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def origin_load(r: dict[str, Any]) -> tuple[float, float]:
    """The origin's HLS requests and bytes per second, the probe's blocking reloads left out."""
    return (r["origin"]["playlist_requests"] + r["origin"]["segment_requests"],
            r["origin"]["playlist_bytes"] + r["origin"]["segment_bytes"])


def report(r: dict[str, Any], one: dict[str, Any] | None) -> str:
    (req, nbytes), o, ms = origin_load(r), r["origin"], r["nginx_cpu"] / r["clients"] * 1000
    lag = "-" if r["lag_p50"] is None else f"{r['lag_p50']:.2f}/{r['lag_p99']:.2f}/{r['lag_max']:.2f} s"
    ratio = ("" if one is None else f" = {req / origin_load(one)[0]:.2f}x one direct client's requests, "
             f"{nbytes / origin_load(one)[1]:.2f}x its bytes")
    bad = f"; failed {r['failed']}" if r["failed"] else ""
    samples = (f"; samples {r['samples']} clients x {r['sampled_segments']} segments, {r['sample_mismatch']} "
               f"differing, problems {r['bad_samples'] or 'none'}")
    return (f"{r['clients']:6} clients: {r['played']} played ({r['segments_in_window']} segments in "
            f"{r['window']:.1f} s; lag p50/p99/max {lag}){bad}\n"
            f"        nginx CPU {r['nginx_cpu'] * 100:.1f}% = {ms:.4f} ms per client-second; edge answered "
            f"{r['client_requests_per_s']:.0f} requests/s, {r['client_bytes_per_s'] / 1e6:.1f} MB/s; load tool CPU "
            f"{r['load_cpu'] * 100:.0f}%\n"
            f"        origin: {req:.2f} requests/s ({o['segment_requests']:.2f} segments, {o['playlist_requests']:.2f} "
            f"playlists), {nbytes / 1000:.1f} kB/s{ratio}; origin CPU {r['origin_cpu'] * 100:.1f}%{samples}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default="5000,10000,20000")
    p.add_argument("--seconds", type=float, default=20.0, help="the measured window of each step")
    p.add_argument("--sample", type=int, default=20, help="clients per step that decode-check their segments")
    p.add_argument("--no-stale", action="store_true", help="without proxy_cache_use_stale updating: every request "
                   "for an expired playlist goes to the origin until one answer is in (a burst a second)")
    p.add_argument("--quick", action="store_true", help="20 clients, live/test, 2 s: checks the wiring")
    a = p.parse_args(argv)
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        print("hls_edge skipped: nginx not installed (Debian: nginx)")
        return 0
    if not a.quick and not shutil.which("ffmpeg"):
        print("hls_edge skipped: ffmpeg not installed (it publishes the 600 kbit/s stream)")
        return 0
    steps = [20] if a.quick else [int(x) for x in a.steps.split(",")]
    seconds, warm = (2.0, 1.0) if a.quick else (a.seconds, 3.0)
    stale = "off" if a.no_stale else "updating"
    raise_nofile()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs", flush=True)
    dep = Deployment(a.quick, stale)
    ok = True
    try:
        one = dep.load(1, seconds, direct=True, sample=1, warm=warm)
        print("one client straight at the origin:\n" + report(one, None), flush=True)
        ok = one["played"] == 1
        for n in steps:
            r = dep.load(n, seconds, sample=min(a.sample, n), warm=warm)
            print(report(r, one), flush=True)
            ok = ok and r["played"] == n and not r["bad_samples"] and not r["sample_mismatch"]
    finally:
        dep.close()
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


def _quick() -> None:
    if shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"):
        if main(["--quick"]) != 0:
            raise RuntimeError("hls_edge --quick: a client did not play through the edge")


# run.py: only the wiring under --quick; the ramp itself is run by hand (minutes).
BENCHMARKS = [
    Bench("hls.edge (run by hand: python3 benchmarks/hls_edge.py)", lambda: None, quick_run=_quick, once=True),
]

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "origin":
        sys.exit(origin(sys.argv[2], sys.argv[4:]))
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        print(json.dumps(run_load(sys.argv[2:])), flush=True)
        sys.exit(0)
    sys.exit(main())
