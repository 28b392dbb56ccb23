"""What RTSP clients and servers share: the byte queue, the error state, and RTP over the session.

Media travel either interleaved on the RTSP connection (``$``-framed, channel ``2i`` for RTP and
``2i+1`` for RTCP by default) or as UDP datagrams on ports the caller owns. Either way a received
RTP packet goes through its track's depacketizer and comes out as :class:`~.events.FrameReceived`;
RTCP comes out parsed as :class:`~.events.RtcpReceived`. Outgoing packets go to
:meth:`RtspConnection.data_to_send` (interleaved) or :meth:`RtspConnection.datagrams_to_send`
(UDP: :class:`Datagram` values naming our port to send from and the peer's port to send to).

RTP sessions (RFC 3550) run by themselves, in ``handle_timer``: every track we send has an
:class:`~mediaproto.rtp.sender.RtpSender` (packet and octet counts, sender reports on RFC 3550's
schedule, the first right after the first packet, and the RTT from the peer's reports), every
track we receive an :class:`~mediaproto.rtp.receiver.RtpReceiver` (loss and jitter statistics,
receiver reports at least every 5 s). Received frames come out on **one timeline for the whole
session** (a :class:`~mediaproto.rtp.sync.TrackSynchronizer`): zero at the first packet's
arrival, each track in its own clock rate, the tracks aligned with each other by the peer's sender
reports or PLAY's RTP-Info, never by comparing the peer's NTP clock with ours. Until every track
can be aligned the first frames wait (``sync_wait`` seconds at most, an
:class:`~mediaproto.rtp.sync.AlignmentBuffer`), so an encoder's latency never shifts a track.

Both endpoints follow the contract of :mod:`mediaproto.endpoint` (a
:class:`~mediaproto.endpoint.DatagramEndpoint`): ``now`` is required, ``closed`` and ``broken`` are
public. While a request waits for the application's answer (a server's DESCRIBE, ANNOUNCE, PLAY
or RECORD), what the peer sent behind it is held back and handled after the answer: then
:meth:`RtspConnection.next_timer` is due at once, and ``handle_timer`` (or the next
``receive_data``) returns its events.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import random
from ..errors import LimitExceeded, LocalProtocolError, ProtocolError
from ..media import Frame
from ..rtp.packet import RtpPacket
from ..rtp.jitter import JitterBuffer
from ..rtp.payload import Depacketizer, Packetizer
from ..rtp.receiver import RtpReceiver
from ..rtp.rtcp import SenderReport, parse_compound
from ..rtp.sender import RtpSender
from ..rtp.stats import ReceiverStatistics
from ..rtp.sync import AlignmentBuffer, TrackSynchronizer
from ..endpoint import Datagram, Event, FrameReceived
from .events import RtcpReceived
from .headers import TransportSpec
from .message import InterleavedFrame, Limits, MessageParser, Request, Response
from .streams import MediaTrack, PreparedFrame, SharedSource

__all__ = ["RtspConnection", "SetupTrack", "Datagram"]

_HEAD = struct.Struct(">BBHII")  # the fixed RTP header
_TIMESTAMP = struct.Struct(">I")
_FRAME_PREFIX = struct.Struct(">BBH")  # '$', channel, length
_INTERLEAVED_HEAD = struct.Struct(">BBHBBHII")  # '$', channel, length, then the fixed RTP header


class SharedPackets:
    """The RTP packets of one frame, read once for every session that sends them
    (:meth:`RtspConnection.send_packetized`): per packet its first two header bytes, timestamp,
    payload (a view, not a copy) and size; per run of one timestamp, the payload octets and
    packet count (what the sender reports count)."""

    __slots__ = ("packets", "parts", "groups")

    def __init__(self, packets: Sequence[bytes]) -> None:
        parts: list[tuple[int, int, int, memoryview, int]] = []
        groups: list[tuple[int, int, int]] = []
        for data in packets:
            size = len(data)
            if size < 12 or size > 0xFFFF:
                raise LocalProtocolError(f"not an RTP packet of a valid size ({size} bytes)")
            ts = _TIMESTAMP.unpack_from(data, 4)[0]
            parts.append((data[0], data[1], ts, memoryview(data)[12:], size))
            if groups and groups[-1][0] == ts:
                groups[-1] = (ts, groups[-1][1] + size - 12, groups[-1][2] + 1)
            else:
                groups.append((ts, size - 12, 1))
        self.packets = packets
        self.parts = parts
        self.groups = groups


@dataclass
class SetupTrack:
    """A track that SETUP agreed on: how its packets travel, and its (de)packetizer."""

    media: MediaTrack
    transport: TransportSpec
    packetizer: Packetizer | None = None
    depacketizer: Depacketizer | None = None
    #: The RTP session of a track we send: counts, sender reports, RTT.
    sender: RtpSender | None = None
    #: The RTP session of a track we receive: statistics (loss, jitter), receiver reports.
    receiver: RtpReceiver | None = None
    #: The reordering buffer of a track received over UDP (with ``jitter_latency``).
    jitter_buffer: JitterBuffer | None = None
    #: The shared RTP stream this track sends (then ``packetizer`` is the source's), if any.
    source: SharedSource | None = None
    #: Whether a packet went out on this track (for a shared source: its counts are the source's).
    started: bool = False

    @property
    def receiver_statistics(self) -> ReceiverStatistics | None:
        """Reception statistics of the source we receive on this track (RFC 3550 A)."""
        return self.receiver.statistics if self.receiver is not None else None

    @property
    def packet_count(self) -> int:
        """RTP packets sent on this track (a shared source's: all it sent, once this track sent
        one, as its sender reports say)."""
        if self.source is not None:
            return self.source.packet_count & 0xFFFFFFFF if self.started else 0
        return self.sender.packet_count if self.sender is not None else 0

    @property
    def octet_count(self) -> int:
        """RTP payload octets sent on this track (a shared source's, as :attr:`packet_count`)."""
        if self.source is not None:
            return self.source.octet_count & 0xFFFFFFFF if self.started else 0
        return self.sender.octet_count if self.sender is not None else 0


class RtspConnection:
    """The machinery shared by :class:`~.client.ClientConnection` and :class:`~.server.ServerConnection`."""

    def __init__(self, *, limits: Limits | None = None, lenient: bool = False,
                 jitter_latency: float | None = None, sync_wait: float = 5.0, wallclock_offset: float = 0.0,
                 rng: random.Random | None = None) -> None:
        self._parser = MessageParser(limits, lenient=lenient)
        self._rng = rng if rng is not None else random.SystemRandom()
        #: Seconds added to ``now`` to give the wall-clock time of the NTP fields of our RTCP.
        self.wallclock_offset = wallclock_offset
        #: The received tracks' common timeline, and the hold of the first frames until it can
        #: align them.
        self.sync = TrackSynchronizer()
        self._align = AlignmentBuffer(self.sync, wait=sync_wait)
        #: Our monotonic time of stream time 0 of what we send (fixed by the first frame sent):
        #: each sent frame's timestamp stands for ``media_epoch + pts / rate`` in sender reports.
        self.media_epoch: float | None = None
        #: Seconds a UDP packet after a gap waits for the gap to fill (a reordering buffer per
        #: track, :class:`~mediaproto.rtp.jitter.JitterBuffer`); None: packets go straight to the
        #: depacketizer, and a reordered packet costs its access unit.
        self.jitter_latency = jitter_latency
        self._out: list[bytes | memoryview] = []
        self._datagrams: list[Datagram] = []
        self._broken: ProtocolError | None = None
        self._closed = False
        self.tracks: list[SetupTrack] = []
        #: The ``now`` of the latest input (bytes, datagram) from the peer.
        self.last_activity = 0.0
        self._held: list[Request | Response | InterleavedFrame] = []  # behind a request awaiting its answer
        self._held_bytes = 0
        #: The CNAME sent in SDES beside sender and receiver reports.
        self.cname = b"mediaproto"
        #: The SSRC our receiver reports come from (we send no RTP on receiving tracks).
        self.reporter_ssrc = 0

    # -- output -------------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        """The bytes queued for the peer since the last call (RTSP messages and interleaved frames)."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    def datagrams_to_send(self) -> list[Datagram]:
        """UDP datagrams queued since the last call."""
        out = self._datagrams
        self._datagrams = []
        return out

    def _send(self, message: Request | Response | InterleavedFrame) -> None:
        self._out.append(bytes(message))

    # -- input --------------------------------------------------------------------------------
    @property
    def broken(self) -> bool:
        """Whether a protocol error from the peer made this connection unusable."""
        return self._broken is not None

    @property
    def closed(self) -> bool:
        """Whether the peer closed the connection (``receive_data(b"")``)."""
        return self._closed

    @property
    def buffered(self) -> int:
        """Bytes received that make no whole message yet (an unfinished head, body or interleaved
        frame): a server bounds how long one message may take to arrive with it."""
        return self._parser.buffered

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise LocalProtocolError(f"connection is broken by an earlier protocol error: {self._broken}")

    def _check_sendable(self) -> None:
        """For actions: usable and not closed by the peer."""
        self._check_usable()
        if self._closed:
            raise LocalProtocolError("the peer closed the connection")

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer at the caller's ``now`` (seconds of its monotonic clock);
        ``b""`` means the peer closed. Returns the events, in order.

        Raises :class:`~mediaproto.errors.ProtocolError` on invalid input (the connection is
        broken afterwards), :class:`~mediaproto.errors.LocalProtocolError` when broken or closed.
        """
        self._check_usable()
        if self._closed:
            raise LocalProtocolError("the peer closed the connection already")
        self.last_activity = now
        if not data:
            self._closed = True
            self._held, self._held_bytes = [], 0
            return self._on_closed()
        try:
            messages = self._parser.feed(data)
        except ProtocolError as e:
            self._broken = e
            raise
        return self._handle(messages, now)

    def _awaiting_answer(self) -> bool:
        """Whether a request waits for the application's answer (then input is held back)."""
        return False

    def _handle(self, messages: list[Request | Response | InterleavedFrame], now: float) -> list[Event]:
        if self._held:
            messages = self._held + messages
            self._held, self._held_bytes = [], 0
        events: list[Event] = []
        for i, message in enumerate(messages):
            try:
                if self._awaiting_answer():
                    self._hold(messages[i:])
                    break
                if isinstance(message, InterleavedFrame):
                    events.extend(self._on_interleaved(message, now))
                elif isinstance(message, Request):
                    events.extend(self._on_request(message, now))
                else:
                    events.extend(self._on_response(message, now))
            except ProtocolError as e:
                self._broken = e
                raise
        return events

    def _hold(self, messages: list[Request | Response | InterleavedFrame]) -> None:
        self._held = messages
        self._held_bytes = sum(len(m.data) if isinstance(m, InterleavedFrame) else len(m.body) + 256
                               for m in messages)
        if self._held_bytes > self._parser.limits.max_body_bytes:
            raise LimitExceeded("the peer sent too much while its request waited for an answer")

    def _held_deadline(self) -> float | None:
        """At once (the latest input's ``now``) when held-back input can be handled, else None."""
        return self.last_activity if self._held and not self._awaiting_answer() else None

    def _release_held(self, now: float) -> list[Event]:
        if not self._held or self._awaiting_answer():
            return []
        return self._handle([], now)

    def receive_datagram(self, data: bytes, source_port: int, destination_port: int, now: float) -> list[Event]:
        """Feed a UDP datagram that came from the peer's ``source_port`` to our ``destination_port``
        at the caller's ``now``.

        A server shares one RTP/RTCP port pair among all tracks and sessions, so it tells tracks
        apart by the client's ports and needs both. A client has a port pair per track: it goes
        by ``destination_port`` alone, since servers do not always send from the ``server_port``
        they announced (or announce none). A datagram that arrives after the connection closed
        is dropped (the network may still deliver some): the result is ``[]``.
        """
        self._check_usable()
        if self._closed:
            return []
        self.last_activity = now
        for index, st in enumerate(self.tracks):
            ours, theirs = self._udp_ports(st)
            if ours is None:
                continue
            if self._is_server:
                if theirs is None:
                    continue
                if (source_port, destination_port) == (theirs[0], ours[0]):
                    return self._on_rtp(index, data, now)
                if (source_port, destination_port) == (theirs[1], ours[1]):
                    return self._on_rtcp(index, data, now)
            elif destination_port == ours[0]:
                return self._on_rtp(index, data, now)
            elif destination_port == ours[1]:
                return self._on_rtcp(index, data, now)
        return []

    def _udp_ports(self, st: SetupTrack) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """(our ports, the peer's ports) of a track set up over UDP."""
        t = st.transport
        return (t.server_port, t.client_port) if self._is_server else (t.client_port, t.server_port)

    _is_server = False

    def _on_interleaved(self, frame: InterleavedFrame, now: float) -> list[Event]:
        for index, st in enumerate(self.tracks):
            pair = st.transport.interleaved
            if pair is None:
                continue
            if frame.channel == pair[0]:
                return self._on_rtp(index, frame.data, now)
            if frame.channel == pair[1]:
                return self._on_rtcp(index, frame.data, now)
        return []

    def _on_rtp(self, index: int, data: bytes, now: float) -> list[Event]:
        st = self.tracks[index]
        if st.depacketizer is None:
            return []
        try:
            packet = RtpPacket.parse(data)
        except ProtocolError:
            return []  # not RTP: dropped, the session goes on
        if st.receiver is not None:
            st.receiver.on_packet(packet, now)
        if self.jitter_latency is not None and st.transport.interleaved is None:
            if st.jitter_buffer is None:
                st.jitter_buffer = JitterBuffer(self.jitter_latency, nack_retries=0)
            st.jitter_buffer.push(packet, now)
            return self._depacketize(st, st.jitter_buffer.pop(now), now)
        return self._depacketize(st, [packet], now)

    def _depacketize(self, st: SetupTrack, packets: list[RtpPacket], now: float) -> list[Event]:
        depacketizer = st.depacketizer
        if depacketizer is None:
            return []
        events: list[Event] = []
        align = self._align
        for packet in packets:
            try:
                frames = depacketizer.feed(packet)
            except ProtocolError:
                continue  # a bad payload is dropped and counted by the depacketizer; the session goes on
            for f in frames:
                events += [FrameReceived(g) for g in align.feed(f, now)]
        return events

    def _set_up(self, st: SetupTrack) -> None:
        """A track SETUP agreed on: its RTP session (sender or receiver) and its place on the timeline."""
        rate = st.media.track.clock_rate
        if st.packetizer is not None:
            st.sender = RtpSender(st.packetizer.ssrc, rate, rng=self._rng, cname=self.cname)
        if st.depacketizer is not None:
            st.receiver = RtpReceiver(rate, local_ssrc=self.reporter_ssrc, rng=self._rng, cname=self.cname)
            if st.media.track.id not in self.sync.track_ids:
                self.sync.add_track(st.media.track.id, rate)
        self.tracks.append(st)

    def _start_media(self, now: float) -> None:
        """PLAY (client) or RECORD (server) started: receivers report from now on."""
        for st in self.tracks:
            if st.receiver is not None:
                st.receiver.start(now)

    def _jitter_deadline(self) -> float | None:
        """When a reordering buffer has packets to release (``-inf`` counts as now)."""
        times = [t for st in self.tracks if st.jitter_buffer is not None
                 for t in (st.jitter_buffer.next_timer(),) if t is not None]
        return max(min(times), self.last_activity) if times else None

    def _release_jitter(self, now: float, *, everything: bool = False) -> list[Event]:
        """Frames the reordering buffers release at ``now`` (``everything``: all they hold, and
        all the alignment hold keeps: the session ends)."""
        events: list[Event] = []
        for st in self.tracks:
            if st.jitter_buffer is not None:
                events += self._depacketize(st, st.jitter_buffer.pop(float("inf") if everything else now), now)
        released = self._align.release() if everything else self._align.handle_timer(now)
        return events + [FrameReceived(f) for f in released]

    def _rtcp_deadline(self) -> float | None:
        """When an RTP session has a report due, or the wait for alignment ends."""
        best = self._align.next_timer()
        for st in self.tracks:
            for session in (st.sender, st.receiver):
                if session is not None:
                    t = session.next_timer()
                    if t is not None and (best is None or t < best):
                        best = t
        return best

    def _send_reports(self, now: float) -> None:
        """Send the sender and receiver reports that are due at ``now``."""
        wallclock = now + self.wallclock_offset
        for st in self.tracks:
            if st.sender is not None:
                if st.source is not None and st.started:
                    self._sync_shared(st, now)
                data = st.sender.handle_timer(now, wallclock)
                if data is not None:
                    self._emit_packet(st, data, rtcp=True)
            if st.receiver is not None:
                data = st.receiver.handle_timer(now, wallclock)
                if data is not None:
                    self._emit_packet(st, data, rtcp=True)

    def _on_rtcp(self, index: int, data: bytes, now: float) -> list[Event]:
        try:
            packets = parse_compound(data, sdes_without_end=True)
        except ProtocolError:
            return []
        st = self.tracks[index]
        events: list[Event] = []
        if st.sender is not None:
            st.sender.on_rtcp(packets, now, len(data))
        receiver = st.receiver
        if receiver is not None:
            receiver.on_rtcp(packets, now, len(data))
            stats = receiver.statistics
            for packet in packets:
                if isinstance(packet, SenderReport) and (stats is None or packet.ssrc == stats.ssrc):
                    self.sync.on_sender_report(st.media.track.id, packet.ntp_timestamp, packet.rtp_timestamp)
            # Frames this report let go arrived before it: they come first (a BYE in the same
            # compound packet must not end a reader before it saw them).
            released = self._align.release() if receiver.bye_received else self._align.check()
            events += [FrameReceived(f) for f in released]  # a BYE: nothing more to wait for
        events.append(RtcpReceived(st.media.track.id, tuple(packets)))
        return events

    def _on_request(self, request: Request, now: float) -> list[Event]:
        raise NotImplementedError

    def _on_response(self, response: Response, now: float) -> list[Event]:
        raise NotImplementedError

    def _on_closed(self) -> list[Event]:
        return []

    # -- media out ----------------------------------------------------------------------------
    def _emit_packet(self, st: SetupTrack, data: bytes, rtcp: bool = False) -> None:
        pair = st.transport.interleaved
        if pair is not None:
            self._out.append(bytes(InterleavedFrame(pair[1] if rtcp else pair[0], data)))
            return
        ours, theirs = self._udp_ports(st)
        if ours is not None and theirs is not None:
            self._datagrams.append(Datagram(ours[1] if rtcp else ours[0], theirs[1] if rtcp else theirs[0], data))

    def _check_media_out(self) -> None:
        """For send_frame / send_packetized: the session carries our media now (or raise)."""
        self._check_sendable()

    def _instant(self, pts: int, dts: int, rate: int, now: float) -> float:
        """The instant on our clock that a sent frame's timestamp stands for (sender reports)."""
        epoch = self.media_epoch
        if epoch is None:
            epoch = self.media_epoch = now - dts / rate
        return epoch + pts / rate

    def send_frame(self, frame: Frame, now: float) -> None:
        """Packetize ``frame`` for every set-up track of its ``track_id`` and queue the packets.

        ``frame``'s timestamps are in the track's RTP clock rate, on one timeline for all the
        tracks of the session (the sender reports say how they line up); ``now`` is the caller's
        clock. Only while the session carries our media (a server's session PLAYING, a client's
        RECORDING); otherwise :class:`~mediaproto.errors.LocalProtocolError`."""
        self._check_media_out()
        for st in self.tracks:
            if st.packetizer is not None and st.media.track.id == frame.track_id:
                if st.source is not None:  # the source's packets, made once for every session
                    self._send_prepared(st, st.source.prepare(frame), now)
                    continue
                sender = st.sender
                at = self._instant(frame.pts, frame.dts, st.media.track.clock_rate, now)
                for packet in st.packetizer.packetize(frame):
                    if sender is not None:
                        sender.on_sent(packet.timestamp, len(packet.payload), now, at=at)
                    self._emit_packet(st, bytes(packet))

    def send_packetized(self, track_id: int, packets: Sequence[bytes] | SharedPackets, now: float) -> None:
        """Queue RTP packets that were packetized once for many sessions (fan-out).

        ``packets`` come from a packetizer of the same payload format with ``initial_timestamp=0``
        (e.g. :func:`~.streams.make_packetizer` on the session's :class:`~.streams.MediaTrack`
        with any SSRC), as ``bytes`` or, read once for all sessions, as :class:`SharedPackets`.
        Each gets this session's SSRC, next sequence number and timestamp offset written into a
        copy of its header, so SETUP's ``ssrc`` and PLAY's RTP-Info stay true; the payload is not
        touched. Same bytes on the wire as :meth:`send_frame`, at the cost of a 16-byte header
        per packet instead of a packetization per session. ``now`` is the caller's clock.
        Not for a track that sends a :class:`~.streams.SharedSource` (its sequence numbers are
        the source's): :class:`~mediaproto.errors.LocalProtocolError`.
        """
        self._check_media_out()
        shared = packets if isinstance(packets, SharedPackets) else SharedPackets(packets)
        parts = shared.parts
        if not parts:
            return
        for st in self.tracks:
            packetizer = st.packetizer
            if packetizer is None or st.media.track.id != track_id:
                continue
            if st.source is not None:
                raise LocalProtocolError(f"track {track_id} sends a shared source's packets: use send_frame")
            seq = packetizer.sequence_number
            offset = packetizer.initial_timestamp
            ssrc = packetizer.ssrc
            pair = st.transport.interleaved
            if pair is not None:  # one pack and two appends a packet; the payload is not copied here
                channel = pair[0]
                pack = _INTERLEAVED_HEAD.pack
                append = self._out.append
                for b0, b1, shared_ts, payload, size in parts:
                    append(pack(0x24, channel, size, b0, b1, seq, (shared_ts + offset) & 0xFFFFFFFF, ssrc))
                    append(payload)
                    seq = (seq + 1) & 0xFFFF
            else:
                for b0, b1, shared_ts, payload, _ in parts:
                    self._emit_packet(st, _HEAD.pack(b0, b1, seq, (shared_ts + offset) & 0xFFFFFFFF, ssrc) + payload)
                    seq = (seq + 1) & 0xFFFF
            packetizer.sequence_number = seq
            sender = st.sender
            if sender is not None:
                # the shared packets' timestamps are the frame's pts (mod 2**32)
                shared_ts = parts[0][2]
                pts = shared_ts - (1 << 32) if shared_ts >= 1 << 31 else shared_ts
                at = self._instant(pts, pts, st.media.track.clock_rate, now)
                for shared_ts, octets, count in shared.groups:
                    sender.on_sent((shared_ts + offset) & 0xFFFFFFFF, octets, now, at=at)
                    if count > 1:
                        stats = sender.statistics
                        stats.packet_count = (stats.packet_count + count - 1) & 0xFFFFFFFF

    def _send_prepared(self, st: SetupTrack, prepared: PreparedFrame, now: float) -> None:
        """Queue a prepared frame on ``st`` (checked by the caller): over TCP one append. The
        sender reports carry the source's counts (:meth:`_sync_shared`): nothing to count here
        after the track's first packet."""
        pair = st.transport.interleaved
        if pair is not None:
            channel = pair[0]
            self._out.append(prepared.by_channel.get(channel) or prepared.interleaved(channel))
        else:
            for packet in prepared.packets:
                self._emit_packet(st, packet)
        if not st.started and prepared.packets:
            st.started = True
            if self.media_epoch is None:
                self.media_epoch = now - prepared.dts / st.media.track.clock_rate
            self._sync_shared(st, now, prepared)

    def _sync_shared(self, st: SetupTrack, now: float, latest: PreparedFrame | None = None) -> None:
        """Give the sender of a track that sends a shared source the source's counts and latest
        frame (on the session's timeline), for its next report."""
        source, sender, epoch = st.source, st.sender, self.media_epoch
        latest = latest or (source.latest if source is not None else None)
        if source is None or sender is None or sender.closed or latest is None or epoch is None:
            return
        sender.on_shared(source.packet_count, source.octet_count, latest.timestamp, now,
                         at=epoch + latest.pts / st.media.track.clock_rate)

    def send_goodbye(self, now: float, reason: bytes | None = None) -> None:
        """Queue an RTCP BYE (after a last sender report and the SDES CNAME, RFC 3550 6.6) for
        every track we send: the stream ended (FFmpeg stops reading when every track got one).
        No sender report follows it; the session itself stays until the peer ends it."""
        self._check_sendable()
        wallclock = now + self.wallclock_offset
        for st in self.tracks:
            if st.sender is not None and not st.sender.closed:
                if st.source is not None and st.started:
                    self._sync_shared(st, now)
                self._emit_packet(st, st.sender.goodbye(now, wallclock, reason), rtcp=True)
