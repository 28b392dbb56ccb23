"""The machinery H.264 (RFC 6184) and H.265 (RFC 7798) payloads share.

Both carry an access unit as NAL units in three kinds of packet: a single NAL unit, an aggregation
packet (STAP-A / AP: several small NAL units, each behind a 16-bit size) and fragmentation units
(FU-A / FU: one large NAL unit cut into pieces, with start and end bits). They differ only in the
size of the NAL unit header (one byte, two bytes) and in how the headers are built, which the
subclasses in :mod:`.h264` and :mod:`.h265` supply.

The depacketizer's rules for completing, dropping and tolerating units:

* a unit ends at the marker bit, or when the timestamp changes (cameras that never set the marker);
* after a sequence gap, the unit in progress is dropped, and so is the unit of the packet after the
  gap unless that packet visibly starts an access unit (a NAL unit type that only comes before the
  slices: AUD, SEI, parameter sets; or the first slice of a picture); the first packet received is
  treated the same way (a late joiner). The slices of a unit are never emitted incomplete; a unit
  that lost only NAL units before its first slice (an AUD, an SEI, a repeated SPS or PPS) is
  emitted without them, as decoders keep the parameter sets they had;
* start codes inside a NAL unit (a quirk) are split off; in a fragmented NAL unit they are looked
  for in the first fragment only, where cameras that fragment a whole Annex B access unit put the
  start codes of their parameter sets;
* fragments before a start fragment (a late joiner), a start fragment while another NAL unit is
  still open, and a unit that ends with a fragment still open are dropped whole;
* a unit of parameter sets only (no slice) is not a frame: its NAL units are held and put in front
  of the next frame (Reolink sends its SPS with the marker bit and the previous unit's timestamp);
* at :meth:`flush`, the unit in progress (no marker bit yet) is dropped: its tail may be lost, and
  nothing after it can tell. Only a peer known never to set the marker bit gets it back.

Frames carry the RTP timestamp (unwrapped) as ``pts`` and a decode time as ``dts`` from
:attr:`NalDepacketizer.dts_extractor` (:mod:`mediaproto.codecs.dts`): RTP has no decode time, and a
stream with B-frames arrives in decode order with its presentation times out of order. The
extractor reads the reorder depth from the SPS (in-band, or the ``parameter_sets`` given, from the
SDP's ``sprop-parameter-sets``) and the picture order counts of the slice headers; the decode times
it gives increase, are never after ``pts``, and equal the encoder's up to a constant once the first
few frames are past. For streams that cannot reorder ``dts == pts``; before any SPS, ``dts`` is
``pts`` kept increasing.
"""

from __future__ import annotations

from typing import Sequence

from ...codecs.dts import DtsExtractor
from ...codecs.h264 import split_annexb
from ...errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from ...media import Frame
from ..packet import RtpPacket
from ..limits import Limits
from .base import Depacketizer, Packetizer

__all__ = ["NalPacketizer", "NalDepacketizer", "Fragment"]

#: A fragmentation unit's content: (start bit, end bit, the rebuilt NAL header, the fragment bytes).
Fragment = tuple[bool, bool, bytes, bytes]

#: Quirk names: the tolerated peer behaviours, recorded in ``quirks_seen`` when met.
QUIRK_FU_START_AND_END = "fu-start-and-end"
QUIRK_ANNEXB_IN_PAYLOAD = "annexb-in-payload"
QUIRK_AGGREGATION_ZERO_PADDING = "aggregation-zero-padding"
QUIRK_PARAMETER_SETS_PREVIOUS_TIMESTAMP = "parameter-sets-previous-timestamp"
QUIRK_NO_MARKER = "no-marker-bit"


class NalPacketizer(Packetizer):
    """Packetize NAL-unit access units: single NAL units, aggregation packets, fragmentation units.

    :param parameter_sets: the SPS/PPS (H.265: VPS/SPS/PPS) NAL units, usually a
        :attr:`~mediaproto.media.Track.parameter_sets`.
    :param insert_parameter_sets: send ``parameter_sets`` in-band before every keyframe that does
        not carry its own (aggregated in one packet when they fit).
    :param aggregate: use aggregation and fragmentation packets; ``False`` means single NAL units
        only (H.264 ``packetization-mode=0``), where a NAL unit larger than the MTU is an error.
    """

    __slots__ = ("parameter_sets", "insert_parameter_sets", "aggregate")

    header_size = 1  # NAL unit header bytes
    min_payload_size = 3  # a fragment needs its headers and one byte

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
        aggregate: bool = True,
    ) -> None:
        super().__init__(
            payload_type,
            ssrc,
            clock_rate,
            mtu,
            initial_sequence,
            track_clock_rate=track_clock_rate,
            initial_timestamp=initial_timestamp,
        )
        self.parameter_sets = tuple(parameter_sets)
        self.insert_parameter_sets = insert_parameter_sets
        self.aggregate = aggregate

    # -- format hooks -------------------------------------------------------------------------
    def _with_parameter_sets(self, nals: Sequence[bytes]) -> Sequence[bytes]:
        raise NotImplementedError

    def _aggregation_packet(self, nals: list[bytes]) -> bytes:
        raise NotImplementedError

    def _fragments(self, nal: bytes, max_payload: int) -> list[bytes]:
        raise NotImplementedError

    def _is_keyframe_nal(self, nal: bytes) -> bool:
        raise NotImplementedError

    # -- the packing ------------------------------------------------------------------------------
    def packetize(self, frame: Frame) -> list[RtpPacket]:
        data = frame.data
        if isinstance(data, tuple) and len(data) == 1:  # the fast path: one NAL unit that fits
            nal = data[0]
            if (
                0 < len(nal) <= self.mtu - 12
                and not (self.insert_parameter_sets and self.parameter_sets and self._is_keyframe_nal(nal))
            ):
                seq = self.sequence_number
                self.sequence_number = (seq + 1) & 0xFFFF
                return [RtpPacket(self.payload_type, seq, self.rtp_timestamp(frame.pts), self.ssrc, nal, True)]
        return self._packets(self.payloads(frame), self.rtp_timestamp(frame.pts))

    def payloads(self, frame: Frame) -> list[bytes]:
        """The packet payloads of one access unit, in order."""
        nals: Sequence[bytes] = frame.nal_units
        if self.insert_parameter_sets and self.parameter_sets:
            nals = self._with_parameter_sets(nals)
        return self.pack(nals)

    def pack(self, nals: Sequence[bytes]) -> list[bytes]:
        """The payloads carrying ``nals``: consecutive small units aggregated while they fit,
        large units fragmented, the rest as single NAL unit packets."""
        max_payload = self.max_payload_size
        out: list[bytes] = []
        if not self.aggregate:
            for nal in nals:
                if len(nal) > max_payload:
                    raise LocalProtocolError(
                        f"a {len(nal)}-byte NAL unit does not fit a {self.mtu}-byte packet without "
                        "fragmentation (packetization-mode=0)"
                    )
                if nal:
                    out.append(nal)
            return out
        group: list[bytes] = []
        group_size = self.header_size
        for nal in nals:
            n = len(nal)
            if n > max_payload:
                if group:
                    out.append(group[0] if len(group) == 1 else self._aggregation_packet(group))
                    group = []
                    group_size = self.header_size
                out.extend(self._fragments(nal, max_payload))
                continue
            if not n:
                continue
            if group and group_size + 2 + n > max_payload:
                out.append(group[0] if len(group) == 1 else self._aggregation_packet(group))
                group = []
                group_size = self.header_size
            group.append(nal)
            group_size += 2 + n
        if group:
            out.append(group[0] if len(group) == 1 else self._aggregation_packet(group))
        return out


class NalDepacketizer(Depacketizer):
    """Rebuild NAL-unit access units from packets (see the module docs for the rules).

    :param strict: raise :class:`~mediaproto.errors.ParseError` on the tolerated quirks instead of
        accepting them.
    :param parameter_sets: the parameter sets known out of band (SDP ``sprop-parameter-sets``),
        for the decode times of the frames before the first in-band SPS.
    :param decode_times: give frames decode times from :attr:`dts_extractor`; ``False`` gives
        ``dts == pts``.
    """

    __slots__ = (
        "strict",
        "dts_extractor",
        "_dts_lost",
        "_ts",
        "_pts_value",
        "_nals",
        "_size",
        "_fu",
        "_fu_budget",
        "_drop_ts",
        "_last_ts",
        "_carry",
        "_last_frame_ts",
        "_marker_seen",
        "_fu_annexb",
    )

    def __init__(
        self,
        track_id: int,
        clock_rate: int = 90000,
        *,
        limits: Limits | None = None,
        strict: bool = False,
        parameter_sets: Sequence[bytes] = (),
        decode_times: bool = True,
    ) -> None:
        super().__init__(track_id, clock_rate, limits=limits)
        self.strict = strict
        #: Gives each frame its decode time (``None``: ``dts == pts``).
        self.dts_extractor = self._make_dts_extractor(clock_rate, parameter_sets) if decode_times else None
        self._dts_lost = 0  # lost_units when the extractor last heard of a loss
        self._ts: int | None = None  # RTP timestamp of the unit in progress
        self._pts_value = 0
        self._nals: list[bytes] = []
        self._size = 0
        self._fu: list[bytes] | None = None  # the open fragmented NAL unit
        self._fu_budget = 0  # bytes the open NAL unit may still grow by
        self._drop_ts: int | None = None  # the unit being skipped
        self._last_ts: int | None = None
        self._carry: list[bytes] = []  # parameter sets waiting for the next frame
        self._last_frame_ts: int | None = None
        self._marker_seen = False
        self._fu_annexb = False

    # -- format hooks -------------------------------------------------------------------------
    def _make_dts_extractor(self, clock_rate: int, parameter_sets: Sequence[bytes]) -> DtsExtractor | None:
        return None

    def _parse(self, payload: bytes) -> tuple[list[bytes], Fragment | None]:
        """The complete NAL units of a payload, or the fragment it carries."""
        raise NotImplementedError

    def _starts_unit(self, nals: list[bytes], fragment: Fragment | None) -> bool:
        """Whether a packet with this content begins an access unit."""
        raise NotImplementedError

    def _is_vcl(self, nal: bytes) -> bool:
        raise NotImplementedError

    def _is_keyframe(self, nals: Sequence[bytes]) -> bool:
        raise NotImplementedError

    # -- shared helpers for the hooks -------------------------------------------------------------
    def _quirk(self, name: str, message: str, offset: int = 0) -> None:
        if self.strict:
            raise ParseError(f"{message} (tolerated quirk {name!r}; strict mode)", offset=offset)
        self.quirks_seen.add(name)

    def _split_annexb(self, data: bytes, offset: int = 0) -> list[bytes]:
        """A NAL unit that contains start codes is several NAL units (or one with a prefix)."""
        self._quirk(QUIRK_ANNEXB_IN_PAYLOAD, "Annex B start code inside an RTP payload", offset)
        if not data.startswith(b"\x00\x00\x01") and not data.startswith(b"\x00\x00\x00\x01"):
            data = b"\x00\x00\x01" + data
        try:
            return split_annexb(data)
        except ParseError as exc:
            raise ParseError(f"bad Annex B data in an RTP payload: {exc.message}", offset=offset) from None

    # -- the state machine ------------------------------------------------------------------------
    def feed(self, packet: RtpPacket) -> list[Frame]:
        return self._feed(packet)

    def _next_fragment(self, packet: RtpPacket, fu: list[bytes], data: bytes, end: bool) -> list[Frame]:
        """The fast path of the subclasses' :meth:`feed`: ``packet`` is the next in sequence, of
        the unit in progress, and carries a middle or end fragment of the open NAL unit."""
        self._expected = (packet.sequence_number + 1) & 0xFFFF
        fu.append(data)
        self._fu_budget -= len(data)
        if self._fu_budget < 0:
            self._drop_unit(packet.timestamp)
            raise LimitExceeded(f"fragmented NAL unit over the limit of {self.limits.max_unit_size} bytes")
        if end:
            self._fu = None
            self._add_fu(b"".join(fu))
            if packet.marker:
                self._marker_seen = True
                return self._take_ready() + self._complete()
        return []

    def _feed(self, packet: RtpPacket) -> list[Frame]:
        out = self._take_ready()
        gap = self._check_sequence(packet)
        if gap < 0:
            return out
        ts = packet.timestamp
        try:
            nals, fragment = self._parse(packet.payload)
        except ProtocolError:
            self.malformed_packets += 1
            if gap:
                self._discard_current()
            self._drop_unit(ts)
            if packet.marker and self._drop_ts == ts:
                self._drop_ts = None
            self._last_ts = ts
            self._ready = out
            raise
        if gap or self._last_ts is None:  # after a loss, or joining a stream: where are we?
            current = self._ts
            self._discard_current()
            if ts == current:
                self._drop_ts = ts
            elif ts == self._last_ts or not self._starts_unit(nals, fragment):
                self._drop_unit(ts)
        elif self._ts is not None and ts != self._ts:
            if not self._marker_seen:
                self.quirks_seen.add(QUIRK_NO_MARKER)
            out.extend(self._complete())
        self._last_ts = ts
        drop = self._drop_ts
        if drop is not None:
            if ts == drop:
                if packet.marker:
                    self._drop_ts = None
                return out
            self._drop_ts = None
        if self._ts is None:
            self._ts = ts
            self._pts_value = self._pts(ts)
        try:
            if nals:
                self._add(nals)
            if fragment is not None:
                self._add_fragment(fragment, ts)
        except LimitExceeded:
            self._ready = out
            raise
        if packet.marker:
            self._marker_seen = True
            if self._drop_ts == ts:
                self._drop_ts = None
            else:
                out.extend(self._complete())
        return out

    def flush(self) -> list[Frame]:
        """The frames still held, at the end of the stream.

        The unit in progress has not ended: its tail (the packet with the marker bit, and any
        packet before it) may be lost, and no later packet's sequence number will tell. So it is
        not a frame, and counts as lost; except from a peer that has shown it never sets the
        marker bit (its units end at a timestamp change), whose last unit is given back as the
        others were.
        """
        out = self._take_ready()
        if self._ts is not None:
            if self._marker_seen or QUIRK_NO_MARKER not in self.quirks_seen:
                self._discard_current()
            else:
                out.extend(self._complete())
        return out

    def _add(self, nals: list[bytes]) -> None:
        self._nals.extend(nals)
        self._size += sum(map(len, nals))
        limits = self.limits
        if len(self._nals) > limits.max_nal_units or self._size > limits.max_unit_size:
            ts = self._ts
            assert ts is not None
            self._drop_unit(ts)
            raise LimitExceeded(
                f"access unit over the limits ({len(self._nals)} NAL units, {self._size} bytes)"
            )

    def _add_fragment(self, fragment: Fragment, ts: int) -> None:
        start, end, header, data = fragment
        fu = self._fu
        if start:
            if fu is not None:  # the previous fragmented NAL unit never ended
                self._drop_unit(ts)
                return
            if end:
                self._quirk(QUIRK_FU_START_AND_END, "fragmentation unit with both start and end bits")
                self._add_nal(header + data)
                return
            self._fu = [header, data]
            self._fu_budget = self.limits.max_unit_size - self._size - len(header) - len(data)
            # Start codes inside a fragmented NAL unit are looked for in its first fragment only
            # (scanning every fragment would cost more than the rest of the depacketizing).
            self._fu_annexb = data.find(b"\x00\x00\x01") >= 0
            return
        if fu is None:  # no start fragment: a late joiner, or the start was lost
            self._drop_unit(ts)
            return
        fu.append(data)
        self._fu_budget -= len(data)
        if self._fu_budget < 0:
            self._drop_unit(ts)
            raise LimitExceeded(f"fragmented NAL unit over the limit of {self.limits.max_unit_size} bytes")
        if end:
            self._fu = None
            self._add_fu(b"".join(fu))

    def _add_fu(self, nal: bytes) -> None:
        if self._fu_annexb:
            self._add(self._split_annexb(nal))
        else:
            self._add([nal])

    def _add_nal(self, nal: bytes) -> None:
        if nal.find(b"\x00\x00\x01", 1) >= 0:
            self._add(self._split_annexb(nal))
        else:
            self._add([nal])

    def _discard_current(self) -> None:
        """Drop the unit in progress (a packet of it may be lost)."""
        if self._ts is not None:
            self.lost_units += 1
            self._reset_unit()

    def _drop_unit(self, ts: int) -> None:
        """Skip the unit of timestamp ``ts`` until it ends (marker bit or a new timestamp)."""
        if self._ts == ts:
            self._reset_unit()
        if self._drop_ts != ts:
            self._drop_ts = ts
            self.lost_units += 1

    def _reset_unit(self) -> None:
        self._ts = None
        self._nals = []
        self._size = 0
        self._fu = None
        self._fu_budget = 0

    def _complete(self) -> list[Frame]:
        ts = self._ts
        nals = self._nals
        fu_open = self._fu is not None
        pts = self._pts_value
        self._reset_unit()
        if fu_open or ts is None:
            self.lost_units += 1
            return []
        if not nals:
            return []
        is_vcl = self._is_vcl
        if not any(map(is_vcl, nals)):
            # Parameter sets (or SEI) alone: not a frame; they belong to the next one.
            if ts == self._last_frame_ts:
                self.quirks_seen.add(QUIRK_PARAMETER_SETS_PREVIOUS_TIMESTAMP)
            carry = self._carry + nals
            self._carry = carry[-self.limits.max_nal_units :]
            return []
        if self._carry:
            nals = self._carry + nals
            self._carry = []
        self._last_frame_ts = ts
        return self._frames(tuple(nals), pts)

    def _frames(self, nals: tuple[bytes, ...], pts: int) -> list[Frame]:
        """The frame of a completed access unit, with its decode time; none for a unit that no
        decoder can use (H.265 RASL pictures after the CRA a stream was joined at)."""
        ex = self.dts_extractor
        if ex is None:
            return [Frame(self.track_id, pts, pts, nals, self._is_keyframe(nals))]
        if self.lost_units != self._dts_lost:
            ex.lost_frames()
        if ex.undecodable(nals):
            self.lost_units += 1
            self._dts_lost = self.lost_units
            return []
        self._dts_lost = self.lost_units
        return [Frame(self.track_id, pts, ex.extract(nals, pts), nals, self._is_keyframe(nals))]
