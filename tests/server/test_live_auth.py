"""The live server's publisher token (RTMP stream key, RTSP URL) and RTSP Digest authentication."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from ._live import Config, LiveServer, live_server_thread

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, token="s3cret",
                    rtsp_user="alice", rtsp_password="wonder")
    with live_server_thread(config) as (live, _):
        yield live


def _live(server: LiveServer) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['http']}/api/streams", timeout=5) as r:
        return {s["name"] for s in json.loads(r.read())["streams"]}


def _publish(ffmpeg: str, url: str, fmt: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                             "-t", "20", "-c:v", "libx264", "-g", "25", *fmt, url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _went_live(server: LiveServer, name: str, proc: subprocess.Popen[str], seconds: float = 8) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if name in _live(server):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("proto", ["rtmp", "rtsp"])
def test_publishers_need_the_token(ffmpeg: str, server: LiveServer, proto: str) -> None:
    p = server.ports
    for key, expected in (("wrong", False), ("s3cret", True)):
        name = f"live/{proto}-{key}"
        if proto == "rtmp":
            url, fmt = f"rtmp://127.0.0.1:{p['rtmp']}/{name}?token={key}", ["-f", "flv"]
        else:
            url = f"rtsp://alice:wonder@127.0.0.1:{p['rtsp']}/{name}?token={key}"
            fmt = ["-f", "rtsp", "-rtsp_transport", "tcp"]
        proc = _publish(ffmpeg, url, fmt)
        try:
            assert _went_live(server, name, proc) is expected, (key, proc.stderr.read() if proc.stderr else "")
        finally:
            proc.kill()
            proc.wait(5)


def test_rtsp_players_need_the_password(ffmpeg: str, server: LiveServer) -> None:
    port = server.ports["rtsp"]
    bad = subprocess.run([ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i",
                          f"rtsp://alice:nope@127.0.0.1:{port}/live/test", "-t", "1", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "401" in bad.stderr
    good = subprocess.run([ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i",
                           f"rtsp://alice:wonder@127.0.0.1:{port}/live/test", "-t", "1", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=30)
    assert good.returncode == 0 and not good.stderr.strip(), good.stderr
