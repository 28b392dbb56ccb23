"""Latency from publish to display: the test source's burned-in clock, read back in Chromium.

The live server's test source ``live/test`` draws the time of day (UTC, ``hh:mm:ss.mmm``) of each
IDR picture into it, one a second, and publishes each frame when its time comes (the clock starts
at the server's ``time.time()``). Our player (``/live/test/player.html?player=mse``) plays it in
Debian's headless Chromium (Playwright, offline). A ``requestVideoFrameCallback`` on the page
grabs every presented frame into a canvas and samples the centre of each font cell of the clock
line; when the cells change (a new IDR picture is on screen), it keeps them with the frame's
expected display time (``performance.timeOrigin + expectedDisplayTime``, the wallclock of this
machine). Here the cells are decoded by comparing them with the glyphs of
:mod:`mediaproto.testsrc.font`, and latency = display wallclock - the clock in the picture.
That is the whole path: segmenter, HTTP, the player's reloads and buffer, decode and display.

Targets (issue 15): under 3 s for HLS with 1 s segments, under 1.5 s for LL-HLS (0.2 s parts).
Runs only where ``chromium`` and Playwright are installed.

    python benchmarks/run.py -k browser
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness import Bench

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediaproto.testsrc.font import GLYPH_HEIGHT, GLYPH_WIDTH, glyph_rows  # noqa: E402
from mediaproto.testsrc.picture import LINE_CHARS, Canvas  # noqa: E402

SIZE = (320, 240)
SECONDS = 20.0
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
RESULTS: dict[str, dict[str, Any]] = {}

#: Installs the frame grabber: every presented frame's clock-line cells, kept when they change.
GRAB_JS = """([x0, y0, scale, chars, gw, gh]) => {
  const v = document.querySelector('video');
  const c = document.createElement('canvas');
  const g = c.getContext('2d', {willReadFrequently: true});
  window.clockSeen = [];
  let last = '';
  const grab = (now, meta) => {
    if (v.videoWidth) {
      c.width = v.videoWidth; c.height = v.videoHeight;
      g.drawImage(v, 0, 0);
      const w = chars * (gw + 1) * scale, h = gh * scale;
      const px = g.getImageData(x0, y0, w, h).data;
      let bits = '';
      for (let r = 0; r < gh; r++)
        for (let cell = 0; cell < chars * (gw + 1); cell++) {
          const i = ((r * scale + (scale >> 1)) * w + cell * scale + (scale >> 1)) * 4;
          bits += (0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]) > 128 ? '1' : '0';
        }
      if (bits !== last) {
        last = bits;
        window.clockSeen.push([performance.timeOrigin + meta.expectedDisplayTime, bits]);
      }
    }
    v.requestVideoFrameCallback(grab);
  };
  v.requestVideoFrameCallback(grab);
}"""

_ALPHABET = "0123456789:."


def decode_clock(bits: str) -> float | None:
    """Seconds of the day of a clock line's font cells (``None`` when they do not read as one)."""
    cols = LINE_CHARS * (GLYPH_WIDTH + 1)
    rows = [bits[r * cols:(r + 1) * cols] for r in range(GLYPH_HEIGHT)]
    text = ""
    for i in range(LINE_CHARS):
        cell = "".join(row[i * (GLYPH_WIDTH + 1):i * (GLYPH_WIDTH + 1) + GLYPH_WIDTH] for row in rows)
        best, distance = "?", 99
        for ch in _ALPHABET:
            want = "".join(glyph_rows(ch)).replace("#", "1").replace(".", "0")
            d = sum(a != b for a, b in zip(cell, want))
            if d < distance:
                best, distance = ch, d
        if distance > 2:
            return None
        text += best
    if len(text) != 12 or text[2] != ":" or text[5] != ":" or text[8] != ".":
        return None
    h, m, s, ms = int(text[0:2]), int(text[3:5]), int(text[6:8]), int(text[9:12])
    return h * 3600 + m * 60 + s + ms / 1000


def _server(ll: bool) -> tuple[Any, Any, threading.Event]:
    from mediaproto.server import Config, LiveServer

    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, ll_hls=ll,
                    part_target=0.2, hls_segment=1.0, test_size=SIZE)
    loop = asyncio.new_event_loop()
    live = LiveServer(config)
    started = threading.Event()
    done = threading.Event()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        await live.start()
        started.set()
        await stop[0].wait()
        await live.stop()
        done.set()

    threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True).start()
    assert started.wait(10), "the live server did not start"
    return live, (loop, stop), done


def measure(ll: bool, seconds: float) -> dict[str, Any]:
    """Latencies (s) of every clock change displayed during ``seconds`` of play."""
    from playwright.sync_api import sync_playwright

    canvas = Canvas(*SIZE)
    x0, y0 = canvas.text_origin
    live, (loop, stop), done = _server(ll)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or shutil.which("chromium-headless-shell"),
                                        args=ARGS, headless=True)
            try:
                page = browser.new_page()
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(f"http://127.0.0.1:{live.ports['http']}/live/test/player.html?player=mse")
                page.wait_for_function("document.querySelector('video').currentTime > 0 && "
                                       "!document.querySelector('video').paused", timeout=30000)
                page.evaluate(GRAB_JS, [x0, y0, canvas.scale, LINE_CHARS, GLYPH_WIDTH, GLYPH_HEIGHT])
                time.sleep(seconds)
                seen = page.evaluate("window.clockSeen")
                quality = page.evaluate("(() => { const q = document.querySelector('video')"
                                        ".getVideoPlaybackQuality(); return [q.droppedVideoFrames, q.totalVideoFrames]; })()")
            finally:
                browser.close()
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        done.wait(10)
    latencies = []
    unread = 0
    for display_ms, bits in seen[1:]:  # the first is wherever playback was when the grab started
        clock = decode_clock(bits)
        if clock is None:
            unread += 1
            continue
        lat = (display_ms / 1000) % 86400 - clock
        lat = (lat + 43200) % 86400 - 43200  # across midnight
        latencies.append(lat)
    return {"latencies": latencies, "unread": unread, "errors": errors, "dropped": quality[0], "frames": quality[1]}


def _run(key: str, ll: bool, seconds: float) -> None:
    RESULTS[key] = measure(ll, seconds)


def _score(key: str) -> float:
    lat = RESULTS.get(key, {}).get("latencies") or [float("nan")]
    return statistics.median(lat)


def _note(key: str, target: float) -> str:
    r = RESULTS.get(key)
    if not r or not r["latencies"]:
        return f"no clock read back ({r})"
    lat = r["latencies"]
    med = statistics.median(lat)
    return (f"median {med:.2f} s over {len(lat)} clock changes (min {min(lat):.2f}, max {max(lat):.2f}); "
            f"target < {target} s: {'ok' if med < target else 'MISS'}; dropped {r['dropped']}/{r['frames']}"
            + (f"; {r['unread']} unread" if r["unread"] else "") + (f"; console errors {r['errors']}" if r["errors"] else ""))


def _available() -> bool:
    if not (shutil.which("chromium") or shutil.which("chromium-headless-shell")):
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


BENCHMARKS = [
    Bench("browser.latency HLS 1 s segments (s)", lambda: _run("hls", False, SECONDS), unit="s", once=True,
          quick_run=lambda: _run("hls", False, 4.0), score=lambda: _score("hls"), note=lambda: _note("hls", 3.0)),
    Bench("browser.latency LL-HLS 0.2 s parts (s)", lambda: _run("ll", True, SECONDS), unit="s", once=True,
          quick_run=lambda: _run("ll", True, 4.0), score=lambda: _score("ll"), note=lambda: _note("ll", 1.5)),
] if _available() else []
