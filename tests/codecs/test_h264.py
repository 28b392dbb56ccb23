from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mediaproto.codecs import h264
from mediaproto.codecs.h264 import (
    AVCDecoderConfigurationRecord,
    is_annexb,
    is_keyframe,
    join_annexb,
    join_avcc,
    nal_ref_idc,
    nal_type,
    nal_type_name,
    parse_pps_id,
    parse_sps,
    profile_name,
    split_access_units,
    split_annexb,
    split_avcc,
)
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError

from .flvutil import avc_frames, avc_sequence_header
from .h264_build import SpsFields, build_pps, build_sps
from .strategies import fuzz_input
from .tsutil import elementary_stream

# The reference clip's SPS and PPS, as FFmpeg's SDP gives them (vectors README):
# sprop-parameter-sets=Z0LADdkBQfsBEAAAAwAQAAADAyDxQqSA,aMuMsg==
REF_SPS = bytes.fromhex("6742c00dd90141fb011000000300100000030320f142a480")
REF_PPS = bytes.fromhex("68cb8cb2")

# --- framing ---


def test_split_annexb_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67\xaa\x00\x00\x01\x68\xbb\x00\x00\x00\x00\x01\x65\xcc\x00\x00"
    assert split_annexb(data) == [b"\x67\xaa", b"\x68\xbb", b"\x65\xcc"]


def test_split_annexb_errors() -> None:
    with pytest.raises(ParseError):
        split_annexb(b"\x67\xaa")
    with pytest.raises(ParseError):
        split_annexb(b"\x01\x00\x00\x01\x67")


@given(st.lists(st.binary(min_size=1, max_size=40).map(lambda b: b"\x65" + b.replace(b"\x00\x00", b"\x00\x03")
                                                         .rstrip(b"\x00") + b"\x80"), min_size=1, max_size=6))
def test_annexb_round_trip(nals: list[bytes]) -> None:
    assert split_annexb(join_annexb(nals)) == nals
    assert is_annexb(join_annexb(nals))


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=6), st.sampled_from([1, 2, 4]))
def test_avcc_round_trip(nals: list[bytes], size: int) -> None:
    nals = [n[:255] if size == 1 else n for n in nals]
    assert split_avcc(join_avcc(nals, size), size) == nals


def test_split_avcc_errors() -> None:
    with pytest.raises(ParseError):
        split_avcc(b"\x00\x00\x00\x05abc")
    with pytest.raises(ParseError):
        split_avcc(b"\x00\x00", 4)
    with pytest.raises(ParseError):
        split_avcc(b"", 3)


# --- NAL headers ---


def test_nal_header_fields() -> None:
    assert nal_type(b"\x65") == h264.NAL_IDR == 5
    assert nal_type(b"\x67") == h264.NAL_SPS
    assert nal_ref_idc(b"\x67") == 3 and nal_ref_idc(b"\x01") == 0
    assert nal_type_name(5) == "IDR" and nal_type_name(9) == "AUD" and nal_type_name(7) == "SPS"
    assert nal_type_name(17) == "Reserved 17" and nal_type_name(30) == "Unspecified 30"
    with pytest.raises(ParseError):
        nal_type(b"")


def test_is_keyframe() -> None:
    assert is_keyframe([b"\x09\xf0", REF_SPS, REF_PPS, b"\x65\x88"])
    assert not is_keyframe([b"\x09\xf0", b"\x41\x9a"])
    assert not is_keyframe([])


def test_is_annexb_ambiguity() -> None:
    # AVCC whose first NAL is 256..511 bytes long starts with 00 00 01: still AVCC.
    nal = b"\x65" + b"\x11" * 299
    assert join_avcc([nal])[:3] == b"\x00\x00\x01"
    assert not is_annexb(join_avcc([nal]))
    assert is_annexb(join_annexb([nal]))
    assert is_annexb(b"\x00\x00\x01" + nal)
    assert not is_annexb(join_avcc([b"\x09\xf0", nal]))
    assert not is_annexb(b"")


def test_ref_flv_is_avcc(vectors: Path) -> None:
    frames = avc_frames((vectors / "ref.flv").read_bytes())
    assert len(frames) == 100
    for key, payload in frames:
        assert not is_annexb(payload)
        nals = split_avcc(payload)
        assert is_keyframe(nals) == key
        # The quirk: the same access unit as Annex B is detected as Annex B.
        assert is_annexb(join_annexb(nals))


# --- SPS ---


def test_ref_sps(vectors: Path) -> None:
    """ffprobe on ref.flv: Constrained Baseline, level 13, 320x240, 25 fps (vectors README)."""
    record = AVCDecoderConfigurationRecord.parse(avc_sequence_header((vectors / "ref.flv").read_bytes()))
    assert record.sequence_parameter_sets == (REF_SPS,)
    assert record.picture_parameter_sets == (REF_PPS,)
    sps = parse_sps(REF_SPS)
    assert (sps.profile_idc, sps.level_idc, sps.profile_name) == (66, 13, "Constrained Baseline")
    assert (sps.width, sps.height) == (320, 240)
    assert sps.frame_rate == 25
    assert sps.constraint_set0_flag and sps.constraint_set1_flag and not sps.constraint_set2_flag
    assert (sps.chroma_format_idc, sps.bit_depth_luma, sps.bit_depth_chroma) == (1, 8, 8)
    assert sps.frame_mbs_only and sps.codec_string == "avc1.42C00D"  # SDP profile-level-id
    assert parse_pps_id(REF_PPS) == (0, 0)


# (fields, width, height): sizes from table 6-1 and equations 7-19..7-22, worked by hand.
SPS_CASES = [
    # 642x362 4:2:0: 41 x 23 macroblocks (656x368), crop right 7 and bottom 3 chroma units.
    (SpsFields(pic_width_in_mbs_minus1=40, pic_height_in_map_units_minus1=22, crop=(0, 7, 0, 3)), 642, 362),
    # 1920x1080 High: 120 x 68 macroblocks, bottom crop 4 units of 2 lines.
    (SpsFields(profile_idc=100, constraint_flags=0, level_idc=40, pic_width_in_mbs_minus1=119,
               pic_height_in_map_units_minus1=67, crop=(0, 0, 0, 4), timing=(1001, 60000)), 1920, 1080),
    # Interlaced 1920x1080: 34 map units of field pairs, crop unit y = 2 * 2.
    (SpsFields(profile_idc=100, pic_width_in_mbs_minus1=119, pic_height_in_map_units_minus1=33,
               frame_mbs_only_flag=False, crop=(0, 0, 0, 2)), 1920, 1080),
    # 4:4:4 (High 4:4:4 Predictive): crop units are single samples.
    (SpsFields(profile_idc=244, chroma_format_idc=3, pic_width_in_mbs_minus1=1,
               pic_height_in_map_units_minus1=1, crop=(1, 2, 3, 4)), 29, 25),
    # 4:2:2: crop unit x 2, y 1.
    (SpsFields(profile_idc=122, chroma_format_idc=2, bit_depth_luma_minus8=2, bit_depth_chroma_minus8=2,
               pic_width_in_mbs_minus1=1, pic_height_in_map_units_minus1=1, crop=(1, 0, 1, 0)), 30, 31),
    # Separate colour planes: ChromaArrayType 0, crop unit 1.
    (SpsFields(profile_idc=244, chroma_format_idc=3, separate_colour_plane_flag=True,
               pic_width_in_mbs_minus1=0, pic_height_in_map_units_minus1=0, crop=(1, 1, 1, 1)), 14, 14),
    # Monochrome (4:0:0) in High: crop unit 1 x 2.
    (SpsFields(profile_idc=100, chroma_format_idc=0, pic_width_in_mbs_minus1=0,
               pic_height_in_map_units_minus1=0, crop=(1, 0, 1, 0)), 15, 15),
]


@pytest.mark.parametrize("fields,width,height", SPS_CASES)
def test_sps_sizes(fields: SpsFields, width: int, height: int) -> None:
    sps = parse_sps(build_sps(fields))
    assert (sps.width, sps.height) == (width, height)
    assert sps.profile_idc == fields.profile_idc
    assert sps.chroma_format_idc == fields.chroma_format_idc
    assert sps.bit_depth_luma == 8 + fields.bit_depth_luma_minus8


def test_sps_scaling_lists_and_vui() -> None:
    # Scaling lists: a list ending early (delta giving nextScale 0), a full flat 4x4 list, and an
    # 8x8 list; then VUI with extended SAR, HRD and bitstream restriction.
    lists: list[list[int] | None] = [[-8], [0] * 16, None, None, None, None, [5] + [0] * 63, [-8]]
    fields = SpsFields(profile_idc=100, constraint_flags=0, scaling_lists=lists, pic_order_cnt_type=1,
                       offsets_for_ref_frame=[1, -2, 3], timing=(1, 60), sar=(4, 3), hrd=True,
                       bitstream_restriction=(2, 4), level_idc=31)
    sps = parse_sps(build_sps(fields))
    assert sps.seq_scaling_matrix_present_flag
    assert sps.frame_rate == Fraction(30)
    assert sps.sample_aspect_ratio == Fraction(4, 3)
    assert (sps.max_num_reorder_frames, sps.max_dec_frame_buffering) == (2, 4)
    assert (sps.width, sps.height) == (320, 240)
    assert sps.profile_name == "High" and sps.level_idc == 31
    assert sps.colour_primaries == 1 and sps.video_full_range_flag is True


def test_profile_names() -> None:
    """Names as FFmpeg's libavcodec/profiles.c spells them."""
    assert profile_name(66, 0x40) == "Constrained Baseline"
    assert profile_name(66, 0x80) == "Baseline"
    assert profile_name(77, 0x40) == "Main"
    assert profile_name(100) == "High"
    assert profile_name(110, 0x10) == "High 10 Intra"
    assert profile_name(244) == "High 4:4:4 Predictive"


@pytest.mark.parametrize("nal", [b"", b"\x67", b"\x68\x80", REF_SPS[:6], b"\xe7" + REF_SPS[1:]])
def test_sps_malformed(nal: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sps(nal)


_sps_fields = st.builds(
    SpsFields,
    profile_idc=st.sampled_from([66, 77, 88, 100, 110, 122, 244]),
    constraint_flags=st.integers(0, 63).map(lambda v: v << 2),
    level_idc=st.integers(0, 255),
    seq_parameter_set_id=st.integers(0, 31),
    log2_max_frame_num_minus4=st.integers(0, 12),
    pic_order_cnt_type=st.integers(0, 2),
    pic_width_in_mbs_minus1=st.integers(0, 300),
    pic_height_in_map_units_minus1=st.integers(0, 200),
    frame_mbs_only_flag=st.booleans(),
    crop=st.none() | st.tuples(*[st.integers(0, 7)] * 4),
    timing=st.none() | st.tuples(st.integers(1, 10000), st.integers(1, 200000)),
)


@given(_sps_fields)
def test_sps_property(f: SpsFields) -> None:
    # Equations 7-19..7-22 with 4:2:0 (the builder's default chroma format).
    crop = f.crop or (0, 0, 0, 0)
    mul = 1 if f.frame_mbs_only_flag else 2
    assume((f.pic_width_in_mbs_minus1 + 1) * 8 > crop[0] + crop[1])
    assume((f.pic_height_in_map_units_minus1 + 1) * 8 > crop[2] + crop[3])
    sps = parse_sps(build_sps(f))
    assert sps.width == (f.pic_width_in_mbs_minus1 + 1) * 16 - 2 * (crop[0] + crop[1])
    assert sps.height == mul * (f.pic_height_in_map_units_minus1 + 1) * 16 - 2 * mul * (crop[2] + crop[3])
    assert sps.seq_parameter_set_id == f.seq_parameter_set_id
    assert sps.constraint_flags == f.constraint_flags
    assert sps.level_idc == f.level_idc
    assert sps.frame_rate == (Fraction(f.timing[1], 2 * f.timing[0]) if f.timing else None)


@given(st.integers(0, 255), st.integers(0, 31))
def test_pps_ids(pps_id: int, sps_id: int) -> None:
    assert parse_pps_id(build_pps(pps_id, sps_id)) == (pps_id, sps_id)


_SPS_SEEDS = [REF_SPS] + [build_sps(c[0]) for c in SPS_CASES] + [build_sps(SpsFields(
    profile_idc=100, scaling_lists=[[1] * 16] * 8, hrd=True, timing=(1, 50), bitstream_restriction=(1, 1)))]


@given(fuzz_input(_SPS_SEEDS))
def test_sps_fuzz(data: bytes) -> None:
    try:
        sps = parse_sps(data)
    except ProtocolError:
        return
    assert sps.width > 0 and sps.height > 0


@given(fuzz_input([REF_PPS, build_pps(200, 31)]))
def test_pps_fuzz(data: bytes) -> None:
    try:
        parse_pps_id(data)
    except ProtocolError:
        pass


# --- AVCDecoderConfigurationRecord ---

REF_RECORD = bytes.fromhex("0142c00dffe10018" + REF_SPS.hex() + "0100" + "04" + REF_PPS.hex())


def test_record_ref(vectors: Path) -> None:
    raw = avc_sequence_header((vectors / "ref.flv").read_bytes())
    assert raw == REF_RECORD
    record = AVCDecoderConfigurationRecord.parse(raw)
    assert (record.avc_profile_indication, record.profile_compatibility, record.avc_level_indication) == (66, 0xC0, 13)
    assert record.length_size == 4 and record.chroma_format is None
    assert record.to_bytes() == raw
    assert AVCDecoderConfigurationRecord.from_parameter_sets([REF_SPS], [REF_PPS]) == record
    assert record.parameter_sets == (REF_SPS, REF_PPS)


def test_record_high_profile_fields() -> None:
    sps = build_sps(SpsFields(profile_idc=110, constraint_flags=0, level_idc=41, chroma_format_idc=1,
                              bit_depth_luma_minus8=2, bit_depth_chroma_minus8=2))
    pps = build_pps(0, 0)
    record = AVCDecoderConfigurationRecord.from_parameter_sets([sps], [pps], length_size=2)
    assert (record.chroma_format, record.bit_depth_luma_minus8, record.bit_depth_chroma_minus8) == (1, 2, 2)
    raw = record.to_bytes()
    # 14496-15 5.3.3.1: after the PPS list, 111111 chroma_format(2), 11111 luma(3), 11111 chroma(3), count.
    assert raw[:6] == bytes([1, 110, 0, 41, 0xFD, 0xE1])
    assert raw[-4:] == bytes([0xFD, 0xFA, 0xFA, 0x00])
    assert AVCDecoderConfigurationRecord.parse(raw) == record
    # Writers that leave the high-profile fields out are accepted.
    short = AVCDecoderConfigurationRecord.parse(raw[:-4])
    assert short.chroma_format is None and short.sequence_parameter_sets == (sps,)


@pytest.mark.parametrize("raw", [b"", b"\x01\x42\xc0\x0d\xff\xe1", b"\x02" + REF_RECORD[1:],
                                 REF_RECORD[:-1], REF_RECORD[:8], b"\x01\x42\xc0\x0d\xfe\xe0\x00"])
def test_record_malformed(raw: bytes) -> None:
    with pytest.raises(ParseError):
        AVCDecoderConfigurationRecord.parse(raw)


def test_record_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        AVCDecoderConfigurationRecord.from_parameter_sets([], [REF_PPS])
    with pytest.raises(ParseError):
        AVCDecoderConfigurationRecord.from_parameter_sets([b"\x67\x42"], [REF_PPS])


@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=3),
       st.lists(st.binary(min_size=1, max_size=10), max_size=3), st.sampled_from([0, 1, 3]),
       st.integers(0, 255), st.integers(0, 255))
def test_record_round_trip(sps: list[bytes], pps: list[bytes], lsm1: int, profile: int, level: int) -> None:
    ext = profile in (100, 110, 122, 144)
    record = AVCDecoderConfigurationRecord(
        avc_profile_indication=profile, profile_compatibility=0, avc_level_indication=level,
        length_size_minus_one=lsm1, sequence_parameter_sets=tuple(sps), picture_parameter_sets=tuple(pps),
        chroma_format=1 if ext else None, bit_depth_luma_minus8=0 if ext else None,
        bit_depth_chroma_minus8=0 if ext else None, sequence_parameter_set_ext=() if ext else None)
    assert AVCDecoderConfigurationRecord.parse(record.to_bytes()) == record


@given(fuzz_input([REF_RECORD]))
def test_record_fuzz(data: bytes) -> None:
    try:
        AVCDecoderConfigurationRecord.parse(data)
    except ProtocolError:
        pass


@given(fuzz_input([join_annexb([REF_SPS, REF_PPS, b"\x65\x88\x84"]), join_avcc([REF_SPS, b"\x41\x9a"])]))
def test_framing_fuzz(data: bytes) -> None:
    for fn in (split_annexb, split_avcc):
        try:
            nals = fn(data)
        except ProtocolError:
            continue
        try:
            split_access_units(nals)
        except ProtocolError:
            pass
    is_annexb(data)


# --- access units ---


def test_access_units_ref_ts(vectors: Path) -> None:
    """ref.ts video: ffprobe counts 100 frames, keyframes as flagged in ref.ts.packets.csv."""
    es = elementary_stream((vectors / "ref.ts").read_bytes(), 256)
    units = split_access_units(split_annexb(es))
    rows = [r.split(",") for r in (vectors / "ref.ts.packets.csv").read_text().splitlines() if r.startswith("0,")]
    assert len(units) == len(rows) == 100
    assert [is_keyframe(u) for u in units] == ["K" in r[4] for r in rows]
    assert all(nal_type(u[0]) == h264.NAL_AUD for u in units)


def test_access_units_without_aud() -> None:
    idr0 = b"\x65\x88"  # first_mb_in_slice = 0 (ue '1')
    idr_more = b"\x65\x48"  # first_mb_in_slice = 1 (ue '010')
    p0 = b"\x41\x9a"
    units = split_access_units([REF_SPS, REF_PPS, idr0, idr_more, p0, p0, b"\x06\x05", p0, b"\x0b"])
    assert units == [[REF_SPS, REF_PPS, idr0, idr_more], [p0], [p0], [b"\x06\x05", p0, b"\x0b"]]


@given(fuzz_input([b"\x65\x88\x84", b"\x41\x9a\x00\x00\x03\x01", b"\x65"]))
def test_first_mb_fuzz(data: bytes) -> None:
    try:
        h264.first_mb_in_slice(data)
    except ProtocolError:
        pass
