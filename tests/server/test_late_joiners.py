"""Players that join an x264 publish with B-frames get timestamps that never go backwards or repeat.

An ffmpeg publisher sends x264 (B-frames, 2 s GOP) + AAC over RTMP in real time; ffmpeg players
join 1, 3 and 10 s after it starts (the GOP cache gives them the frames since the last keyframe
at once) and remux what they get with ``-c copy``: FFmpeg's muxer says "non monotonically
increasing dts" for every timestamp that goes backwards or repeats. Both rates of the issue are
covered: 30 fps with 44.1 kHz audio (where QUIRKS saw equal DTS from the cache) and 25 fps with 48 kHz.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._live import LiveServer, free_config, live_server_thread

pytestmark = pytest.mark.interop

PUBLISH_SECONDS = 16
JOINS = (1.0, 3.0, 10.0)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with live_server_thread(free_config(test_source=False)) as (server, _loop):
        yield server


def _play(ffmpeg: str, url: str, out: Path, results: dict[float, str], delay: float) -> None:
    time.sleep(delay)
    proc = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "warning", "-i", url, "-c", "copy", "-f", "mpegts",
                           "-y", str(out)], capture_output=True, text=True, timeout=PUBLISH_SECONDS + 20)
    results[delay] = proc.stderr


@pytest.mark.parametrize("fps,rate", [(30, 44100), (25, 48000)])
def test_players_joining_a_b_frame_publish_see_monotonic_dts(ffmpeg: str, ffprobe: str, live: LiveServer,
                                                             tmp_path: Path, fps: int, rate: int) -> None:
    name = f"live/bframes{fps}"
    url = f"rtmp://127.0.0.1:{live.ports['rtmp']}/{name}"
    publisher = subprocess.Popen(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={fps}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}",
         "-t", str(PUBLISH_SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", str(2 * fps),
         "-c:a", "aac", "-f", "flv", url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results: dict[float, str] = {}
    threads = [threading.Thread(target=_play, args=(ffmpeg, url, tmp_path / f"join{d}.ts", results, d))
               for d in JOINS]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(PUBLISH_SECONDS + 30)
    finally:
        publisher.wait(30)
    assert publisher.returncode == 0, publisher.stderr.read().decode() if publisher.stderr else ""
    for delay in JOINS:
        err = results[delay]
        assert "non monotonically increasing dts" not in err.lower() and "non-monotonic" not in err.lower(), \
            (delay, err[:2000])
        # The player got video from a keyframe on, B-frames and all, up to the end of the publish.
        out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v", "-count_frames", "-show_entries",
                              "stream=nb_read_frames", "-of", "csv=p=0",
                              str(tmp_path / f"join{delay}.ts")], capture_output=True, text=True, timeout=60)
        frames = int(out.stdout.split()[0]) if out.stdout.split() else 0
        expected = (PUBLISH_SECONDS - delay) * fps
        assert frames >= 0.9 * expected, (delay, frames, expected, out.stderr)
