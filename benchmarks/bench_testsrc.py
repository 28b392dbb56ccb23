"""The test source: how many seconds of media it generates per second of CPU (x real time).

``work`` is the seconds of media generated, so the reported ops/s is the real-time factor. The
issue's goal is at least 20x real time for 60 s of 320x240 at 25 fps with 1 s keyframes; the note
re-times one run, says whether that is met and gives the bit rate produced. The peer, where PyAV is
installed, encodes the same number of 320x240 frames with libx264 (ultrafast): a real encoder doing
the job the test source avoids.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Callable

from harness import Bench

from mediaproto.testsrc import TestSource

SECONDS = 60
TARGET_REALTIME = 20.0


def _generate(**kwargs: object) -> Callable[[], object]:
    def run() -> object:
        return TestSource(**kwargs).frames_until(SECONDS)  # type: ignore[arg-type]
    return run


def _note(run: Callable[[], object]) -> Callable[[], str]:
    def note() -> str:
        t0 = time.perf_counter()
        frames = run()
        elapsed = time.perf_counter() - t0
        assert isinstance(frames, list)
        video = sum(f.size for f in frames if f.track_id == 0) * 8 / SECONDS / 1e6
        audio = sum(f.size for f in frames if f.track_id == 1) * 8 / SECONDS / 1e3
        factor = SECONDS / elapsed
        met = "ok" if factor >= TARGET_REALTIME else "MISS"
        return (f"{factor:.0f}x real time (target {TARGET_REALTIME:g}x: {met}); "
                f"video {video:.2f} Mbit/s, audio {audio:.1f} kbit/s")
    return note


def _peer() -> Callable[[], object] | None:
    try:
        import av
    except ImportError:
        return None

    def run() -> object:
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
        codec.time_base = Fraction(1, 25)
        codec.framerate = Fraction(25)
        codec.gop_size = 25
        codec.options = {"preset": "ultrafast", "tune": "zerolatency"}
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane, value in zip(frame.planes, (180, 128, 128)):
            plane.update(bytes([value]) * plane.buffer_size)
        size = 0
        for n in range(SECONDS * 25):
            frame.pts = n
            size += sum(p.size for p in codec.encode(frame))
        size += sum(p.size for p in codec.encode(None))
        return size
    return run


_AV = _generate()
_AV_720 = _generate(width=1280, height=720, frame_rate=Fraction(30000, 1001), audio=False)

BENCHMARKS = [
    Bench("testsrc.60s 320x240@25 + AAC (x realtime)", _AV, work=SECONDS, peer="pyav-libx264",
          peer_run=_peer(), note=_note(_AV)),
    Bench("testsrc.60s 1280x720@29.97 (x realtime)", _AV_720, work=SECONDS, note=_note(_AV_720)),
]
