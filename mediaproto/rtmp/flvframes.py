"""Conversion between FLV / RTMP audio and video tag bodies and :class:`~mediaproto.media.Frame`.

:class:`MediaTagDecoder` turns the tags of one stream (an FLV file, or the audio and video messages
of one RTMP stream) into :class:`~mediaproto.media.Track` and :class:`~mediaproto.media.Frame`
values; :class:`MediaTagEncoder` does the reverse. FLV and RTMP count time in milliseconds, so
tracks read from tags have a ``clock_rate`` of 1000; the encoder rescales from any clock rate.

* H.264: legacy CodecID 7 (or Enhanced ``avc1``); the sequence header is an
  AVCDecoderConfigurationRecord, frames are AVCC (NAL units with length prefixes) and become the
  neutral tuple of NAL units; Annex B payloads are detected and accepted (QUIRKS: some encoders).
* H.265: Enhanced ``hvc1``, the legacy CDN extension CodecID 12, and HEVC sent as CodecID 7
  (QUIRKS: old OBS; recognised by its HEVCDecoderConfigurationRecord).
* AV1 (``av01``, legacy 13) and VP9 (``vp09``): one-element tuples with the coded frame.
* AAC (legacy SoundFormat 10 or ``mp4a``): the AudioSpecificConfig becomes ``Track.config``.
* Opus (``Opus``): the OpusHead becomes ``Track.config``; 48 kHz.
* MP3, G.711 A-law and µ-law, and Enhanced AC-3, E-AC-3, FLAC: tracks appear with their first frame
  (they have no sequence header, except FLAC's STREAMINFO).

Video is track 0 and audio track 1; in multitrack bodies only track id 0 of each kind is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..clock import Unwrapper, rescale
from ..codecs.aac import AudioSpecificConfig
from ..codecs.h264 import AVCDecoderConfigurationRecord, is_annexb, split_annexb, split_avcc
from ..codecs.h264 import parse_sps as parse_h264_sps
from ..codecs.h265_sps import parse_sps as parse_h265_sps
from ..codecs.hevc_config import HEVCDecoderConfigurationRecord
from ..errors import LocalProtocolError, ProtocolError
from ..media import Codec, Frame, Track
from .flvmedia import (
    TAG_AUDIO,
    TAG_VIDEO,
    AacPacketType,
    AudioData,
    AudioFourCC,
    AudioPacketType,
    AvcPacketType,
    SoundFormat,
    VideoCodecId,
    VideoData,
    VideoFourCC,
    VideoFrameType,
    VideoPacketType,
    build_audio,
    build_video,
    parse_audio,
    parse_video,
)

__all__ = ["MediaTagDecoder", "MediaTagEncoder", "VIDEO_TRACK_ID", "AUDIO_TRACK_ID", "opus_head"]

#: Track id of the video track of an FLV file or RTMP stream.
VIDEO_TRACK_ID = 0
#: Track id of the audio track.
AUDIO_TRACK_ID = 1
_MS = 1000

_VIDEO_FOURCC_CODECS: dict[bytes, Codec] = {
    VideoFourCC.AVC: Codec.H264,
    VideoFourCC.HEVC: Codec.H265,
    VideoFourCC.AV1: Codec.AV1,
    VideoFourCC.VP9: Codec.VP9,
    VideoFourCC.VP8: Codec.VP8,
}
_LEGACY_VIDEO_CODECS: dict[int, Codec] = {VideoCodecId.AVC: Codec.H264, VideoCodecId.HEVC: Codec.H265, VideoCodecId.AV1: Codec.AV1}
_AUDIO_FOURCC_CODECS: dict[bytes, Codec] = {
    AudioFourCC.AAC: Codec.AAC,
    AudioFourCC.OPUS: Codec.OPUS,
    AudioFourCC.AC3: Codec.AC3,
    AudioFourCC.EAC3: Codec.EAC3,
    AudioFourCC.FLAC: Codec.FLAC,
    AudioFourCC.MP3: Codec.MP3,
}
_SOUND_RATES = (5512, 11025, 22050, 44100)


def opus_head(channels: int = 2, input_sample_rate: int = 48000, pre_skip: int = 312) -> bytes:
    """A minimal OpusHead (RFC 7845 section 5.1, channel mapping family 0) for 1 or 2 channels."""
    if channels not in (1, 2):
        raise LocalProtocolError("opus_head() writes mapping family 0: 1 or 2 channels")
    return (
        b"OpusHead\x01"
        + bytes((channels,))
        + pre_skip.to_bytes(2, "little")
        + input_sample_rate.to_bytes(4, "little")
        + b"\x00\x00\x00"
    )


def _h264_track(record: AVCDecoderConfigurationRecord) -> Track:
    width = height = 0
    if record.sequence_parameter_sets:
        try:
            info = parse_h264_sps(record.sequence_parameter_sets[0])
            width, height = info.width, info.height
        except ProtocolError:
            pass
    return Track(VIDEO_TRACK_ID, Codec.H264, _MS, parameter_sets=record.parameter_sets, width=width, height=height)


def _h265_track(record: HEVCDecoderConfigurationRecord) -> Track:
    width = height = 0
    if record.sps:
        try:
            info = parse_h265_sps(record.sps[0])
            width, height = info.width, info.height
        except ProtocolError:
            pass
    return Track(VIDEO_TRACK_ID, Codec.H265, _MS, parameter_sets=record.parameter_sets, width=width, height=height)


def _looks_like_avc_record(data: bytes) -> bool:
    """An AVC record's first SPS is an H.264 SPS (nal_unit_type 7); an HEVC record never is."""
    try:
        record = AVCDecoderConfigurationRecord.parse(data)
    except ProtocolError:
        return False
    sets = record.sequence_parameter_sets
    return bool(sets) and sets[0][0] & 0x1F == 7 and data[4] & 0xFC == 0xFC


class MediaTagDecoder:
    """Turns the audio and video tags of one stream into tracks and frames.

    :meth:`feed` returns a :class:`~mediaproto.media.Track` when a sequence header arrives or
    changes (and, for codecs without one, with the first frame), and a
    :class:`~mediaproto.media.Frame` per coded frame. Frames that arrive before their track's
    sequence header are dropped and counted in :attr:`dropped`; unsupported codecs are counted in
    :attr:`ignored`. Malformed bodies raise :class:`~mediaproto.errors.ParseError`.
    """

    __slots__ = ("tracks", "dropped", "ignored", "_length_size", "_unwrap")

    def __init__(self) -> None:
        #: The current tracks by id (0 video, 1 audio).
        self.tracks: dict[int, Track] = {}
        #: Frames dropped because their track's sequence header had not arrived.
        self.dropped = 0
        #: Tags of unsupported codecs, command frames and tracks other than trackId 0.
        self.ignored = 0
        self._length_size = 4
        self._unwrap = {VIDEO_TRACK_ID: Unwrapper(32), AUDIO_TRACK_ID: Unwrapper(32)}

    def feed(self, tag_type: int, timestamp: int, body: bytes) -> list[Track | Frame]:
        """Convert one tag (``timestamp`` in ms, as in the tag or RTMP message) to tracks/frames."""
        if tag_type == TAG_VIDEO:
            return self._video(timestamp, body)
        if tag_type == TAG_AUDIO:
            return self._audio(timestamp, body)
        return []

    def flush(self) -> list[Track | Frame]:
        """The stream ended. Every tag becomes its frame as it arrives, so nothing is held: ``[]``."""
        return []

    def _set_track(self, track: Track, out: list[Track | Frame]) -> None:
        if self.tracks.get(track.id) != track:
            self.tracks[track.id] = track
            out.append(track)

    def _time(self, track_id: int, timestamp: int) -> int:
        return self._unwrap[track_id].unwrap(timestamp & 0xFFFFFFFF)

    # ------------------------------------------------------------------------------------ video

    def _video(self, timestamp: int, body: bytes) -> list[Track | Frame]:
        out: list[Track | Frame] = []
        if not body:
            return out
        for v in parse_video(body):
            if v.track_id != 0 or v.command is not None:
                self.ignored += 1
                continue
            codec = _VIDEO_FOURCC_CODECS.get(v.fourcc) if v.fourcc else _LEGACY_VIDEO_CODECS.get(v.codec_id)
            if codec is None:
                self.ignored += 1
                continue
            if v.is_sequence_header:
                self._video_sequence_header(codec, v, out)
            elif v.is_coded_frame:
                self._video_frame(codec, timestamp, v, out)
        return out

    def _video_sequence_header(self, codec: Codec, v: VideoData, out: list[Track | Frame]) -> None:
        data = v.data
        if codec is Codec.H264 and not v.fourcc and not _looks_like_avc_record(data):
            codec = Codec.H265  # HEVC sent with CodecID 7 (old OBS, see QUIRKS)
        if codec is Codec.H264:
            avc = AVCDecoderConfigurationRecord.parse(data)
            self._length_size = avc.length_size
            self._set_track(_h264_track(avc), out)
        elif codec is Codec.H265:
            hevc = HEVCDecoderConfigurationRecord.parse(data)
            self._length_size = hevc.length_size
            self._set_track(_h265_track(hevc), out)
        else:
            self._set_track(Track(VIDEO_TRACK_ID, codec, _MS, config=data), out)

    def _video_frame(self, codec: Codec, timestamp: int, v: VideoData, out: list[Track | Frame]) -> None:
        track = self.tracks.get(VIDEO_TRACK_ID)
        if track is None or (track.codec is not codec and not (codec is Codec.H264 and track.codec is Codec.H265)):
            if codec in (Codec.VP9, Codec.VP8) and track is None:
                track = Track(VIDEO_TRACK_ID, codec, _MS)
                self._set_track(track, out)
            else:
                self.dropped += 1
                return
        data = v.data
        nals: tuple[bytes, ...]
        if track.codec.uses_nal_units:
            if is_annexb(data, self._length_size):
                nals = tuple(split_annexb(data))  # QUIRKS: Annex B instead of AVCC
            else:
                nals = tuple(split_avcc(data, self._length_size))
            if not nals:
                return
        else:
            nals = (data,)
        dts = self._time(VIDEO_TRACK_ID, timestamp)
        out.append(Frame(VIDEO_TRACK_ID, dts + v.composition_time, dts, nals, v.keyframe))

    # ------------------------------------------------------------------------------------ audio

    def _audio(self, timestamp: int, body: bytes) -> list[Track | Frame]:
        out: list[Track | Frame] = []
        if not body:
            return out  # an empty audio message is "silence" (Enhanced RTMP), not a frame
        for a in parse_audio(body):
            if a.track_id != 0:
                self.ignored += 1
                continue
            if a.sound_format == SoundFormat.EX_HEADER:
                self._ex_audio(timestamp, a, out)
            else:
                self._legacy_audio(timestamp, a, out)
        return out

    def _audio_frame(self, timestamp: int, data: bytes, out: list[Track | Frame]) -> None:
        if data:
            t = self._time(AUDIO_TRACK_ID, timestamp)
            out.append(Frame(AUDIO_TRACK_ID, t, t, data, True))

    def _aac_config(self, data: bytes, out: list[Track | Frame]) -> None:
        asc = AudioSpecificConfig.parse(data)
        track = Track(
            AUDIO_TRACK_ID, Codec.AAC, _MS, config=data, sample_rate=asc.output_sample_rate, channels=asc.channels
        )
        self._set_track(track, out)

    def _frame_for(self, codec: Codec, timestamp: int, data: bytes, out: list[Track | Frame]) -> None:
        track = self.tracks.get(AUDIO_TRACK_ID)
        if track is None or track.codec is not codec:
            self.dropped += 1
            return
        self._audio_frame(timestamp, data, out)

    def _legacy_audio(self, timestamp: int, a: AudioData, out: list[Track | Frame]) -> None:
        fmt = a.sound_format
        if fmt == SoundFormat.AAC:
            if a.packet_type == AacPacketType.SEQUENCE_HEADER:
                self._aac_config(a.data, out)
            else:
                self._frame_for(Codec.AAC, timestamp, a.data, out)
            return
        channels = 2 if a.sound_type else 1
        if fmt in (SoundFormat.MP3, SoundFormat.MP3_8K):
            rate = 8000 if fmt == SoundFormat.MP3_8K else _SOUND_RATES[a.sound_rate]
            self._set_track(Track(AUDIO_TRACK_ID, Codec.MP3, _MS, sample_rate=rate, channels=channels), out)
        elif fmt in (SoundFormat.G711_A_LAW, SoundFormat.G711_MU_LAW):
            codec = Codec.PCMA if fmt == SoundFormat.G711_A_LAW else Codec.PCMU
            self._set_track(Track(AUDIO_TRACK_ID, codec, _MS, sample_rate=8000, channels=channels), out)
        else:
            self.ignored += 1
            return
        self._audio_frame(timestamp, a.data, out)

    def _ex_audio(self, timestamp: int, a: AudioData, out: list[Track | Frame]) -> None:
        codec = _AUDIO_FOURCC_CODECS.get(a.fourcc)
        if codec is None:
            self.ignored += 1
            return
        if a.packet_type == AudioPacketType.SEQUENCE_START:
            if codec is Codec.AAC:
                self._aac_config(a.data, out)
            elif codec is Codec.OPUS:
                head = a.data
                channels = head[9] if len(head) >= 19 and head.startswith(b"OpusHead") else 2
                self._set_track(Track(AUDIO_TRACK_ID, codec, _MS, config=head,
                                      sample_rate=48000, channels=channels), out)
            elif codec is Codec.FLAC:
                self._set_track(_flac_track(a.data), out)
            else:
                self._set_track(Track(AUDIO_TRACK_ID, codec, _MS, config=a.data), out)
        elif a.packet_type == AudioPacketType.CODED_FRAMES:
            if codec in (Codec.AC3, Codec.EAC3, Codec.MP3) and (
                self.tracks.get(AUDIO_TRACK_ID) is None or self.tracks[AUDIO_TRACK_ID].codec is not codec
            ):
                self._set_track(Track(AUDIO_TRACK_ID, codec, _MS), out)
            self._frame_for(codec, timestamp, a.data, out)


def _flac_track(data: bytes) -> Track:
    """FLAC's SequenceStart: ``fLaC`` then the STREAMINFO metadata block (sample rate, channels)."""
    rate = channels = 0
    if len(data) >= 8 + 13 and data.startswith(b"fLaC"):
        si = data[8:]
        rate = si[10] << 12 | si[11] << 4 | si[12] >> 4
        channels = ((si[12] >> 1) & 7) + 1
    return Track(AUDIO_TRACK_ID, Codec.FLAC, _MS, config=data, sample_rate=rate, channels=channels)


class MediaTagEncoder:
    """Turns tracks and frames into audio and video tag bodies (for FLV files and RTMP messages).

    :param tracks: the tracks of the stream (at most one video and one audio track).
    :param enhanced: write H.264 and AAC with Enhanced RTMP headers (``avc1``, ``mp4a``) too;
        H.265 and Opus always use them (unless ``legacy_hevc``).
    :param legacy_hevc: write H.265 with the legacy CDN extension CodecID 12 instead of ``hvc1``.
    """

    __slots__ = ("tracks", "enhanced", "legacy_hevc", "_video", "_audio")

    def __init__(self, tracks: Sequence[Track], enhanced: bool = False, *, legacy_hevc: bool = False) -> None:
        self.tracks = {t.id: t for t in tracks}
        self.enhanced = enhanced
        self.legacy_hevc = legacy_hevc
        self._video: Track | None = None
        self._audio: Track | None = None
        for t in tracks:
            if t.codec.is_video:
                if self._video is not None:
                    raise LocalProtocolError("MediaTagEncoder carries one video track")
                self._video = t
            else:
                if self._audio is not None:
                    raise LocalProtocolError("MediaTagEncoder carries one audio track")
                self._audio = t
            if t.codec not in _ENCODABLE:
                raise LocalProtocolError(f"MediaTagEncoder cannot write {t.codec.value}")

    def sequence_headers(self) -> list[tuple[int, int, bytes]]:
        """The sequence header tags ``(tag_type, 0, body)``: video first, then audio."""
        out: list[tuple[int, int, bytes]] = []
        v = self._video
        if v is not None and v.codec in (Codec.H264, Codec.H265, Codec.AV1, Codec.VP9):
            out.append((TAG_VIDEO, 0, self._video_body(v, VideoFrameType.KEY_FRAME, True, v.config or _record(v), 0)))
        a = self._audio
        if a is not None and a.codec in (Codec.AAC, Codec.OPUS, Codec.FLAC):
            config = a.config
            if a.codec is Codec.OPUS and not config:
                config = opus_head(a.channels if a.channels in (1, 2) else 2, a.sample_rate or 48000)
            out.append((TAG_AUDIO, 0, self._audio_body(a, True, config)))
        return out

    def encode(self, frame: Frame) -> tuple[int, int, bytes]:
        """One frame as ``(tag_type, timestamp in ms, body)``."""
        track = self.tracks.get(frame.track_id)
        if track is None:
            raise LocalProtocolError(f"frame of unknown track {frame.track_id}")
        dts = rescale(frame.dts, track.clock_rate, _MS)
        if track.codec.is_video:
            cts = rescale(frame.pts, track.clock_rate, _MS) - dts
            frame_type = VideoFrameType.KEY_FRAME if frame.keyframe else VideoFrameType.INTER_FRAME
            data = frame.data
            if track.codec.uses_nal_units:
                payload = b"".join(len(n).to_bytes(4, "big") + n for n in frame.nal_units)
            else:
                payload = data if isinstance(data, bytes) else b"".join(data)
            return TAG_VIDEO, dts, self._video_body(track, frame_type, False, payload, cts)
        return TAG_AUDIO, dts, self._audio_body(track, False, frame.payload)

    def _video_body(self, track: Track, frame_type: int, header: bool, payload: bytes, cts: int) -> bytes:
        codec = track.codec
        legacy_id = {Codec.H264: VideoCodecId.AVC, Codec.H265: VideoCodecId.HEVC}.get(codec)
        if legacy_id is not None and (codec is Codec.H264 and not self.enhanced or codec is Codec.H265 and self.legacy_hevc):
            avc_packet = AvcPacketType.SEQUENCE_HEADER if header else AvcPacketType.NALU
            return build_video([VideoData(frame_type, legacy_id, avc_packet, payload, cts)])
        fourcc = {Codec.H264: VideoFourCC.AVC, Codec.H265: VideoFourCC.HEVC, Codec.AV1: VideoFourCC.AV1,
                  Codec.VP9: VideoFourCC.VP9, Codec.VP8: VideoFourCC.VP8}[codec]
        if header:
            packet = VideoPacketType.SEQUENCE_START
        elif cts == 0 and codec in (Codec.H264, Codec.H265):
            packet = VideoPacketType.CODED_FRAMES_X
        else:
            packet = VideoPacketType.CODED_FRAMES
        return build_video([VideoData(frame_type, 0, packet, payload, cts, fourcc)])

    def _audio_body(self, track: Track, header: bool, payload: bytes) -> bytes:
        codec = track.codec
        stereo = 1 if track.channels != 1 else 0
        if codec is Codec.AAC and not self.enhanced:
            aac_packet = AacPacketType.SEQUENCE_HEADER if header else AacPacketType.RAW
            return build_audio([AudioData(SoundFormat.AAC, aac_packet, payload, 3, 1, 1)])
        if codec is Codec.MP3:
            rate = {44100: 3, 22050: 2, 11025: 1, 5512: 0}.get(track.sample_rate, 3)
            return build_audio([AudioData(SoundFormat.MP3, 1, payload, rate, 1, stereo)])
        if codec in (Codec.PCMA, Codec.PCMU):
            fmt = SoundFormat.G711_A_LAW if codec is Codec.PCMA else SoundFormat.G711_MU_LAW
            return build_audio([AudioData(fmt, 1, payload, 0, 1, stereo)])
        fourcc = {Codec.AAC: AudioFourCC.AAC, Codec.OPUS: AudioFourCC.OPUS, Codec.AC3: AudioFourCC.AC3,
                  Codec.EAC3: AudioFourCC.EAC3, Codec.FLAC: AudioFourCC.FLAC}[codec]
        packet = AudioPacketType.SEQUENCE_START if header else AudioPacketType.CODED_FRAMES
        return build_audio([AudioData(SoundFormat.EX_HEADER, packet, payload, 0, 0, 0, fourcc)])


_ENCODABLE = frozenset({Codec.H264, Codec.H265, Codec.AV1, Codec.VP9, Codec.VP8, Codec.AAC, Codec.OPUS,
                        Codec.MP3, Codec.PCMA, Codec.PCMU, Codec.AC3, Codec.EAC3, Codec.FLAC})


def _record(track: Track) -> bytes:
    """The decoder configuration record of an H.264/H.265 track built from its parameter sets."""
    sets = track.parameter_sets
    if track.codec is Codec.H264:
        sps = [s for s in sets if s and s[0] & 0x1F == 7]
        pps = [s for s in sets if s and s[0] & 0x1F == 8]
        if not sps:
            raise LocalProtocolError(f"H.264 track {track.id} has no SPS in parameter_sets")
        return AVCDecoderConfigurationRecord.from_parameter_sets(sps, pps).to_bytes()
    if track.codec is Codec.H265:
        by_type: dict[int, list[bytes]] = {32: [], 33: [], 34: []}
        for s in sets:
            if s:
                by_type.setdefault((s[0] >> 1) & 0x3F, []).append(s)
        if not by_type[33]:
            raise LocalProtocolError(f"H.265 track {track.id} has no SPS in parameter_sets")
        return HEVCDecoderConfigurationRecord.from_parameter_sets(by_type[32], by_type[33], by_type[34]).to_bytes()
    return track.config

