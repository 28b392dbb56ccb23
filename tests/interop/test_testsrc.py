"""The test source against FFmpeg: the H.264 decodes without errors to exactly the drawn pictures,
ffprobe reads the size, profile and frame rate we set, and the AAC decodes to the tone we coded."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from mediaproto.testsrc import TestSource, adts_stream, annexb_stream


def _probe(ffprobe: str, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_streams", "-count_frames", "-of", "json", str(path)],
        capture_output=True, timeout=60, check=True,
    )
    streams = json.loads(out.stdout)["streams"]
    assert len(streams) == 1
    return dict(streams[0])


def _decode(ffmpeg: str, path: Path, *args: str) -> tuple[bytes, str]:
    out = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), *args, "-"],
        capture_output=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out.stdout, out.stderr.decode(errors="replace")


@pytest.mark.parametrize(
    ("width", "height", "rate", "seconds"),
    [
        (320, 240, Fraction(25), 10),
        (328, 186, Fraction(30000, 1001), 10),  # not whole macroblocks: frame cropping
        (640, 360, Fraction(30), 2),
    ],
)
def test_h264_decodes_to_the_drawn_pictures(
    ffmpeg: str, ffprobe: str, tmp_path: Path, width: int, height: int, rate: Fraction, seconds: int,
) -> None:
    src = TestSource(width=width, height=height, frame_rate=rate, audio=False, start_time=86395.0)
    frames = src.frames_until(seconds)
    path = tmp_path / "out.h264"
    path.write_bytes(annexb_stream(frames))

    raw, errors = _decode(ffmpeg, path, "-f", "rawvideo", "-pix_fmt", "yuv420p")
    assert errors == ""
    size = width * height * 3 // 2
    assert len(raw) % size == 0
    assert len(raw) // size == len(frames)
    gop = src.keyframe_interval_frames
    for key in range(0, len(frames), gop):
        expected = src.picture(key).yuv420p()
        for n in range(key, min(key + gop, len(frames))):  # P-skip frames repeat their keyframe
            assert raw[n * size:(n + 1) * size] == expected, f"frame {n} differs from the drawn picture"

    # FFmpeg's syntax reader (CBS) checks every parameter set and slice header field against the
    # ranges of the standard and logs an error for any violation.
    _, errors = _decode(ffmpeg, path, "-c", "copy", "-bsf:v", "trace_headers", "-f", "null")
    assert errors == ""

    info = _probe(ffprobe, path)
    assert (info["width"], info["height"]) == (width, height)
    assert info["codec_name"] == "h264"
    assert info["profile"] == "Constrained Baseline"
    assert info["pix_fmt"] == "yuv420p"
    assert info["level"] == src.level_idc
    assert Fraction(str(info["r_frame_rate"])) == rate
    assert int(str(info["nb_read_frames"])) == len(frames)


@pytest.mark.parametrize(("rate", "channels"), [(48000, 2), (44100, 1)])
def test_aac_decodes_to_the_tone(ffmpeg: str, ffprobe: str, tmp_path: Path, rate: int, channels: int) -> None:
    src = TestSource(sample_rate=rate, channels=channels, width=16, height=16)
    audio = [f for f in src.frames_until(10) if f.track_id == 1]
    path = tmp_path / "out.aac"
    path.write_bytes(adts_stream(audio, src.tracks[1].config))

    info = _probe(ffprobe, path)
    assert info["codec_name"] == "aac" and info["profile"] == "LC"
    assert int(str(info["sample_rate"])) == rate and info["channels"] == channels
    assert int(str(info["nb_read_frames"])) == len(audio)

    raw, errors = _decode(ffmpeg, path, "-f", "s16le", "-acodec", "pcm_s16le")
    assert errors == ""
    import array

    samples = array.array("h")
    samples.frombytes(raw)
    assert len(samples) == len(audio) * 1024 * channels  # duration: 1024 samples a frame
    left = samples[::channels]
    if channels == 2:
        assert samples[1::2] == left
    # Skip the first two frames (the decoder's overlap starts from silence), then count sign changes.
    steady = left[2048:]
    crossings = sum(1 for a, b in zip(steady, steady[1:]) if (a < 0) != (b < 0))
    measured = crossings / 2 / (len(steady) / rate)
    assert abs(measured - src.tone_frequency) < 1.0
    assert abs(src.tone_frequency - 1000) < rate / 2048
    peak = max(abs(min(steady)), max(steady)) / 32768
    assert 0.09 < peak < 0.12  # 2^((187 - 100) / 4 - 25) = 0.105 of full scale
