"""Decode times from presentation times (mediaproto.codecs.dts, h264_dts, h265_dts) on hand-made
streams: slice headers written bit by bit from the syntax tables (tests/codecs/dts_build.py).

The expected decode times follow from the definition, not from our output: a stream of reorder
depth N gives frame i (decode order) the (i - N)-th smallest presentation time, which is what
x264/x265 give (their DTS is the presentation time N frames earlier); tests/interop/test_dts.py
holds the same against ffprobe on real encoder output.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mediaproto.codecs.dts import MAX_REORDER, DtsTimeline, PocReorderPredictor
from mediaproto.codecs.h264 import parse_sps
from mediaproto.codecs.h264_dts import H264DtsExtractor, H264PocDecoder, parse_pps, parse_slice_header
from mediaproto.codecs.h265_dts import H265DtsExtractor
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError

from .dts_build import Picture, gops, h264_pps, h264_slice, h264_sps, h265_pps, h265_slice, h265_sps, reorder_depth
from .strategies import fuzz_input

D = 3600  # 25 fps at 90 kHz
BASE = 900_000


def h264_units(pictures: list[Picture], sps: bytes, *, base: int = BASE, poc_step: int = 2) -> list[tuple[list[bytes], int]]:
    """(NAL units, pts) per picture in decode order, POC type 0; SPS and PPS before every IDR."""
    out = []
    idr_shown = 0
    refs = 0
    for p in pictures:
        if p.idr:
            idr_shown = p.shown
            refs = 0
        nal = h264_slice(idr=p.idr, ref=p.ref or p.idr, frame_num=refs, poc_lsb=poc_step * (p.shown - idr_shown))
        if p.ref or p.idr:
            refs += 1
        out.append(([sps, h264_pps(), nal] if p.idr else [nal], base + p.shown * D))
    return out


def expected(pts: list[int], n: int, duration: int = D) -> list[int]:
    """Frame i gets the (i - n)-th smallest presentation time; the first n frames are spaced one
    frame duration apart below the first one."""
    out = []
    for i in range(len(pts)):
        if i < n:
            out.append(min(pts[: i + 1]) - (n - i) * duration)
        else:
            out.append(sorted(pts[: i + 1])[i - n])
    return out


def check_sound(pts: list[int], dts: list[int]) -> None:
    assert all(b > a for a, b in zip(dts, dts[1:])), "decode times must increase"
    assert all(d <= p for d, p in zip(dts, pts)), "a decode time after its presentation time"


# -- the timeline alone --------------------------------------------------------------------------

def test_timeline_example_by_hand() -> None:
    # I0 P3 B1 B2 P6 B4 B5 (one B-frame reordered at a time: depth 1), 3000 ticks a frame.
    t = DtsTimeline(90000, frame_duration=3000)
    t.reorder = 1
    pts = [0, 9000, 3000, 6000, 18000, 12000, 15000]
    assert [t.next(p) for p in pts] == [-3000, 0, 3000, 6000, 9000, 12000, 15000]
    assert t.conflicts == 0


def test_timeline_without_reordering_is_identity() -> None:
    t = DtsTimeline(90000)
    pts = [5, 3005, 6005, 9005]
    assert [t.next(p) for p in pts] == pts


def test_timeline_conflict_stays_monotonic_and_grows() -> None:
    # Declared depth 0, but a B-frame comes: it cannot be both monotonic and <= pts.
    t = DtsTimeline(90000, frame_duration=3000)
    out = [t.next(p) for p in (0, 6000, 3000)]
    assert out == [0, 6000, 6001] and t.conflicts == 1 and t.reorder == 1


def test_timeline_repeated_timestamp_does_not_grow_the_depth() -> None:
    # Two fields of a frame sent as two units with one timestamp: monotonic, and no reordering.
    t = DtsTimeline(90000, frame_duration=3000)
    out = [t.next(p) for p in (0, 0, 3000, 3000, 6000)]
    assert out == [0, 1, 3000, 3001, 6000] and t.reorder == 0 and t.conflicts == 2


@pytest.mark.parametrize("jump", [-3_600_000, 3_600_000])
def test_timeline_jump_starts_over(jump: int) -> None:
    t = DtsTimeline(90000, frame_duration=3000)
    t.reorder = 1
    first = [t.next(p) for p in (0, 6000, 3000)]
    after = [t.next(p) for p in (jump, jump + 6000, jump + 3000)]
    assert first == [-3000, 0, 3000]
    assert after == [jump - 3000, jump, jump + 3000]  # a new timeline, as the presentation times


def test_timeline_rejects_bad_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        DtsTimeline(0)
    with pytest.raises(LocalProtocolError):
        DtsTimeline(90000, frame_duration=0)


@st.composite
def bounded_reorders(draw: st.DrawFn) -> tuple[list[int], int]:
    """Presentation indices in a random decode order that starts with the first shown (an IDR),
    built by holding up to n frames back and emitting any of them; the test computes its depth."""
    n = draw(st.integers(0, 5))
    count = draw(st.integers(1, 60))
    pending: list[int] = []
    order: list[int] = [0]  # a stream starts with the picture shown first (an IDR)
    for shown in range(1, count):
        pending.append(shown)
        # emit a frame: any pending one, as long as nothing pending is left behind more than n frames
        while len(pending) > n:
            pick = draw(st.integers(0, len(pending) - 1))
            order.append(pending.pop(pick))
    while pending:
        order.append(pending.pop(draw(st.integers(0, len(pending) - 1))))
    return order, n


@given(bounded_reorders(), st.integers(-(2**40), 2**40), st.integers(1, 10_000))
def test_timeline_property(case: tuple[list[int], int], base: int, duration: int) -> None:
    order, _ = case
    pts = [base + s * duration for s in order]
    depth = reorder_depth([Picture(s, False, True) for s in order])
    assume(depth <= MAX_REORDER)
    t = DtsTimeline(90000, frame_duration=duration)
    t.reorder = depth
    dts = [t.next(p) for p in pts]
    check_sound(pts, dts)
    assert dts == expected(pts, depth, duration)
    assert t.conflicts == 0


# -- the POC predictor ----------------------------------------------------------------------------

def test_predictor_by_hand() -> None:
    # x264 -bf 3 -b-pyramid normal: I0 P8 B4 b2 b6 (POC step 2), depth 2.
    p = PocReorderPredictor()
    p.start(0)
    # P8: slots 2, 4, 6 wait below it (1); B4: P8 before it, shown after (its own depth 1) and
    # slot 2 waits below P8 and B4 (2); b2: P8 and B4 before it (2); b6: P8 (1).
    assert [p.add(poc) for poc in (0, 8, 4, 2, 6)] == [0, 1, 2, 2, 1]
    # I0 P8 B4, then frames are lost (b2 and b6 never come), then P10: without being told, slots
    # 2 and 6 wait below P8, B4 and P10 (3); told of the loss, nothing waits.
    for told, want in ((False, 3), (True, 0)):
        p = PocReorderPredictor()
        p.start(0)
        for poc in (0, 8, 4):
            p.add(poc)
        if told:
            p.forget_gaps()
        assert p.add(10) == want


# -- H.264 ------------------------------------------------------------------------------------------

def test_h264_slice_header_fields() -> None:
    sps = parse_sps(h264_sps(poc_type=0))
    pps = parse_pps(h264_pps())
    h = parse_slice_header(h264_slice(idr=True, ref=True, frame_num=0, poc_lsb=0, idr_pic_id=7, slice_type=7), sps, pps)
    assert (h.idr, h.nal_ref_idc, h.slice_type, h.idr_pic_id, h.pic_order_cnt_lsb) == (True, 3, 7, 7, 0)
    h = parse_slice_header(h264_slice(idr=False, ref=False, frame_num=3, poc_lsb=42, slice_type=1), sps, pps)
    assert (h.idr, h.nal_ref_idc, h.frame_num, h.pic_order_cnt_lsb) == (False, 0, 3, 42)


def test_h264_poc_type0_wraps() -> None:
    # pic_order_cnt_lsb has 6 bits (MaxPicOrderCntLsb 64): by 8.2.1.1 a step back of at least 32
    # in the lsb is a wrap forward (60 -> lsb 0 is 64; 104 -> lsb 2 is 130), a step forward of more
    # than 32 a step back (0 -> lsb 60 is -4).
    sps = parse_sps(h264_sps(poc_type=0))
    pps = parse_pps(h264_pps())

    def pocs(values: list[int]) -> list[int]:
        dec = H264PocDecoder()
        return [dec.decode(parse_slice_header(h264_slice(idr=i == 0, ref=True, frame_num=i, poc_lsb=v % 64), sps, pps),
                           sps) for i, v in enumerate(values)]

    assert pocs([0, 20, 40, 60, 64, 84, 104, 130]) == [0, 20, 40, 60, 64, 84, 104, 130]
    assert pocs([0, 60]) == [0, -4]


def test_h264_poc_type1_by_hand() -> None:
    # h264_build's type 1 SPS: offset_for_non_ref_pic -3, offset_for_top_to_bottom_field 5, and
    # offset_for_ref_frame [2]. By 8.2.1.2: IDR (ref, frame_num 0): 0 + delta; P (ref, frame_num 1):
    # absFrameNum 1, expected 2; B (non-ref, frame_num 2): absFrameNum 2 - 1 = 1, expected 2 - 3 = -1.
    sps = parse_sps(h264_sps(poc_type=1, offsets_for_ref_frame=[2]))
    assert (sps.offset_for_non_ref_pic, sps.offset_for_top_to_bottom_field, sps.offset_for_ref_frame) == (-3, 5, (2,))
    pps = parse_pps(h264_pps())
    dec = H264PocDecoder()
    slices = [(True, True, 0, 0), (False, True, 1, 4), (False, False, 2, 3), (False, False, 2, 5)]
    pocs = [dec.decode(parse_slice_header(h264_slice(idr=i, ref=r, frame_num=f, delta_poc=d), sps, pps), sps)
            for i, r, f, d in slices]
    assert pocs == [0, 6, 2, 4]  # min(top, top + 5) is top


def test_h264_poc_type1_stream() -> None:
    # The same I0 P3 B1 B2 as frames, without a bitstream restriction: the POCs predict depth 1.
    sps = h264_sps(poc_type=1, offsets_for_ref_frame=[2])
    nals = [[sps, h264_pps(), h264_slice(idr=True, ref=True, frame_num=0, delta_poc=0)],
            [h264_slice(idr=False, ref=True, frame_num=1, delta_poc=4)],
            [h264_slice(idr=False, ref=False, frame_num=2, delta_poc=3)],
            [h264_slice(idr=False, ref=False, frame_num=2, delta_poc=5)]]
    pts = [BASE, BASE + 3 * D, BASE + D, BASE + 2 * D]
    ex = H264DtsExtractor()
    dts = [ex.extract(n, p) for n, p in zip(nals, pts)]
    check_sound(pts, dts)
    assert ex.reorder == 1


def test_h264_poc_type2_and_baseline_do_not_reorder() -> None:
    for sps in (h264_sps(poc_type=2), h264_sps(profile_idc=66, poc_type=0)):
        ex = H264DtsExtractor(parameter_sets=[sps, h264_pps()])
        pts = [BASE + i * D for i in range(5)]
        assert [ex.extract([h264_slice(idr=i == 0, ref=True, frame_num=i)], p) for i, p in enumerate(pts)] == pts
        assert ex.reorder == 0


def test_h264_sps_restriction_exact() -> None:
    # I0 P3 B1 B2 P6 B4 B5 with max_num_reorder_frames 1 and 25 fps in the VUI.
    pics = [Picture(0, True, True), Picture(3, False, True), Picture(1, False, False), Picture(2, False, False),
            Picture(6, False, True), Picture(4, False, False), Picture(5, False, False)]
    units = h264_units(pics, h264_sps(reorder=1))
    ex = H264DtsExtractor()
    dts = [ex.extract(n, p) for n, p in units]
    assert dts == [BASE - D, BASE, BASE + D, BASE + 2 * D, BASE + 3 * D, BASE + 4 * D, BASE + 5 * D]


def test_h264_missing_sps_until_in_band() -> None:
    # Frames before any SPS keep dts = pts; the IDR with SPS/PPS starts the decode times.
    sps = h264_sps(reorder=1)
    early = [([h264_slice(idr=False, ref=True, frame_num=1, poc_lsb=6)], BASE - 2 * D)]
    units = h264_units([Picture(0, True, True), Picture(2, False, True), Picture(1, False, False)], sps)
    ex = H264DtsExtractor()
    dts = [ex.extract(n, p) for n, p in early + units]
    assert dts[0] == BASE - 2 * D
    check_sound([p for _, p in early + units], dts)


def test_h264_sprop_parameter_sets() -> None:
    # The SPS known from the SDP (the depacketizer's parameter_sets): no in-band SPS needed.
    sps = h264_sps(reorder=1)
    pics = [Picture(0, True, True), Picture(2, False, True), Picture(1, False, False)]
    units = [([n for n in nals if n[0] & 0x1F not in (7, 8)], p) for nals, p in h264_units(pics, sps)]
    ex = H264DtsExtractor(parameter_sets=[sps, h264_pps()])
    assert [ex.extract(n, p) for n, p in units] == [BASE - D, BASE, BASE + D]


@settings(max_examples=60)
@given(gops(), st.booleans())
def test_h264_gop_property(pictures: list[Picture], declared: bool) -> None:
    """Any GOP structure: with the depth in the SPS the decode times are exactly the definition's;
    without it (Main profile, no VUI restriction) the POC prediction keeps them monotonic and at
    most the presentation times, with no conflict."""
    depth = reorder_depth(pictures)
    units = h264_units(pictures, h264_sps(reorder=depth if declared else None))
    pts = [p for _, p in units]
    ex = H264DtsExtractor()
    dts = [ex.extract(n, p) for n, p in units]
    check_sound(pts, dts)
    assert ex.timeline.conflicts == 0
    if declared:
        assert dts == expected(pts, depth)
    else:
        assert ex.reorder <= MAX_REORDER


@settings(max_examples=40)
@given(gops(max_minigops=30), st.data())
def test_h264_frame_loss_stays_monotonic(pictures: list[Picture], data: st.DataObject) -> None:
    units = h264_units(pictures, h264_sps(reorder=None))
    kept = [u for i, u in enumerate(units) if i == 0 or not data.draw(st.integers(0, 6), label=f"drop {i}") == 0]
    ex = H264DtsExtractor()
    dts = []
    for i, (n, p) in enumerate(kept):
        if i and data.draw(st.booleans(), label="told"):
            ex.lost_frames()
        dts.append(ex.extract(n, p))
    assert all(b > a for a, b in zip(dts, dts[1:]))


def test_h264_long_stream_poc_wrap() -> None:
    # 200 frames of I P B B with a 6-bit pic_order_cnt_lsb (wraps every 32 frames) and one IDR.
    pics = [Picture(0, True, True)]
    shown = 1
    while shown < 200:
        pics += [Picture(shown + 2, False, True), Picture(shown, False, False), Picture(shown + 1, False, False)]
        shown += 3
    units = h264_units(pics, h264_sps(reorder=None))
    pts = [p for _, p in units]
    ex = H264DtsExtractor()
    dts = [ex.extract(n, p) for n, p in units]
    check_sound(pts, dts)
    assert ex.reorder == 1 and ex.timeline.conflicts == 0
    # after the first frames, exactly the depth-1 decode times (the encoder's, up to a constant)
    assert dts[3:] == expected(pts, 1)[3:]


@given(st.lists(fuzz_input([h264_sps(reorder=2), h264_pps(), h264_slice(idr=True, ref=True, frame_num=0, poc_lsb=0),
                            h264_slice(idr=False, ref=False, frame_num=1, poc_lsb=4)]), max_size=6),
       st.lists(st.integers(-(2**33), 2**33), min_size=1, max_size=6))
def test_h264_fuzz(nals: list[bytes], pts: list[int]) -> None:
    lenient = H264DtsExtractor()
    strict = H264DtsExtractor(strict=True)
    last = None
    for p in pts:
        d = lenient.extract(nals, p)
        assert last is None or d > last or abs(p - (last or 0)) > lenient.timeline.max_jump // 2
        last = d
        try:
            strict.extract(nals, p)
        except ProtocolError:
            pass


def test_h264_strict_rejects_a_broken_sps() -> None:
    with pytest.raises(ParseError):
        H264DtsExtractor(strict=True).extract([h264_sps(reorder=1)[:4]], 0)
    assert H264DtsExtractor().extract([h264_sps(reorder=1)[:4]], 0) == 0


# -- H.265 ------------------------------------------------------------------------------------------

def h265_units(pictures: list[Picture], *, reorder: int, extra_bits: int = 0, output_flag: bool = False,
               log2_poc_lsb: int = 8) -> list[tuple[list[bytes], int]]:
    sps = h265_sps(log2_poc_lsb=log2_poc_lsb, reorder=reorder, buffering=max(reorder + 1, 4))
    pps = h265_pps(extra_bits=extra_bits, output_flag=output_flag)
    out = []
    idr_shown = 0
    for p in pictures:
        if p.idr:
            idr_shown = p.shown
        t = 19 if p.idr else (1 if p.ref else 0)  # IDR_W_RADL, TRAIL_R, TRAIL_N
        nal = h265_slice(t, p.shown - idr_shown, log2_poc_lsb=log2_poc_lsb, extra_bits=extra_bits,
                         output_flag=output_flag)
        out.append(([b"\x40\x01\x0c", sps, pps, nal] if p.idr else [nal], BASE + p.shown * D))
    return out


@settings(max_examples=60)
@given(gops(), st.integers(0, 3), st.booleans())
def test_h265_gop_property(pictures: list[Picture], extra_bits: int, output_flag: bool) -> None:
    depth = reorder_depth(pictures)
    units = h265_units(pictures, reorder=depth, extra_bits=extra_bits, output_flag=output_flag)
    pts = [p for _, p in units]
    ex = H265DtsExtractor(frame_duration=D)
    dts = [ex.extract(n, p) for n, p in units]
    check_sound(pts, dts)
    assert dts == expected(pts, depth)
    assert ex.timeline.conflicts == 0


def test_h265_poc_prediction_beyond_a_lying_sps() -> None:
    # The SPS says 0 reorder pictures, the stream has I0 P4 B2 b1 b3 (POC step 1): the POCs of the
    # slices predict depth 2 before the B-pictures that need it (at B2: b1 and b3 wait below P4 and B2).
    pics = [Picture(0, True, True), Picture(4, False, True), Picture(2, False, True), Picture(1, False, False),
            Picture(3, False, False), Picture(8, False, True), Picture(6, False, True), Picture(5, False, False),
            Picture(7, False, False)]
    units = h265_units(pics, reorder=0)
    pts = [p for _, p in units]
    ex = H265DtsExtractor(frame_duration=D)
    dts = [ex.extract(n, p) for n, p in units]
    check_sound(pts, dts)
    assert ex.reorder == 2


def test_h265_poc_wrap() -> None:
    # 4-bit slice_pic_order_cnt_lsb: POCs go past 16 several times without an IDR.
    pics = [Picture(0, True, True)]
    shown = 1
    while shown < 60:
        pics += [Picture(shown + 1, False, True), Picture(shown, False, False)]
        shown += 2
    units = h265_units(pics, reorder=1, log2_poc_lsb=4)
    pts = [p for _, p in units]
    ex = H265DtsExtractor(frame_duration=D)
    dts = [ex.extract(n, p) for n, p in units]
    assert dts == expected(pts, 1)
    assert ex.timeline.conflicts == 0


def test_h265_rasl_of_a_starting_cra_are_undecodable() -> None:
    sps, pps = h265_sps(reorder=2), h265_pps()
    cra = [sps, pps, h265_slice(21, 24)]
    rasl = [h265_slice(8, 22)]
    trail = [h265_slice(1, 28)]
    ex = H265DtsExtractor()
    assert not ex.undecodable(cra)
    ex.extract(cra, BASE)
    assert ex.undecodable(rasl) and not ex.undecodable(trail)
    ex.extract(trail, BASE + 4 * D)
    # a later CRA (not starting the stream) has decodable RASL pictures
    ex.extract([h265_slice(21, 40)], BASE + 16 * D)
    assert not ex.undecodable([h265_slice(8, 38)])


@given(st.lists(fuzz_input([h265_sps(), h265_pps(), h265_slice(19, 0), h265_slice(1, 4), h265_slice(21, 8)]),
                max_size=6), st.integers(-(2**33), 2**33))
def test_h265_fuzz(nals: list[bytes], pts: int) -> None:
    H265DtsExtractor().extract(nals, pts)
    try:
        H265DtsExtractor(strict=True).extract(nals, pts)
    except ProtocolError:
        pass


@example(b"\x42\x01\x01")
@given(fuzz_input([h265_sps()]))
def test_h265_sps_ordering_fields(data: bytes) -> None:
    from mediaproto.codecs.h265 import parse_sps as parse_hevc_sps
    try:
        sps = parse_hevc_sps(data)
    except ProtocolError:
        return
    if sps.sps_max_num_reorder_pics is not None:
        assert sps.sps_max_dec_pic_buffering_minus1 is not None
        assert sps.sps_max_num_reorder_pics <= sps.sps_max_dec_pic_buffering_minus1


def test_h265_sps_ordering_by_hand() -> None:
    from mediaproto.codecs.h265 import parse_sps as parse_hevc_sps
    sps = parse_hevc_sps(h265_sps(reorder=3, buffering=5))
    assert (sps.sps_max_dec_pic_buffering_minus1, sps.sps_max_num_reorder_pics, sps.sps_max_latency_increase_plus1) == (4, 3, 0)


def test_h265_sps_vui_timing() -> None:
    # A whole SPS (scaling lists, PCM, predicted short-term RPS, long-term pictures, VUI) written
    # from the syntax tables: the timing at its end is 30000/1001 pictures per second.
    from fractions import Fraction

    from mediaproto.codecs.h265 import parse_sps as parse_hevc_sps
    sps = parse_hevc_sps(h265_sps(reorder=1, timing=(1001, 30000)))
    assert (sps.vui_num_units_in_tick, sps.vui_time_scale) == (1001, 30000)
    assert sps.frame_rate == Fraction(30000, 1001) and sps.sps_max_num_reorder_pics == 1
    assert parse_hevc_sps(h265_sps(reorder=1)).frame_rate is None
    # the frame duration spaces the first decode times: 3003 ticks at 90 kHz
    ex = H265DtsExtractor(parameter_sets=[h265_sps(reorder=1, timing=(1001, 30000)), h265_pps()])
    assert ex.extract([h265_slice(19, 0)], BASE) == BASE - 3003


def test_module_doctests() -> None:
    import doctest

    from mediaproto.codecs import dts, h264_dts, h265_dts
    for module in (dts, h264_dts, h265_dts):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
