"""RTSP-over-TCP players for the server comparison (``bench_vs_nginx.py --kinds rtsp``), and the
peer: gst-rtsp-server serving the same FLV file.

    python3 benchmarks/rtsp_load.py load --cpu 1 --url rtsp://127.0.0.1:8554/live/x --server-pid PID \\
        --players 500 --seconds 6 [--publish FILE --rtmp-port 1935]         # prints one JSON result
    /usr/bin/python3 benchmarks/rtsp_load.py gst --port 8554 --file FILE --cpu 0  # needs python3-gi

``load`` optionally publishes ``FILE`` to our server over RTMP in real time (``live_load.py``'s
publisher), then connects ``--players`` raw-socket RTSP players (DESCRIBE, SETUP of every track
with ``interleaved=``, PLAY). A few players parse every interleaved frame and check each
channel's RTP sequence numbers for gaps; the others (sinks) count bytes. After the last player
plays, it measures the server's CPU for ``--seconds``. A player *held* when it lost no packet
(decoders), got at least 95% of the median player's bytes and ``--min-bitrate`` (the stream in real
time), and was never disconnected.

``gst`` serves ``FILE`` (H.264 + AAC FLV) at ``rtsp://127.0.0.1:PORT/live/x`` with one shared
media (``filesrc ! flvdemux``, payloaders ``pay0``/``pay1``, in real time), looping at its end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class RtspPlayer(asyncio.Protocol):
    """DESCRIBE, SETUP every track over TCP, PLAY; then counts interleaved bytes (and, when
    ``decode``, RTP sequence gaps per channel)."""

    def __init__(self, url: str, decode: bool) -> None:
        self.url = url
        self.decode = decode
        self.buf = bytearray()
        self.cseq = 0
        self.transport: asyncio.Transport | None = None
        self.controls: list[str] = []
        self.session: str | None = None
        self.step = "describe"
        self.playing = False
        self.lost = False
        self.failed = ""
        self.bytes = 0
        self.gaps = 0
        self.packets = 0
        self.last_seq: dict[int, int] = {}

    def request(self, method: str, url: str, extra: str = "") -> None:
        self.cseq += 1
        session = f"Session: {self.session}\r\n" if self.session else ""
        assert self.transport is not None
        self.transport.write(f"{method} {url} RTSP/1.0\r\nCSeq: {self.cseq}\r\n{session}{extra}\r\n".encode())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.request("DESCRIBE", self.url, "Accept: application/sdp\r\n")

    def data_received(self, data: bytes) -> None:
        if self.playing and not self.decode:
            self.bytes += len(data)
            return
        self.buf += data
        while self.buf:
            if self.buf[0] == 0x24:  # $ channel length
                if len(self.buf) < 4:
                    return
                length = struct.unpack_from("!H", self.buf, 2)[0]
                if len(self.buf) < 4 + length:
                    return
                channel = self.buf[1]
                if channel % 2 == 0 and length >= 12:
                    seq = struct.unpack_from("!H", self.buf, 6)[0]
                    last = self.last_seq.get(channel)
                    if last is not None and seq != (last + 1) & 0xFFFF:
                        self.gaps += 1
                    self.last_seq[channel] = seq
                    self.packets += 1
                self.bytes += 4 + length
                del self.buf[:4 + length]
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            m = re.search(r"(?im)^content-length:\s*(\d+)", head)
            length = int(m[1]) if m else 0
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4:end + 4 + length]).decode("latin-1")
            del self.buf[:end + 4 + length]
            self.response(head, body)

    def response(self, head: str, body: str) -> None:
        status = int(head.split(" ", 2)[1]) if head.startswith("RTSP/") else 0
        if status != 200:
            self.failed = f"{self.step}: {head.splitlines()[0] if head else '?'}"
            assert self.transport is not None
            self.transport.close()
            return
        m = re.search(r"(?im)^session:\s*([^;\r\n]+)", head)
        if m:
            self.session = m[1].strip()
        if self.step == "describe":
            base = re.search(r"(?im)^content-base:\s*(\S+)", head)
            base_url = base[1] if base else self.url + "/"
            for section in re.split(r"(?m)^m=", body)[1:]:
                c = re.search(r"(?m)^a=control:(\S+)", section)
                control = c[1] if c else ""
                self.controls.append(control if "://" in control else base_url.rstrip("/") + "/" + control)
            self.step = "setup"
            self.setup(0)
        elif self.step == "setup":
            done = self.cseq - 1  # the SETUPs follow DESCRIBE: CSeq 2 is track 0
            if done < len(self.controls):
                self.setup(done)
            else:
                self.step = "play"
                self.request("PLAY", self.url, "Range: npt=0.000-\r\n")
        elif self.step == "play":
            self.playing = True
            self.step = "playing"

    def setup(self, index: int) -> None:
        self.request("SETUP", self.controls[index],
                     f"Transport: RTP/AVP/TCP;unicast;interleaved={2 * index}-{2 * index + 1}\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def publish(file: str, port: int, name: str, seconds: float, started: asyncio.Future[None]) -> None:
    """``live_load.py``'s real-time RTMP publisher of ``file``, for ``seconds``."""
    sys.path.insert(0, str(HERE))
    from live_load import Publisher, read_flv, schedule

    tracks, frames = read_flv(file)
    plan = schedule(frames, seconds)
    loop = asyncio.get_running_loop()
    _, pub = await loop.create_connection(lambda: Publisher(port, name, tracks), "127.0.0.1", port)
    await asyncio.wait_for(pub.started, 10)
    t0 = loop.time()
    i = 0
    while i < len(plan):
        while i < len(plan) and plan[i].dts / 1000 <= loop.time() - t0:
            pub.conn.send_frame(plan[i])
            i += 1
        pub.flush()
        if not started.done() and loop.time() - t0 > 1.0:
            started.set_result(None)
        if i < len(plan):
            await asyncio.sleep(max(0.0, t0 + plan[i].dts / 1000 - loop.time()))
    if pub.transport is not None:
        pub.transport.close()


async def trial(a: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    publisher = None
    if a.publish:
        started: asyncio.Future[None] = loop.create_future()
        name = a.url.split("/", 3)[3]
        publisher = asyncio.create_task(publish(a.publish, a.rtmp_port, name, a.seconds + 60, started))
        await asyncio.wait_for(started, 15)
    host, port = re.match(r"rtsp://([^:/]+):(\d+)", a.url).groups()  # type: ignore[union-attr]
    every = max(1, a.players // a.decode)
    players: list[RtspPlayer] = []
    for n in range(a.players):
        _, p = await loop.create_connection(lambda: RtspPlayer(a.url, n % every == 0), host, int(port))
        players.append(p)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(p.playing or p.failed or p.lost for p in players):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    cpu0, wall0, b0 = proc_cpu(a.server_pid), time.monotonic(), [p.bytes for p in players]
    await asyncio.sleep(a.seconds)
    cpu1, wall1, b1 = proc_cpu(a.server_pid), time.monotonic(), [p.bytes for p in players]
    got = sorted(y - x for x, y in zip(b0, b1))
    median = got[len(got) // 2] if got else 0
    bad = 0
    window = wall1 - wall0
    floor = max(0.95 * median, a.min_bitrate * window / 8)
    for p, x, y in zip(players, b0, b1):
        if not p.playing or p.lost or p.failed or (p.decode and p.gaps) or (y - x) < floor:
            bad += 1
    for p in players:
        if p.transport is not None:
            p.transport.close()
    if publisher is not None:
        publisher.cancel()
    return {"players": a.players, "players_not_held": bad, "not_playing": sum(not p.playing for p in players),
            "failed": next((p.failed for p in players if p.failed), ""), "gaps": sum(p.gaps for p in players),
            "median_bitrate": median * 8 / window, "server_cpu": (cpu1 - cpu0) / window, "window": window}


def gst(a: argparse.Namespace) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( multifilesrc location={a.file} loop=true ! flvdemux name=d d.video ! queue ! h264parse "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 d.audio ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )")
    factory.set_shared(True)
    server.get_mount_points().add_factory("/live/x", factory)
    if server.attach(None) == 0:
        print("cannot listen", flush=True)
        sys.exit(2)
    print(json.dumps({"pid": os.getpid()}), flush=True)
    GLib.MainLoop().run()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("load")
    t.add_argument("--cpu", type=int)
    t.add_argument("--url", required=True)
    t.add_argument("--server-pid", type=int, required=True)
    t.add_argument("--players", type=int, default=1)
    t.add_argument("--decode", type=int, default=20, help="players that check every packet (spread evenly)")
    t.add_argument("--seconds", type=float, default=6.0)
    t.add_argument("--min-bitrate", type=float, default=0.0,
                   help="bits/s each player must receive (the stream's rate less a margin: real time)")
    t.add_argument("--publish", help="an FLV file to publish over RTMP first (our server)")
    t.add_argument("--rtmp-port", type=int)
    g = sub.add_parser("gst")
    g.add_argument("--port", type=int, required=True)
    g.add_argument("--file", required=True)
    g.add_argument("--cpu", type=int)
    a = p.parse_args()
    if a.cpu is not None and hasattr(os, "sched_setaffinity") and a.cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {a.cpu})
    if a.cmd == "gst":
        gst(a)
    else:
        print(json.dumps(asyncio.run(trial(a))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
