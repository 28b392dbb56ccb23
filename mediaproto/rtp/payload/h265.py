"""H.265 / HEVC over RTP (RFC 7798): single NAL unit packets, aggregation packets (AP) and
fragmentation units (FU).

::

    NAL unit header:  [F|Type(6)|LayerId(6)|TID(3)]          (2 bytes)
    AP:   [F|48|LayerId|TID] ([DONL 16]) [size 16][NAL unit] ([DOND 8]) [size 16][NAL unit] ...
    FU:   [F|49|LayerId|TID] [S|E|FuType(6)] ([DONL 16]) fragment...

The decoding order number fields (DONL, DOND) are present only when the SDP says
``sprop-max-don-diff`` is greater than 0; this module does not send them, and the depacketizer
skips them when built with ``donl=True`` (packets are taken in transmission order). PACI packets
(type 50) raise :class:`~mediaproto.errors.ParseError`.

>>> from mediaproto.media import Frame
>>> p = H265Packetizer(96, ssrc=1, mtu=100)
>>> frame = Frame(0, 0, 0, (b"\\x40\\x01vps", b"\\x42\\x01sps", b"\\x44\\x01pps", b"\\x26\\x01" + bytes(200)), True)
>>> [pkt.payload[0] >> 1 & 0x3F for pkt in p.packetize(frame)]
[48, 49, 49, 49]

The same quirks as H.264 are tolerated (see :mod:`.h264`), under the same names.
"""

from __future__ import annotations

import struct
from typing import Sequence

from ...codecs.dts import DtsExtractor
from ...codecs.h265 import is_keyframe as _is_keyframe
from ...codecs.h265_dts import H265DtsExtractor
from ...errors import ParseError
from ...media import Frame
from ..packet import RtpPacket
from ._nal import QUIRK_AGGREGATION_ZERO_PADDING, Fragment, NalDepacketizer, NalPacketizer
from ..limits import Limits

__all__ = ["H265Packetizer", "H265Depacketizer", "AP", "FU", "PACI"]

AP = 48
FU = 49
PACI = 50
_VPS, _SPS, _PPS, _AUD, _PREFIX_SEI = 32, 33, 34, 35, 39
#: NAL unit types that only come before the first slice segment of an access unit (H.265
#: 7.4.2.4.4): after a loss, a packet starting with one of them (or a first slice) starts a unit.
_UNIT_OPENERS = frozenset({_VPS, _SPS, _PPS, _AUD, _PREFIX_SEI, 41, 42, 43, 44})
_U16 = struct.Struct(">H")


def _type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F


class H265Packetizer(NalPacketizer):
    """Packetize H.265 access units (RFC 7798, without DONL).

    Parameters are those of :class:`~._nal.NalPacketizer`; ``parameter_sets`` are the VPS, SPS and
    PPS, sent in-band before IRAP frames that lack them when ``insert_parameter_sets`` is true.
    """

    __slots__ = ()

    header_size = 2
    min_payload_size = 4

    def _is_keyframe_nal(self, nal: bytes) -> bool:
        return 16 <= (nal[0] >> 1) & 0x3F <= 23

    def _with_parameter_sets(self, nals: Sequence[bytes]) -> Sequence[bytes]:
        if not _is_keyframe(nals) or any(len(nal) > 1 and _type(nal) == _SPS for nal in nals):
            return nals
        if nals and len(nals[0]) > 1 and _type(nals[0]) == _AUD:
            return (nals[0], *self.parameter_sets, *nals[1:])
        return (*self.parameter_sets, *nals)

    def _aggregation_packet(self, nals: list[bytes]) -> bytes:
        f = 0
        layer = 63
        tid = 7
        parts = [b""]
        pack = _U16.pack
        for nal in nals:
            f |= nal[0] & 0x80
            lid = ((nal[0] & 1) << 5) | (nal[1] >> 3)
            if lid < layer:
                layer = lid
            if nal[1] & 7 < tid:
                tid = nal[1] & 7
            parts.append(pack(len(nal)))
            parts.append(nal)
        tid = tid or 1
        parts[0] = bytes((f | (AP << 1) | (layer >> 5), ((layer & 0x1F) << 3) | tid))
        return b"".join(parts)

    def _fragments(self, nal: bytes, max_payload: int) -> list[bytes]:
        h0, h1 = nal[0], nal[1]
        t = (h0 >> 1) & 0x3F
        header = bytes(((h0 & 0x81) | (FU << 1), h1))
        chunk = max_payload - 3
        end = len(nal)
        middle = header + bytes((t,))
        view = memoryview(nal)
        out = [header + bytes((0x80 | t,)) + view[2 : 2 + chunk]]
        pos = 2 + chunk
        last = end - chunk
        while pos < last:
            out.append(middle + view[pos : pos + chunk])
            pos += chunk
        out.append(header + bytes((0x40 | t,)) + view[pos:])
        return out


class H265Depacketizer(NalDepacketizer):
    """Rebuild H.265 access units from RFC 7798 packets.

    :param donl: the stream carries DONL/DOND fields (``sprop-max-don-diff`` > 0 in the SDP).
    :param parameter_sets: the VPS, SPS and PPS known out of band (``sprop-vps/sps/pps``).
    :param decode_times: give frames decode times (``False``: ``dts == pts``).

    ``keyframe`` is set on frames holding an IRAP picture (BLA, IDR, CRA). ``dts`` comes from an
    :class:`~mediaproto.codecs.h265_dts.H265DtsExtractor` (B-frames: see :mod:`._nal`); the RASL
    pictures of a CRA picture the stream was joined at are dropped (no decoder can use them) and
    counted in ``lost_units``.
    """

    __slots__ = ("donl",)

    def __init__(
        self,
        track_id: int,
        clock_rate: int = 90000,
        *,
        limits: Limits | None = None,
        strict: bool = False,
        donl: bool = False,
        parameter_sets: Sequence[bytes] = (),
        decode_times: bool = True,
    ) -> None:
        super().__init__(track_id, clock_rate, limits=limits, strict=strict, parameter_sets=parameter_sets,
                         decode_times=decode_times)
        self.donl = donl

    def _make_dts_extractor(self, clock_rate: int, parameter_sets: Sequence[bytes]) -> DtsExtractor | None:
        return H265DtsExtractor(clock_rate, parameter_sets=parameter_sets)

    def feed(self, packet: RtpPacket) -> list[Frame]:
        fu = self._fu
        if fu is not None:  # the fast path: the next fragment of the open NAL unit
            payload = packet.payload
            if (
                packet.sequence_number == self._expected
                and packet.timestamp == self._ts
                and len(payload) > 3
                and payload[0] & 0x7E == FU << 1
                and not payload[2] & 0x80
                and packet.ssrc == self._ssrc
            ):
                return self._next_fragment(packet, fu, payload[3:], payload[2] & 0x40 != 0)
        return self._feed(packet)

    def _parse(self, payload: bytes) -> tuple[list[bytes], Fragment | None]:
        if len(payload) < 3:
            if payload.startswith(b"\x00\x00\x01"):
                return self._split_annexb(payload), None
            raise ParseError(f"H.265 RTP payload of {len(payload)} bytes", offset=0)
        t = (payload[0] >> 1) & 0x3F
        if t < AP:
            if payload[0] == 0 and (payload.startswith(b"\x00\x00\x01") or payload.startswith(b"\x00\x00\x00\x01")):
                return self._split_annexb(payload), None
            if self.donl:
                if len(payload) < 5:
                    raise ParseError("H.265 single NAL unit packet truncated in its DONL", offset=2)
                payload = payload[:2] + payload[4:]
            if payload.find(b"\x00\x00\x01", 2) >= 0:
                return self._split_annexb(payload), None
            return [payload], None
        if t == FU:
            skip = 3
            fu = payload[2]
            if fu & 0x80 and self.donl:
                skip = 5
            if len(payload) <= skip:
                raise ParseError(f"H.265 FU of {len(payload)} bytes", offset=0)
            header = bytes(((payload[0] & 0x81) | ((fu & 0x3F) << 1), payload[1]))
            return [], (fu & 0x80 != 0, fu & 0x40 != 0, header, payload[skip:])
        if t == AP:
            return self._aggregation(payload), None
        raise ParseError(f"H.265 payload type {t} is not supported", offset=0)

    def _aggregation(self, payload: bytes) -> list[bytes]:
        nals: list[bytes] = []
        pos = 2
        end = len(payload)
        unpack = _U16.unpack_from
        donl = self.donl
        while pos < end:
            if donl:
                pos += 2 if not nals else 1
            if pos + 2 > end:
                if pos >= end or payload.count(0, pos) != end - pos:
                    raise ParseError("AP truncated in a NAL unit size", offset=min(pos, end))
                self._quirk(QUIRK_AGGREGATION_ZERO_PADDING, "AP ends with zero padding", pos)
                break
            (size,) = unpack(payload, pos)
            if size == 0:
                if payload.count(0, pos) == end - pos:
                    self._quirk(QUIRK_AGGREGATION_ZERO_PADDING, "AP ends with zero padding", pos)
                    break
                raise ParseError("zero-length NAL unit in an AP", offset=pos)
            pos += 2
            if pos + size > end:
                raise ParseError(f"AP NAL unit of {size} bytes runs past the end", offset=pos - 2)
            if size < 2:
                raise ParseError("AP NAL unit shorter than its header", offset=pos - 2)
            nal = payload[pos : pos + size]
            pos += size
            if nal.find(b"\x00\x00\x01") >= 0:
                nals.extend(self._split_annexb(nal, pos - size))
            else:
                nals.append(nal)
        if not nals:
            raise ParseError("AP without NAL units", offset=0)
        return nals

    def _starts_unit(self, nals: list[bytes], fragment: Fragment | None) -> bool:
        if nals:
            first = nals[0]
        elif fragment is not None and fragment[0]:
            first = fragment[2] + fragment[3][:1]
        else:
            return False
        if len(first) < 3:
            return False
        t = _type(first)
        if t in _UNIT_OPENERS:
            return True
        return t < 32 and first[2] & 0x80 != 0  # first_slice_segment_in_pic_flag

    def _is_vcl(self, nal: bytes) -> bool:
        return len(nal) > 1 and _type(nal) < 32

    def _is_keyframe(self, nals: Sequence[bytes]) -> bool:
        return _is_keyframe(nals)
