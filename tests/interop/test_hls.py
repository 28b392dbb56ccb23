"""HLS against FFmpeg: its playlists round-trip byte-exact through our parser, and what our
segmenter writes (served by ``python -m http.server`` on 127.0.0.1) FFmpeg plays to the end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mediaproto import hls
from mediaproto.hls.segmenter import PartReady, PlaylistChanged, SegmentReady, Segmenter, SegmentRemoved
from mediaproto.media import Frame, Track
from mediaproto.mpegts import demux
from mediaproto import testsrc

REF_VIDEO_FRAMES = 100  # ffprobe's counts for ref.flv / ref.ts (vectors README)
REF_AUDIO_FRAMES = 189


def _ffmpeg(ffmpeg: str, *args: str, cwd: Path) -> None:
    subprocess.run([ffmpeg, "-v", "error", "-y", *args], cwd=cwd, check=True, timeout=60, capture_output=True)


def _round_trip(path: Path) -> hls.MediaPlaylist | hls.MultivariantPlaylist:
    text = path.read_text()
    pl = hls.parse(text)
    assert pl.dumps() == text, path.name
    return pl


def test_ffmpeg_live_playlist(ffmpeg: str, vectors: Path, tmp_path: Path) -> None:
    _ffmpeg(ffmpeg, "-i", str(vectors / "ref.flv"), "-c", "copy", "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "3", "-hls_flags", "program_date_time+independent_segments",
            "index.m3u8", cwd=tmp_path)  # fmt: skip
    pl = _round_trip(tmp_path / "index.m3u8")
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.independent_segments and all(s.program_date_time is not None for s in pl.segments)
    assert 1 <= len(pl.segments) <= 3 and pl.endlist


def test_ffmpeg_vod_playlist(ffmpeg: str, vectors: Path, tmp_path: Path) -> None:
    _ffmpeg(ffmpeg, "-i", str(vectors / "ref.flv"), "-c", "copy", "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "0", "-hls_playlist_type", "vod", "index.m3u8", cwd=tmp_path)  # fmt: skip
    pl = _round_trip(tmp_path / "index.m3u8")
    assert isinstance(pl, hls.MediaPlaylist) and pl.playlist_type == "VOD"
    assert pl.duration == pytest.approx(4.0, abs=0.05)


def test_ffmpeg_fmp4_playlist(ffmpeg: str, vectors: Path, tmp_path: Path) -> None:
    _ffmpeg(ffmpeg, "-i", str(vectors / "ref.flv"), "-c", "copy", "-f", "hls", "-hls_time", "1",
            "-hls_segment_type", "fmp4", "-hls_list_size", "0", "index.m3u8", cwd=tmp_path)  # fmt: skip
    pl = _round_trip(tmp_path / "index.m3u8")
    assert isinstance(pl, hls.MediaPlaylist) and pl.segments[0].map is not None


def test_ffmpeg_master_playlist(ffmpeg: str, vectors: Path, tmp_path: Path) -> None:
    _ffmpeg(ffmpeg, "-i", str(vectors / "ref.flv"), "-map", "0:v", "-map", "0:a", "-c", "copy",
            "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-master_pl_name", "master.m3u8",
            "-var_stream_map", "v:0,agroup:aud a:0,agroup:aud,default:yes,language:en",
            "out_%v.m3u8", cwd=tmp_path)  # fmt: skip
    master = _round_trip(tmp_path / "master.m3u8")
    assert isinstance(master, hls.MultivariantPlaylist)
    assert master.media and master.media[0].type == "AUDIO" and master.media[0].group_id == "group_aud"
    assert master.variants and all(v.stream_inf.bandwidth > 0 for v in master.variants)
    for v in master.variants:
        assert isinstance(_round_trip(tmp_path / v.uri), hls.MediaPlaylist)


def test_ffmpeg_encrypted_playlist(ffmpeg: str, vectors: Path, tmp_path: Path) -> None:
    (tmp_path / "k.key").write_bytes(b"0123456789abcdef")
    (tmp_path / "k.info").write_text(
        f"https://keys.example.com/k.key\n{tmp_path / 'k.key'}\n00112233445566778899aabbccddeeff\n"
    )
    _ffmpeg(ffmpeg, "-i", str(vectors / "ref.flv"), "-c", "copy", "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "0", "-hls_key_info_file", "k.info", "index.m3u8", cwd=tmp_path)  # fmt: skip
    pl = _round_trip(tmp_path / "index.m3u8")
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.segments[0].keys == [
        hls.Key("AES-128", "https://keys.example.com/k.key", bytes.fromhex("00112233445566778899aabbccddeeff"))
    ]


@pytest.mark.parametrize("flags", ["single_file", "single_file+iframes_only"])
def test_ffmpeg_byterange_playlists(ffmpeg: str, vectors: Path, tmp_path: Path, flags: str) -> None:
    _ffmpeg(ffmpeg, "-i", str(vectors / "ref.flv"), "-c", "copy", "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "0", "-hls_flags", flags, "index.m3u8", cwd=tmp_path)  # fmt: skip
    pl = _round_trip(tmp_path / "index.m3u8")
    assert isinstance(pl, hls.MediaPlaylist) and pl.i_frames_only == ("iframes_only" in flags)
    ranges = [s.byterange for s in pl.segments]
    assert all(r is not None and r.offset is not None for r in ranges)
    size = (tmp_path / "index.ts").stat().st_size
    last = ranges[-1]
    assert last is not None and last.offset is not None and last.offset + last.length <= size


# --- our segmenter, played by ffmpeg ------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _segment_to(folder: Path, seg: Segmenter, frames: list[Frame]) -> int:
    parts = 0
    events: list[object] = []
    for f in frames:
        events += seg.feed(f)
    events += seg.flush()
    for e in events:
        if isinstance(e, SegmentReady):
            _write_atomically(folder / e.name, e.data)
        elif isinstance(e, PartReady):
            _write_atomically(folder / e.name, e.data)
            parts += 1
        elif isinstance(e, SegmentRemoved):
            (folder / e.name).unlink(missing_ok=True)
        elif isinstance(e, PlaylistChanged):
            _write_atomically(folder / "index.m3u8", e.text.encode())
    return parts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _http_server(folder: Path) -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _play(ffmpeg: str, ffprobe: str, url: str) -> tuple[dict[str, int], float]:
    play = subprocess.run([ffmpeg, "-v", "error", "-i", url, "-f", "null", "-"], capture_output=True, timeout=120)
    assert play.returncode == 0 and play.stderr == b"", play.stderr.decode(errors="replace")
    probe = subprocess.run(
        [ffprobe, "-v", "error", "-count_packets", "-show_entries", "stream=codec_type,nb_read_packets:format=duration",
         "-of", "default=nw=1", url],
        capture_output=True, timeout=120, text=True, check=True,
    )  # fmt: skip
    counts: dict[str, int] = {}
    kind = ""
    duration = 0.0
    for line in probe.stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "codec_type":
            kind = value
        elif key == "nb_read_packets":
            counts[kind] = int(value)
        elif key == "duration":
            duration = float(value)
    return counts, duration


def _ref_frames(vectors: Path) -> tuple[tuple[Track, ...], list[Frame]]:
    d = demux.Demuxer()
    events = d.feed((vectors / "ref.ts").read_bytes()) + d.flush()
    frames = [e.frame for e in events if isinstance(e, demux.FrameReceived)]
    return tuple(d.tracks), frames


@pytest.mark.parametrize("part_target", [None, 0.2])
def test_segmenter_ref_ts_played_by_ffmpeg(
    ffmpeg: str, ffprobe: str, vectors: Path, tmp_path: Path, part_target: float | None
) -> None:
    tracks, frames = _ref_frames(vectors)
    assert len(frames) == REF_VIDEO_FRAMES + REF_AUDIO_FRAMES
    seg = Segmenter(tracks, target_duration=1.0, mode="event", part_target=part_target)
    parts = _segment_to(tmp_path, seg, frames)
    assert (parts > 0) == (part_target is not None)
    with _http_server(tmp_path) as port:
        counts, duration = _play(ffmpeg, ffprobe, f"http://127.0.0.1:{port}/index.m3u8")
    assert counts == {"video": REF_VIDEO_FRAMES, "audio": REF_AUDIO_FRAMES}
    assert duration == pytest.approx(4.0, abs=0.1)


def test_segmenter_testsrc_played_by_ffmpeg(ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    src = testsrc.TestSource(keyframe_interval=1.0)
    frames = src.frames_until(6.0)
    n_video = sum(1 for f in frames if f.track_id == testsrc.VIDEO_TRACK_ID)
    n_audio = len(frames) - n_video
    seg = Segmenter(src.tracks, target_duration=2.0, mode="vod")
    _segment_to(tmp_path, seg, frames)
    pl = hls.parse((tmp_path / "index.m3u8").read_text())
    assert isinstance(pl, hls.MediaPlaylist) and pl.duration == pytest.approx(6.0)
    with _http_server(tmp_path) as port:
        counts, duration = _play(ffmpeg, ffprobe, f"http://127.0.0.1:{port}/index.m3u8")
    assert counts == {"video": n_video, "audio": n_audio}
    assert duration == pytest.approx(6.0, abs=0.1)


def test_segmenter_live_window_played_by_ffmpeg_while_produced(
    ffmpeg: str, ffprobe: str, vectors: Path, tmp_path: Path
) -> None:
    """Live mode for real: frames are segmented at their own pace while ffmpeg reads the sliding
    playlist (a window of one segment, no ENDLIST until the end) and must still get every frame."""
    tracks, frames = _ref_frames(vectors)
    seg = Segmenter(tracks, target_duration=1.0, window=1, mode="live")
    rate = {t.id: t.clock_rate for t in tracks}
    first = frames[0].dts / rate[frames[0].track_id]
    removed: list[str] = []

    def handle(events: list[object]) -> None:
        for e in events:
            if isinstance(e, SegmentReady):
                _write_atomically(tmp_path / e.name, e.data)
            elif isinstance(e, SegmentRemoved):
                removed.append(e.name)
                (tmp_path / e.name).unlink(missing_ok=True)
            elif isinstance(e, PlaylistChanged):
                _write_atomically(tmp_path / "index.m3u8", e.text.encode())

    with _http_server(tmp_path) as port:
        proc = None
        try:
            start = time.monotonic()
            for f in frames:
                due = start + f.dts / rate[f.track_id] - first
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                handle(seg.feed(f))
                if proc is None and (tmp_path / "index.m3u8").exists():
                    proc = subprocess.Popen(
                        [ffmpeg, "-v", "error", "-live_start_index", "0", "-i",
                         f"http://127.0.0.1:{port}/index.m3u8", "-map", "0", "-c", "copy", "-f", "framecrc", "-"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    )  # fmt: skip
            handle(seg.flush())
            assert proc is not None
            out, err = proc.communicate(timeout=60)
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert err == b"", err.decode(errors="replace")
    rows = [ln.split(b",") for ln in out.splitlines() if ln and not ln.startswith(b"#")]
    counts = {0: 0, 1: 0}
    for row in rows:
        counts[int(row[0])] += 1
    assert sorted(counts.values()) == sorted([REF_VIDEO_FRAMES, REF_AUDIO_FRAMES])
    pl = hls.parse((tmp_path / "index.m3u8").read_text())
    # the clip's GOP is 2 s: two segments, the first slid out of the window (and is not deleted
    # yet: it stays available for its duration plus the playlist's)
    assert isinstance(pl, hls.MediaPlaylist) and pl.endlist and [s.uri for s in pl.segments] == ["seg1.ts"]
    assert pl.media_sequence == 1 and removed == []


def test_segmenter_gathered_audio_played_by_ffmpeg(ffmpeg: str, ffprobe: str, vectors: Path, tmp_path: Path) -> None:
    """With several AAC frames per PES (as FFmpeg muxes), every cut still flushes the audio."""
    tracks, frames = _ref_frames(vectors)
    seg = Segmenter(tracks, target_duration=1.0, mode="vod", part_target=0.4, mux_options={"audio_frames_per_pes": 5})
    _segment_to(tmp_path, seg, frames)
    with _http_server(tmp_path) as port:
        counts, duration = _play(ffmpeg, ffprobe, f"http://127.0.0.1:{port}/index.m3u8")
    assert counts == {"video": REF_VIDEO_FRAMES, "audio": REF_AUDIO_FRAMES}
    assert duration == pytest.approx(4.0, abs=0.1)
