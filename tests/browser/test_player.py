"""Our MSE player, and hls.js, in Debian's headless Chromium (Playwright), against the live server.

Two servers run in-process on free ports: plain HLS (1 s segments) and LL-HLS (1 s segments,
0.2 s parts). Each serves the test source ``live/test`` and a stream ffmpeg publishes over RTMP
(x264 with B-frames + AAC). The browser can reach nothing but 127.0.0.1. What is checked (the
numbers are issue 15's):

* our player, forced onto Media Source Extensions with ``?player=mse`` (Debian's Chromium also
  plays HLS natively): ``currentTime`` advances by at least 8 s in 10 s, ``getVideoPlaybackQuality``
  reports at most 1 % dropped frames, the page logs no error and asks no other host for anything;
  a screenshot of the playing page is kept (its path is printed);
* hls.js (npm, ``tests/browser/node_modules``, served to the page by the test through Playwright's
  request routing) plays the same fMP4 playlists by the same measures (taken from 3 s after it
  starts: it seeks to its live sync point first), with no fatal error;
* the index page: every stream plays with our player, a stream published after the page loaded
  appears and plays without a reload, ``Cache-Control: no-store``, no request leaves 127.0.0.1;
  without ``?player=mse`` the native player is taken where the browser has one; with neither
  native HLS nor MSE the page says why.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server._live import Config, LiveServer, live_server_thread

from . import _browser
from ._browser import HLSJS, Watch, launch, state, watch_playback

pytestmark = pytest.mark.interop

FPS = 25


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if _browser.chromium() is None:
        _browser.missing("Debian's chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _browser.missing("playwright (pip install playwright)")
    with launch() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a context of its own: closing the context closes its keep-alive connections
    before the server stops."""
    context = browser.new_context(viewport={"width": 800, "height": 600})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module", params=["hls", "llhls"])
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0,
                    ll_hls=request.param == "llhls", part_target=0.2, hls_segment=1.0)
    with live_server_thread(config) as (live, _):
        yield live


def publish(ffmpeg: str, server: LiveServer, name: str, seconds: int = 90) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-g", str(FPS), "-bf", "2", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-f", "flv", f"rtmp://127.0.0.1:{server.ports['rtmp']}/{name}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def x264(server: LiveServer, ffmpeg: str) -> Iterator[str]:
    proc = publish(ffmpeg, server, "live/x264")
    try:
        yield "live/x264"
    finally:
        proc.kill()
        proc.wait(10)


def wait_segments(base: str, n: int = 3, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "fmp4.m3u8", timeout=10) as r:
                if r.read().count(b"#EXTINF") >= n:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{base}fmp4.m3u8 never had {n} segments"
        time.sleep(0.3)


@pytest.fixture(scope="module", params=["test source", "x264"])
def stream(request: pytest.FixtureRequest, server: LiveServer) -> str:
    name = request.getfixturevalue("x264") if request.param == "x264" else "live/test"
    wait_segments(f"http://127.0.0.1:{server.ports['http']}/{name}/")
    return name


def check_playback(before: dict[str, Any], after: dict[str, Any], elapsed: float) -> None:
    advanced = after["time"] - before["time"]
    assert advanced >= 8.0 * elapsed / 10.0, f"currentTime advanced {advanced:.2f} s in {elapsed:.2f} s"
    assert after["total"] > 0
    assert after["dropped"] <= 0.01 * after["total"], f"{after['dropped']} of {after['total']} frames dropped"


def keep(page: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000
    print(f"screenshot: {shot}")


def test_our_player_plays_with_mse(page: Any, server: LiveServer, stream: str, tmp_path: Path) -> None:
    watch = Watch(page)
    page.goto(f"http://127.0.0.1:{server.ports['http']}/{stream}/player.html?player=mse")
    before, after, elapsed = watch_playback(page)
    assert after["player"] == "mse", after
    assert not after["error"], after
    check_playback(before, after, elapsed)
    keep(page, tmp_path, "mse-" + stream.replace("/", "-"))
    assert not watch.errors, watch.errors
    assert not watch.foreign, watch.foreign


HLSJS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
<video muted autoplay playsinline width="640"></video>
<script src="/__test__/hls.min.js"></script>
<script>
const video = document.querySelector('video');
window.fatal = [];
const hls = new Hls({lowLatencyMode: true});
hls.on(Hls.Events.ERROR, (event, data) => { if (data.fatal) window.fatal.push(data.type + ' ' + data.details); });
hls.loadSource(new URLSearchParams(location.search).get('src'));
hls.attachMedia(video);
video.play().catch(() => {});
</script></body></html>"""


def test_hlsjs_plays_our_playlists(page: Any, server: LiveServer, stream: str, tmp_path: Path) -> None:
    if not HLSJS.exists():
        if shutil.which("npm") is None:
            pytest.skip("hls.js is not installed and there is no npm to install it")
        _browser.missing(f"hls.js ({HLSJS}; npm install --prefix tests/browser)")
    watch = Watch(page)
    origin = f"http://127.0.0.1:{server.ports['http']}"

    def serve(route: Any) -> None:
        if route.request.url.split("?")[0].endswith("/hls.min.js"):
            route.fulfill(status=200, content_type="text/javascript", body=HLSJS.read_bytes())
        else:
            route.fulfill(status=200, content_type="text/html", body=HLSJS_PAGE)

    page.route(f"{origin}/__test__/**", serve)
    page.goto(f"{origin}/__test__/hlsjs.html?src=/{stream}/fmp4.m3u8")
    # hls.js seeks to its live sync point in its first seconds of play: measure after that.
    before, after, elapsed = watch_playback(page, settle=3.0)
    check_playback(before, after, elapsed)
    assert page.evaluate("window.fatal") == []
    keep(page, tmp_path, "hlsjs-" + stream.replace("/", "-"))
    assert not watch.errors, watch.errors
    assert not watch.foreign, watch.foreign


def test_index_page_plays_every_stream_and_follows_new_ones(page: Any, server: LiveServer, ffmpeg: str,
                                                             tmp_path: Path) -> None:
    if server.config.ll_hls:
        pytest.skip("the index page is checked once, on the plain HLS server")
    origin = f"http://127.0.0.1:{server.ports['http']}"
    with urllib.request.urlopen(origin + "/", timeout=10) as r:
        assert r.headers["Cache-Control"] == "no-store"
        html = r.read().decode()
    assert "cdn.jsdelivr" not in html and "https://" not in html
    watch = Watch(page)
    proc = None
    try:
        page.goto(origin + "/?player=mse")
        page.wait_for_selector("section[data-stream='live/test'] video")
        before, after, elapsed = watch_playback(page, 4.0, "section[data-stream='live/test'] video")
        assert after["player"] == "mse" and after["time"] > before["time"]
        # A stream published now appears, and plays, without a reload.
        page.evaluate("window.notReloaded = true")
        proc = publish(ffmpeg, server, "live/late", 40)
        page.wait_for_selector("section[data-stream='live/late'] video", timeout=30000)
        before, after, elapsed = watch_playback(page, 4.0, "section[data-stream='live/late'] video")
        assert after["player"] == "mse" and after["time"] - before["time"] >= 3.0
        assert page.evaluate("window.notReloaded") is True
        keep(page, tmp_path, "index")
        assert not watch.errors, watch.errors
        assert not watch.foreign, watch.foreign
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(10)


def test_native_hls_is_taken_unless_mse_is_forced(page: Any, server: LiveServer) -> None:
    if server.config.ll_hls:
        pytest.skip("checked once")
    native = page.evaluate("document.createElement('video').canPlayType('application/vnd.apple.mpegurl')")
    page.goto(f"http://127.0.0.1:{server.ports['http']}/live/test/player.html")
    page.wait_for_function("document.querySelector('video').dataset.player !== undefined")
    assert state(page)["player"] == ("native" if native else "mse")


def test_the_page_says_why_when_nothing_can_play(page: Any, server: LiveServer) -> None:
    if server.config.ll_hls:
        pytest.skip("checked once")
    page.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;"
                         "HTMLMediaElement.prototype.canPlayType = () => '';")
    page.goto(f"http://127.0.0.1:{server.ports['http']}/live/test/player.html")
    page.wait_for_selector("p.player-error")
    s = state(page)
    assert s["player"] == "" and "neither HLS" in s["message"] and "Media Source Extensions" in s["message"]
