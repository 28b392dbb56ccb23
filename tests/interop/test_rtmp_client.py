"""mediaproto.aio.rtmp.connect (examples/rtmp_push.py, rtmp_play.py) against ffmpeg's RTMP server
mode, and against serve_rtmp."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from mediaproto.clock import rescale
from mediaproto.codecs.h264 import split_annexb
from mediaproto.codecs.h265 import is_keyframe, nal_type, split_access_units
from mediaproto.media import Codec, Frame, Track

from . import _ffmpeg
from ._rtmp_helpers import free_port, load_example, source_packets

pytestmark = pytest.mark.interop


def _retry(fn, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """Call ``fn`` until ffmpeg's listening socket accepts the connection."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_client_publishes_test_source_to_ffmpeg(ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    from mediaproto.testsrc import TestSource

    push = load_example("rtmp_push")
    src = TestSource()
    frames = src.frames_until(3)
    n_video = sum(1 for f in frames if f.track_id == 0)
    n_audio = len(frames) - n_video
    port = free_port()
    out = tmp_path / "out.flv"
    proc = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-listen", "1", "-i",
                             f"rtmp://127.0.0.1:{port}/live/x", "-c", "copy", "-y", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        sent = _retry(lambda: asyncio.run(push.push(f"rtmp://127.0.0.1:{port}/live/x", src.tracks, frames,
                                                    metadata={"width": 320.0, "height": 240.0})))
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sent == len(frames)
    assert proc.returncode == 0, err.decode(errors="replace")
    probe = subprocess.run([ffprobe, "-v", "error", "-count_packets", "-show_streams", "-of", "json", str(out)],
                           capture_output=True, timeout=30)
    assert probe.returncode == 0 and probe.stderr == b"", probe.stderr
    streams = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and (streams["video"]["width"], streams["video"]["height"]) == (320, 240)
    assert streams["audio"]["codec_name"] == "aac" and int(streams["audio"]["sample_rate"]) == 48000
    assert int(streams["video"]["nb_read_packets"]) == n_video
    assert int(streams["audio"]["nb_read_packets"]) == n_audio


def test_client_plays_from_ffmpeg(ffmpeg: str, vectors: Path) -> None:
    play = load_example("rtmp_play")
    want = source_packets(vectors)
    port = free_port()
    proc = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-re", "-i", str(vectors / "ref.flv"), "-c", "copy",
                             "-listen", "1", "-f", "flv", f"rtmp://127.0.0.1:{port}/live/x"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        tracks, frames = _retry(lambda: asyncio.run(play.play(f"rtmp://127.0.0.1:{port}/live/x", seconds=30)))
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rate = {t.id: t.clock_rate for t in tracks}
    video_id = next(t.id for t in tracks if t.codec.is_video)

    def ms(f: Frame) -> tuple[int, int]:
        return rescale(f.pts, rate[f.track_id], 1000), rescale(f.dts, rate[f.track_id], 1000)

    assert [ms(f) for f in frames if f.track_id == video_id] == want["video"]
    assert [ms(f) for f in frames if f.track_id != video_id] == want["audio"]


def _hevc_source(ffmpeg: str, tmp_path: Path, count: int) -> tuple[Path, Track, list[Frame]]:
    """libx265's HEVC (160x120, 25 fps, one GOP) and its access units as our Track and Frames (90 kHz)."""
    raw = tmp_path / "x.hevc"
    _ffmpeg.encode_hevc(ffmpeg, raw, frames=count, keyint=count)
    units = split_access_units(split_annexb(raw.read_bytes()))
    params = {nal_type(n): n for n in units[0] if nal_type(n) in (32, 33, 34)}
    track = Track(0, Codec.H265, 90000, parameter_sets=(params[32], params[33], params[34]), width=160, height=120)
    frames = [Frame(0, i * 3600, i * 3600, tuple(au), is_keyframe(au)) for i, au in enumerate(units)]
    assert len(frames) == count
    return raw, track, frames


def test_client_publishes_hevc_over_enhanced_rtmp_to_our_server(modern_ffmpeg: str, tmp_path: Path) -> None:
    # Our client to serve_rtmp (Enhanced RTMP, FourCC hvc1) with frames made by libx265; the next
    # test has FFmpeg receive the same.
    from ._rtmp_helpers import RtmpRecorder

    _, track, frames = _hevc_source(modern_ffmpeg, tmp_path, 25)
    push = load_example("rtmp_push")
    with RtmpRecorder() as srv:
        asyncio.run(push.push(f"rtmp://127.0.0.1:{srv.port}/live/hevc", [track], frames))
        assert srv.wait_ended("live/hevc", 10)
        got, tracks = srv.frames["live/hevc"], list(srv.tracks["live/hevc"].values())
    assert [t.codec for t in tracks] == [Codec.H265] and (tracks[0].width, tracks[0].height) == (160, 120)
    assert [f.data for f in got] == [f.data for f in frames]
    assert [rescale(f.dts, tracks[0].clock_rate, 1000) for f in got] == [i * 40 for i in range(25)]
    assert [f.keyframe for f in got] == [f.keyframe for f in frames]


def test_ffmpeg_receives_hevc_over_enhanced_rtmp_from_our_client(modern_ffmpeg: str, tmp_path: Path) -> None:
    # An FFmpeg >= 6.1 listening for a publisher reads our Enhanced RTMP HEVC: every frame decodes
    # without an error, to the pictures of libx265's elementary stream.
    raw, track, frames = _hevc_source(modern_ffmpeg, tmp_path, 25)
    push = load_example("rtmp_push")
    port = free_port()
    proc = subprocess.Popen([modern_ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-listen", "1", "-i",
                             f"rtmp://127.0.0.1:{port}/live/x", "-f", "framemd5", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sent = _retry(lambda: asyncio.run(push.push(f"rtmp://127.0.0.1:{port}/live/x", [track], frames,
                                                    metadata={"width": 160.0, "height": 120.0})))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sent == 25
    received = _ffmpeg.parse_framemd5(out, proc.returncode, err)
    # When the publisher leaves, FFmpeg's listener logs "Error during demuxing: Input/output error"
    # and exits 0; it does so for FFmpeg's own publisher too (FFmpeg 9.0.2 to itself, same
    # commands). Any other line is an error.
    errors = [ln for ln in err.splitlines() if not re.fullmatch(r"\[in#0/flv @ 0x[0-9a-f]+\] Error during demuxing: "
                                                               r"Input/output error", ln)]
    assert received.returncode == 0 and errors == [], err
    assert received.dimensions == {0: "160x120"}
    ref = _ffmpeg.decode(modern_ffmpeg, raw)
    assert len(ref.frames[0]) == 25
    assert received.frames[0] == ref.frames[0]
