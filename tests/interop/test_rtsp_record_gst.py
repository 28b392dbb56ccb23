"""Issue 13, "Done when" 2: ``rtsp_record`` from gst-rtsp-server writes TS on one timeline.

gst-rtsp-server (tests/interop/_gst_rtsp_server.py, in the system Python with gi) serves the
flash/beep source of tests/interop/_avsync.py, H.264 Main with B-frames + AAC, the AAC as
``mpeg4-generic`` (``rtpmp4gpay``) and as ``MP4A-LATM`` (``rtpmp4apay``). ``examples/rtsp_record.py``
pulls it over TCP and UDP through its command line (``--format ts --seconds 6``). The TS must have
an ffprobe duration within 0.2 s of the 6 s recorded, audio and video starting within 40 ms of each
other, no error from ffmpeg decoding it, and each flash/beep pair in it within 40 ms of the
source's offset.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import _avsync
from ._rtsp_helpers import ROOT

pytestmark = pytest.mark.interop

SECONDS = 6


@pytest.fixture(scope="module")
def source(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _avsync.make_source(ffmpeg, tmp_path_factory.mktemp("record") / "source.mp4")


@pytest.fixture(scope="module")
def reference(ffmpeg: str, source: Path) -> _avsync.Analysis:
    return _avsync.analyse(ffmpeg, source)


@pytest.fixture(params=["generic", "latm"])
def gst_server(request: pytest.FixtureRequest, gst_python: str, source: Path) -> Iterator[tuple[str, str]]:
    """(URL, AAC payload format) of a gst-rtsp-server serving the source."""
    proc = subprocess.Popen([gst_python, str(ROOT / "tests" / "interop" / "_gst_rtsp_server.py"), str(source),
                             "--audio", request.param, "--timeout", "90"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # the port, once it listens
        assert line.isdigit(), f"gst-rtsp-server did not start: {line} {proc.stderr.read() if proc.stderr else ''}"
        yield f"rtsp://127.0.0.1:{line}/test", request.param
    finally:
        proc.kill()
        proc.wait(10)


def probe(ffprobe: str, path: Path) -> dict[str, object]:
    out = subprocess.run([ffprobe, "-v", "error", "-show_entries",
                          "format=duration,start_time:stream=codec_type,codec_name,start_time,duration",
                          "-of", "json", str(path)], capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_record_ts_from_gst_rtsp_server(ffmpeg: str, ffprobe: str, gst_server: tuple[str, str],
                                            reference: _avsync.Analysis, tmp_path: Path, transport: str) -> None:
    url, audio = gst_server
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "rtsp_record.py"), url,
                           "--transport", transport, "--format", "ts", "--seconds", str(SECONDS),
                           "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=45, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ts = tmp_path / "out.ts"
    info = probe(ffprobe, ts)
    starts = {s["codec_type"]: float(s["start_time"]) for s in info["streams"]}  # type: ignore[attr-defined]
    duration = float(info["format"]["duration"])  # type: ignore[index]
    got = _avsync.analyse(ffmpeg, ts)
    ref = sorted(reference.offsets_ms())[len(reference.offsets_ms()) // 2]
    report = (f"AAC {audio}, {transport}: duration {duration:.3f} s (recorded {SECONDS} s), video start {starts.get('video')}, "
              f"audio start {starts.get('audio')}; {got.summary()}; source offset {ref} ms")
    print(report)
    found = []
    if abs(duration - SECONDS) > 0.2:
        found.append(f"ffprobe duration {duration:.3f} s, not {SECONDS} +/- 0.2 s")
    if set(starts) != {"video", "audio"}:
        found.append(f"streams {sorted(starts)}")
    elif abs(starts["video"] - starts["audio"]) > 0.040:
        found.append(f"audio starts {(starts['audio'] - starts['video']) * 1000:.1f} ms after video")
    if got.errors:
        found.append(f"{len(got.errors)} errors decoding it, first: {got.errors[0][:200]}")
    expected = [t for t in _avsync.EVENTS if t < SECONDS - 0.5]
    pairs = got.offsets_ms()
    if len(pairs) < len(expected) - 1:  # the recording may start mid-way through the first second
        found.append(f"{len(pairs)} flash/beep pairs, expected {len(expected)}")
    if any(abs(o - ref) > 40 for o in pairs):
        found.append(f"A/V offsets {pairs} ms, source {ref} ms")
    assert not found, "\n".join(found + [report])
