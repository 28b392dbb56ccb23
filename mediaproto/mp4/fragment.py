"""The boxes of a movie fragment and of media segments (ISO/IEC 14496-12 section 8.8, 8.16):
``mfhd``, ``tfhd``, ``tfdt``, ``trun``, ``mdat``, ``sidx`` and ``prft``, and the sample flags.

``tfhd`` and ``trun`` carry optional fields selected by their ``flags``: here an absent field is
``None``, and the ``flags`` written are the box's ``flags`` as given (the builders
:meth:`TrackFragmentHeaderBox.build` and :meth:`TrackRunBox.build` derive them from the fields).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import LimitExceeded, LocalProtocolError, ParseError
from .box import Box, Reader, register

__all__ = [
    "MovieFragmentHeaderBox", "TrackFragmentHeaderBox", "TrackFragmentBaseMediaDecodeTimeBox",
    "TrackRunBox", "TrunSample", "MediaDataBox", "SegmentIndexBox", "SidxReference",
    "ProducerReferenceTimeBox", "sample_flags", "SYNC_SAMPLE_FLAGS", "NON_SYNC_SAMPLE_FLAGS",
    "is_sync_sample",
    "TFHD_BASE_DATA_OFFSET", "TFHD_SAMPLE_DESCRIPTION_INDEX", "TFHD_DEFAULT_SAMPLE_DURATION",
    "TFHD_DEFAULT_SAMPLE_SIZE", "TFHD_DEFAULT_SAMPLE_FLAGS", "TFHD_DURATION_IS_EMPTY",
    "TFHD_DEFAULT_BASE_IS_MOOF", "TRUN_DATA_OFFSET", "TRUN_FIRST_SAMPLE_FLAGS", "TRUN_SAMPLE_DURATION",
    "TRUN_SAMPLE_SIZE", "TRUN_SAMPLE_FLAGS", "TRUN_SAMPLE_COMPOSITION_TIME_OFFSET",
]

TFHD_BASE_DATA_OFFSET = 0x000001
TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002
TFHD_DEFAULT_SAMPLE_DURATION = 0x000008
TFHD_DEFAULT_SAMPLE_SIZE = 0x000010
TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020
TFHD_DURATION_IS_EMPTY = 0x010000
TFHD_DEFAULT_BASE_IS_MOOF = 0x020000

TRUN_DATA_OFFSET = 0x000001
TRUN_FIRST_SAMPLE_FLAGS = 0x000004
TRUN_SAMPLE_DURATION = 0x000100
TRUN_SAMPLE_SIZE = 0x000200
TRUN_SAMPLE_FLAGS = 0x000400
TRUN_SAMPLE_COMPOSITION_TIME_OFFSET = 0x000800


def sample_flags(*, is_leading: int = 0, sample_depends_on: int = 0, sample_is_depended_on: int = 0,
                 sample_has_redundancy: int = 0, sample_padding_value: int = 0,
                 sample_is_non_sync_sample: bool = False, sample_degradation_priority: int = 0) -> int:
    """Pack the 32-bit sample flags (section 8.8.3.1). ``sample_depends_on`` 2 means the sample
    does not depend on others (an I picture), 1 that it does."""
    return (is_leading << 26 | sample_depends_on << 24 | sample_is_depended_on << 22 | sample_has_redundancy << 20
            | sample_padding_value << 17 | int(sample_is_non_sync_sample) << 16 | sample_degradation_priority)


#: Flags of a sync sample that depends on no other (a keyframe; every AAC or Opus frame).
SYNC_SAMPLE_FLAGS = sample_flags(sample_depends_on=2)
#: Flags of a non-sync sample that depends on others (a P or B picture).
NON_SYNC_SAMPLE_FLAGS = sample_flags(sample_depends_on=1, sample_is_non_sync_sample=True)


def is_sync_sample(flags: int) -> bool:
    """Whether ``sample_is_non_sync_sample`` is clear in ``flags``."""
    return not flags & 0x00010000


def _full(version: int, flags: int) -> bytes:
    if not (0 <= version <= 255 and 0 <= flags <= 0xFFFFFF):
        raise LocalProtocolError(f"FullBox version {version} / flags {flags:#x} out of range")
    return (version << 24 | flags).to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class MovieFragmentHeaderBox(Box):
    """``mfhd``: the fragment's ``sequence_number`` (increasing, from 1)."""

    box_type = b"mfhd"
    sequence_number: int = 1
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        if not 0 <= self.sequence_number <= 0xFFFFFFFF:
            raise LocalProtocolError("sequence_number out of range")
        return _full(self.version, self.flags) + self.sequence_number.to_bytes(4, "big")


@register(b"mfhd")
def _parse_mfhd(r: Reader) -> Box:
    version, flags = r.full_header("mfhd")
    return MovieFragmentHeaderBox(r.u32("sequence_number"), version, flags)


_TFHD_FIELDS = (
    (TFHD_BASE_DATA_OFFSET, "base_data_offset", 8),
    (TFHD_SAMPLE_DESCRIPTION_INDEX, "sample_description_index", 4),
    (TFHD_DEFAULT_SAMPLE_DURATION, "default_sample_duration", 4),
    (TFHD_DEFAULT_SAMPLE_SIZE, "default_sample_size", 4),
    (TFHD_DEFAULT_SAMPLE_FLAGS, "default_sample_flags", 4),
)


@dataclass(frozen=True, slots=True)
class TrackFragmentHeaderBox(Box):
    """``tfhd``: the track and the defaults of its runs in this fragment; each optional field is
    written when its bit is in ``flags``."""

    box_type = b"tfhd"
    track_ID: int = 1  # noqa: N815
    flags: int = TFHD_DEFAULT_BASE_IS_MOOF
    base_data_offset: int | None = None
    sample_description_index: int | None = None
    default_sample_duration: int | None = None
    default_sample_size: int | None = None
    default_sample_flags: int | None = None
    version: int = 0

    @classmethod
    def build(cls, track_ID: int, *, default_base_is_moof: bool = True,  # noqa: N803
              duration_is_empty: bool = False, base_data_offset: int | None = None,
              sample_description_index: int | None = None, default_sample_duration: int | None = None,
              default_sample_size: int | None = None,
              default_sample_flags: int | None = None) -> TrackFragmentHeaderBox:
        """A ``tfhd`` whose ``flags`` name exactly the optional fields given (not ``None``)."""
        flags = (TFHD_DEFAULT_BASE_IS_MOOF if default_base_is_moof else 0) | (
            TFHD_DURATION_IS_EMPTY if duration_is_empty else 0)
        values = (base_data_offset, sample_description_index, default_sample_duration, default_sample_size,
                  default_sample_flags)
        for (bit, _, _), value in zip(_TFHD_FIELDS, values):
            if value is not None:
                flags |= bit
        return cls(track_ID, flags, *values)

    def payload(self) -> bytes:
        out = [_full(self.version, self.flags), _u(self.track_ID, 4, "track_ID")]
        for bit, name, size in _TFHD_FIELDS:
            if self.flags & bit:
                value = getattr(self, name)
                if value is None:
                    raise LocalProtocolError(f"tfhd flags name {name} but it is None")
                out.append(_u(value, size, name))
        return b"".join(out)


def _u(value: int, size: int, what: str) -> bytes:
    try:
        return value.to_bytes(size, "big")
    except OverflowError:
        raise LocalProtocolError(f"{what} {value} does not fit {size} bytes") from None


@register(b"tfhd")
def _parse_tfhd(r: Reader) -> Box:
    version, flags = r.full_header("tfhd")
    track_id = r.u32("track_ID")
    values: dict[str, int] = {}
    for bit, name, size in _TFHD_FIELDS:
        if flags & bit:
            values[name] = r.u64(name) if size == 8 else r.u32(name)
    return TrackFragmentHeaderBox(track_id, flags, version=version, **values)


@dataclass(frozen=True, slots=True)
class TrackFragmentBaseMediaDecodeTimeBox(Box):
    """``tfdt``: ``baseMediaDecodeTime``, the decode time of the fragment's first sample in the
    track's timescale (64-bit with ``version`` 1)."""

    box_type = b"tfdt"
    base_media_decode_time: int = 0
    version: int = 1
    flags: int = 0

    def payload(self) -> bytes:
        return _full(self.version, self.flags) + _u(self.base_media_decode_time, 8 if self.version == 1 else 4,
                                                    "baseMediaDecodeTime")


@register(b"tfdt")
def _parse_tfdt(r: Reader) -> Box:
    version, flags = r.full_header("tfdt")
    return TrackFragmentBaseMediaDecodeTimeBox(r.uint(version, "baseMediaDecodeTime"), version, flags)


class TrunSample(NamedTuple):
    """One sample of a ``trun``; a field is ``None`` when the run's flags leave it out."""

    sample_duration: int | None = None
    sample_size: int | None = None
    sample_flags: int | None = None
    sample_composition_time_offset: int | None = None


_TRUN_BITS = (TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_COMPOSITION_TIME_OFFSET)
_SAMPLE_STRUCTS: dict[tuple[int, int], struct.Struct] = {}


def _sample_struct(flags: int, version: int) -> struct.Struct:
    key = (flags & 0xF00, version)
    st = _SAMPLE_STRUCTS.get(key)
    if st is None:
        fmt = ">" + "".join(c for bit, c in zip(_TRUN_BITS, "III" + ("i" if version else "I")) if flags & bit)
        st = _SAMPLE_STRUCTS[key] = struct.Struct(fmt)
    return st


@dataclass(frozen=True, slots=True)
class TrackRunBox(Box):
    """``trun``: a run of contiguous samples. ``data_offset`` is added to the base data offset
    (the ``moof``'s first byte with ``default-base-is-moof``); ``sample_composition_time_offset``
    is signed with ``version`` 1."""

    box_type = b"trun"
    samples: tuple[TrunSample, ...] = ()
    flags: int = TRUN_DATA_OFFSET
    data_offset: int | None = 0
    first_sample_flags: int | None = None
    version: int = 0

    @classmethod
    def build(cls, samples: tuple[TrunSample, ...], *, data_offset: int | None = 0,
              first_sample_flags: int | None = None, version: int | None = None) -> TrackRunBox:
        """A ``trun`` whose flags name the fields the first sample has (every sample must have
        the same ones); ``version`` 1 when a composition offset is negative, unless given."""
        flags = (TRUN_DATA_OFFSET if data_offset is not None else 0) | (
            TRUN_FIRST_SAMPLE_FLAGS if first_sample_flags is not None else 0)
        if samples:
            for bit, value in zip(_TRUN_BITS, samples[0]):
                if value is not None:
                    flags |= bit
        if version is None:
            version = int(bool(flags & TRUN_SAMPLE_COMPOSITION_TIME_OFFSET)
                          and any((s.sample_composition_time_offset or 0) < 0 for s in samples))
        return cls(samples, flags, data_offset, first_sample_flags, version)

    def payload(self) -> bytes:
        flags = self.flags
        out = [_full(self.version, flags), _u(len(self.samples), 4, "sample_count")]
        try:
            if flags & TRUN_DATA_OFFSET:
                if self.data_offset is None:
                    raise LocalProtocolError("trun flags name data_offset but it is None")
                out.append(struct.pack(">i", self.data_offset))
            if flags & TRUN_FIRST_SAMPLE_FLAGS:
                if self.first_sample_flags is None:
                    raise LocalProtocolError("trun flags name first_sample_flags but it is None")
                out.append(struct.pack(">I", self.first_sample_flags))
            st = _sample_struct(flags, self.version)
            if st.size:
                mask = [bool(flags & bit) for bit in _TRUN_BITS]
                pack = st.pack
                out.extend([pack(*[v for v, m in zip(s, mask) if m]) for s in self.samples])
        except (struct.error, TypeError) as exc:
            raise LocalProtocolError(f"trun sample field missing or out of range: {exc}") from None
        return b"".join(out)


@register(b"trun")
def _parse_trun(r: Reader) -> Box:
    version, flags = r.full_header("trun")
    at = r.offset
    count = r.u32("sample_count")
    if count > r.limits.max_samples_per_trun:
        raise LimitExceeded(f"trun sample_count {count} exceeds the limit of {r.limits.max_samples_per_trun}",
                            offset=at)
    data_offset = r.s32("data_offset") if flags & TRUN_DATA_OFFSET else None
    first = r.u32("first_sample_flags") if flags & TRUN_FIRST_SAMPLE_FLAGS else None
    st = _sample_struct(flags, version)
    if count * st.size > r.left:
        raise ParseError(f"trun of {count} samples needs {count * st.size} bytes, {r.left} left", offset=at)
    data = r.take(count * st.size, "trun samples")
    present = [bool(flags & bit) for bit in _TRUN_BITS]
    if all(present):
        samples = tuple(TrunSample._make(v) for v in st.iter_unpack(data))
    elif st.size:
        samples = tuple(TrunSample._make(_spread(v, present)) for v in st.iter_unpack(data))
    else:
        samples = (TrunSample(),) * count
    return TrackRunBox(samples, flags, data_offset, first, version)


def _spread(values: tuple[int, ...], present: list[bool]) -> list[int | None]:
    it = iter(values)
    return [next(it) if p else None for p in present]


@dataclass(frozen=True, slots=True)
class MediaDataBox(Box):
    """``mdat``: the samples' bytes."""

    box_type = b"mdat"
    data: bytes = b""

    def payload(self) -> bytes:
        return self.data


@register(b"mdat")
def _parse_mdat(r: Reader) -> Box:
    return MediaDataBox(r.rest())


class SidxReference(NamedTuple):
    """One reference of a ``sidx``."""

    reference_type: int
    referenced_size: int
    subsegment_duration: int
    starts_with_SAP: int  # noqa: N815
    SAP_type: int  # noqa: N815
    SAP_delta_time: int  # noqa: N815


_SIDX_REF = struct.Struct(">III")


@dataclass(frozen=True, slots=True)
class SegmentIndexBox(Box):
    """``sidx``: the index of a segment's subsegments."""

    box_type = b"sidx"
    reference_ID: int = 1  # noqa: N815
    timescale: int = 90000
    earliest_presentation_time: int = 0
    first_offset: int = 0
    references: tuple[SidxReference, ...] = ()
    version: int = 0
    flags: int = 0

    def payload(self) -> bytes:
        wide = 8 if self.version == 1 else 4
        if len(self.references) > 0xFFFF:
            raise LocalProtocolError("sidx has more than 65535 references")
        out = [_full(self.version, self.flags), _u(self.reference_ID, 4, "reference_ID"),
               _u(self.timescale, 4, "timescale"),
               _u(self.earliest_presentation_time, wide, "earliest_presentation_time"),
               _u(self.first_offset, wide, "first_offset"), b"\x00\x00", _u(len(self.references), 2, "count")]
        try:
            out.extend(_SIDX_REF.pack(ref.reference_type << 31 | ref.referenced_size, ref.subsegment_duration,
                                      ref.starts_with_SAP << 31 | ref.SAP_type << 28 | ref.SAP_delta_time)
                       for ref in self.references)
        except struct.error as exc:
            raise LocalProtocolError(f"sidx reference out of range: {exc}") from None
        return b"".join(out)


@register(b"sidx")
def _parse_sidx(r: Reader) -> Box:
    version, flags = r.full_header("sidx")
    ref_id, timescale = r.u32("reference_ID"), r.u32("timescale")
    ept, first = r.uint(version, "earliest_presentation_time"), r.uint(version, "first_offset")
    r.u16("reserved")
    at = r.offset
    count = r.u16("reference_count")
    if count > r.limits.max_entries:
        raise LimitExceeded(f"sidx reference_count {count} exceeds the limit", offset=at)
    data = r.take(count * 12, "sidx references")
    refs = tuple(SidxReference(a >> 31, a & 0x7FFFFFFF, b, c >> 31, (c >> 28) & 7, c & 0x0FFFFFFF)
                 for a, b, c in _SIDX_REF.iter_unpack(data))
    return SegmentIndexBox(ref_id, timescale, ept, first, refs, version, flags)


@dataclass(frozen=True, slots=True)
class ProducerReferenceTimeBox(Box):
    """``prft``: the wallclock (64-bit NTP ``ntp_timestamp``) at which the sample with decode time
    ``media_time`` of ``reference_track_ID`` was produced (see :mod:`mediaproto.clock` for NTP)."""

    box_type = b"prft"
    reference_track_ID: int = 1  # noqa: N815
    ntp_timestamp: int = 0
    media_time: int = 0
    version: int = 1
    flags: int = 0

    def payload(self) -> bytes:
        return b"".join((_full(self.version, self.flags), _u(self.reference_track_ID, 4, "reference_track_ID"),
                         _u(self.ntp_timestamp, 8, "ntp_timestamp"),
                         _u(self.media_time, 8 if self.version == 1 else 4, "media_time")))


@register(b"prft")
def _parse_prft(r: Reader) -> Box:
    version, flags = r.full_header("prft")
    track, ntp = r.u32("reference_track_ID"), r.u64("ntp_timestamp")
    return ProducerReferenceTimeBox(track, ntp, r.uint(version, "media_time"), version, flags)
