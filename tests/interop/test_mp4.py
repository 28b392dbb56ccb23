"""Fragmented MP4 against FFmpeg and GStreamer.

* ffprobe reads our init segment + fragments (H.264 with B-frames + AAC, H.265 + AAC, H.264 +
  Opus) with the same packets (timestamps, key flags) as the source ffmpeg encoded, and ffmpeg
  decodes them without an error;
* our demuxer reads fMP4 written by ``ffmpeg -movflags +frag_keyframe+empty_moov+default_base_moof``
  and by GStreamer's ``mp4mux fragment-duration=500`` with the packets ffprobe reports, and their
  boxes write back byte for byte.

Sources are 2 s of lavfi/videotestsrc at 160x120 made in a temporary folder; every process is
bounded by a timeout.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from mediaproto.clock import rescale
from mediaproto.media import Codec, Frame, Track
from mediaproto.mp4 import Demuxer, Fragmenter, FrameReceived, TracksChanged, parse_boxes
from mediaproto.mpegts import Demuxer as TsDemuxer
from mediaproto.mpegts import FrameReceived as TsFrameReceived
from mediaproto.mpegts import TracksChanged as TsTracksChanged

from .conftest import _require

pytestmark = pytest.mark.interop

TIMEOUT = 120

VIDEO = {
    "h264": ["-c:v", "libx264", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p"],
    "h265": ["-c:v", "libx265", "-x265-params", "log-level=none:bframes=2:keyint=25", "-pix_fmt", "yuv420p"],
}
AUDIO = {
    "aac": ["-c:a", "aac", "-ar", "48000"],
    "opus": ["-c:a", "libopus", "-ar", "48000"],
}
PAIRS = [("h264", "aac"), ("h265", "aac"), ("h264", "opus")]

Packet = tuple[Fraction, Fraction, bool]


@pytest.fixture(scope="session")
def gst_launch() -> str:
    """Path of gst-launch-1.0."""
    return _require("gst-launch-1.0")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _make(ffmpeg: str, path: Path, video: str, audio: str, fmt: list[str]) -> None:
    out = _run([ffmpeg, "-nostdin", "-v", "error", "-y",
                "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
                *VIDEO[video], *AUDIO[audio], *fmt, str(path)])
    if out.returncode != 0:
        pytest.fail(f"ffmpeg could not make the source: {out.stderr.strip()[:300]}")


def _probe(ffprobe: str, path: Path) -> dict[int, list[dict[str, str]]]:
    """ffprobe's packets per stream, and each stream's codec and time base (key ``-1``)."""
    out = _run([ffprobe, "-v", "error", "-show_entries",
                "stream=index,codec_name,time_base:packet=stream_index,pts,dts,size,flags", "-of", "json", str(path)])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    streams: dict[int, list[dict[str, str]]] = {-1: doc["streams"]}
    for p in doc["packets"]:
        streams.setdefault(int(p["stream_index"]), []).append(p)
    return streams


def _packets(probe: dict[int, list[dict[str, str]]]) -> dict[str, list[Packet]]:
    """Per codec name: (pts, dts) in seconds and the key flag of every packet."""
    out: dict[str, list[Packet]] = {}
    for stream in probe[-1]:
        base = Fraction(stream["time_base"])
        out[stream["codec_name"]] = [(int(p["pts"]) * base, int(p["dts"]) * base, "K" in p["flags"])
                                     for p in probe.get(int(stream["index"]), [])]
    return out


def _decoded_frames(ffprobe: str, path: Path) -> list[int]:
    out = _run([ffprobe, "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "json",
                str(path)])
    assert out.returncode == 0, out.stderr
    return [int(s["nb_read_frames"]) for s in json.loads(out.stdout)["streams"]]


def _from_ts(data: bytes) -> tuple[list[Track], list[Frame]]:
    """Tracks and frames of a transport stream, Opus moved to its 48 kHz clock (the MP4 timescale
    the Opus-in-ISOBMFF specification asks for)."""
    dm = TsDemuxer()
    events = dm.feed(data) + dm.flush()
    tracks = list([e for e in events if isinstance(e, TsTracksChanged)][-1].tracks)
    frames = [e.frame for e in events if isinstance(e, TsFrameReceived)]
    for i, t in enumerate(tracks):
        if t.codec is Codec.OPUS:
            tracks[i] = Track(t.id, t.codec, 48000, t.config, sample_rate=48000, channels=t.channels or 2)
            frames = [Frame(f.track_id, rescale(f.pts, 90000, 48000), rescale(f.dts, 90000, 48000), f.data,
                            f.keyframe) if f.track_id == t.id else f for f in frames]
    return tracks, frames


def _fragment(tracks: list[Track], frames: list[Frame]) -> bytes:
    """Init segment + fragments cut before every video keyframe (HLS segments) and every 8 video
    frames (LL-HLS parts, which start with non-key frames)."""
    fr = Fragmenter(tracks)
    video_id = next(t.id for t in tracks if t.codec.is_video)
    out = [fr.init_segment()]
    count = 0
    for f in frames:
        if f.track_id == video_id:
            if fr.queued and (f.keyframe or count % 8 == 0):
                out.append(fr.fragment())
            count += 1
        fr.add(f)
    out.append(fr.drain())
    return b"".join(out)


@pytest.mark.parametrize(("video", "audio"), PAIRS, ids=["+".join(p) for p in PAIRS])
def test_ffprobe_reads_our_fragments(ffmpeg: str, ffprobe: str, tmp_path: Path, video: str, audio: str) -> None:
    source = tmp_path / "source.ts"
    _make(ffmpeg, source, video, audio, ["-f", "mpegts"])
    tracks, frames = _from_ts(source.read_bytes())
    assert [t.codec.value for t in tracks] == [video, audio]
    ours = tmp_path / "ours.mp4"
    ours.write_bytes(_fragment(tracks, frames))

    want = _packets(_probe(ffprobe, source))
    got = _packets(_probe(ffprobe, ours))
    assert set(got) == set(want) == {"h264" if video == "h264" else "hevc", audio}
    for codec, packets in want.items():
        assert got[codec] == packets, codec
    video_packets = want["h264" if video == "h264" else "hevc"]
    assert any(p[0] != p[1] for p in video_packets)  # the source has B-frames: pts != dts
    assert sum(p[2] for p in video_packets) == 2  # keyframes at 0 s and 1 s

    assert _decoded_frames(ffprobe, ours) == _decoded_frames(ffprobe, source)
    decode = _run([ffmpeg, "-nostdin", "-v", "error", "-i", str(ours), "-f", "null", "-"])
    assert decode.returncode == 0 and decode.stderr == ""


def _our_packets(data: bytes, chunk: int) -> tuple[tuple[Track, ...], dict[int, list[tuple[int, int, int, bool]]]]:
    dm = Demuxer()
    events = []
    for pos in range(0, len(data), chunk):
        events += dm.feed(data[pos:pos + chunk])
    events += dm.flush()
    tracks = [e for e in events if isinstance(e, TracksChanged)][-1].tracks
    got: dict[int, list[tuple[int, int, int, bool]]] = {}
    for e in events:
        if isinstance(e, FrameReceived):
            f = e.frame
            got.setdefault(f.track_id, []).append((f.pts, f.dts, e.size, f.keyframe))
    return tracks, got


def _check_against_ffprobe(ffprobe: str, path: Path, codecs: list[Codec]) -> None:
    data = path.read_bytes()
    assert b"".join(bytes(b) for b in parse_boxes(data)) == data
    tracks, got = _our_packets(data, 4096)
    assert [t.codec for t in tracks] == codecs
    probe = _probe(ffprobe, path)
    for stream in probe[-1]:
        index = int(stream["index"])
        # MP4 stream i is track_ID i + 1 in these files; ffprobe's time base is the media timescale
        track = tracks[index]
        assert Fraction(stream["time_base"]) == Fraction(1, track.clock_rate)
        want = [(int(p["pts"]), int(p["dts"]), int(p["size"]), "K" in p["flags"]) for p in probe[index]]
        assert len(want) > 20
        assert got[track.id] == want, stream["codec_name"]


@pytest.mark.parametrize(("video", "audio"), PAIRS, ids=["+".join(p) for p in PAIRS])
def test_demux_ffmpeg_fragmented_mp4(ffmpeg: str, ffprobe: str, tmp_path: Path, video: str, audio: str) -> None:
    path = tmp_path / "ffmpeg.mp4"
    _make(ffmpeg, path, video, audio, ["-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof"])
    _check_against_ffprobe(ffprobe, path, [Codec(video), Codec(audio)])


GST_VIDEO = {
    "h264": "x264enc key-int-max=25 bframes=2 ! h264parse",
    "h265": 'x265enc key-int-max=25 option-string="bframes=2" ! h265parse',
}
GST_AUDIO = {
    "aac": "audio/x-raw,rate=48000,channels=2 ! voaacenc ! aacparse",
    "opus": "audio/x-raw,rate=48000,channels=2 ! opusenc ! opusparse",
}


@pytest.mark.parametrize(("video", "audio"), [("h264", "aac"), ("h265", "opus")], ids=["h264+aac", "h265+opus"])
def test_demux_gstreamer_fragmented_mp4(gst_launch: str, ffprobe: str, tmp_path: Path, video: str,
                                        audio: str) -> None:
    path = tmp_path / "gst.mp4"
    pipeline = (f"videotestsrc num-buffers=50 ! video/x-raw,format=I420,width=160,height=120,framerate=25/1 ! "
                f"{GST_VIDEO[video]} ! mp4mux fragment-duration=500 name=m ! filesink location={path} "
                f"audiotestsrc num-buffers=100 samplesperbuffer=960 ! {GST_AUDIO[audio]} ! m.")
    out = _run([gst_launch, "-q", *shlex.split(pipeline)])
    if out.returncode != 0:
        pytest.fail(f"gst-launch failed: {out.stderr.strip()[:300]}")
    _check_against_ffprobe(ffprobe, path, [Codec(video), Codec(audio)])
    moofs = [b for b in parse_boxes(path.read_bytes()) if b.type_bytes == b"moof"]
    assert len(moofs) >= 4  # 500 ms fragments of 2 s
