"""The attack of issue 16 on a live server in its own process, measured while ffmpeg plays.

:func:`run_attack` starts ``python -m mediaproto.server`` (default limits, free ports), starts two
ffmpeg players of ``live/test`` (RTMP and HLS) from 127.0.0.1 and waits for their first frames,
then, from other loopback addresses (127.0.0.0/8 is all this machine's):

- ``idle`` TCP connections to each of the RTMP, RTSP and HTTP ports that send nothing, in two
  waves (``min(12, seconds / 2)`` apart: in the full case, after the handshake timeout closed the
  first), from ``addresses``
  source addresses (with ``first_byte``, each sends one byte first: the worst case, where the
  server builds a session for each);
- ``slowloris`` clients on each of the HTTP and RTSP ports that send a request head one byte per
  second and, when closed, come back a second later;
- one RTMP client that completes the handshake and sends a 10 MB ``connect``.

Meanwhile it samples the server's resident memory (``VmRSS`` of ``/proc/PID/status``; ``VmHWM``,
the peak, at the end) and notes when each player got each frame. Everything is bounded in count
and time and stops by itself. ``python3 -m tests.server._attack [--full]`` prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The full case of the issue, and the smaller one of the normal test run.
FULL = {"idle": 5000, "slowloris": 1000, "addresses": 40, "seconds": 30.0}
SMALL = {"idle": 300, "slowloris": 100, "addresses": 2, "seconds": 14.0}


@dataclass
class Player:
    """An ffmpeg player writing one framecrc line per video frame; we note when each came."""

    name: str
    proc: subprocess.Popen[bytes]
    times: list[float] = field(default_factory=list)

    def start_reading(self) -> None:
        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line[:1].isdigit():
                    self.times.append(time.monotonic())

        threading.Thread(target=read, daemon=True).start()

    def frames_between(self, start: float, end: float) -> list[float]:
        return [t for t in self.times if start <= t <= end]


@dataclass
class Figures:
    """What an attack measured."""

    rss_before_kb: int = 0
    rss_max_kb: int = 0
    hwm_kb: int = 0
    rss_after_kb: int = 0
    idle_opened: int = 0
    idle_refused_at_once: int = 0
    idle_closed_later: int = 0
    idle_connect_failed: int = 0
    slowloris_connections: int = 0
    slowloris_longest_s: float = 0.0
    connect_bytes_sent: int = 0
    players: dict[str, dict[str, float]] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        out = dict(vars(self))
        out["log_lines"] = len(self.log_lines)
        return out


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
    return int(match[1]) if match else 0


def start_server(log_path: Path, extra: list[str] | None = None) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """``python -m mediaproto.server`` on free ports; its log goes to ``log_path``."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediaproto.server", "--rtmp-port", "0", "--rtsp-port", "0", "--http-port", "0",
         "--rtp-port", "0", *(extra or [])],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 30
    while len(ports) < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            break
        for proto in ("http", "rtsp", "rtmp"):
            m = re.search(rf"{proto}://127\.0\.0\.1:(\d+)/", line)
            if m:
                ports[proto] = int(m[1])
    if len(ports) < 3:
        proc.kill()
        raise RuntimeError(f"the server did not start: {log_path.read_text()[-2000:]}")
    return proc, ports


def start_player(ffmpeg: str, name: str, url: str) -> Player:
    proc = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-i", url, "-map", "0:v", "-f", "framecrc", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    player = Player(name, proc)
    player.start_reading()
    return player


async def _connect(loop: asyncio.AbstractEventLoop, port: int, source: str, timeout: float) -> socket.socket:
    sock = socket.socket()
    sock.setblocking(False)
    try:
        sock.bind((source, 0))
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
    except BaseException:
        sock.close()
        raise
    return sock


async def _until_closed(loop: asyncio.AbstractEventLoop, sock: socket.socket, end: float) -> float | None:
    """Read until the server closes (its time) or ``end`` (None)."""
    try:
        while True:
            left = end - loop.time()
            if left <= 0:
                return None
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), left)
            if not data:
                return loop.time()
    except (asyncio.TimeoutError, TimeoutError):
        return None
    except OSError:
        return loop.time()


async def _idle(loop: asyncio.AbstractEventLoop, port: int, source: str, end: float, figures: Figures,
                first: bytes = b"") -> None:
    start = loop.time()
    try:
        sock = await _connect(loop, port, source, max(1.0, end - loop.time()))
    except (OSError, asyncio.TimeoutError, TimeoutError):
        figures.idle_connect_failed += 1
        return
    figures.idle_opened += 1
    try:
        if first:
            try:
                await loop.sock_sendall(sock, first)
            except OSError:
                pass
        closed = await _until_closed(loop, sock, end)
        if closed is not None:
            if closed - start < 1.0:
                figures.idle_refused_at_once += 1
            else:
                figures.idle_closed_later += 1
    finally:
        sock.close()


async def _slowloris(loop: asyncio.AbstractEventLoop, port: int, source: str, head: bytes, end: float,
                     figures: Figures) -> None:
    while loop.time() < end - 1.0:
        try:
            sock = await _connect(loop, port, source, 5.0)
        except (OSError, asyncio.TimeoutError, TimeoutError):
            await asyncio.sleep(1.0)
            continue
        figures.slowloris_connections += 1
        opened = loop.time()
        try:
            for i in range(len(head) * 1000):
                if loop.time() >= end:
                    break
                await loop.sock_sendall(sock, head[i % len(head):i % len(head) + 1] if i < len(head) - 4 else b"a")
                if await _until_closed(loop, sock, min(end, loop.time() + 1.0)) is not None:
                    break
        except OSError:
            pass
        finally:
            sock.close()
        figures.slowloris_longest_s = max(figures.slowloris_longest_s, loop.time() - opened)
        await asyncio.sleep(1.0)


async def _big_connect(loop: asyncio.AbstractEventLoop, port: int, source: str, figures: Figures) -> None:
    """Simple handshake (RTMP specification 5.2), then a type-0 chunk header announcing a 10 MB
    command message (type 20) on chunk stream 3 and its body in 128-byte chunks."""
    sock = await _connect(loop, port, source, 10.0)
    try:
        await loop.sock_sendall(sock, b"\x03" + bytes(1536))
        got = b""
        while len(got) < 1 + 2 * 1536:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
            if not chunk:
                return
            got += chunk
        await loop.sock_sendall(sock, got[1:1537])
        size = 10_000_000
        header = b"\x03" + bytes(3) + size.to_bytes(3, "big") + b"\x14" + bytes(4)
        body = b"\x02\x00\x07connect\x03" + b"\x00\x01x\x02\x00\x00" * 18  # AMF0 "connect", an object ...
        piece = (body + b"\x00" * 128)[:128]
        batch = b"".join(b"\xc3" + piece for _ in range(512))  # 512 continuation chunks, 66 KB
        await loop.sock_sendall(sock, header + piece)
        figures.connect_bytes_sent = 128
        while figures.connect_bytes_sent < size:
            await asyncio.wait_for(loop.sock_sendall(sock, batch), 10)
            figures.connect_bytes_sent += 512 * 128
    except (OSError, asyncio.TimeoutError, TimeoutError):
        pass
    finally:
        sock.close()


async def _attack(ports: dict[str, int], pid: int, case: dict[str, float], figures: Figures) -> None:
    loop = asyncio.get_running_loop()
    seconds = case["seconds"]
    start = loop.time()
    end = start + seconds
    n_idle, n_slow, n_addr = int(case["idle"]), int(case["slowloris"]), int(case["addresses"])
    samples: list[int] = []

    async def sample() -> None:
        while loop.time() < end + 1.0:
            samples.append(rss_kb(pid))
            await asyncio.sleep(0.25)

    tasks = [asyncio.create_task(sample()), asyncio.create_task(_big_connect(loop, ports["rtmp"], "127.0.3.1", figures))]
    heads = {"http": b"GET /live/test/index.m3u8 HTTP/1.1\r\nHost: x\r\nX-a: b\r\n\r\n",
             "rtsp": b"OPTIONS rtsp://127.0.0.1/live/test RTSP/1.0\r\nCSeq: 1\r\n\r\n"}
    for i in range(n_slow):
        for proto in ("http", "rtsp"):
            tasks.append(asyncio.create_task(
                _slowloris(loop, ports[proto], f"127.0.2.{1 + i % 50}", heads[proto], end, figures)))
    for wave in range(2):
        for i in range(n_idle):
            for proto in ("rtmp", "rtsp", "http"):
                first = {"rtmp": b"\x03", "rtsp": b"O", "http": b"G"}[proto] if case.get("first_byte") else b""
                tasks.append(asyncio.create_task(
                    _idle(loop, ports[proto], f"127.0.1.{1 + i % n_addr}", end, figures, first)))
            if i % 200 == 199:
                await asyncio.sleep(0.05)  # a burst, not one SYN flood the kernel drops
        if wave == 0:
            # full case: 12 s, after the handshake timeout (10 s) closed the first wave; the short
            # case's second wave meets the first one still held
            await asyncio.sleep(min(12.0, seconds / 2))
    await asyncio.gather(*tasks, return_exceptions=True)
    figures.rss_max_kb = max(samples, default=0)


def run_attack(ffmpeg: str, case: dict[str, float], workdir: Path) -> Figures:
    """Run the whole measurement (server, players, attack); returns its figures."""
    raise_fd_limit()
    figures = Figures()
    log_path = workdir / "server.log"
    server, ports = start_server(log_path)
    players: list[Player] = []
    try:
        players = [start_player(ffmpeg, "rtmp", f"rtmp://127.0.0.1:{ports['rtmp']}/live/test"),
                   start_player(ffmpeg, "hls", f"http://127.0.0.1:{ports['http']}/live/test/index.m3u8")]
        deadline = time.monotonic() + 30
        while any(len(p.times) < 25 for p in players):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the players did not start: {[(p.name, len(p.times)) for p in players]}")
            time.sleep(0.1)
        time.sleep(1.0)
        figures.rss_before_kb = rss_kb(server.pid)
        start = time.monotonic()
        asyncio.run(_attack(ports, server.pid, case, figures))
        end = time.monotonic()
        time.sleep(2.0)
        figures.hwm_kb = rss_kb(server.pid, "VmHWM")
        figures.rss_after_kb = rss_kb(server.pid)
        for p in players:
            during = p.frames_between(start, end)
            gaps = [b - a for a, b in zip([start, *during], [*during, end])]
            figures.players[p.name] = {"frames": len(during), "seconds": round(end - start, 1),
                                       "longest_gap_s": round(max(gaps), 2), "alive": float(p.proc.poll() is None)}
    finally:
        for p in players:
            p.proc.kill()
            p.proc.wait()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    figures.log_lines = log_path.read_text(errors="replace").splitlines()
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the issue's numbers (5,000 idle per port, 1,000 slowloris)")
    p.add_argument("--first-byte", action="store_true",
                   help="idle connections send one byte first (the server then builds their sessions)")
    a = p.parse_args()
    import tempfile

    case = dict(FULL if a.full else SMALL, first_byte=float(a.first_byte))
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_attack("ffmpeg", case, Path(tmp))
        print(json.dumps(figures.as_dict(), indent=2))
        for line in figures.log_lines:
            if "refused" in line or "closing" in line:
                print(line)


if __name__ == "__main__":
    main()
