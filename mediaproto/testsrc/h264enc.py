"""A minimal H.264 encoder: I_PCM IDR pictures and all-skip P pictures (ITU-T H.264).

Everything written is Constrained Baseline (``profile_idc`` 66, ``constraint_set0_flag`` and
``constraint_set1_flag`` set), CAVLC, one slice per picture, 4:2:0 8-bit:

* the sequence parameter set carries the frame cropping of sizes that are not whole macroblocks,
  and VUI with the timing (``num_units_in_tick``, ``time_scale``, ``fixed_frame_rate_flag``) and a
  bitstream restriction saying no frame is reordered;
* ``pic_order_cnt_type`` 2 (output order is decode order, no POC in slice headers); every picture
  is a reference picture, so ``frame_num`` counts up by one per picture (7.4.3);
* an IDR slice codes every macroblock as ``I_PCM`` (``mb_type`` 25, 7.3.5): after the alignment
  bits, 256 luma and 2 x 64 chroma samples are raw bytes, so a decoder outputs exactly what was
  drawn. With ``pcm_sample`` values never 0, a macroblock after the first always starts with the
  bytes ``0D 00`` (``ue(25)`` = ``0000 1101 0`` and seven alignment bits);
* a P slice is a single ``mb_skip_run`` covering the picture: every macroblock copies the previous
  picture (motion vector prediction gives (0, 0) when all neighbours are skipped).

The deblocking filter is disabled in every slice (``disable_deblocking_filter_idc`` 1); it would
not change I_PCM samples anyway (their QP is 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..bits import BitWriter, rbsp_to_ebsp
from ..errors import LocalProtocolError

__all__ = ["H264Params", "choose_level", "build_sps", "build_pps", "build_idr", "build_p", "PSkipCache"]

# NAL unit headers: forbidden_zero_bit, nal_ref_idc, nal_unit_type.
_NAL_SPS = 0x67  # ref_idc 3, type 7
_NAL_PPS = 0x68  # ref_idc 3, type 8
_NAL_IDR = 0x65  # ref_idc 3, type 5
_NAL_P = 0x41  # ref_idc 2, type 1 (coded slice of a non-IDR picture)

#: Bytes that start every I_PCM macroblock after the first of a slice: ``ue(25)`` then alignment.
PCM_MB_PREFIX = b"\x0d\x00"

# Table A-1: level_idc, MaxMBPS (MB/s), MaxFS (MBs), MaxBR (kbit/s, Baseline VCL).
_LEVELS: tuple[tuple[int, int, int, int], ...] = (
    (10, 1485, 99, 64),
    (11, 3000, 396, 192),
    (12, 6000, 396, 384),
    (13, 11880, 396, 768),
    (20, 11880, 396, 2000),
    (21, 19800, 792, 4000),
    (22, 20250, 1620, 4000),
    (30, 40500, 1620, 10000),
    (31, 108000, 3600, 14000),
    (32, 216000, 5120, 20000),
    (40, 245760, 8192, 20000),
    (41, 245760, 8192, 50000),
    (42, 522240, 8704, 50000),
    (50, 589824, 22080, 135000),
    (51, 983040, 36864, 240000),
    (52, 2073600, 36864, 240000),
)


def choose_level(mb_width: int, mb_height: int, frame_rate: Fraction, bit_rate: float) -> int:
    """The lowest ``level_idc`` of Table A-1 whose frame size, macroblock rate and Baseline bit rate
    hold the stream; the I_PCM pictures also need ``MaxMBPS >= 2 x`` the macroblock rate for the
    minimum compression ratio of A.3.1. Level 5.2 when nothing fits (decoders do not enforce it)."""
    frame_size = mb_width * mb_height
    mb_rate = frame_size * frame_rate
    for level_idc, max_mbps, max_fs, max_br in _LEVELS:
        side = int((8 * max_fs) ** 0.5)
        if (frame_size <= max_fs and mb_width <= side and mb_height <= side
                and 2 * mb_rate <= max_mbps and bit_rate <= max_br * 1000):
            return level_idc
    return 52


@dataclass(frozen=True, slots=True)
class H264Params:
    """What the parameter sets and slice headers depend on.

    :param width: visible width in pixels (even).
    :param height: visible height in pixels (even).
    :param frame_rate: frames per second, exact (``Fraction(30000, 1001)``).
    :param level_idc: the level written in the SPS.
    :param log2_max_frame_num: bits of ``frame_num`` (4..16).
    """

    width: int
    height: int
    frame_rate: Fraction
    level_idc: int
    log2_max_frame_num: int = 16

    @property
    def mb_width(self) -> int:
        """Picture width in macroblocks."""
        return (self.width + 15) // 16

    @property
    def mb_height(self) -> int:
        """Picture height in macroblocks."""
        return (self.height + 15) // 16

    @property
    def mb_count(self) -> int:
        """``PicSizeInMbs``."""
        return self.mb_width * self.mb_height


def _nal(header: int, w: BitWriter) -> bytes:
    w.write_trailing_bits()
    return rbsp_to_ebsp(bytes([header]) + w.getvalue())


def build_sps(p: H264Params) -> bytes:
    """The sequence parameter set NAL unit (7.3.2.1.1, VUI in E.1.1), with emulation prevention."""
    fr = p.frame_rate
    if fr.denominator >= 1 << 32 or 2 * fr.numerator >= 1 << 32:
        raise LocalProtocolError(f"frame rate {fr} does not fit the VUI timing fields")
    w = BitWriter()
    w.write(66, 8)  # profile_idc: Baseline
    w.write(0b11000000, 8)  # constraint_set0_flag, constraint_set1_flag: Constrained Baseline
    w.write(p.level_idc, 8)
    w.write_ue(0)  # seq_parameter_set_id
    w.write_ue(p.log2_max_frame_num - 4)
    w.write_ue(2)  # pic_order_cnt_type
    w.write_ue(1)  # max_num_ref_frames
    w.write(0, 1)  # gaps_in_frame_num_value_allowed_flag
    w.write_ue(p.mb_width - 1)  # pic_width_in_mbs_minus1
    w.write_ue(p.mb_height - 1)  # pic_height_in_map_units_minus1
    w.write(1, 1)  # frame_mbs_only_flag
    w.write(1, 1)  # direct_8x8_inference_flag
    crop_right = (p.mb_width * 16 - p.width) // 2  # CropUnitX = 2 for 4:2:0
    crop_bottom = (p.mb_height * 16 - p.height) // 2  # CropUnitY = 2 for 4:2:0, frames only
    if crop_right or crop_bottom:
        w.write(1, 1)  # frame_cropping_flag
        w.write_ue(0)  # frame_crop_left_offset
        w.write_ue(crop_right)
        w.write_ue(0)  # frame_crop_top_offset
        w.write_ue(crop_bottom)
    else:
        w.write(0, 1)
    w.write(1, 1)  # vui_parameters_present_flag
    w.write(1, 1)  # aspect_ratio_info_present_flag
    w.write(1, 8)  # aspect_ratio_idc: 1:1 (square samples)
    w.write(0, 1)  # overscan_info_present_flag
    w.write(1, 1)  # video_signal_type_present_flag
    w.write(5, 3)  # video_format: unspecified
    w.write(0, 1)  # video_full_range_flag: limited range
    w.write(1, 1)  # colour_description_present_flag
    w.write(6, 8)  # colour_primaries: SMPTE 170M (BT.601 525)
    w.write(6, 8)  # transfer_characteristics
    w.write(6, 8)  # matrix_coefficients
    w.write(0, 1)  # chroma_loc_info_present_flag
    w.write(1, 1)  # timing_info_present_flag
    w.write(fr.denominator, 32)  # num_units_in_tick
    w.write(2 * fr.numerator, 32)  # time_scale: two ticks per frame
    w.write(1, 1)  # fixed_frame_rate_flag
    w.write(0, 1)  # nal_hrd_parameters_present_flag
    w.write(0, 1)  # vcl_hrd_parameters_present_flag
    w.write(0, 1)  # pic_struct_present_flag
    w.write(1, 1)  # bitstream_restriction_flag
    w.write(1, 1)  # motion_vectors_over_pic_boundaries_flag
    w.write_ue(0)  # max_bytes_per_pic_denom
    w.write_ue(0)  # max_bits_per_mb_denom
    w.write_ue(15)  # log2_max_mv_length_horizontal
    w.write_ue(15)  # log2_max_mv_length_vertical
    w.write_ue(0)  # max_num_reorder_frames
    w.write_ue(1)  # max_dec_frame_buffering
    return _nal(_NAL_SPS, w)


def build_pps() -> bytes:
    """The picture parameter set NAL unit (7.3.2.2): CAVLC, one slice group, deblocking control."""
    w = BitWriter()
    w.write_ue(0)  # pic_parameter_set_id
    w.write_ue(0)  # seq_parameter_set_id
    w.write(0, 1)  # entropy_coding_mode_flag: CAVLC
    w.write(0, 1)  # bottom_field_pic_order_in_frame_present_flag
    w.write_ue(0)  # num_slice_groups_minus1
    w.write_ue(0)  # num_ref_idx_l0_default_active_minus1
    w.write_ue(0)  # num_ref_idx_l1_default_active_minus1
    w.write(0, 1)  # weighted_pred_flag
    w.write(0, 2)  # weighted_bipred_idc
    w.write_se(0)  # pic_init_qp_minus26
    w.write_se(0)  # pic_init_qs_minus26
    w.write_se(0)  # chroma_qp_index_offset
    w.write(1, 1)  # deblocking_filter_control_present_flag
    w.write(0, 1)  # constrained_intra_pred_flag
    w.write(0, 1)  # redundant_pic_cnt_present_flag
    return _nal(_NAL_PPS, w)


def build_idr(p: H264Params, idr_pic_id: int, macroblocks: list[bytes]) -> bytes:
    """An IDR slice NAL unit coding ``macroblocks`` (384-byte sample blocks, raster order, none
    containing a 0 sample) as I_PCM, with emulation prevention."""
    if len(macroblocks) != p.mb_count:
        raise LocalProtocolError(f"{len(macroblocks)} macroblocks for a picture of {p.mb_count}")
    w = BitWriter()
    w.write(_NAL_IDR, 8)
    w.write_ue(0)  # first_mb_in_slice
    w.write_ue(7)  # slice_type: I, all slices of the picture
    w.write_ue(0)  # pic_parameter_set_id
    w.write(0, p.log2_max_frame_num)  # frame_num
    w.write_ue(idr_pic_id)
    w.write(0, 1)  # no_output_of_prior_pics_flag
    w.write(0, 1)  # long_term_reference_flag
    w.write_se(0)  # slice_qp_delta
    w.write_ue(1)  # disable_deblocking_filter_idc
    w.write_ue(25)  # mb_type of the first macroblock: I_PCM
    w.align_zero()  # pcm_alignment_zero_bit
    head = w.getvalue()
    body = PCM_MB_PREFIX.join(macroblocks)
    return rbsp_to_ebsp(b"".join((head, body, b"\x80")))  # rbsp_stop_one_bit + alignment


def build_p(p: H264Params, frame_num: int) -> bytes:
    """A P slice NAL unit whose macroblocks are all skipped, with emulation prevention."""
    w = BitWriter()
    w.write_ue(0)  # first_mb_in_slice
    w.write_ue(5)  # slice_type: P, all slices of the picture
    w.write_ue(0)  # pic_parameter_set_id
    w.write(frame_num, p.log2_max_frame_num)
    w.write(0, 1)  # num_ref_idx_active_override_flag
    w.write(0, 1)  # ref_pic_list_modification_flag_l0
    w.write(0, 1)  # adaptive_ref_pic_marking_mode_flag
    w.write_se(0)  # slice_qp_delta
    w.write_ue(1)  # disable_deblocking_filter_idc
    w.write_ue(p.mb_count)  # mb_skip_run: the whole picture
    return _nal(_NAL_P, w)


class PSkipCache:
    """The all-skip P slices of a stream, built once per ``frame_num`` and reused."""

    __slots__ = ("_params", "_cache")

    def __init__(self, params: H264Params) -> None:
        self._params = params
        self._cache: dict[int, bytes] = {}

    def get(self, frame_num: int) -> bytes:
        """The P slice NAL unit with this ``frame_num``."""
        nal = self._cache.get(frame_num)
        if nal is None:
            nal = self._cache[frame_num] = build_p(self._params, frame_num)
        return nal
