"""ffmpeg publishes to mediaproto.aio.rtmp.serve_rtmp (and to examples/rtmp_server.py, which
records it), and plays from a relay on serve_rtmp, over RTMP and Enhanced RTMP."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediaproto.clock import rescale
from mediaproto.codecs.h264 import split_annexb
from mediaproto.codecs.h265 import nal_type, split_access_units
from mediaproto.media import Codec, Frame

from . import _ffmpeg
from ._rtmp_helpers import ROOT, RtmpRecorder, RtmpRelay, free_port, source_packets, wait_for

pytestmark = pytest.mark.interop


def test_ffmpeg_publishes_every_frame(ffmpeg: str, vectors: Path) -> None:
    want = source_packets(vectors)
    with RtmpRecorder() as srv:
        url = f"rtmp://127.0.0.1:{srv.port}/live/key"
        proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(vectors / "ref.flv"), "-c", "copy",
                               "-f", "flv", url], capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        assert srv.wait_ended("live/key", 10), "the publisher never unpublished"
        frames, tracks = srv.frames["live/key"], srv.tracks["live/key"]
    video = [f for f in frames if tracks[f.track_id].codec.is_video]
    audio = [f for f in frames if not tracks[f.track_id].codec.is_video]
    assert len(video) == len(want["video"]) == 100
    assert len(audio) == len(want["audio"]) == 189

    def ms(f: Frame) -> tuple[int, int]:
        rate = tracks[f.track_id].clock_rate
        return rescale(f.pts, rate, 1000), rescale(f.dts, rate, 1000)

    assert [ms(f) for f in video] == want["video"]
    assert [ms(f) for f in audio] == want["audio"]
    assert video[0].keyframe and sum(f.keyframe for f in video) == 2  # GOP 50


def test_example_server_records_what_ffmpeg_publishes(ffmpeg: str, ffprobe: str, vectors: Path,
                                                      tmp_path: Path) -> None:
    """examples/rtmp_server.py writes an FLV file in which ffprobe finds ref.flv's packets."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "examples" / "rtmp_server.py"), "--port", str(port),
                               "--out-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:  # until the example listens
            proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(vectors / "ref.flv"), "-c", "copy",
                                   "-f", "flv", f"rtmp://127.0.0.1:{port}/live/key"], capture_output=True, timeout=60)
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        recorded = tmp_path / "live_key.flv"
        assert wait_for(lambda: "wrote" in (server.stdout.readline() if server.stdout else ""), 10)
    finally:
        server.kill()
        server.communicate(timeout=10)
    probe = subprocess.run([ffprobe, "-v", "error", "-show_entries", "packet=stream_index,pts,dts,size", "-of", "csv=p=0",
                            str(recorded)], capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0 and probe.stderr == "", probe.stderr
    got: dict[str, list[tuple[int, int]]] = {"video": [], "audio": []}
    for row in csv.reader(io.StringIO(probe.stdout)):
        got["video" if row[0] == "0" else "audio"].append((int(row[1]), int(row[2])))
    assert got == source_packets(vectors)  # 100 video and 189 audio packets, each at its time


def test_ffmpeg_plays_from_our_server(ffmpeg: str, vectors: Path) -> None:
    with RtmpRelay() as srv:
        url = f"rtmp://127.0.0.1:{srv.port}/live/key"
        pub = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-re", "-i", str(vectors / "ref.flv"), "-c", "copy",
                                "-f", "flv", url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert wait_for(lambda: srv.live("live/key"), 10)
            play = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", url, "-f", "framecrc", "-"],
                                  capture_output=True, timeout=60)
            pub_err = pub.communicate(timeout=30)[1]
        finally:
            if pub.poll() is None:
                pub.kill()
                pub.wait()
    assert pub.returncode == 0, pub_err.decode(errors="replace")
    assert play.returncode == 0 and play.stderr == b"", play.stderr.decode(errors="replace")
    lines = [ln.split(b",") for ln in play.stdout.splitlines() if ln and not ln.startswith(b"#")]
    video = [ln for ln in lines if ln[0].strip() == b"0"]
    audio = [ln for ln in lines if ln[0].strip() == b"1"]
    # every frame decoded: ffprobe counts 100 video and 189 audio packets in the source
    assert len(video) == 100
    assert len(audio) == 189


def test_ffmpeg_publishes_hevc_enhanced_rtmp(modern_ffmpeg: str, tmp_path: Path) -> None:
    # FFmpeg writes HEVC into RTMP (Enhanced RTMP, ``hvc1``) from 6.1 on: the fixture gives one of
    # those (Debian 12's 5.1 refuses with "Video codec hevc not compatible with flv").
    source = tmp_path / "src.hevc"
    _ffmpeg.encode_hevc(modern_ffmpeg, source, frames=25, keyint=25)
    want = split_access_units(split_annexb(source.read_bytes()))
    with RtmpRecorder() as srv:
        proc = subprocess.run([modern_ffmpeg, "-nostdin", "-v", "error", "-r", "25", "-i", str(source), "-c", "copy",
                               "-f", "flv", f"rtmp://127.0.0.1:{srv.port}/live/hevc"],
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        assert srv.wait_ended("live/hevc", 10)
        got, tracks = srv.frames["live/hevc"], srv.tracks["live/hevc"]
    (track,) = tracks.values()
    assert (track.codec, track.width, track.height) == (Codec.H265, 160, 120)
    assert len(got) == 25
    # the access units libx265 wrote, parameter sets aside (they travel in the sequence header)
    assert [tuple(n for n in f.data if nal_type(n) not in (32, 33, 34)) for f in got] == [
        tuple(n for n in au if nal_type(n) not in (32, 33, 34)) for au in want]
    assert [rescale(f.dts, track.clock_rate, 1000) for f in got] == [40 * i for i in range(25)]
    assert [f.keyframe for f in got] == [True] + [False] * 24


def test_ffmpeg_plays_hevc_from_our_server(modern_ffmpeg: str, tmp_path: Path) -> None:
    # An FFmpeg >= 6.1 publishes HEVC over Enhanced RTMP in real time and a second one plays it
    # from our server: every frame decodes without an error, to the pictures of the source.
    source = tmp_path / "src.hevc"
    _ffmpeg.encode_hevc(modern_ffmpeg, source, frames=50, keyint=50)  # one GOP: a late player gets it all
    with RtmpRelay() as srv:
        url = f"rtmp://127.0.0.1:{srv.port}/live/hevc"
        pub = subprocess.Popen([modern_ffmpeg, "-nostdin", "-v", "error", "-re", "-r", "25", "-i", str(source),
                                "-c", "copy", "-f", "flv", url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert wait_for(lambda: srv.live("live/hevc"), 10)
            played = _ffmpeg.decode(modern_ffmpeg, url)
            pub_err = pub.communicate(timeout=30)[1]
        finally:
            if pub.poll() is None:
                pub.kill()
                pub.wait()
    assert pub.returncode == 0, pub_err.decode(errors="replace")
    assert played.returncode == 0 and played.stderr == "", played.stderr
    assert played.dimensions == {0: "160x120"}
    ref = _ffmpeg.decode(modern_ffmpeg, source)
    assert len(ref.frames[0]) == 50
    assert played.frames[0] == ref.frames[0]
