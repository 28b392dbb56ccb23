"""H.265 sequence parameter set (ITU-T H.265 section 7.3.2.2.1) up to the bit depths, with the
profile_tier_level() of section 7.3.3. Use it through :mod:`mediaproto.codecs.h265`, which
re-exports :class:`HevcSpsInfo` (also as ``SpsInfo``), :func:`parse_sps`,
:class:`ProfileTierLevel` and :func:`profile_name`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..bits import BitReader, ebsp_to_rbsp
from ..errors import ParseError
from .h265_vui import read_vui_timing

__all__ = ["ProfileTierLevel", "HevcSpsInfo", "parse_sps", "parse_profile_tier_level", "profile_name"]

_PROFILE_NAMES = {1: "Main", 2: "Main 10", 3: "Main Still Picture", 4: "Rext", 9: "SCC"}

NAL_SPS = 33


def profile_name(general_profile_idc: int, general_profile_compatibility_flags: int = 0) -> str:
    """The profile's name as FFmpeg prints it (``"Main"``, ``"Main 10"``, ``"Rext"``). When
    ``general_profile_idc`` is 0 the lowest compatible profile flagged is named."""
    idc = general_profile_idc
    if idc == 0:
        for j in range(1, 32):
            if general_profile_compatibility_flags & (1 << (31 - j)):
                idc = j
                break
    return _PROFILE_NAMES.get(idc, f"profile {idc}")


@dataclass(frozen=True, slots=True)
class ProfileTierLevel:
    """The general part of ``profile_tier_level()`` (section 7.3.3); the 48 bits from
    ``general_progressive_source_flag`` on are kept as ``general_constraint_indicator_flags`` (as
    the HEVCDecoderConfigurationRecord stores them)."""

    general_profile_space: int
    general_tier_flag: int
    general_profile_idc: int
    general_profile_compatibility_flags: int
    general_constraint_indicator_flags: int
    general_level_idc: int

    @property
    def profile_name(self) -> str:
        """The profile's name as FFmpeg prints it."""
        return profile_name(self.general_profile_idc, self.general_profile_compatibility_flags)

    @property
    def tier(self) -> str:
        """``"Main"`` or ``"High"``."""
        return "High" if self.general_tier_flag else "Main"

    @property
    def level(self) -> float:
        """The level number: ``general_level_idc / 30`` (3.1 for 93)."""
        return round(self.general_level_idc / 30, 1)


def parse_profile_tier_level(r: BitReader, max_sub_layers_minus1: int) -> ProfileTierLevel:
    """Read ``profile_tier_level(1, max_sub_layers_minus1)`` from ``r``."""
    space = r.read(2)
    tier = r.read(1)
    idc = r.read(5)
    compat = r.read(32)
    constraints = r.read(48)
    level = r.read(8)
    present = []
    for _ in range(max_sub_layers_minus1):
        present.append((r.read_flag(), r.read_flag()))
    if max_sub_layers_minus1 > 0:
        r.skip(2 * (8 - max_sub_layers_minus1))
    for profile_present, level_present in present:
        if profile_present:
            r.skip(88)
        if level_present:
            r.skip(8)
    return ProfileTierLevel(space, tier, idc, compat, constraints, level)


@dataclass(frozen=True, slots=True, kw_only=True)
class HevcSpsInfo:
    """The leading fields of an H.265 SPS, named as in the standard, and :attr:`width` /
    :attr:`height` after the conformance window. Bit depths are values (8, 10 ...)."""

    sps_video_parameter_set_id: int
    sps_max_sub_layers_minus1: int
    sps_temporal_id_nesting_flag: bool
    profile_tier_level: ProfileTierLevel
    sps_seq_parameter_set_id: int
    chroma_format_idc: int
    separate_colour_plane_flag: bool
    pic_width_in_luma_samples: int
    pic_height_in_luma_samples: int
    conformance_window_flag: bool
    conf_win_left_offset: int
    conf_win_right_offset: int
    conf_win_top_offset: int
    conf_win_bottom_offset: int
    bit_depth_luma: int
    bit_depth_chroma: int
    log2_max_pic_order_cnt_lsb_minus4: int
    width: int
    height: int
    #: ``sps_max_dec_pic_buffering_minus1``, ``sps_max_num_reorder_pics`` and
    #: ``sps_max_latency_increase_plus1`` of the highest sub-layer (``HighestTid``); ``None`` when
    #: the SPS given ends before them (a truncated SPS, as some tests build).
    sps_max_dec_pic_buffering_minus1: int | None = None
    sps_max_num_reorder_pics: int | None = None
    sps_max_latency_increase_plus1: int | None = None
    #: ``vui_num_units_in_tick`` and ``vui_time_scale`` of the VUI timing info; ``None`` when absent
    #: (or when the SPS's tail before them does not parse: they are optional, the fields above are not).
    vui_num_units_in_tick: int | None = None
    vui_time_scale: int | None = None

    @property
    def frame_rate(self) -> Fraction | None:
        """Pictures per second from the VUI timing (``vui_time_scale / vui_num_units_in_tick``), or
        ``None`` when the SPS does not say."""
        if not self.vui_num_units_in_tick or not self.vui_time_scale:
            return None
        return Fraction(self.vui_time_scale, self.vui_num_units_in_tick)

    @property
    def general_profile_idc(self) -> int:
        """``general_profile_idc`` of the profile_tier_level."""
        return self.profile_tier_level.general_profile_idc

    @property
    def general_level_idc(self) -> int:
        """``general_level_idc`` (30 times the level: 93 is level 3.1), as ffprobe's ``level``."""
        return self.profile_tier_level.general_level_idc

    @property
    def general_tier_flag(self) -> int:
        """0 for the Main tier, 1 for High."""
        return self.profile_tier_level.general_tier_flag

    @property
    def profile_name(self) -> str:
        """The profile's name as FFmpeg prints it."""
        return self.profile_tier_level.profile_name

    @property
    def codec_string(self) -> str:
        """The RFC 6381 / ISO 14496-15 annex E ``hvc1`` codecs string, e.g. ``hvc1.1.6.L93.B0``."""
        ptl = self.profile_tier_level
        space = "" if ptl.general_profile_space == 0 else "ABC"[ptl.general_profile_space - 1]
        compat = int(f"{ptl.general_profile_compatibility_flags:032b}"[::-1], 2)
        constraint_bytes = ptl.general_constraint_indicator_flags.to_bytes(6, "big").rstrip(b"\x00")
        tail = "".join(f".{b:X}" for b in constraint_bytes)
        tier = "H" if ptl.general_tier_flag else "L"
        return f"hvc1.{space}{ptl.general_profile_idc}.{compat:X}.{tier}{ptl.general_level_idc}{tail}"


def _ue(r: BitReader, limit: int, name: str) -> int:
    start = r.position // 8
    value = r.read_ue()
    if value > limit:
        raise ParseError(f"{name} {value} out of range (max {limit})", offset=start)
    return value


def parse_sps(nal: bytes | bytearray | memoryview) -> HevcSpsInfo:
    """Parse an H.265 SPS NAL unit (with its 2-byte NAL header, without start code) up to
    ``log2_max_pic_order_cnt_lsb_minus4`` and the sub-layer ordering info after it. Raises :class:`~mediaproto.errors.ParseError`."""
    raw = bytes(nal)
    if len(raw) <= 2:
        raise ParseError("SPS NAL unit too short", offset=0)
    if raw[0] & 0x80:
        raise ParseError("forbidden_zero_bit set in NAL header", offset=0)
    if (raw[0] >> 1) & 0x3F != NAL_SPS:
        raise ParseError(f"not an SPS NAL unit (type {(raw[0] >> 1) & 0x3F})", offset=0)
    r = BitReader(ebsp_to_rbsp(raw))
    r.skip(16)
    vps_id = r.read(4)
    max_sub_layers_minus1 = r.read(3)
    if max_sub_layers_minus1 > 6:
        raise ParseError(f"sps_max_sub_layers_minus1 {max_sub_layers_minus1} out of range", offset=2)
    nesting = r.read_flag()
    ptl = parse_profile_tier_level(r, max_sub_layers_minus1)
    sps_id = _ue(r, 15, "sps_seq_parameter_set_id")
    chroma_format_idc = _ue(r, 3, "chroma_format_idc")
    separate = r.read_flag() if chroma_format_idc == 3 else False
    pic_width = _ue(r, 1 << 16, "pic_width_in_luma_samples")
    pic_height = _ue(r, 1 << 16, "pic_height_in_luma_samples")
    window = r.read_flag()
    conf = [r.read_ue() for _ in range(4)] if window else [0, 0, 0, 0]
    bit_depth_luma = _ue(r, 8, "bit_depth_luma_minus8") + 8
    bit_depth_chroma = _ue(r, 8, "bit_depth_chroma_minus8") + 8
    log2_poc = _ue(r, 12, "log2_max_pic_order_cnt_lsb_minus4")
    ordering: list[int | None] = [None, None, None]
    timing: tuple[int, int] | None = None
    if r.more_rbsp_data():
        first = 0 if r.read_flag() else max_sub_layers_minus1  # sps_sub_layer_ordering_info_present_flag
        for _ in range(first, max_sub_layers_minus1 + 1):
            buffering = _ue(r, 15, "sps_max_dec_pic_buffering_minus1")
            ordering = [buffering, _ue(r, buffering, "sps_max_num_reorder_pics"),
                        _ue(r, 0xFFFFFFFE, "sps_max_latency_increase_plus1")]
        if r.more_rbsp_data():
            try:
                timing = read_vui_timing(r, log2_poc + 4)
            except ParseError:
                timing = None
    chroma_array_type = 0 if separate else chroma_format_idc
    sub_width = 2 if chroma_array_type in (1, 2) else 1
    sub_height = 2 if chroma_array_type == 1 else 1
    width = pic_width - sub_width * (conf[0] + conf[1])
    height = pic_height - sub_height * (conf[2] + conf[3])
    if width <= 0 or height <= 0:
        raise ParseError(f"conformance window leaves a {width}x{height} picture", offset=2)
    return HevcSpsInfo(
        sps_video_parameter_set_id=vps_id,
        sps_max_sub_layers_minus1=max_sub_layers_minus1,
        sps_temporal_id_nesting_flag=nesting,
        profile_tier_level=ptl,
        sps_seq_parameter_set_id=sps_id,
        chroma_format_idc=chroma_format_idc,
        separate_colour_plane_flag=separate,
        pic_width_in_luma_samples=pic_width,
        pic_height_in_luma_samples=pic_height,
        conformance_window_flag=window,
        conf_win_left_offset=conf[0],
        conf_win_right_offset=conf[1],
        conf_win_top_offset=conf[2],
        conf_win_bottom_offset=conf[3],
        bit_depth_luma=bit_depth_luma,
        bit_depth_chroma=bit_depth_chroma,
        log2_max_pic_order_cnt_lsb_minus4=log2_poc,
        width=width,
        height=height,
        sps_max_dec_pic_buffering_minus1=ordering[0],
        sps_max_num_reorder_pics=ordering[1],
        sps_max_latency_increase_plus1=ordering[2],
        vui_num_units_in_tick=timing[0] if timing else None,
        vui_time_scale=timing[1] if timing else None,
    )
