"""H.264 over RTP (RFC 6184): single NAL unit packets, STAP-A and FU-A.

Packetization modes 0 (single NAL units only) and 1 (non-interleaved: STAP-A and FU-A too) are
supported; mode 2 (interleaved: STAP-B, MTAP, FU-B) is not, and its packets raise
:class:`~mediaproto.errors.ParseError`.

::

    STAP-A:  [F|NRI|24] [size 16][NAL unit] [size 16][NAL unit] ...
    FU-A:    [F|NRI|28] [S|E|R|type] fragment...

>>> from mediaproto.media import Frame
>>> p = H264Packetizer(96, ssrc=1, mtu=100)
>>> d = H264Depacketizer(track_id=0)
>>> frame = Frame(0, 3000, 3000, (b"\\x67" + b"s" * 20, b"\\x68pps", b"\\x65" + b"i" * 300), keyframe=True)
>>> packets = p.packetize(frame)
>>> [pkt.payload[0] & 0x1F for pkt in packets], packets[-1].marker
([24, 28, 28, 28, 28], True)
>>> [f for pkt in packets for f in d.feed(pkt)] == [frame]
True

Tolerated quirks of real peers (named in :attr:`~.base.Depacketizer.quirks_seen`; ``strict=True``
rejects the first three):

* ``fu-start-and-end``: an FU-A with both the start and end bits (some cameras) is a whole NAL unit;
* ``annexb-in-payload``: NAL units with start codes, or several Annex B NAL units in one single-NAL
  or FU-A payload, are split and stripped;
* ``aggregation-zero-padding``: a STAP-A ending in zero-length, zero-filled entries;
* ``no-marker-bit``: units end when the timestamp changes (cameras that never set the marker);
* ``parameter-sets-previous-timestamp``: an SPS/PPS sent with the marker bit and the previous unit's
  timestamp (Reolink) is held for the next frame.
"""

from __future__ import annotations

import struct
from typing import Sequence

from ...codecs.dts import DtsExtractor
from ...codecs.h264 import is_keyframe as _is_keyframe
from ...codecs.h264_dts import H264DtsExtractor
from ...errors import LocalProtocolError, ParseError
from ...media import Frame
from ..packet import RtpPacket
from ._nal import QUIRK_AGGREGATION_ZERO_PADDING, Fragment, NalDepacketizer, NalPacketizer

__all__ = ["H264Packetizer", "H264Depacketizer", "STAP_A", "FU_A"]

STAP_A = 24
FU_A = 28
_SPS = 7
_PPS = 8
_AUD = 9
_SEI = 6
_IDR = 5
#: NAL unit types that only come before the first slice of an access unit (H.264 7.4.1.2.3): after
#: a loss, a packet starting with one of them (or with a first slice) starts a unit.
_UNIT_OPENERS = frozenset({_SEI, _SPS, _PPS, _AUD, 14, 15, 16, 17, 18})
_U16 = struct.Struct(">H")


class H264Packetizer(NalPacketizer):
    """Packetize H.264 access units (RFC 6184).

    :param packetization_mode: 1 (default: STAP-A and FU-A) or 0 (single NAL units only).

    The other parameters are those of :class:`~._nal.NalPacketizer` and
    :class:`~.base.Packetizer`: with ``insert_parameter_sets=True`` and ``parameter_sets`` (the
    track's SPS and PPS), every IDR frame that carries no SPS is preceded by them, in one STAP-A.
    """

    __slots__ = ()

    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        clock_rate: int = 90000,
        mtu: int = 1200,
        initial_sequence: int = 0,
        *,
        track_clock_rate: int | None = None,
        initial_timestamp: int = 0,
        parameter_sets: Sequence[bytes] = (),
        insert_parameter_sets: bool = False,
        packetization_mode: int = 1,
    ) -> None:
        if packetization_mode not in (0, 1):
            raise LocalProtocolError(f"packetization-mode {packetization_mode} is not supported (0 or 1)")
        super().__init__(
            payload_type,
            ssrc,
            clock_rate,
            mtu,
            initial_sequence,
            track_clock_rate=track_clock_rate,
            initial_timestamp=initial_timestamp,
            parameter_sets=parameter_sets,
            insert_parameter_sets=insert_parameter_sets,
            aggregate=packetization_mode == 1,
        )

    @property
    def packetization_mode(self) -> int:
        """0 or 1, as the SDP ``fmtp`` line says."""
        return 1 if self.aggregate else 0

    def _is_keyframe_nal(self, nal: bytes) -> bool:
        return nal[0] & 0x1F == _IDR

    def _with_parameter_sets(self, nals: Sequence[bytes]) -> Sequence[bytes]:
        if not _is_keyframe(nals) or any(nal and nal[0] & 0x1F == _SPS for nal in nals):
            return nals
        # after an access unit delimiter, which must come first
        if nals and nals[0] and nals[0][0] & 0x1F == _AUD:
            return (nals[0], *self.parameter_sets, *nals[1:])
        return (*self.parameter_sets, *nals)

    def _aggregation_packet(self, nals: list[bytes]) -> bytes:
        f = 0
        nri = 0
        parts = [b""]
        pack = _U16.pack
        for nal in nals:
            h = nal[0]
            f |= h & 0x80
            if h & 0x60 > nri:
                nri = h & 0x60
            parts.append(pack(len(nal)))
            parts.append(nal)
        parts[0] = bytes((f | nri | STAP_A,))
        return b"".join(parts)

    def _fragments(self, nal: bytes, max_payload: int) -> list[bytes]:
        h = nal[0]
        indicator = (h & 0xE0) | FU_A
        t = h & 0x1F
        chunk = max_payload - 2
        end = len(nal)
        middle = bytes((indicator, t))
        view = memoryview(nal)  # slices of a view are not copies: each payload is one copy
        out = [bytes((indicator, 0x80 | t)) + view[1 : 1 + chunk]]
        pos = 1 + chunk
        last = end - chunk
        while pos < last:
            out.append(middle + view[pos : pos + chunk])
            pos += chunk
        out.append(bytes((indicator, 0x40 | t)) + view[pos:])
        return out


class H264Depacketizer(NalDepacketizer):
    """Rebuild H.264 access units from RFC 6184 packets (modes 0 and 1).

    Frames carry the access unit's NAL units (parameter sets, SEI, slices) without start codes;
    ``keyframe`` is set when the unit holds an IDR slice; ``dts`` comes from an
    :class:`~mediaproto.codecs.h264_dts.H264DtsExtractor` (B-frames: see :mod:`._nal`). See :mod:`._nal` for how units are
    completed, dropped after loss, and which quirks are tolerated.
    """

    __slots__ = ()

    def feed(self, packet: RtpPacket) -> list[Frame]:
        fu = self._fu
        if fu is not None:  # the fast path: the next fragment of the open NAL unit
            payload = packet.payload
            seq = packet.sequence_number
            if (
                seq == self._expected
                and packet.timestamp == self._ts
                and len(payload) > 2
                and payload[0] & 0x1F == FU_A
                and packet.ssrc == self._ssrc
            ):
                fu_header = payload[1]
                if not fu_header & 0xC0:  # a middle fragment
                    budget = self._fu_budget - len(payload)
                    if budget >= 0:
                        self._fu_budget = budget
                        self._expected = (seq + 1) & 0xFFFF
                        fu.append(payload[2:])
                        return []
                elif not fu_header & 0x80:  # the end fragment
                    return self._next_fragment(packet, fu, payload[2:], True)
        elif self._ts is None:  # the fast path: a whole access unit in one single-NAL packet
            payload = packet.payload
            seq = packet.sequence_number
            if (
                packet.marker
                and seq == self._expected
                and payload
                and 0 < payload[0] & 0x1F <= _IDR
                and packet.ssrc == self._ssrc
                and self._drop_ts is None
                and self._last_ts is not None
                and not self._ready
                and len(payload) <= self.limits.max_unit_size
                and payload.find(b"\x00\x00\x01", 1) < 0
            ):
                self._expected = (seq + 1) & 0xFFFF
                ts = packet.timestamp
                self._last_ts = self._last_frame_ts = ts
                self._marker_seen = True
                pts = self._unwrapper.unwrap(ts)
                carry = self._carry
                if carry:
                    self._carry = []
                    return self._frames((*carry, payload), pts)
                if self.dts_extractor is not None:
                    return self._frames((payload,), pts)
                return [Frame(self.track_id, pts, pts, (payload,), payload[0] & 0x1F == _IDR)]
        return self._feed(packet)

    def _make_dts_extractor(self, clock_rate: int, parameter_sets: Sequence[bytes]) -> DtsExtractor | None:
        return H264DtsExtractor(clock_rate, parameter_sets=parameter_sets)

    def _parse(self, payload: bytes) -> tuple[list[bytes], Fragment | None]:
        if not payload:
            raise ParseError("empty H.264 RTP payload", offset=0)
        t = payload[0] & 0x1F
        if 0 < t < 24:
            if payload.find(b"\x00\x00\x01", 1) >= 0:
                return self._split_annexb(payload), None
            return [payload], None
        if t == FU_A:
            if len(payload) < 3:
                raise ParseError(f"FU-A of {len(payload)} bytes", offset=0)
            fu = payload[1]
            header = bytes(((payload[0] & 0xE0) | (fu & 0x1F),))
            return [], (fu & 0x80 != 0, fu & 0x40 != 0, header, payload[2:])
        if t == STAP_A:
            return self._stap_a(payload), None
        if t == 0 and (payload.startswith(b"\x00\x00\x01") or payload.startswith(b"\x00\x00\x00\x01")):
            return self._split_annexb(payload), None
        raise ParseError(f"H.264 NAL unit type {t} is not supported in packetization modes 0 and 1", offset=0)

    def _stap_a(self, payload: bytes) -> list[bytes]:
        nals = []
        pos = 1
        end = len(payload)
        unpack = _U16.unpack_from
        while pos < end:
            if pos + 2 > end:
                if payload[pos:] == b"\x00":
                    self._quirk(QUIRK_AGGREGATION_ZERO_PADDING, "STAP-A ends with a padding byte", pos)
                    break
                raise ParseError("STAP-A truncated in a NAL unit size", offset=pos)
            (size,) = unpack(payload, pos)
            if size == 0:
                if payload.count(0, pos) == end - pos:
                    self._quirk(QUIRK_AGGREGATION_ZERO_PADDING, "STAP-A ends with zero padding", pos)
                    break
                raise ParseError("zero-length NAL unit in a STAP-A", offset=pos)
            pos += 2
            if pos + size > end:
                raise ParseError(f"STAP-A NAL unit of {size} bytes runs past the end", offset=pos - 2)
            nal = payload[pos : pos + size]
            pos += size
            if nal.find(b"\x00\x00\x01") >= 0:
                nals.extend(self._split_annexb(nal, pos - size))
            else:
                nals.append(nal)
        if not nals:
            raise ParseError("STAP-A without NAL units", offset=0)
        return nals

    def _starts_unit(self, nals: list[bytes], fragment: Fragment | None) -> bool:
        if nals:
            first = nals[0]
        elif fragment is not None and fragment[0]:
            first = fragment[2] + fragment[3][:1]
        else:
            return False
        t = first[0] & 0x1F
        if t in _UNIT_OPENERS:
            return True
        # a slice whose first_mb_in_slice (ue(v), first bit 1 means 0) is 0
        return t in (1, _IDR) and len(first) > 1 and first[1] & 0x80 != 0

    def _is_vcl(self, nal: bytes) -> bool:
        return 0 < nal[0] & 0x1F <= _IDR

    def _is_keyframe(self, nals: Sequence[bytes]) -> bool:
        return _is_keyframe(nals)
