"""Issue 13, "Done when" 1: RTSP publishers with any NTP clock, every output in sync with the source.

A 9.5 s H.264 Main (B-frames) + AAC source with a white flash and a beep at 1, 3, 5, 7 and 9 s
(tests/interop/_avsync.py) is published into the live server by GStreamer ``rtspclientsink`` (TCP
and UDP; NTP clock normal, 3 h ahead, running time) and by ffmpeg over RTSP (TCP and UDP; NTP
normal, and RTP/NTP pairs 3 h off with ``-start_time_realtime``; FFmpeg has no running-time NTP).
While it publishes, four ffmpeg players read HLS, RTMP, RTSP/TCP and RTSP/UDP; each must end by
itself after the stream ends, decode >= 99 % of the video frames the server received with no
decoder error, reach the source's last frame, and show every flash/beep pair within 40 ms of the
source's own offset (measured on the source file the same way).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop import _avsync
from tests.interop.conftest import gst_launch, gst_python  # noqa: F401 (fixtures)

from . import _publishers as pub
from ._live import free_config, live_server_thread

pytestmark = pytest.mark.interop

PLAY_TIMEOUT = 35.0


@pytest.fixture(scope="module")
def running() -> Iterator[pub.Running]:
    with live_server_thread(free_config(test_source=False)) as (live, loop):
        yield pub.Running(live, loop)


@pytest.fixture(scope="module")
def source(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _avsync.make_source(ffmpeg, tmp_path_factory.mktemp("avsync") / "source.mp4")


@pytest.fixture(scope="module")
def reference(ffmpeg: str, source: Path) -> _avsync.Analysis:
    ref = _avsync.analyse(ffmpeg, source)
    assert not ref.errors and len(ref.pairs()) == len(_avsync.EVENTS), ref.summary()
    return ref


def run_publisher(command: list[str], running: pub.Running, name: str, ffmpeg: str, reference: _avsync.Analysis,
                  tmp_path: Path) -> None:
    publisher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        stream = pub.wait_live(running, name)
        video_ids = pub.video_ids(stream)
        results = pub.play_all(ffmpeg, pub.output_players(running, name), PLAY_TIMEOUT, tmp_path)
        _, perr = publisher.communicate(timeout=30)
    finally:
        publisher.kill()
    video, audio = pub.published(stream, video_ids)
    found, note = pub.publisher_problem(command, publisher.returncode, perr)
    report = [f"publisher exit {publisher.returncode} {note}; published {video} video + {audio} audio frames; "
              f"source offsets {reference.offsets_ms()} ms"]
    report += [r.summary() for r in results.values()]
    print("\n".join(report))
    if video < reference.video_frames:
        found.append(f"the server received {video} of {reference.video_frames} video frames")
    for proto in ("hls", "rtmp", "rtsp-tcp", "rtsp-udp"):
        if proto not in results:
            found.append(f"{proto}: no result")
            continue
        found += pub.problems(proto, results[proto], reference, video)
    assert not found, "\n".join(found + ["--"] + report)


@pytest.mark.parametrize("protocols", ["tcp", "udp"])
@pytest.mark.parametrize("ntp", ["normal", "hours", "running"])
def test_gstreamer_rtspclientsink(ffmpeg: str, gst_python: str, running: pub.Running, source: Path,  # noqa: F811
                                  reference: _avsync.Analysis, tmp_path: Path, protocols: str, ntp: str) -> None:
    name = f"live/gst-{protocols}-{ntp}"
    command = pub.gst_rtsp(gst_python, running.url("rtsp", name), source, protocols, ntp)
    run_publisher(command, running, name, ffmpeg, reference, tmp_path)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("ntp", ["normal", "hours"])
def test_ffmpeg_rtsp(ffmpeg: str, running: pub.Running, source: Path, reference: _avsync.Analysis, tmp_path: Path,
                     transport: str, ntp: str) -> None:
    name = f"live/ffmpeg-{transport}-{ntp}"
    command = pub.ffmpeg_rtsp(ffmpeg, running.url("rtsp", name), source, transport, ntp)
    run_publisher(command, running, name, ffmpeg, reference, tmp_path)
