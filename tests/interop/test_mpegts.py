"""MPEG-TS against FFmpeg: TS we mux is probed and decoded by ffmpeg without errors, and TS that
ffmpeg muxes demuxes to the packets ffprobe reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mediaproto.media import Frame, Track
from mediaproto.mpegts import Demuxer, FrameReceived, Muxer, TracksChanged
from mediaproto import testsrc

TIMEOUT = 60


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _probe(ffprobe: str, path: Path) -> dict[str, list[dict[str, object]]]:
    out = _run([ffprobe, "-v", "error", "-show_entries",
                "stream=index,codec_name,profile,sample_rate,channels,width,height:"
                "packet=stream_index,pts,dts,size,flags", "-of", "json", str(path)])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _decoded_frames(ffprobe: str, path: Path) -> list[int]:
    out = _run([ffprobe, "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "json",
                str(path)])
    assert out.returncode == 0, out.stderr
    return [int(s["nb_read_frames"]) for s in json.loads(out.stdout)["streams"]]


def _decodes_cleanly(ffmpeg: str, path: Path) -> None:
    out = _run([ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"])
    assert out.returncode == 0
    assert out.stderr == ""


def _demux(data: bytes) -> tuple[tuple[Track, ...], list[FrameReceived]]:
    dm = Demuxer()
    events = dm.feed(data) + dm.flush()
    tracks = [e for e in events if isinstance(e, TracksChanged)][-1].tracks
    return tracks, [e for e in events if isinstance(e, FrameReceived)]


def _check_timestamps(probe: dict[str, list[dict[str, object]]]) -> None:
    """Per stream: DTS strictly increasing, PTS >= DTS, PTS all distinct (monotonic in
    presentation order)."""
    streams: dict[int, list[tuple[int, int]]] = {}
    for p in probe["packets"]:
        streams.setdefault(int(str(p["stream_index"])), []).append((int(str(p["pts"])), int(str(p["dts"]))))
    for packets in streams.values():
        dts = [d for _, d in packets]
        assert all(a < b for a, b in zip(dts, dts[1:]))
        assert all(p >= d for p, d in packets)
        assert len({p for p, _ in packets}) == len(packets)


def _mux(tracks: tuple[Track, ...] | list[Track], frames: list[Frame], path: Path, **kwargs: object) -> None:
    mux = Muxer(tracks, **kwargs)  # type: ignore[arg-type]
    path.write_bytes(b"".join(mux.mux(f) for f in frames) + mux.drain())


def _ffmpeg_ts(ffmpeg: str, path: Path, video: list[str], audio: list[str], audio_rate: int = 48000) -> None:
    args = [ffmpeg, "-nostdin", "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={audio_rate}"]
    args += ["-t", "2"] + video + audio + ["-f", "mpegts", str(path)]
    out = _run(args)
    if out.returncode != 0:
        pytest.skip(f"ffmpeg could not make the input: {out.stderr.strip()[:200]}")


def _has_encoder(ffmpeg: str, name: str) -> bool:
    return name in _run([ffmpeg, "-hide_banner", "-encoders"]).stdout


INPUTS = {
    "h264-aac": (["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25"], ["-c:a", "aac"], "libx264"),
    "h265-opus": (["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"],
                  ["-c:a", "libopus"], "libx265"),
    "h264-mp3": (["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "libmp3lame"], "libmp3lame"),
    "aac-44k": ([], ["-c:a", "aac"], "aac"),
    "opus": ([], ["-c:a", "libopus"], "libopus"),
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_ffmpeg_ts_demuxes_like_ffprobe_and_remuxes(name: str, ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    video, audio, encoder = INPUTS[name]
    if not _has_encoder(ffmpeg, encoder):
        pytest.skip(f"ffmpeg has no {encoder}")
    src = tmp_path / "in.ts"
    _ffmpeg_ts(ffmpeg, src, video, audio, 44100 if name in ("aac-44k", "h264-mp3") else 48000)
    probe = _probe(ffprobe, src)
    tracks, received = _demux(src.read_bytes())
    # 1. our demuxer gives the packets ffprobe reports (stream order = PMT order)
    ids = [t.id for t in tracks]
    assert len(ids) == len(probe["streams"])
    for index, track_id in enumerate(ids):
        ours = [(e.frame.pts, e.frame.dts, e.size, e.frame.keyframe) for e in received if e.frame.track_id == track_id]
        theirs = [(int(str(p["pts"])), int(str(p["dts"])), int(str(p["size"])), str(p["flags"]).startswith("K"))
                  for p in probe["packets"] if p["stream_index"] == index]
        assert len(ours) == len(theirs)
        assert [o[:2] for o in ours] == [t[:2] for t in theirs]
        assert [o[3] for o in ours] == [t[3] for t in theirs]
        if tracks[index].codec.value == "h265":
            # ffprobe's HEVC parser moves the leading zero of a 4-byte start code to the previous
            # access unit: sizes may differ by one byte per unit, the sum is the same
            assert sum(o[2] for o in ours) == sum(t[2] for t in theirs)
            assert all(abs(o[2] - t[2]) <= 1 for o, t in zip(ours, theirs))
        else:
            assert [o[2] for o in ours] == [t[2] for t in theirs]
    # the tracks say what ffprobe says about the streams
    for track, stream in zip(tracks, probe["streams"]):
        if track.codec.is_video:
            assert (track.width, track.height) == (stream["width"], stream["height"])
        elif track.codec.value in ("aac", "opus"):
            assert (str(track.sample_rate), track.channels) == (stream["sample_rate"], stream["channels"])
    # 2. remuxed by us: the same streams, decoded without a word, every frame
    out = tmp_path / "out.ts"
    _mux(tracks, sorted((e.frame for e in received), key=lambda f: f.dts), out)
    probe2 = _probe(ffprobe, out)
    assert [(s["codec_name"], s.get("sample_rate"), s.get("channels"), s.get("width")) for s in probe2["streams"]] == [
        (s["codec_name"], s.get("sample_rate"), s.get("channels"), s.get("width")) for s in probe["streams"]]
    _decodes_cleanly(ffmpeg, out)
    assert _decoded_frames(ffprobe, out) == _decoded_frames(ffprobe, src)
    _check_timestamps(probe2)


@pytest.mark.parametrize("per_pes", [1, 16])
def test_ref_ts_remuxed(ffmpeg: str, ffprobe: str, vectors: Path, tmp_path: Path, per_pes: int) -> None:
    tracks, received = _demux((vectors / "ref.ts").read_bytes())
    out = tmp_path / "ref-remux.ts"
    _mux(tracks, sorted((e.frame for e in received), key=lambda f: f.dts), out, audio_frames_per_pes=per_pes)
    probe = _probe(ffprobe, out)
    assert [(s["codec_name"], s.get("profile")) for s in probe["streams"]] == [
        ("h264", "Constrained Baseline"), ("aac", "LC")]
    _decodes_cleanly(ffmpeg, out)
    assert _decoded_frames(ffprobe, out) == [100, 189]  # the counts ffprobe gives for ref.ts
    _check_timestamps(probe)
    # the same timestamps as ffprobe reports for FFmpeg's own ref.ts, and the same audio sizes (the
    # video sizes differ: we write 4-byte start codes everywhere, FFmpeg 3-byte ones after the first)
    ref = _probe(ffprobe, vectors / "ref.ts")

    def packets(probe: dict[str, list[dict[str, object]]], index: int) -> list[tuple[object, ...]]:
        return [(p["pts"], p["dts"], p["flags"]) + ((p["size"],) if index else ())
                for p in probe["packets"] if p["stream_index"] == index]

    for index in (0, 1):
        if per_pes == 1 or index == 0:
            assert packets(probe, index) == packets(ref, index)
        else:
            # frames inside a PES get interpolated timestamps: FFmpeg's own were not on the
            # 1024-sample grid (they come from FLV milliseconds), so they move by less than 1 ms
            ours, theirs = packets(probe, index), packets(ref, index)
            assert [p[2:] for p in ours] == [p[2:] for p in theirs]
            assert all(abs(int(str(a[0])) - int(str(b[0]))) < 90 for a, b in zip(ours, theirs))


def test_test_source(ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    source = testsrc.TestSource(width=320, height=240, frame_rate=25, keyframe_interval=1.0)
    frames = source.frames_until(3)
    out = tmp_path / "testsrc.ts"
    _mux(source.tracks, frames, out, service_name="Caméra 1", service_provider_name="mediaproto")
    probe = _probe(ffprobe, out)
    assert [(s["codec_name"], s.get("width"), s.get("height"), s.get("sample_rate"), s.get("channels"))
            for s in probe["streams"]] == [("h264", 320, 240, None, None), ("aac", None, None, "48000", 2)]
    _decodes_cleanly(ffmpeg, out)
    tags = _run([ffprobe, "-v", "error", "-show_entries", "program_tags=service_name,service_provider", "-of", "json",
                 str(out)])
    assert json.loads(tags.stdout)["programs"][0]["tags"] == {"service_name": "Caméra 1",
                                                             "service_provider": "mediaproto"}
    counts = [sum(1 for f in frames if f.track_id == t.id) for t in source.tracks]
    assert _decoded_frames(ffprobe, out) == counts
    _check_timestamps(probe)


def test_audio_only_and_wrap(ffmpeg: str, ffprobe: str, tmp_path: Path) -> None:
    source = testsrc.TestSource(audio=True)
    audio_track = source.tracks[1]
    frames = [f for f in source.frames_until(2) if f.track_id == audio_track.id]
    out = tmp_path / "audio.ts"
    # start 1 s before the 33-bit wrap: ffmpeg must see continuous audio across it
    _mux([audio_track], frames, out, timestamp_offset=(1 << 33) - 90000)
    _decodes_cleanly(ffmpeg, out)
    assert _decoded_frames(ffprobe, out) == [len(frames)]
