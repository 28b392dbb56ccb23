"""FLV files we write are read by ffprobe/ffmpeg with the right streams and frame counts.

* ref.flv's frames, decoded by MediaTagDecoder and re-encoded by MediaTagEncoder into a file
  written by FlvWriter: ffprobe sees H.264 320x240 and AAC 48 kHz stereo, 100 and 189 packets with
  the timestamps of the original, and ffmpeg decodes every frame without an error.
* HEVC made by libx265, written as Enhanced RTMP ``hvc1`` FLV: an FFmpeg of 6.1 or later (the
  ``modern_ffmpeg`` fixture: Debian 12's 5.1 cannot read Enhanced FLV) decodes every frame without
  an error, to the same pictures as the elementary stream, with our timestamps and keyframes.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from mediaproto.codecs import h265
from mediaproto.codecs.h264 import split_annexb
from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp.flv import TAG_SCRIPT, FlvTag, FlvWriter, MediaTagDecoder, MediaTagEncoder, read_flv
from mediaproto.rtmp.flvscript import build_script

from . import _ffmpeg

TIMEOUT = 60


def _probe(ffprobe: str, path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [ffprobe, "-v", "error", "-of", "json", *extra, str(path)],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _rewrite_ref(vectors: Path) -> bytes:
    _, tags = read_flv((vectors / "ref.flv").read_bytes())
    dec = MediaTagDecoder()
    tracks: list[Track] = []
    frames: list[Frame] = []
    for t in tags:
        for item in dec.feed(t.tag_type, t.timestamp, t.data):
            (tracks if isinstance(item, Track) else frames).append(item)
    enc = MediaTagEncoder(tracks)
    meta = build_script("onMetaData", {"width": 320.0, "height": 240.0, "videocodecid": 7.0, "audiocodecid": 10.0})
    out = [FlvTag(TAG_SCRIPT, 0, 0, meta)]
    out += [FlvTag(tt, ts, 0, body) for tt, ts, body in enc.sequence_headers()]
    out += [FlvTag(tt, ts, 0, body) for tt, ts, body in map(enc.encode, frames)]
    return FlvWriter(has_audio=True, has_video=True).write_all(out)


def test_rewritten_ref_flv(tmp_path: Path, vectors: Path, ffprobe: str, ffmpeg: str) -> None:
    path = tmp_path / "ours.flv"
    path.write_bytes(_rewrite_ref(vectors))
    info = _probe(ffprobe, path, "-count_packets", "-show_streams")
    streams = {s["codec_type"]: s for s in info["streams"]}
    v, a = streams["video"], streams["audio"]
    assert (v["codec_name"], v["width"], v["height"], int(v["nb_read_packets"])) == ("h264", 320, 240, 100)
    assert (a["codec_name"], a["sample_rate"], a["channels"], int(a["nb_read_packets"])) == ("aac", "48000", 2, 189)

    packets = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "packet=stream_index,pts,dts,size,flags", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    ).stdout
    expected = (vectors / "ref.flv.packets.csv").read_text()
    assert sorted(csv.reader(packets.splitlines())) == sorted(csv.reader(expected.splitlines()))

    decoded = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert decoded.returncode == 0 and decoded.stderr == ""


def _hevc_frames(ffmpeg: str, tmp_path: Path, count: int, keyint: int) -> tuple[Path, Track, list[Frame]]:
    """libx265's HEVC elementary stream and the same access units as our Track and Frames (25 fps, 1 kHz)."""
    source = tmp_path / "src.hevc"
    _ffmpeg.encode_hevc(ffmpeg, source, frames=count, keyint=keyint)
    units = h265.split_access_units(split_annexb(source.read_bytes()))
    params = tuple(n for n in units[0] if h265.nal_type(n) in (32, 33, 34))
    track = Track(0, Codec.H265, 1000, parameter_sets=params)
    frames = []
    for i, unit in enumerate(units):
        vcl = tuple(n for n in unit if h265.nal_type(n) not in (32, 33, 34))
        frames.append(Frame(0, 40 * i, 40 * i, vcl, h265.is_keyframe(vcl)))
    assert len(frames) == count and frames[0].keyframe
    return source, track, frames


def test_hevc_enhanced_flv(tmp_path: Path, modern_ffmpeg: str) -> None:
    # FFmpeg >= 6.1 (the fixture checks the version) reads Enhanced FLV: every HEVC frame of our
    # file decodes without an error, to the very pictures the elementary stream decodes to.
    source, track, frames = _hevc_frames(modern_ffmpeg, tmp_path, count=30, keyint=10)
    enc = MediaTagEncoder([track])
    tags = [FlvTag(tt, ts, 0, body) for tt, ts, body in enc.sequence_headers() + [enc.encode(f) for f in frames]]
    flv = tmp_path / "hevc.flv"
    flv.write_bytes(FlvWriter(has_audio=False, has_video=True).write_all(tags))

    ours = _ffmpeg.decode(modern_ffmpeg, flv)
    assert ours.returncode == 0 and ours.stderr == "", ours.stderr
    assert ours.dimensions == {0: "160x120"}
    assert len(ours.frames[0]) == 30
    ref = _ffmpeg.decode(modern_ffmpeg, source)
    assert ref.returncode == 0 and ref.frames[0] == ours.frames[0]

    # and its demuxer gives every packet with our millisecond timestamps, keyframes where libx265 put them
    packets = subprocess.run(
        [modern_ffmpeg, "-nostdin", "-v", "error", "-i", str(flv), "-c", "copy", "-f", "framecrc", "-"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert packets.returncode == 0 and packets.stderr == "", packets.stderr
    rows = [[c.strip() for c in ln.split(",")] for ln in packets.stdout.splitlines() if ln and not ln.startswith("#")]
    assert [(int(r[1]), int(r[2])) for r in rows] == [(f.dts, f.pts) for f in frames]
    # framecrc prints "F=0x.." only for flags other than a lone keyframe flag (AV_PKT_FLAG_KEY = 1)
    flags = [next((int(c[2:], 16) for c in r[6:] if c.startswith("F=")), 1) for r in rows]
    assert [bool(f & 1) for f in flags] == [f.keyframe for f in frames]


@pytest.mark.parametrize("codec,fmt,name", [(Codec.PCMA, "alaw", "pcm_alaw"), (Codec.PCMU, "mulaw", "pcm_mulaw")])
def test_g711_flv(tmp_path: Path, ffmpeg: str, ffprobe: str, codec: Codec, fmt: str, name: str) -> None:
    raw = tmp_path / f"tone.{fmt}"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "1",
         "-c:a", name, "-f", fmt, str(raw)],
        check=True, timeout=TIMEOUT, capture_output=True,
    )
    samples = raw.read_bytes()
    track = Track(1, codec, 8000, sample_rate=8000, channels=1)
    enc = MediaTagEncoder([track])
    frames = [Frame(1, i, i, samples[i : i + 160], True) for i in range(0, len(samples), 160)]
    tags = [FlvTag(tag_type, ts, 0, body) for tag_type, ts, body in map(enc.encode, frames)]
    flv = tmp_path / "g711.flv"
    flv.write_bytes(FlvWriter(has_audio=True, has_video=False).write_all(tags))
    stream = _probe(ffprobe, flv, "-count_packets", "-show_streams")["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (name, "8000", 1)
    assert int(stream["nb_read_packets"]) == 50  # 1 s of 8 kHz in 20 ms frames
    packets = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "packet=pts", "-of", "csv=p=0", str(flv)],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    ).stdout.split()
    assert [int(p) for p in packets] == [20 * i for i in range(50)]
