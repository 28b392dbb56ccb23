"""The codec-independent media model every protocol converts to and from.

A :class:`Track` describes one elementary stream (its codec, clock rate and decoder configuration);
a :class:`Frame` is one access unit of a track with its timestamps in that track's clock rate.

The neutral forms of frame data:

* video: the access unit as a tuple of NAL units (H.264, H.265) without start codes or length
  prefixes; Annex B (MPEG-TS), AVCC length prefixes (RTMP, FLV, MP4) and RTP payload formats are
  all converted to and from this form by :mod:`mediaproto.codecs`. Codecs without NAL units (VP8,
  VP9, AV1 temporal units) use a one-element tuple.
* audio: one raw codec frame as ``bytes`` (AAC without ADTS, an Opus packet, G.711 samples).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import LocalProtocolError

__all__ = ["MediaKind", "Codec", "Track", "Frame"]


class MediaKind(enum.Enum):
    """Whether a codec carries video or audio."""

    VIDEO = "video"
    AUDIO = "audio"
    #: Several elementary streams multiplexed together (an MPEG-TS carried whole over RTP).
    MULTIPLEXED = "multiplexed"


class Codec(enum.Enum):
    """The codecs mediaproto knows; the value is a short lowercase name."""

    H264 = "h264"
    H265 = "h265"
    AV1 = "av1"
    VP8 = "vp8"
    VP9 = "vp9"
    AAC = "aac"
    OPUS = "opus"
    MP3 = "mp3"
    PCMU = "pcmu"
    PCMA = "pcma"
    L16 = "l16"
    AC3 = "ac3"
    EAC3 = "eac3"
    FLAC = "flac"
    #: An MPEG-2 transport stream carried whole (RTP payload type 33, RFC 2250): frames are bytes
    #: of whole 188-byte TS packets; :mod:`mediaproto.mpegts` demuxes them.
    MP2T = "mp2t"

    @property
    def kind(self) -> MediaKind:
        """Video, audio, or multiplexed (MP2T)."""
        if self in _VIDEO:
            return MediaKind.VIDEO
        return MediaKind.MULTIPLEXED if self is Codec.MP2T else MediaKind.AUDIO

    @property
    def is_video(self) -> bool:
        """Whether this is a video codec."""
        return self in _VIDEO

    @property
    def is_audio(self) -> bool:
        """Whether this is an audio codec."""
        return self.kind is MediaKind.AUDIO

    @property
    def uses_nal_units(self) -> bool:
        """Whether frames of this codec are sequences of NAL units (H.264, H.265)."""
        return self in (Codec.H264, Codec.H265)


_VIDEO = frozenset({Codec.H264, Codec.H265, Codec.AV1, Codec.VP8, Codec.VP9})


@dataclass(frozen=True, slots=True)
class Track:
    """One elementary stream.

    :param id: the track's id, unique within a stream; frames name their track by it.
    :param codec: the codec.
    :param clock_rate: ticks per second of the frames' ``pts``/``dts`` (90000 for video, the
        sample rate for most audio, 48000 for Opus).
    :param config: the decoder configuration as bytes: AudioSpecificConfig for AAC, OpusHead for
        Opus, the AV1 sequence header OBU for AV1; empty where the codec needs none.
    :param parameter_sets: for H.264 the SPS and PPS NAL units, for H.265 the VPS, SPS and PPS
        (each without start code); empty for other codecs or when they are only known in-band.
    :param sample_rate: audio sample rate in Hz (0 for video).
    :param channels: audio channel count (0 for video).
    :param width: video width in pixels after cropping (0 for audio or unknown).
    :param height: video height in pixels after cropping (0 for audio or unknown).
    """

    id: int
    codec: Codec
    clock_rate: int
    config: bytes = b""
    parameter_sets: tuple[bytes, ...] = ()
    sample_rate: int = 0
    channels: int = 0
    width: int = 0
    height: int = 0

    def __post_init__(self) -> None:
        if self.clock_rate <= 0:
            raise LocalProtocolError(f"track {self.id}: clock rate must be positive, got {self.clock_rate}")

    @property
    def kind(self) -> MediaKind:
        """Video, audio, or multiplexed."""
        return self.codec.kind


@dataclass(frozen=True, slots=True)
class Frame:
    """One access unit of a track.

    :param track_id: the :attr:`Track.id` this frame belongs to.
    :param pts: presentation time in the track's clock rate (unwrapped, may be negative).
    :param dts: decode time in the track's clock rate; equal to ``pts`` without reordering.
    :param data: video: a tuple of NAL units without start codes (see the module docs); audio:
        one raw codec frame.
    :param keyframe: whether decoding can start at this frame (an IDR/IRAP picture; every audio
        frame of codecs without inter-frame prediction).
    """

    track_id: int
    pts: int
    dts: int
    data: tuple[bytes, ...] | bytes
    keyframe: bool = False

    @property
    def nal_units(self) -> tuple[bytes, ...]:
        """The NAL units of a video frame (a one-element tuple for ``bytes`` data)."""
        data = self.data
        return data if isinstance(data, tuple) else (data,)

    @property
    def payload(self) -> bytes:
        """The bytes of an audio frame; for video the NAL units concatenated (rarely what you want)."""
        data = self.data
        return data if isinstance(data, bytes) else b"".join(data)

    @property
    def size(self) -> int:
        """Bytes of media data, without any framing."""
        data = self.data
        return len(data) if isinstance(data, bytes) else sum(map(len, data))

    @property
    def composition_offset(self) -> int:
        """``pts - dts``, as FLV and MP4 carry it."""
        return self.pts - self.dts
