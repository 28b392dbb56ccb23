"""Decode timestamps for H.265 access units that arrive with a presentation time only (RTP).

:class:`H265DtsExtractor` is :class:`~.dts.DtsExtractor` for H.265. Every H.265 SPS says its
reorder depth (``sps_max_num_reorder_pics`` of the highest sub-layer, section 7.4.3.2.1); beside
it, the picture order count (``PicOrderCntVal``, section 8.3.1) of every picture is decoded from
``slice_pic_order_cnt_lsb`` in its first slice segment header, with the most significant part
carried from the previous picture of TemporalId 0 that is not a RASL, RADL or sub-layer
non-reference picture, and reset at IRAP pictures that start a coded video sequence (IDR, BLA,
the first picture, a CRA after an end of sequence). A gap in the POCs announces frames to come that
will be shown earlier (:class:`~.dts.PocReorderPredictor`); the larger depth is used.

A stream joined at a CRA picture brings RASL pictures that refer to pictures before it: decoders
drop them (they cannot be decoded), and they are shown before the CRA, so no decode time can be
both monotonic and at most their presentation time. :meth:`H265DtsExtractor.undecodable` tells
them apart so that a caller can drop them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..bits import BitReader, ebsp_to_rbsp
from ..errors import ParseError, ProtocolError
from .dts import MAX_REORDER, DtsExtractor
from .h265_sps import HevcSpsInfo, parse_sps

__all__ = ["HevcPpsInfo", "HevcSliceHeader", "parse_pps", "parse_slice_header", "HevcPocDecoder",
           "H265DtsExtractor"]

_IDR_W_RADL, _IDR_N_LP, _CRA = 19, 20, 21
_RADL_N, _RASL_N, _RASL_R = 6, 8, 9
_VPS, _SPS, _PPS, _EOS = 32, 33, 34, 36
#: Enough bytes of a slice segment NAL unit for every field up to slice_pic_order_cnt_lsb.
_SLICE_HEADER_BYTES = 48


def _type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F


@dataclass(frozen=True, slots=True)
class HevcPpsInfo:
    """The leading fields of an H.265 picture parameter set (section 7.3.2.3.1) a slice segment
    header needs before its POC."""

    pps_pic_parameter_set_id: int
    pps_seq_parameter_set_id: int
    dependent_slice_segments_enabled_flag: bool
    output_flag_present_flag: bool
    num_extra_slice_header_bits: int


def parse_pps(nal: bytes | bytearray | memoryview) -> HevcPpsInfo:
    """Parse the leading fields of an H.265 PPS NAL unit (with its 2-byte header). Raises
    :class:`~mediaproto.errors.ParseError`."""
    raw = bytes(nal[:24])
    if len(raw) < 3 or raw[0] & 0x80 or _type(raw) != _PPS:
        raise ParseError("not an H.265 PPS NAL unit", offset=0)
    r = BitReader(ebsp_to_rbsp(raw[2:]))
    pps_id = r.read_ue()
    sps_id = r.read_ue()
    if pps_id > 63 or sps_id > 15:
        raise ParseError(f"PPS ids out of range ({pps_id}, {sps_id})", offset=2)
    return HevcPpsInfo(pps_id, sps_id, r.read_flag(), r.read_flag(), r.read(3))


@dataclass(frozen=True, slots=True)
class HevcSliceHeader:
    """The fields of the first slice segment header of a picture (section 7.3.6.1) up to the POC."""

    nal_unit_type: int
    temporal_id: int
    slice_pic_parameter_set_id: int
    slice_type: int
    pic_output_flag: bool
    slice_pic_order_cnt_lsb: int  # 0 for IDR pictures, which do not send it


def slice_pps_id(nal: bytes) -> int | None:
    """The ``slice_pic_parameter_set_id`` of a slice segment NAL unit, or ``None`` when it is not
    the first segment of its picture."""
    raw = bytes(nal[:_SLICE_HEADER_BYTES])
    if len(raw) < 3 or raw[0] & 0x80 or _type(raw) >= 32:
        raise ParseError("not a slice segment NAL unit", offset=0)
    r = BitReader(ebsp_to_rbsp(raw[2:]))
    if not r.read_flag():
        return None
    if 16 <= _type(raw) <= 23:
        r.skip(1)
    return r.read_ue()


def parse_slice_header(nal: bytes | bytearray | memoryview, sps: HevcSpsInfo, pps: HevcPpsInfo) -> HevcSliceHeader:
    """Parse the first slice segment header of a picture up to ``slice_pic_order_cnt_lsb``.
    Raises :class:`~mediaproto.errors.ParseError` (also for a segment that is not the first)."""
    raw = bytes(nal[:_SLICE_HEADER_BYTES])
    if len(raw) < 3 or raw[0] & 0x80 or _type(raw) >= 32:
        raise ParseError("not a slice segment NAL unit", offset=0)
    t = _type(raw)
    r = BitReader(ebsp_to_rbsp(raw[2:]))
    if not r.read_flag():
        raise ParseError("not the first slice segment of a picture", offset=2)
    if 16 <= t <= 23:
        r.skip(1)  # no_output_of_prior_pics_flag
    pps_id = r.read_ue()
    if pps_id > 63:
        raise ParseError(f"slice_pic_parameter_set_id {pps_id} out of range", offset=2)
    r.skip(pps.num_extra_slice_header_bits)
    slice_type = r.read_ue()
    if slice_type > 2:
        raise ParseError(f"slice_type {slice_type} out of range", offset=2)
    output = r.read_flag() if pps.output_flag_present_flag else True
    if sps.separate_colour_plane_flag:
        r.skip(2)
    lsb = 0
    if t not in (_IDR_W_RADL, _IDR_N_LP):
        lsb = r.read(sps.log2_max_pic_order_cnt_lsb_minus4 + 4)
    return HevcSliceHeader(t, (raw[1] & 7) - 1, pps_id, slice_type, output, lsb)


class HevcPocDecoder:
    """``PicOrderCntVal`` of each picture in decode order (section 8.3.1)."""

    __slots__ = ("_prev_poc", "_first", "_after_eos")

    def __init__(self) -> None:
        self._prev_poc = 0
        self._first = True
        self._after_eos = False

    def end_of_sequence(self) -> None:
        """An end of sequence NAL unit: the next picture (an IRAP) starts a new sequence."""
        self._after_eos = True

    def no_rasl_output(self, nal_unit_type: int) -> bool:
        """Whether a picture of this type would start a coded video sequence (NoRaslOutputFlag)."""
        return 16 <= nal_unit_type <= 23 and (nal_unit_type != _CRA or self._first or self._after_eos)

    def decode(self, h: HevcSliceHeader, sps: HevcSpsInfo) -> int:
        """The POC of the picture whose first slice segment header is ``h``."""
        t = h.nal_unit_type
        max_lsb = 1 << (sps.log2_max_pic_order_cnt_lsb_minus4 + 4)
        lsb = h.slice_pic_order_cnt_lsb
        if self.no_rasl_output(t):
            msb = 0
        else:
            prev_lsb = self._prev_poc & (max_lsb - 1)
            prev_msb = self._prev_poc - prev_lsb
            if lsb < prev_lsb and prev_lsb - lsb >= max_lsb // 2:
                msb = prev_msb + max_lsb
            elif lsb > prev_lsb and lsb - prev_lsb > max_lsb // 2:
                msb = prev_msb - max_lsb
            else:
                msb = prev_msb
        poc = msb + lsb
        self._first = False
        self._after_eos = False
        sub_layer_non_ref = t <= 14 and t % 2 == 0
        if h.temporal_id == 0 and not (_RADL_N <= t <= _RASL_R) and not sub_layer_non_ref:
            self._prev_poc = poc
        return poc


class H265DtsExtractor(DtsExtractor):
    """Decode times for H.265 access units in decode order (see the module docs).

    >>> H265DtsExtractor().extract([b"\\x26\\x01\\xaf"], 3000)  # no SPS yet: the presentation time
    3000
    """

    __slots__ = ("_sps", "_pps", "_active", "_poc", "_skipping_rasl")

    poc_step = 1  # x265 and most H.265 encoders count POC by 1 per picture

    def __init__(self, clock_rate: int = 90000, *, parameter_sets: Sequence[bytes] = (),
                 frame_duration: int | None = None, strict: bool = False) -> None:
        self._sps: dict[int, tuple[bytes, HevcSpsInfo]] = {}
        self._pps: dict[int, tuple[bytes, HevcPpsInfo]] = {}
        self._active: HevcSpsInfo | None = None
        self._poc = HevcPocDecoder()
        self._skipping_rasl = False
        super().__init__(clock_rate, parameter_sets=parameter_sets, frame_duration=frame_duration, strict=strict)

    def _parameter_set(self, nal: bytes) -> bool:
        if len(nal) < 3:
            return False
        t = _type(nal)
        try:
            if t == _SPS:
                if not any(known == nal for known, _ in self._sps.values()):
                    sps = parse_sps(nal)
                    self._sps[sps.sps_seq_parameter_set_id] = (nal, sps)
                    active = self._active
                    if active is None or active.sps_seq_parameter_set_id == sps.sps_seq_parameter_set_id:
                        self._activate(sps)
                return True
            if t == _PPS:
                pps = parse_pps(nal)
                self._pps[pps.pps_pic_parameter_set_id] = (nal, pps)
                return True
        except ProtocolError:
            if self.strict:
                raise
            return True
        return t == _VPS

    def _activate(self, sps: HevcSpsInfo) -> None:
        self._active = sps
        reorder = sps.sps_max_num_reorder_pics
        rate = sps.frame_rate
        duration = max(1, round(Fraction(self.timeline.clock_rate) / rate)) if rate else None
        self._set_sps_reorder(None if reorder is None else min(reorder, MAX_REORDER), duration)
        self._poc = HevcPocDecoder()

    def undecodable(self, nals: Sequence[bytes]) -> bool:
        """Whether an access unit holds a RASL picture of a CRA picture that started the stream
        (or followed an end of sequence): decoders drop those, and so may the caller, before
        :meth:`extract` (which does not need to see them)."""
        for nal in nals:
            if len(nal) >= 2 and _type(nal) < 32:
                t = _type(nal)
                if 16 <= t <= 23:
                    return False
                return self._skipping_rasl and t in (_RASL_N, _RASL_R)
        return False

    def _frame(self, nals: Sequence[bytes]) -> None:
        first_slice = None
        for nal in nals:
            if len(nal) < 2:
                continue
            t = _type(nal)
            if t in (_SPS, _PPS):
                self._parameter_set(bytes(nal))
            elif t == _EOS:
                self._poc.end_of_sequence()
            elif first_slice is None and t < 32:
                first_slice = nal
        if first_slice is None:
            return
        try:
            pps_id = slice_pps_id(bytes(first_slice[:_SLICE_HEADER_BYTES]))
            pps_entry = None if pps_id is None else self._pps.get(pps_id)
            if pps_entry is None:
                return
            pps = pps_entry[1]
            sps_entry = self._sps.get(pps.pps_seq_parameter_set_id)
            if sps_entry is None:
                return
            sps = sps_entry[1]
            if sps is not self._active:
                self._activate(sps)
            header = parse_slice_header(first_slice, sps, pps)
            t = header.nal_unit_type
            new_sequence = self._poc.no_rasl_output(t)
            if 16 <= t <= 23:
                self._skipping_rasl = new_sequence and t in (16, _CRA)  # BLA_W_LP, CRA
            poc = self._poc.decode(header, sps)
        except ProtocolError:
            if self.strict:
                raise
            return
        self._predict(poc, new_sequence)
