"""The live server against nginx (one worker, same machine, same load tool, same run).

    python3 benchmarks/bench_vs_nginx.py                       # RTMP at 600 kbit/s and 4 Mbit/s, HLS
    python3 benchmarks/bench_vs_nginx.py --kinds rtmp --bitrates 600k --steps 500,1000,2000 --seconds 6
    python3 benchmarks/bench_vs_nginx.py --loops asyncio,uvloop  # our server on both event loops
    python3 benchmarks/bench_vs_nginx.py --write-coalesce 0.02,0   # merged writes (the default) and one write per turn

Each server runs in its own process pinned to CPU 0, the load (``live_load.py load``: a real-time
RTMP publisher and raw-socket RTMP players, or HTTP/1.1 HLS pollers) in another pinned to CPU 1:

* ours: ``live_load.py serve`` (the live server, on asyncio's loop or uvloop);
* nginx: Debian's ``nginx`` with ``libnginx-mod-rtmp``, ``master_process off`` (one process, the
  one worker), from a configuration written in a temp dir: ``rtmp { server { listen PORT;
  application live { live on; } } }``, and for HLS the module's own segmenter (``hls on``, 1 s
  fragments written to disk) served from disk by nginx's ``http`` on the same process.

For each step of the ramp both servers take the same load one after the other. A step *holds*
when every player received every frame in order (sink players: the same bytes as the decoding
ones) with p99 latency under 1 s, and every HLS client fetched every segment. Printed: the players
held by each, the server's CPU per player-second (CPU over the measured window less the
publisher-only CPU, divided by players) at the largest step both held, and ours/nginx ratios.
The machine is shared: the load average is printed with each run, and a step that fails on a
busy machine may pass on a quiet one.

``--quick`` (what ``benchmarks/run.py --quick`` runs) checks the wiring: 2 players for 2 s each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import Bench

HERE = Path(__file__).resolve().parent
LOAD = str(HERE / "live_load.py")
MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

NGINX_CONF = """
load_module {module};
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
worker_rlimit_nofile 65536;
events {{ worker_connections 60000; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp};
        application live {{
            live on;
            hls on;
            hls_path {dir}/hls;
            hls_nested on;
            hls_fragment 1s;
            hls_playlist_length 6s;
        }}
    }}
}}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{http};
        keepalive_requests 1000000;
        location /live/ {{ alias {dir}/hls/; add_header Cache-Control no-cache; }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin0() -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})


def nginx_available() -> str | None:
    """Why nginx-rtmp cannot run here, or ``None``."""
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        return "nginx not installed (Debian: nginx)"
    if not os.path.exists(MODULE):
        return "the RTMP module is not installed (Debian: libnginx-mod-rtmp)"
    return None


class Nginx:
    """nginx-rtmp (and its HLS, served by nginx's http) in one process pinned to CPU 0."""

    name = "nginx"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mediaproto-nginx-"))
        (self.dir / "hls").mkdir()
        self.ports = {"rtmp": _free_port(), "http": _free_port()}
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(module=MODULE, dir=self.dir, **self.ports))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_pin0)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read() if self.proc.stderr else b''!r}")
            try:
                socket.create_connection(("127.0.0.1", self.ports["rtmp"]), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not listen") from None
                time.sleep(0.05)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


class Ours:
    """``live_load.py serve`` pinned to CPU 0 on the event loop ``loop``."""

    def __init__(self, loop: str = "asyncio", write_coalesce: str | None = None) -> None:
        merged = [] if write_coalesce is None else ["--write-coalesce", write_coalesce]
        self.name = f"mediaproto ({loop})" if write_coalesce is None else \
            f"mediaproto ({loop}, {float(write_coalesce) * 1000:g} ms)"
        self.proc = subprocess.Popen([sys.executable, LOAD, "serve", "--cpu", "0", "--loop", loop, *merged],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.pid: int = info["pid"]
        self.ports: dict[str, int] = info["ports"]

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(10)
        finally:
            self.proc.kill()


class GstRtsp:
    """gst-rtsp-server (Debian's python3-gi, gir1.2-gst-rtsp-server-1.0) serving the FLV file at
    ``/live/x`` (``rtsp_load.py gst``), pinned to CPU 0."""

    name = "gst-rtsp-server"

    def __init__(self, src: str) -> None:
        self.ports = {"rtsp": _free_port()}
        self.proc = subprocess.Popen(["/usr/bin/python3", RTSP_LOAD, "gst", "--port", str(self.ports["rtsp"]),
                                      "--file", src, "--cpu", "0"], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.pid: int = json.loads(self.proc.stdout.readline())["pid"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def gst_available() -> str | None:
    """Why gst-rtsp-server cannot run here, or ``None``."""
    probe = subprocess.run(["/usr/bin/python3", "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)
    return None if probe.returncode == 0 else "gst-rtsp-server's Python bindings are not installed (Debian: " \
        "python3-gi gir1.2-gst-rtsp-server-1.0)"


RTSP_LOAD = str(HERE / "rtsp_load.py")
TRIALS = 0


def rtsp_trial(server: Any, src: str, seconds: float, players: int) -> dict[str, Any]:
    """``rtsp_load.py load``: ``players`` RTSP-over-TCP players (our server: after publishing ``src``)."""
    global TRIALS
    TRIALS += 1
    if isinstance(server, GstRtsp):
        args = ["--url", f"rtsp://127.0.0.1:{server.ports['rtsp']}/live/x"]
    else:
        args = ["--url", f"rtsp://127.0.0.1:{server.ports['rtsp']}/live/vs{TRIALS}", "--publish", src,
                "--rtmp-port", str(server.ports["rtmp"])]
    rate = Path(src).stat().st_size * 8 / (300.0 if src.endswith("-300s.flv") else 10.0)  # its bits per second
    try:
        out = subprocess.run([sys.executable, RTSP_LOAD, "load", "--cpu", "1", "--server-pid", str(server.pid),
                              "--players", str(players), "--seconds", str(seconds), "--min-bitrate",
                              str(0.85 * rate), *args], capture_output=True, text=True, timeout=seconds + 120)
    except subprocess.TimeoutExpired:  # the players could not all connect and play in two minutes
        return {"rtsp_players": players, "players_not_held": players, "failed": "timed out", "median_bitrate": 0.0,
                "server_cpu": 0.0, "window": seconds, "load_cpu": 0.0, "steady_latency_p99": None,
                "rtmp_players_with_drops": players, "hls_clients_with_misses": 0}
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    r: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    r.update(rtsp_players=players, load_cpu=0.0, steady_latency_p99=None, rtmp_players_with_drops=r["players_not_held"],
             hls_clients_with_misses=0)
    return r


def load(server: Any, src: str, seconds: float, *, rtmp: int = 0, hls: int = 0, rtsp: int = 0) -> dict[str, Any]:
    """One trial of ``live_load.py load`` against ``server`` (a new stream name each time)."""
    global TRIALS
    if rtsp or isinstance(server, GstRtsp):
        return rtsp_trial(server, src, seconds, max(rtsp, 1))
    TRIALS += 1
    args = [sys.executable, LOAD, "load", "--cpu", "1", "--ports", json.dumps(server.ports), "--server-pid",
            str(server.pid), "--source", src, "--name", f"live/vs{TRIALS}", "--seconds", str(seconds),
            "--rtmp", str(rtmp), "--hls", str(hls), "--decode", "20", "--play-wait", "1"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def held(r: dict[str, Any]) -> bool:
    """Every client got everything in real time (nginx has no /api/streams: no server counters)."""
    return (r["rtmp_players_with_drops"] == 0 and r["hls_clients_with_misses"] == 0
            and not r.get("server_frames_skipped") and not r.get("server_players_dropped")
            and (r["steady_latency_p99"] is None or r["steady_latency_p99"] < 1.0))


def source(bitrate: str, seconds: int = 10) -> str:
    """A ``seconds`` long H.264 + AAC FLV of about ``bitrate`` (600k: 640x360, 4M: 1280x720; 200k:
    320x180, a lowest ABR rung, for ``hls_edge.py``), made once by ffmpeg. The RTSP rows take a
    300 s one: gst-rtsp-server's looping of a file stalls its players for a while at each loop."""
    size, video, audio = {"600k": ("640x360", "500k", "96k"), "4M": ("1280x720", "3900k", "128k"),
                          "200k": ("320x180", "136k", "64k")}[bitrate]
    path = Path(tempfile.gettempdir()) / f"mediaproto-bench-vs-nginx-{bitrate}{'' if seconds == 10 else f'-{seconds}s'}.flv"
    if path.exists() and path.stat().st_size > 100_000:
        return str(path)
    tmp = path.with_suffix(".tmp.flv")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"anoisesrc=sample_rate=48000:amplitude=0.2:seed=7:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p", "-b:v", video, "-maxrate", video,
         "-minrate", video, "-bufsize", video, "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", audio, "-ac", "2",
         "-f", "flv", str(tmp)], check=True, timeout=300)
    tmp.replace(path)
    return str(path)


def ramp(make: list[Any], kind: str, steps: list[int], src: str, seconds: float) -> dict[str, Any]:
    """Each server of ``make`` (constructors) through the same steps, alternating within each step;
    a server leaves the ramp at its first failed step."""
    servers = [m() for m in make]
    rows: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
    idle: dict[str, float] = {}
    try:
        for s in servers:  # the publisher alone (RTSP: one player, so that gst-rtsp-server's media runs)
            idle[s.name] = load(s, src, seconds, **({"rtsp": 1} if kind == "rtsp" else {}))["server_cpu"]
        alive = list(servers)
        for n in steps:
            for s in list(alive):
                r = load(s, src, seconds, **{kind: n})
                r["held"] = held(r)
                r["load_average"] = os.getloadavg()[0]
                rows[s.name].append(r)
                rate = r.get("hls_requests", 0) / r["window"]
                if kind == "rtsp":
                    rate = 0
                    print(f"    median {r['median_bitrate'] / 1000:.0f} kbit/s per player; {r['players_not_held']} "
                          f"players not held {r['failed']}", flush=True)
                per_request = (f"; {rate:.0f} requests/s, {(r['server_cpu'] - idle[s.name]) / rate * 1e6:.1f} µs CPU per "
                               "request" if kind == "hls" and rate else "")
                print(f"  {s.name:22} {kind} {n:6}: {'held' if r['held'] else 'FAILED'}; server cpu "
                      f"{r['server_cpu'] * 100:5.1f}% ({(r['server_cpu'] - idle[s.name]) / n * 1000:.3f} ms per "
                      f"client-second over idle{per_request}); load tool cpu {r['load_cpu'] * 100:.0f}%; p99 "
                      f"{_ms(r['steady_latency_p99'])} ms; load average {r['load_average']:.1f}", flush=True)
                if not r["held"]:
                    alive.remove(s)
            if not alive:
                break
    finally:
        for s in servers:
            s.close()
    return {"rows": rows, "idle": idle, "kind": kind}


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f}"


def summary(result: dict[str, Any]) -> list[str]:
    """Players held by each, CPU per client-second at the largest step all held, ratios to nginx."""
    rows, idle, kind = result["rows"], result["idle"], result["kind"]
    key = {"rtmp": "rtmp_players", "hls": "hls_clients", "rtsp": "rtsp_players"}[kind]
    best = {name: max((r[key] for r in rs if r["held"]), default=0) for name, rs in rows.items()}
    common = min(best.values())
    lines = []
    for name, rs in rows.items():
        at = next((r for r in rs if r[key] == common), None)
        per = (at["server_cpu"] - idle[name]) / common * 1000 if at is not None and common else float("nan")
        result.setdefault("per", {})[name] = per
        rate = at.get("hls_requests", 0) / at["window"] if at is not None else 0
        per_request = (at["server_cpu"] - idle[name]) / rate * 1e6 if at is not None and rate else float("nan")
        result.setdefault("per_request", {})[name] = per_request
        extra = f", {per_request:.1f} µs per request ({rate:.0f}/s)" if kind == "hls" else ""
        lines.append(f"{name:22} held {best[name]:6} {kind} clients; {per:.3f} ms CPU per client-second at "
                     f"{common}{extra}")
    peer = next(iter(rows))
    ours = [n for n in rows if n != peer]
    if best[peer] and result["per"][peer] > 0:  # (a --quick run's idle figure may exceed its loaded one)
        for n in ours:
            extra = (f", CPU per request {result['per_request'][n] / result['per_request'][peer]:.2f}x"
                     if kind == "hls" else "")
            lines.append(f"{n} / {peer}: clients held {best[n] / best[peer]:.2f}x, CPU per client-second "
                         f"{result['per'][n] / result['per'][peer]:.2f}x{extra}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", default="rtmp,hls,rtsp")
    p.add_argument("--bitrates", default="600k,4M", help="RTMP streams (HLS uses the first)")
    p.add_argument("--steps", default="250,500,1000,1500,2000,3000,4000,5000")
    p.add_argument("--hls-steps", default="500,1000,2000,4000,6000,8000,10000")
    p.add_argument("--rtsp-steps", default="250,500,1000,1500,2000,3000")
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--loops", default="asyncio", help="our server's event loops: asyncio,uvloop")
    p.add_argument("--write-coalesce", default=None,
                   help="our server's merged-write windows in seconds, e.g. 0.02,0 (default: the server's)")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    why = nginx_available()
    if why is not None:
        print(f"nginx-rtmp comparison skipped: {why}")
        return 0
    loops = a.loops.split(",")
    windows: list[str | None] = a.write_coalesce.split(",") if a.write_coalesce else [None]
    ours: list[Any] = [lambda loop=loop, w=w: Ours(loop, w) for loop in loops for w in windows]
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    for kind in a.kinds.split(","):
        bitrates = a.bitrates.split(",") if kind in ("rtmp", "rtsp") else a.bitrates.split(",")[:1]
        for bitrate in bitrates:
            src = source(bitrate, 300 if kind == "rtsp" and not a.quick else 10)
            if kind == "rtsp":
                why = gst_available()
                if why is not None:
                    print(f"RTSP comparison skipped: {why}")
                    continue
                make = [lambda: GstRtsp(src)] + ours
            else:
                make = [Nginx] + ours
            steps = [2] if a.quick else [int(x) for x in {"rtmp": a.steps, "hls": a.hls_steps,
                                                          "rtsp": a.rtsp_steps}[kind].split(",")]
            print(f"== {kind} at {bitrate}bit/s, steps {steps}, {a.quick and 2.0 or a.seconds} s each", flush=True)
            result = ramp(make, kind, steps, src, 2.0 if a.quick else a.seconds)
            for line in summary(result):
                print("  " + line, flush=True)
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


def _quick() -> None:
    if nginx_available() is None and shutil.which("ffmpeg"):
        main(["--quick", "--kinds", "rtmp", "--bitrates", "600k"])


# run.py: only the wiring under --quick; the comparison itself is run by hand (minutes per step).
BENCHMARKS = [
    Bench("live.vs_nginx (run by hand: python3 benchmarks/bench_vs_nginx.py)", lambda: None, quick_run=_quick,
          once=True),
]

if __name__ == "__main__":
    sys.exit(main())
