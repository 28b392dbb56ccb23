"""TestSource: tracks, timestamps, ordering, determinism, the picture, and the stream writers."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.codecs.aac import AudioSpecificConfig, split_adts
from mediaproto.codecs.h264 import nal_type, split_annexb
from mediaproto.errors import LocalProtocolError
from mediaproto.media import Codec, Frame
from mediaproto.testsrc import Picture, TestSource, adts_stream, annexb_stream


def _exact_times(frames: list[Frame], src: TestSource) -> list[Fraction]:
    """Each frame's exact time: video frame n at n / frame_rate (its pts is rounded to 90 kHz),
    audio frame m at 1024 m / sample_rate."""
    count = [0, 0]
    out = []
    for f in frames:
        n = count[f.track_id]
        count[f.track_id] += 1
        out.append(n / src.frame_rate if f.track_id == 0 else Fraction(1024 * n, src.tracks[1].sample_rate))
    return out


def test_tracks() -> None:
    src = TestSource()
    video, audio = src.tracks
    assert (video.id, video.codec, video.clock_rate, video.width, video.height) == (0, Codec.H264, 90000, 320, 240)
    assert [nal_type(n) for n in video.parameter_sets] == [7, 8]
    assert (audio.id, audio.codec, audio.clock_rate, audio.sample_rate, audio.channels) == (1, Codec.AAC, 48000, 48000, 2)
    # AudioSpecificConfig of AAC LC (2), 48 kHz (index 3), stereo: 00010 0011 0010 000 (1.6.2.1).
    assert audio.config == b"\x11\x90"
    mono = TestSource(sample_rate=44100, channels=1).tracks[1]
    assert mono.config == b"\x12\x08" and mono.clock_rate == 44100
    assert len(TestSource(audio=False).tracks) == 1


def test_ten_seconds() -> None:
    src = TestSource()
    frames = src.frames_until(10)
    video = [f for f in frames if f.track_id == 0]
    audio = [f for f in frames if f.track_id == 1]
    assert len(video) == 250
    assert len(audio) == 469  # ceil(10 * 48000 / 1024)
    assert [f.pts for f in video] == [n * 3600 for n in range(250)]
    assert [f.pts for f in audio] == [n * 1024 for n in range(469)]
    assert all(f.pts == f.dts for f in frames)
    assert [n for n, f in enumerate(video) if f.keyframe] == list(range(0, 250, 25))
    for f in video:
        types = [nal_type(n) for n in f.nal_units]
        assert types == ([7, 8, 5] if f.keyframe else [1])
    assert all(f.keyframe and isinstance(f.data, bytes) for f in audio)
    times = _exact_times(frames, src)
    assert times == sorted(times) and all(t < 10 for t in times)
    assert frames[0].track_id == 0  # video first on a tie at 0
    assert src.frames_generated == (250, 469)


def test_successive_calls_continue_and_match_one_call() -> None:
    whole = TestSource(frame_rate=Fraction(30000, 1001)).frames_until(3.5)
    src = TestSource(frame_rate=Fraction(30000, 1001))
    parts = src.frames_until(0) + src.frames_until(0.7) + src.frames_until(0.7) + src.frames_until(Fraction(7, 2))
    assert parts == whole
    assert src.frames_until(1.0) == []  # going back in time returns nothing
    assert [f.pts for f in whole if f.track_id == 0][:4] == [0, 3003, 6006, 9009]


def test_iteration_matches_frames_until() -> None:
    a = TestSource(sample_rate=44100, channels=1)
    b = TestSource(sample_rate=44100, channels=1)
    expected = a.frames_until(2)
    assert list(itertools.islice(iter(b), len(expected))) == expected
    assert b.frames_until(3) == a.frames_until(3)


def test_deterministic_per_start_time() -> None:
    assert TestSource(start_time=5.0).frames_until(1.1) == TestSource(start_time=5.0).frames_until(1.1)
    assert TestSource(start_time=5.0).frames_until(0.1) != TestSource(start_time=6.0).frames_until(0.1)


def test_keyframe_interval() -> None:
    src = TestSource(keyframe_interval=2.0, audio=False)
    keys = [n for n, f in enumerate(src.frames_until(10)) if f.keyframe]
    assert keys == [0, 50, 100, 150, 200]
    every = TestSource(keyframe_interval=0.001, audio=False)
    assert all(f.keyframe for f in every.frames_until(1))


def test_clock_text() -> None:
    src = TestSource(start_time=3661.5)
    assert src.clock_text(0) == ("01:01:01.500", "FRAME 000000")
    assert src.clock_text(37) == ("01:01:02.500", "FRAME 000025")  # P frames show their IDR's text
    day = TestSource(start_time=86400 * 3 + 23 * 3600 + 59 * 60 + 59, frame_rate=Fraction(30000, 1001))
    assert day.clock_text(30) == ("00:00:00.001", "FRAME 000030")  # 30 * 1001/30000 = 1.001 s


def test_picture_matches_the_macroblocks() -> None:
    src = TestSource(width=328, height=186, audio=False)
    key = src.frames_until(0.01)[0]
    pic = src.picture(0)
    assert isinstance(pic, Picture)
    assert (pic.width, pic.height, len(pic.y), len(pic.u), len(pic.v)) == (328, 186, 328 * 186, 164 * 93, 164 * 93)
    assert len(pic.yuv420p()) == 328 * 186 * 3 // 2
    assert 0 not in pic.yuv420p()
    # Rebuild the visible picture from the I_PCM bytes of the IDR slice: 21x12 macroblocks.
    idr = key.nal_units[2]
    mbs = idr.split(b"\x0d\x00")  # each macroblock after the first starts with 0D 00, no 0 samples
    assert len(mbs) == 21 * 12
    first = mbs[0][-384:]
    blocks = [first] + [m for m in mbs[1:-1]] + [mbs[-1][:-1]]
    assert all(len(b) == 384 for b in blocks) and mbs[-1][-1:] == b"\x80"
    y = bytearray(336 * 192)
    for i, block in enumerate(blocks):
        mby, mbx = divmod(i, 21)
        for r in range(16):
            pos = (mby * 16 + r) * 336 + mbx * 16
            y[pos:pos + 16] = block[r * 16:r * 16 + 16]
    assert b"".join(y[r * 336:r * 336 + 328] for r in range(186)) == pic.y
    # The text changes between keyframes, the bars do not.
    later = src.picture(25)
    assert later != pic and later.u == pic.u and later.y[:100 * 328] == pic.y[:100 * 328]


def test_writers_round_trip() -> None:
    src = TestSource()
    frames = src.frames_until(2)
    h264 = annexb_stream(frames)
    assert h264.startswith(b"\x00\x00\x00\x01\x67")
    assert split_annexb(h264) == [n for f in frames if f.track_id == 0 for n in f.nal_units]
    aac = adts_stream(frames, src.tracks[1].config)
    pairs = split_adts(aac)
    assert [p for _, p in pairs] == [f.payload for f in frames if f.track_id == 1]
    assert all(h.sample_rate == 48000 and h.channels == 2 for h, _ in pairs)
    assert adts_stream(frames, AudioSpecificConfig.parse(src.tracks[1].config)) == aac


@pytest.mark.parametrize("kwargs", [
    {"width": 321}, {"height": 0}, {"frame_rate": 0}, {"frame_rate": "x"}, {"keyframe_interval": 0},
    {"sample_rate": 32000}, {"channels": 6},
])
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        TestSource(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("t", [float("inf"), float("nan"), "soon"])
def test_bad_time(t: object) -> None:
    with pytest.raises(LocalProtocolError):
        TestSource().frames_until(t)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(
    num=st.integers(1, 240), den=st.integers(1, 1001),
    rate=st.sampled_from([44100, 48000]),
    cuts=st.lists(st.floats(0, 3, allow_nan=False), max_size=6),
)
def test_interleaving_any_rate(num: int, den: int, rate: int, cuts: list[float]) -> None:
    fps = Fraction(num, den)
    src = TestSource(width=32, height=32, frame_rate=fps, sample_rate=rate)
    frames = [f for t in sorted(cuts) + [3.0] for f in src.frames_until(t)]
    times = _exact_times(frames, src)
    assert times == sorted(times) and all(t < 3 for t in times)
    video = [f for f in frames if f.track_id == 0]
    assert len(video) == -(-3 * fps // 1)  # frames at n / fps < 3
    # 90 kHz pts rounded to nearest, halves up (as mediaproto.clock.rescale)
    assert [f.pts for f in video] == [int(Fraction(90000 * n) / fps + Fraction(1, 2)) for n in range(len(video))]
