"""AAC over RTP as RFC 3640 ``mpeg4-generic`` in ``AAC-hbr`` mode (and ``AAC-lbr``).

::

    [AU-headers-length 16 (in bits)] [AU-header]... [padding to a byte] [AU]...
    AU-header:  AU-size (sizelength bits)  AU-Index / AU-Index-delta (indexlength / indexdeltalength)

The SDP ``fmtp`` line gives the field widths: ``mode=AAC-hbr;sizelength=13;indexlength=3;
indexdeltalength=3`` (AAC-lbr: 6, 2, 2). A packet holds one or more whole access units, or one
fragment of an access unit too large for a packet: then its single AU-header gives the whole AU's
size, every fragment carries the same timestamp, and only the last one has the marker bit.

The RTP timestamp of a packet is that of its first AU; the next ones follow at ``AU-Index-delta + 1``
frame durations (1024 samples for AAC-LC, given as ``frame_length``). CTS/DTS deltas, the random
access flag and the auxiliary section are not supported (they are absent in AAC-hbr as FFmpeg,
GStreamer and cameras send it).

>>> from mediaproto.media import Frame
>>> p = AacPacketizer(97, ssrc=1, clock_rate=48000)
>>> frames = [Frame(1, 1024 * i, 1024 * i, bytes([0x21, i]) * 100, True) for i in range(3)]
>>> packets = p.packetize_many(frames)
>>> len(packets), packets[0].payload[:8].hex()
(1, '0030064006400640')
>>> d = AacDepacketizer(1, 48000)
>>> d.feed(packets[0]) == frames
True

Tolerated quirk (named in :attr:`~.base.Depacketizer.quirks_seen`): ``aac-adts-in-rfc3640``, access
units wrapped in ADTS (some cameras), detected on the first unit and stripped from then on.
"""

from __future__ import annotations

from typing import Sequence

from ...clock import rescale
from ...codecs.aac import AdtsHeader
from ...errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from ...media import Frame
from ..packet import RtpPacket
from ..limits import Limits
from .base import Depacketizer, Packetizer

__all__ = ["AacPacketizer", "AacDepacketizer", "QUIRK_ADTS_IN_RFC3640"]

QUIRK_ADTS_IN_RFC3640 = "aac-adts-in-rfc3640"


class _AuHeaderLayout:
    __slots__ = ("size_length", "index_length", "index_delta_length")

    def __init__(self, size_length: int, index_length: int, index_delta_length: int) -> None:
        if not 1 <= size_length <= 32 or not 0 <= index_length <= 32 or not 0 <= index_delta_length <= 32:
            raise LocalProtocolError(
                f"unsupported AU-header layout sizelength={size_length} indexlength={index_length} "
                f"indexdeltalength={index_delta_length}"
            )
        self.size_length = size_length
        self.index_length = index_length
        self.index_delta_length = index_delta_length

    def header_bytes(self, count: int) -> int:
        """Bytes of the AU-header section (with its 16-bit length) for ``count`` AUs."""
        bits = count * self.size_length + self.index_length + (count - 1) * self.index_delta_length
        return 2 + (bits + 7) // 8

    def build(self, sizes: Sequence[int]) -> bytes:
        sl, il, dl = self.size_length, self.index_length, self.index_delta_length
        v = 0
        bits = 0
        first = True
        for size in sizes:
            v = (v << sl) | size
            shift = il if first else dl
            v <<= shift
            bits += sl + shift
            first = False
        pad = -bits % 8
        return bits.to_bytes(2, "big") + (v << pad).to_bytes((bits + pad) // 8, "big")

    def parse(self, payload: bytes) -> tuple[list[tuple[int, int]], int]:
        """The (AU-size, AU-Index or delta) pairs and the offset of the first AU."""
        if len(payload) < 2:
            raise ParseError(f"RFC 3640 payload of {len(payload)} bytes", offset=0)
        bits = int.from_bytes(payload[:2], "big")
        nbytes = (bits + 7) // 8
        if 2 + nbytes > len(payload):
            raise ParseError(f"AU-header section of {bits} bits runs past the end", offset=0)
        sl, il, dl = self.size_length, self.index_length, self.index_delta_length
        if bits < sl + il or (bits - sl - il) % (sl + dl):
            raise ParseError(f"AU-headers-length {bits} does not match the AU-header layout", offset=0)
        count = 1 + (bits - sl - il) // (sl + dl)
        v = int.from_bytes(payload[2 : 2 + nbytes], "big") >> (nbytes * 8 - bits)
        headers = []
        rest = bits
        for i in range(count):
            shift_len = il if i == 0 else dl
            rest -= sl
            size = (v >> rest) & ((1 << sl) - 1)
            rest -= shift_len
            index = (v >> rest) & ((1 << shift_len) - 1)
            headers.append((size, index))
        return headers, 2 + nbytes


class AacPacketizer(Packetizer):
    """Packetize raw AAC frames (no ADTS) as RFC 3640 ``mpeg4-generic``.

    :param size_length: ``sizelength`` (13 for AAC-hbr, 6 for AAC-lbr).
    :param index_length: ``indexlength`` (3, or 2 for AAC-lbr).
    :param index_delta_length: ``indexdeltalength`` (3, or 2 for AAC-lbr).

    :meth:`packetize` sends one frame (fragmented when too large); :meth:`packetize_many` packs
    several consecutive frames into each packet while they fit.
    """

    __slots__ = ("_layout",)

    min_payload_size = 8

    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        clock_rate: int,
        mtu: int = 1200,
        initial_sequence: int = 0,
        *,
        track_clock_rate: int | None = None,
        initial_timestamp: int = 0,
        size_length: int = 13,
        index_length: int = 3,
        index_delta_length: int = 3,
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
        self._layout = _AuHeaderLayout(size_length, index_length, index_delta_length)

    def _check_size(self, au: bytes) -> None:
        if not au:
            raise LocalProtocolError("empty AAC frame")
        if len(au) >> self._layout.size_length:
            raise LocalProtocolError(
                f"AAC frame of {len(au)} bytes does not fit sizelength={self._layout.size_length}"
            )

    def payloads(self, frame: Frame) -> list[bytes]:
        au = frame.payload
        self._check_size(au)
        header = self._layout.build((len(au),))
        room = self.max_payload_size - len(header)
        if len(au) <= room:
            return [header + au]
        return [header + au[pos : pos + room] for pos in range(0, len(au), room)]

    def packetize_many(self, frames: Sequence[Frame]) -> list[RtpPacket]:
        """Packets carrying consecutive ``frames`` (each ``AU-Index-delta`` is 0, so the frames
        must follow each other without gaps), as many per packet as fit; the marker bit is set on
        every packet that ends a whole AU."""
        packets: list[RtpPacket] = []
        layout = self._layout
        max_payload = self.max_payload_size
        group: list[bytes] = []
        group_pts = 0
        data_size = 0

        def flush() -> None:
            header = layout.build([len(au) for au in group])
            packets.extend(self._packets([header + b"".join(group)], self.rtp_timestamp(group_pts)))

        for frame in frames:
            au = frame.payload
            self._check_size(au)
            if group and layout.header_bytes(len(group) + 1) + data_size + len(au) > max_payload:
                flush()
                group = []
                data_size = 0
            if not group:
                if layout.header_bytes(1) + len(au) > max_payload:
                    packets.extend(self.packetize(frame))
                    continue
                group_pts = frame.pts
            group.append(au)
            data_size += len(au)
        if group:
            flush()
        return packets


class AacDepacketizer(Depacketizer):
    """Rebuild raw AAC frames from RFC 3640 packets.

    :param size_length: ``sizelength`` from the SDP (13 for AAC-hbr).
    :param index_length: ``indexlength`` (3 for AAC-hbr).
    :param index_delta_length: ``indexdeltalength`` (3 for AAC-hbr).
    :param frame_length: samples per AAC frame (1024; 960 for some encoders), to time the second
        and later AUs of a packet.
    :param sample_rate: the audio sample rate if it differs from ``clock_rate``.
    :param strict: reject ADTS-wrapped access units instead of stripping the ADTS headers.

    Every frame is a keyframe. A fragmented AU is emitted when its last fragment arrives; one that
    lost a fragment is dropped and counted in :attr:`lost_units`.
    """

    __slots__ = (
        "strict",
        "_layout",
        "_duration",
        "_adts",
        "_frag",
        "_frag_ts",
        "_frag_size",
        "_frag_have",
        "_drop_ts",
    )

    def __init__(
        self,
        track_id: int,
        clock_rate: int,
        *,
        limits: Limits | None = None,
        size_length: int = 13,
        index_length: int = 3,
        index_delta_length: int = 3,
        frame_length: int = 1024,
        sample_rate: int | None = None,
        strict: bool = False,
    ) -> None:
        super().__init__(track_id, clock_rate, limits=limits)
        self.strict = strict
        self._layout = _AuHeaderLayout(size_length, index_length, index_delta_length)
        rate = sample_rate or clock_rate
        self._duration = rescale(frame_length, rate, clock_rate)
        self._adts: bool | None = None
        self._frag: list[bytes] | None = None
        self._frag_ts = 0
        self._frag_size = 0
        self._frag_have = 0
        self._drop_ts: int | None = None

    def _drop_fragment(self) -> None:
        if self._frag is not None:
            self._frag = None
            self._drop_ts = self._frag_ts
            self.lost_units += 1

    def _unwrap_au(self, au: bytes) -> bytes:
        adts = self._adts
        if adts is None:
            adts = self._adts = len(au) >= 7 and au[0] == 0xFF and au[1] & 0xF6 == 0xF0 and self._is_adts(au)
            if adts:
                if self.strict:
                    raise ParseError("ADTS-wrapped AAC inside RFC 3640 (quirk aac-adts-in-rfc3640; strict)")
                self.quirks_seen.add(QUIRK_ADTS_IN_RFC3640)
        if not adts:
            return au
        header = AdtsHeader.parse(au)
        if header.frame_length != len(au):
            raise ParseError(f"ADTS frame length {header.frame_length} in a {len(au)}-byte AU", offset=0)
        return au[header.header_length :]

    @staticmethod
    def _is_adts(au: bytes) -> bool:
        try:
            return AdtsHeader.parse(au).frame_length == len(au)
        except ProtocolError:
            return False

    def feed(self, packet: RtpPacket) -> list[Frame]:
        out = self._take_ready()
        gap = self._check_sequence(packet)
        if gap < 0:
            return out
        if gap:
            self._drop_fragment()
        payload = packet.payload
        ts = packet.timestamp
        try:
            headers, pos = self._layout.parse(payload)
        except ProtocolError:
            self.malformed_packets += 1
            self._drop_fragment()
            raise
        data_size = len(payload) - pos
        if self._frag is not None:
            if ts != self._frag_ts or len(headers) != 1 or headers[0][0] != self._frag_size:
                self._drop_fragment()  # the previous AU never got its last fragment
            else:
                try:
                    out.extend(self._continue_fragment(payload[pos:], packet.marker))
                except ProtocolError:
                    self._ready = out
                    raise
                return out
        if len(headers) == 1 and headers[0][0] > data_size:
            size = headers[0][0]
            if ts == self._drop_ts:  # the rest of an AU already counted as lost
                if packet.marker:
                    self._drop_ts = None
                return out
            if size > self.limits.max_unit_size:
                self.lost_units += 1
                self._ready = out
                raise LimitExceeded(f"AAC access unit of {size} bytes over the limit")
            self._frag = [payload[pos:]]
            self._frag_ts = ts
            self._frag_size = size
            self._frag_have = data_size
            if packet.marker:  # the marker bit on a fragment that is not the last
                self._drop_fragment()
            return out
        pts = self._pts(ts)
        index = 0
        end = len(payload)
        frames: list[Frame] = []
        try:
            for i, (size, delta) in enumerate(headers):
                if i:
                    index += delta + 1
                if pos + size > end:
                    raise ParseError(f"AU of {size} bytes runs past the end of the packet", offset=pos)
                if not size:
                    raise ParseError("AU-size 0", offset=2)
                au = self._unwrap_au(payload[pos : pos + size])
                pos += size
                t = pts + index * self._duration
                frames.append(Frame(self.track_id, t, t, au, True))
        except ProtocolError:
            self.malformed_packets += 1
            self.lost_units += len(headers)
            self._ready = out
            raise
        out.extend(frames)
        return out

    def _continue_fragment(self, data: bytes, marker: bool) -> list[Frame]:
        frag = self._frag
        assert frag is not None
        frag.append(data)
        self._frag_have += len(data)
        if self._frag_have < self._frag_size:
            if marker:
                self._drop_fragment()
            return []
        self._frag = None
        if self._frag_have > self._frag_size:
            self.lost_units += 1
            self.malformed_packets += 1
            raise ParseError(f"AU fragments add up to {self._frag_have} bytes, AU-size says {self._frag_size}")
        try:
            au = self._unwrap_au(b"".join(frag))
        except ProtocolError:
            self.malformed_packets += 1
            self.lost_units += 1
            raise
        pts = self._pts(self._frag_ts)
        return [Frame(self.track_id, pts, pts, au, True)]

    def flush(self) -> list[Frame]:
        self._drop_fragment()
        return self._take_ready()
