"""The init segment of fragmented MP4: ``ftyp`` + ``moov`` built from
:class:`~mediaproto.media.Track` values, and tracks read back from a ``moov``.

:func:`build_init_segment` writes, per track, ``trak`` (``tkhd``, ``mdia`` with ``mdhd``, ``hdlr``,
``minf`` with ``vmhd``/``smhd``, ``dinf``/``dref``, and ``stbl`` with the sample entry and empty
``stts``/``stsc``/``stsz``/``stco``) and a ``trex`` in ``mvex``. Each track's media timescale is its
``clock_rate``, so frame timestamps go into the fragments unscaled. MP4 track ids start at 1, so the
tracks are numbered 1, 2, ... in the order given (:class:`~mediaproto.mp4.fragmenter.Fragmenter`
keeps the mapping from :attr:`Track.id`).

:func:`read_tracks` reads H.264 (``avc1``/``avc3``), H.265 (``hvc1``/``hev1``), AAC (``mp4a`` with
object type 0x40, 0x66-0x68) and Opus (``Opus``) tracks; tracks of other sample entries are
skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..clock import rescale
from ..codecs.aac_config import AudioSpecificConfig
from ..codecs.avc_config import AVCDecoderConfigurationRecord
from ..codecs.h264_sps import parse_sps as parse_h264_sps
from ..codecs.h265_sps import parse_sps as parse_h265_sps
from ..codecs.hevc_config import HEVCDecoderConfigurationRecord
from ..codecs.opus import OpusHead
from ..errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from ..media import Codec, Track
from .box import Box, ContainerBox, Limits, parse_boxes
from .fragment import SYNC_SAMPLE_FLAGS
from .movie import (
    ChunkOffsetBox,
    DataReferenceBox,
    EditListBox,
    FileTypeBox,
    HandlerBox,
    MediaHeaderBox,
    MovieHeaderBox,
    SampleSizeBox,
    SampleToChunkBox,
    SoundMediaHeaderBox,
    TimeToSampleBox,
    TrackExtendsBox,
    TrackHeaderBox,
    VideoMediaHeaderBox,
)
from .sample_entry import (
    AudioSampleEntry,
    AVCConfigurationBox,
    EsDescriptor,
    ESDBox,
    HEVCConfigurationBox,
    OpusSpecificBox,
    SampleDescriptionBox,
    VisualSampleEntry,
)

__all__ = ["build_init_segment", "build_moov", "sample_entry", "read_tracks", "parse_init_segment", "Mp4Track",
           "edit_offset", "SUPPORTED_CODECS"]

#: Codecs the init segment and the fragmenter support.
SUPPORTED_CODECS = frozenset({Codec.H264, Codec.H265, Codec.AAC, Codec.OPUS})

_AAC_OBJECT_TYPES = frozenset({0x40, 0x66, 0x67, 0x68})


def _nal_sets(track: Track) -> dict[int, list[bytes]]:
    sets: dict[int, list[bytes]] = {}
    for nal in track.parameter_sets:
        if not nal:
            continue
        kind = nal[0] & 0x1F if track.codec is Codec.H264 else (nal[0] >> 1) & 0x3F
        sets.setdefault(kind, []).append(bytes(nal))
    return sets


def sample_entry(track: Track) -> Box:
    """The sample entry of ``track`` (``avc1``, ``hvc1``, ``mp4a`` or ``Opus``). Raises
    :class:`~mediaproto.errors.LocalProtocolError` when the track lacks what the entry needs
    (SPS/PPS, an AudioSpecificConfig) or its codec is not supported."""
    codec = track.codec
    try:
        if codec is Codec.H264:
            sets = _nal_sets(track)
            if not sets.get(7) or not sets.get(8):
                raise LocalProtocolError(f"H.264 track {track.id} needs its SPS and PPS in parameter_sets")
            avc = AVCDecoderConfigurationRecord.from_parameter_sets(sets[7], sets[8])
            width, height = track.width, track.height
            if not (width and height):
                info = parse_h264_sps(sets[7][0])
                width, height = info.width, info.height
            return VisualSampleEntry(b"avc1", width, height, (AVCConfigurationBox.from_record(avc),))
        if codec is Codec.H265:
            sets = _nal_sets(track)
            if not sets.get(33) or not sets.get(34):
                raise LocalProtocolError(f"H.265 track {track.id} needs its SPS and PPS in parameter_sets")
            hevc = HEVCDecoderConfigurationRecord.from_parameter_sets(sets.get(32, []), sets[33], sets[34])
            width, height = track.width, track.height
            if not (width and height):
                info265 = parse_h265_sps(sets[33][0])
                width, height = info265.width, info265.height
            return VisualSampleEntry(b"hvc1", width, height, (HEVCConfigurationBox.from_record(hevc),))
        if codec is Codec.AAC:
            if not track.config:
                raise LocalProtocolError(f"AAC track {track.id} needs its AudioSpecificConfig in config")
            asc = AudioSpecificConfig.parse(track.config)
            rate = track.sample_rate or asc.sample_rate
            channels = track.channels or asc.channels or 2
            esds = ESDBox.from_descriptor(EsDescriptor(decoder_specific_info=bytes(track.config)))
            return AudioSampleEntry(b"mp4a", channels, (rate << 16) if rate < 0x10000 else 0, (esds,))
        if codec is Codec.OPUS:
            head = OpusHead.parse(track.config) if track.config else OpusHead(
                channel_count=track.channels or 2, coupled_count=1 if (track.channels or 2) == 2 else 0)
            return AudioSampleEntry(b"Opus", head.channel_count, 48000 << 16, (OpusSpecificBox.from_opus_head(head),))
    except ProtocolError as exc:
        raise LocalProtocolError(f"track {track.id}: its configuration does not parse: {exc}") from None
    raise LocalProtocolError(f"track {track.id}: codec {codec.value} is not supported in MP4 here")


def _trak(track: Track, track_id: int) -> ContainerBox:
    video = track.codec.is_video
    entry = sample_entry(track)
    width = height = 0
    if isinstance(entry, VisualSampleEntry):
        width, height = entry.width << 16, entry.height << 16
    media_handler = (VideoMediaHeaderBox() if video else SoundMediaHeaderBox())
    stbl = ContainerBox(b"stbl", (SampleDescriptionBox((entry,)), TimeToSampleBox(), SampleToChunkBox(),
                                  SampleSizeBox(), ChunkOffsetBox()))
    minf = ContainerBox(b"minf", (media_handler, ContainerBox(b"dinf", (DataReferenceBox(),)), stbl))
    mdia = ContainerBox(b"mdia", (
        MediaHeaderBox(timescale=track.clock_rate),
        HandlerBox(b"vide" if video else b"soun", b"VideoHandler\x00" if video else b"SoundHandler\x00"),
        minf,
    ))
    tkhd = TrackHeaderBox(track_ID=track_id, width=width, height=height, volume=0 if video else 0x0100)
    return ContainerBox(b"trak", (tkhd, mdia))


def build_moov(tracks: Sequence[Track]) -> ContainerBox:
    """The ``moov`` of a fragmented movie of ``tracks`` (numbered 1, 2, ...)."""
    if not tracks:
        raise LocalProtocolError("an init segment needs at least one track")
    traks = [_trak(t, i + 1) for i, t in enumerate(tracks)]
    trex = [TrackExtendsBox(track_ID=i + 1, default_sample_flags=0 if t.codec.is_video else SYNC_SAMPLE_FLAGS)
            for i, t in enumerate(tracks)]
    mvhd = MovieHeaderBox(timescale=1000, next_track_ID=len(tracks) + 1)
    return ContainerBox(b"moov", (mvhd, *traks, ContainerBox(b"mvex", tuple(trex))))


def build_init_segment(tracks: Sequence[Track], *, major_brand: bytes = b"iso6",
                       compatible_brands: tuple[bytes, ...] | None = None) -> bytes:
    """``ftyp`` + ``moov`` for ``tracks``. The brands default to ``iso6`` and ``mp41``, plus
    ``cmfc`` (CMAF) for a single track (CMAF fragments hold one track each)."""
    if compatible_brands is None:
        compatible_brands = (b"iso6", b"mp41") + ((b"cmfc",) if len(tracks) == 1 else ())
    ftyp = FileTypeBox(major_brand, 0, compatible_brands)
    return ftyp.to_bytes() + build_moov(tracks).to_bytes()


@dataclass(frozen=True, slots=True)
class Mp4Track:
    """A track read from a ``moov``: the :class:`Track` (its ``id`` is the MP4 ``track_ID``), the
    NAL length size of its samples, its ``trex`` defaults (``None`` when ``mvex`` has none) and
    ``time_offset``, what its edit list adds to every timestamp (media timescale; see
    :func:`edit_offset`)."""

    track: Track
    length_size: int = 4
    trex: TrackExtendsBox | None = None
    time_offset: int = 0


def edit_offset(elst: EditListBox | None, movie_timescale: int, media_timescale: int) -> int:
    """The shift an edit list applies to a track's timestamps, as FFmpeg reads it: leading empty
    edits (``media_time`` -1) delay the track by their duration (movie timescale, rescaled with
    rounding to nearest), and the first real edit starts presentation at its ``media_time``. Edits
    after that (cuts, repeats, rate changes) are not applied."""
    if elst is None or movie_timescale <= 0:
        return 0
    delay = 0
    for segment_duration, media_time, _, _ in elst.entries:
        if media_time == -1:
            delay += segment_duration
            continue
        return rescale(delay, movie_timescale, media_timescale) - media_time
    return rescale(delay, movie_timescale, media_timescale)


def _track_of(trak: ContainerBox, limits: Limits) -> Mp4Track | None:
    tkhd = trak.first(TrackHeaderBox)
    mdia = trak.container(b"mdia")
    mdhd = mdia.first(MediaHeaderBox) if mdia else None
    minf = mdia.container(b"minf") if mdia else None
    stbl = minf.container(b"stbl") if minf else None
    stsd = stbl.first(SampleDescriptionBox) if stbl else None
    if tkhd is None or mdhd is None or stsd is None:
        raise ParseError("trak without tkhd, mdhd or stsd")
    if mdhd.timescale == 0:
        raise ParseError(f"track {tkhd.track_ID}: mdhd timescale 0")
    if not stsd.entries:
        return None
    entry = stsd.entries[0]
    tid, rate = tkhd.track_ID, mdhd.timescale
    if isinstance(entry, VisualSampleEntry):
        if entry.avcc is not None:
            avc = entry.avcc.record
            return Mp4Track(Track(tid, Codec.H264, rate, parameter_sets=avc.parameter_sets, width=entry.width,
                                  height=entry.height), avc.length_size)
        if entry.hvcc is not None:
            hevc = entry.hvcc.record
            return Mp4Track(Track(tid, Codec.H265, rate, parameter_sets=hevc.parameter_sets, width=entry.width,
                                  height=entry.height), hevc.length_size)
        return None
    if isinstance(entry, AudioSampleEntry):
        if entry.format == b"mp4a" and entry.esds is not None:
            es = entry.esds.descriptor
            if es.object_type_indication not in _AAC_OBJECT_TYPES or not es.decoder_specific_info:
                return None
            asc = AudioSpecificConfig.parse(es.decoder_specific_info)
            return Mp4Track(Track(tid, Codec.AAC, rate, config=es.decoder_specific_info,
                                  sample_rate=asc.sample_rate or entry.sample_rate,
                                  channels=asc.channels or entry.channelcount))
        if entry.format == b"Opus" and entry.dops is not None:
            head = entry.dops.to_opus_head()
            return Mp4Track(Track(tid, Codec.OPUS, rate, config=head.to_bytes(), sample_rate=48000,
                                  channels=head.channel_count))
    return None


def read_tracks(moov: ContainerBox, limits: Limits | None = None) -> list[Mp4Track]:
    """The supported tracks of ``moov``, with the ``trex`` of each. Raises
    :class:`~mediaproto.errors.ParseError` for a track that lacks its headers or whose decoder
    configuration does not parse, :class:`~mediaproto.errors.LimitExceeded` past ``max_tracks``."""
    limits = limits if limits is not None else Limits()
    traks = moov.containers(b"trak")
    if len(traks) > limits.max_tracks:
        raise LimitExceeded(f"{len(traks)} tracks exceed the limit of {limits.max_tracks}")
    mvex = moov.container(b"mvex")
    trex = {t.track_ID: t for t in mvex.all(TrackExtendsBox)} if mvex else {}
    mvhd = moov.first(MovieHeaderBox)
    movie_timescale = mvhd.timescale if mvhd else 0
    out = []
    seen = set()
    for trak in traks:
        found = _track_of(trak, limits)
        if found is None:
            continue
        edts = trak.container(b"edts")
        shift = edit_offset(edts.first(EditListBox) if edts else None, movie_timescale, found.track.clock_rate)
        tid = found.track.id
        if tid in seen or tid == 0:
            raise ParseError(f"track_ID {tid} is zero or repeated")
        seen.add(tid)
        out.append(Mp4Track(found.track, found.length_size, trex.get(tid), shift))
    return out


def parse_init_segment(data: bytes, limits: Limits | None = None) -> tuple[Track, ...]:
    """The tracks of an init segment (``ftyp`` + ``moov``; other top-level boxes are skipped)."""
    for box in parse_boxes(data, limits=limits):
        if isinstance(box, ContainerBox) and box.container_type == b"moov":
            return tuple(t.track for t in read_tracks(box, limits))
    raise ParseError("no moov box in the init segment", offset=len(data))
