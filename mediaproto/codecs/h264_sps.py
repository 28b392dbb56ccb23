"""H.264 parameter sets: the sequence parameter set (ITU-T H.264 section 7.3.2.1.1, VUI in annex
E.1.1) and the ids at the start of a picture parameter set (section 7.3.2.2).

Use it through :mod:`mediaproto.codecs.h264`, which re-exports :class:`SpsInfo`, :func:`parse_sps`,
:func:`parse_pps_id` and :func:`profile_name`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..bits import BitReader, ebsp_to_rbsp
from ..errors import ParseError

__all__ = ["SpsInfo", "parse_sps", "parse_pps_id", "profile_name", "HIGH_PROFILES"]

#: ``profile_idc`` values whose SPS carries chroma_format_idc, bit depths and scaling lists.
HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})

_PROFILE_NAMES = {
    66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10", 122: "High 4:2:2",
    244: "High 4:4:4 Predictive", 44: "CAVLC 4:4:4", 83: "Scalable Baseline", 86: "Scalable High",
    118: "Multiview High", 128: "Stereo High", 138: "Multiview Depth High",
}
_INTRA_NAMES = {110: "High 10 Intra", 122: "High 4:2:2 Intra", 244: "High 4:4:4 Intra", 44: "CAVLC 4:4:4"}

# Table E-1: sample aspect ratios of aspect_ratio_idc 1..16.
_SAR = {
    1: (1, 1), 2: (12, 11), 3: (10, 11), 4: (16, 11), 5: (40, 33), 6: (24, 11), 7: (20, 11),
    8: (32, 11), 9: (80, 33), 10: (18, 11), 11: (15, 11), 12: (64, 33), 13: (160, 99), 14: (4, 3),
    15: (3, 2), 16: (2, 1),
}
_EXTENDED_SAR = 255


def profile_name(profile_idc: int, constraint_flags: int = 0) -> str:
    """The profile's name as FFmpeg/ffprobe print it (``"Constrained Baseline"``, ``"High"``,
    ``"High 10 Intra"``). ``constraint_flags`` is the byte after ``profile_idc`` (constraint_set0
    in its most significant bit)."""
    if profile_idc == 66 and constraint_flags & 0x40:
        return "Constrained Baseline"
    if profile_idc in _INTRA_NAMES and constraint_flags & 0x10:
        return _INTRA_NAMES[profile_idc]
    return _PROFILE_NAMES.get(profile_idc, f"profile {profile_idc}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpsInfo:
    """The fields of an H.264 sequence parameter set, named as in the standard, plus the values a
    user wants from them: :attr:`width`, :attr:`height` (after frame cropping),
    :attr:`frame_rate` (from the VUI timing, ``None`` when absent) and :attr:`profile_name`.

    Bit depths are given as values (8, 10 ...), not ``_minus8``; VUI fields are ``None`` when
    their part of the VUI is absent.
    """

    profile_idc: int
    constraint_set0_flag: bool
    constraint_set1_flag: bool
    constraint_set2_flag: bool
    constraint_set3_flag: bool
    constraint_set4_flag: bool
    constraint_set5_flag: bool
    level_idc: int
    seq_parameter_set_id: int
    chroma_format_idc: int
    separate_colour_plane_flag: bool
    bit_depth_luma: int
    bit_depth_chroma: int
    qpprime_y_zero_transform_bypass_flag: bool
    seq_scaling_matrix_present_flag: bool
    log2_max_frame_num_minus4: int
    pic_order_cnt_type: int
    log2_max_pic_order_cnt_lsb_minus4: int | None
    delta_pic_order_always_zero_flag: bool | None
    #: pic_order_cnt_type 1 only (section 7.4.2.1.1): ``offset_for_non_ref_pic``,
    #: ``offset_for_top_to_bottom_field`` and the ``offset_for_ref_frame`` list.
    offset_for_non_ref_pic: int = 0
    offset_for_top_to_bottom_field: int = 0
    offset_for_ref_frame: tuple[int, ...] = ()
    max_num_ref_frames: int
    gaps_in_frame_num_value_allowed_flag: bool
    pic_width_in_mbs_minus1: int
    pic_height_in_map_units_minus1: int
    frame_mbs_only_flag: bool
    mb_adaptive_frame_field_flag: bool
    direct_8x8_inference_flag: bool
    frame_cropping_flag: bool
    frame_crop_left_offset: int
    frame_crop_right_offset: int
    frame_crop_top_offset: int
    frame_crop_bottom_offset: int
    vui_parameters_present_flag: bool
    aspect_ratio_idc: int | None = None
    sar_width: int | None = None
    sar_height: int | None = None
    video_format: int | None = None
    video_full_range_flag: bool | None = None
    colour_primaries: int | None = None
    transfer_characteristics: int | None = None
    matrix_coefficients: int | None = None
    timing_info_present_flag: bool = False
    num_units_in_tick: int | None = None
    time_scale: int | None = None
    fixed_frame_rate_flag: bool | None = None
    max_num_reorder_frames: int | None = None
    max_dec_frame_buffering: int | None = None
    width: int
    height: int

    @property
    def constraint_flags(self) -> int:
        """The byte after ``profile_idc``: constraint_set0..5 flags and two reserved zero bits."""
        flags = (self.constraint_set0_flag, self.constraint_set1_flag, self.constraint_set2_flag,
                 self.constraint_set3_flag, self.constraint_set4_flag, self.constraint_set5_flag)
        return sum(0x80 >> i for i, f in enumerate(flags) if f)

    @property
    def frame_mbs_only(self) -> bool:
        """Whether every picture is a frame (progressive), as ``frame_mbs_only_flag``."""
        return self.frame_mbs_only_flag

    @property
    def profile_name(self) -> str:
        """The profile's name as FFmpeg prints it."""
        return profile_name(self.profile_idc, self.constraint_flags)

    @property
    def codec_string(self) -> str:
        """The RFC 6381 ``avc1.PPCCLL`` string (HLS ``CODECS``, DASH, MSE)."""
        return f"avc1.{self.profile_idc:02X}{self.constraint_flags:02X}{self.level_idc:02X}"

    @property
    def frame_rate(self) -> Fraction | None:
        """Frames per second from the VUI timing: ``time_scale / (2 * num_units_in_tick)``
        (a tick is a field period), or ``None`` when the SPS does not say."""
        if not self.num_units_in_tick or not self.time_scale:
            return None
        return Fraction(self.time_scale, 2 * self.num_units_in_tick)

    @property
    def sample_aspect_ratio(self) -> Fraction | None:
        """The sample (pixel) aspect ratio from the VUI, or ``None`` when unspecified."""
        if self.aspect_ratio_idc == _EXTENDED_SAR:
            if self.sar_width and self.sar_height:
                return Fraction(self.sar_width, self.sar_height)
            return None
        if self.aspect_ratio_idc in _SAR:
            return Fraction(*_SAR[self.aspect_ratio_idc])
        return None


def _skip_scaling_list(r: BitReader, size: int) -> None:
    last = 8
    nxt = 8
    for _ in range(size):
        if nxt != 0:
            delta = r.read_se()
            if not -128 <= delta <= 127:
                raise ParseError(f"delta_scale {delta} out of range", offset=r.position // 8)
            nxt = (last + delta + 256) % 256
        last = last if nxt == 0 else nxt


def _skip_hrd(r: BitReader) -> None:
    cpb_cnt = r.read_ue() + 1
    if cpb_cnt > 32:
        raise ParseError(f"cpb_cnt_minus1 {cpb_cnt - 1} out of range", offset=r.position // 8)
    r.skip(8)  # bit_rate_scale, cpb_size_scale
    for _ in range(cpb_cnt):
        r.read_ue()
        r.read_ue()
        r.skip(1)
    r.skip(20)  # initial_cpb_removal_delay_length_minus1 .. time_offset_length


def _reader(nal: bytes | bytearray | memoryview, expected_type: int, what: str) -> BitReader:
    raw = bytes(nal)
    if len(raw) <= 1:
        raise ParseError(f"{what} NAL unit too short", offset=0)
    if raw[0] & 0x80:
        raise ParseError("forbidden_zero_bit set in NAL header", offset=0)
    if raw[0] & 0x1F != expected_type:
        raise ParseError(f"not a {what} NAL unit (type {raw[0] & 0x1F})", offset=0)
    r = BitReader(ebsp_to_rbsp(raw))
    r.skip(8)
    return r


def _ue(r: BitReader, limit: int, name: str) -> int:
    start = r.position // 8
    value = r.read_ue()
    if value > limit:
        raise ParseError(f"{name} {value} out of range (max {limit})", offset=start)
    return value


def parse_sps(nal: bytes | bytearray | memoryview) -> SpsInfo:
    """Parse an SPS NAL unit (with its 1-byte NAL header, without start code).

    Scaling lists of the high profiles are read and skipped; the VUI is read up to the bitstream
    restriction fields. Raises :class:`~mediaproto.errors.ParseError` (offsets count from the
    NAL header, ignoring emulation-prevention bytes) on malformed input.
    """
    r = _reader(nal, 7, "SPS")
    profile_idc = r.read(8)
    flags = r.read(8)
    level_idc = r.read(8)
    sps_id = _ue(r, 31, "seq_parameter_set_id")
    chroma_format_idc = 1
    separate_colour_plane = False
    bit_depth_luma = bit_depth_chroma = 8
    bypass = False
    scaling = False
    if profile_idc in HIGH_PROFILES:
        chroma_format_idc = _ue(r, 3, "chroma_format_idc")
        if chroma_format_idc == 3:
            separate_colour_plane = r.read_flag()
        bit_depth_luma = _ue(r, 6, "bit_depth_luma_minus8") + 8
        bit_depth_chroma = _ue(r, 6, "bit_depth_chroma_minus8") + 8
        bypass = r.read_flag()
        scaling = r.read_flag()
        if scaling:
            for i in range(8 if chroma_format_idc != 3 else 12):
                if r.read_flag():
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    log2_max_frame_num_minus4 = _ue(r, 12, "log2_max_frame_num_minus4")
    poc_type = _ue(r, 2, "pic_order_cnt_type")
    log2_poc_lsb: int | None = None
    delta_always_zero: bool | None = None
    poc_offsets: dict[str, object] = {}
    if poc_type == 0:
        log2_poc_lsb = _ue(r, 12, "log2_max_pic_order_cnt_lsb_minus4")
    elif poc_type == 1:
        delta_always_zero = r.read_flag()
        poc_offsets["offset_for_non_ref_pic"] = r.read_se()
        poc_offsets["offset_for_top_to_bottom_field"] = r.read_se()
        poc_offsets["offset_for_ref_frame"] = tuple(
            r.read_se() for _ in range(_ue(r, 255, "num_ref_frames_in_pic_order_cnt_cycle")))
    max_num_ref_frames = r.read_ue()
    gaps = r.read_flag()
    width_mbs = _ue(r, 1 << 16, "pic_width_in_mbs_minus1")
    height_map_units = _ue(r, 1 << 16, "pic_height_in_map_units_minus1")
    frame_mbs_only = r.read_flag()
    mbaff = False if frame_mbs_only else r.read_flag()
    direct_8x8 = r.read_flag()
    cropping = r.read_flag()
    crop = [r.read_ue() for _ in range(4)] if cropping else [0, 0, 0, 0]
    vui_present = r.read_flag()
    vui: dict[str, object] = _parse_vui(r) if vui_present else {}

    chroma_array_type = 0 if separate_colour_plane else chroma_format_idc
    sub_width = 2 if chroma_array_type in (1, 2) else 1
    sub_height = 2 if chroma_array_type == 1 else 1
    crop_unit_x = 1 if chroma_array_type == 0 else sub_width
    crop_unit_y = (2 - frame_mbs_only) * (1 if chroma_array_type == 0 else sub_height)
    width = (width_mbs + 1) * 16 - crop_unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * (height_map_units + 1) * 16 - crop_unit_y * (crop[2] + crop[3])
    if width <= 0 or height <= 0:
        raise ParseError(f"frame cropping leaves a {width}x{height} picture", offset=0)
    return SpsInfo(
        profile_idc=profile_idc,
        constraint_set0_flag=bool(flags & 0x80),
        constraint_set1_flag=bool(flags & 0x40),
        constraint_set2_flag=bool(flags & 0x20),
        constraint_set3_flag=bool(flags & 0x10),
        constraint_set4_flag=bool(flags & 0x08),
        constraint_set5_flag=bool(flags & 0x04),
        level_idc=level_idc,
        seq_parameter_set_id=sps_id,
        chroma_format_idc=chroma_format_idc,
        separate_colour_plane_flag=separate_colour_plane,
        bit_depth_luma=bit_depth_luma,
        bit_depth_chroma=bit_depth_chroma,
        qpprime_y_zero_transform_bypass_flag=bypass,
        seq_scaling_matrix_present_flag=scaling,
        log2_max_frame_num_minus4=log2_max_frame_num_minus4,
        pic_order_cnt_type=poc_type,
        log2_max_pic_order_cnt_lsb_minus4=log2_poc_lsb,
        delta_pic_order_always_zero_flag=delta_always_zero,
        max_num_ref_frames=max_num_ref_frames,
        gaps_in_frame_num_value_allowed_flag=gaps,
        pic_width_in_mbs_minus1=width_mbs,
        pic_height_in_map_units_minus1=height_map_units,
        frame_mbs_only_flag=frame_mbs_only,
        mb_adaptive_frame_field_flag=mbaff,
        direct_8x8_inference_flag=direct_8x8,
        frame_cropping_flag=cropping,
        frame_crop_left_offset=crop[0],
        frame_crop_right_offset=crop[1],
        frame_crop_top_offset=crop[2],
        frame_crop_bottom_offset=crop[3],
        vui_parameters_present_flag=vui_present,
        width=width,
        height=height,
        **poc_offsets,  # type: ignore[arg-type]
        **vui,  # type: ignore[arg-type]
    )


def _parse_vui(r: BitReader) -> dict[str, object]:
    """vui_parameters() (annex E.1.1), returning the fields SpsInfo keeps."""
    out: dict[str, object] = {}
    if r.read_flag():  # aspect_ratio_info_present_flag
        idc = r.read(8)
        out["aspect_ratio_idc"] = idc
        if idc == _EXTENDED_SAR:
            out["sar_width"] = r.read(16)
            out["sar_height"] = r.read(16)
    if r.read_flag():  # overscan_info_present_flag
        r.skip(1)
    if r.read_flag():  # video_signal_type_present_flag
        out["video_format"] = r.read(3)
        out["video_full_range_flag"] = r.read_flag()
        if r.read_flag():  # colour_description_present_flag
            out["colour_primaries"] = r.read(8)
            out["transfer_characteristics"] = r.read(8)
            out["matrix_coefficients"] = r.read(8)
    if r.read_flag():  # chroma_loc_info_present_flag
        r.read_ue()
        r.read_ue()
    timing = r.read_flag()
    out["timing_info_present_flag"] = timing
    if timing:
        out["num_units_in_tick"] = r.read(32)
        out["time_scale"] = r.read(32)
        out["fixed_frame_rate_flag"] = r.read_flag()
    nal_hrd = r.read_flag()
    if nal_hrd:
        _skip_hrd(r)
    vcl_hrd = r.read_flag()
    if vcl_hrd:
        _skip_hrd(r)
    if nal_hrd or vcl_hrd:
        r.skip(1)  # low_delay_hrd_flag
    r.skip(1)  # pic_struct_present_flag
    if r.read_flag():  # bitstream_restriction_flag
        r.skip(1)
        for _ in range(4):
            r.read_ue()
        out["max_num_reorder_frames"] = r.read_ue()
        out["max_dec_frame_buffering"] = r.read_ue()
    return out


def parse_pps_id(nal: bytes | bytearray | memoryview) -> tuple[int, int]:
    """``(pic_parameter_set_id, seq_parameter_set_id)`` of a PPS NAL unit (with its header)."""
    r = _reader(nal, 8, "PPS")
    pps_id = _ue(r, 255, "pic_parameter_set_id")
    sps_id = _ue(r, 31, "seq_parameter_set_id")
    return pps_id, sps_id
