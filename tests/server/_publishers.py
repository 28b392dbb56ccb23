"""Real publishers into the live server and ffmpeg players measured by tests/interop/_avsync.py.

Publishers (commands, run with ``subprocess.Popen``):

- GStreamer ``rtspclientsink`` (``tests/interop/_gst_publish.py`` in the system Python with gi),
  ``protocols=tcp|udp``, the NTP clock of its sender reports chosen with ``ntp-time-source``:
  ``normal`` (ntp), ``hours`` (clock-time on a pipeline clock 3 h ahead of NTP), ``running``
  (running-time);
- GStreamer ``rtmp2sink`` (flvmux);
- ffmpeg ``-f rtsp -rtsp_transport tcp|udp``: ``normal``, or ``hours``: ``-start_time_realtime``
  3 h in the past, which makes FFmpeg's RTP muxer pair each RTP timestamp with an NTP time 3 h
  before it was sent (FFmpeg always writes the real-time clock in the NTP field, so a running-time
  NTP clock cannot be made with it);
- ffmpeg ``-f flv`` (RTMP).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mediaproto.server import LiveServer
from mediaproto.server.hub import Stream

from tests.interop import _avsync

INTEROP = Path(__file__).resolve().parents[1] / "interop"
#: Most an A/V pair may differ from the source's (the issue's 40 ms).
SYNC_TOLERANCE_MS = 40.0
HOURS = 3


@dataclass
class Running:
    server: LiveServer
    loop: asyncio.AbstractEventLoop

    def url(self, proto: str, name: str) -> str:
        p = self.server.ports
        if proto == "hls":
            return f"http://127.0.0.1:{p['http']}/{name}/index.m3u8"
        if proto == "rtmp":
            return f"rtmp://127.0.0.1:{p['rtmp']}/{name}"
        return f"rtsp://127.0.0.1:{p['rtsp']}/{name}"

    def playlist(self, name: str) -> str:
        with urllib.request.urlopen(self.url("hls", name), timeout=5) as r:
            return r.read().decode()  # type: ignore[no-any-return]


#: How long a GStreamer publisher of the 9.5 s source may run: ``rtspclientsink`` sometimes never
#: posts EOS after it sent its RTCP BYEs (it then keeps sending receiver reports); the script then
#: stops the pipeline (PAUSE, close) and exits 2, which :func:`publisher_problem` reports apart.
GST_TIMEOUT = _avsync.SECONDS + 5


def gst_rtsp(gst_python: str, url: str, source: Path, protocols: str, ntp: str) -> list[str]:
    return [gst_python, str(INTEROP / "_gst_publish.py"), url, str(source), "--protocols", protocols,
            "--ntp", ntp, "--hours", str(HOURS), "--timeout", str(GST_TIMEOUT)]


def gst_rtmp(gst_python: str, url: str, source: Path) -> list[str]:
    return [gst_python, str(INTEROP / "_gst_publish.py"), url, str(source), "--timeout", str(GST_TIMEOUT)]


def publisher_problem(command: list[str], returncode: int | None, stderr: str) -> tuple[list[str], str]:
    """(problems, note) of a publisher's exit: a GStreamer publisher that got no EOS (exit 2) is a
    note about GStreamer, not a problem of the server; any other failure is a problem."""
    if returncode == 0:
        return [], ""
    if returncode == 2 and "_gst_publish.py" in " ".join(command):
        return [], f"note: GStreamer posted no EOS within {GST_TIMEOUT} s; the pipeline was stopped"
    return [f"publisher exited {returncode}: {stderr[-500:]}"], ""


def ffmpeg_rtsp(ffmpeg: str, url: str, source: Path, transport: str, ntp: str) -> list[str]:
    shift = []
    if ntp == "hours":
        shift = ["-start_time_realtime", str(int((time.time() - HOURS * 3600) * 1e6))]
    elif ntp != "normal":
        raise ValueError(f"ffmpeg cannot publish with an NTP clock of {ntp!r}")
    return [ffmpeg, "-nostdin", "-v", "error", "-re", "-i", str(source), "-c", "copy", *shift,
            "-f", "rtsp", "-rtsp_transport", transport, url]


def ffmpeg_rtmp(ffmpeg: str, url: str, source: Path) -> list[str]:
    return [ffmpeg, "-nostdin", "-v", "error", "-re", "-i", str(source), "-c", "copy", "-f", "flv", url]


def wait_live(running: Running, name: str, timeout: float = 15) -> Stream:
    """The stream once it is live with tracks (polled; read-only from this thread)."""
    deadline = time.monotonic() + timeout
    while True:
        stream = running.server.hub.streams.get(name)
        if stream is not None and stream.live and stream.tracks:
            return stream
        assert time.monotonic() < deadline, f"{name} never went live"
        time.sleep(0.02)


def video_ids(stream: Stream) -> set[int]:
    """The ids of the stream's video tracks (read while it is live: they go when it ends)."""
    return {t.id for t in stream.track_list if t.codec.is_video}


def published(stream: Stream, video: set[int]) -> tuple[int, int]:
    """(video, audio) frames the server received from the publisher (``video``: the video track ids)."""
    count = sum(n for tid, n in stream.frames_by_track.items() if tid in video)
    return count, stream.frames_in - count


def play_all(ffmpeg: str, players: dict[str, tuple[str, list[str]]], timeout: float,
             workdir: Path) -> dict[str, _avsync.Analysis]:
    """Run one measuring ffmpeg per ``name: (url, options before -i)`` at once (threads)."""
    results: dict[str, _avsync.Analysis] = {}

    def run(name: str, url: str, pre: list[str]) -> None:
        result = _avsync.analyse(ffmpeg, url, *pre, timeout=timeout, workdir=workdir)
        result.source = f"{name} {url}"
        results[name] = result

    threads = [threading.Thread(target=run, args=(n, u, p), daemon=True) for n, (u, p) in players.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 30)
    return results


def output_players(running: Running, name: str) -> dict[str, tuple[str, list[str]]]:
    return {
        "hls": (running.url("hls", name), []),
        "rtmp": (running.url("rtmp", name), []),
        "rtsp-tcp": (running.url("rtsp", name), ["-rtsp_transport", "tcp"]),
        "rtsp-udp": (running.url("rtsp", name), ["-rtsp_transport", "udp"]),
    }


def problems(name: str, got: _avsync.Analysis, reference: _avsync.Analysis, published_video: int) -> list[str]:
    """What is wrong with one output against the source (empty: the issue's bar is met):
    a clean end, >= 99 % of the published video frames, every flash to the last one with the
    frames after it, every flash/beep pair within 40 ms of the source's offset."""
    out = []
    if got.timed_out:
        out.append(f"{name}: the player did not end")
    elif got.returncode != 0:
        out.append(f"{name}: ffmpeg exited {got.returncode}")
    # FFmpeg's RTSP/RTP demuxer guesses decode times (RTP carries none) and, at its switch from
    # RTP-Info to sender-report timing, may hand its null muxer two frames with one timestamp:
    # "non monotonically increasing dts to muxer" is FFmpeg's message about its own guess, not a
    # decoding error. GStreamer's live flvmux causes the same with B-frames (it clamps the first
    # B-frames' negative composition times to 0; ffmpeg says so decoding GStreamer's own FLV file,
    # without mediaproto in between). At most two such lines per output are accepted.
    muxer = [e for e in got.errors if "non monotonically increasing dts to muxer" in e]
    errors = [e for e in got.errors if e not in muxer] + (muxer if len(muxer) > 2 else [])
    if errors:
        out.append(f"{name}: {len(errors)} decoder errors, first: {errors[0][:200]}")
    need = math.ceil(0.99 * published_video)
    if got.video_frames < need:
        out.append(f"{name}: {got.video_frames} of {published_video} video frames (< 99 %)")
    if len(got.flashes) != len(reference.flashes):
        out.append(f"{name}: {len(got.flashes)} flashes of {len(reference.flashes)}")
    if got.flashes and got.video_pts:
        tail = max(got.video_pts) - got.flashes[-1]
        ref_tail = max(reference.video_pts) - reference.flashes[-1]
        if tail < ref_tail - 1.5 / _avsync.FPS:
            out.append(f"{name}: ends {ref_tail - tail:.3f} s before the source's last frame")
    ref = sorted(reference.offsets_ms())[len(reference.offsets_ms()) // 2]
    pairs = got.offsets_ms()
    if len(pairs) != len(reference.flashes):
        out.append(f"{name}: {len(pairs)} flash/beep pairs of {len(reference.flashes)}")
    bad = [o for o in pairs if abs(o - ref) > SYNC_TOLERANCE_MS]
    if bad:
        out.append(f"{name}: A/V offsets {pairs} ms, source {ref} ms")
    return out
