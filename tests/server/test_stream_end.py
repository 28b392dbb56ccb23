"""Issue 13, "Done when" 4: clean ends when the publisher stops.

1. ffmpeg publishes the 9.5 s flash/beep source (tests/interop/_avsync.py) over RTMP or over RTSP
   (UDP: its RTP and its TEARDOWN travel apart); GStreamer
   (``gst-launch-1.0 -e rtspsrc ! decodebin ! fakesink``) and ffmpeg RTSP players, over TCP and
   UDP, play it, each through its own :class:`tests.interop._rtsp_proxy.RtspProxy` that records
   the requests and the status of each response. After the publisher ends, each player must exit
   by itself with status 0 and no error text, and every TEARDOWN it sends must be answered 200
   (not 454 Session Not Found: the session stays valid after the stream's RTCP BYE).
2. A GStreamer ``rtspclientsink`` publisher's requests at its end (PAUSE) are answered 200.
3. GStreamer ``rtmp2sink`` and ffmpeg ``-f flv`` publish the same source; an ffmpeg HLS player
   must reach the source's last frame (every flash, the frames after the last one, each flash/beep
   pair within 40 ms of the source's offset), and the playlist must end with ``#EXT-X-ENDLIST``
   and a last, partial segment: the source's last 0.5 s (keyframes every second).
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop import _avsync
from tests.interop._rtsp_proxy import RtspProxy
from tests.interop.conftest import gst_launch, gst_python  # noqa: F401 (fixtures)

from . import _publishers as pub
from ._live import free_config, live_server_thread

pytestmark = pytest.mark.interop

END_WAIT = 15.0


@pytest.fixture(scope="module")
def running() -> Iterator[pub.Running]:
    with live_server_thread(free_config(test_source=False)) as (live, loop):
        yield pub.Running(live, loop)


@pytest.fixture(scope="module")
def source(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _avsync.make_source(ffmpeg, tmp_path_factory.mktemp("end") / "source.mp4")


@pytest.fixture(scope="module")
def reference(ffmpeg: str, source: Path) -> _avsync.Analysis:
    return _avsync.analyse(ffmpeg, source)


def rtsp_player(player: str, transport: str, url: str, ffmpeg: str, gst: str) -> list[str]:
    if player == "ffmpeg":
        return [ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", transport, "-i", url, "-map", "0", "-f", "null", "-"]
    return [gst, "-e", "rtspsrc", f"location={url}", f"protocols={transport}", "latency=200", "name=s",
            "s.", "!", "queue", "!", "decodebin", "!", "fakesink", "s.", "!", "queue", "!", "decodebin", "!", "fakesink"]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("player", ["ffmpeg", "gstreamer"])
@pytest.mark.parametrize("ingest", ["rtmp", "rtsp-udp"])
def test_rtsp_players_end_cleanly(request: pytest.FixtureRequest, ffmpeg: str, running: pub.Running, source: Path,
                                  ingest: str, player: str, transport: str) -> None:
    gst = request.getfixturevalue("gst_launch") if player == "gstreamer" else ""
    name = f"live/end-{ingest}-{player}-{transport}"
    command = pub.ffmpeg_rtmp(ffmpeg, running.url("rtmp", name), source) if ingest == "rtmp" else pub.ffmpeg_rtsp(
        ffmpeg, running.url("rtsp", name), source, "udp", "normal")
    publisher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with RtspProxy(running.server.ports["rtsp"]) as proxy:
        try:
            pub.wait_live(running, name)
            proc = subprocess.Popen(rtsp_player(player, transport, proxy.url(name), ffmpeg, gst),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            _, perr = publisher.communicate(timeout=30)
            try:
                output, _ = proc.communicate(timeout=END_WAIT)
                ended = True
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
                ended = False
        finally:
            publisher.kill()
        proxy.wait_answered("TEARDOWN")
        requests = [s.method for s in proxy.of("request")]
        responses = [(s.method, s.status) for s in proxy.of("response")]
    report = f"{ingest} -> {player} {transport}: exit {proc.returncode}, requests {requests}, responses {responses}"
    print(report, output[-1500:] if player == "gstreamer" else output[-500:], sep="\n")
    found = [] if publisher.returncode == 0 else [f"the publisher failed: {perr[-300:]}"]
    if not ended:
        found.append(f"the player did not exit within {END_WAIT} s of the publisher's end")
    elif proc.returncode != 0:
        found.append(f"the player exited {proc.returncode}")
    errors = [line for line in output.splitlines() if re.search(r"\berror\b", line, re.I)]
    if errors:
        found.append(f"error text: {errors[:3]}")
    teardowns = [status for method, status in responses if method == "TEARDOWN"]
    if "TEARDOWN" not in requests:
        found.append("no TEARDOWN sent")
    elif teardowns != [200] * requests.count("TEARDOWN"):
        found.append(f"TEARDOWN answered {teardowns or 'not at all'}")
    others = [(m, s) for m, s in responses if s != 200 and m != "TEARDOWN"]
    if others:
        found.append(f"other requests refused: {others}")
    assert not found, "\n".join(found + [report, output[-1500:]])


@pytest.mark.parametrize("publisher_kind", ["gst-rtmp2sink", "ffmpeg-flv"])
def test_hls_player_reaches_the_last_frame(ffmpeg: str, gst_python: str, running: pub.Running,  # noqa: F811
                                           source: Path, reference: _avsync.Analysis, tmp_path: Path,
                                           publisher_kind: str) -> None:
    name = f"live/hls-end-{publisher_kind}"
    url = running.url("rtmp", name)
    command = pub.gst_rtmp(gst_python, url, source) if publisher_kind.startswith("gst") else pub.ffmpeg_rtmp(
        ffmpeg, url, source)
    publisher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        stream = pub.wait_live(running, name)
        video_ids = pub.video_ids(stream)
        result: dict[str, _avsync.Analysis] = {}
        player = threading.Thread(target=lambda: result.update(pub.play_all(
            ffmpeg, {"hls": (running.url("hls", name), [])}, 35.0, tmp_path)))
        player.start()
        _, perr = publisher.communicate(timeout=30)
        player.join(60)
    finally:
        publisher.kill()
    playlist = running.playlist(name)
    video, audio = pub.published(stream, video_ids)
    got = result["hls"]
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", playlist)]
    report = (f"{publisher_kind}: publisher exit {publisher.returncode}, published {video} video + {audio} audio; "
              f"{got.summary()}\nplaylist:\n{playlist}")
    print(report)
    found, note = pub.publisher_problem(command, publisher.returncode, perr)
    report += f"\n{note}"
    found += pub.problems("hls", got, reference, video)
    if "#EXT-X-ENDLIST" not in playlist:
        found.append("no #EXT-X-ENDLIST after the end")
    tail = _avsync.SECONDS - int(_avsync.SECONDS)  # the part after the last keyframe (one a second)
    if not durations or abs(durations[-1] - tail) > 1.5 / _avsync.FPS:
        found.append(f"the last segment lasts {durations[-1:]} s, not the last {tail} s of the stream")
    assert not found, "\n".join(found + [report])


@pytest.mark.parametrize("protocols", ["tcp", "udp"])
def test_gstreamer_publisher_end_is_answered(gst_python: str, running: pub.Running, source: Path,  # noqa: F811
                                             protocols: str) -> None:
    """GStreamer's ``rtspclientsink`` sends PAUSE when its stream ends (then closes); RFC 2326's
    server state machine (appendix A.2) makes PAUSE valid while recording (Recording -> Ready), so
    every request of the publisher, PAUSE included, must be answered 200."""
    name = f"live/end-gst-publisher-{protocols}"
    with RtspProxy(running.server.ports["rtsp"]) as proxy:
        command = pub.gst_rtsp(gst_python, proxy.url(name), source, protocols, "normal")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=pub.GST_TIMEOUT + 20)
        responses = [(s.method, s.status) for s in proxy.of("response")]
    found, note = pub.publisher_problem(command, proc.returncode, proc.stderr)
    refused = [(m, s) for m, s in responses if s != 200]
    if refused:
        found.append(f"refused: {refused}")
    assert not found, f"{found}; responses {responses} {note}"
