"""LL-HLS from the live server (``ll_hls=True``), checked with a small HTTP client and ffmpeg/ffprobe.

The server runs in-process on its own asyncio loop in a thread, on free ports, and serves as
LL-HLS with 1 s segments and 0.2 s parts both the built-in test source ``live/test`` (25 fps, an
IDR picture every second) and a stream ffmpeg publishes over RTMP (x264 with B-frames, a keyframe
every second, AAC); every test runs on both. The expectations come from the LL-HLS spec (RFC 8216bis: EXT-X-PART-INF,
EXT-X-PART INDEPENDENT, EXT-X-PRELOAD-HINT, EXT-X-SERVER-CONTROL, blocking playlist reload, 400 for
an ``_HLS_msn`` too far ahead), Apple's HLS authoring rule that parts last at least 85 % of the
part target (except a segment's last), and from ffprobe/ffmpeg, which say which parts start with
a keyframe and that every part and segment decodes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]

from ._live import Config, LiveServer, live_server_thread  # noqa: E402

PART = 0.2
SEGMENT = 1.0
NAME = "live/test"


class Client:
    def __init__(self, port: int, name: str) -> None:
        self.base = f"http://127.0.0.1:{port}/{name}/"

    def get(self, path: str, timeout: float = 15) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def playlist(self, query: str = "") -> str:
        status, body = self.get("index.m3u8" + query)
        assert status == 200, body
        return body.decode()

    def wait_segments(self, n: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(re.findall(r"^#EXTINF", self.playlist() if self.get("index.m3u8")[0] == 200 else "", re.M)) < n:
            assert time.monotonic() < deadline, f"{self.base} never had {n} segments"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, ll_hls=True,
                    part_target=PART, hls_segment=SEGMENT)
    with live_server_thread(config) as (live, _):
        yield live


@pytest.fixture(scope="module")
def x264(server: LiveServer, ffmpeg: str) -> Iterator[str]:
    """A real encoder as publisher: ffmpeg's x264 (B-frames, a keyframe every second) and AAC."""
    proc = subprocess.Popen(
        [ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "40",
         "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-bf", "2", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-f", "flv", f"rtmp://127.0.0.1:{server.ports['rtmp']}/live/x264"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield "live/x264"
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module", params=["test source", "x264"])
def client(request: pytest.FixtureRequest, server: LiveServer) -> Client:
    name = request.getfixturevalue("x264") if request.param == "x264" else NAME
    c = Client(server.ports["http"], name)
    c.wait_segments(3)
    return c


def attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.partition(":")[2])}


def parse(text: str) -> tuple[list[tuple[str, list[tuple[float, str, bool]], float]], list[tuple[float, str, bool]]]:
    """The segments (uri, parts, EXTINF) and the trailing parts of the segment in progress."""
    segments: list[tuple[str, list[tuple[float, str, bool]], float]] = []
    parts: list[tuple[float, str, bool]] = []
    extinf = 0.0
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            a = attrs(line)
            parts.append((float(a["DURATION"]), a["URI"], a.get("INDEPENDENT") == "YES"))
        elif line.startswith("#EXTINF:"):
            extinf = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            segments.append((line, parts, extinf))
            parts = []
    return segments, parts


def ffmpeg_errors(ffmpeg: str, data: bytes, tmp: Path, name: str) -> str:
    path = tmp / name
    path.write_bytes(data)
    proc = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=30)
    return proc.stderr.strip() + ("" if proc.returncode == 0 else f" (exit {proc.returncode})")


def test_playlist_tags(client: Client) -> None:
    text = client.playlist()
    lines = text.splitlines()
    part_inf = next(x for x in lines if x.startswith("#EXT-X-PART-INF:"))
    assert float(attrs(part_inf)["PART-TARGET"]) == pytest.approx(PART)
    control = attrs(next(x for x in lines if x.startswith("#EXT-X-SERVER-CONTROL:")))
    assert control["CAN-BLOCK-RELOAD"] == "YES"
    assert float(control["PART-HOLD-BACK"]) >= 3 * PART - 1e-9
    hints = [x for x in lines if x.startswith("#EXT-X-PRELOAD-HINT:")]
    assert len(hints) == 1 and attrs(hints[0])["TYPE"] == "PART"
    assert lines[-1].startswith("#EXT-X-PRELOAD-HINT:") or any(x.startswith("#EXT-X-RENDITION-REPORT") for x in lines)
    assert int(lines[1].partition(":")[2]) >= 6 if lines[1].startswith("#EXT-X-VERSION") else True
    segments, trailing = parse(text)
    assert any(parts for _, parts, _ in segments), "no parts listed"
    # The hint names the part after the last one listed.
    last = (trailing or segments[-1][1])[-1][1]
    msn, index = map(int, re.fullmatch(r"seg(\d+)\.(\d+)\.ts", last).groups())  # type: ignore[union-attr]
    hinted = attrs(hints[0])["URI"]
    assert hinted in (f"seg{msn}.{index + 1}.ts", f"seg{msn + 1}.0.ts")


def test_part_durations(client: Client) -> None:
    segments, trailing = parse(client.playlist())
    for uri, parts, extinf in segments:
        if not parts:
            continue
        for duration, puri, _ in parts[:-1]:
            assert duration >= 0.85 * PART, f"{puri}: {duration} s < 85% of {PART}"
        assert all(d <= PART + 1e-6 for d, _, _ in parts)
        assert sum(d for d, _, _ in parts) == pytest.approx(extinf, abs=0.002), uri
    for duration, puri, _ in trailing:
        assert duration >= 0.85 * PART, puri


def test_independent_parts_start_with_a_keyframe(client: Client, ffprobe: str, tmp_path: Path) -> None:
    segments, trailing = parse(client.playlist())
    parts = [p for _, ps, _ in segments for p in ps] + trailing
    checked = 0
    for _, uri, independent in parts[-12:]:
        status, data = client.get(uri)
        if status != 200:
            continue  # slid out of the window meanwhile
        path = tmp_path / uri
        path.write_bytes(data)
        out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "packet=flags",
                              "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=30)
        flags = out.stdout.split()
        assert flags, f"{uri}: no video packet"
        assert ("K" in flags[0]) == independent, f"{uri}: INDEPENDENT={independent} but first packet flags {flags[0]}"
        checked += 1
    assert checked >= 8


def _hint(text: str) -> tuple[int, int]:
    uri = attrs(next(x for x in text.splitlines() if x.startswith("#EXT-X-PRELOAD-HINT:")))["URI"]
    m = re.match(r"seg(\d+)\.(\d+)\.ts", uri)
    assert m is not None, uri
    return int(m[1]), int(m[2])


def test_blocking_reload_waits_for_the_next_part(client: Client) -> None:
    waited = []
    for _ in range(4):
        msn, part = _hint(client.playlist())
        name = f"seg{msn}.{part}.ts"
        before = client.get(name)[0]
        t0 = time.monotonic()
        text = client.playlist(f"?_HLS_msn={msn}&_HLS_part={part}")
        elapsed = time.monotonic() - t0
        if before == 200:
            continue  # it appeared in between: no waiting to check
        segments, trailing = parse(text)
        listed = {uri for _, ps, _ in segments for _, uri, _ in ps} | {uri for _, uri, _ in trailing}
        # The part asked for, or, when the segment ended there, part 0 of the next segment.
        assert name in listed or f"seg{msn + 1}.0.ts" in listed, text
        status = client.get(name if name in listed else f"seg{msn + 1}.0.ts")[0]
        assert status == 200
        assert elapsed <= PART + 0.5, f"blocked {elapsed:.3f} s"
        waited.append(elapsed)
    assert waited, "every hinted part was ready before the request"
    assert max(waited) > 0.02, f"blocking requests returned at once: {waited}"


def test_msn_far_in_the_future_is_rejected(client: Client) -> None:
    msn, _ = _hint(client.playlist())
    t0 = time.monotonic()
    assert client.get(f"index.m3u8?_HLS_msn={msn + 10}")[0] == 400
    assert client.get(f"index.m3u8?_HLS_msn={msn + 10}&_HLS_part=0")[0] == 400
    assert time.monotonic() - t0 < 2
    assert client.get("index.m3u8?_HLS_part=1")[0] == 400


def test_client_query_is_kept_on_every_uri(client: Client) -> None:
    for query in ("?token=x", "?token=x&_HLS_msn={msn}&_HLS_part={part}", "?token=x&_HLS_skip=YES"):
        msn, part = _hint(client.playlist())
        text = client.playlist(query.format(msn=msn, part=part))
        uris = [x for x in text.splitlines() if x and not x.startswith("#")]
        uris += re.findall(r'URI="([^"]*)"', text)
        assert uris
        for uri in uris:
            assert uri.endswith("?token=x"), f"{query}: {uri}"
            assert "_HLS_" not in uri


def test_parts_and_segments_decode(client: Client, ffmpeg: str, tmp_path: Path) -> None:
    segments, _ = parse(client.playlist())
    done = [(uri, parts) for uri, parts, _ in segments if parts and parts[0][1].startswith(uri[:-3] + ".0")]
    assert done, "no complete segment with its parts listed"
    uri, parts = done[-1]
    status, segment = client.get(uri)
    assert status == 200
    blobs = []
    for _, puri, _ in parts:
        status, data = client.get(puri)
        assert status == 200, puri
        blobs.append(data)
    assert b"".join(blobs) == segment, "the parts of a segment are not its bytes"
    assert not ffmpeg_errors(ffmpeg, segment, tmp_path, uri)
    # A player starts at an independent part and goes on with the following ones.
    for k, (_, puri, independent) in enumerate(parts):
        assert k > 0 or independent
        assert not ffmpeg_errors(ffmpeg, b"".join(blobs[: k + 1]), tmp_path, f"upto-{puri}"), puri


def test_ffmpeg_plays_the_ll_playlist(client: Client, ffmpeg: str) -> None:
    proc = subprocess.run([ffmpeg, "-v", "error", "-i", client.base + "index.m3u8", "-t", "3", "-map", "0:v",
                           "-map", "0:a", "-f", "framecrc", "-"], capture_output=True, text=True, timeout=60)
    assert not proc.stderr.strip(), proc.stderr[:2000]
    counts: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        if line and not line.startswith("#"):
            counts[line.split(",")[0]] = counts.get(line.split(",")[0], 0) + 1
    assert counts.get("0", 0) >= 70 and counts.get("1", 0) >= 130, counts
