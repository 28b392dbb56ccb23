"""FLV / RTMP audio, video and script tag bodies, legacy and Enhanced RTMP (v2).

These are the bodies of FLV tags and of RTMP audio (8), video (9) and data (18) messages.

Audio: the legacy AudioTagHeader (SoundFormat, SoundRate, SoundSize, SoundType; for AAC the
AACPacketType, 0 = AudioSpecificConfig, 1 = raw frame), and Enhanced RTMP's ExAudioTagHeader
(SoundFormat 9 ``ExHeader``: an AudioPacketType, ModEx modifiers, multitrack, and a FourCC:
``Opus``, ``mp4a``, ``ac-3``, ``ec-3``, ``fLaC``, ``.mp3``).

Video: the legacy VideoTagHeader (FrameType, CodecID; for AVC, and for the HEVC = 12 and AV1 = 13
extensions some CDNs use, the AVCPacketType and a signed 24-bit CompositionTime), and Enhanced
RTMP's ExVideoTagHeader (IsExHeader bit, VideoPacketType SequenceStart, CodedFrames,
CodedFramesX, SequenceEnd, Metadata, MPEG2TSSequenceStart, Multitrack, ModEx; FourCC ``avc1``,
``hvc1``, ``av01``, ``vp09``, ``vp08``).

Script data bodies (``onMetaData``) are in :mod:`mediaproto.rtmp.flvscript`.

A multitrack body holds one :class:`AudioData` / :class:`VideoData` per track:
:func:`parse_audio` and :func:`parse_video` return them all, :func:`build_audio` and
:func:`build_video` write several as one multitrack body. Field names follow the specifications.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from ..errors import LocalProtocolError, ParseError, ProtocolError

__all__ = [
    "TAG_AUDIO",
    "TAG_VIDEO",
    "TAG_SCRIPT",
    "SoundFormat",
    "AacPacketType",
    "AudioPacketType",
    "VideoFrameType",
    "VideoCodecId",
    "AvcPacketType",
    "VideoPacketType",
    "AvMultitrackType",
    "AudioFourCC",
    "VideoFourCC",
    "AudioData",
    "VideoData",
    "parse_audio",
    "build_audio",
    "parse_video",
    "build_video",
]

#: TagType of an audio tag (and the RTMP audio message type).
TAG_AUDIO = 8
#: TagType of a video tag (and the RTMP video message type).
TAG_VIDEO = 9
#: TagType of a script data tag (and the RTMP AMF0 data message type).
TAG_SCRIPT = 18


class SoundFormat(enum.IntEnum):
    """SoundFormat of the AudioTagHeader."""

    LPCM_PLATFORM_ENDIAN = 0
    ADPCM = 1
    MP3 = 2
    LPCM_LITTLE_ENDIAN = 3
    NELLYMOSER_16K_MONO = 4
    NELLYMOSER_8K_MONO = 5
    NELLYMOSER = 6
    G711_A_LAW = 7
    G711_MU_LAW = 8
    EX_HEADER = 9
    AAC = 10
    SPEEX = 11
    MP3_8K = 14
    NATIVE = 15


class AacPacketType(enum.IntEnum):
    """AACPacketType: the AudioSpecificConfig or a raw AAC frame."""

    SEQUENCE_HEADER = 0
    RAW = 1


class AudioPacketType(enum.IntEnum):
    """Enhanced RTMP AudioPacketType."""

    SEQUENCE_START = 0
    CODED_FRAMES = 1
    SEQUENCE_END = 2
    MULTICHANNEL_CONFIG = 4
    MULTITRACK = 5
    MOD_EX = 7


class VideoFrameType(enum.IntEnum):
    """FrameType of the VideoTagHeader."""

    KEY_FRAME = 1
    INTER_FRAME = 2
    DISPOSABLE_INTER_FRAME = 3
    GENERATED_KEY_FRAME = 4
    COMMAND = 5


class VideoCodecId(enum.IntEnum):
    """Legacy CodecID of the VideoTagHeader (HEVC = 12 and AV1 = 13 are CDN extensions)."""

    SORENSON_H263 = 2
    SCREEN_VIDEO = 3
    VP6 = 4
    VP6_ALPHA = 5
    SCREEN_VIDEO_V2 = 6
    AVC = 7
    HEVC = 12
    AV1 = 13


class AvcPacketType(enum.IntEnum):
    """AVCPacketType: the decoder configuration record, NAL units, or end of sequence."""

    SEQUENCE_HEADER = 0
    NALU = 1
    END_OF_SEQUENCE = 2


class VideoPacketType(enum.IntEnum):
    """Enhanced RTMP VideoPacketType."""

    SEQUENCE_START = 0
    CODED_FRAMES = 1
    SEQUENCE_END = 2
    CODED_FRAMES_X = 3
    METADATA = 4
    MPEG2TS_SEQUENCE_START = 5
    MULTITRACK = 6
    MOD_EX = 7


class AvMultitrackType(enum.IntEnum):
    """Enhanced RTMP AvMultitrackType."""

    ONE_TRACK = 0
    MANY_TRACKS = 1
    MANY_TRACKS_MANY_CODECS = 2


class AudioFourCC:
    """The Enhanced RTMP audio FourCCs."""

    OPUS = b"Opus"
    AAC = b"mp4a"
    AC3 = b"ac-3"
    EAC3 = b"ec-3"
    FLAC = b"fLaC"
    MP3 = b".mp3"


class VideoFourCC:
    """The Enhanced RTMP video FourCCs."""

    AVC = b"avc1"
    HEVC = b"hvc1"
    AV1 = b"av01"
    VP9 = b"vp09"
    VP8 = b"vp08"
    VVC = b"vvc1"


_CTS_FOURCCS = frozenset({VideoFourCC.AVC, VideoFourCC.HEVC, VideoFourCC.VVC})
_LEGACY_AVC_LIKE = frozenset({VideoCodecId.AVC, VideoCodecId.HEVC, VideoCodecId.AV1})
_MOD_EX_TIMESTAMP_OFFSET_NANO = 0
_U24 = struct.Struct(">I")


def _need(body: bytes, pos: int, n: int, what: str) -> None:
    if pos + n > len(body):
        raise ParseError(f"truncated {what}", offset=pos)


def _si24(body: bytes, pos: int) -> int:
    value = body[pos] << 16 | body[pos + 1] << 8 | body[pos + 2]
    return value - (1 << 24) if value & 0x800000 else value


def _u24(value: int) -> bytes:
    return (value & 0xFFFFFF).to_bytes(3, "big")


def _read_mod_ex(body: bytes, pos: int, packet_type: int, mod_ex: int, what: str) -> tuple[int, int, int]:
    """Read ModEx blocks; returns (pos, the final packet type, TimestampOffsetNano)."""
    nano = 0
    while packet_type == mod_ex:
        _need(body, pos, 1, f"{what} ModEx size")
        size = body[pos] + 1
        pos += 1
        if size == 256:
            _need(body, pos, 2, f"{what} ModEx size")
            size = (body[pos] << 8 | body[pos + 1]) + 1
            pos += 2
        _need(body, pos, size + 1, f"{what} ModEx data")
        data = body[pos : pos + size]
        pos += size
        mod_type, packet_type = body[pos] >> 4, body[pos] & 0x0F
        pos += 1
        if mod_type == _MOD_EX_TIMESTAMP_OFFSET_NANO and size >= 3:
            nano = data[0] << 16 | data[1] << 8 | data[2]
    return pos, packet_type, nano


def _mod_ex_bytes(nano: int, packet_type_after: int) -> bytes:
    """A TimestampOffsetNano ModEx block (the caller writes ModEx as the packet type before it)."""
    return b"\x02" + _u24(nano) + bytes(((_MOD_EX_TIMESTAMP_OFFSET_NANO << 4) | packet_type_after,))


def _split_tracks(
    body: bytes, pos: int, multitrack_type: int, fourcc: bytes, what: str
) -> list[tuple[bytes, int, bytes]]:
    """The (fourcc, track id, payload) of each track of a multitrack body."""
    tracks = []
    end = len(body)
    while pos < end:
        if multitrack_type == AvMultitrackType.MANY_TRACKS_MANY_CODECS:
            _need(body, pos, 4, f"{what} track FourCC")
            fourcc = body[pos : pos + 4]
            pos += 4
        _need(body, pos, 1, f"{what} track id")
        track_id = body[pos]
        pos += 1
        if multitrack_type == AvMultitrackType.ONE_TRACK:
            tracks.append((fourcc, track_id, body[pos:]))
            break
        _need(body, pos, 3, f"{what} track size")
        size = body[pos] << 16 | body[pos + 1] << 8 | body[pos + 2]
        pos += 3
        _need(body, pos, size, f"{what} track data")
        tracks.append((fourcc, track_id, body[pos : pos + size]))
        pos += size
    if not tracks:
        raise ParseError(f"{what}: multitrack body without tracks", offset=pos)
    return tracks


def _join_tracks(items: Sequence[AudioData | VideoData], payloads: Sequence[bytes]) -> tuple[int, bytes, bytes]:
    """(multitrack type, shared fourcc or b"", the track bytes)."""
    fourccs = {item.fourcc for item in items}
    if len(items) == 1 and items[0].multitrack_type in (None, AvMultitrackType.ONE_TRACK):
        return AvMultitrackType.ONE_TRACK, items[0].fourcc, bytes((items[0].track_id,)) + payloads[0]
    many_codecs = len(fourccs) > 1
    parts = []
    for item, payload in zip(items, payloads):
        if len(payload) > 0xFFFFFF:
            raise LocalProtocolError("multitrack track data over 2**24-1 bytes")
        if many_codecs:
            parts.append(item.fourcc)
        parts.append(bytes((item.track_id,)) + _u24(len(payload)) + payload)
    kind = AvMultitrackType.MANY_TRACKS_MANY_CODECS if many_codecs else AvMultitrackType.MANY_TRACKS
    return kind, b"" if many_codecs else items[0].fourcc, b"".join(parts)


# ------------------------------------------------------------------------------------------ audio


@dataclass(frozen=True, slots=True)
class AudioData:
    """An audio tag body (or one track of a multitrack body).

    :param sound_format: SoundFormat (:class:`SoundFormat`; 9 for the Enhanced RTMP ExHeader).
    :param packet_type: for AAC the AACPacketType, for the ExHeader the AudioPacketType (never
        Multitrack or ModEx: those are structure), otherwise 1.
    :param data: the payload: an AudioSpecificConfig, OpusHead, or coded audio.
    :param sound_rate: SoundRate (0 = 5.5 kHz, 1 = 11 kHz, 2 = 22 kHz, 3 = 44 kHz); legacy only.
    :param sound_size: SoundSize (0 = 8 bit, 1 = 16 bit); legacy only.
    :param sound_type: SoundType (0 = mono, 1 = stereo); legacy only.
    :param fourcc: the ExHeader FourCC (:class:`AudioFourCC`), ``b""`` for legacy bodies.
    :param track_id: the track of a multitrack body (0 otherwise).
    :param multitrack_type: the AvMultitrackType when the body was multitrack, else ``None``.
    :param timestamp_offset_nano: the ModEx TimestampOffsetNano (0 when absent).
    """

    sound_format: int
    packet_type: int
    data: bytes
    sound_rate: int = 3
    sound_size: int = 1
    sound_type: int = 1
    fourcc: bytes = b""
    track_id: int = 0
    multitrack_type: int | None = None
    timestamp_offset_nano: int = 0

    @property
    def is_sequence_header(self) -> bool:
        """Whether this carries the decoder configuration (AAC sequence header, SequenceStart)."""
        if self.sound_format == SoundFormat.EX_HEADER:
            return self.packet_type == AudioPacketType.SEQUENCE_START
        return self.sound_format == SoundFormat.AAC and self.packet_type == AacPacketType.SEQUENCE_HEADER

    @classmethod
    def parse(cls, body: bytes | bytearray | memoryview) -> AudioData:
        """Parse a single-track body (a multitrack body with one track also qualifies)."""
        items = parse_audio(body)
        if len(items) != 1:
            raise ParseError(f"audio body holds {len(items)} tracks; use parse_audio", offset=0)
        return items[0]

    def to_bytes(self) -> bytes:
        """The body."""
        return build_audio([self])


def parse_audio(body: bytes | bytearray | memoryview) -> list[AudioData]:
    """Parse an audio tag body into one :class:`AudioData` per track."""
    raw = bytes(body)
    if not raw:
        raise ParseError("empty audio body", offset=0)
    first = raw[0]
    sound_format = first >> 4
    if sound_format != SoundFormat.EX_HEADER:
        rate, size, stype = (first >> 2) & 3, (first >> 1) & 1, first & 1
        if sound_format == SoundFormat.AAC:
            _need(raw, 1, 1, "AACPacketType")
            return [AudioData(sound_format, raw[1], raw[2:], rate, size, stype)]
        return [AudioData(sound_format, 1, raw[1:], rate, size, stype)]
    pos, packet_type, nano = _read_mod_ex(raw, 1, first & 0x0F, AudioPacketType.MOD_EX, "audio")
    if packet_type == AudioPacketType.MULTITRACK:
        _need(raw, pos, 1, "audio multitrack type")
        mt_type, packet_type = raw[pos] >> 4, raw[pos] & 0x0F
        pos += 1
        if packet_type in (AudioPacketType.MULTITRACK, AudioPacketType.MOD_EX) or mt_type > 2:
            raise ParseError("invalid audio multitrack header", offset=pos - 1)
        fourcc = b""
        if mt_type != AvMultitrackType.MANY_TRACKS_MANY_CODECS:
            _need(raw, pos, 4, "audio FourCC")
            fourcc = raw[pos : pos + 4]
            pos += 4
        return [
            AudioData(sound_format, packet_type, payload, 0, 0, 0, cc, track_id, mt_type, nano)
            for cc, track_id, payload in _split_tracks(raw, pos, mt_type, fourcc, "audio")
        ]
    _need(raw, pos, 4, "audio FourCC")
    return [AudioData(sound_format, packet_type, raw[pos + 4 :], 0, 0, 0, raw[pos : pos + 4], 0, None, nano)]


def build_audio(items: Sequence[AudioData]) -> bytes:
    """Write one body from one :class:`AudioData` or, as a multitrack body, several."""
    if not items:
        raise LocalProtocolError("an audio body needs at least one track")
    a = items[0]
    if a.sound_format != SoundFormat.EX_HEADER:
        if len(items) != 1:
            raise LocalProtocolError("legacy audio bodies carry one track")
        head = bytes(((a.sound_format & 15) << 4 | (a.sound_rate & 3) << 2 | (a.sound_size & 1) << 1 | (a.sound_type & 1),))
        if a.sound_format == SoundFormat.AAC:
            head += bytes((a.packet_type,))
        return head + a.data
    if any(len(i.fourcc) != 4 for i in items) or len({i.packet_type for i in items}) != 1:
        raise LocalProtocolError("Enhanced audio needs 4-byte FourCCs and one packet type for all tracks")
    pieces = []
    multitrack = len(items) > 1 or a.multitrack_type is not None
    first_type = AudioPacketType.MULTITRACK if multitrack else a.packet_type
    if a.timestamp_offset_nano:
        pieces.append(bytes((0x90 | AudioPacketType.MOD_EX,)) + _mod_ex_bytes(a.timestamp_offset_nano, first_type))
    else:
        pieces.append(bytes((0x90 | first_type,)))
    if not multitrack:
        return b"".join(pieces) + a.fourcc + a.data
    kind, fourcc, tracks = _join_tracks(items, [i.data for i in items])
    pieces.append(bytes((kind << 4 | a.packet_type,)) + fourcc + tracks)
    return b"".join(pieces)


# ------------------------------------------------------------------------------------------ video


@dataclass(frozen=True, slots=True)
class VideoData:
    """A video tag body (or one track of a multitrack body).

    :param frame_type: FrameType (:class:`VideoFrameType`).
    :param codec_id: legacy CodecID (:class:`VideoCodecId`); 0 for Enhanced RTMP bodies.
    :param packet_type: for the AVC-like legacy codecs the AVCPacketType, for Enhanced RTMP the
        VideoPacketType (never Multitrack or ModEx), otherwise 1.
    :param data: the payload: a decoder configuration record, NAL units with their length
        prefixes, an AMF0 metadata body, or the coded frame.
    :param composition_time: CompositionTime in milliseconds (signed; 0 where absent).
    :param fourcc: the Enhanced RTMP FourCC (:class:`VideoFourCC`), ``b""`` for legacy bodies.
    :param track_id: the track of a multitrack body (0 otherwise).
    :param multitrack_type: the AvMultitrackType when the body was multitrack, else ``None``.
    :param command: the VideoCommand of a command frame (FrameType 5), else ``None``.
    :param timestamp_offset_nano: the ModEx TimestampOffsetNano (0 when absent).
    """

    frame_type: int
    codec_id: int
    packet_type: int
    data: bytes
    composition_time: int = 0
    fourcc: bytes = b""
    track_id: int = 0
    multitrack_type: int | None = None
    command: int | None = None
    timestamp_offset_nano: int = 0

    @property
    def is_ex_header(self) -> bool:
        """Whether this is an Enhanced RTMP body."""
        return bool(self.fourcc) or self.codec_id == 0

    @property
    def keyframe(self) -> bool:
        """FrameType 1 (key frame) or 4 (generated key frame)."""
        return self.frame_type in (VideoFrameType.KEY_FRAME, VideoFrameType.GENERATED_KEY_FRAME)

    @property
    def is_sequence_header(self) -> bool:
        """Whether this carries the decoder configuration record."""
        if self.command is not None:
            return False
        if self.is_ex_header:
            return self.packet_type == VideoPacketType.SEQUENCE_START
        return self.codec_id in _LEGACY_AVC_LIKE and self.packet_type == AvcPacketType.SEQUENCE_HEADER

    @property
    def is_coded_frame(self) -> bool:
        """Whether this carries a coded picture."""
        if self.command is not None:
            return False
        if self.is_ex_header:
            return self.packet_type in (VideoPacketType.CODED_FRAMES, VideoPacketType.CODED_FRAMES_X)
        return self.codec_id not in _LEGACY_AVC_LIKE or self.packet_type == AvcPacketType.NALU

    @classmethod
    def parse(cls, body: bytes | bytearray | memoryview) -> VideoData:
        """Parse a single-track body (a multitrack body with one track also qualifies)."""
        items = parse_video(body)
        if len(items) != 1:
            raise ParseError(f"video body holds {len(items)} tracks; use parse_video", offset=0)
        return items[0]

    def to_bytes(self) -> bytes:
        """The body."""
        return build_video([self])


def _video_payload(fourcc: bytes, packet_type: int, payload: bytes) -> tuple[int, bytes]:
    """(composition time, data) of one Enhanced RTMP track payload."""
    if packet_type == VideoPacketType.CODED_FRAMES and fourcc in _CTS_FOURCCS:
        _need(payload, 0, 3, "CompositionTime")
        return _si24(payload, 0), payload[3:]
    return 0, payload


def parse_video(body: bytes | bytearray | memoryview) -> list[VideoData]:
    """Parse a video tag body into one :class:`VideoData` per track."""
    raw = bytes(body)
    if not raw:
        raise ParseError("empty video body", offset=0)
    first = raw[0]
    frame_type = (first >> 4) & 7
    if not first & 0x80:
        codec_id = first & 0x0F
        if frame_type == VideoFrameType.COMMAND:
            _need(raw, 1, 1, "VideoCommand")
            return [VideoData(frame_type, codec_id, 1, b"", command=raw[1])]
        if codec_id in _LEGACY_AVC_LIKE:
            _need(raw, 1, 4, "AVCPacketType and CompositionTime")
            return [VideoData(frame_type, codec_id, raw[1], raw[5:], _si24(raw, 2))]
        return [VideoData(frame_type, codec_id, 1, raw[1:])]
    pos, packet_type, nano = _read_mod_ex(raw, 1, first & 0x0F, VideoPacketType.MOD_EX, "video")
    if frame_type == VideoFrameType.COMMAND and packet_type != VideoPacketType.METADATA:
        _need(raw, pos, 1, "VideoCommand")
        return [VideoData(frame_type, 0, packet_type, b"", command=raw[pos], timestamp_offset_nano=nano)]
    if packet_type == VideoPacketType.MULTITRACK:
        _need(raw, pos, 1, "video multitrack type")
        mt_type, packet_type = raw[pos] >> 4, raw[pos] & 0x0F
        pos += 1
        if packet_type in (VideoPacketType.MULTITRACK, VideoPacketType.MOD_EX) or mt_type > 2:
            raise ParseError("invalid video multitrack header", offset=pos - 1)
        fourcc = b""
        if mt_type != AvMultitrackType.MANY_TRACKS_MANY_CODECS:
            _need(raw, pos, 4, "video FourCC")
            fourcc = raw[pos : pos + 4]
            pos += 4
        out = []
        for cc, track_id, payload in _split_tracks(raw, pos, mt_type, fourcc, "video"):
            cts, data = _video_payload(cc, packet_type, payload)
            out.append(VideoData(frame_type, 0, packet_type, data, cts, cc, track_id, mt_type, None, nano))
        return out
    _need(raw, pos, 4, "video FourCC")
    fourcc = raw[pos : pos + 4]
    try:
        cts, data = _video_payload(fourcc, packet_type, raw[pos + 4 :])
    except ProtocolError:
        raise ParseError("truncated CompositionTime", offset=pos + 4) from None
    return [VideoData(frame_type, 0, packet_type, data, cts, fourcc, 0, None, None, nano)]


def build_video(items: Sequence[VideoData]) -> bytes:
    """Write one body from one :class:`VideoData` or, as a multitrack body, several."""
    if not items:
        raise LocalProtocolError("a video body needs at least one track")
    v = items[0]
    if not v.is_ex_header:
        if len(items) != 1:
            raise LocalProtocolError("legacy video bodies carry one track")
        head = bytes(((v.frame_type & 7) << 4 | (v.codec_id & 15),))
        if v.command is not None:
            return head + bytes((v.command,))
        if v.codec_id in _LEGACY_AVC_LIKE:
            if not -(1 << 23) <= v.composition_time < 1 << 23:
                raise LocalProtocolError(f"composition time {v.composition_time} does not fit 24 bits")
            return head + bytes((v.packet_type,)) + _u24(v.composition_time) + v.data
        return head + v.data
    if len({i.packet_type for i in items}) != 1:
        raise LocalProtocolError("one packet type for all tracks of a video body")
    ex_head = 0x80 | (v.frame_type & 7) << 4
    multitrack = len(items) > 1 or v.multitrack_type is not None
    first_type = VideoPacketType.MULTITRACK if multitrack else v.packet_type
    if v.command is not None:
        first_type = v.packet_type
    if v.timestamp_offset_nano:
        pieces = [bytes((ex_head | VideoPacketType.MOD_EX,)) + _mod_ex_bytes(v.timestamp_offset_nano, first_type)]
    else:
        pieces = [bytes((ex_head | first_type,))]
    if v.command is not None:
        return pieces[0] + bytes((v.command,))
    if any(len(i.fourcc) != 4 for i in items):
        raise LocalProtocolError("Enhanced video needs 4-byte FourCCs")
    payloads = []
    for i in items:
        if i.packet_type == VideoPacketType.CODED_FRAMES and i.fourcc in _CTS_FOURCCS:
            if not -(1 << 23) <= i.composition_time < 1 << 23:
                raise LocalProtocolError(f"composition time {i.composition_time} does not fit 24 bits")
            payloads.append(_u24(i.composition_time) + i.data)
        else:
            payloads.append(i.data)
    if not multitrack:
        return pieces[0] + v.fourcc + payloads[0]
    kind, fourcc, tracks = _join_tracks(items, payloads)
    return pieces[0] + bytes((kind << 4 | v.packet_type,)) + fourcc + tracks
