"""Per-path credentials, enforced for FFmpeg publishers and players over RTMP, RTSP (TCP and UDP)
and HLS: a public path, a read-protected path and a publish-protected path.

Right credentials play (FFmpeg decodes a second of the stream with no error); missing or wrong
ones are refused with the protocol's own answer: RTSP 401, HTTP 401 (none given) or 403 (wrong
ones), RTMP an error onStatus (``NetStream.Play.Unauthorized``, read with our own client too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from mediaproto.aio import rtmp as aio_rtmp
from mediaproto.aio.session import SessionError
from mediaproto.server.config import PathConfig
from mediaproto.server.testsource import publish_test_source

from ._live import LiveServer, free_config, live_server_thread

pytestmark = pytest.mark.interop

PATHS = {
    "live/public": PathConfig(),
    "live/private": PathConfig(read_user="viewer", read_pass="letmein"),
    "live/guarded": PathConfig(publish_user="pub", publish_pass="s3cret", read_token="tok"),
    "~^live/": PathConfig(),  # the rest of live/ is open; other paths are not configured
}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    config = free_config(paths=dict(PATHS), test_source=False, auth_log_interval=0.0, rtmp_play_wait=1.0)
    with live_server_thread(config) as (live, loop):
        tasks = [asyncio.run_coroutine_threadsafe(_publish(live, name), loop) for name in ("live/public", "live/private")]
        deadline = time.monotonic() + 10
        while not all(n in live.hls and live.hls[n].playlist() for n in ("live/public", "live/private")):
            assert time.monotonic() < deadline, "the in-process publishers did not start"
            time.sleep(0.1)
        yield live
        for t in tasks:
            t.cancel()


async def _publish(live: LiveServer, name: str) -> None:
    await publish_test_source(live.hub, name, width=160, height=120)


def _play(ffmpeg: str, url: str, transport: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["-rtsp_transport", transport, "-timeout", "8000000"] if transport else ["-rw_timeout", "8000000"]
    return subprocess.run([ffmpeg, "-v", "error", *extra, "-i", url, "-t", "1",
                           "-f", "null", "-"], capture_output=True, text=True, timeout=40)


def _url(live: LiveServer, proto: str, path: str, creds: tuple[str, str] | None, token: str | None = None) -> str:
    p = live.ports
    if proto == "rtmp":
        query = f"?user={creds[0]}&pass={creds[1]}" if creds else (f"?token={token}" if token else "")
        return f"rtmp://127.0.0.1:{p['rtmp']}/{path}{query}"
    if proto == "hls":
        query = f"?user={creds[0]}&pass={creds[1]}" if creds else (f"?token={token}" if token else "")
        return f"http://127.0.0.1:{p['http']}/{path}/index.m3u8{query}"
    userinfo = f"{creds[0]}:{creds[1]}@" if creds else ""
    query = f"?token={token}" if token else ""
    return f"rtsp://{userinfo}127.0.0.1:{p['rtsp']}/{path}{query}"


PLAYERS = [("rtmp", None), ("rtsp", "tcp"), ("rtsp", "udp"), ("hls", None)]


@pytest.mark.parametrize("proto, transport", PLAYERS)
def test_the_public_path_plays_without_credentials(ffmpeg: str, server: LiveServer, proto: str,
                                                   transport: str | None) -> None:
    out = _play(ffmpeg, _url(server, proto, "live/public", None), transport)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


@pytest.mark.parametrize("proto, transport", PLAYERS)
def test_the_read_protected_path(ffmpeg: str, server: LiveServer, proto: str, transport: str | None) -> None:
    good = _play(ffmpeg, _url(server, proto, "live/private", ("viewer", "letmein")), transport)
    assert good.returncode == 0 and not good.stderr.strip(), good.stderr
    missing = _play(ffmpeg, _url(server, proto, "live/private", None), transport)
    wrong = _play(ffmpeg, _url(server, proto, "live/private", ("viewer", "nope")), transport)
    assert missing.returncode != 0 and wrong.returncode != 0
    if proto == "rtsp":
        assert "401" in missing.stderr and "401" in wrong.stderr, (missing.stderr, wrong.stderr)
    elif proto == "hls":
        assert "401" in missing.stderr and "403" in wrong.stderr, (missing.stderr, wrong.stderr)
    else:  # FFmpeg prints the description of the error onStatus
        assert "refused" in missing.stderr and "refused" in wrong.stderr, (missing.stderr, wrong.stderr)


def test_rtmp_refusals_are_error_statuses(server: LiveServer) -> None:
    async def play(url: str) -> str:
        client = await aio_rtmp.connect(url, timeout=5)
        try:
            await client.play()
            return "played"
        except SessionError as exc:
            return str(exc)
        finally:
            await client.close()

    assert asyncio.run(play(_url(server, "rtmp", "live/private", ("viewer", "letmein")))) == "played"
    assert "NetStream.Play.Unauthorized" in asyncio.run(play(_url(server, "rtmp", "live/private", ("a", "b"))))
    # a stream nobody publishes: StreamNotFound after config.rtmp_play_wait
    t0 = time.monotonic()
    assert "NetStream.Play.StreamNotFound" in asyncio.run(play(_url(server, "rtmp", "live/public-nobody", None)))
    assert 0.9 < time.monotonic() - t0 < 5
    # a path no entry of the configuration matches
    assert "NetStream.Play.StreamNotFound" in asyncio.run(play(_url(server, "rtmp", "other/x", None)))


def _publish_ffmpeg(ffmpeg: str, url: str, proto: str) -> subprocess.Popen[str]:
    fmt = ["-f", "flv"] if proto == "rtmp" else ["-f", "rtsp", "-rtsp_transport", "tcp"]
    return subprocess.Popen([ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "30",
                             "-c:v", "libx264", "-g", "25", "-c:a", "aac", *fmt, url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _live_names(server: LiveServer) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['http']}/api/streams", timeout=5) as r:
        return {s["name"] for s in json.loads(r.read())["streams"]}


def _outcome(server: LiveServer, proc: subprocess.Popen[str], name: str, seconds: float = 10) -> bool:
    """Whether the publisher's stream went live (False when FFmpeg gave up first)."""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if name in _live_names(server):
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize("proto", ["rtmp", "rtsp"])
def test_the_publish_protected_path(ffmpeg: str, server: LiveServer, proto: str) -> None:
    for creds, expected in ((None, False), (("pub", "wrong"), False), (("pub", "s3cret"), True)):
        proc = _publish_ffmpeg(ffmpeg, _url(server, proto, "live/guarded", creds), proto)
        went_live = _outcome(server, proc, "live/guarded")
        stderr = proc.stderr.read() if proc.stderr else ""
        assert went_live is expected, (creds, stderr)
        if not expected:
            assert ("401" in stderr) if proto == "rtsp" else ("refused" in stderr), stderr
        deadline = time.monotonic() + 5
        while "live/guarded" in _live_names(server):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_the_publish_protected_path_plays_with_its_read_token(ffmpeg: str, server: LiveServer) -> None:
    proc = _publish_ffmpeg(ffmpeg, _url(server, "rtmp", "live/guarded", ("pub", "s3cret")), "rtmp")
    try:
        deadline = time.monotonic() + 10
        while "live/guarded" not in _live_names(server):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        for proto, transport in PLAYERS:
            good = _play(ffmpeg, _url(server, proto, "live/guarded", None, token="tok"), transport)
            assert good.returncode == 0 and not good.stderr.strip(), (proto, transport, good.stderr)
            bad = _play(ffmpeg, _url(server, proto, "live/guarded", None, token="bad"), transport)
            assert bad.returncode != 0, (proto, transport)
    finally:
        proc.kill()
        proc.wait(5)


def test_refusals_are_logged_with_the_address_and_rate_limited(server: LiveServer,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    refusals = server.context.auth.refusals
    caplog.set_level(logging.WARNING, logger="mediaproto.server.auth")
    refusals.interval = 60.0
    refusals._seen.clear()  # the refusals of the tests before
    try:
        for _ in range(5):
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(_url(server, "hls", "live/private", ("viewer", "bad")), timeout=5)
            assert info.value.code == 403
    finally:
        refusals.interval = 0.0
    lines = [r.getMessage() for r in caplog.records if "live/private" in r.getMessage()]
    assert lines == ["hls 127.0.0.1: refused live/private: wrong credentials"], lines
    assert refusals.counts[("hls", "wrong credentials")] >= 5


def test_rtsp_describe_of_an_unknown_stream_is_404(ffmpeg: str, server: LiveServer) -> None:
    for path in ("live/nobody-publishes-this", "other/not-configured"):
        out = _play(ffmpeg, _url(server, "rtsp", path, None), "tcp")
        assert out.returncode != 0 and "404" in out.stderr, out.stderr
