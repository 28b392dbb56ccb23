"""``mediaproto-server`` (and ``python -m mediaproto.server``): the live server from the command line.

    mediaproto-server                       # RTMP :1935, HTTP :8080, RTSP :8554 on 127.0.0.1
    mediaproto-server --host 0.0.0.0 --ll-hls

Publish from OBS or ffmpeg to ``rtmp://HOST:1935/live/<name>`` (or ANNOUNCE/RECORD to
``rtsp://HOST:8554/live/<name>``); play it as

    http://HOST:8080/live/<name>/index.m3u8    (HLS; LL-HLS with --ll-hls)
    rtsp://HOST:8554/live/<name>               (TCP interleaved or UDP)
    rtmp://HOST:1935/live/<name>

The built-in test source is published as ``live/test`` unless --no-test-source. The index page at
``http://HOST:8080/`` lists the live streams with a player; ``/api/streams`` gives statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import sys

from .app import ListenError, LiveServer
from .config import Config, Limits

__all__ = ["main", "parse_args"]

log = logging.getLogger("mediaproto.server")

_PORT_FLAGS = {"rtmp": "--rtmp-port", "rtsp": "--rtsp-port", "http": "--http-port", "rtp": "--rtp-port"}


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.partition("x")
    if not sep or not w.isascii() or not h.isascii() or not w.isdigit() or not h.isdigit() or not int(w) or not int(h):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    return int(w), int(h)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one option per field of :class:`Config` and :class:`Limits`."""
    d, lim = Config(), Limits()
    p = argparse.ArgumentParser(prog="mediaproto-server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("listeners")
    g.add_argument("--host", default=d.host, help=f"address every listener binds (default {d.host})")
    g.add_argument("--rtmp-port", type=int, default=d.rtmp_port, help=f"RTMP port (default {d.rtmp_port})")
    g.add_argument("--rtsp-port", type=int, default=d.rtsp_port, help=f"RTSP port (default {d.rtsp_port})")
    g.add_argument("--http-port", type=int, default=d.http_port, help=f"HTTP port: HLS, index, API (default {d.http_port})")
    g.add_argument("--rtp-port", type=int, default=d.rtp_port,
                   help=f"UDP RTP port for RTSP over UDP; RTCP is the next one (default {d.rtp_port})")
    g = p.add_argument_group("access")
    g.add_argument("--token", help="publishers must add ?token=TOKEN to the stream key (RTMP) or URL (RTSP)")
    g.add_argument("--rtsp-user", help="require RTSP Digest authentication with this user ...")
    g.add_argument("--rtsp-password", help="... and this password")
    g = p.add_argument_group("HLS")
    g.add_argument("--hls-segment", type=float, default=d.hls_segment,
                   help=f"target segment duration in seconds (default {d.hls_segment})")
    g.add_argument("--hls-window", type=int, default=d.hls_window, help=f"segments in the live playlist (default {d.hls_window})")
    g.add_argument("--ll-hls", action="store_true", help="low-latency HLS: partial segments, blocking reloads")
    g.add_argument("--part-target", type=float, default=d.part_target,
                   help=f"LL-HLS part duration in seconds (default {d.part_target})")
    g = p.add_argument_group("test source")
    g.add_argument("--no-test-source", action="store_true", help="do not publish live/test")
    g.add_argument("--test-size", type=_size, default=d.test_size, metavar="WxH",
                   help="test source size (default 320x240)")
    g = p.add_argument_group("limits")
    g.add_argument("--gop-frames", type=int, default=lim.gop_frames, help=f"GOP cache frames per stream (default {lim.gop_frames})")
    g.add_argument("--high-water", type=int, default=lim.high_water,
                   help=f"bytes queued to a player before it skips to the next keyframe (default {lim.high_water})")
    g.add_argument("--drop-water", type=int, default=lim.drop_water,
                   help=f"bytes queued to a player before it is dropped (default {lim.drop_water})")
    g.add_argument("--slow-timeout", type=float, default=lim.slow_timeout,
                   help=f"seconds a player may stay past --high-water (default {lim.slow_timeout})")
    g.add_argument("--rtmp-idle-timeout", type=float, default=lim.rtmp_idle_timeout,
                   help=f"close RTMP connections silent this long (default {lim.rtmp_idle_timeout})")
    g.add_argument("--handshake-timeout", type=float, default=lim.handshake_timeout,
                   help=f"close RTMP connections without a handshake after this long (default {lim.handshake_timeout})")
    g.add_argument("--http-idle-timeout", type=float, default=lim.http_idle_timeout,
                   help=f"close idle HTTP connections after this long (default {lim.http_idle_timeout})")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def parse_args(argv: list[str] | None = None) -> Config:
    """A :class:`Config` from the command line."""
    a = build_parser().parse_args(argv)
    limits = Limits(gop_frames=a.gop_frames, high_water=a.high_water, drop_water=a.drop_water,
                    slow_timeout=a.slow_timeout, rtmp_idle_timeout=a.rtmp_idle_timeout,
                    handshake_timeout=a.handshake_timeout, http_idle_timeout=a.http_idle_timeout)
    return Config(host=a.host, rtmp_port=a.rtmp_port, http_port=a.http_port, rtsp_port=a.rtsp_port,
                  rtp_port=a.rtp_port, rtcp_port=a.rtp_port + 1 if a.rtp_port else 0, token=a.token,
                  rtsp_user=a.rtsp_user, rtsp_password=a.rtsp_password, hls_segment=a.hls_segment,
                  hls_window=a.hls_window, ll_hls=a.ll_hls, part_target=a.part_target,
                  test_source=not a.no_test_source, test_size=a.test_size, limits=limits, verbose=a.verbose)


def banner(config: Config, ports: dict[str, int]) -> str:
    """What the server prints once it listens: where to play and how to publish."""
    h = config.host
    key = f"NAME?token={config.token}" if config.token else "NAME"
    lines = [f"\nmediaproto live server. Open http://{h}:{ports['http']}/ in a browser."]
    if config.test_source:
        lines += ["Play the test stream live/test with:",
                  f"  ffplay http://{h}:{ports['http']}/live/test/index.m3u8",
                  f"  ffplay rtsp://{h}:{ports['rtsp']}/live/test",
                  f"  ffplay rtmp://{h}:{ports['rtmp']}/live/test"]
    lines += [f"Publish: ffmpeg -re -i FILE -c copy -f flv rtmp://{h}:{ports['rtmp']}/live/{key}",
              "Ctrl-C stops.\n"]
    return "\n".join(lines)


async def run(config: Config) -> int:
    """Run the server until SIGINT or SIGTERM; 2 when a listener cannot be bound."""
    server = LiveServer(config)
    try:
        await server.start()
    except ListenError as exc:
        await server.stop()
        print(f"mediaproto-server: cannot listen: {_describe(exc, config)}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(banner(config, server.ports), flush=True)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    return 0


def _describe(exc: ListenError, config: Config) -> str:
    """``--rtmp-port 1935 on 127.0.0.1: address already in use``."""
    reason = {errno.EADDRINUSE: "address already in use", errno.EACCES: "permission denied",
              errno.EADDRNOTAVAIL: "address not available"}.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{_PORT_FLAGS[exc.what]} {exc.port} on {config.host}: {reason}"


def main(argv: list[str] | None = None) -> int:
    """The console script ``mediaproto-server``."""
    config = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if config.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(run(config))
    except KeyboardInterrupt:
        return 130
