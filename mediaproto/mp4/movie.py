"""The boxes of an init segment's movie header (ISO/IEC 14496-12): ``ftyp``/``styp``, ``mvhd``,
``tkhd``, ``mdhd``, ``hdlr``, ``vmhd``, ``smhd``, ``dref``/``url``, the (empty, in fragmented
files) sample tables ``stts``, ``stsc``, ``stsz``, ``stco``, ``elst``, and ``mehd``/``trex`` of
``mvex``. Field names are the standard's, in snake_case; FullBox ``version`` and ``flags`` are
fields of each box. Fixed-point fields keep their integer wire value (``rate`` 0x00010000 is 1.0).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from .box import Box, Reader, register

__all__ = [
    "FileTypeBox", "SegmentTypeBox", "MovieHeaderBox", "TrackHeaderBox", "MediaHeaderBox",
    "HandlerBox", "VideoMediaHeaderBox", "SoundMediaHeaderBox", "DataReferenceBox", "DataEntryUrlBox",
    "TimeToSampleBox", "SampleToChunkBox", "SampleSizeBox", "ChunkOffsetBox", "EditListBox",
    "MovieExtendsHeaderBox", "TrackExtendsBox", "UNITY_MATRIX", "language_code", "language_name",
]

#: The identity transformation matrix of ``mvhd`` and ``tkhd`` (16.16 and 2.30 fixed point).
UNITY_MATRIX = (0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)

_MATRIX = struct.Struct(">9i")


def _full(version: int, flags: int) -> bytes:
    if not (0 <= version <= 255 and 0 <= flags <= 0xFFFFFF):
        raise LocalProtocolError(f"FullBox version {version} / flags {flags:#x} out of range")
    return struct.pack(">I", version << 24 | flags)


def _pack(fmt: str, *values: int) -> bytes:
    try:
        return struct.pack(fmt, *values)
    except struct.error as exc:
        raise LocalProtocolError(f"box field out of range: {exc}") from None


def _uint(version: int, value: int) -> bytes:
    return _pack(">Q" if version == 1 else ">I", value)


def language_code(name: str) -> int:
    """The packed 15-bit ISO-639-2/T code of ``mdhd`` (``"und"`` is 0x55C4)."""
    if len(name) != 3 or not all("a" <= c <= "z" for c in name):
        raise LocalProtocolError(f"language must be three lowercase letters, not {name!r}")
    return sum((ord(c) - 0x60) << (10 - 5 * i) for i, c in enumerate(name))


def language_name(code: int) -> str:
    """The three letters of a packed ``mdhd`` language (any 5-bit value maps to a character)."""
    return "".join(chr(((code >> s) & 0x1F) + 0x60) for s in (10, 5, 0))


@dataclass(frozen=True, slots=True)
class FileTypeBox(Box):
    """``ftyp``: ``major_brand``, ``minor_version`` and ``compatible_brands`` (four bytes each)."""

    box_type = b"ftyp"
    major_brand: bytes = b"iso6"
    minor_version: int = 0
    compatible_brands: tuple[bytes, ...] = ()

    def payload(self) -> bytes:
        return _brands_payload(self.major_brand, self.minor_version, self.compatible_brands)


@dataclass(frozen=True, slots=True)
class SegmentTypeBox(Box):
    """``styp``: the same fields as ``ftyp``, at the start of a media segment."""

    box_type = b"styp"
    major_brand: bytes = b"msdh"
    minor_version: int = 0
    compatible_brands: tuple[bytes, ...] = ()

    def payload(self) -> bytes:
        return _brands_payload(self.major_brand, self.minor_version, self.compatible_brands)


def _brands_payload(major: bytes, minor: int, compatible: tuple[bytes, ...]) -> bytes:
    if any(len(b) != 4 for b in (major,) + compatible):
        raise LocalProtocolError("brands must be four bytes")
    return major + _pack(">I", minor) + b"".join(compatible)


def _brands(r: Reader) -> tuple[bytes, int, tuple[bytes, ...]]:
    major = r.take(4, "major_brand")
    minor = r.u32("minor_version")
    if r.left % 4:
        r.need(r.left + 4 - r.left % 4, "compatible_brands")
    return major, minor, tuple(r.take(4, "compatible brand") for _ in range(r.left // 4))


@register(b"ftyp")
def _parse_ftyp(r: Reader) -> Box:
    return FileTypeBox(*_brands(r))


@register(b"styp")
def _parse_styp(r: Reader) -> Box:
    return SegmentTypeBox(*_brands(r))


@dataclass(frozen=True, slots=True)
class MovieHeaderBox(Box):
    """``mvhd``: the movie's ``timescale`` and ``duration`` (0 in a fragmented file's init segment)
    and ``next_track_ID``."""

    box_type = b"mvhd"
    timescale: int = 1000
    duration: int = 0
    next_track_ID: int = 1  # noqa: N815 - the standard's name
    creation_time: int = 0
    modification_time: int = 0
    rate: int = 0x00010000
    volume: int = 0x0100
    matrix: tuple[int, ...] = UNITY_MATRIX
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        v = self.version
        return b"".join((
            _full(v, self.flags), _uint(v, self.creation_time), _uint(v, self.modification_time),
            _pack(">I", self.timescale), _uint(v, self.duration), _pack(">iH10x", self.rate, self.volume),
            _pack(">9i", *self.matrix), bytes(24), _pack(">I", self.next_track_ID),
        ))


@register(b"mvhd")
def _parse_mvhd(r: Reader) -> Box:
    version, flags = r.full_header("mvhd")
    creation = r.uint(version, "creation_time")
    modification = r.uint(version, "modification_time")
    timescale = r.u32("timescale")
    duration = r.uint(version, "duration")
    rate = r.s32("rate")
    volume = r.u16("volume")
    r.take(10, "reserved")
    matrix = _MATRIX.unpack(r.take(36, "matrix"))
    r.take(24, "pre_defined")
    return MovieHeaderBox(timescale, duration, r.u32("next_track_ID"), creation, modification, rate, volume,
                          matrix, version, flags)


@dataclass(frozen=True, slots=True)
class TrackHeaderBox(Box):
    """``tkhd``: ``track_ID``, ``width``/``height`` (16.16 fixed point), ``volume`` (0x0100 for
    audio); ``flags`` 3 is enabled and in movie."""

    box_type = b"tkhd"
    track_ID: int = 1  # noqa: N815
    duration: int = 0
    width: int = 0
    height: int = 0
    volume: int = 0
    layer: int = 0
    alternate_group: int = 0
    creation_time: int = 0
    modification_time: int = 0
    matrix: tuple[int, ...] = UNITY_MATRIX
    version: int = 0
    flags: int = 3

    def payload(self) -> bytes:
        v = self.version
        return b"".join((
            _full(v, self.flags), _uint(v, self.creation_time), _uint(v, self.modification_time),
            _pack(">I4x", self.track_ID), _uint(v, self.duration),
            _pack(">8xhhh2x", self.layer, self.alternate_group, self.volume), _pack(">9i", *self.matrix),
            _pack(">II", self.width, self.height),
        ))


@register(b"tkhd")
def _parse_tkhd(r: Reader) -> Box:
    version, flags = r.full_header("tkhd")
    creation = r.uint(version, "creation_time")
    modification = r.uint(version, "modification_time")
    track_id = r.u32("track_ID")
    r.take(4, "reserved")
    duration = r.uint(version, "duration")
    r.take(8, "reserved")
    layer, group, volume = r.s16("layer"), r.s16("alternate_group"), r.s16("volume")
    r.take(2, "reserved")
    matrix = _MATRIX.unpack(r.take(36, "matrix"))
    width, height = r.u32("width"), r.u32("height")
    return TrackHeaderBox(track_id, duration, width, height, volume, layer, group, creation, modification,
                          matrix, version, flags)


@dataclass(frozen=True, slots=True)
class MediaHeaderBox(Box):
    """``mdhd``: the track's ``timescale`` (ticks per second of its samples) and ``language``
    (the packed code; see :func:`language_code`)."""

    box_type = b"mdhd"
    timescale: int = 90000
    duration: int = 0
    language: int = 0x55C4
    creation_time: int = 0
    modification_time: int = 0
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        v = self.version
        return b"".join((
            _full(v, self.flags), _uint(v, self.creation_time), _uint(v, self.modification_time),
            _pack(">I", self.timescale), _uint(v, self.duration), _pack(">HH", self.language & 0x7FFF, 0),
        ))


@register(b"mdhd")
def _parse_mdhd(r: Reader) -> Box:
    version, flags = r.full_header("mdhd")
    creation = r.uint(version, "creation_time")
    modification = r.uint(version, "modification_time")
    timescale = r.u32("timescale")
    duration = r.uint(version, "duration")
    language = r.u16("language") & 0x7FFF
    r.u16("pre_defined")
    return MediaHeaderBox(timescale, duration, language, creation, modification, version, flags)


@dataclass(frozen=True, slots=True)
class HandlerBox(Box):
    """``hdlr``: ``handler_type`` (``vide``, ``soun``) and ``name``, kept as the bytes on the wire
    (a UTF-8 string with its NUL terminator, as the standard has it; QuickTime-style writers put a
    length byte first). :attr:`handler_name` decodes it."""

    box_type = b"hdlr"
    handler_type: bytes = b"vide"
    name: bytes = b"\x00"
    version: int = 0
    flags: int = 0

    @property
    def handler_name(self) -> str:
        """The name as text, up to the first NUL (invalid UTF-8 replaced)."""
        return self.name.split(b"\x00", 1)[0].decode("utf-8", "replace")

    def payload(self) -> bytes:
        if len(self.handler_type) != 4:
            raise LocalProtocolError("handler_type must be four bytes")
        return _full(self.version, self.flags) + bytes(4) + self.handler_type + bytes(12) + self.name


@register(b"hdlr")
def _parse_hdlr(r: Reader) -> Box:
    version, flags = r.full_header("hdlr")
    r.take(4, "pre_defined")
    handler_type = r.take(4, "handler_type")
    r.take(12, "reserved")
    return HandlerBox(handler_type, r.rest(), version, flags)


@dataclass(frozen=True, slots=True)
class VideoMediaHeaderBox(Box):
    """``vmhd`` (``flags`` is 1 by the standard)."""

    box_type = b"vmhd"
    graphicsmode: int = 0
    opcolor: tuple[int, int, int] = (0, 0, 0)
    version: int = 0
    flags: int = 1

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _pack(">4H", self.graphicsmode, *self.opcolor)


@register(b"vmhd")
def _parse_vmhd(r: Reader) -> Box:
    version, flags = r.full_header("vmhd")
    mode = r.u16("graphicsmode")
    return VideoMediaHeaderBox(mode, (r.u16("opcolor"), r.u16("opcolor"), r.u16("opcolor")), version, flags)


@dataclass(frozen=True, slots=True)
class SoundMediaHeaderBox(Box):
    """``smhd``: ``balance`` (8.8 fixed point)."""

    box_type = b"smhd"
    balance: int = 0
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _pack(">hH", self.balance, 0)


@register(b"smhd")
def _parse_smhd(r: Reader) -> Box:
    version, flags = r.full_header("smhd")
    balance = r.s16("balance")
    r.u16("reserved")
    return SoundMediaHeaderBox(balance, version, flags)


@dataclass(frozen=True, slots=True)
class DataEntryUrlBox(Box):
    """``url``: ``flags`` 1 means the media data is in this file and ``location`` is empty."""

    box_type = b"url "
    location: bytes = b""
    version: int = 0
    flags: int = 1

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + self.location


@register(b"url ")
def _parse_url(r: Reader) -> Box:
    version, flags = r.full_header("url")
    return DataEntryUrlBox(r.rest(), version, flags)


@dataclass(frozen=True, slots=True)
class DataReferenceBox(Box):
    """``dref``: its ``entries`` are boxes (``url``, ``urn``)."""

    box_type = b"dref"
    entries: tuple[Box, ...] = (DataEntryUrlBox(),)
    version: int = 0
    flags: int = 0

    def child_boxes(self) -> tuple[Box, ...]:
        return self.entries

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _pack(">I", len(self.entries)) + b"".join(
            e.to_bytes() for e in self.entries)


def _counted_children(r: Reader, what: str) -> tuple[Box, ...]:
    at = r.offset
    count = r.count(f"{what} entry_count", r.limits.max_entries, 8)
    children = r.children()
    r.done()
    if len(children) != count:
        raise ParseError(f"{what} entry_count {count} but {len(children)} boxes follow", offset=at)
    return children


@register(b"dref")
def _parse_dref(r: Reader) -> Box:
    version, flags = r.full_header("dref")
    return DataReferenceBox(_counted_children(r, "dref"), version, flags)


def _table(r: Reader, what: str, fmt: str) -> tuple[tuple[int, ...], ...]:
    entry = struct.Struct(fmt)
    n = r.count(f"{what} entry_count", r.limits.max_entries, entry.size)
    data = r.take(n * entry.size, f"{what} entries")
    return tuple(entry.iter_unpack(data))


def _table_bytes(entries: tuple[tuple[int, ...], ...], fmt: str) -> bytes:
    return _pack(">I", len(entries)) + b"".join(_pack(fmt, *e) for e in entries)


@dataclass(frozen=True, slots=True)
class TimeToSampleBox(Box):
    """``stts``: ``entries`` of (``sample_count``, ``sample_delta``)."""

    box_type = b"stts"
    entries: tuple[tuple[int, ...], ...] = ()
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _table_bytes(self.entries, ">II")


@register(b"stts")
def _parse_stts(r: Reader) -> Box:
    version, flags = r.full_header("stts")
    return TimeToSampleBox(_table(r, "stts", ">II"), version, flags)


@dataclass(frozen=True, slots=True)
class SampleToChunkBox(Box):
    """``stsc``: ``entries`` of (``first_chunk``, ``samples_per_chunk``, ``sample_description_index``)."""

    box_type = b"stsc"
    entries: tuple[tuple[int, ...], ...] = ()
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _table_bytes(self.entries, ">III")


@register(b"stsc")
def _parse_stsc(r: Reader) -> Box:
    version, flags = r.full_header("stsc")
    return SampleToChunkBox(_table(r, "stsc", ">III"), version, flags)


@dataclass(frozen=True, slots=True)
class SampleSizeBox(Box):
    """``stsz``: ``sample_size`` (0: sizes per sample follow) and ``entry_sizes``; with a non-zero
    ``sample_size``, ``sample_count`` says how many samples there are."""

    box_type = b"stsz"
    sample_size: int = 0
    sample_count: int = 0
    entry_sizes: tuple[int, ...] = ()
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        if self.sample_size == 0 and self.sample_count != len(self.entry_sizes):
            raise LocalProtocolError("stsz sample_count must equal the number of entry_sizes")
        sizes = b"".join(_pack(">I", s) for s in self.entry_sizes) if self.sample_size == 0 else b""
        return _full(self.version, self.flags) + _pack(">II", self.sample_size, self.sample_count) + sizes


@register(b"stsz")
def _parse_stsz(r: Reader) -> Box:
    version, flags = r.full_header("stsz")
    size = r.u32("sample_size")
    if size:
        return SampleSizeBox(size, r.u32("sample_count"), (), version, flags)
    n = r.count("stsz sample_count", r.limits.max_entries, 4)
    sizes = tuple(x for (x,) in struct.iter_unpack(">I", r.take(4 * n, "stsz entries")))
    return SampleSizeBox(0, n, sizes, version, flags)


@dataclass(frozen=True, slots=True)
class ChunkOffsetBox(Box):
    """``stco``: ``chunk_offsets`` (32-bit)."""

    box_type = b"stco"
    chunk_offsets: tuple[int, ...] = ()
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _table_bytes(tuple((o,) for o in self.chunk_offsets), ">I")


@register(b"stco")
def _parse_stco(r: Reader) -> Box:
    version, flags = r.full_header("stco")
    return ChunkOffsetBox(tuple(o for (o,) in _table(r, "stco", ">I")), version, flags)


@dataclass(frozen=True, slots=True)
class EditListBox(Box):
    """``elst``: ``entries`` of (``segment_duration``, ``media_time``, ``media_rate_integer``,
    ``media_rate_fraction``); ``media_time`` -1 is an empty edit."""

    box_type = b"elst"
    entries: tuple[tuple[int, int, int, int], ...] = ()
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        fmt = ">Qqhh" if self.version == 1 else ">Iihh"
        return _full(self.version, self.flags) + _table_bytes(self.entries, fmt)


@register(b"elst")
def _parse_elst(r: Reader) -> Box:
    version, flags = r.full_header("elst")
    entries = _table(r, "elst", ">Qqhh" if version == 1 else ">Iihh")
    return EditListBox(tuple((a, b, c, d) for a, b, c, d in entries), version, flags)


@dataclass(frozen=True, slots=True)
class MovieExtendsHeaderBox(Box):
    """``mehd``: the whole fragmented movie's ``fragment_duration`` (movie timescale)."""

    box_type = b"mehd"
    fragment_duration: int = 0
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _uint(self.version, self.fragment_duration)


@register(b"mehd")
def _parse_mehd(r: Reader) -> Box:
    version, flags = r.full_header("mehd")
    return MovieExtendsHeaderBox(r.uint(version, "fragment_duration"), version, flags)


@dataclass(frozen=True, slots=True)
class TrackExtendsBox(Box):
    """``trex``: the defaults of a track's fragments."""

    box_type = b"trex"
    track_ID: int = 1  # noqa: N815
    default_sample_description_index: int = 1
    default_sample_duration: int = 0
    default_sample_size: int = 0
    default_sample_flags: int = 0
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _pack(
            ">5I", self.track_ID, self.default_sample_description_index, self.default_sample_duration,
            self.default_sample_size, self.default_sample_flags)


@register(b"trex")
def _parse_trex(r: Reader) -> Box:
    version, flags = r.full_header("trex")
    return TrackExtendsBox(r.u32("track_ID"), r.u32("default_sample_description_index"),
                           r.u32("default_sample_duration"), r.u32("default_sample_size"),
                           r.u32("default_sample_flags"), version, flags)
