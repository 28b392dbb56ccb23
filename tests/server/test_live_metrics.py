"""Observability: ``/metrics`` (parsed by prometheus_client's own parser) and the API count the
players really connected, per path and protocol; a session can be kicked; each session's start
and end is a log line; ``/api/streams`` counts HLS readers per stream; the index page loads
nothing from the internet and is not cached."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from mediaproto.server.testsource import publish_test_source

from ._live import LiveServer, free_config, live_server_thread

pytestmark = pytest.mark.interop

parser = pytest.importorskip("prometheus_client.parser")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with live_server_thread(free_config(test_size=(160, 120))) as (live, loop):
        task = asyncio.run_coroutine_threadsafe(publish_test_source(live.hub, "live/other", width=160, height=120),
                                                loop)
        yield live
        task.cancel()


def _get(server: LiveServer, path: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['http']}{path}", timeout=10) as r:
        return r.read(), dict(r.headers)


def _json(server: LiveServer, path: str) -> dict:  # type: ignore[type-arg]
    return json.loads(_get(server, path)[0])  # type: ignore[no-any-return]


def _readers(server: LiveServer) -> dict[tuple[str, str], float]:
    text = _get(server, "/metrics")[0].decode()
    out = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "mediaproto_readers":
                out[(sample.labels["path"], sample.labels["protocol"])] = sample.value
    return out


def _player(ffmpeg: str, url: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([ffmpeg, "-v", "error", *extra, "-i", url, "-t", "30", "-f", "null", "-"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_metrics_and_api_count_the_players(ffmpeg: str, server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mediaproto.server.sessions")
    p = server.ports
    players = [
        _player(ffmpeg, f"rtmp://127.0.0.1:{p['rtmp']}/live/test"),
        _player(ffmpeg, f"rtmp://127.0.0.1:{p['rtmp']}/live/test"),
        _player(ffmpeg, f"rtsp://127.0.0.1:{p['rtsp']}/live/test", "-rtsp_transport", "tcp"),
        _player(ffmpeg, f"rtsp://127.0.0.1:{p['rtsp']}/live/test", "-rtsp_transport", "udp"),
        _player(ffmpeg, f"http://127.0.0.1:{p['http']}/live/test/index.m3u8"),
        _player(ffmpeg, f"rtmp://127.0.0.1:{p['rtmp']}/live/other"),
    ]
    expected = {("live/test", "rtmp"): 2, ("live/test", "rtsp"): 2, ("live/test", "hls"): 1, ("live/other", "rtmp"): 1}
    try:
        deadline = time.monotonic() + 20
        while _readers(server) != expected:
            assert time.monotonic() < deadline, _readers(server)
            time.sleep(0.3)
        # the API agrees, per path and protocol
        paths = {x["name"]: x for x in _json(server, "/api/v1/paths")["paths"]}
        assert paths["live/test"]["readers"] == {"rtmp": 2, "rtsp": 2, "hls": 1}
        assert paths["live/other"]["readers"] == {"rtmp": 1, "rtsp": 0, "hls": 0}
        video = next(t for t in paths["live/test"]["tracks"] if t["kind"] == "video")
        assert (video["codec"], video["width"], video["height"]) == ("h264", 160, 120) and video["bitrate"] > 0
        sessions = _json(server, "/api/v1/sessions")["sessions"]
        reading = [s for s in sessions if s["role"] == "read"]
        assert len(reading) == 6 and all(s["remote"].startswith("127.0.0.1") for s in reading)
        # /api/streams counts HLS readers per stream, not for the whole server
        streams = {s["name"]: s for s in _json(server, "/api/streams")["streams"]}
        assert streams["live/test"]["players"]["hls_clients"] == 1
        assert streams["live/other"]["players"]["hls_clients"] == 0
        # bytes went out to the players
        text = _get(server, "/metrics")[0].decode()
        sent = {tuple(s.labels.values()): s.value for f in parser.text_string_to_metric_families(text)
                for s in f.samples if s.name.startswith("mediaproto_bytes_sent")}
        assert sent[("live/test", "rtmp")] > 10_000 and sent[("live/test", "hls")] > 10_000, sent
        # kick the player of live/other: it is gone and its ffmpeg ends
        victim = next(s for s in reading if s["path"] == "live/other")
        request = urllib.request.Request(f"http://127.0.0.1:{p['http']}/api/v1/sessions/{victim['id']}/kick",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=5) as r:
            assert json.loads(r.read()) == {"kicked": victim["id"]}
        players[-1].wait(15)
        deadline = time.monotonic() + 5
        while ("live/other", "rtmp") in _readers(server):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{p['http']}/api/v1/sessions/nosuch/kick", method="POST"), timeout=5)
        assert info.value.code == 404
    finally:
        for proc in players:
            proc.kill()
            proc.wait(5)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.endswith(f"start rtmp read live/other from {victim['remote']}") for m in messages), messages
    end = next(m for m in messages if f"session {victim['id']}: end rtmp read live/other" in m)
    assert " bytes in, " in end and "frames dropped" in end and "(kicked)" in end, end


def test_the_index_page_is_local_and_not_cached(server: LiveServer) -> None:
    page, headers = _get(server, "/")
    assert headers["Cache-Control"] == "no-store"
    text = page.decode()
    assert "http://" not in text.replace(f"http://127.0.0.1:{server.ports['http']}/", "") and "https://" not in text
    assert "live/test" in text and "Readers:" in text and "Tracks:" in text
    script, _ = _get(server, "/player.js")
    assert b"/api/streams" in script and b"http" not in script.replace(b"mpegurl", b"")


def test_api_token_guards_the_api(server: LiveServer) -> None:
    server.config.api_token = "adm"
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            _get(server, "/api/v1/sessions")
        assert info.value.code == 401
        assert "sessions" in _json(server, "/api/v1/sessions?token=adm")
        request = urllib.request.Request(f"http://127.0.0.1:{server.ports['http']}/metrics",
                                         headers={"Authorization": "Bearer adm"})
        with urllib.request.urlopen(request, timeout=5) as r:
            assert b"mediaproto_streams" in r.read()
    finally:
        server.config.api_token = None
