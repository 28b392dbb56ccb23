"""The command people run: ``mediaproto-server`` / ``python -m mediaproto.server``.

Each test starts the real command in a subprocess on free ports of 127.0.0.1 and stops it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mediaproto.server.cli import build_parser
from mediaproto.server.config import Config, Limits

COMMAND = [sys.executable, "-m", "mediaproto.server"]


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_udp_pair() -> int:
    """An even UDP port whose successor is free too."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port % 2:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError("no free UDP pair")


def port_args() -> tuple[list[str], dict[str, int]]:
    rtmp, rtsp, http = free_ports(3)
    rtp = free_udp_pair()
    ports = {"rtmp": rtmp, "rtsp": rtsp, "http": http, "rtp": rtp}
    return ["--rtmp-port", str(rtmp), "--rtsp-port", str(rtsp), "--http-port", str(http), "--rtp-port", str(rtp)], ports


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, int], str]]:
    """The server in a subprocess; yields it, its ports and its banner (what it printed first)."""
    pargs, ports = port_args()
    proc = subprocess.Popen([*COMMAND, *pargs, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = []
        deadline = time.monotonic() + 15
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            if "Ctrl-C" in line:
                break
        assert any("Ctrl-C" in line for line in banner), (banner, proc.stderr.read() if proc.poll() is not None else "")
        yield proc, ports, "".join(banner)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_help_lists_every_option() -> None:
    out = subprocess.run([*COMMAND, "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("usage: mediaproto-server")
    # Every configuration field and limit has a flag (the nested limits object aside).
    for name in Config.__dataclass_fields__:
        if name in ("limits", "rtcp_port", "verbose", "paths"):  # paths: only in the configuration file
            continue
        flag = {"test_source": "--no-test-source", "config_file": "--config"}.get(name, "--" + name.replace("_", "-"))
        assert flag in text, flag
    flags = {a.dest for a in build_parser()._actions}
    for name in ("gop_frames", "high_water", "drop_water", "slow_timeout", "rtmp_idle_timeout", "handshake_timeout",
                 "http_idle_timeout"):
        assert name in flags and name in Limits.__dataclass_fields__


def test_console_script_is_installed() -> None:
    # pip puts the script beside the interpreter of the environment it installed into.
    script = Path(sys.executable).with_name("mediaproto-server")
    if not script.exists():
        script = Path(shutil.which("mediaproto-server") or "mediaproto-server")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "mediaproto-server" in out.stdout


def hls_segment(port: int) -> bytes:
    """The first segment of live/test's playlist, once it has one (within 15 s)."""
    url = f"http://127.0.0.1:{port}/live/test/index.m3u8"
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                text = r.read().decode()
            if "#EXTINF" in text:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "no HLS playlist for live/test"
        time.sleep(0.2)
    segment = next(line for line in text.splitlines() if line and not line.startswith("#"))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/live/test/{segment}", timeout=5) as r:
        return bytes(r.read())


def test_serves_the_test_stream_over_hls() -> None:
    with running() as (_, ports, banner):
        assert f"rtmp://127.0.0.1:{ports['rtmp']}/live/test" in banner
        data = hls_segment(ports["http"])
        assert data[0] == 0x47 and len(data) % 188 == 0


def test_without_test_source_the_banner_does_not_advertise_it() -> None:
    with running("--no-test-source", "--token", "s3cret") as (_, ports, banner):
        assert "live/test" not in banner
        assert f"rtmp://127.0.0.1:{ports['rtmp']}/live/NAME?token=s3cret" in banner


def test_a_port_in_use_is_one_line_naming_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pargs, _ = port_args()
        pargs[1] = str(port)  # --rtmp-port
        out = subprocess.run([*COMMAND, *pargs], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [f"mediaproto-server: cannot listen: --rtmp-port {port} on 127.0.0.1: address already in use"]


def test_a_bad_option_value_exits_2() -> None:
    out = subprocess.run([*COMMAND, "--test-size", "big"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "WIDTHxHEIGHT" in out.stderr


@pytest.mark.interop
def test_ffprobe_reads_the_test_stream_over_rtsp_and_rtmp(ffprobe: str) -> None:
    with running() as (_, ports, _banner):
        for url, extra in ((f"rtsp://127.0.0.1:{ports['rtsp']}/live/test", ["-rtsp_transport", "tcp"]),
                           (f"rtmp://127.0.0.1:{ports['rtmp']}/live/test", [])):
            out = subprocess.run([ffprobe, "-v", "error", *extra, "-show_entries", "stream=codec_name",
                                  "-of", "csv=p=0", url], capture_output=True, text=True, timeout=30,
                                 env={**os.environ})
            assert sorted(out.stdout.split()) == ["aac", "h264"], (url, out.stderr)
