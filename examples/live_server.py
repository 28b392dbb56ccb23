#!/usr/bin/env python3
"""The mediaproto live server: RTMP in; HLS, RTSP and RTMP out.

    python3 examples/live_server.py                  # RTMP :1935, HTTP :8080, RTSP :8554 on 127.0.0.1

Publish from OBS or ffmpeg to ``rtmp://HOST:1935/live/<name>`` (or ANNOUNCE/RECORD to
``rtsp://HOST:8554/live/<name>``); play it as

    http://HOST:8080/live/<name>/index.m3u8    (HLS; LL-HLS with --ll-hls)
    rtsp://HOST:8554/live/<name>               (TCP interleaved or UDP)
    rtmp://HOST:1935/live/<name>

The built-in test source is always published as ``live/test``. The index page at
``http://HOST:8080/`` lists the live streams with a player; ``/api/streams`` gives statistics.

Everything protocol-specific is the Sans-IO core of mediaproto; this file and ``examples/live/``
only move bytes between it and asyncio sockets, through a hub of streams (``live/hub.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from live.hls import HlsOutput  # noqa: E402
from live.http import MAX_HEAD, HttpServer, index_page  # noqa: E402
from live.hub import Hub, Stream  # noqa: E402
from live.rtmp import RtmpPlayer, RtmpSession  # noqa: E402
from live.rtsp import RtspPlayer, RtspSession  # noqa: E402
from live.udp import Routes, UdpPair, open_udp_pair  # noqa: E402
from live.testsource import publish_test_source  # noqa: E402
from mediaproto.rtsp import DigestAuthenticator  # noqa: E402

log = logging.getLogger("live")

#: Listen backlog: hundreds of players may connect at once (asyncio's default, 100, makes the
#: kernel drop the SYNs past it, and those clients retry only a second or more later).
BACKLOG = 1024


@dataclass
class Config:
    """What the command line sets."""

    host: str = "127.0.0.1"
    rtmp_port: int = 1935
    http_port: int = 8080
    rtsp_port: int = 8554
    rtp_port: int = 8000
    rtcp_port: int = 8001
    token: str | None = None
    rtsp_user: str | None = None
    rtsp_password: str | None = None
    hls_segment: float = 1.0
    hls_window: int = 6
    ll_hls: bool = False
    part_target: float = 0.2
    test_source: bool = True
    test_size: tuple[int, int] = (320, 240)


@dataclass
class LiveServer:
    """The running server: the hub, the listeners, and the HLS outputs."""

    config: Config
    hub: Hub = field(default_factory=Hub)
    hls: dict[str, HlsOutput] = field(default_factory=dict)
    udp: UdpPair | None = None
    routes: Routes = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    _servers: list[asyncio.AbstractServer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    http: HttpServer | None = None

    async def start(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        self.hub.on_stream.append(self._attach_hls)
        self.hub.on_release.append(self._detach_hls)
        authenticator = None
        passwords: dict[str, str] = {}
        if cfg.rtsp_user is not None:
            authenticator = DigestAuthenticator("mediaproto", secrets.token_bytes(16))
            passwords = {cfg.rtsp_user: cfg.rtsp_password or ""}
        self.udp = udp = await open_udp_pair(self.routes, cfg.host, cfg.rtp_port, cfg.rtcp_port or None)
        rtmp = await loop.create_server(lambda: RtmpSession(self.hub, token=cfg.token), cfg.host, cfg.rtmp_port,
                                        backlog=BACKLOG)
        rtsp = await loop.create_server(
            lambda: RtspSession(self.hub, udp, self.routes, authenticator=authenticator, passwords=passwords,
                                token=cfg.token),
            cfg.host, cfg.rtsp_port, backlog=BACKLOG)
        self.http = HttpServer(self.hls, self.stats, lambda host: index_page(self.stats()["streams"], cfg.host, self.ports))  # type: ignore[arg-type]
        http = await asyncio.start_server(self.http.handle, cfg.host, cfg.http_port, limit=MAX_HEAD, backlog=BACKLOG)
        self._servers = [rtmp, rtsp, http]
        self.ports = {
            "rtmp": rtmp.sockets[0].getsockname()[1],
            "rtsp": rtsp.sockets[0].getsockname()[1],
            "http": http.sockets[0].getsockname()[1],
            "rtp": udp.ports[0],
            "rtcp": udp.ports[1],
        }
        if cfg.test_source:
            self._tasks.append(asyncio.create_task(publish_test_source(
                self.hub, "live/test", width=cfg.test_size[0], height=cfg.test_size[1], start_time=time.time() % 86400)))
        log.info("RTMP  rtmp://%s:%d/live/<name>", cfg.host, self.ports["rtmp"])
        log.info("RTSP  rtsp://%s:%d/live/<name>", cfg.host, self.ports["rtsp"])
        log.info("HTTP  http://%s:%d/  (HLS: /live/<name>/index.m3u8)", cfg.host, self.ports["http"])

    def _detach_hls(self, stream: Stream) -> None:
        self.hls.pop(stream.name, None)

    def _attach_hls(self, stream: Stream) -> None:
        cfg = self.config
        output = HlsOutput(stream, target_duration=cfg.hls_segment, window=cfg.hls_window,
                           part_target=cfg.part_target if cfg.ll_hls else None)
        self.hls[stream.name] = output
        stream.subscribe(output)

    def stats(self) -> dict[str, object]:
        now = asyncio.get_event_loop().time()
        monotonic = time.monotonic()
        streams = []
        for stream in self.hub.streams.values():
            if not stream.live:
                continue
            rtmp_players = sum(isinstance(o, RtmpPlayer) for o in stream.outputs)
            rtsp_players = sum(isinstance(o, RtspPlayer) for o in stream.outputs)
            hls_clients = sum(1 for t in (self.http.clients.values() if self.http else ()) if now - t < 10)
            started = stream.started_at or monotonic
            streams.append({
                "name": stream.name,
                "publisher": stream.publisher,
                "tracks": [{"id": t.id, "codec": t.codec.value, "width": t.width, "height": t.height,
                            "sample_rate": t.sample_rate, "channels": t.channels} for t in stream.track_list],
                "players": {"rtmp": rtmp_players, "rtsp": rtsp_players, "hls_clients": hls_clients},
                "bitrate": round(stream.bitrate(monotonic)),
                "frames": stream.frames_in,
                "frames_skipped": stream.frames_skipped,
                "players_dropped": stream.players_dropped,
                "uptime": round(monotonic - started, 3),
            })
        return {"streams": streams, "ports": self.ports}

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in self._servers:
            server.close()
        if self.udp is not None:
            self.udp.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--rtmp-port", type=int, default=1935)
    p.add_argument("--http-port", type=int, default=8080)
    p.add_argument("--rtsp-port", type=int, default=8554)
    p.add_argument("--rtp-port", type=int, default=8000, help="UDP RTP port for RTSP (RTCP is the next one)")
    p.add_argument("--token", help="publishers must add ?token=TOKEN to the stream key (RTMP) or URL (RTSP)")
    p.add_argument("--rtsp-user", help="require RTSP Digest authentication with this user ...")
    p.add_argument("--rtsp-password", help="... and this password")
    p.add_argument("--hls-segment", type=float, default=1.0, help="HLS target segment duration in seconds")
    p.add_argument("--hls-window", type=int, default=6, help="segments in the live playlist")
    p.add_argument("--ll-hls", action="store_true", help="low-latency HLS: partial segments, blocking reloads")
    p.add_argument("--part-target", type=float, default=0.2, help="LL-HLS part duration in seconds")
    p.add_argument("--no-test-source", action="store_true", help="do not publish live/test")
    p.add_argument("--test-size", default="320x240", help="test source WIDTHxHEIGHT")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    w, _, h = a.test_size.partition("x")
    return Config(a.host, a.rtmp_port, a.http_port, a.rtsp_port, a.rtp_port, a.rtp_port + 1 if a.rtp_port else 0, a.token,
                  a.rtsp_user, a.rtsp_password, a.hls_segment, a.hls_window, a.ll_hls, a.part_target,
                  not a.no_test_source, (int(w), int(h)))


async def run(config: Config) -> None:
    server = LiveServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    h, p = config.host, server.ports
    print(f"\nmediaproto live server. Open http://{h}:{p['http']}/ in a browser, or play live/test with:\n"
          f"  ffplay http://{h}:{p['http']}/live/test/index.m3u8\n"
          f"  ffplay rtsp://{h}:{p['rtsp']}/live/test\n"
          f"  ffplay rtmp://{h}:{p['rtmp']}/live/test\n"
          f"Publish: ffmpeg -re -i FILE -c copy -f flv rtmp://{h}:{p['rtmp']}/live/NAME\n"
          "Ctrl-C stops.\n", flush=True)
    await stop.wait()
    log.info("shutting down")
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
