"""The sample description box ``stsd`` and the sample entries fragmented MP4 carries: ``avc1`` /
``avc3`` with ``avcC``, ``hvc1`` / ``hev1`` with ``hvcC`` (ISO/IEC 14496-15), ``mp4a`` with
``esds`` (ISO/IEC 14496-14 and the ES_Descriptor of 14496-1), and ``Opus`` with ``dOps``
("Encapsulation of Opus in ISO Base Media File Format").

The decoder configuration boxes keep their payload as bytes (so they write back byte for byte)
and check it when parsed, with the records of :mod:`mediaproto.codecs`:
:class:`~mediaproto.codecs.h264.AVCDecoderConfigurationRecord`,
:class:`~mediaproto.codecs.h265.HEVCDecoderConfigurationRecord`,
:class:`~mediaproto.codecs.aac.AudioSpecificConfig` (inside the ``esds`` descriptors) and
:class:`~mediaproto.codecs.opus.OpusHead` (which ``dOps`` converts to and from).
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from ..codecs.avc_config import AVCDecoderConfigurationRecord
from ..codecs.hevc_config import HEVCDecoderConfigurationRecord
from ..codecs.opus import OpusHead
from ..errors import LocalProtocolError, ParseError, ProtocolError
from .box import Box, Reader, register

__all__ = [
    "SampleDescriptionBox", "VisualSampleEntry", "AudioSampleEntry", "AVCConfigurationBox",
    "HEVCConfigurationBox", "ESDBox", "EsDescriptor", "OpusSpecificBox", "VISUAL_FORMATS", "AUDIO_FORMATS",
]

#: Sample entry types read as :class:`VisualSampleEntry`.
VISUAL_FORMATS = frozenset({b"avc1", b"avc3", b"hvc1", b"hev1"})
#: Sample entry types read as :class:`AudioSampleEntry`.
AUDIO_FORMATS = frozenset({b"mp4a", b"Opus"})

_COMPRESSOR = bytes(32)


def _first(children: tuple[Box, ...], kind: type[Box]) -> Box | None:
    return next((c for c in children if isinstance(c, kind)), None)


@dataclass(frozen=True, slots=True)
class SampleDescriptionBox(Box):
    """``stsd``: the sample ``entries`` (one per sample description index, 1-based)."""

    box_type = b"stsd"
    entries: tuple[Box, ...] = ()
    version: int = 0
    flags: int = 0

    def child_boxes(self) -> tuple[Box, ...]:
        return self.entries

    def payload(self) -> bytes:
        return struct.pack(">II", self.version << 24 | self.flags, len(self.entries)) + b"".join(
            e.to_bytes() for e in self.entries)


@register(b"stsd")
def _parse_stsd(r: Reader) -> Box:
    version, flags = r.full_header("stsd")
    at = r.offset
    count = r.count("stsd entry_count", r.limits.max_entries, 8)
    entries = r.children()
    r.done()
    if len(entries) != count:
        raise ParseError(f"stsd entry_count {count} but {len(entries)} sample entries follow", offset=at)
    return SampleDescriptionBox(entries, version, flags)


@dataclass(frozen=True, slots=True)
class VisualSampleEntry(Box):
    """A video sample entry (``avc1``, ``avc3``, ``hvc1``, ``hev1``): ``width``, ``height`` and
    the child boxes (``avcC`` or ``hvcC``, and ``pasp``, ``colr``, ``btrt`` kept raw).

    :param format: the entry's four-byte type.
    """

    format: bytes
    width: int
    height: int
    children: tuple[Box, ...] = ()
    data_reference_index: int = 1
    horizresolution: int = 0x00480000
    vertresolution: int = 0x00480000
    frame_count: int = 1
    compressorname: bytes = _COMPRESSOR
    depth: int = 0x0018

    @property
    def type_bytes(self) -> bytes:
        return self.format

    def child_boxes(self) -> tuple[Box, ...]:
        return self.children

    @property
    def avcc(self) -> AVCConfigurationBox | None:
        """The ``avcC`` child, if any."""
        box = _first(self.children, AVCConfigurationBox)
        return box if isinstance(box, AVCConfigurationBox) else None

    @property
    def hvcc(self) -> HEVCConfigurationBox | None:
        """The ``hvcC`` child, if any."""
        box = _first(self.children, HEVCConfigurationBox)
        return box if isinstance(box, HEVCConfigurationBox) else None

    def payload(self) -> bytes:
        if len(self.compressorname) != 32:
            raise LocalProtocolError("compressorname must be 32 bytes")
        try:
            head = struct.pack(">6xH16xHHIIIH", self.data_reference_index, self.width, self.height,
                               self.horizresolution, self.vertresolution, 0, self.frame_count)
            tail = struct.pack(">Hh", self.depth, -1)
        except struct.error as exc:
            raise LocalProtocolError(f"sample entry field out of range: {exc}") from None
        return head + self.compressorname + tail + b"".join(c.to_bytes() for c in self.children)


def _parse_visual(fmt: bytes, r: Reader) -> Box:
    r.take(6, "reserved")
    dri = r.u16("data_reference_index")
    r.take(16, "pre_defined and reserved")
    width, height = r.u16("width"), r.u16("height")
    hres, vres = r.u32("horizresolution"), r.u32("vertresolution")
    r.u32("reserved")
    frame_count = r.u16("frame_count")
    name = r.take(32, "compressorname")
    depth = r.u16("depth")
    r.u16("pre_defined")
    children = r.children()
    r.done()
    return VisualSampleEntry(fmt, width, height, children, dri, hres, vres, frame_count, name, depth)


@dataclass(frozen=True, slots=True)
class AudioSampleEntry(Box):
    """An audio sample entry (``mp4a``, ``Opus``): ``channelcount``, ``samplesize``,
    ``samplerate`` (16.16 fixed point: the rate in Hz shifted left 16) and the child boxes
    (``esds`` or ``dOps``; ``btrt`` kept raw).

    :param format: the entry's four-byte type.
    :param sound_version: the QuickTime sound description version in the first reserved field
        (0 in ISO files; 1 and 2 add 16 and 36 bytes, kept as ``sound_extension``).
    """

    format: bytes
    channelcount: int
    samplerate: int
    children: tuple[Box, ...] = ()
    samplesize: int = 16
    data_reference_index: int = 1
    sound_version: int = 0
    sound_extension: bytes = b""

    @property
    def type_bytes(self) -> bytes:
        return self.format

    def child_boxes(self) -> tuple[Box, ...]:
        return self.children

    @property
    def sample_rate(self) -> int:
        """``samplerate`` in Hz (its integer part)."""
        return self.samplerate >> 16

    @property
    def esds(self) -> ESDBox | None:
        """The ``esds`` child, if any."""
        box = _first(self.children, ESDBox)
        return box if isinstance(box, ESDBox) else None

    @property
    def dops(self) -> OpusSpecificBox | None:
        """The ``dOps`` child, if any."""
        box = _first(self.children, OpusSpecificBox)
        return box if isinstance(box, OpusSpecificBox) else None

    def payload(self) -> bytes:
        try:
            head = struct.pack(">6xHH6xHH4xI", self.data_reference_index, self.sound_version, self.channelcount,
                               self.samplesize, self.samplerate)
        except struct.error as exc:
            raise LocalProtocolError(f"sample entry field out of range: {exc}") from None
        return head + self.sound_extension + b"".join(c.to_bytes() for c in self.children)


def _parse_audio(fmt: bytes, r: Reader) -> Box:
    r.take(6, "reserved")
    dri = r.u16("data_reference_index")
    version = r.u16("version")
    r.take(6, "reserved")
    channels, size = r.u16("channelcount"), r.u16("samplesize")
    r.take(4, "pre_defined and reserved")
    rate = r.u32("samplerate")
    extension = r.take({1: 16, 2: 36}.get(version, 0), "QuickTime sound description")
    children = r.children()
    r.done()
    return AudioSampleEntry(fmt, channels, rate, children, size, dri, version, extension)


def _register_entries() -> None:
    for fmt in VISUAL_FORMATS:
        register(fmt)(functools.partial(_parse_visual, fmt))
    for fmt in AUDIO_FORMATS:
        register(fmt)(functools.partial(_parse_audio, fmt))


_register_entries()


def _checked(parse: object, r: Reader, what: str) -> bytes:
    at = r.offset
    data = r.rest()
    try:
        parse(data)  # type: ignore[operator]
    except ProtocolError as exc:
        raise type(exc)(f"{what}: {exc.message}", offset=at + (exc.offset or 0)) from None
    return data


@dataclass(frozen=True, slots=True)
class AVCConfigurationBox(Box):
    """``avcC``: an AVCDecoderConfigurationRecord, kept as ``data`` bytes."""

    box_type = b"avcC"
    data: bytes

    @property
    def record(self) -> AVCDecoderConfigurationRecord:
        """The parsed record."""
        return AVCDecoderConfigurationRecord.parse(self.data)

    @classmethod
    def from_record(cls, record: AVCDecoderConfigurationRecord) -> AVCConfigurationBox:
        return cls(record.to_bytes())

    def payload(self) -> bytes:
        return self.data


@register(b"avcC")
def _parse_avcc(r: Reader) -> Box:
    return AVCConfigurationBox(_checked(AVCDecoderConfigurationRecord.parse, r, "avcC"))


@dataclass(frozen=True, slots=True)
class HEVCConfigurationBox(Box):
    """``hvcC``: an HEVCDecoderConfigurationRecord, kept as ``data`` bytes."""

    box_type = b"hvcC"
    data: bytes

    @property
    def record(self) -> HEVCDecoderConfigurationRecord:
        """The parsed record."""
        return HEVCDecoderConfigurationRecord.parse(self.data)

    @classmethod
    def from_record(cls, record: HEVCDecoderConfigurationRecord) -> HEVCConfigurationBox:
        return cls(record.to_bytes())

    def payload(self) -> bytes:
        return self.data


@register(b"hvcC")
def _parse_hvcc(r: Reader) -> Box:
    return HEVCConfigurationBox(_checked(HEVCDecoderConfigurationRecord.parse, r, "hvcC"))


@dataclass(frozen=True, slots=True)
class EsDescriptor:
    """The fields of an ``ES_Descriptor`` (ISO/IEC 14496-1 7.2.6.5) and its
    ``DecoderConfigDescriptor`` that MP4 audio needs.

    :param object_type_indication: 0x40 for MPEG-4 audio (AAC), 0x6B for MP3.
    :param stream_type: 5 for audio, 4 for visual.
    :param decoder_specific_info: the ``DecoderSpecificInfo`` bytes (the AudioSpecificConfig).
    """

    es_id: int = 0
    object_type_indication: int = 0x40
    stream_type: int = 5
    decoder_specific_info: bytes = b""
    buffer_size_db: int = 0
    max_bitrate: int = 0
    avg_bitrate: int = 0
    stream_priority: int = 0
    up_stream: int = 0

    def to_bytes(self) -> bytes:
        """The ES_Descriptor with its DecoderConfigDescriptor, DecoderSpecificInfo (when not empty)
        and an SLConfigDescriptor (predefined 2), lengths in their shortest form."""
        try:
            dsi = _descriptor(0x05, self.decoder_specific_info) if self.decoder_specific_info else b""
            dcd = _descriptor(0x04, struct.pack(
                ">BB", self.object_type_indication, self.stream_type << 2 | self.up_stream << 1 | 1)
                + self.buffer_size_db.to_bytes(3, "big") + struct.pack(">II", self.max_bitrate, self.avg_bitrate)
                + dsi)
            es = struct.pack(">HB", self.es_id, self.stream_priority & 0x1F) + dcd + _descriptor(0x06, b"\x02")
        except (struct.error, OverflowError) as exc:
            raise LocalProtocolError(f"ES_Descriptor field out of range: {exc}") from None
        return _descriptor(0x03, es)


def _descriptor(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n >= 1 << 28:
        raise LocalProtocolError("descriptor too long")
    size = [n & 0x7F]
    n >>= 7
    while n:
        size.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes([tag] + size[::-1]) + body


def _read_descriptor(r: Reader) -> tuple[int, int, int]:
    """Tag, start and end of the next descriptor's body."""
    tag = r.u8("descriptor tag")
    size = 0
    for _ in range(4):
        b = r.u8("descriptor size")
        size = size << 7 | (b & 0x7F)
        if not b & 0x80:
            break
    else:
        raise ParseError("descriptor size longer than 4 bytes", offset=r.offset - 1)
    r.need(size, f"descriptor 0x{tag:02x}")
    return tag, r.pos, r.pos + size


def _parse_es_descriptor(r: Reader) -> EsDescriptor:
    tag, _, end = _read_descriptor(r)
    if tag != 0x03:
        raise ParseError(f"esds holds descriptor tag 0x{tag:02x}, not an ES_Descriptor (0x03)", offset=r.offset)
    es = Reader(r.data, r.pos, end, base=r.base, limits=r.limits)
    es_id = es.u16("ES_ID")
    flags = es.u8("ES_Descriptor flags")
    if flags & 0x80:
        es.u16("dependsOn_ES_ID")
    if flags & 0x40:
        es.take(es.u8("URLlength"), "URLstring")
    if flags & 0x20:
        es.u16("OCR_ES_Id")
    found: EsDescriptor | None = None
    while es.left:
        sub, start, sub_end = _read_descriptor(es)
        if sub == 0x04 and found is None:
            d = Reader(es.data, start, sub_end, base=es.base)
            oti, st = d.u8("objectTypeIndication"), d.u8("streamType")
            buffer_size, max_bitrate, avg_bitrate = d.u24("bufferSizeDB"), d.u32("maxBitrate"), d.u32("avgBitrate")
            dsi = b""
            while d.left:
                t, s, e = _read_descriptor(d)
                if t == 0x05 and not dsi:
                    dsi = d.data[s:e]
                d.pos = e
            found = EsDescriptor(es_id, oti, st >> 2, dsi, buffer_size, max_bitrate, avg_bitrate, flags & 0x1F,
                                 (st >> 1) & 1)
        es.pos = sub_end
    if found is None:
        raise ParseError("ES_Descriptor without a DecoderConfigDescriptor", offset=r.offset)
    r.pos = end
    return found


@dataclass(frozen=True, slots=True)
class ESDBox(Box):
    """``esds``: an ES_Descriptor, kept as ``data`` bytes (writers differ in how they encode
    descriptor lengths); :attr:`descriptor` reads its fields."""

    box_type = b"esds"
    data: bytes
    version: int = 0
    flags: int = 0

    @property
    def descriptor(self) -> EsDescriptor:
        """The parsed ES_Descriptor."""
        return _parse_es_descriptor(Reader(self.data, 0, len(self.data)))

    @classmethod
    def from_descriptor(cls, descriptor: EsDescriptor) -> ESDBox:
        return cls(descriptor.to_bytes())

    def payload(self) -> bytes:
        return struct.pack(">I", self.version << 24 | self.flags) + self.data


@register(b"esds")
def _parse_esds(r: Reader) -> Box:
    version, flags = r.full_header("esds")
    start = r.pos
    _parse_es_descriptor(Reader(r.data, start, r.end, base=r.base, limits=r.limits))
    return ESDBox(r.rest(), version, flags)


@dataclass(frozen=True, slots=True)
class OpusSpecificBox(Box):
    """``dOps``: the OpusHead fields, big-endian, without the magic (``output_gain`` is Q7.8 dB;
    ``channel_mapping`` is present for mapping families other than 0)."""

    box_type = b"dOps"
    output_channel_count: int = 2
    pre_skip: int = 0
    input_sample_rate: int = 48000
    output_gain: int = 0
    channel_mapping_family: int = 0
    stream_count: int = 1
    coupled_count: int = 1
    channel_mapping: bytes = b""
    version: int = 0

    def to_opus_head(self) -> OpusHead:
        """The equivalent :class:`~mediaproto.codecs.opus.OpusHead`."""
        if self.channel_mapping_family == 0:
            return OpusHead(self.output_channel_count, self.pre_skip, self.input_sample_rate, self.output_gain,
                            0, 1, self.output_channel_count - 1, b"")
        return OpusHead(self.output_channel_count, self.pre_skip, self.input_sample_rate, self.output_gain,
                        self.channel_mapping_family, self.stream_count, self.coupled_count, self.channel_mapping)

    @classmethod
    def from_opus_head(cls, head: OpusHead) -> OpusSpecificBox:
        return cls(head.channel_count, head.pre_skip, head.input_sample_rate, head.output_gain,
                   head.channel_mapping_family, head.stream_count, head.coupled_count, head.channel_mapping)

    def payload(self) -> bytes:
        try:
            out = struct.pack(">BBHIhB", self.version, self.output_channel_count, self.pre_skip,
                              self.input_sample_rate, self.output_gain, self.channel_mapping_family)
            if self.channel_mapping_family == 0:
                return out
            if len(self.channel_mapping) != self.output_channel_count:
                raise LocalProtocolError("channel_mapping must have one entry per output channel")
            return out + struct.pack(">BB", self.stream_count, self.coupled_count) + self.channel_mapping
        except struct.error as exc:
            raise LocalProtocolError(f"dOps field out of range: {exc}") from None


@register(b"dOps")
def _parse_dops(r: Reader) -> Box:
    at = r.offset
    version, channels, pre_skip = r.u8("Version"), r.u8("OutputChannelCount"), r.u16("PreSkip")
    rate, gain, family = r.u32("InputSampleRate"), r.s16("OutputGain"), r.u8("ChannelMappingFamily")
    if version != 0:
        raise ParseError(f"dOps Version {version} is not 0", offset=at)
    if channels == 0:
        raise ParseError("dOps with 0 output channels", offset=at + 1)
    if family == 0:
        if channels > 2:
            raise ParseError(f"dOps mapping family 0 with {channels} channels", offset=at + 1)
        return OpusSpecificBox(channels, pre_skip, rate, gain, 0, 1, channels - 1, b"", version)
    streams, coupled = r.u8("StreamCount"), r.u8("CoupledCount")
    mapping = r.take(channels, "ChannelMapping")
    box = OpusSpecificBox(channels, pre_skip, rate, gain, family, streams, coupled, mapping, version)
    try:
        OpusHead.parse(box.to_opus_head().to_bytes())
    except ProtocolError as exc:
        raise ParseError(f"dOps: {exc.message}", offset=at) from None
    except LocalProtocolError as exc:
        raise ParseError(f"dOps: {exc}", offset=at) from None
    return box
