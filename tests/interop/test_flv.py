"""FLV files we write are read by ffprobe/ffmpeg with the right streams and frame counts.

* ref.flv's frames, decoded by MediaTagDecoder and re-encoded by MediaTagEncoder into a file
  written by FlvWriter: ffprobe sees H.264 320x240 and AAC 48 kHz stereo, 100 and 189 packets with
  the timestamps of the original, and ffmpeg decodes every frame without an error.
* HEVC made by ffmpeg's libx265, written as Enhanced RTMP ``hvc1`` FLV: ffprobe reads it directly
  where it supports Enhanced FLV (FFmpeg 6.1 and later); FFmpeg 5.1 does not, so there the file is
  read back with our reader and the HEVC elementary stream it gives is decoded by ffmpeg, which must
  count every frame.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from mediaproto.codecs import h265
from mediaproto.codecs.h264 import join_annexb, split_annexb
from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp.flv import TAG_SCRIPT, FlvTag, FlvWriter, MediaTagDecoder, MediaTagEncoder, read_flv
from mediaproto.rtmp.flvscript import build_script

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
        for item in dec.push(t.tag_type, t.timestamp, t.data):
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


def _ffmpeg_has(ffmpeg: str, encoder: str) -> bool:
    out = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=TIMEOUT).stdout
    return f" {encoder} " in out


def test_hevc_enhanced_flv(tmp_path: Path, ffmpeg: str, ffprobe: str) -> None:
    if not _ffmpeg_has(ffmpeg, "libx265"):
        pytest.skip("ffmpeg has no libx265")
    source = tmp_path / "src.hevc"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-frames:v", "30",
         "-c:v", "libx265", "-x265-params", "log-level=error:keyint=10:bframes=0", "-f", "hevc", str(source)],
        check=True, timeout=TIMEOUT, capture_output=True,
    )
    units = h265.split_access_units(split_annexb(source.read_bytes()))
    params = tuple(n for n in units[0] if h265.nal_type(n) in (32, 33, 34))
    track = Track(0, Codec.H265, 25, parameter_sets=params)
    frames = []
    for i, unit in enumerate(units):
        vcl = tuple(n for n in unit if h265.nal_type(n) not in (32, 33, 34))
        frames.append(Frame(0, i, i, vcl, h265.is_keyframe(vcl)))
    assert len(frames) == 30
    enc = MediaTagEncoder([track])
    tags = [FlvTag(tt, ts, 0, body) for tt, ts, body in enc.sequence_headers() + [enc.encode(f) for f in frames]]
    flv = tmp_path / "hevc.flv"
    flv.write_bytes(FlvWriter(has_audio=False, has_video=True).write_all(tags))

    probe = subprocess.run(
        [ffprobe, "-v", "error", "-of", "json", "-show_streams", str(flv)],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    streams = json.loads(probe.stdout or "{}").get("streams", [])
    if probe.returncode == 0 and streams and streams[0].get("codec_name") == "hevc":  # Enhanced FLV support
        stream = _probe(ffprobe, flv, "-count_frames", "-show_streams")["streams"][0]
        assert (stream["width"], stream["height"], int(stream["nb_read_frames"])) == (160, 120, 30)
        return

    # FFmpeg 5.1 cannot read Enhanced FLV (it takes the first byte for a legacy CodecID, calls the
    # stream "flashsv", and its ffprobe -count_frames crashes on it): read our file back and let
    # ffmpeg decode the HEVC it holds.
    _, read_tags = read_flv(flv.read_bytes())
    dec = MediaTagDecoder()
    out = [x for t in read_tags for x in dec.push(t.tag_type, t.timestamp, t.data)]
    (got_track,) = [x for x in out if isinstance(x, Track)]
    got = [x for x in out if isinstance(x, Frame)]
    assert (got_track.width, got_track.height) == (160, 120)
    stream_bytes = join_annexb(list(got_track.parameter_sets)) + b"".join(join_annexb(list(f.nal_units)) for f in got)
    back = tmp_path / "back.hevc"
    back.write_bytes(stream_bytes)
    info = _probe(ffprobe, back, "-count_frames", "-show_streams")
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"], int(stream["nb_read_frames"])) == ("hevc", 160, 120, 30)
    assert [f.dts for f in got] == [40 * i for i in range(30)]


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
