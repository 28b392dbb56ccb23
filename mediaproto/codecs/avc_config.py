"""The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 section 5.3.3.1): the H.264 decoder
configuration of MP4 ``avcC`` boxes and of RTMP/FLV AVC sequence headers.

Use it through :mod:`mediaproto.codecs.h264`, which re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from .h264_sps import parse_sps

__all__ = ["AVCDecoderConfigurationRecord", "EXTENDED_PROFILES"]

#: Profiles whose record carries chroma_format, bit depths and SPS extensions after the PPS list.
EXTENDED_PROFILES = frozenset({100, 110, 122, 144})


def _read_sets(data: bytes, pos: int, count: int, what: str) -> tuple[tuple[bytes, ...], int]:
    sets = []
    for _ in range(count):
        if pos + 2 > len(data):
            raise ParseError(f"truncated {what} length", offset=pos)
        n = int.from_bytes(data[pos:pos + 2], "big")
        if pos + 2 + n > len(data):
            raise ParseError(f"{what} of {n} bytes runs past the end", offset=pos)
        if n == 0:
            raise ParseError(f"empty {what}", offset=pos)
        sets.append(data[pos + 2:pos + 2 + n])
        pos += 2 + n
    return tuple(sets), pos


def _write_sets(sets: tuple[bytes, ...], what: str) -> bytes:
    out = []
    for s in sets:
        if not 0 < len(s) <= 0xFFFF:
            raise LocalProtocolError(f"{what} of {len(s)} bytes cannot be stored")
        out.append(len(s).to_bytes(2, "big") + s)
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class AVCDecoderConfigurationRecord:
    """``AVCDecoderConfigurationRecord``, field names as in ISO/IEC 14496-15.

    The high-profile fields (``chroma_format``, ``bit_depth_luma_minus8``,
    ``bit_depth_chroma_minus8``, ``sequence_parameter_set_ext``) are ``None`` when absent: the
    standard requires them for profiles 100, 110, 122 and 144, but many writers leave them out, so
    parsing accepts both. Bytes after the record are ignored (some muxers pad it).
    """

    avc_profile_indication: int
    profile_compatibility: int
    avc_level_indication: int
    length_size_minus_one: int
    sequence_parameter_sets: tuple[bytes, ...]
    picture_parameter_sets: tuple[bytes, ...]
    configuration_version: int = 1
    chroma_format: int | None = None
    bit_depth_luma_minus8: int | None = None
    bit_depth_chroma_minus8: int | None = None
    sequence_parameter_set_ext: tuple[bytes, ...] | None = None

    @property
    def length_size(self) -> int:
        """Bytes of each NAL unit length prefix in the samples (1, 2 or 4)."""
        return self.length_size_minus_one + 1

    @property
    def parameter_sets(self) -> tuple[bytes, ...]:
        """The SPS then PPS NAL units, as :attr:`mediaproto.media.Track.parameter_sets` holds them."""
        return self.sequence_parameter_sets + self.picture_parameter_sets

    @property
    def codec_string(self) -> str:
        """The RFC 6381 ``avc1.PPCCLL`` string."""
        return f"avc1.{self.avc_profile_indication:02X}{self.profile_compatibility:02X}{self.avc_level_indication:02X}"

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> AVCDecoderConfigurationRecord:
        """Parse a record. Raises :class:`~mediaproto.errors.ParseError` with the byte offset."""
        raw = bytes(data)
        if len(raw) < 7:
            raise ParseError("truncated AVCDecoderConfigurationRecord", offset=len(raw))
        if raw[0] != 1:
            raise ParseError(f"configurationVersion {raw[0]} is not 1", offset=0)
        length_size_minus_one = raw[4] & 3
        if length_size_minus_one == 2:
            raise ParseError("lengthSizeMinusOne 2 (3-byte lengths) is not allowed", offset=4)
        sps, pos = _read_sets(raw, 6, raw[5] & 0x1F, "sequence parameter set")
        if pos >= len(raw):
            raise ParseError("truncated numOfPictureParameterSets", offset=pos)
        pps, pos = _read_sets(raw, pos + 1, raw[pos], "picture parameter set")
        chroma_format = luma = chroma = None
        ext: tuple[bytes, ...] | None = None
        if raw[1] in EXTENDED_PROFILES and len(raw) - pos >= 4:
            chroma_format = raw[pos] & 3
            luma = raw[pos + 1] & 7
            chroma = raw[pos + 2] & 7
            ext, pos = _read_sets(raw, pos + 4, raw[pos + 3], "sequence parameter set extension")
        return cls(
            configuration_version=raw[0],
            avc_profile_indication=raw[1],
            profile_compatibility=raw[2],
            avc_level_indication=raw[3],
            length_size_minus_one=length_size_minus_one,
            sequence_parameter_sets=sps,
            picture_parameter_sets=pps,
            chroma_format=chroma_format,
            bit_depth_luma_minus8=luma,
            bit_depth_chroma_minus8=chroma,
            sequence_parameter_set_ext=ext,
        )

    def to_bytes(self) -> bytes:
        """Serialize (reserved bits set to 1, as the standard says)."""
        if self.length_size_minus_one not in (0, 1, 3):
            raise LocalProtocolError(f"length_size_minus_one must be 0, 1 or 3, not {self.length_size_minus_one}")
        if len(self.sequence_parameter_sets) > 31 or len(self.picture_parameter_sets) > 255:
            raise LocalProtocolError("too many parameter sets for an AVCDecoderConfigurationRecord")
        out = bytes((
            self.configuration_version, self.avc_profile_indication, self.profile_compatibility,
            self.avc_level_indication, 0xFC | self.length_size_minus_one,
            0xE0 | len(self.sequence_parameter_sets),
        ))
        out += _write_sets(self.sequence_parameter_sets, "SPS")
        out += bytes((len(self.picture_parameter_sets),)) + _write_sets(self.picture_parameter_sets, "PPS")
        if self.chroma_format is not None:
            ext = self.sequence_parameter_set_ext or ()
            if len(ext) > 255:
                raise LocalProtocolError("too many SPS extensions")
            out += bytes((
                0xFC | self.chroma_format, 0xF8 | (self.bit_depth_luma_minus8 or 0),
                0xF8 | (self.bit_depth_chroma_minus8 or 0), len(ext),
            ))
            out += _write_sets(ext, "SPS extension")
        return out

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def from_parameter_sets(
        cls,
        sps_list: list[bytes] | tuple[bytes, ...],
        pps_list: list[bytes] | tuple[bytes, ...],
        length_size: int = 4,
        sps_ext_list: list[bytes] | tuple[bytes, ...] = (),
    ) -> AVCDecoderConfigurationRecord:
        """Build a record from SPS and PPS NAL units (without start codes); profile,
        compatibility byte and level come from the first SPS, and for the high profiles the
        chroma format and bit depths too. Raises :class:`~mediaproto.errors.ParseError` when the
        first SPS does not parse, :class:`~mediaproto.errors.LocalProtocolError` without an SPS."""
        if not sps_list:
            raise LocalProtocolError("an AVCDecoderConfigurationRecord needs at least one SPS")
        if length_size not in (1, 2, 4):
            raise LocalProtocolError(f"length size must be 1, 2 or 4, not {length_size}")
        info = parse_sps(sps_list[0])
        extended = info.profile_idc in EXTENDED_PROFILES
        return cls(
            avc_profile_indication=info.profile_idc,
            profile_compatibility=info.constraint_flags | (sps_list[0][2] & 3),
            avc_level_indication=info.level_idc,
            length_size_minus_one=length_size - 1,
            sequence_parameter_sets=tuple(bytes(s) for s in sps_list),
            picture_parameter_sets=tuple(bytes(p) for p in pps_list),
            chroma_format=info.chroma_format_idc if extended else None,
            bit_depth_luma_minus8=info.bit_depth_luma - 8 if extended else None,
            bit_depth_chroma_minus8=info.bit_depth_chroma - 8 if extended else None,
            sequence_parameter_set_ext=tuple(bytes(e) for e in sps_ext_list) if extended else None,
        )
