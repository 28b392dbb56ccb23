"""Builds H.264 SPS/PPS NAL units from field values, written straight from the syntax tables of
ITU-T H.264 (7.3.2.1.1, 7.3.2.2, E.1.1): an independent writer the parser tests check against."""

from __future__ import annotations

from dataclasses import dataclass, field

from mediaproto.bits import BitWriter, rbsp_to_ebsp

HIGH = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


@dataclass
class SpsFields:
    profile_idc: int = 66
    constraint_flags: int = 0xC0
    level_idc: int = 30
    seq_parameter_set_id: int = 0
    chroma_format_idc: int = 1
    separate_colour_plane_flag: bool = False
    bit_depth_luma_minus8: int = 0
    bit_depth_chroma_minus8: int = 0
    scaling_lists: list[list[int] | None] | None = None  # per list: delta_scale values, or None
    log2_max_frame_num_minus4: int = 0
    pic_order_cnt_type: int = 2
    offsets_for_ref_frame: list[int] = field(default_factory=list)
    max_num_ref_frames: int = 1
    pic_width_in_mbs_minus1: int = 19
    pic_height_in_map_units_minus1: int = 14
    frame_mbs_only_flag: bool = True
    crop: tuple[int, int, int, int] | None = None
    timing: tuple[int, int] | None = None  # (num_units_in_tick, time_scale)
    sar: tuple[int, int] | None = None  # extended SAR
    hrd: bool = False
    bitstream_restriction: tuple[int, int] | None = None  # (max_num_reorder_frames, max_dec_frame_buffering)


def build_sps(f: SpsFields) -> bytes:
    w = BitWriter()
    w.write(f.profile_idc, 8)
    w.write(f.constraint_flags, 8)
    w.write(f.level_idc, 8)
    w.write_ue(f.seq_parameter_set_id)
    if f.profile_idc in HIGH:
        w.write_ue(f.chroma_format_idc)
        if f.chroma_format_idc == 3:
            w.write_flag(f.separate_colour_plane_flag)
        w.write_ue(f.bit_depth_luma_minus8)
        w.write_ue(f.bit_depth_chroma_minus8)
        w.write_flag(False)
        w.write_flag(f.scaling_lists is not None)
        if f.scaling_lists is not None:
            for i in range(8 if f.chroma_format_idc != 3 else 12):
                lst = f.scaling_lists[i] if i < len(f.scaling_lists) else None
                w.write_flag(lst is not None)
                if lst is not None:
                    for d in lst:  # the caller stops the list with a delta giving nextScale 0
                        w.write_se(d)
    w.write_ue(f.log2_max_frame_num_minus4)
    w.write_ue(f.pic_order_cnt_type)
    if f.pic_order_cnt_type == 0:
        w.write_ue(2)
    elif f.pic_order_cnt_type == 1:
        w.write_flag(False)
        w.write_se(-3)
        w.write_se(5)
        w.write_ue(len(f.offsets_for_ref_frame))
        for o in f.offsets_for_ref_frame:
            w.write_se(o)
    w.write_ue(f.max_num_ref_frames)
    w.write_flag(False)
    w.write_ue(f.pic_width_in_mbs_minus1)
    w.write_ue(f.pic_height_in_map_units_minus1)
    w.write_flag(f.frame_mbs_only_flag)
    if not f.frame_mbs_only_flag:
        w.write_flag(True)
    w.write_flag(True)
    w.write_flag(f.crop is not None)
    if f.crop is not None:
        for c in f.crop:
            w.write_ue(c)
    vui = f.timing is not None or f.sar is not None or f.hrd or f.bitstream_restriction is not None
    w.write_flag(vui)
    if vui:
        w.write_flag(f.sar is not None)
        if f.sar is not None:
            w.write(255, 8)
            w.write(f.sar[0], 16)
            w.write(f.sar[1], 16)
        w.write_flag(False)  # overscan
        w.write_flag(True)  # video_signal_type_present_flag
        w.write(5, 3)
        w.write_flag(True)
        w.write_flag(True)
        w.write(1, 8)
        w.write(1, 8)
        w.write(1, 8)
        w.write_flag(True)  # chroma_loc_info_present_flag
        w.write_ue(0)
        w.write_ue(0)
        w.write_flag(f.timing is not None)
        if f.timing is not None:
            w.write(f.timing[0], 32)
            w.write(f.timing[1], 32)
            w.write_flag(True)
        for _ in range(2):  # nal and vcl hrd
            w.write_flag(f.hrd)
            if f.hrd:
                w.write_ue(1)
                w.write(4, 4)
                w.write(6, 4)
                for _ in range(2):
                    w.write_ue(1000)
                    w.write_ue(2000)
                    w.write_flag(False)
                w.write(23, 5)
                w.write(23, 5)
                w.write(23, 5)
                w.write(24, 5)
        if f.hrd:
            w.write_flag(False)
        w.write_flag(False)  # pic_struct_present_flag
        w.write_flag(f.bitstream_restriction is not None)
        if f.bitstream_restriction is not None:
            w.write_flag(True)
            for v in (2, 1, 16, 16):
                w.write_ue(v)
            w.write_ue(f.bitstream_restriction[0])
            w.write_ue(f.bitstream_restriction[1])
    w.write_trailing_bits()
    return bytes([0x67]) + rbsp_to_ebsp(w.getvalue())


def build_pps(pps_id: int, sps_id: int) -> bytes:
    w = BitWriter()
    w.write_ue(pps_id)
    w.write_ue(sps_id)
    w.write_flag(False)  # entropy_coding_mode_flag
    w.write_flag(False)
    w.write_ue(0)
    w.write_trailing_bits()
    return bytes([0x68]) + rbsp_to_ebsp(w.getvalue())
