"""H.265 / HEVC (ITU-T H.265) bitstream helpers.

* The 2-byte NAL unit header (section 7.3.1.2): :class:`NalHeader`, :func:`nal_type`, the
  ``NAL_*`` type constants (table 7-1) and :func:`nal_type_name`.
* :func:`is_keyframe` (an IRAP picture: types 16 to 23) and :func:`split_access_units`.
* :func:`parse_sps`: size after the conformance window, profile/tier/level, chroma format, bit depth.
* :class:`HEVCDecoderConfigurationRecord` (``hvcC``, HEVC RTMP/FLV sequence headers).

Annex B and length-prefixed framing are the same as H.264's: use
:func:`mediaproto.codecs.h264.split_annexb` and friends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from .hevc_config import HEVCDecoderConfigurationRecord, NalArray
from .h265_sps import HevcSpsInfo, ProfileTierLevel, parse_profile_tier_level, parse_sps, profile_name

#: The H.264 name for it, so that code can treat both codecs alike.
SpsInfo = HevcSpsInfo

__all__ = [
    "NalHeader", "nal_type", "nal_type_name", "NAL_TYPE_NAMES", "is_keyframe", "is_irap", "is_vcl",
    "split_access_units", "HevcSpsInfo", "SpsInfo", "ProfileTierLevel", "parse_sps",
    "parse_profile_tier_level", "profile_name", "HEVCDecoderConfigurationRecord", "NalArray",
    "NAL_TRAIL_N", "NAL_TRAIL_R", "NAL_TSA_N", "NAL_TSA_R", "NAL_STSA_N", "NAL_STSA_R", "NAL_RADL_N",
    "NAL_RADL_R", "NAL_RASL_N", "NAL_RASL_R", "NAL_BLA_W_LP", "NAL_BLA_W_RADL", "NAL_BLA_N_LP",
    "NAL_IDR_W_RADL", "NAL_IDR_N_LP", "NAL_CRA_NUT", "NAL_VPS", "NAL_SPS", "NAL_PPS", "NAL_AUD",
    "NAL_EOS", "NAL_EOB", "NAL_FD", "NAL_PREFIX_SEI", "NAL_SUFFIX_SEI", "NAL_AP", "NAL_FU", "NAL_PACI",
]

# nal_unit_type values (ITU-T H.265 table 7-1; 48-50 from RFC 7798).
NAL_TRAIL_N = 0
NAL_TRAIL_R = 1
NAL_TSA_N = 2
NAL_TSA_R = 3
NAL_STSA_N = 4
NAL_STSA_R = 5
NAL_RADL_N = 6
NAL_RADL_R = 7
NAL_RASL_N = 8
NAL_RASL_R = 9
NAL_BLA_W_LP = 16
NAL_BLA_W_RADL = 17
NAL_BLA_N_LP = 18
NAL_IDR_W_RADL = 19
NAL_IDR_N_LP = 20
NAL_CRA_NUT = 21
NAL_VPS = 32
NAL_SPS = 33
NAL_PPS = 34
NAL_AUD = 35
NAL_EOS = 36
NAL_EOB = 37
NAL_FD = 38
NAL_PREFIX_SEI = 39
NAL_SUFFIX_SEI = 40
NAL_AP = 48  #: RFC 7798 aggregation packet
NAL_FU = 49  #: RFC 7798 fragmentation unit
NAL_PACI = 50  #: RFC 7798 PACI packet

#: Names of the NAL unit types as table 7-1 spells them.
NAL_TYPE_NAMES: dict[int, str] = {
    0: "TRAIL_N", 1: "TRAIL_R", 2: "TSA_N", 3: "TSA_R", 4: "STSA_N", 5: "STSA_R", 6: "RADL_N",
    7: "RADL_R", 8: "RASL_N", 9: "RASL_R", 16: "BLA_W_LP", 17: "BLA_W_RADL", 18: "BLA_N_LP",
    19: "IDR_W_RADL", 20: "IDR_N_LP", 21: "CRA_NUT", 22: "RSV_IRAP_VCL22", 23: "RSV_IRAP_VCL23",
    32: "VPS_NUT", 33: "SPS_NUT", 34: "PPS_NUT", 35: "AUD_NUT", 36: "EOS_NUT", 37: "EOB_NUT",
    38: "FD_NUT", 39: "PREFIX_SEI_NUT", 40: "SUFFIX_SEI_NUT", 48: "AP", 49: "FU", 50: "PACI",
}


@dataclass(frozen=True, slots=True)
class NalHeader:
    """The 2-byte H.265 NAL unit header (section 7.3.1.2)."""

    forbidden_zero_bit: int
    nal_unit_type: int
    nuh_layer_id: int
    nuh_temporal_id_plus1: int

    @classmethod
    def parse(cls, nal: bytes | bytearray | memoryview) -> NalHeader:
        """Read the header at the start of ``nal``."""
        if len(nal) < 2:
            raise ParseError("H.265 NAL unit shorter than its 2-byte header", offset=0)
        v = nal[0] << 8 | nal[1]
        return cls(v >> 15, (v >> 9) & 0x3F, (v >> 3) & 0x3F, v & 7)

    def to_bytes(self) -> bytes:
        """The two header bytes."""
        if not (0 <= self.nal_unit_type < 64 and 0 <= self.nuh_layer_id < 64 and 0 <= self.nuh_temporal_id_plus1 < 8):
            raise LocalProtocolError("NAL header field out of range")
        v = (self.forbidden_zero_bit & 1) << 15 | self.nal_unit_type << 9 | self.nuh_layer_id << 3
        return (v | self.nuh_temporal_id_plus1).to_bytes(2, "big")

    @property
    def temporal_id(self) -> int:
        """``TemporalId``: ``nuh_temporal_id_plus1 - 1``."""
        return self.nuh_temporal_id_plus1 - 1


def nal_type(nal: bytes | bytearray | memoryview) -> int:
    """The ``nal_unit_type`` (6 bits) of an H.265 NAL unit."""
    if not nal:
        raise ParseError("empty NAL unit")
    return (nal[0] >> 1) & 0x3F


def nal_type_name(nal_unit_type: int) -> str:
    """The table 7-1 name of a ``nal_unit_type`` (``"IDR_W_RADL"``; ``"RSV_VCL_N10"`` style for
    reserved values)."""
    name = NAL_TYPE_NAMES.get(nal_unit_type)
    if name is not None:
        return name
    if nal_unit_type < 32:
        return f"RSV_VCL{nal_unit_type}"
    return f"RSV_NVCL{nal_unit_type}" if nal_unit_type < 48 else f"UNSPEC{nal_unit_type}"


def is_irap(nal_unit_type: int) -> bool:
    """Whether the type is an IRAP picture slice (BLA, IDR, CRA, reserved IRAP: 16 to 23)."""
    return 16 <= nal_unit_type <= 23


def is_vcl(nal_unit_type: int) -> bool:
    """Whether the type is a coded slice segment (0 to 31)."""
    return nal_unit_type < 32


def is_keyframe(nals: Iterable[bytes]) -> bool:
    """Whether an access unit (NAL units without start codes) holds an IRAP picture slice."""
    return any(nal and 16 <= (nal[0] >> 1) & 0x3F <= 23 for nal in nals)


# Non-VCL types that, after a VCL NAL unit, begin the next access unit (7.4.2.4.4).
_AU_STARTERS = frozenset({NAL_VPS, NAL_SPS, NAL_PPS, NAL_AUD, NAL_PREFIX_SEI, 41, 42, 43, 44}
                         | set(range(48, 56)))


def split_access_units(nals: Sequence[bytes]) -> list[list[bytes]]:
    """Group NAL units into access units (ITU-T H.265 section 7.4.2.4.4).

    Once the current unit holds a VCL NAL unit, the next begins at a VPS, SPS, PPS, AUD, prefix
    SEI or reserved 41-44/unspecified 48-55 NAL unit of layer 0, or at a slice segment whose
    ``first_slice_segment_in_pic_flag`` is set. Suffix SEI, EOS and EOB stay with their unit.
    """
    units: list[list[bytes]] = []
    current: list[bytes] = []
    has_vcl = False
    for nal in nals:
        if len(nal) < 2:
            if nal:
                raise ParseError("H.265 NAL unit shorter than its 2-byte header", offset=0)
            continue
        t = (nal[0] >> 1) & 0x3F
        layer = (nal[0] & 1) << 5 | nal[1] >> 3
        starts = False
        if has_vcl and layer == 0:
            if t in _AU_STARTERS:
                starts = True
            elif t < 32:
                if len(nal) < 3:
                    raise ParseError("slice segment NAL unit without a slice header", offset=0)
                starts = bool(nal[2] & 0x80)  # first_slice_segment_in_pic_flag
        if starts:
            units.append(current)
            current = []
            has_vcl = False
        current.append(nal)
        if t < 32:
            has_vcl = True
    if current:
        units.append(current)
    return units
