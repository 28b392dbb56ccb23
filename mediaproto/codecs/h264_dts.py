"""Decode timestamps for H.264 access units that arrive with a presentation time only (RTP).

:class:`H264DtsExtractor` is :class:`~.dts.DtsExtractor` for H.264. The reorder depth comes from
the active SPS: ``max_num_reorder_frames`` of the VUI bitstream restriction when present (x264,
and so GStreamer's ``x264enc``, always write it), 0 for ``pic_order_cnt_type`` 2 (output order is
decode order) and for the Baseline profile (no B slices). Beside it, the picture order count (POC)
of every picture is decoded from its first slice header (ITU-T H.264 section 8.2.1:
``pic_order_cnt_type`` 0 from ``pic_order_cnt_lsb`` with the most significant part carried from
the previous reference picture, type 1 from ``frame_num`` and the SPS's expected deltas, type 2
needs none) and a gap in the POCs announces frames to come that will be shown earlier (see
:class:`~.dts.PocReorderPredictor`); the larger of the two depths is used.

What is not read: memory_management_control_operation 5 (a rare reset of the POC without an IDR)
is not looked for; field pictures (``field_pic_flag``) and MBAFF streams use the SPS's depth only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..bits import BitReader, ebsp_to_rbsp
from ..errors import ParseError, ProtocolError
from .dts import MAX_REORDER, DtsExtractor
from .h264_sps import SpsInfo, parse_sps

__all__ = ["H264PpsInfo", "H264SliceHeader", "parse_pps", "parse_slice_header", "slice_pps_id", "sps_reorder_depth",
           "H264PocDecoder", "H264DtsExtractor"]

_NAL_SLICE, _NAL_DPA, _NAL_IDR, _NAL_SPS, _NAL_PPS = 1, 2, 5, 7, 8
#: Bytes of a slice NAL unit enough for every field up to the POC: three ue(v) of at most 32 bits
#: (first_mb_in_slice is at most 2^17), frame_num and pic_order_cnt_lsb of at most 16 bits each,
#: idr_pic_id, two se(v) deltas: about 40 bytes, 64 with emulation-prevention bytes.
_SLICE_HEADER_BYTES = 64


@dataclass(frozen=True, slots=True)
class H264PpsInfo:
    """The leading fields of an H.264 picture parameter set (section 7.3.2.2) a slice header
    needs before its POC fields."""

    pic_parameter_set_id: int
    seq_parameter_set_id: int
    entropy_coding_mode_flag: bool
    bottom_field_pic_order_in_frame_present_flag: bool


def parse_pps(nal: bytes | bytearray | memoryview) -> H264PpsInfo:
    """Parse the leading fields of a PPS NAL unit (with its header). Raises
    :class:`~mediaproto.errors.ParseError`."""
    raw = bytes(nal[:16])
    if len(raw) < 2 or raw[0] & 0x80 or raw[0] & 0x1F != _NAL_PPS:
        raise ParseError("not a PPS NAL unit", offset=0)
    r = BitReader(ebsp_to_rbsp(raw[1:]))
    pps_id = r.read_ue()
    sps_id = r.read_ue()
    if pps_id > 255 or sps_id > 31:
        raise ParseError(f"PPS ids out of range ({pps_id}, {sps_id})", offset=1)
    return H264PpsInfo(pps_id, sps_id, r.read_flag(), r.read_flag())


@dataclass(frozen=True, slots=True)
class H264SliceHeader:
    """The fields of a slice header (section 7.3.3) up to the picture order count."""

    nal_unit_type: int
    nal_ref_idc: int
    first_mb_in_slice: int
    slice_type: int
    pic_parameter_set_id: int
    frame_num: int
    field_pic_flag: bool
    bottom_field_flag: bool
    idr_pic_id: int | None
    pic_order_cnt_lsb: int | None
    delta_pic_order_cnt_bottom: int
    delta_pic_order_cnt: tuple[int, int]

    @property
    def idr(self) -> bool:
        """Whether this is a slice of an IDR picture."""
        return self.nal_unit_type == _NAL_IDR


def _slice_start(nal: bytes) -> tuple[BitReader, int, int, int]:
    if len(nal) < 2 or nal[0] & 0x80 or nal[0] & 0x1F not in (_NAL_SLICE, _NAL_DPA, _NAL_IDR):
        raise ParseError("not a slice NAL unit (types 1, 2, 5)", offset=0)
    r = BitReader(ebsp_to_rbsp(nal[1:_SLICE_HEADER_BYTES]))
    first_mb = r.read_ue()
    slice_type = r.read_ue()
    pps_id = r.read_ue()
    if slice_type > 9 or pps_id > 255:
        raise ParseError(f"slice_type {slice_type} or pic_parameter_set_id {pps_id} out of range", offset=1)
    return r, first_mb, slice_type, pps_id


def slice_pps_id(nal: bytes) -> int:
    """The ``pic_parameter_set_id`` of a slice NAL unit."""
    return _slice_start(nal)[3]


def parse_slice_header(nal: bytes | bytearray | memoryview, sps: SpsInfo, pps: H264PpsInfo) -> H264SliceHeader:
    """Parse a slice header up to its POC fields with the SPS and PPS it refers to. Raises
    :class:`~mediaproto.errors.ParseError`."""
    raw = bytes(nal[:_SLICE_HEADER_BYTES + 1])
    r, first_mb, slice_type, pps_id = _slice_start(raw)
    if sps.separate_colour_plane_flag:
        r.skip(2)  # colour_plane_id
    frame_num = r.read(sps.log2_max_frame_num_minus4 + 4)
    field = bottom = False
    if not sps.frame_mbs_only_flag:
        field = r.read_flag()
        if field:
            bottom = r.read_flag()
    t = raw[0] & 0x1F
    idr_pic_id = r.read_ue() if t == _NAL_IDR else None
    lsb: int | None = None
    delta_bottom = 0
    deltas = (0, 0)
    both = pps.bottom_field_pic_order_in_frame_present_flag and not field
    if sps.pic_order_cnt_type == 0:
        lsb = r.read((sps.log2_max_pic_order_cnt_lsb_minus4 or 0) + 4)
        if both:
            delta_bottom = r.read_se()
    elif sps.pic_order_cnt_type == 1 and not sps.delta_pic_order_always_zero_flag:
        d0 = r.read_se()
        deltas = (d0, r.read_se() if both else 0)
    return H264SliceHeader(t, (raw[0] >> 5) & 3, first_mb, slice_type, pps_id, frame_num, field, bottom,
                           idr_pic_id, lsb, delta_bottom, deltas)


def sps_reorder_depth(sps: SpsInfo) -> int | None:
    """The reorder depth an SPS gives (``max_num_reorder_frames``, or 0 when the stream cannot
    reorder), or ``None`` when it does not say."""
    if sps.max_num_reorder_frames is not None:
        return min(sps.max_num_reorder_frames, MAX_REORDER)
    if sps.pic_order_cnt_type == 2 or sps.profile_idc == 66:
        return 0
    return None


class H264PocDecoder:
    """The picture order count of each picture, in decode order (section 8.2.1), for
    ``pic_order_cnt_type`` 0 and 1 (type 2 follows decode order and needs no POC). For a frame it
    is ``Min(TopFieldOrderCnt, BottomFieldOrderCnt)``."""

    __slots__ = ("_prev_msb", "_prev_lsb", "_prev_frame_num", "_prev_frame_num_offset")

    def __init__(self) -> None:
        self._prev_msb = 0
        self._prev_lsb = 0
        self._prev_frame_num = 0
        self._prev_frame_num_offset = 0

    def decode(self, header: H264SliceHeader, sps: SpsInfo) -> int:
        """The POC of the picture whose first slice header is ``header``."""
        if sps.pic_order_cnt_type == 0:
            return self._type0(header, sps)
        if sps.pic_order_cnt_type == 1:
            return self._type1(header, sps)
        raise ParseError("pic_order_cnt_type 2 has no POC to decode here")

    def _type0(self, h: H264SliceHeader, sps: SpsInfo) -> int:
        if h.idr:
            self._prev_msb = self._prev_lsb = 0
        lsb = h.pic_order_cnt_lsb or 0
        max_lsb = 1 << ((sps.log2_max_pic_order_cnt_lsb_minus4 or 0) + 4)
        prev_msb, prev_lsb = self._prev_msb, self._prev_lsb
        if lsb < prev_lsb and prev_lsb - lsb >= max_lsb // 2:
            msb = prev_msb + max_lsb
        elif lsb > prev_lsb and lsb - prev_lsb > max_lsb // 2:
            msb = prev_msb - max_lsb
        else:
            msb = prev_msb
        if h.nal_ref_idc:
            self._prev_msb, self._prev_lsb = msb, lsb
        top = msb + lsb
        if h.field_pic_flag:
            return top
        return min(top, top + h.delta_pic_order_cnt_bottom)

    def _type1(self, h: H264SliceHeader, sps: SpsInfo) -> int:
        max_frame_num = 1 << (sps.log2_max_frame_num_minus4 + 4)
        if h.idr:
            offset = 0
        elif self._prev_frame_num > h.frame_num:
            offset = self._prev_frame_num_offset + max_frame_num
        else:
            offset = self._prev_frame_num_offset
        cycle = sps.offset_for_ref_frame
        n = len(cycle)
        abs_frame_num = offset + h.frame_num if n else 0
        if not h.nal_ref_idc and abs_frame_num > 0:
            abs_frame_num -= 1
        expected = 0
        if abs_frame_num > 0:
            count, in_cycle = divmod(abs_frame_num - 1, n)
            expected = count * sum(cycle) + sum(cycle[: in_cycle + 1])
        if not h.nal_ref_idc:
            expected += sps.offset_for_non_ref_pic
        self._prev_frame_num_offset = offset
        self._prev_frame_num = h.frame_num
        top = expected + h.delta_pic_order_cnt[0]
        if h.field_pic_flag:
            return top + sps.offset_for_top_to_bottom_field if h.bottom_field_flag else top
        bottom = top + sps.offset_for_top_to_bottom_field + h.delta_pic_order_cnt[1]
        return min(top, bottom)


class H264DtsExtractor(DtsExtractor):
    """Decode times for H.264 access units in decode order (see the module docs).

    >>> ex = H264DtsExtractor()
    >>> ex.extract([b"\\x65\\x88\\x84"], 3000)  # no SPS yet: the decode time is the presentation time
    3000
    """

    __slots__ = ("_sps", "_pps", "_active", "_poc", "_started")

    def __init__(self, clock_rate: int = 90000, *, parameter_sets: Sequence[bytes] = (),
                 frame_duration: int | None = None, strict: bool = False) -> None:
        self._sps: dict[int, tuple[bytes, SpsInfo]] = {}
        self._pps: dict[int, tuple[bytes, H264PpsInfo]] = {}
        self._active: SpsInfo | None = None
        self._poc = H264PocDecoder()
        self._started = False
        super().__init__(clock_rate, parameter_sets=parameter_sets, frame_duration=frame_duration, strict=strict)

    def _parameter_set(self, nal: bytes) -> bool:
        t = nal[0] & 0x1F
        try:
            if t == _NAL_SPS:
                known = self._sps.get(_sps_id(nal))
                if known is None or known[0] != nal:
                    sps = parse_sps(nal)
                    self._sps[sps.seq_parameter_set_id] = (nal, sps)
                    active = self._active
                    if active is None or active.seq_parameter_set_id == sps.seq_parameter_set_id:
                        self._activate(sps)
                return True
            if t == _NAL_PPS:
                pps = parse_pps(nal)
                self._pps[pps.pic_parameter_set_id] = (nal, pps)
                return True
        except ProtocolError:
            if self.strict:
                raise
            return True
        return False

    def _activate(self, sps: SpsInfo) -> None:
        self._active = sps
        duration = None
        rate = sps.frame_rate
        if rate:
            duration = max(1, round(Fraction(self.timeline.clock_rate) / rate))
        self._set_sps_reorder(sps_reorder_depth(sps), duration)
        self._poc = H264PocDecoder()
        self._started = False

    def _frame(self, nals: Sequence[bytes]) -> None:
        first_slice = None
        for nal in nals:
            if not nal:
                continue
            t = nal[0] & 0x1F
            if t == _NAL_SPS or t == _NAL_PPS:
                self._parameter_set(bytes(nal))
            elif first_slice is None and t in (_NAL_SLICE, _NAL_DPA, _NAL_IDR):
                first_slice = nal
        if first_slice is None:
            return
        try:
            pps_entry = self._pps.get(slice_pps_id(bytes(first_slice[:_SLICE_HEADER_BYTES])))
            if pps_entry is None:
                return
            pps = pps_entry[1]
            sps_entry = self._sps.get(pps.seq_parameter_set_id)
            if sps_entry is None:
                return
            sps = sps_entry[1]
            if sps is not self._active:
                self._activate(sps)
            if sps.pic_order_cnt_type == 2 or not sps.frame_mbs_only_flag:
                return
            header = parse_slice_header(first_slice, sps, pps)
            poc = self._poc.decode(header, sps)
        except ProtocolError:
            if self.strict:
                raise
            return
        new_sequence = header.idr or not self._started
        self._started = True
        self._predict(poc, new_sequence)


def _sps_id(nal: bytes) -> int:
    """The seq_parameter_set_id of an SPS NAL unit (-1 when it does not parse)."""
    try:
        r = BitReader(ebsp_to_rbsp(nal[4:12]))
        return r.read_ue()
    except ProtocolError:
        return -1
