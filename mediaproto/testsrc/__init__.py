"""A built-in test source: H.264 video and AAC audio generated in pure Python, no encoder needed.

:class:`TestSource` yields :class:`~mediaproto.media.Frame` values for two tracks:

* video (track 0, 90 kHz): H.264 Constrained Baseline, colour bars with a burned-in clock and frame
  counter. Keyframes are IDR pictures of I_PCM macroblocks (lossless: a decoder outputs exactly
  :meth:`TestSource.picture`), with SPS and PPS; the frames between are P pictures whose
  macroblocks are all skipped (:mod:`mediaproto.testsrc.h264enc`);
* audio (track 1, the sample rate): AAC-LC, 1024 samples a frame, a steady sine tone coded as one
  spectral line per frame (:mod:`mediaproto.testsrc.aacenc`).

:func:`annexb_stream` and :func:`adts_stream` turn frames into the raw elementary streams
(``.h264``, ``.aac``) any player opens. Nothing reads a clock: the caller passes stream time.
"""

from __future__ import annotations

from .picture import Picture
from .source import (
    AUDIO_TRACK_ID,
    VIDEO_CLOCK_RATE,
    VIDEO_TRACK_ID,
    TestSource,
    adts_stream,
    annexb_stream,
)

__all__ = [
    "TestSource",
    "Picture",
    "annexb_stream",
    "adts_stream",
    "VIDEO_TRACK_ID",
    "AUDIO_TRACK_ID",
    "VIDEO_CLOCK_RATE",
]
