"""H.264 / AVC (ITU-T H.264) bitstream helpers.

* NAL framing: Annex B byte streams (start codes) and AVCC length-prefixed NAL units, both
  converted to and from the neutral form of :class:`~mediaproto.media.Frame`: a tuple of NAL units
  without start codes or length prefixes; :func:`is_annexb` tells the two apart.
* NAL headers: :func:`nal_type`, :func:`nal_ref_idc`, the ``NAL_*`` type constants (table 7-1) and
  :func:`nal_type_name`; :func:`is_keyframe` (an IDR picture) and :func:`split_access_units`.
* Parameter sets: :class:`SpsInfo` / :func:`parse_sps` (profile, level, chroma format, bit depth,
  size after cropping, frame rate), :func:`parse_pps_id`, :func:`profile_name`.
* :class:`AVCDecoderConfigurationRecord` (``avcC``, RTMP/FLV sequence headers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..bits import BitReader, ebsp_to_rbsp
from ..errors import ParseError
from .avc_config import AVCDecoderConfigurationRecord
from .h264_sps import HIGH_PROFILES, SpsInfo, parse_pps_id, parse_sps, profile_name

__all__ = [
    "START_CODE", "split_annexb", "join_annexb", "split_avcc", "join_avcc", "nal_type",
    "nal_ref_idc", "nal_type_name", "NAL_TYPE_NAMES", "is_keyframe", "is_annexb", "is_vcl",
    "first_mb_in_slice", "split_access_units",
    "SpsInfo", "parse_sps", "parse_pps_id", "profile_name", "HIGH_PROFILES",
    "AVCDecoderConfigurationRecord",
    "NAL_SLICE", "NAL_SLICE_DPA", "NAL_SLICE_DPB", "NAL_SLICE_DPC", "NAL_IDR", "NAL_SEI", "NAL_SPS",
    "NAL_PPS", "NAL_AUD", "NAL_END_OF_SEQUENCE", "NAL_END_OF_STREAM", "NAL_FILLER", "NAL_SPS_EXT",
    "NAL_PREFIX", "NAL_SUBSET_SPS", "NAL_DPS", "NAL_AUXILIARY_SLICE", "NAL_SLICE_EXTENSION",
    "NAL_SLICE_EXTENSION_DEPTH",
]

# nal_unit_type values (ITU-T H.264 table 7-1).
NAL_SLICE = 1  #: coded slice of a non-IDR picture
NAL_SLICE_DPA = 2  #: coded slice data partition A
NAL_SLICE_DPB = 3  #: coded slice data partition B
NAL_SLICE_DPC = 4  #: coded slice data partition C
NAL_IDR = 5  #: coded slice of an IDR picture
NAL_SEI = 6  #: supplemental enhancement information
NAL_SPS = 7  #: sequence parameter set
NAL_PPS = 8  #: picture parameter set
NAL_AUD = 9  #: access unit delimiter
NAL_END_OF_SEQUENCE = 10  #: end of sequence
NAL_END_OF_STREAM = 11  #: end of stream
NAL_FILLER = 12  #: filler data
NAL_SPS_EXT = 13  #: sequence parameter set extension
NAL_PREFIX = 14  #: prefix NAL unit (SVC/MVC)
NAL_SUBSET_SPS = 15  #: subset sequence parameter set
NAL_DPS = 16  #: depth parameter set
NAL_AUXILIARY_SLICE = 19  #: coded slice of an auxiliary coded picture without partitioning
NAL_SLICE_EXTENSION = 20  #: coded slice extension (SVC/MVC)
NAL_SLICE_EXTENSION_DEPTH = 21  #: coded slice extension for a depth view component

#: Short names of the NAL unit types (table 7-1), as FFmpeg and Wireshark print them.
NAL_TYPE_NAMES: dict[int, str] = {
    0: "Unspecified", 1: "SLICE", 2: "DPA", 3: "DPB", 4: "DPC", 5: "IDR", 6: "SEI", 7: "SPS",
    8: "PPS", 9: "AUD", 10: "END_SEQUENCE", 11: "END_STREAM", 12: "FILLER", 13: "SPS_EXT",
    14: "PREFIX", 15: "SUBSET_SPS", 16: "DPS", 19: "AUXILIARY_SLICE", 20: "SLICE_EXTENSION",
    21: "SLICE_EXTENSION_DEPTH",
}

#: The 4-byte start code written before every NAL unit by :func:`join_annexb`.
START_CODE = b"\x00\x00\x00\x01"


def split_annexb(data: bytes | bytearray | memoryview) -> list[bytes]:
    """Split an Annex B byte stream into NAL units without start codes.

    Accepts 3- and 4-byte start codes (and any run of leading zero bytes), strips the trailing zero
    bytes before each start code, and skips empty units. Linear in the input size. Raises
    :class:`~mediaproto.errors.ParseError` when there is no start code, or non-zero bytes before the
    first one.
    """
    raw = bytes(data)
    pos = raw.find(b"\x00\x00\x01")
    if pos < 0:
        raise ParseError("no Annex B start code", offset=0)
    if raw[:pos].strip(b"\x00"):
        raise ParseError("bytes before the first Annex B start code", offset=0)
    nals: list[bytes] = []
    start = pos + 3
    find = raw.find
    while True:
        nxt = find(b"\x00\x00\x01", start)
        nal = raw[start:nxt if nxt >= 0 else len(raw)].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        if nxt < 0:
            return nals
        start = nxt + 3


def join_annexb(nals: tuple[bytes, ...] | list[bytes]) -> bytes:
    """Join NAL units into an Annex B byte stream with 4-byte start codes."""
    if not nals:
        return b""
    return START_CODE + START_CODE.join(nals)


def split_avcc(data: bytes | bytearray | memoryview, length_size: int = 4) -> list[bytes]:
    """Split length-prefixed NAL units (AVCC, as in FLV/RTMP and MP4) with ``length_size``-byte
    big-endian lengths (1, 2 or 4). Raises :class:`~mediaproto.errors.ParseError` on a length that
    runs past the end."""
    if length_size not in (1, 2, 4):
        raise ParseError(f"NAL length size must be 1, 2 or 4, not {length_size}")
    raw = bytes(data)
    end = len(raw)
    nals: list[bytes] = []
    pos = 0
    while pos < end:
        if pos + length_size > end:
            raise ParseError("truncated NAL unit length", offset=pos)
        n = int.from_bytes(raw[pos:pos + length_size], "big")
        pos += length_size
        if pos + n > end:
            raise ParseError(f"NAL unit of {n} bytes runs past the end", offset=pos - length_size)
        nals.append(raw[pos:pos + n])
        pos += n
    return nals


def join_avcc(nals: tuple[bytes, ...] | list[bytes], length_size: int = 4) -> bytes:
    """Join NAL units with ``length_size``-byte big-endian length prefixes."""
    return b"".join([b for nal in nals for b in (len(nal).to_bytes(length_size, "big"), nal)])


def nal_type(nal: bytes) -> int:
    """The ``nal_unit_type`` (5 bits) of an H.264 NAL unit."""
    if not nal:
        raise ParseError("empty NAL unit")
    return nal[0] & 0x1F


def nal_ref_idc(nal: bytes) -> int:
    """The ``nal_ref_idc`` (2 bits) of an H.264 NAL unit: 0 for a NAL unit nothing refers to."""
    if not nal:
        raise ParseError("empty NAL unit")
    return (nal[0] >> 5) & 3


def nal_type_name(nal_unit_type: int) -> str:
    """A short name for a ``nal_unit_type`` (``"IDR"``, ``"SPS"``; ``"Reserved 17"``)."""
    name = NAL_TYPE_NAMES.get(nal_unit_type)
    if name is not None:
        return name
    return f"Unspecified {nal_unit_type}" if nal_unit_type >= 24 else f"Reserved {nal_unit_type}"


def is_vcl(nal_unit_type: int) -> bool:
    """Whether the type is a coded slice (types 1 to 5) of the primary picture."""
    return 1 <= nal_unit_type <= 5


def is_keyframe(nals: Iterable[bytes]) -> bool:
    """Whether an access unit (NAL units without start codes) holds an IDR picture slice."""
    return any(nal and nal[0] & 0x1F == NAL_IDR for nal in nals)


def is_annexb(data: bytes | bytearray | memoryview, length_size: int = 4) -> bool:
    """Whether ``data`` is an Annex B byte stream rather than length-prefixed (AVCC) NAL units.

    RTMP/FLV and MP4 carry AVCC, but some RTMP encoders send Annex B (see QUIRKS.md). Data that
    starts with a start code is still AVCC when it reads as a valid chain of ``length_size``-byte
    lengths ending exactly at the end of ``data`` (a 256..511-byte first NAL unit has a length
    ``00 00 01 xx``). Linear in the number of NAL units.
    """
    raw = bytes(data[:4])
    if not (raw.startswith(b"\x00\x00\x01") or raw.startswith(b"\x00\x00\x00\x01")):
        return False
    return not _is_avcc_chain(data, length_size)


def _is_avcc_chain(data: bytes | bytearray | memoryview, length_size: int) -> bool:
    end = len(data)
    pos = 0
    while pos < end:
        if pos + length_size > end:
            return False
        n = int.from_bytes(data[pos:pos + length_size], "big")
        pos += length_size
        if n == 0 or pos + n > end or data[pos] & 0x80:
            return False
        pos += n
    return True


def first_mb_in_slice(nal: bytes) -> int:
    """The ``first_mb_in_slice`` of a slice NAL unit (types 1, 2, 5): 0 for the first slice of a
    picture. Raises :class:`~mediaproto.errors.ParseError` on a malformed slice header."""
    if len(nal) < 2:
        raise ParseError("slice NAL unit too short", offset=0)
    r = BitReader(ebsp_to_rbsp(nal[1:9]))
    return r.read_ue()


# Types that, after a VCL NAL unit of the current access unit, begin the next one (7.4.1.2.3).
_AU_STARTERS = frozenset({NAL_SEI, NAL_SPS, NAL_PPS, NAL_AUD, NAL_PREFIX, NAL_SUBSET_SPS, NAL_DPS, 17, 18})


def split_access_units(nals: Sequence[bytes]) -> list[list[bytes]]:
    """Group a sequence of NAL units (an elementary stream split by :func:`split_annexb`) into
    access units, following ITU-T H.264 section 7.4.1.2.3.

    Once the current unit holds a VCL NAL unit, the next unit begins at an AUD, SPS, PPS, SEI,
    prefix/subset-SPS/DPS or reserved 17-18 NAL unit, or at a slice (types 1, 2, 5) whose
    ``first_mb_in_slice`` is 0 (the first slice of the next primary picture; arbitrary slice
    order, where a picture's first slice in the stream need not start at macroblock 0, is not
    detected). End of sequence/stream NAL units stay with the unit they end. Data partitions B and
    C (types 3, 4) and auxiliary slices never start a unit.
    """
    units: list[list[bytes]] = []
    current: list[bytes] = []
    has_vcl = False
    for nal in nals:
        if not nal:
            continue
        t = nal[0] & 0x1F
        starts = False
        if has_vcl:
            if t in _AU_STARTERS:
                starts = True
            elif t in (NAL_SLICE, NAL_SLICE_DPA, NAL_IDR):
                starts = first_mb_in_slice(nal) == 0
        if starts:
            units.append(current)
            current = []
            has_vcl = False
        current.append(nal)
        if is_vcl(t):
            has_vcl = True
    if current:
        units.append(current)
    return units
