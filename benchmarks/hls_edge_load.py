"""The processes of ``hls_edge.py`` (HLS clients through an nginx edge): the counted origin and the load tool.

    python3 benchmarks/hls_edge_load.py origin COUNTS -- [mediaproto-server flags]
    python3 benchmarks/hls_edge_load.py load --port .. --origin-port .. --clients N ...   # one JSON line

``origin``: ``mediaproto-server`` with counters on its two HTTP paths. ``load``: raw-socket HLS
clients on uvloop and a probe of segment availability at the origin (see ``hls_edge.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sys
import threading
import time
import zlib
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from live_load import first_video_dts, pin, proc_cpu  # noqa: E402

KINDS = ("playlist", "segment", "blocking", "other")


def nginx_cpu(pid: int, system: bool = False) -> dict[int, float]:
    """CPU seconds of nginx's process ``pid`` and its children (workers, cache manager), by pid;
    ``system``: the kernel's share only."""
    out = {}
    for p in [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        try:
            out[p] = proc_sys(p) if system else proc_cpu(p)
        except OSError:  # it exited meanwhile (the cache loader does)
            pass
    return out


def proc_sys(pid: int) -> float:
    """CPU seconds a process spent in the kernel so far."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[12]) / os.sysconf("SC_CLK_TCK")


def cores() -> list[tuple[int, int]]:
    """(idle, total) jiffies of each CPU (``/proc/stat``): how busy the machine was, whoever used it."""
    rows = [x.split() for x in Path("/proc/stat").read_text().splitlines() if x[:3] == "cpu" and x[3:4].isdigit()]
    return [(int(r[4]) + int(r[5]), sum(map(int, r[1:]))) for r in rows]


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
        tool.sampled.setdefault(msn, set()).add(zlib.crc32(body))
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
        return {"time": loop.time(), "nginx": nginx_cpu(a.nginx_pid) if a.nginx_pid else {},
                "nginx_sys": nginx_cpu(a.nginx_pid, system=True) if a.nginx_pid else {}, "cores": cores(),
                "origin": proc_cpu(a.origin_pid), "self": use.ru_utime + use.ru_stime,
                "counts": read_counts(a.counts), "responses": tool.responses, "bytes": tool.bytes}

    s0 = snapshot()
    await asyncio.sleep(a.seconds)
    s1 = snapshot()
    await asyncio.sleep(a.late)  # the window's last segments may still be on their way
    stop.set()
    prober.cancel()
    window = [m for m, t in tool.available.items() if s0["time"] <= t <= s1["time"]]
    lags: dict[int, int] = {}  # lag in 10 ms steps -> how many
    failed: dict[str, int] = {}
    for c in clients:
        why = c.error
        if not why and window:
            last = c.first + len(c.times) - 1
            if c.first < 0 or c.first > min(window):
                why = "started late"
            elif last < max(window):
                why = "fell behind"
            else:
                mine = [c.times[m - c.first] - tool.available[m] for m in window]
                for lag in mine:
                    lags[int(lag * 100)] = lags.get(int(lag * 100), 0) + 1
                if max(mine) > a.late:
                    why = "fell behind"
        if why:
            key = " ".join(why.split()[:2]).rstrip(":")
            failed[key] = failed.get(key, 0) + 1
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    c0, c1 = s0["counts"], s1["counts"]
    ct = max(c1["time"] - c0["time"], 1e-9)
    wall = s1["time"] - s0["time"]
    return {
        "clients": a.clients, "window": wall, "segments_in_window": len(window),
        "played": a.clients - sum(failed.values()), "failed": failed,
        "lags": lags,
        "nginx_cpu": sum(t - s0["nginx"].get(p, 0.0) for p, t in s1["nginx"].items()) / wall,
        "nginx_sys": sum(t - s0["nginx_sys"].get(p, 0.0) for p, t in s1["nginx_sys"].items()) / wall,
        "origin_cpu": (s1["origin"] - s0["origin"]) / wall,
        "load_cpu": (s1["self"] - s0["self"]) / wall,
        "cores_busy": [1 - (i1 - i0) / max(t1 - t0, 1) for (i0, t0), (i1, t1) in zip(s0["cores"], s1["cores"])],
        "client_requests_per_s": (s1["responses"] - s0["responses"]) / wall,
        "client_bytes_per_s": (s1["bytes"] - s0["bytes"]) / wall,
        "origin": {k: (c1[k] - c0[k]) / ct for k in c1 if k != "time"},
        "samples": sum(c.sample for c in clients), "sampled": {m: sorted(h) for m, h in tool.sampled.items()},
        "bad_samples": tool.bad_samples[:5],
    }


def run_load(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser()
    for flag in ("--port", "--origin-port", "--origin-pid", "--clients", "--sample"):
        p.add_argument(flag, type=int, default=0)
    p.add_argument("--cpu", type=int, default=-1, help="the CPU to run on (-1: any, the scheduler's choice)")
    p.add_argument("--nginx-pid", type=int, default=0)
    for flag in ("--seconds", "--late", "--ramp", "--warm", "--interval"):
        p.add_argument(flag, type=float, default=1.0)
    p.add_argument("--name", default="live/edge")
    p.add_argument("--counts", required=True)
    a = p.parse_args(argv)
    pin(a.cpu if a.cpu >= 0 else None)
    raise_nofile()
    try:
        import uvloop
    except ImportError:  # asyncio's loop: the load tool holds fewer clients
        return asyncio.run(load(a))
    return uvloop.run(load(a))


if __name__ == "__main__":
    if sys.argv[1:2] == ["origin"]:
        sys.exit(origin(sys.argv[2], sys.argv[4:]))
    print(json.dumps(run_load(sys.argv[2:])), flush=True)
