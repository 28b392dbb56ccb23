"""Debian's Chromium driven by Playwright for Python, offline: what the browser tests and
``benchmarks/bench_browser.py`` share.

Playwright cannot download its own browser here, so :func:`launch` starts the system's
``chromium`` (or ``chromium-headless-shell``) with ``executable_path``. Its host resolver maps
every name but 127.0.0.1 to nothing, so no request can leave the machine; :class:`Watch` also
records every request to another host, every console error and every page error.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).resolve().parent
#: hls.js, installed by ``npm install --prefix tests/browser`` (``.ci/run`` does it; gitignored).
HLSJS = HERE / "node_modules" / "hls.js" / "dist" / "hls.min.js"

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

#: The video element's state, as JSON: currentTime, buffered end, playback quality, player, error.
STATE_JS = """(sel) => { const v = document.querySelector(sel); if (!v) return null;
  const q = v.getVideoPlaybackQuality(); const b = v.buffered;
  return {time: v.currentTime, end: b.length ? b.end(b.length - 1) : null, paused: v.paused,
          ready: v.readyState, dropped: q.droppedVideoFrames, total: q.totalVideoFrames,
          player: v.dataset.player || '', error: v.dataset.playerError || '',
          message: (v.nextElementSibling && v.nextElementSibling.classList.contains('player-error'))
                   ? v.nextElementSibling.textContent : ''}; }"""


def chromium() -> str | None:
    """The Debian browser, or ``None``."""
    return shutil.which("chromium") or shutil.which("chromium-headless-shell")


def missing(what: str) -> None:
    """Skip, or fail under ``MEDIAPROTO_REQUIRE_INTEROP=1``."""
    if os.environ.get("MEDIAPROTO_REQUIRE_INTEROP") == "1":
        pytest.fail(f"{what} is required (MEDIAPROTO_REQUIRE_INTEROP=1)")
    pytest.skip(what)


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """A Playwright ``Browser`` on the system Chromium (headless, offline)."""
    from playwright.sync_api import sync_playwright

    path = chromium()
    assert path is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Console errors, page errors, failed requests and requests that were not for 127.0.0.1."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))

    def _request(self, request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            self.foreign.append(request.url)


def state(page: Any, selector: str = "video") -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(STATE_JS, selector)
    return result


def wait_playing(page: Any, selector: str = "video", timeout: float = 25.0) -> dict[str, Any]:
    """Wait until the video plays (time moving, not paused); its state then."""
    deadline = time.monotonic() + timeout
    first = None
    while True:
        s = state(page, selector)
        if s and not s["paused"] and s["ready"] >= 3:
            if first is None:
                first = s["time"]
            elif s["time"] > first:
                return s
        if time.monotonic() > deadline:
            raise AssertionError(f"the video never played: {s}")
        time.sleep(0.1)


def watch_playback(page: Any, seconds: float = 10.0, selector: str = "video",
                   settle: float = 0.0) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The video's state once playing (and ``settle`` seconds more) and ``seconds`` later, and
    the wallclock time between."""
    wait_playing(page, selector)
    time.sleep(settle)
    before = state(page, selector)
    t0 = time.monotonic()
    time.sleep(seconds)
    after = state(page, selector)
    return before, after, time.monotonic() - t0
