"""The hub's promise to every output: a track's decode times only go forward."""

from __future__ import annotations

from mediaproto.media import Codec, Frame, Track
from mediaproto.server.hub import Stream

AUDIO = Track(0, Codec.AAC, 48000, config=bytes.fromhex("1190"), sample_rate=48000, channels=2)
VIDEO = Track(1, Codec.H264, 90000)


class Recorder:
    passive = True

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def on_tracks(self, stream: Stream) -> None:
        pass

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        self.frames.append(frame)

    def on_end(self, stream: Stream) -> None:
        pass


def test_a_repeated_or_backward_decode_time_is_moved_after_the_previous_one() -> None:
    stream = Stream("live/x")
    assert stream.start("test", 0.0)
    stream.set_tracks((AUDIO, VIDEO))
    out = Recorder()
    stream.subscribe(out)
    # GStreamer's first two AAC frames share a timestamp (the encoder's priming frame).
    for pts in (3840, 3840, 4864, 5888, 5000):
        stream.push(Frame(0, pts, pts, b"a", True), 0.0)
    # B-frames: presentation times go back, decode times forward: untouched.
    for pts, dts in ((7200, 0), (18000, 3600), (10800, 7200), (14400, 10800)):
        stream.push(Frame(1, pts, dts, (b"v",), dts == 0), 0.0)
    audio = [(f.pts, f.dts) for f in out.frames if f.track_id == 0]
    video = [(f.pts, f.dts) for f in out.frames if f.track_id == 1]
    assert audio == [(3840, 3840), (3841, 3841), (4864, 4864), (5888, 5888), (5889, 5889)]
    assert video == [(7200, 0), (18000, 3600), (10800, 7200), (14400, 10800)]
    assert len(out.frames) == 9  # nothing dropped
    # A new publisher's time starts anew.
    stream.end()
    assert stream.start("again", 1.0)
    stream.set_tracks((AUDIO, VIDEO))
    stream.push(Frame(0, 0, 0, b"a", True), 1.0)
    assert (out.frames[-1].pts, out.frames[-1].dts) == (0, 0)
