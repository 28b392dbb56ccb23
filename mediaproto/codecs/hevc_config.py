"""The HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 section 8.3.3.1): the H.265 decoder
configuration of MP4 ``hvcC`` boxes and of (Enhanced) RTMP/FLV HEVC sequence headers.

Use it through :mod:`mediaproto.codecs.h265`, which re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from .h265_sps import parse_sps

__all__ = ["HEVCDecoderConfigurationRecord", "NalArray"]

_VPS, _SPS, _PPS = 32, 33, 34


@dataclass(frozen=True, slots=True)
class NalArray:
    """One entry of the record's array list: NAL units of one type."""

    nal_unit_type: int
    nal_units: tuple[bytes, ...]
    array_completeness: bool = True


@dataclass(frozen=True, slots=True)
class HEVCDecoderConfigurationRecord:
    """``HEVCDecoderConfigurationRecord``, field names as in ISO/IEC 14496-15 (snake_case);
    ``chroma_format_idc`` is the record's ``chromaFormat``. Reserved bits are written as ones and
    ignored when read; bytes after the last array are ignored."""

    general_profile_space: int
    general_tier_flag: int
    general_profile_idc: int
    general_profile_compatibility_flags: int
    general_constraint_indicator_flags: int
    general_level_idc: int
    chroma_format_idc: int
    bit_depth_luma_minus8: int
    bit_depth_chroma_minus8: int
    length_size_minus_one: int
    arrays: tuple[NalArray, ...]
    configuration_version: int = 1
    min_spatial_segmentation_idc: int = 0
    parallelism_type: int = 0
    avg_frame_rate: int = 0
    constant_frame_rate: int = 0
    num_temporal_layers: int = 1
    temporal_id_nested: int = 0

    @property
    def length_size(self) -> int:
        """Bytes of each NAL unit length prefix in the samples (1, 2 or 4)."""
        return self.length_size_minus_one + 1

    def nal_units_of_type(self, nal_unit_type: int) -> tuple[bytes, ...]:
        """All NAL units of the arrays of ``nal_unit_type``."""
        return tuple(n for a in self.arrays if a.nal_unit_type == nal_unit_type for n in a.nal_units)

    @property
    def vps(self) -> tuple[bytes, ...]:
        """The video parameter sets."""
        return self.nal_units_of_type(_VPS)

    @property
    def sps(self) -> tuple[bytes, ...]:
        """The sequence parameter sets."""
        return self.nal_units_of_type(_SPS)

    @property
    def pps(self) -> tuple[bytes, ...]:
        """The picture parameter sets."""
        return self.nal_units_of_type(_PPS)

    @property
    def parameter_sets(self) -> tuple[bytes, ...]:
        """VPS, SPS and PPS, as :attr:`mediaproto.media.Track.parameter_sets` holds them."""
        return self.vps + self.sps + self.pps

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> HEVCDecoderConfigurationRecord:
        """Parse a record. Raises :class:`~mediaproto.errors.ParseError` with the byte offset."""
        raw = bytes(data)
        if len(raw) < 23:
            raise ParseError("truncated HEVCDecoderConfigurationRecord", offset=len(raw))
        if raw[0] != 1:
            raise ParseError(f"configurationVersion {raw[0]} is not 1", offset=0)
        pos = 23
        arrays = []
        for _ in range(raw[22]):
            if pos + 3 > len(raw):
                raise ParseError("truncated NAL unit array header", offset=pos)
            completeness = bool(raw[pos] & 0x80)
            nal_type = raw[pos] & 0x3F
            count = int.from_bytes(raw[pos + 1:pos + 3], "big")
            pos += 3
            nals = []
            for _ in range(count):
                if pos + 2 > len(raw):
                    raise ParseError("truncated nalUnitLength", offset=pos)
                n = int.from_bytes(raw[pos:pos + 2], "big")
                if n == 0 or pos + 2 + n > len(raw):
                    raise ParseError(f"NAL unit of {n} bytes runs past the end or is empty", offset=pos)
                nals.append(raw[pos + 2:pos + 2 + n])
                pos += 2 + n
            arrays.append(NalArray(nal_type, tuple(nals), completeness))
        length_size_minus_one = raw[21] & 3
        if length_size_minus_one == 2:
            raise ParseError("lengthSizeMinusOne 2 (3-byte lengths) is not allowed", offset=21)
        return cls(
            configuration_version=raw[0],
            general_profile_space=raw[1] >> 6,
            general_tier_flag=(raw[1] >> 5) & 1,
            general_profile_idc=raw[1] & 0x1F,
            general_profile_compatibility_flags=int.from_bytes(raw[2:6], "big"),
            general_constraint_indicator_flags=int.from_bytes(raw[6:12], "big"),
            general_level_idc=raw[12],
            min_spatial_segmentation_idc=int.from_bytes(raw[13:15], "big") & 0xFFF,
            parallelism_type=raw[15] & 3,
            chroma_format_idc=raw[16] & 3,
            bit_depth_luma_minus8=raw[17] & 7,
            bit_depth_chroma_minus8=raw[18] & 7,
            avg_frame_rate=int.from_bytes(raw[19:21], "big"),
            constant_frame_rate=raw[21] >> 6,
            num_temporal_layers=(raw[21] >> 3) & 7,
            temporal_id_nested=(raw[21] >> 2) & 1,
            length_size_minus_one=length_size_minus_one,
            arrays=tuple(arrays),
        )

    def to_bytes(self) -> bytes:
        """Serialize the record."""
        if self.length_size_minus_one not in (0, 1, 3):
            raise LocalProtocolError(f"length_size_minus_one must be 0, 1 or 3, not {self.length_size_minus_one}")
        if len(self.arrays) > 255:
            raise LocalProtocolError("too many NAL unit arrays")
        try:
            out = bytearray((
                self.configuration_version,
                self.general_profile_space << 6 | self.general_tier_flag << 5 | self.general_profile_idc,
            ))
            out += self.general_profile_compatibility_flags.to_bytes(4, "big")
            out += self.general_constraint_indicator_flags.to_bytes(6, "big")
            out.append(self.general_level_idc)
            out += (0xF000 | self.min_spatial_segmentation_idc).to_bytes(2, "big")
            out += bytes((
                0xFC | self.parallelism_type, 0xFC | self.chroma_format_idc,
                0xF8 | self.bit_depth_luma_minus8, 0xF8 | self.bit_depth_chroma_minus8,
            ))
            out += self.avg_frame_rate.to_bytes(2, "big")
            out.append(self.constant_frame_rate << 6 | self.num_temporal_layers << 3
                       | self.temporal_id_nested << 2 | self.length_size_minus_one)
            out.append(len(self.arrays))
            for array in self.arrays:
                out.append((0x80 if array.array_completeness else 0) | array.nal_unit_type)
                out += len(array.nal_units).to_bytes(2, "big")
                for nal in array.nal_units:
                    out += len(nal).to_bytes(2, "big") + nal
        except (ValueError, OverflowError) as exc:
            raise LocalProtocolError(f"record field out of range: {exc}") from None
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def from_parameter_sets(
        cls,
        vps_list: list[bytes] | tuple[bytes, ...],
        sps_list: list[bytes] | tuple[bytes, ...],
        pps_list: list[bytes] | tuple[bytes, ...],
        length_size: int = 4,
    ) -> HEVCDecoderConfigurationRecord:
        """Build a record from VPS, SPS and PPS NAL units (without start codes): profile, tier,
        level, constraint flags, chroma format, bit depths and temporal layers come from the first
        SPS; each array is marked complete."""
        if not sps_list:
            raise LocalProtocolError("an HEVCDecoderConfigurationRecord needs at least one SPS")
        if length_size not in (1, 2, 4):
            raise LocalProtocolError(f"length size must be 1, 2 or 4, not {length_size}")
        info = parse_sps(sps_list[0])
        ptl = info.profile_tier_level
        arrays = tuple(
            NalArray(t, tuple(bytes(n) for n in nals))
            for t, nals in ((_VPS, vps_list), (_SPS, sps_list), (_PPS, pps_list)) if nals
        )
        return cls(
            general_profile_space=ptl.general_profile_space,
            general_tier_flag=ptl.general_tier_flag,
            general_profile_idc=ptl.general_profile_idc,
            general_profile_compatibility_flags=ptl.general_profile_compatibility_flags,
            general_constraint_indicator_flags=ptl.general_constraint_indicator_flags,
            general_level_idc=ptl.general_level_idc,
            chroma_format_idc=info.chroma_format_idc,
            bit_depth_luma_minus8=info.bit_depth_luma - 8,
            bit_depth_chroma_minus8=info.bit_depth_chroma - 8,
            length_size_minus_one=length_size - 1,
            num_temporal_layers=info.sps_max_sub_layers_minus1 + 1,
            temporal_id_nested=int(info.sps_temporal_id_nesting_flag),
            arrays=arrays,
        )
