"""The codec helpers against FFmpeg: streams encoded by ffmpeg (libx264, libx265, aac, libopus from
the lavfi test sources), read by our parsers, and compared with what ffprobe reports.

Access units: ffprobe ``-count_frames`` counts decoded pictures (``nb_read_frames``). We count
access units with :func:`mediaproto.codecs.h264.split_access_units` (H.265:
:func:`mediaproto.codecs.h265.split_access_units`) over :func:`split_annexb`'s NAL units: a unit
begins at an AUD/SPS/PPS/SEI (VPS/SPS/PPS/AUD/prefix SEI for H.265) or at the first slice of a
picture (``first_mb_in_slice == 0``, ``first_slice_segment_in_pic_flag``) once the previous unit
has a slice. With one picture per access unit (frames, or MBAFF field pairs coded as frames) the
two counts are equal; streams are made with and without AUDs and with several slices per picture to
exercise both delimiters.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from mediaproto.codecs import h264, h265
from mediaproto.codecs.aac import AudioSpecificConfig, split_adts
from mediaproto.codecs.h264 import AVCDecoderConfigurationRecord, parse_sps, split_annexb
from mediaproto.codecs.opus import OpusHead, packet_duration

TIMEOUT = 60


def _run(cmd: list[str]) -> bytes:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=TIMEOUT).stdout


def _encode(ffmpeg: str, out: Path, source: str, *args: str) -> Path:
    _run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *args, str(out)])
    return out


def _probe(ffprobe: str, path: Path, *, count: bool = True) -> dict[str, object]:
    cmd = [ffprobe, "-v", "error", "-show_streams", "-of", "json"]
    if count:
        cmd.append("-count_frames")
    streams = json.loads(_run([*cmd, str(path)]))["streams"]
    assert len(streams) == 1
    stream: dict[str, object] = streams[0]
    return stream


def _testsrc(size: str, seconds: float = 1.0) -> str:
    return f"testsrc2=size={size}:rate=25:duration={seconds}"


# (id, size, ffmpeg args): profiles, odd sizes that need cropping, AUD/no AUD, slices, interlace.
H264_CASES = [
    ("baseline-642x362", "642x362", ["-profile:v", "baseline"]),
    ("main-642x362-aud", "642x362", ["-profile:v", "main", "-x264-params", "aud=1"]),
    ("high-642x362", "642x362", ["-profile:v", "high"]),
    ("high-350x198-slices", "350x198", ["-profile:v", "high", "-x264-params", "slices=4"]),
    ("baseline-176x100-slices-aud", "176x100", ["-profile:v", "baseline", "-x264-params", "slices=3:aud=1"]),
    ("high422-642x362", "642x362", ["-profile:v", "high422", "-pix_fmt", "yuv422p"]),
    ("high444-330x250", "330x250", ["-profile:v", "high444", "-pix_fmt", "yuv444p"]),
    ("high-interlaced-642x364", "642x364", ["-profile:v", "high", "-x264-params", "interlaced=1"]),
]


@pytest.mark.parametrize("case", H264_CASES, ids=[c[0] for c in H264_CASES])
def test_h264_sps_and_access_units(ffmpeg: str, ffprobe: str, tmp_path: Path,
                                   case: tuple[str, str, list[str]]) -> None:
    name, size, args = case
    path = _encode(ffmpeg, tmp_path / f"{name}.h264", _testsrc(size), "-c:v", "libx264", "-preset", "ultrafast"
                   if "slices" in name else "veryfast", *args, "-f", "h264")
    probe = _probe(ffprobe, path)
    nals = split_annexb(path.read_bytes())
    sps = parse_sps(next(n for n in nals if h264.nal_type(n) == h264.NAL_SPS))
    assert (sps.width, sps.height) == (probe["width"], probe["height"])
    assert sps.profile_name == probe["profile"]
    assert sps.level_idc == probe["level"]
    assert sps.frame_rate is not None and sps.frame_rate == Fraction(str(probe["r_frame_rate"]))
    units = h264.split_access_units(nals)
    assert len(units) == int(str(probe["nb_read_frames"]))
    assert h264.is_keyframe(units[0])
    if "aud" in name:
        assert all(h264.nal_type(u[0]) == h264.NAL_AUD for u in units)
    else:
        assert not any(h264.nal_type(n) == h264.NAL_AUD for n in nals)
    if "slices" in name:  # several slices per picture: only the first starts a unit
        assert all(sum(h264.is_vcl(h264.nal_type(n)) for n in u) > 1 for u in units)


def test_h264_flv_record(ffmpeg: str, tmp_path: Path) -> None:
    """FFmpeg's avcC for a High profile stream equals the record we build from its SPS/PPS."""
    path = _encode(ffmpeg, tmp_path / "high.mp4", _testsrc("642x362", 0.2), "-c:v", "libx264",
                   "-profile:v", "high", "-f", "mp4")
    data = path.read_bytes()
    i = data.find(b"avcC")
    raw = data[i + 4:i - 4 + int.from_bytes(data[i - 4:i], "big")]
    record = AVCDecoderConfigurationRecord.parse(raw)
    assert record.to_bytes() == raw
    built = AVCDecoderConfigurationRecord.from_parameter_sets(record.sequence_parameter_sets,
                                                              record.picture_parameter_sets)
    assert record.chroma_format == 1  # FFmpeg 5.1 writes the high-profile fields
    assert built == record


def _has_encoder(ffmpeg: str, name: str) -> bool:
    out = _run([ffmpeg, "-hide_banner", "-encoders"]).decode()
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.startswith(" "))


H265_CASES = [
    ("main-642x362", "642x362", ["-pix_fmt", "yuv420p"]),
    ("main10-354x200", "354x200", ["-pix_fmt", "yuv420p10le"]),
    ("rext444-322x242", "322x242", ["-pix_fmt", "yuv444p"]),
    ("main-slices-642x362", "642x362", ["-pix_fmt", "yuv420p", "-x265-params", "log-level=none:slices=3"]),
]


@pytest.mark.parametrize("case", H265_CASES, ids=[c[0] for c in H265_CASES])
def test_h265_sps_and_access_units(ffmpeg: str, ffprobe: str, tmp_path: Path,
                                   case: tuple[str, str, list[str]]) -> None:
    if not _has_encoder(ffmpeg, "libx265"):
        pytest.skip("ffmpeg has no libx265")
    name, size, args = case
    if "-x265-params" not in args:
        args = [*args, "-x265-params", "log-level=none"]
    path = _encode(ffmpeg, tmp_path / f"{name}.hevc", _testsrc(size), "-c:v", "libx265", "-preset",
                   "ultrafast", *args, "-f", "hevc")
    probe = _probe(ffprobe, path)
    nals = split_annexb(path.read_bytes())
    sps = h265.parse_sps(next(n for n in nals if h265.nal_type(n) == h265.NAL_SPS))
    assert (sps.width, sps.height) == (probe["width"], probe["height"])
    assert sps.profile_name == probe["profile"]
    assert sps.general_level_idc == probe["level"]
    units = h265.split_access_units(nals)
    assert len(units) == int(str(probe["nb_read_frames"]))
    if "slices" in name:
        assert all(sum(h265.is_vcl(h265.nal_type(n)) for n in u) > 1 for u in units)
    assert h265.is_keyframe(units[0])
    record = h265.HEVCDecoderConfigurationRecord.from_parameter_sets(
        [n for n in nals if h265.nal_type(n) == h265.NAL_VPS], [n for n in nals if h265.nal_type(n) == h265.NAL_SPS],
        [n for n in nals if h265.nal_type(n) == h265.NAL_PPS])
    assert record.bit_depth_luma_minus8 + 8 == sps.bit_depth_luma
    assert h265.HEVCDecoderConfigurationRecord.parse(record.to_bytes()) == record


AAC_CASES = [(rate, channels) for rate in (22050, 44100, 48000) for channels in (1, 2)]


@pytest.mark.parametrize("rate,channels", AAC_CASES)
def test_adts(ffmpeg: str, ffprobe: str, tmp_path: Path, rate: int, channels: int) -> None:
    path = _encode(ffmpeg, tmp_path / "a.aac", f"sine=frequency=440:sample_rate={rate}:duration=1",
                   "-ac", str(channels), "-c:a", "aac", "-b:a", "64k", "-f", "adts")
    probe = _probe(ffprobe, path)
    frames = split_adts(path.read_bytes())
    header = frames[0][0]
    config = header.to_config()
    assert (header.sample_rate, header.channels) == (int(str(probe["sample_rate"])), probe["channels"])
    assert (config.sample_rate, config.channels) == (header.sample_rate, header.channels)
    assert probe["profile"] == "LC" and config.object_type == 2
    assert len(frames) == int(str(probe["nb_read_frames"]))
    assert all(h.to_config() == config for h, _ in frames)
    assert config == AudioSpecificConfig.lc(rate, channels)


def _ogg_packets(data: bytes) -> list[bytes]:
    """Packets of an Ogg stream (RFC 3533 lacing), single logical stream."""
    packets: list[bytes] = []
    partial = b""
    pos = 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS"
        nseg = data[pos + 26]
        lacing = data[pos + 27:pos + 27 + nseg]
        body = pos + 27 + nseg
        for lace in lacing:
            partial += data[body:body + lace]
            body += lace
            if lace < 255:
                packets.append(partial)
                partial = b""
        pos = body
    return packets


@pytest.mark.parametrize("frame_ms,channels", [(2.5, 1), (10, 2), (20, 2), (60, 1)])
def test_opus(ffmpeg: str, ffprobe: str, tmp_path: Path, frame_ms: float, channels: int) -> None:
    if not _has_encoder(ffmpeg, "libopus"):
        pytest.skip("ffmpeg has no libopus")
    path = _encode(ffmpeg, tmp_path / "a.ogg", "sine=frequency=440:sample_rate=48000:duration=1",
                   "-ac", str(channels), "-c:a", "libopus", "-frame_duration", str(frame_ms), "-f", "ogg")
    packets = _ogg_packets(path.read_bytes())
    head = OpusHead.parse(packets[0])
    probe = _probe(ffprobe, path, count=False)
    assert head.channel_count == probe["channels"]
    assert head.pre_skip == probe.get("initial_padding", head.pre_skip)
    show = json.loads(_run([ffprobe, "-v", "error", "-show_packets", "-of", "json", str(path)]))["packets"]
    audio = packets[2:]  # after OpusHead and OpusTags
    assert len(audio) == len(show)
    ours = [packet_duration(p) for p in audio]
    theirs = [int(p["duration"]) for p in show]
    # The last packet's duration is what Ogg's final granule position leaves of it (end trimming).
    assert ours[:-1] == theirs[:-1]
    assert ours[-1] >= theirs[-1] and ours[-1] == ours[0]
