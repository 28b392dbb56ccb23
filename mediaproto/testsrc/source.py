"""The test source: a Sans-IO generator of H.264 and AAC :class:`~mediaproto.media.Frame` values.

Nothing here reads a clock: the caller says how much stream time has passed
(:meth:`TestSource.frames_until`) or pulls frames one by one (iteration). Output is a pure
function of the constructor's arguments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from fractions import Fraction

from ..codecs.aac import AudioSpecificConfig, adts_wrap
from ..codecs.h264 import START_CODE
from ..errors import LocalProtocolError
from ..media import Codec, Frame, Track
from .aacenc import SAMPLES_PER_FRAME, ToneEncoder
from .h264enc import H264Params, PSkipCache, build_idr, build_pps, build_sps, choose_level
from .picture import Canvas, Picture

__all__ = ["TestSource", "VIDEO_TRACK_ID", "AUDIO_TRACK_ID", "VIDEO_CLOCK_RATE", "annexb_stream", "adts_stream"]

#: :attr:`~mediaproto.media.Track.id` of the video track.
VIDEO_TRACK_ID = 0
#: :attr:`~mediaproto.media.Track.id` of the audio track.
AUDIO_TRACK_ID = 1
#: Clock rate of the video track's timestamps.
VIDEO_CLOCK_RATE = 90000


def _frame_rate(value: Fraction | int | float | str) -> Fraction:
    if isinstance(value, float):
        return Fraction(value).limit_denominator(1001)
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError, TypeError):
        raise LocalProtocolError(f"not a frame rate: {value!r}") from None


class TestSource:
    """Colour bars with a burned-in clock (H.264) and a 1 kHz-ish tone (AAC-LC), as frames.

    :param width: visible width in pixels (even).
    :param height: visible height in pixels (even).
    :param frame_rate: frames per second, exact: ``Fraction(30000, 1001)`` for 29.97.
    :param keyframe_interval: seconds between IDR pictures (rounded to whole frames, at least 1).
    :param sample_rate: 48000 or 44100.
    :param channels: 1 or 2.
    :param audio: whether there is an audio track.
    :param start_time: seconds added to the stream time in the burned-in clock (pass a Unix time to
        show time of day, UTC); timestamps always start at 0.
    :param tone_frequency: the tone's frequency in Hz, rounded to a multiple of
        ``sample_rate / 2048`` (see :attr:`tone_frequency`); 0 for silence.

    Video frames (track 0, 90 kHz) are IDR pictures every :attr:`keyframe_interval_frames` frames,
    carrying SPS, PPS and one I_PCM slice, and all-skip P pictures between them; the text (clock
    ``hh:mm:ss.mmm`` and frame counter) is redrawn at every IDR picture. Audio frames (track 1,
    clocked at the sample rate) hold 1024 samples each. Frames come in decode order, the two
    tracks interleaved by time (video first on a tie).
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        width: int = 320,
        height: int = 240,
        frame_rate: Fraction | int | float | str = Fraction(25),
        keyframe_interval: float = 1.0,
        sample_rate: int = 48000,
        channels: int = 2,
        audio: bool = True,
        start_time: float = 0.0,
        tone_frequency: float = 1000.0,
    ) -> None:
        fps = _frame_rate(frame_rate)
        if fps <= 0:
            raise LocalProtocolError(f"frame rate must be positive, got {fps}")
        if not keyframe_interval > 0:
            raise LocalProtocolError(f"keyframe interval must be positive, got {keyframe_interval}")
        self.frame_rate = fps
        self._canvas = Canvas(width, height)
        self.keyframe_interval_frames = max(1, round(keyframe_interval * fps))
        gop = self.keyframe_interval_frames
        self.start_time = Fraction(start_time)
        idr_bits = (self._canvas.mb_width * self._canvas.mb_height * 386 + 64) * 8
        level = choose_level(self._canvas.mb_width, self._canvas.mb_height, fps, float(idr_bits * fps / gop))
        self._params = H264Params(width, height, fps, level, max(4, min(16, gop.bit_length())))
        self._sps = build_sps(self._params)
        self._pps = build_pps()
        self._pskip = PSkipCache(self._params)
        video = Track(
            id=VIDEO_TRACK_ID, codec=Codec.H264, clock_rate=VIDEO_CLOCK_RATE,
            parameter_sets=(self._sps, self._pps), width=width, height=height,
        )
        self._audio: ToneEncoder | None = None
        self.audio_config: AudioSpecificConfig | None = None
        if audio:
            self._audio = ToneEncoder(sample_rate, channels, tone_frequency)
            self.audio_config = AudioSpecificConfig.lc(sample_rate, channels)
            sound = Track(
                id=AUDIO_TRACK_ID, codec=Codec.AAC, clock_rate=sample_rate,
                config=self.audio_config.to_bytes(), sample_rate=sample_rate, channels=channels,
            )
            self.tracks: tuple[Track, ...] = (video, sound)
        else:
            self.tracks = (video,)
        self._next_video = 0
        self._next_audio = 0

    # -- description -------------------------------------------------------------------------

    @property
    def width(self) -> int:
        """Visible width in pixels."""
        return self._canvas.width

    @property
    def height(self) -> int:
        """Visible height in pixels."""
        return self._canvas.height

    @property
    def level_idc(self) -> int:
        """The H.264 level written in the SPS (``31`` is level 3.1)."""
        return self._params.level_idc

    @property
    def tone_frequency(self) -> float:
        """The exact frequency of the tone in Hz (0 for silence or without audio)."""
        return self._audio.frequency if self._audio else 0.0

    @property
    def frames_generated(self) -> tuple[int, int]:
        """How many ``(video, audio)`` frames have been returned so far."""
        return self._next_video, self._next_audio

    def video_time(self, n: int) -> Fraction:
        """Stream time in seconds of video frame ``n``."""
        return n / self.frame_rate

    def clock_text(self, n: int) -> tuple[str, str]:
        """The two text lines drawn on video frame ``n`` (the last IDR picture's, for P pictures):
        ``hh:mm:ss.mmm`` of ``start_time`` plus the stream time, and ``FRAME nnnnnn``."""
        key = n - n % self.keyframe_interval_frames
        ms = math.floor((self.start_time + self.video_time(key)) * 1000)
        s, ms = divmod(ms, 1000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        return f"{h % 24:02d}:{m:02d}:{s:02d}.{ms:03d}", f"FRAME {key % 1000000:06d}"

    def picture(self, n: int) -> Picture:
        """The picture a decoder outputs for video frame ``n``, as drawn (I_PCM is lossless)."""
        return self._canvas.picture(self.clock_text(n))

    # -- frames --------------------------------------------------------------------------------

    def video_frame(self, n: int) -> Frame:
        """Video frame number ``n`` (random access; does not move the position)."""
        gop = self.keyframe_interval_frames
        fps = self.frame_rate
        pts = (2 * n * VIDEO_CLOCK_RATE * fps.denominator + fps.numerator) // (2 * fps.numerator)
        index = n % gop
        if index == 0:
            idr = build_idr(self._params, (n // gop) & 1, self._canvas.macroblocks(self.clock_text(n)))
            return Frame(VIDEO_TRACK_ID, pts, pts, (self._sps, self._pps, idr), True)
        frame_num = index & ((1 << self._params.log2_max_frame_num) - 1)
        return Frame(VIDEO_TRACK_ID, pts, pts, (self._pskip.get(frame_num),), False)

    def audio_frame(self, n: int) -> Frame:
        """Audio frame number ``n`` (random access; does not move the position)."""
        if self._audio is None:
            raise LocalProtocolError("this source has no audio track")
        pts = n * SAMPLES_PER_FRAME
        return Frame(AUDIO_TRACK_ID, pts, pts, self._audio.frame(n), True)

    def _video_next(self, audio_end: int) -> bool:
        """Whether the next frame in decode order is video (ties go to video)."""
        if self._audio is None or self._next_audio >= audio_end:
            return True
        fps = self.frame_rate
        sr = self._audio.sample_rate
        return (self._next_video * fps.denominator * sr
                <= self._next_audio * SAMPLES_PER_FRAME * fps.numerator)

    def frames_until(self, t: float | Fraction) -> list[Frame]:
        """Every frame not returned yet whose time is before ``t`` seconds of stream time, in
        decode order, audio and video interleaved by time. Successive calls continue."""
        try:
            tf = Fraction(t)
        except (ValueError, OverflowError, TypeError):
            raise LocalProtocolError(f"not a finite stream time: {t!r}") from None
        video_end = math.ceil(tf * self.frame_rate)
        audio_end = 0
        if self._audio is not None:
            audio_end = math.ceil(tf * self._audio.sample_rate / SAMPLES_PER_FRAME)
        out: list[Frame] = []
        while self._next_video < video_end or self._next_audio < audio_end:
            if self._next_video < video_end and self._video_next(audio_end):
                out.append(self.video_frame(self._next_video))
                self._next_video += 1
            else:
                out.append(self.audio_frame(self._next_audio))
                self._next_audio += 1
        return out

    def next_frame(self) -> Frame:
        """The next frame in decode order."""
        if self._video_next(self._next_audio + 1):
            frame = self.video_frame(self._next_video)
            self._next_video += 1
        else:
            frame = self.audio_frame(self._next_audio)
            self._next_audio += 1
        return frame

    def __iter__(self) -> Iterator[Frame]:
        """Frames forever, continuing from the same position as :meth:`frames_until`."""
        while True:
            yield self.next_frame()


def annexb_stream(frames: Iterable[Frame], track_id: int = VIDEO_TRACK_ID) -> bytes:
    """The Annex B byte stream (``.h264``) of the frames of ``track_id``: every NAL unit after a
    4-byte start code."""
    return b"".join([START_CODE + nal for f in frames if f.track_id == track_id for nal in f.nal_units])


def adts_stream(
    frames: Iterable[Frame], config: AudioSpecificConfig | bytes, track_id: int = AUDIO_TRACK_ID,
) -> bytes:
    """The ADTS stream (``.aac``) of the frames of ``track_id``, each behind a header made from
    ``config`` (an :class:`~mediaproto.codecs.aac.AudioSpecificConfig` or its bytes)."""
    asc = config if isinstance(config, AudioSpecificConfig) else AudioSpecificConfig.parse(config)
    return b"".join([adts_wrap(f.payload, asc) for f in frames if f.track_id == track_id])
