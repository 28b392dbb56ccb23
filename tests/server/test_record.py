"""Recording: FFmpeg publishes a known number of frames to a recorded path; ffprobe reads the
segment files with >= 99 % of them, each file starting on a keyframe, and FFmpeg decodes them
without an error. Retention deletes files by age and by total size."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import pytest

from mediaproto.server.config import PathConfig
from mediaproto.server.hub import Stream
from mediaproto.server.record import Recorder, file_name, record_root
from mediaproto.testsrc import TestSource

from ._live import free_config, live_server_thread

VIDEO_FRAMES = 200  # 8 s at 25 fps
AUDIO_FRAMES = 8 * 48000 // 1024  # 375 AAC frames in 8 s


def _probe(ffprobe: str, path: Path) -> list[dict[str, object]]:
    out = subprocess.run([ffprobe, "-v", "error", "-show_entries", "frame=media_type,key_frame,pts_time",
                          "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    return json.loads(out.stdout)["frames"]  # type: ignore[no-any-return]


@pytest.mark.interop
def test_a_recorded_path_gives_files_ffprobe_reads_whole(ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    pattern = str(tmp_path / "rec" / "%path" / "%Y-%m-%d_%H-%M-%S-%f")
    paths = {"live/rec": PathConfig(record=True, record_segment=2.0, record_path=pattern)}
    with live_server_thread(free_config(paths=paths, test_source=False)) as (live, _):
        url = f"rtmp://127.0.0.1:{live.ports['rtmp']}/live/rec"
        pub = subprocess.run([ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                              "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                              "-frames:v", str(VIDEO_FRAMES), "-t", "8", "-c:v", "libx264", "-g", "25", "-bf", "0",
                              "-c:a", "aac", "-f", "flv", url], capture_output=True, text=True, timeout=60)
        assert pub.returncode == 0, pub.stderr
        deadline = time.monotonic() + 5
        while live.recorders["live/rec"].file is not None:  # closed when the publisher left
            assert time.monotonic() < deadline
            time.sleep(0.05)
        published = dict(live.hub.streams["live/rec"].frames_by_track)  # what FFmpeg sent, per track
    assert published[0] == VIDEO_FRAMES and published[1] > 0.8 * AUDIO_FRAMES, published
    files = sorted((tmp_path / "rec" / "live" / "rec").glob("*.ts"))
    assert 3 <= len(files) <= 6, files  # 8 s in files of at least 2 s, cut on keyframes
    video = audio = 0
    for f in files:
        frames = _probe(ffprobe, f)
        first_video = next(fr for fr in frames if fr["media_type"] == "video")
        assert first_video["key_frame"] == 1, f  # each file plays from its first frame
        video += sum(fr["media_type"] == "video" for fr in frames)
        audio += sum(fr["media_type"] == "audio" for fr in frames)
        decode = subprocess.run([ffmpeg, "-v", "error", "-i", str(f), "-f", "null", "-"],
                                capture_output=True, text=True, timeout=60)
        assert decode.returncode == 0 and not decode.stderr.strip(), (f, decode.stderr)
    assert video >= 0.99 * VIDEO_FRAMES, video
    # FFmpeg stops at the 200th video frame with some audio still unsent: count what it published
    assert audio >= 0.99 * published[1], (audio, published)


def _record(tmp_path: Path, settings: PathConfig, seconds: float) -> Recorder:
    source = TestSource(width=64, height=48, frame_rate=Fraction(25))
    stream = Stream("live/cam")
    assert stream.start("test", 0.0)
    stream.set_tracks(source.tracks)
    clock = [datetime.datetime(2026, 1, 1, 12, 0, 0)]
    recorder = Recorder(stream, settings, now=lambda: clock[0])
    stream.subscribe(recorder)
    for frame in source.frames_until(seconds):
        stream.push(frame, 0.0)
        clock[0] = datetime.datetime(2026, 1, 1, 12, 0, 0) + datetime.timedelta(seconds=frame.pts / 90000
                                                                                 if frame.track_id == 1 else 0)
    stream.end()
    return recorder


def test_file_names_and_root() -> None:
    when = datetime.datetime(2026, 3, 4, 5, 6, 7, 890000)
    assert file_name("rec/%path/%Y-%m-%d_%H-%M-%S-%f", "live/cam", when) == "rec/live/cam/2026-03-04_05-06-07-890000.ts"
    assert file_name("rec/%path-%H", "a%b", when) == "rec/a%b-05.ts"  # a % in the path is not a field
    assert record_root("rec/%path/%Y/%m/%d-%H", "live/cam") == Path("rec/live/cam")
    assert record_root("rec/%Y/%path", "x") == Path("rec")


def test_segments_start_on_keyframes_and_retention_by_age(tmp_path: Path) -> None:
    root = tmp_path / "live" / "cam"
    root.mkdir(parents=True)
    old, recent = root / "old.ts", root / "recent.ts"
    old.write_bytes(b"x" * 188)
    recent.write_bytes(b"x" * 188)
    now = time.time()
    os.utime(old, (now - 7200, now - 7200))
    os.utime(recent, (now - 60, now - 60))
    settings = PathConfig(record=True, record_segment=1.0, record_path=str(tmp_path / "%path" / "%H-%M-%S-%f"),
                          record_delete_after=3600.0)
    recorder = _record(tmp_path, settings, 3.0)
    assert not old.exists() and recent.exists()
    assert len(recorder.files_written) >= 2
    assert all(p.exists() and p.stat().st_size % 188 == 0 for p in recorder.files_written)


def test_retention_by_size_keeps_the_newest(tmp_path: Path) -> None:
    root = tmp_path / "live" / "cam"
    root.mkdir(parents=True)
    now = time.time()
    olds = []
    for i in range(3):
        p = root / f"{i}.ts"
        p.write_bytes(bytes(188 * 100))
        os.utime(p, (now - 300 + i, now - 300 + i))
        olds.append(p)
    settings = PathConfig(record=True, record_segment=100.0, record_path=str(tmp_path / "%path" / "%H-%M-%S-%f"),
                          record_delete_after=0.0, record_max_bytes=188 * 100 * 2 + 10)
    _record(tmp_path, settings, 1.0)
    assert [p.exists() for p in olds] == [False, True, True]


def test_a_disk_error_stops_the_recording_with_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = PathConfig(record=True, record_path=str(blocker / "%path" / "%H"))
    recorder = _record(tmp_path, settings, 1.0)
    assert recorder.failed and not recorder.files_written
    lines = [r.getMessage() for r in caplog.records if "recording stopped" in r.getMessage()]
    assert len(lines) == 1 and str(blocker) in lines[0], lines
