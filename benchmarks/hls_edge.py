"""HLS at CDN scale: thousands of clients through an nginx edge, the origin sees the load of one.

    python3 benchmarks/hls_edge.py                          # 5,000, 10,000, 19,000, 20,000 clients, 20 s each
    python3 benchmarks/hls_edge.py --steps 2000 --seconds 10
    python3 benchmarks/hls_edge.py --steps 20000 --workers 2 --bitrate 200k                   # one edge core
    python3 benchmarks/hls_edge.py --steps 20000 --workers 2 --edge-cpus 0,1 --load-cpus any  # both cores
    python3 benchmarks/hls_edge.py --quick                  # the wiring: 20 clients, live/test, seconds

Three processes, deployed as docs/guide/server.rst's "Behind a CDN or nginx" shows:

* the origin: ``mediaproto-server`` (1 s segments) through ``hls_edge_load.py origin``: it counts
  what the server answers (requests and bytes by kind: playlist, segment, blocking reload, other)
  into a file ten times a second; its stream is a 600 kbit/s H.264 + AAC FLV published in real
  time by ``ffmpeg -re -c copy`` (``bench_vs_nginx.source``; ``--bitrate 200k``: 320x180, 136k
  video + 64k AAC, a lowest ABR rung), with ``--quick`` ``live/test``;
* the edge: Debian's ``nginx`` pinned to CPU 0 (``--edge-cpus``), ``master_process off`` and one
  worker (two for a step of more clients than one process may hold files: 20,000 is the hard
  limit here, not raised without CAP_SYS_RESOURCE; ``--workers``), with the guide's
  configuration (``proxy_cache``, ``proxy_cache_lock``, ``proxy_cache_min_uses 0``,
  ``proxy_cache_use_stale updating``, the origin's ``Cache-Control`` honoured) plus ``sendfile``
  and ``open_file_cache``;
* the clients: ``hls_edge_load.py load`` on CPU 1 (``--load-cpus``) on uvloop, one process per
  9,000 clients:
  raw-socket HTTP/1.1 keep-alive clients (``asyncio.Protocol``, request bytes built once, bodies
  counted by ``Content-Length``), each reloading the playlist every target duration and fetching
  each new segment once, from the live edge on. A probe straight at the origin waits for each next segment with a blocking
  reload (``_HLS_msn``) and notes when the origin had it.

A client *played* when it fetched every segment the origin made in the measured window, each
within 4 s (4 target durations) of the origin having it, with no error; one that misses a segment
or falls behind has failed. ``--sample`` clients keep their segments: whole TS packets (0x47 every
188 bytes), the first video DTS going up by less than 3 target durations from one segment to the
next, and the same bytes for a segment in every sampled client.

Per step: clients that played, lag percentiles, nginx's CPU per client-second, the origin's HLS
requests and bytes per second against ONE client's straight at the origin (measured first, same
code), the load tool's own CPU (``/proc/PID/stat`` over the window), nginx's kernel share, the load
average, and from nginx's log what went to the origin during the step (segments asked more than
once, and how long after the first). Heavy runs take the load lock:
``flock /tmp/mediaproto-load.lock python3 benchmarks/hls_edge.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from harness import Bench  # noqa: E402
from hls_edge_load import raise_nofile  # noqa: E402

TOOL = str(HERE / "hls_edge_load.py")

#: The edge: the guide's configuration, plus limits for 20,000 clients and sendfile.
NGINX_CONF = """
worker_processes {workers};
master_process {master};{user}
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile {nofile};
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
    open_file_cache max=1000 inactive=20s;   # the cache's files, opened once for every client
    keepalive_requests 1000000;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=hls:10m max_size=1g inactive=2m use_temp_path=off;
    upstream origin {{
        server 127.0.0.1:{origin};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096{reuseport};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_key $uri$is_args$args;
            proxy_cache_lock on;
            proxy_cache_min_uses 0;   # nginx counts a key's uses in 10 bits: the 1,024th request while the
                                      # first is on its way went to the origin uncached (docs)
            proxy_cache_lock_timeout 15s;
            proxy_cache_lock_age 15s;
            proxy_read_timeout 20s;
            proxy_cache_use_stale {stale};   # updating: while one request renews an expired playlist
        }}
    }}
}}
"""


def stream_source(bitrate: str, seconds: int = 300) -> str:
    """A ``seconds`` long H.264 + AAC FLV of ``bitrate`` (600k, 4M, or 200k: a lowest ABR rung,
    320x180), made once by ffmpeg: ``bench_vs_nginx.source``."""
    from bench_vs_nginx import source

    return source(bitrate, seconds)


def affinity(cpus: set[int] | None) -> None:
    """Run this process (and what it starts) on ``cpus``; None or empty: any CPU."""
    have = set(range(os.cpu_count() or 1))
    if cpus and hasattr(os, "sched_setaffinity") and cpus & have:
        os.sched_setaffinity(0, cpus & have)


def cpu_list(text: str) -> list[int]:
    """``--edge-cpus``/``--load-cpus``: ``0,1`` -> [0, 1]; ``any`` -> [] (unpinned)."""
    return [] if text in ("any", "all", "") else [int(x) for x in text.split(",")]


def origin_log(text: str) -> dict[str, Any]:
    """What nginx's log (``$msec $upstream_cache_status $upstream_status $upstream_response_length
    $request_uri`` of requests that went to the origin) says of one step: segment requests, how many
    segments were asked for more than once, and the gaps (s) after each segment's first request."""
    first: dict[str, float] = {}
    gaps: list[float] = []
    status: dict[str, int] = {}
    segments = 0
    for line in text.splitlines():
        f = line.split(" ", 4)
        if len(f) < 5 or not f[4].split("?")[0].endswith((".ts", ".m4s", ".mp4")):
            continue
        segments += 1
        key = f"{f[1]} {f[2]}"
        status[key] = status.get(key, 0) + 1
        if f[4] in first:
            gaps.append(round(float(f[0]) - first[f[4]], 2))
        else:
            first[f[4]] = float(f[0])
    return {"segment_requests": segments, "segments": len(first), "repeats": len(gaps),
            "gaps": sorted(gaps)[:: max(1, len(gaps) // 8)], "status": status}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the ramp ------------------------------------------------------------------------------------

class Deployment:
    """The origin (and its publisher) and the nginx edge, each a process; ``close`` stops them."""

    def __init__(self, quick: bool, stale: str = "updating", bitrate: str = "600k", edge_cpus: set[int] | None = None,
                 load_cpus: list[int] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mediaproto-hls-edge-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.counts = str(self.dir / "counts.json")
        self.http, rtmp = free_port(), free_port()
        self.name = "live/test" if quick else "live/edge"
        args = ["--http-port", str(self.http), "--rtmp-port", str(rtmp), "--rtsp-port", str(free_port()),
                "--rtp-port", "0", "--hls-segment", "1"] + ([] if quick else ["--no-test-source"])
        self.origin = self._start([sys.executable, TOOL, "origin", self.counts, "--", *args])
        self._wait_port(self.http, self.origin)
        if not quick:
            src = stream_source(bitrate)
            self._start(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", src, "-c", "copy", "-f", "flv",
                         f"rtmp://127.0.0.1:{rtmp}/{self.name}"])
        self.wait_stream()
        self.stale, self.workers = stale, 0
        self.edge_cpus = {0} if edge_cpus is None else edge_cpus  # empty: any CPU
        self.load_cpus = [1] if load_cpus is None else load_cpus  # empty: any CPU

    def edge(self, workers: int) -> None:
        """(Re)start nginx with ``workers`` worker processes (and an empty cache) on a new port."""
        if self.workers == workers:
            return
        if self.workers:
            self.nginx.terminate()
            self.nginx.wait(10)
            shutil.rmtree(self.dir / "cache")
        self.port, self.workers, stale = free_port(), workers, self.stale
        (self.dir / "cache").mkdir()
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port, origin=self.http, stale=stale, workers=workers,
                                          nofile=resource.getrlimit(resource.RLIMIT_NOFILE)[1],
                                          master="on" if workers > 1 else "off",  # workers as our user:
                                          user="\nuser root;" if workers > 1 and os.getuid() == 0 else "",  # the temp dir
                                          reuseport=" reuseport" if workers > 1 else ""))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx: subprocess.Popen[bytes] = self._start(
            [nginx, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(conf)], cpus=self.edge_cpus)
        self._wait_port(self.port, self.nginx)

    def _start(self, cmd: list[str], cpus: set[int] | None = None) -> subprocess.Popen[bytes]:
        """``cmd`` with its output in a log file of the temp dir (a pipe nobody reads could fill), on
        ``cpus`` (its children too: nginx's workers) or any CPU."""
        with open(self.dir / f"{len(self.procs)}.log", "wb") as out:
            self.procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                               preexec_fn=lambda: affinity(cpus)))
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
        """One trial of ``hls_edge_load.py load`` (process i on ``load_cpus[i % n]``, or any CPU): through
        the edge, or ``direct`` at the origin. Past 9,000 clients, in several processes (a process may
        hold 20,000 files here). Also what nginx's log says went to the origin meanwhile."""
        ramp = min(1.0, clients / 100) * max(1.0, clients / 4000)
        split = -(-clients // 9000)
        log = self.dir / "origin.log"
        start = log.stat().st_size if log.exists() else 0
        cpus = self.load_cpus
        runs = [subprocess.Popen(
            [sys.executable, TOOL, "load", "--cpu", str(cpus[i % len(cpus)] if cpus else -1), "--port", str(self.http if direct else self.port),
             "--origin-port", str(self.http), "--origin-pid", str(self.origin.pid), "--nginx-pid",
             str(0 if direct else self.nginx.pid), "--clients", str(clients // split + (i < clients % split)),
             "--sample", str(-(-sample // split)), "--seconds", str(seconds), "--late", "4", "--ramp", str(ramp),
             "--warm", str(warm), "--interval", "1", "--name", self.name, "--counts", self.counts],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(split)]
        outs = [r.communicate(timeout=seconds + ramp + 120) for r in runs]
        if any(r.returncode for r in runs):
            raise RuntimeError("\n".join(err[-3000:] for _, err in outs))
        r = merge([json.loads(out.splitlines()[-1]) for out, _ in outs])
        r["load_average"] = os.getloadavg()[0]
        if not direct and log.exists():
            with open(log, "rb") as f:
                f.seek(start)
                r["origin_log"] = origin_log(f.read().decode("latin-1"))
        return r

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


def merge(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """The results of the load processes of one trial: clients, failures, lags, the load tool's
    CPU and requests summed; the servers' figures (the same windows within 0.1 s) averaged."""
    r = dict(rs[0])
    for k in ("clients", "played", "load_cpu", "client_requests_per_s", "client_bytes_per_s", "samples"):
        r[k] = sum(x[k] for x in rs)
    r["cores_busy"] = [sum(c) / len(rs) for c in zip(*(x["cores_busy"] for x in rs))]
    for k in ("nginx_cpu", "nginx_sys", "origin_cpu", "window"):
        r[k] = sum(x[k] for x in rs) / len(rs)
    r["origin"] = {k: sum(x["origin"][k] for x in rs) / len(rs) for k in r["origin"]}
    lags: dict[int, int] = {}  # lag in 10 ms steps -> how many
    r["failed"], r["sampled"], r["bad_samples"] = {}, {}, sum((x["bad_samples"] for x in rs), [])
    for x in rs:
        for k, n in x["failed"].items():
            r["failed"][k] = r["failed"].get(k, 0) + n
        for k, n in x["lags"].items():
            lags[int(k)] = lags.get(int(k), 0) + n
        for k, h in x["sampled"].items():
            r["sampled"][k] = sorted(set(r["sampled"].get(k, [])) | set(h))
    total, seen, r["lag_p50"], r["lag_p99"] = sum(lags.values()), 0, None, None
    for lag in sorted(lags):  # 10 ms steps
        seen += lags[lag]
        r["lag_p50"] = lag / 100 if r["lag_p50"] is None and seen >= total * 0.5 else r["lag_p50"]
        r["lag_p99"] = lag / 100 if r["lag_p99"] is None and seen >= total * 0.99 else r["lag_p99"]
    r["lag_max"] = max(lags) / 100 if lags else None
    r["load_processes"] = len(rs)
    r["sampled_segments"], r["sample_mismatch"] = len(r["sampled"]), sum(len(h) > 1 for h in r["sampled"].values())
    return r


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
            f"        nginx CPU {r['nginx_cpu'] * 100:.1f}% ({r['nginx_sys'] / max(r['nginx_cpu'], 1e-9) * 100:.0f}% of it "
            f"kernel) = {ms:.4f} ms per client-second; edge answered "
            f"{r['client_requests_per_s']:.0f} requests/s, {r['client_bytes_per_s'] / 1e6:.1f} MB/s; load tool CPU "
            f"{r['load_cpu'] * 100:.0f}% ({r['load_processes']} process{'es' if r['load_processes'] > 1 else ''}); "
            f"cores busy {'/'.join(f'{c * 100:.0f}%' for c in r['cores_busy'])}; load average "
            f"{r.get('load_average', 0):.1f}\n"
            f"        origin: {req:.2f} requests/s ({o['segment_requests']:.2f} segments, {o['playlist_requests']:.2f} "
            f"playlists), {nbytes / 1000:.1f} kB/s{ratio}; origin CPU {r['origin_cpu'] * 100:.1f}%{samples}"
            + ("" if "origin_log" not in r else "\n        nginx's log of the step (ramp included): {segments} segments "
               "asked of the origin {segment_requests} times ({repeats} repeats, seconds after the first: {gaps}); "
               "cache/upstream status {status}".format(**r["origin_log"])))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default="5000,10000,19000,20000")
    p.add_argument("--seconds", type=float, default=20.0, help="the measured window of each step")
    p.add_argument("--sample", type=int, default=20, help="clients per step that decode-check their segments")
    p.add_argument("--no-stale", action="store_true", help="without proxy_cache_use_stale updating: every request "
                   "for an expired playlist goes to the origin until one answer is in (a burst a second)")
    p.add_argument("--quick", action="store_true", help="20 clients, live/test, 2 s: checks the wiring")
    p.add_argument("--workers", type=int, help="nginx worker processes, on --edge-cpus (default 1; 2 for a step "
                   "with more clients than one process may hold files)")
    p.add_argument("--edge-cpus", default="0", help="CPUs of nginx's processes, e.g. 0 or 0,1 (its workers move "
                   "between them), or any (unpinned); default 0")
    p.add_argument("--load-cpus", default="1", help="CPUs of the load processes, the i-th on the i-th CPU of the "
                   "list round-robin, e.g. 1 or 0,1, or any (unpinned); default 1")
    p.add_argument("--bitrate", default="600k", choices=("200k", "600k", "4M"), help="the published stream: 600k "
                   "(640x360, the default), 200k (320x180, 136k video + 64k AAC: a lowest ABR rung) or 4M")
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
    edge_cpus, load_cpus = cpu_list(a.edge_cpus), cpu_list(a.load_cpus)
    dep = Deployment(a.quick, stale, a.bitrate, set(edge_cpus), load_cpus)
    where = {"edge": f"on CPU {a.edge_cpus}" if edge_cpus else "on any CPU",
             "load": f"on CPU {a.load_cpus}" if load_cpus else "on any CPU"}
    print(f"stream {'live/test' if a.quick else a.bitrate}; nginx {where['edge']}; load processes {where['load']}",
          flush=True)
    ok = True
    try:
        one = dep.load(1, seconds, direct=True, sample=1, warm=warm)
        print("one client straight at the origin:\n" + report(one, None), flush=True)
        ok = one["played"] == 1
        for n in steps:  # one nginx process holds 20,000 files here: a second one past that
            dep.edge(a.workers or (1 if n <= resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100 else 2))
            print(f"edge: nginx with {dep.workers} worker process{'es' if dep.workers > 1 else ''} {where['edge']}",
                  flush=True)
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
    sys.exit(main())
