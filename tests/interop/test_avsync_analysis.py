"""The A/V sync analysis (tests/interop/_avsync.py) measures what it should.

Checked against what is known by construction, not against its own output: the source's flashes are
frames 25, 75, ... at 25 fps (1, 3, 5, 7, 9 s) and its beeps start at the same instants; a copy
whose audio ffmpeg moved by ``-itsoffset +/-0.1`` must measure 100 ms more (less) than the source;
a file with damaged bytes must show decoder errors; PCM and luma series made here in Python must
give the onsets they were made with.
"""

from __future__ import annotations

import array
import math
import subprocess
from pathlib import Path

import pytest

from . import _avsync

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def source(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _avsync.make_source(ffmpeg, tmp_path_factory.mktemp("avsync") / "source.mp4")


def test_beeps_of_synthetic_pcm() -> None:
    rate = _avsync.PCM_RATE
    onsets = [0.5, 1.2345, 2.0]
    samples = array.array("h", [0] * (3 * rate))
    for onset in onsets:
        first = round(onset * rate)
        for i in range(first, first + rate // 10):
            samples[i] = round(16000 * math.sin(2 * math.pi * 1000 * (i - first) / rate + math.pi / 2))
    found = _avsync.beeps(samples.tobytes(), rate)
    assert found == pytest.approx(onsets, abs=1 / rate)


def test_flashes_of_synthetic_luma() -> None:
    frames = [(i / 25, 255 if i in (25, 26, 75) else 18) for i in range(100)]
    frames.reverse()  # decode order differs from pts order: flashes() sorts
    assert _avsync.flashes(frames) == [1.0, 3.0]


def test_source_as_constructed(ffmpeg: str, source: Path) -> None:
    result = _avsync.analyse(ffmpeg, source)
    assert result.returncode == 0 and not result.errors, result.errors[:5]
    assert result.video_frames == math.ceil(_avsync.SECONDS * _avsync.FPS)
    assert result.flashes == pytest.approx(list(_avsync.EVENTS), abs=1e-6)  # frames 25, 75, ... exactly
    # AAC is lossy (pre-echo): the onset is found within 2 ms of the sample where the sine starts.
    assert result.beeps == pytest.approx(list(_avsync.EVENTS), abs=0.002)
    assert len(result.pairs()) == len(_avsync.EVENTS)
    assert all(abs(off) <= 2 for off in result.offsets_ms())
    assert result.audio_seconds == pytest.approx(_avsync.SECONDS, abs=0.05)


@pytest.mark.parametrize("shift", [0.1, -0.1])
def test_known_offset_is_measured(ffmpeg: str, source: Path, tmp_path: Path, shift: float) -> None:
    shifted = tmp_path / "shifted.mkv"
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(source), "-itsoffset", str(shift),
                    "-i", str(source), "-map", "0:v", "-map", "1:a", "-c", "copy", str(shifted)],
                   check=True, timeout=60, capture_output=True)
    base = _avsync.analyse(ffmpeg, source).offsets_ms()
    got = _avsync.analyse(ffmpeg, shifted)
    assert not got.errors
    assert len(got.offsets_ms()) == len(_avsync.EVENTS)
    for before, after in zip(base, got.offsets_ms()):
        assert after - before == pytest.approx(shift * 1000, abs=2), got.summary()


def test_damaged_input_shows_decoder_errors(ffmpeg: str, source: Path, tmp_path: Path) -> None:
    ts = tmp_path / "source.ts"
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(source), "-c", "copy", str(ts)],
                   check=True, timeout=60, capture_output=True)
    data = bytearray(ts.read_bytes())
    for start in range(len(data) // 4, len(data) * 3 // 4, 20_000):  # garble payload bytes, keep sync bytes
        for i in range(start, start + 2000):
            if i % 188 > 8:
                data[i] ^= 0x5A
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))
    result = _avsync.analyse(ffmpeg, damaged)
    assert result.errors, result.summary()
