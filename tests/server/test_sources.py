"""Pulled sources: a path sourced from gst-rtsp-server (H.264 + AAC, Digest authentication) and
one from another mediaproto-server over RTMP play over HLS, RTMP and RTSP; when the source
stops for 5 s and starts again, the path comes back by itself and players that reconnect play.
An on-demand source starts with its first reader and stops after the last one left."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mediaproto.server.config import PathConfig

from ._live import LiveServer, free_config, live_server_thread

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi (the test venv may not have gi)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _has_gst_rtsp_server() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True, timeout=30)
    return probe.returncode == 0 and shutil.which("gst-inspect-1.0") is not None


@contextmanager
def gst_camera(port: int) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([SYSTEM_PYTHON, str(HERE / "gst_rtsp_source.py"), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def _live(server: LiveServer, name: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['http']}/api/v1/paths", timeout=5) as r:
        return any(p["name"] == name and p["ready"] for p in json.loads(r.read())["paths"])


def _wait_live(server: LiveServer, name: str, live: bool = True, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while _live(server, name) is not live:
        assert time.monotonic() < deadline, f"{name} did not become {'live' if live else 'idle'}"
        time.sleep(0.2)


def _plays(ffmpeg: str, server: LiveServer, name: str) -> None:
    p = server.ports
    for url, extra in ((f"http://127.0.0.1:{p['http']}/{name}/index.m3u8", []),
                       (f"rtmp://127.0.0.1:{p['rtmp']}/{name}", []),
                       (f"rtsp://127.0.0.1:{p['rtsp']}/{name}", ["-rtsp_transport", "tcp"])):
        out = subprocess.run([ffmpeg, "-v", "error", *extra, "-i", url, "-t", "2", "-f", "null", "-"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and not out.stderr.strip(), (url, out.stderr)
        probe = subprocess.run([ffmpeg, "-v", "error", *extra, "-i", url, "-t", "1", "-map", "0", "-c", "copy",
                                "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, (url, probe.stderr)


@pytest.mark.skipif(not _has_gst_rtsp_server(), reason="gst-rtsp-server's Python bindings are missing")
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_a_gst_rtsp_server_camera_with_digest_plays_everywhere(ffmpeg: str, transport: str) -> None:
    port = _free_port()
    paths = {"cams/gst": PathConfig(source=f"rtsp://cam:secret@127.0.0.1:{port}/cam", source_transport=transport,
                                    source_retry=0.5, source_retry_max=2.0)}
    with gst_camera(port), live_server_thread(free_config(paths=paths, test_source=False)) as (server, _):
        _wait_live(server, "cams/gst")
        tracks = {t.codec.value for t in server.hub.streams["cams/gst"].tracks.values()}
        assert tracks == {"h264", "aac"}, tracks
        _plays(ffmpeg, server, "cams/gst")


@pytest.mark.skipif(not _has_gst_rtsp_server(), reason="gst-rtsp-server's Python bindings are missing")
def test_the_camera_comes_back_after_5_s(ffmpeg: str) -> None:
    port = _free_port()
    paths = {"cams/gst": PathConfig(source=f"rtsp://cam:secret@127.0.0.1:{port}/cam", source_retry=0.5,
                                    source_retry_max=2.0)}
    with live_server_thread(free_config(paths=paths, test_source=False)) as (server, _):
        with gst_camera(port):
            _wait_live(server, "cams/gst")
        _wait_live(server, "cams/gst", live=False, seconds=15)  # silent or closed: the source is dropped
        time.sleep(5)
        with gst_camera(port):
            _wait_live(server, "cams/gst", seconds=20)
            _plays(ffmpeg, server, "cams/gst")


def test_an_rtmp_source_from_another_server_comes_back(ffmpeg: str) -> None:
    upstream_port = _free_port()
    upstream = free_config(rtmp_port=upstream_port, test_size=(160, 120))
    paths = {"relay/test": PathConfig(source=f"rtmp://127.0.0.1:{upstream_port}/live/test", source_retry=0.5,
                                      source_retry_max=2.0)}
    with live_server_thread(free_config(paths=paths, test_source=False)) as (server, _):
        with live_server_thread(upstream):
            _wait_live(server, "relay/test")
            _plays(ffmpeg, server, "relay/test")
        _wait_live(server, "relay/test", live=False, seconds=15)
        time.sleep(5)
        with live_server_thread(upstream):
            _wait_live(server, "relay/test", seconds=20)
            _plays(ffmpeg, server, "relay/test")


def test_an_on_demand_source_starts_with_its_reader_and_stops_after(ffmpeg: str) -> None:
    upstream_port = _free_port()
    upstream = free_config(rtmp_port=upstream_port, test_size=(160, 120))
    paths = {"relay/lazy": PathConfig(source=f"rtmp://127.0.0.1:{upstream_port}/live/test", source_on_demand=True,
                                      source_on_demand_close_after=2.0)}
    with live_server_thread(upstream) as (up, _), \
            live_server_thread(free_config(paths=paths, test_source=False)) as (server, loop):
        time.sleep(1.5)
        assert not _live(server, "relay/lazy")  # nobody asked yet
        assert not [s for s in up.context.sessions.open_sessions.values() if s.role == "read"]
        p = server.ports
        for url, extra in ((f"rtmp://127.0.0.1:{p['rtmp']}/relay/lazy", []),
                           (f"rtsp://127.0.0.1:{p['rtsp']}/relay/lazy", ["-rtsp_transport", "tcp"]),
                           (f"http://127.0.0.1:{p['http']}/relay/lazy/index.m3u8", [])):
            out = subprocess.run([ffmpeg, "-v", "error", *extra, "-i", url, "-t", "1", "-f", "null", "-"],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0 and not out.stderr.strip(), (url, out.stderr)
            # after the last reader, the source stops (close_after 2 s; HLS readers count 15 s idle)
        assert server.http is not None
        loop.call_soon_threadsafe(server.http.sweep, float("inf"))  # the HLS reader is gone now
        _wait_live(server, "relay/lazy", live=False, seconds=30)  # 2 s after the last reader; slack for a loaded machine
