"""The H.264 writer, read back with a syntax reader written from ITU-T H.264 7.3 in this file."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.bits import BitReader, ebsp_to_rbsp
from mediaproto.testsrc.h264enc import (
    PCM_MB_PREFIX,
    H264Params,
    build_idr,
    build_p,
    build_pps,
    build_sps,
    choose_level,
)
from mediaproto.testsrc.picture import Canvas

# 7.4.1: inside a NAL unit, 00 00 followed by 00, 01, 02 (or 03 not as prevention) must not occur.
_FORBIDDEN = re.compile(b"\x00\x00[\x00-\x02]")


def parse_sps(nal: bytes) -> dict[str, int]:
    """The fields of a Baseline SPS with VUI (7.3.2.1.1, E.1.1)."""
    assert nal[0] == 0x67
    r = BitReader(ebsp_to_rbsp(nal[1:]))
    f: dict[str, int] = {}
    f["profile_idc"] = r.read(8)
    f["constraint_flags"] = r.read(8)
    f["level_idc"] = r.read(8)
    f["seq_parameter_set_id"] = r.read_ue()
    f["log2_max_frame_num_minus4"] = r.read_ue()
    f["pic_order_cnt_type"] = r.read_ue()
    assert f["pic_order_cnt_type"] == 2
    f["max_num_ref_frames"] = r.read_ue()
    f["gaps_in_frame_num_value_allowed_flag"] = r.read(1)
    f["pic_width_in_mbs_minus1"] = r.read_ue()
    f["pic_height_in_map_units_minus1"] = r.read_ue()
    f["frame_mbs_only_flag"] = r.read(1)
    assert f["frame_mbs_only_flag"] == 1
    f["direct_8x8_inference_flag"] = r.read(1)
    f["frame_cropping_flag"] = r.read(1)
    for name in ("left", "right", "top", "bottom"):
        f[f"frame_crop_{name}_offset"] = r.read_ue() if f["frame_cropping_flag"] else 0
    f["vui_parameters_present_flag"] = r.read(1)
    assert f["vui_parameters_present_flag"] == 1
    if r.read(1):  # aspect_ratio_info_present_flag
        f["aspect_ratio_idc"] = r.read(8)
    if r.read(1):  # overscan_info_present_flag
        r.read(1)
    if r.read(1):  # video_signal_type_present_flag
        f["video_format"] = r.read(3)
        f["video_full_range_flag"] = r.read(1)
        if r.read(1):
            f["colour_primaries"] = r.read(8)
            f["transfer_characteristics"] = r.read(8)
            f["matrix_coefficients"] = r.read(8)
    if r.read(1):  # chroma_loc_info_present_flag
        r.read_ue()
        r.read_ue()
    f["timing_info_present_flag"] = r.read(1)
    f["num_units_in_tick"] = r.read(32)
    f["time_scale"] = r.read(32)
    f["fixed_frame_rate_flag"] = r.read(1)
    assert r.read(1) == 0 and r.read(1) == 0  # no HRD
    f["pic_struct_present_flag"] = r.read(1)
    f["bitstream_restriction_flag"] = r.read(1)
    if f["bitstream_restriction_flag"]:
        r.read(1)
        r.read_ue()
        r.read_ue()
        r.read_ue()
        r.read_ue()
        f["max_num_reorder_frames"] = r.read_ue()
        f["max_dec_frame_buffering"] = r.read_ue()
    assert not r.more_rbsp_data()
    assert r.read(1) == 1  # rbsp_stop_one_bit
    assert r.bits_left < 8 and r.read(r.bits_left) == 0
    return f


def _params(width: int = 320, height: int = 240, fps: Fraction = Fraction(25), log2: int = 5) -> H264Params:
    c = Canvas(width, height)
    return H264Params(width, height, fps, choose_level(c.mb_width, c.mb_height, fps, 1e6), log2)


def test_sps_constrained_baseline_320x240_25fps() -> None:
    f = parse_sps(build_sps(_params()))
    assert f["profile_idc"] == 66
    assert f["constraint_flags"] == 0xC0  # constraint_set0_flag and constraint_set1_flag
    assert f["pic_width_in_mbs_minus1"] == 19 and f["pic_height_in_map_units_minus1"] == 14
    assert f["frame_cropping_flag"] == 0
    assert f["max_num_ref_frames"] == 1
    assert f["log2_max_frame_num_minus4"] == 1
    # E.2.1: frame rate = time_scale / (2 * num_units_in_tick) for progressive frames.
    assert (f["time_scale"], f["num_units_in_tick"], f["fixed_frame_rate_flag"]) == (50, 1, 1)
    assert f["max_num_reorder_frames"] == 0 and f["max_dec_frame_buffering"] == 1
    assert f["aspect_ratio_idc"] == 1


def test_sps_cropping_and_ntsc_rate() -> None:
    f = parse_sps(build_sps(_params(328, 186, Fraction(30000, 1001))))
    # 328x186 codes as 21x12 macroblocks = 336x192; CropUnitX = CropUnitY = 2 (7.4.2.1.1).
    assert f["pic_width_in_mbs_minus1"] == 20 and f["pic_height_in_map_units_minus1"] == 11
    assert f["frame_cropping_flag"] == 1
    assert (f["frame_crop_left_offset"], f["frame_crop_right_offset"]) == (0, 4)
    assert (f["frame_crop_top_offset"], f["frame_crop_bottom_offset"]) == (0, 3)
    assert (f["time_scale"], f["num_units_in_tick"]) == (60000, 1001)


@pytest.mark.parametrize(
    ("mbw", "mbh", "fps", "bitrate", "level"),
    [
        # Table A-1 rows: MaxMBPS must hold twice the MB rate (I_PCM, MinCR 2), MaxFS the frame.
        (20, 15, Fraction(25), 0.93e6, 21),  # 300 MBs, 15000 MB/s -> 2.1 (19800)
        (80, 45, Fraction(30), 5e6, 32),  # 3600 MBs, 216000 MB/s -> 3.2 (216000)
        (120, 68, Fraction(30), 10e6, 42),  # 8160 MBs, 489600 MB/s -> 4.2 (522240)
        (20, 15, Fraction(25), 5e6, 30),  # bit rate over 2.2's 4000 kbit/s -> 3.0
        (11, 9, Fraction(15, 2), 0.15e6, 11),  # QCIF, 1485 MB/s -> 1.1 (3000, 192 kbit/s)
        (11, 9, Fraction(15, 2), 0.2e6, 12),  # over 192 kbit/s -> 1.2
    ],
)
def test_choose_level(mbw: int, mbh: int, fps: Fraction, bitrate: float, level: int) -> None:
    assert choose_level(mbw, mbh, fps, bitrate) == level


def test_pps() -> None:
    nal = build_pps()
    assert nal[0] == 0x68
    r = BitReader(nal[1:])
    assert [r.read_ue(), r.read_ue()] == [0, 0]  # pps id, sps id
    assert r.read(1) == 0  # entropy_coding_mode_flag: CAVLC
    assert r.read(1) == 0
    assert r.read_ue() == 0  # num_slice_groups_minus1
    assert [r.read_ue(), r.read_ue()] == [0, 0]
    assert r.read(1) == 0 and r.read(2) == 0  # no weighted prediction
    assert [r.read_se(), r.read_se(), r.read_se()] == [0, 0, 0]
    assert r.read(1) == 1  # deblocking_filter_control_present_flag
    assert r.read(1) == 0 and r.read(1) == 0
    assert r.read(1) == 1 and not r.more_rbsp_data()


def test_idr_slice_is_ipcm() -> None:
    p = _params(48, 32)
    canvas = Canvas(48, 32)
    mbs = canvas.macroblocks(["12:34:56.789", "FRAME 000001"])
    nal = build_idr(p, 1, mbs)
    assert nal[0] == 0x65  # nal_ref_idc 3, nal_unit_type 5
    rbsp = ebsp_to_rbsp(nal[1:])
    r = BitReader(rbsp)
    assert r.read_ue() == 0  # first_mb_in_slice
    assert r.read_ue() == 7  # slice_type I
    assert r.read_ue() == 0  # pps id
    assert r.read(p.log2_max_frame_num) == 0  # frame_num
    assert r.read_ue() == 1  # idr_pic_id
    assert r.read(2) == 0  # no_output_of_prior_pics_flag, long_term_reference_flag
    assert r.read_se() == 0  # slice_qp_delta
    assert r.read_ue() == 1  # disable_deblocking_filter_idc
    for i in range(p.mb_count):  # 7.3.5: mb_type, pcm_alignment_zero_bit, 384 samples
        assert r.read_ue() == 25
        while not r.byte_aligned:
            assert r.read(1) == 0
        start = r.position // 8
        assert rbsp[start:start + 384] == mbs[i]
        r.skip(384 * 8)
    assert r.read(1) == 1 and r.bits_left < 8
    assert len(mbs) == 6 and all(len(mb) == 384 for mb in mbs)
    assert rbsp.count(PCM_MB_PREFIX) >= p.mb_count - 1


def test_p_slice_skips_everything() -> None:
    p = _params(328, 186)
    nal = build_p(p, 17)
    assert nal[0] == 0x41  # nal_ref_idc 2, nal_unit_type 1
    r = BitReader(ebsp_to_rbsp(nal[1:]))
    assert r.read_ue() == 0
    assert r.read_ue() == 5  # slice_type P
    assert r.read_ue() == 0
    assert r.read(p.log2_max_frame_num) == 17
    assert r.read(1) == 0  # num_ref_idx_active_override_flag
    assert r.read(1) == 0  # ref_pic_list_modification_flag_l0
    assert r.read(1) == 0  # adaptive_ref_pic_marking_mode_flag
    assert r.read_se() == 0
    assert r.read_ue() == 1
    assert r.read_ue() == 21 * 12  # mb_skip_run
    assert not r.more_rbsp_data()


@settings(max_examples=40, deadline=None)
@given(
    w=st.integers(1, 40).map(lambda x: 2 * x),
    h=st.integers(1, 40).map(lambda x: 2 * x),
    num=st.integers(1, 120_000),
    den=st.integers(1, 1001),
    frame_num=st.integers(0, 31),
)
def test_any_size_and_rate(w: int, h: int, num: int, den: int, frame_num: int) -> None:
    fps = Fraction(num, den)
    p = _params(w, h, fps)
    sps = build_sps(p)
    f = parse_sps(sps)
    mbw, mbh = f["pic_width_in_mbs_minus1"] + 1, f["pic_height_in_map_units_minus1"] + 1
    assert 16 * mbw - 2 * (f["frame_crop_left_offset"] + f["frame_crop_right_offset"]) == w
    assert 16 * mbh - 2 * (f["frame_crop_top_offset"] + f["frame_crop_bottom_offset"]) == h
    assert Fraction(f["time_scale"], 2 * f["num_units_in_tick"]) == fps
    canvas = Canvas(w, h)
    for nal in (sps, build_pps(), build_p(p, frame_num), build_idr(p, 0, canvas.macroblocks(["0", "1"]))):
        assert _FORBIDDEN.search(nal) is None
        assert nal[-1] != 0
