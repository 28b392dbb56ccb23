"""``mediaproto-server`` (and ``python -m mediaproto.server``): the live server from the command line.

    mediaproto-server                       # RTMP :1935, HTTP :8080, RTSP :8554 on 127.0.0.1
    mediaproto-server --host 0.0.0.0 --ll-hls

Publish from OBS or ffmpeg to ``rtmp://HOST:1935/live/<name>`` (or ANNOUNCE/RECORD to
``rtsp://HOST:8554/live/<name>``); play it as

    http://HOST:8080/live/<name>/index.m3u8    (HLS; LL-HLS with --ll-hls)
    rtsp://HOST:8554/live/<name>               (TCP interleaved or UDP)
    rtmp://HOST:1935/live/<name>

The built-in test source is published as ``live/test`` unless --no-test-source. The index page at
``http://HOST:8080/`` lists the live streams with a player; ``/api/v1/paths``, ``/api/v1/sessions``
and ``/metrics`` (Prometheus) give statistics.

    mediaproto-server --config server.toml         # per-path credentials, sources, recording
    mediaproto-server --config server.toml --print-config

Flags override the file. A configuration file with a mistake, a port in use or a directory that
cannot be written gives one line naming the option and the value, and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import sys
import tempfile
from typing import Any, Callable, Coroutine

from .app import ListenError, LiveServer
from .config import Config, Limits
from .configfile import ConfigError, dumps, load
from .record import record_root

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
    g = p.add_argument_group("configuration file")
    g.add_argument("--config", metavar="FILE", help="read the configuration (TOML) from FILE; flags override it")
    g.add_argument("--print-config", action="store_true",
                   help="print the effective configuration as TOML and exit (passwords and tokens masked)")
    g.add_argument("--show-secrets", action="store_true", help="with --print-config: show passwords and tokens")
    g = p.add_argument_group("access")
    g.add_argument("--token", help="publishers must add ?token=TOKEN to the stream key (RTMP) or URL (RTSP)")
    g.add_argument("--rtsp-user", help="require RTSP Digest authentication with this user ...")
    g.add_argument("--rtsp-password", help="... and this password")
    g.add_argument("--api-token", help="/api/v1/... and /metrics need Authorization: Bearer TOKEN or ?token=TOKEN")
    g.add_argument("--auth-log-interval", type=float, default=d.auth_log_interval,
                   help=f"seconds between log lines about refusals from one address (default {d.auth_log_interval})")
    g.add_argument("--rtmp-play-wait", type=float, default=d.rtmp_play_wait,
                   help="seconds an RTMP play of an unpublished stream waits before NetStream.Play.StreamNotFound "
                        f"(default {d.rtmp_play_wait})")
    g = p.add_argument_group("HLS")
    g.add_argument("--hls-segment", type=float, default=d.hls_segment,
                   help=f"target segment duration in seconds (default {d.hls_segment})")
    g.add_argument("--hls-window", type=int, default=d.hls_window, help=f"segments in the live playlist (default {d.hls_window})")
    g.add_argument("--ll-hls", action="store_true", help="low-latency HLS: partial segments, blocking reloads")
    g.add_argument("--part-target", type=float, default=d.part_target,
                   help=f"LL-HLS part duration in seconds (default {d.part_target})")
    g.add_argument("--hls-container", choices=("ts", "fmp4"), default=d.hls_container,
                   help="what /live/<name>/index.m3u8 serves: MPEG-TS or fMP4 segments; both are always at "
                        f"ts.m3u8 and fmp4.m3u8 (default {d.hls_container})")
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
    g.add_argument("--write-coalesce", type=float, default=lim.write_coalesce,
                   help="seconds an RTMP or RTSP player's frames may wait to go out in one write (merged writes; "
                        f"0: every loop turn) (default {lim.write_coalesce})")
    g.add_argument("--rtmp-idle-timeout", type=float, default=lim.rtmp_idle_timeout,
                   help=f"close RTMP connections silent this long (default {lim.rtmp_idle_timeout})")
    g.add_argument("--handshake-timeout", type=float, default=lim.handshake_timeout,
                   help="close connections without a complete first request (RTSP, HTTP) or handshake and connect "
                        f"(RTMP) after this long, on every port (default {lim.handshake_timeout})")
    g.add_argument("--head-timeout", type=float, default=lim.head_timeout,
                   help="seconds one later HTTP request head or RTSP message may take from its first byte to its "
                        f"last (default {lim.head_timeout})")
    g.add_argument("--http-idle-timeout", type=float, default=lim.http_idle_timeout,
                   help=f"close idle HTTP connections after this long (default {lim.http_idle_timeout})")
    g.add_argument("--http-max-head", type=int, default=lim.http_max_head,
                   help=f"largest HTTP request head in bytes, 431 past it (default {lim.http_max_head})")
    g.add_argument("--rtsp-max-head", type=int, default=lim.rtsp_max_head,
                   help=f"largest RTSP message head in bytes (default {lim.rtsp_max_head})")
    g.add_argument("--rtmp-max-command", type=int, default=lim.rtmp_max_command,
                   help="largest RTMP message without media (connect and other commands, onMetaData and other "
                        f"data) in bytes; audio and video keep 10 MiB (default {lim.rtmp_max_command})")
    g.add_argument("--max-connections", type=int, default=lim.max_connections,
                   help=f"TCP connections held at once on each port (default {lim.max_connections})")
    g.add_argument("--max-connections-per-address", type=int, default=lim.max_connections_per_address,
                   help="TCP connections held at once from one client address, all ports together "
                        f"(default {lim.max_connections_per_address})")
    p.add_argument("--loop", choices=LOOPS, default="auto",
                   help="the event loop: uvloop when installed (pip install mediaproto[fast]) with 'auto', "
                        "else asyncio's (default auto)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


#: The choices of ``--loop``.
LOOPS = ("auto", "asyncio", "uvloop")


def loop_factory(choice: str = "auto") -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The event loop ``--loop`` picks: its name (with its version) for the log line, and a
    factory for :class:`asyncio.Runner` (``None``: asyncio's own). ``auto`` takes uvloop when it
    imports; ``uvloop`` without it raises :class:`UsageError`."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise UsageError("--loop uvloop: uvloop is not installed (pip install mediaproto[fast])") from None
        else:
            return f"uvloop {getattr(uvloop, '__version__', '?')}", uvloop.new_event_loop
    return "asyncio", None


def _run_on(main: Coroutine[Any, Any, int], factory: Callable[[], asyncio.AbstractEventLoop] | None) -> int:
    """``asyncio.run(main)`` on a loop from ``factory`` (asyncio's own for ``None``)."""
    if factory is None:
        return asyncio.run(main)
    runner_class: Any = getattr(asyncio, "Runner", None)  # Python 3.11
    if runner_class is not None:
        with runner_class(loop_factory=factory) as runner:
            return int(runner.run(main))
    loop = factory()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


_LIMIT_FLAGS = ("gop_frames", "high_water", "drop_water", "slow_timeout", "write_coalesce", "rtmp_idle_timeout",
                "handshake_timeout", "http_idle_timeout", "head_timeout", "http_max_head", "rtsp_max_head", "rtmp_max_command",
                "max_connections", "max_connections_per_address")
_CONFIG_FLAGS = ("host", "rtmp_port", "http_port", "rtsp_port", "rtp_port", "token", "rtsp_user", "rtsp_password",
                 "api_token", "auth_log_interval", "rtmp_play_wait", "hls_segment", "hls_window", "part_target",
                 "test_size", "hls_container")


class UsageError(Exception):
    """A configuration that cannot run: one line for the user, exit status 2."""


def parse_args(argv: list[str] | None = None) -> Config:
    """A :class:`Config` from the command line (and the file of ``--config``: the flags given
    override it). Raises :class:`UsageError` for a configuration file that cannot be used."""
    config, _ = _parse(argv)
    return config


def _parse(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    a = build_parser().parse_args(argv)
    bare = build_parser()  # the same options without defaults: what the command line really gave
    for action in bare._actions:
        action.default = argparse.SUPPRESS
    given = set(vars(bare.parse_args(argv)))
    if a.config:
        try:
            config = load(a.config)
        except ConfigError as exc:
            raise UsageError(f"--config {exc}") from exc
    else:
        config = Config()
    for name in _CONFIG_FLAGS:
        if name in given or not a.config:
            setattr(config, name, getattr(a, name))
    if "rtp_port" in given or not a.config:
        config.rtcp_port = a.rtp_port + 1 if a.rtp_port else 0
    for name in _LIMIT_FLAGS:
        if name in given or not a.config:
            setattr(config.limits, name, getattr(a, name))
    if a.ll_hls:
        config.ll_hls = True
    if a.no_test_source:
        config.test_source = False
    if a.verbose:
        config.verbose = True
    if config.rtsp_user is not None and any(p.read_user or p.publish_user for p in config.paths.values()):
        raise UsageError("--rtsp-user cannot be combined with read_user/publish_user of paths: "
                         "set the RTSP credentials per path")
    return config, a


def check_writable(config: Config) -> None:
    """Make sure the recordings' directories can be written (:class:`UsageError` naming the path
    and the setting when not)."""
    for name, settings in config.paths.items():
        if not settings.record:
            continue
        path = name if not name.startswith("~") and name not in ("all", "all_others") else "PATH"
        root = record_root(settings.record_path, path)
        existing = root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise UsageError(f"paths.{name}.record_path {settings.record_path!r}: {existing} is not a directory")
        # Try it rather than ask os.access (which says yes to root on a read-only file system).
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=root):
                pass
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise UsageError(f"paths.{name}.record_path {settings.record_path!r}: {reason}: "
                             f"{exc.filename or root}") from None


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


async def run(config: Config, loop_name: str = "") -> int:
    """Run the server until SIGINT or SIGTERM; 2 when a listener cannot be bound. ``loop_name``
    (the event loop, for the log) is logged once the server listens."""
    server = LiveServer(config)
    try:
        await server.start()
    except ListenError as exc:
        await server.stop()
        print(f"mediaproto-server: cannot listen: {_describe(exc, config)}", file=sys.stderr)
        return 2
    if loop_name:
        log.info("event loop: %s", loop_name)
    if config.config_file:
        log.info("configuration from %s", config.config_file)
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
    try:
        config, args = _parse(argv)
        if args.print_config:
            sys.stdout.write(dumps(config, show_secrets=args.show_secrets))
            return 0
        check_writable(config)
        loop_name, factory = loop_factory(args.loop)
    except UsageError as exc:
        print(f"mediaproto-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if config.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    note = " (uvloop not installed: pip install mediaproto[fast] for a faster one)" \
        if loop_name == "asyncio" and args.loop == "auto" else ""
    try:
        return _run_on(run(config, f"{loop_name}{note}"), factory)
    except KeyboardInterrupt:
        return 130
