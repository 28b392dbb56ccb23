"""Hand-made H.264 and H.265 streams for the decode-time tests: parameter sets and slice headers
written from the syntax tables (ITU-T H.264 7.3.3, H.265 7.3.2.2.1, 7.3.2.3.1 and 7.3.6.1), and
GOP structures with their presentation order.

A GOP here is a list of pictures in decode order, each with its presentation index; the reorder
depth of such a list is computed by definition (the frames before a frame in decode order that
come after it in output order), independently of the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from mediaproto.bits import BitWriter, rbsp_to_ebsp

from .h264_build import SpsFields, build_pps, build_sps

__all__ = ["Picture", "reorder_depth", "gops", "h264_sps", "h264_pps", "h264_slice", "h265_sps", "h265_pps",
           "h265_slice", "H264_LOG2_POC_LSB"]

#: h264_build writes log2_max_pic_order_cnt_lsb_minus4 = 2: pic_order_cnt_lsb has 6 bits (wraps at 64).
H264_LOG2_POC_LSB = 6
#: h264_build writes log2_max_frame_num_minus4 = 0 unless told: frame_num has 4 bits.
H264_LOG2_FRAME_NUM = 4


@dataclass(frozen=True)
class Picture:
    """A picture in decode order: ``shown`` is its index in output order (over the whole stream),
    ``idr`` starts a new POC sequence, ``ref`` whether others refer to it."""

    shown: int
    idr: bool
    ref: bool


def reorder_depth(pictures: list[Picture]) -> int:
    """max over pictures of the number of pictures before it in decode order and after it in output order."""
    return max((sum(1 for q in pictures[:i] if q.shown > p.shown) for i, p in enumerate(pictures)), default=0)


@st.composite
def gops(draw: st.DrawFn, max_b: int = 3, max_minigops: int = 12) -> list[Picture]:
    """A stream of closed GOPs: an IDR, then mini-GOPs of an anchor (P) followed by up to
    ``max_b`` B-pictures in any decode order; IDRs now and then."""
    pictures = [Picture(0, True, True)]
    shown = 1
    for _ in range(draw(st.integers(1, max_minigops))):
        if draw(st.integers(0, 5)) == 0:
            pictures.append(Picture(shown, True, True))
            shown += 1
            continue
        b = draw(st.integers(0, max_b))
        pictures.append(Picture(shown + b, False, True))
        order = draw(st.permutations(list(range(shown, shown + b))))
        pictures.extend(Picture(s, False, draw(st.booleans())) for s in order)
        shown += b + 1
    return pictures


def h264_sps(*, profile_idc: int = 77, poc_type: int = 0, reorder: int | None = None,
             fps: int | None = 25, offsets_for_ref_frame: list[int] | None = None) -> bytes:
    """An SPS: Main profile, POC type ``poc_type``; ``reorder`` as max_num_reorder_frames in the
    VUI bitstream restriction (``None``: no restriction); ``fps`` in the VUI timing."""
    return build_sps(SpsFields(
        profile_idc=profile_idc, constraint_flags=0, pic_order_cnt_type=poc_type,
        offsets_for_ref_frame=offsets_for_ref_frame or [], max_num_ref_frames=4,
        timing=(1, 2 * fps) if fps else None,
        bitstream_restriction=(reorder, max(reorder, 4)) if reorder is not None else None))


def h264_pps() -> bytes:
    """A PPS (id 0, SPS 0, bottom_field_pic_order_in_frame_present_flag 0)."""
    return build_pps(0, 0)


def h264_slice(*, idr: bool, ref: bool, frame_num: int, poc_lsb: int | None = None,
               delta_poc: int | None = None, slice_type: int = 0, idr_pic_id: int = 0) -> bytes:
    """A slice NAL unit of a frame (frame_mbs_only) whose header is written up to its POC fields,
    then some slice data bits: POC type 0 takes ``poc_lsb``, type 1 ``delta_poc`` (delta_pic_order_cnt[0])."""
    w = BitWriter()
    w.write_ue(0)  # first_mb_in_slice
    w.write_ue(slice_type)
    w.write_ue(0)  # pic_parameter_set_id
    w.write(frame_num % (1 << H264_LOG2_FRAME_NUM), H264_LOG2_FRAME_NUM)
    if idr:
        w.write_ue(idr_pic_id)
    if poc_lsb is not None:
        w.write(poc_lsb % (1 << H264_LOG2_POC_LSB), H264_LOG2_POC_LSB)
    if delta_poc is not None:
        w.write_se(delta_poc)
    w.write(0x5A5A, 16)  # stands for the rest of the slice
    w.write_trailing_bits()
    header = (3 if ref else 0) << 5 | (5 if idr else 1)
    return bytes([header]) + rbsp_to_ebsp(w.getvalue())


def _ptl(w: BitWriter) -> None:
    w.write(0, 2)
    w.write(0, 1)
    w.write(1, 5)  # Main
    w.write(0x60000000, 32)
    w.write(0x900000000000, 48)
    w.write(93, 8)


def _h265_sps_tail(w: BitWriter, log2_poc_lsb: int, timing: tuple[int, int]) -> None:
    """The SPS after the sub-layer ordering info, every optional part present (7.3.2.2.1, 7.3.4,
    7.3.7, E.2.1), ending with the VUI timing ``(num_units_in_tick, time_scale)``."""
    for v in (0, 3, 0, 3, 1, 1):  # coding and transform block sizes, hierarchy depths
        w.write_ue(v)
    w.write_flag(True)  # scaling_list_enabled_flag
    w.write_flag(True)  # sps_scaling_list_data_present_flag
    for size_id in range(4):
        for matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            explicit = matrix_id % 2 == 0
            w.write_flag(explicit)  # scaling_list_pred_mode_flag
            if not explicit:
                w.write_ue(0)  # scaling_list_pred_matrix_id_delta
                continue
            if size_id > 1:
                w.write_se(8)  # scaling_list_dc_coef_minus8
            for k in range(min(64, 1 << (4 + (size_id << 1)))):
                w.write_se(1 if k % 3 else -2)
    w.write_flag(True)  # amp_enabled_flag
    w.write_flag(True)  # sample_adaptive_offset_enabled_flag
    w.write_flag(True)  # pcm_enabled_flag
    w.write(7, 4)
    w.write(7, 4)
    w.write_ue(0)
    w.write_ue(1)
    w.write_flag(False)
    w.write_ue(3)  # num_short_term_ref_pic_sets
    # set 0: two negative and one positive picture
    w.write_ue(2)
    w.write_ue(1)
    for delta in (0, 1, 3):
        w.write_ue(delta)
        w.write_flag(True)
    # set 1: predicted from set 0 (NumDeltaPocs 3: four flags); three entries kept
    w.write_flag(True)  # inter_ref_pic_set_prediction_flag
    w.write_flag(False)  # delta_rps_sign
    w.write_ue(0)  # abs_delta_rps_minus1
    for used, use_delta in ((True, None), (False, True), (False, False), (True, None)):
        w.write_flag(used)
        if use_delta is not None:
            w.write_flag(use_delta)
    # set 2: predicted from set 1 (NumDeltaPocs 3)
    w.write_flag(True)
    w.write_flag(True)
    w.write_ue(1)
    for _ in range(4):
        w.write_flag(True)
    w.write_flag(True)  # long_term_ref_pics_present_flag
    w.write_ue(2)
    for lsb in (5, 9):
        w.write(lsb, log2_poc_lsb)
        w.write_flag(True)
    w.write_flag(True)  # sps_temporal_mvp_enabled_flag
    w.write_flag(True)  # strong_intra_smoothing_enabled_flag
    w.write_flag(True)  # vui_parameters_present_flag
    w.write_flag(True)
    w.write(255, 8)
    w.write(4, 16)
    w.write(3, 16)
    w.write_flag(True)
    w.write_flag(False)
    w.write_flag(True)
    w.write(5, 3)
    w.write_flag(False)
    w.write_flag(True)
    w.write(1, 8)
    w.write(1, 8)
    w.write(1, 8)
    w.write_flag(True)
    w.write_ue(0)
    w.write_ue(0)
    w.write(0, 3)  # neutral_chroma_indication_flag, field_seq_flag, frame_field_info_present_flag
    w.write_flag(True)  # default_display_window_flag
    for v in (0, 2, 0, 4):
        w.write_ue(v)
    w.write_flag(True)  # vui_timing_info_present_flag
    w.write(timing[0], 32)
    w.write(timing[1], 32)
    w.write_flag(False)  # vui_poc_proportional_to_timing_flag
    w.write_flag(False)  # vui_hrd_parameters_present_flag
    w.write_flag(False)  # bitstream_restriction_flag
    w.write_flag(False)  # sps_extension_present_flag


def h265_sps(*, log2_poc_lsb: int = 8, reorder: int = 2, buffering: int = 4,
             timing: tuple[int, int] | None = None) -> bytes:
    """An H.265 SPS up to the sub-layer ordering info (one sub-layer), then trailing bits; with
    ``timing`` the whole SPS, VUI timing ``(num_units_in_tick, time_scale)`` included."""
    w = BitWriter()
    w.write(0, 4)  # sps_video_parameter_set_id
    w.write(0, 3)  # sps_max_sub_layers_minus1
    w.write_flag(True)
    _ptl(w)
    w.write_ue(0)  # sps_seq_parameter_set_id
    w.write_ue(1)  # chroma_format_idc
    w.write_ue(320)
    w.write_ue(240)
    w.write_flag(False)  # conformance_window_flag
    w.write_ue(0)
    w.write_ue(0)
    w.write_ue(log2_poc_lsb - 4)
    w.write_flag(True)  # sps_sub_layer_ordering_info_present_flag
    w.write_ue(buffering - 1)
    w.write_ue(reorder)
    w.write_ue(0)
    if timing is not None:
        _h265_sps_tail(w, log2_poc_lsb, timing)
    w.write_trailing_bits()
    return b"\x42\x01" + rbsp_to_ebsp(w.getvalue())


def h265_pps(*, extra_bits: int = 0, output_flag: bool = False) -> bytes:
    """An H.265 PPS (id 0, SPS 0) with ``num_extra_slice_header_bits`` and ``output_flag_present_flag``."""
    w = BitWriter()
    w.write_ue(0)
    w.write_ue(0)
    w.write_flag(False)  # dependent_slice_segments_enabled_flag
    w.write_flag(output_flag)
    w.write(extra_bits, 3)
    w.write_trailing_bits()
    return b"\x44\x01" + rbsp_to_ebsp(w.getvalue())


def h265_slice(nal_type: int, poc_lsb: int, *, log2_poc_lsb: int = 8, extra_bits: int = 0,
               output_flag: bool = False, temporal_id: int = 0, slice_type: int = 1) -> bytes:
    """The first slice segment of a picture, written up to slice_pic_order_cnt_lsb."""
    w = BitWriter()
    w.write_flag(True)  # first_slice_segment_in_pic_flag
    if 16 <= nal_type <= 23:
        w.write_flag(False)  # no_output_of_prior_pics_flag
    w.write_ue(0)  # slice_pic_parameter_set_id
    w.write(0, extra_bits)
    w.write_ue(slice_type)
    if output_flag:
        w.write_flag(True)
    if nal_type not in (19, 20):
        w.write(poc_lsb % (1 << log2_poc_lsb), log2_poc_lsb)
    w.write(0x5A5A, 16)
    w.write_trailing_bits()
    return bytes([nal_type << 1, temporal_id + 1]) + rbsp_to_ebsp(w.getvalue())
