"""fMP4 HLS and LL-HLS from the live server, played by ffmpeg/ffprobe and VLC.

Two servers run in-process on free ports: plain HLS (1 s segments) and LL-HLS (1 s segments,
0.2 s parts). Each serves the built-in test source ``live/test`` (25 fps, AAC) and a stream
ffmpeg publishes over RTMP (x264 with B-frames, a keyframe every second, AAC). What is checked,
and against what:

* the playlists' shape from RFC 8216bis: EXT-X-MAP before the first segment (version >= 6),
  ``.m4s`` segments and parts, INDEPENDENT=YES exactly on the parts whose first video packet
  ffprobe calls a keyframe; a segment is its parts' bytes in order (section 4.4.4.9);
* ffmpeg plays each live fMP4 playlist for 8 s: it decodes >= 99% of the 200 video frames that
  8 s of 25 fps hold, with no message at ``-v error``;
* ffprobe reads a snapshot of the window (init + every segment, ENDLIST appended): the video
  frames decoded are >= 99% of the frames that the EXTINF durations hold, and their timestamps
  step by one frame interval with no hole;
* VLC (Debian's, without live555: its ``adaptive`` demuxer reads HLS) remuxes the live playlist to
  MPEG-TS for a bounded run; ffmpeg decodes that file with no message, and the video frames are
  >= 99% of what the span of their timestamps holds (VLC reports no frame count of its own
  without a GUI, so the count is taken from what it wrote).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._live import Config, LiveServer, live_server_thread

pytestmark = pytest.mark.interop

FPS = 25
SEGMENT = 1.0
PART = 0.2


def get(url: str, timeout: float = 15) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), ""


def attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.partition(":")[2])}


@pytest.fixture(scope="module", params=["hls", "llhls"])
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    ll = request.param == "llhls"
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, ll_hls=ll,
                    part_target=PART, hls_segment=SEGMENT)
    with live_server_thread(config) as (live, _):
        yield live


@pytest.fixture(scope="module")
def x264(server: LiveServer, ffmpeg: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60",
         "-c:v", "libx264", "-preset", "veryfast", "-g", str(FPS), "-bf", "2", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-f", "flv", f"rtmp://127.0.0.1:{server.ports['rtmp']}/live/x264"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield "live/x264"
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module", params=["test source", "x264"])
def stream(request: pytest.FixtureRequest, server: LiveServer) -> str:
    """The base URL of a stream with at least four segments in its fMP4 playlist."""
    name = request.getfixturevalue("x264") if request.param == "x264" else "live/test"
    base = f"http://127.0.0.1:{server.ports['http']}/{name}/"
    deadline = time.monotonic() + 30
    while True:
        status, body, _ = get(base + "fmp4.m3u8")
        if status == 200 and body.count(b"#EXTINF") >= 4:
            return base
        assert time.monotonic() < deadline, f"{base}fmp4.m3u8 never had 4 segments ({status})"
        time.sleep(0.3)


def ll(server: LiveServer) -> bool:
    return server.config.ll_hls


def test_playlists_and_content_types(server: LiveServer, stream: str) -> None:
    status, body, ctype = get(stream + "fmp4.m3u8")
    assert status == 200 and ctype == "application/vnd.apple.mpegurl"
    lines = body.decode().splitlines()
    version = int(next(x for x in lines if x.startswith("#EXT-X-VERSION:")).partition(":")[2])
    assert version >= 6  # EXT-X-MAP in a playlist that is not I-frames only (RFC 8216 section 7)
    maps = [i for i, x in enumerate(lines) if x.startswith("#EXT-X-MAP:")]
    first_uri = next(i for i, x in enumerate(lines) if x and not x.startswith("#"))
    assert maps and maps[0] < first_uri
    init = attrs(lines[maps[0]])["URI"]
    assert re.fullmatch(r"init\d+\.mp4", init)
    status, data, ctype = get(stream + init)
    assert status == 200 and ctype == "video/mp4" and data[4:8] == b"ftyp" and b"moov" in data
    segments = [x for x in lines if x and not x.startswith("#")]
    assert all(re.fullmatch(r"seg\d+\.m4s", s) for s in segments), segments
    parts = [attrs(x)["URI"] for x in lines if x.startswith("#EXT-X-PART:")]
    assert bool(parts) == ll(server)
    assert all(re.fullmatch(r"seg\d+\.\d+\.m4s", p) for p in parts)
    status, data, ctype = get(stream + segments[-1])
    assert status == 200 and ctype == "video/iso.segment" and data[4:8] == b"moof"
    # The TS rendition is there too, and index.m3u8 is TS (the default Config.hls_container).
    ts = get(stream + "ts.m3u8")[1].decode()
    assert "#EXT-X-MAP" not in ts and re.search(r"^seg\d+\.ts$", ts, re.M)
    index = get(stream + "index.m3u8")[1].decode()
    assert "#EXT-X-MAP" not in index and re.search(r"^seg\d+\.ts$", index, re.M)


def test_parts_make_the_segment_and_independent_parts_start_with_a_keyframe(
        server: LiveServer, stream: str, ffprobe: str, tmp_path: Path) -> None:
    if not ll(server):
        pytest.skip("plain HLS has no parts")
    text = get(stream + "fmp4.m3u8")[1].decode()
    init = get(stream + attrs(next(x for x in text.splitlines() if x.startswith("#EXT-X-MAP:")))["URI"])[1]
    checked = 0
    parts: list[tuple[str, bool]] = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            a = attrs(line)
            parts.append((a["URI"], a.get("INDEPENDENT") == "YES"))
        elif line and not line.startswith("#"):
            if parts:
                datas = [get(stream + uri)[1] for uri, _ in parts]
                status, segment, _ = get(stream + line)
                if status == 200 and all(datas):
                    assert b"".join(datas) == segment, line
                    for (uri, independent), data in zip(parts, datas):
                        path = tmp_path / uri
                        path.write_bytes(init + data)
                        out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v", "-show_entries",
                                              "packet=flags", "-of", "csv=p=0", str(path)],
                                             capture_output=True, text=True, timeout=30)
                        flags = out.stdout.split()
                        assert flags, f"{uri}: no video packet"
                        assert ("K" in flags[0]) == independent, f"{uri}: INDEPENDENT={independent}, flags {flags[0]}"
                        checked += 1
            parts = []
    assert checked >= 10


def test_ffmpeg_plays_the_live_fmp4_playlist(stream: str, ffmpeg: str) -> None:
    proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", stream + "fmp4.m3u8", "-t", "8", "-map", "0:v",
                           "-f", "null", "-", "-progress", "pipe:1"], capture_output=True, text=True, timeout=40)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    frames = int(re.findall(r"^frame=(\d+)", proc.stdout, re.M)[-1])
    assert frames >= 0.99 * 8 * FPS, f"{frames} of {8 * FPS} frames"


def snapshot(stream: str, tmp_path: Path) -> tuple[Path, float]:
    """The window as a local VOD playlist (init + segments + ENDLIST) and its EXTINF total."""
    text = get(stream + "fmp4.m3u8")[1].decode()
    out, total = [], 0.0
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART") or line.startswith("#EXT-X-PRELOAD-HINT") or \
                line.startswith("#EXT-X-SERVER-CONTROL"):
            continue
        if line.startswith("#EXT-X-MAP:"):
            uri = attrs(line)["URI"]
            (tmp_path / uri).write_bytes(get(stream + uri)[1])
        elif line.startswith("#EXTINF:"):
            total += float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            status, data, _ = get(stream + line)
            assert status == 200, line
            (tmp_path / line).write_bytes(data)
        out.append(line)
    out.append("#EXT-X-ENDLIST")
    path = tmp_path / "window.m3u8"
    path.write_text("\n".join(out) + "\n")
    return path, total


def test_ffprobe_reads_every_frame_of_the_window(stream: str, ffprobe: str, ffmpeg: str, tmp_path: Path) -> None:
    path, total = snapshot(stream, tmp_path)
    out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=60)
    assert out.stderr.strip() == "", out.stderr
    times = sorted(float(x.strip(",")) for x in out.stdout.split())
    assert len(times) >= 0.99 * total * FPS, f"{len(times)} frames in {total} s"
    steps = {round((b - a) * FPS, 2) for a, b in zip(times, times[1:])}
    assert steps == {1.0}, f"frame steps (in frame intervals): {sorted(steps)}"
    decode = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True, timeout=60)
    assert decode.returncode == 0 and decode.stderr.strip() == "", decode.stderr


def _vlc() -> list[str] | None:
    cvlc = shutil.which("cvlc")
    if cvlc is None:
        return None
    if os.geteuid() == 0:  # VLC refuses to run as root
        runuser = shutil.which("runuser")
        return [runuser, "-u", "nobody", "--", cvlc] if runuser else None
    return [cvlc]


def test_vlc_plays_the_live_fmp4_playlist(stream: str, ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    vlc = _vlc()
    if vlc is None:
        if os.environ.get("MEDIAPROTO_REQUIRE_INTEROP") == "1":
            pytest.fail("cvlc (Debian package vlc-bin) is required")
        pytest.skip("no cvlc")
    with tempfile.TemporaryDirectory(prefix="mediaproto-vlc-") as scratch:  # writable by VLC's user
        os.chmod(scratch, 0o777)
        written = Path(scratch) / "vlc.ts"
        proc = subprocess.run(vlc + ["-v", "--no-one-instance", "--play-and-exit", "--run-time", "10",
                                     stream + "fmp4.m3u8", "--sout", f"#std{{access=file,mux=ts,dst={written}}}"],
                              capture_output=True, text=True, timeout=60)
        out = tmp_path / "vlc.ts"
        if written.exists():
            shutil.copyfile(written, out)
    problems = [x for x in proc.stderr.splitlines()
                if " error:" in x and not re.search(r"pulse|dbus|audio output|interface|secure directory", x)]
    assert not problems, "\n".join(problems)
    assert out.exists() and out.stat().st_size > 0, proc.stderr[-2000:]
    probe = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                            "-of", "csv=p=0", str(out)], capture_output=True, text=True, timeout=60)
    times = sorted(float(x.strip(",")) for x in probe.stdout.split() if x.strip(","))
    assert len(times) > 5 * FPS, f"VLC wrote {len(times)} video frames in a 10 s run"
    expected = round((times[-1] - times[0]) * FPS) + 1
    assert len(times) >= 0.99 * expected, f"{len(times)} of {expected} frames"
    # VLC stops at --run-time in the middle of writing a PES packet: its last half second is cut.
    span = f"{times[-1] - times[0] - 0.5:.3f}"
    decode = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-t", span, "-i", str(out), "-f", "null", "-"],
                            capture_output=True, text=True, timeout=60)
    assert decode.returncode == 0 and decode.stderr.strip() == "", decode.stderr


def test_hls_container_picks_index(ffmpeg: str) -> None:
    """``Config.hls_container="fmp4"``: index.m3u8 is the fMP4 playlist; ts.m3u8 stays TS."""
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, hls_container="fmp4")
    with live_server_thread(config) as (live, _):
        base = f"http://127.0.0.1:{live.ports['http']}/live/test/"
        deadline = time.monotonic() + 20
        while get(base + "index.m3u8")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        index = get(base + "index.m3u8")[1].decode()
        assert "#EXT-X-MAP:URI=\"init0.mp4\"" in index and re.search(r"^seg\d+\.m4s$", index, re.M)
        assert re.search(r"^seg\d+\.ts$", get(base + "ts.m3u8")[1].decode(), re.M)


def test_the_command_line_flag() -> None:
    from mediaproto.server.cli import parse_args

    assert parse_args([]).hls_container == "ts"
    assert parse_args(["--hls-container", "fmp4"]).hls_container == "fmp4"
    with pytest.raises(SystemExit):
        parse_args(["--hls-container", "mp4"])
