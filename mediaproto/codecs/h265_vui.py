"""The tail of an H.265 SPS after the sub-layer ordering info (ITU-T H.265 section 7.3.2.2.1):
coding block sizes, scaling lists (7.3.4), PCM, short-term reference picture sets (7.3.7),
long-term reference pictures, and the VUI (annex E.2.1) up to its timing information. Only the
timing is kept: :func:`read_vui_timing` gives ``(vui_num_units_in_tick, vui_time_scale)``.
"""

from __future__ import annotations

from ..bits import BitReader
from ..errors import ParseError

__all__ = ["read_vui_timing"]

_EXTENDED_SAR = 255


def _ue(r: BitReader, limit: int, name: str) -> int:
    start = r.position // 8
    value = r.read_ue()
    if value > limit:
        raise ParseError(f"{name} {value} out of range (max {limit})", offset=start)
    return value


def _skip_scaling_list_data(r: BitReader) -> None:
    for size_id in range(4):
        for _ in range(0, 6, 3 if size_id == 3 else 1):
            if not r.read_flag():  # scaling_list_pred_mode_flag
                _ue(r, 5, "scaling_list_pred_matrix_id_delta")
                continue
            if size_id > 1:
                r.read_se()  # scaling_list_dc_coef_minus8
            for _ in range(min(64, 1 << (4 + (size_id << 1)))):
                r.read_se()  # scaling_list_delta_coef


def _skip_st_ref_pic_sets(r: BitReader, count: int) -> None:
    """st_ref_pic_set(i) for i in 0..count-1, as an SPS carries them (7.3.7)."""
    num_delta_pocs: list[int] = []
    for idx in range(count):
        inter = r.read_flag() if idx else False
        if inter:
            r.skip(1)  # delta_rps_sign
            _ue(r, 1 << 15, "abs_delta_rps_minus1")
            used = 0
            for _ in range(num_delta_pocs[idx - 1] + 1):
                if r.read_flag() or r.read_flag():  # used_by_curr_pic_flag, else use_delta_flag
                    used += 1
            num_delta_pocs.append(used)
            continue
        negative = _ue(r, 16, "num_negative_pics")
        positive = _ue(r, 16, "num_positive_pics")
        for _ in range(negative + positive):
            _ue(r, 1 << 15, "delta_poc_minus1")
            r.skip(1)
        num_delta_pocs.append(negative + positive)


def read_vui_timing(r: BitReader, log2_max_pic_order_cnt_lsb: int) -> tuple[int, int] | None:
    """Read the SPS from ``log2_min_luma_coding_block_size_minus3`` to the VUI timing info;
    ``(vui_num_units_in_tick, vui_time_scale)``, or ``None`` without VUI or timing info."""
    for name in ("log2_min_luma_coding_block_size_minus3", "log2_diff_max_min_luma_coding_block_size",
                 "log2_min_luma_transform_block_size_minus2", "log2_diff_max_min_luma_transform_block_size",
                 "max_transform_hierarchy_depth_inter", "max_transform_hierarchy_depth_intra"):
        _ue(r, 32, name)
    if r.read_flag() and r.read_flag():  # scaling_list_enabled_flag, sps_scaling_list_data_present_flag
        _skip_scaling_list_data(r)
    r.skip(2)  # amp_enabled_flag, sample_adaptive_offset_enabled_flag
    if r.read_flag():  # pcm_enabled_flag
        r.skip(8)
        _ue(r, 32, "log2_min_pcm_luma_coding_block_size_minus3")
        _ue(r, 32, "log2_diff_max_min_pcm_luma_coding_block_size")
        r.skip(1)
    _skip_st_ref_pic_sets(r, _ue(r, 64, "num_short_term_ref_pic_sets"))
    if r.read_flag():  # long_term_ref_pics_present_flag
        for _ in range(_ue(r, 32, "num_long_term_ref_pics_sps")):
            r.skip(log2_max_pic_order_cnt_lsb + 1)
    r.skip(2)  # sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
    if not r.read_flag():  # vui_parameters_present_flag
        return None
    if r.read_flag() and r.read(8) == _EXTENDED_SAR:  # aspect_ratio_info_present_flag, aspect_ratio_idc
        r.skip(32)
    if r.read_flag():  # overscan_info_present_flag
        r.skip(1)
    if r.read_flag():  # video_signal_type_present_flag
        r.skip(4)
        if r.read_flag():
            r.skip(24)
    if r.read_flag():  # chroma_loc_info_present_flag
        _ue(r, 5, "chroma_sample_loc_type_top_field")
        _ue(r, 5, "chroma_sample_loc_type_bottom_field")
    r.skip(3)  # neutral_chroma_indication_flag, field_seq_flag, frame_field_info_present_flag
    if r.read_flag():  # default_display_window_flag
        for _ in range(4):
            r.read_ue()
    if not r.read_flag():  # vui_timing_info_present_flag
        return None
    return r.read(32), r.read(32)
