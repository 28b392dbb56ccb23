"""AlignmentBuffer: a stream's first frames wait for the reports that align its tracks."""

from __future__ import annotations

import pytest

from mediaproto.errors import LocalProtocolError
from mediaproto.media import Frame
from mediaproto.rtp.sync import AlignmentBuffer, TrackSynchronizer

VIDEO, AUDIO = 0, 1
NTP = 1 << 32  # one second in 64-bit NTP


def make(wait: float = 1.0) -> tuple[TrackSynchronizer, AlignmentBuffer]:
    sync = TrackSynchronizer()
    sync.add_track(VIDEO, 90000)
    sync.add_track(AUDIO, 48000)
    return sync, AlignmentBuffer(sync, wait=wait)


def test_encoder_latency_does_not_shift_video_once_reports_arrive() -> None:
    # Audio and video captured together at sender time T; the encoder delays video by 1.5 s.
    # Video RTP starts at 1000, audio at 5000; the sender's NTP clock is hours off (it does not matter).
    sync, buf = make(wait=3.0)
    ntp0 = 7 * 3600 * NTP
    out: list[Frame] = []
    for i in range(50):  # 1 s of audio (20 ms frames) arriving at once
        out += buf.feed(Frame(AUDIO, 5000 + i * 960, 5000 + i * 960, b"a", True), 10.0 + i * 0.02)
    out += [f for f in buf.check()]
    # The audio SR arrives: NTP ntp0 <-> RTP 5000.
    sync.on_sender_report(AUDIO, ntp0, 5000)
    out += buf.check()
    assert out == []  # the video has no report yet: still held
    for i in range(25):  # video frames of the same capture instants arrive 1.5 s late
        out += buf.feed(Frame(VIDEO, 1000 + i * 3600, 1000 + i * 3600, (b"v",), i == 0), 11.5 + i * 0.04)
    assert out == []
    sync.on_sender_report(VIDEO, ntp0, 1000)  # the same instant in video's clock
    out += buf.check()
    assert not buf.holding
    video = {f.pts: f for f in out if f.track_id == VIDEO}
    audio = {f.pts: f for f in out if f.track_id == AUDIO}
    assert len(video) == 25 and len(audio) == 50
    v0 = min(video) / 90000
    a0 = min(audio) / 48000
    assert abs(v0 - a0) < 0.001  # aligned by the reports, not by arrival (1.5 s apart)
    assert a0 == pytest.approx(0.0, abs=1e-6)  # the timeline starts at the first arrival


def test_without_reports_the_wait_ends_and_arrival_places_the_tracks() -> None:
    sync, buf = make(wait=1.0)
    assert buf.next_timer() is None
    assert buf.feed(Frame(AUDIO, 100, 100, b"a", True), 5.0) == []
    assert buf.next_timer() == 6.0
    assert buf.feed(Frame(VIDEO, 200, 200, (b"v",), True), 5.5) == []
    assert buf.handle_timer(5.9) == []
    released = buf.handle_timer(6.0)
    assert [(f.track_id, f.pts) for f in released] == [(AUDIO, 0), (VIDEO, 45000)]
    # Then frames pass straight through.
    assert [f.pts for f in buf.feed(Frame(AUDIO, 1060, 1060, b"a", False), 6.1)] == [960]
    assert buf.next_timer() is None


def test_zero_wait_passes_through_and_bounds_hold() -> None:
    sync, buf = make(wait=0.0)
    assert [f.pts for f in buf.feed(Frame(AUDIO, 100, 100, b"a", True), 1.0)] == [0]
    sync2, buf2 = make(wait=10.0)
    buf2.max_frames = 3
    assert buf2.feed(Frame(AUDIO, 0, 0, b"a", True), 0.0) == []
    assert buf2.feed(Frame(AUDIO, 960, 960, b"a", True), 0.02) == []
    assert len(buf2.feed(Frame(AUDIO, 1920, 1920, b"a", True), 0.04)) == 3  # full: released
    with pytest.raises(LocalProtocolError):
        AlignmentBuffer(sync, wait=-1)


def test_no_track_comes_out_before_zero() -> None:
    """Audio arrives first (it is the timeline's zero), but the reports place the video's first
    picture 80 ms before it (an encoder's B-frame delay): the timeline moves later instead of
    giving the video a negative time, and both tracks keep their alignment."""
    sync, buf = make(wait=5.0)
    out: list[Frame] = []
    out += buf.feed(Frame(AUDIO, 48000, 48000, b"a", True), 1.0)  # RTP 48000 = sender time 1.0 s
    out += buf.feed(Frame(VIDEO, 90000 + 7200, 90000, (b"v",), True), 1.04)  # shown with the audio
    sync.on_sender_report(AUDIO, 100 * NTP, 48000)
    sync.on_sender_report(VIDEO, 100 * NTP, 90000 + 7200)  # its picture = the audio's instant
    out += buf.check()
    assert min(min(f.pts, f.dts) for f in out) == 0
    audio = next(f for f in out if f.track_id == AUDIO)
    video = next(f for f in out if f.track_id == VIDEO)
    assert video.dts == 0 and audio.dts == 48000 * 8 // 100  # 80 ms after the video's decode time
    assert video.pts / 90000 == audio.pts / 48000  # the same sender instant
    # Later frames follow on the moved timeline.
    [later] = buf.feed(Frame(AUDIO, 48000 + 960, 48000 + 960, b"a", True), 1.02)
    assert later.pts == audio.pts + 960
