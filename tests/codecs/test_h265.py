from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mediaproto.bits import BitWriter, rbsp_to_ebsp
from mediaproto.codecs import h265
from mediaproto.codecs.h264 import join_annexb, split_annexb
from mediaproto.codecs.h265 import (
    HEVCDecoderConfigurationRecord,
    NalArray,
    NalHeader,
    is_keyframe,
    nal_type,
    nal_type_name,
    parse_sps,
    profile_name,
    split_access_units,
)
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError

from .strategies import fuzz_input

# FFmpeg 5.1 + libx265 (`testsrc2=size=642x362`, `-c:v libx265`, remuxed to MP4): the hvcC box
# payload. ffprobe says: hevc Main, level 63, 642x362.
X265_HVCC = bytes.fromhex(
    "0101600000009000000000003ff000fcfdf8f800000f03200001001840010c01ffff01600000030090000003000003"
    "003f959809210001002c42010101600000030090000003000003003fa005120171c9265959a4932bc05a0200000300"
    "0200000300321022000100074401c172b46240")


def _record() -> HEVCDecoderConfigurationRecord:
    return HEVCDecoderConfigurationRecord.parse(X265_HVCC)


def test_nal_header() -> None:
    # 0x4001: VPS (32), layer 0, TemporalId 0 (section 7.3.1.2).
    h = NalHeader.parse(b"\x40\x01")
    assert (h.forbidden_zero_bit, h.nal_unit_type, h.nuh_layer_id, h.nuh_temporal_id_plus1) == (0, 32, 0, 1)
    assert h.to_bytes() == b"\x40\x01" and h.temporal_id == 0
    assert NalHeader.parse(b"\x26\x01").nal_unit_type == h265.NAL_IDR_W_RADL == 19
    assert nal_type(b"\x2a\x01") == h265.NAL_CRA_NUT
    assert NalHeader(0, 1, 5, 3).to_bytes() == bytes([0x02, 0x2B])
    assert nal_type_name(19) == "IDR_W_RADL" and nal_type_name(33) == "SPS_NUT"
    with pytest.raises(ParseError):
        NalHeader.parse(b"\x40")
    with pytest.raises(LocalProtocolError):
        NalHeader(0, 64, 0, 1).to_bytes()


@given(st.integers(0, 63), st.integers(0, 63), st.integers(0, 7))
def test_nal_header_round_trip(t: int, layer: int, tid: int) -> None:
    h = NalHeader(0, t, layer, tid)
    assert NalHeader.parse(h.to_bytes()) == h


@pytest.mark.parametrize("t,key", [(0, False), (1, False), (9, False), (16, True), (19, True), (20, True),
                                   (21, True), (23, True), (24, False), (32, False)])
def test_is_keyframe(t: int, key: bool) -> None:
    assert is_keyframe([b"\x46\x01\x50", bytes([t << 1, 1, 0x80])]) == key


def test_x265_record() -> None:
    record = _record()
    assert record.general_profile_idc == 1 and record.general_level_idc == 63
    assert record.general_tier_flag == 0 and record.chroma_format_idc == 1
    assert record.length_size == 4
    assert [a.nal_unit_type for a in record.arrays] == [32, 33, 34]
    assert record.to_bytes() == X265_HVCC
    sps = parse_sps(record.sps[0])
    assert (sps.width, sps.height) == (642, 362)
    assert sps.profile_name == "Main" and sps.general_level_idc == 63
    assert (sps.bit_depth_luma, sps.bit_depth_chroma, sps.chroma_format_idc) == (8, 8, 1)
    assert sps.codec_string == "hvc1.1.6.L63.90"
    rebuilt = HEVCDecoderConfigurationRecord.from_parameter_sets(record.vps, record.sps, record.pps)
    assert rebuilt.arrays == tuple(NalArray(a.nal_unit_type, a.nal_units, True) for a in record.arrays)
    assert rebuilt.general_constraint_indicator_flags == record.general_constraint_indicator_flags
    assert rebuilt.general_profile_compatibility_flags == record.general_profile_compatibility_flags
    assert rebuilt.temporal_id_nested == record.temporal_id_nested


def test_access_units() -> None:
    r = _record()
    idr = b"\x26\x01\xaf"  # first_slice_segment_in_pic_flag = 1
    idr2 = b"\x26\x01\x2f"  # a second slice segment of the same picture
    trail = b"\x02\x01\xd0"
    suffix = b"\x50\x01\x05"
    nals = [*r.vps, *r.sps, *r.pps, idr, idr2, suffix, trail, b"\x46\x01\x50", trail, trail]
    units = split_access_units(split_annexb(join_annexb(nals)))
    assert units == [[*r.vps, *r.sps, *r.pps, idr, idr2, suffix], [trail], [b"\x46\x01\x50", trail], [trail]]
    assert [is_keyframe(u) for u in units] == [True, False, False, False]


def test_profile_names() -> None:
    assert profile_name(1) == "Main" and profile_name(2) == "Main 10" and profile_name(4) == "Rext"
    assert profile_name(0, 1 << 29) == "Main 10"  # profile 0 with the Main 10 compatibility flag


def _build_sps(width: int, height: int, chroma: int, window: tuple[int, int, int, int] | None,
               depth: int, sub_layers: int) -> bytes:
    """An SPS up to log2_max_pic_order_cnt_lsb_minus4, written from section 7.3.2.2.1."""
    w = BitWriter()
    w.write(0, 4)
    w.write(sub_layers - 1, 3)
    w.write_flag(True)
    w.write(0, 2)
    w.write(0, 1)
    w.write(2, 5)  # Main 10
    w.write(0x20000000, 32)
    w.write(0x900000000000, 48)
    w.write(120, 8)
    for _ in range(sub_layers - 1):
        w.write_flag(True)
        w.write_flag(True)
    if sub_layers > 1:
        w.write(0, 2 * (8 - (sub_layers - 1)))
    for _ in range(sub_layers - 1):
        w.write(0, 88)
        w.write(90, 8)
    w.write_ue(0)
    w.write_ue(chroma)
    if chroma == 3:
        w.write_flag(False)
    w.write_ue(width)
    w.write_ue(height)
    w.write_flag(window is not None)
    for v in window or ():
        w.write_ue(v)
    w.write_ue(depth - 8)
    w.write_ue(depth - 8)
    w.write_ue(4)
    w.write_trailing_bits()
    return b"\x42\x01" + rbsp_to_ebsp(w.getvalue())


@given(st.integers(8, 4096), st.integers(8, 2304), st.sampled_from([0, 1, 2, 3]),
       st.none() | st.tuples(*[st.integers(0, 8)] * 4), st.sampled_from([8, 10, 12]), st.integers(1, 7))
def test_sps_conformance_window(width: int, height: int, chroma: int,
                                window: tuple[int, int, int, int] | None, depth: int, sub_layers: int) -> None:
    # Table 6-1: SubWidthC 2 for 4:2:0 and 4:2:2; SubHeightC 2 for 4:2:0 only.
    sw = 2 if chroma in (1, 2) else 1
    sh = 2 if chroma == 1 else 1
    win = window or (0, 0, 0, 0)
    assume(width > sw * (win[0] + win[1]) and height > sh * (win[2] + win[3]))
    sps = parse_sps(_build_sps(width, height, chroma, window, depth, sub_layers))
    assert (sps.width, sps.height) == (width - sw * (win[0] + win[1]), height - sh * (win[2] + win[3]))
    assert sps.bit_depth_luma == depth and sps.chroma_format_idc == chroma
    assert sps.profile_name == "Main 10" and sps.general_level_idc == 120
    assert sps.sps_max_sub_layers_minus1 == sub_layers - 1


@given(st.lists(st.tuples(st.integers(0, 63), st.lists(st.binary(min_size=1, max_size=30), max_size=3),
                          st.booleans()), max_size=4), st.sampled_from([0, 1, 3]))
def test_record_round_trip(arrays: list[tuple[int, list[bytes], bool]], lsm1: int) -> None:
    record = HEVCDecoderConfigurationRecord(
        general_profile_space=1, general_tier_flag=1, general_profile_idc=2,
        general_profile_compatibility_flags=0x20000000, general_constraint_indicator_flags=0x123456789ABC,
        general_level_idc=153, chroma_format_idc=2, bit_depth_luma_minus8=2, bit_depth_chroma_minus8=4,
        length_size_minus_one=lsm1, arrays=tuple(NalArray(t, tuple(n), c) for t, n, c in arrays),
        min_spatial_segmentation_idc=0xABC, parallelism_type=3, avg_frame_rate=6000, constant_frame_rate=2,
        num_temporal_layers=3, temporal_id_nested=1)
    assert HEVCDecoderConfigurationRecord.parse(record.to_bytes()) == record


@pytest.mark.parametrize("raw", [b"", X265_HVCC[:22], b"\x00" + X265_HVCC[1:], X265_HVCC[:-1], X265_HVCC[:30]])
def test_record_malformed(raw: bytes) -> None:
    with pytest.raises(ParseError):
        HEVCDecoderConfigurationRecord.parse(raw)


@pytest.mark.parametrize("nal", [b"", b"\x42\x01", b"\x40\x01\x0c", _record().sps[0][:10], b"\xc2" + _record().sps[0][1:]])
def test_sps_malformed(nal: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sps(nal)


@given(fuzz_input([X265_HVCC]))
def test_record_fuzz(data: bytes) -> None:
    try:
        HEVCDecoderConfigurationRecord.parse(data)
    except ProtocolError:
        pass


@given(fuzz_input([_record().sps[0], _build_sps(1920, 1088, 1, (0, 0, 0, 4), 10, 3)]))
def test_sps_fuzz(data: bytes) -> None:
    try:
        sps = parse_sps(data)
    except ProtocolError:
        return
    assert sps.width > 0 and sps.height > 0


@given(st.lists(fuzz_input([b"\x26\x01\xaf", b"\x02\x01\x50", b"\x40\x01"]), max_size=6))
def test_access_units_fuzz(nals: list[bytes]) -> None:
    try:
        units = split_access_units(nals)
    except ProtocolError:
        return
    assert [n for u in units for n in u] == [n for n in nals if n]


@given(fuzz_input([b"\x40\x01", b"\x26\x01\xaf"]))
def test_nal_header_fuzz(data: bytes) -> None:
    try:
        h = NalHeader.parse(data)
    except ProtocolError:
        return
    assert h.to_bytes() == data[:2]
