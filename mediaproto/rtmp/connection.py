"""What both RTMP session endpoints share: the Sans-IO face, the chunk codec and protocol control.

The face is the same for :class:`~mediaproto.rtmp.server.ServerConnection` and
:class:`~mediaproto.rtmp.client.ClientConnection`::

    events = conn.receive_data(data, now)  # a list of events; b"" means the peer closed
    conn.accept_publish(event)             # actions queue outgoing bytes
    sock.sendall(conn.data_to_send())      # drain them
    conn.next_timer()                      # deadline (the caller's clock) or None
    events = conn.handle_timer(now)        # at or after that deadline
    conn.closed, conn.broken               # public state

This is the contract of :mod:`mediaproto.endpoint` (``now`` is required: seconds of the caller's
monotonic clock). Each endpoint takes one configuration dataclass
(:class:`~mediaproto.rtmp.configuration.ServerConfiguration`,
:class:`~mediaproto.rtmp.configuration.ClientConfiguration`); its states and their transitions are
the tables of :mod:`mediaproto.rtmp.states`.

Handled here, automatically: the handshake, Set Chunk Size / Abort / Window Acknowledgement Size
(inside the chunk decoder), Acknowledgements when a window's worth arrived, answers to Ping
Requests, aggregate messages (split into their sub-messages), and optional pings of our own every
``ping_interval`` seconds (counted from the first ``now`` the connection sees). A
:class:`~mediaproto.errors.ProtocolError` from the peer's bytes leaves
the connection broken: every later call raises :class:`~mediaproto.errors.LocalProtocolError`.

While a request event (connect, publish, play) waits for the application's ``accept_*`` or
``reject_*``, later messages from the peer are held back, and handled after the answer (FFmpeg and OBS wait
for the answer anyway), so that nothing the peer pipelines is handled in the wrong state: once
answered, :meth:`~RtmpConnection.next_timer` is due at once and :meth:`~RtmpConnection.handle_timer`
(or the next :meth:`~RtmpConnection.receive_data`) returns their events.

Fan-out: media messages are always sent with a type-0 chunk header, so their chunk bytes do not
depend on what the connection sent before. :func:`frame_chunks` builds them once; every connection
that plays the same stream on the same message stream id with the same outgoing chunk size can
queue those very bytes with :meth:`RtmpConnection.send_raw` (one serialization per frame, not per
player, as nginx-rtmp does).
"""

from __future__ import annotations

from typing import Any

from ..errors import LimitExceeded, LocalProtocolError, ProtocolError
from ..media import Frame, Track
from . import message as msg
from .chunk import ChunkDecoder, ChunkEncoder, Message, encode_message
from .limits import Limits
from ..endpoint import ConnectionClosed, Event, FrameReceived
from .configuration import DEFAULT_WINDOW, ClientConfiguration, ServerConfiguration
from .events import MetadataReceived, PingAnswered, TrackReceived
from .flv import MediaTagDecoder, MediaTagEncoder

__all__ = ["RtmpConnection", "frame_chunks", "CSID_STATUS", "CSID_AUDIO", "CSID_VIDEO", "DEFAULT_WINDOW"]

#: Chunk stream of commands and data on a media stream (as nginx-rtmp).
CSID_STATUS = 5
#: Chunk stream of audio messages.
CSID_AUDIO = 6
#: Chunk stream of video messages.
CSID_VIDEO = 7


def frame_chunks(encoder: MediaTagEncoder, frame: Frame, *, stream_id: int, chunk_size: int) -> bytes:
    """The chunk bytes of ``frame`` as an audio/video message, with a self-contained type-0 header.

    Build them once per frame and :meth:`RtmpConnection.send_raw` them to every player that uses
    ``stream_id`` and an outgoing chunk size of ``chunk_size`` (and has had the sequence headers).
    """
    tag_type, timestamp, body = encoder.encode(frame)
    return encode_message(media_message(tag_type, timestamp, body, stream_id), chunk_size)


def media_message(tag_type: int, timestamp: int, body: bytes, stream_id: int) -> Message:
    """An audio (8) or video (9) message on its conventional chunk stream."""
    return Message(CSID_VIDEO if tag_type == msg.VIDEO else CSID_AUDIO, tag_type, stream_id,
                   timestamp & 0xFFFFFFFF, body)


class RtmpConnection:
    """The shared machinery of both endpoints; use a subclass.

    :param configuration: the endpoint's configuration (limits, chunk size, pings, randomness).
    """

    def __init__(self, configuration: ServerConfiguration | ClientConfiguration) -> None:
        chunk_size = configuration.chunk_size
        if not 1 <= chunk_size <= 0x7FFFFFFF:
            raise LocalProtocolError(f"chunk size must be 1..2**31-1, got {chunk_size}")
        self.limits: Limits = configuration.limits
        self._random = configuration.random_bytes
        self._decoder = ChunkDecoder(self.limits)
        self._encoder = ChunkEncoder()
        self.chunk_size = chunk_size
        self._out: list[bytes] = []
        self._broken = False
        self._closed = False
        self._handshake_done = False
        self._ping_interval = configuration.ping_interval
        self._next_ping: float | None = None  # set from the first ``now`` (with a ping interval)
        self._now: float | None = None  # the latest ``now`` the caller gave
        self._media_in: dict[int, MediaTagDecoder] = {}
        self._media_out: dict[int, MediaTagEncoder] = {}
        self._awaiting_answer = False
        self._deferred: list[Message] = []
        self._deferred_bytes = 0

    # -- the Sans-IO face ----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer at the caller's ``now`` (seconds of its monotonic clock);
        ``b""`` means the peer closed. Returns the events, in order.

        Raises :class:`~mediaproto.errors.ProtocolError` on invalid input (the connection is
        broken afterwards), :class:`~mediaproto.errors.LocalProtocolError` when broken or closed.
        """
        self._check_usable()
        if self._closed:
            raise LocalProtocolError("the peer closed the connection already")
        self._tick(now)
        events: list[Event] = []
        if not data:
            self._closed = True
            events.append(ConnectionClosed())
            return events
        try:
            rest: bytes | bytearray | memoryview = data
            if not self._handshake_done:
                rest = self._handshake_receive(bytes(data))
                if not self._handshake_done:
                    return events
                self._on_handshake_done(events)
            self._process(self._decoder.feed(rest) if rest else [], events)
            seq = self._decoder.ack_due()
            if seq is not None:
                self._send(msg.acknowledgement(seq))
        except ProtocolError:
            self._broken = True
            raise
        return events

    def _tick(self, now: float) -> None:
        self._now = now
        if self._next_ping is None and self._ping_interval is not None:
            self._next_ping = now + self._ping_interval

    def _process(self, msgs: list[Message], events: list[Event]) -> None:
        """Dispatch ``msgs`` after those held back, holding back again from a request on."""
        if self._deferred:
            msgs = self._deferred + msgs
            self._deferred = []
            self._deferred_bytes = 0
        for i, m in enumerate(msgs):
            if self._awaiting_answer:
                self._defer(msgs[i:])
                break
            self._dispatch(m, events)

    def data_to_send(self) -> bytes:
        """Drain the bytes queued for the peer (also after a protocol error: what was queued before)."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` wants to be called (the caller's clock), or ``None``: the next
        ping, or at once (the latest ``now``) when held-back messages can be handled."""
        if self._closed or self._broken:
            return None
        if self._deferred and not self._awaiting_answer and self._now is not None:
            return self._now
        return self._next_ping if self._handshake_done else None

    def handle_timer(self, now: float) -> list[Event]:
        """Handle the messages held back while a request waited (their events are returned) and
        send the Ping Request due at ``now``. Nothing happens once the peer closed."""
        self._check_usable()
        events: list[Event] = []
        if self._closed:
            return events
        self._tick(now)
        if self._deferred and not self._awaiting_answer:
            try:
                self._process([], events)
            except ProtocolError:
                self._broken = True
                raise
        if self._next_ping is not None and self._ping_interval is not None and now >= self._next_ping:
            if self._handshake_done:
                self._send(msg.user_control(msg.PingRequest(int(now * 1000) & 0xFFFFFFFF)))
            self._next_ping = now + self._ping_interval
        return events

    def send_raw(self, data: bytes) -> None:
        """Queue chunk bytes built elsewhere (see :func:`frame_chunks`); they must be self-contained."""
        self._check_sendable()
        self._out.append(data)

    @property
    def broken(self) -> bool:
        """Whether a protocol error made this connection unusable."""
        return self._broken

    @property
    def closed(self) -> bool:
        """Whether the peer closed the connection (``receive_data(b"")``)."""
        return self._closed

    # -- for subclasses --------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._broken:
            raise LocalProtocolError("the connection is broken by an earlier protocol error")

    def _check_sendable(self) -> None:
        """For actions: usable and not closed by the peer."""
        self._check_usable()
        if self._closed:
            raise LocalProtocolError("the peer closed the connection")

    def _defer(self, msgs: list[Message]) -> None:
        self._deferred = msgs
        self._deferred_bytes = sum(len(m.payload) for m in msgs)
        if self._deferred_bytes > self.limits.max_buffered_bytes:
            raise LimitExceeded("the peer sent too much while its request waited for an answer")

    def _send(self, m: Message) -> None:
        self._out.append(self._encoder.encode(m))

    def _send_chunk_size(self) -> None:
        if self.chunk_size != self._encoder.chunk_size:
            self._out.append(self._encoder.set_chunk_size(self.chunk_size))

    def _send_media_config(self, stream_id: int, tracks: list[Track] | tuple[Track, ...]) -> None:
        enc = MediaTagEncoder(list(tracks))
        self._media_out[stream_id] = enc
        for tag_type, timestamp, body in enc.sequence_headers():
            self._out.append(encode_message(media_message(tag_type, timestamp, body, stream_id),
                                            self._encoder.chunk_size))

    def _send_frame(self, stream_id: int, frame: Frame) -> None:
        enc = self._media_out.get(stream_id)
        if enc is None:
            raise LocalProtocolError(f"stream {stream_id}: no tracks given, so no sequence headers were sent")
        self._out.append(frame_chunks(enc, frame, stream_id=stream_id, chunk_size=self._encoder.chunk_size))

    def _handshake_receive(self, data: bytes) -> bytes:
        raise NotImplementedError  # pragma: no cover

    def _on_handshake_done(self, events: list[Event]) -> None:
        self._handshake_done = True

    def _dispatch(self, m: Message, events: list[Event]) -> None:
        t = m.type_id
        if t == msg.AUDIO or t == msg.VIDEO:
            self._on_media(m, events)
        elif t == msg.USER_CONTROL:
            ev = msg.parse_user_control(m)
            if isinstance(ev, msg.PingRequest):
                self._send(msg.user_control(msg.PingResponse(ev.timestamp)))
            elif isinstance(ev, msg.PingResponse):
                events.append(PingAnswered(ev.timestamp))
            else:
                self._on_user_control(ev, events)
        elif t == msg.COMMAND_AMF0 or t == msg.COMMAND_AMF3:
            self._on_command(m.stream_id, msg.parse_command(m, self.limits), events)
        elif t == msg.DATA_AMF0 or t == msg.DATA_AMF3:
            try:
                values = msg.parse_data(m, self.limits)
            except ProtocolError:
                return  # not AMF (FFmpeg's 4-byte timecode data message, QUIRKS): ignore it
            self._on_data(m.stream_id, values, events)
        elif t == msg.AGGREGATE:
            for sub in msg.split_aggregate(m):
                if sub.type_id != msg.AGGREGATE:
                    self._dispatch(sub, events)
        elif t == msg.SET_PEER_BANDWIDTH:
            msg.read_u32(m)
            self._on_peer_bandwidth(m, events)
        elif t in (msg.SET_CHUNK_SIZE, msg.ABORT, msg.WINDOW_ACK_SIZE, msg.ACKNOWLEDGEMENT):
            msg.read_u32(m)  # applied by the chunk decoder; acknowledgements need no answer
        # shared objects and unknown types are ignored

    def _on_media(self, m: Message, events: list[Event]) -> None:
        dec = self._media_in.get(m.stream_id)
        if dec is None:
            if not self._accepts_media(m.stream_id):
                return
            dec = self._media_in[m.stream_id] = MediaTagDecoder()
        for item in dec.feed(m.type_id, m.timestamp, m.payload):
            if isinstance(item, Track):
                events.append(TrackReceived(m.stream_id, item))
            else:
                events.append(FrameReceived(item, m.stream_id))

    def _on_data(self, stream_id: int, values: list[Any], events: list[Event]) -> None:
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            events.append(MetadataReceived(stream_id, dict(values[1])))
        else:
            self._on_other_data(stream_id, values, events)

    def _accepts_media(self, stream_id: int) -> bool:
        return False

    def _on_other_data(self, stream_id: int, values: list[Any], events: list[Event]) -> None:
        pass

    def _on_user_control(self, ev: msg.UserControlEvent, events: list[Event]) -> None:
        pass

    def _on_peer_bandwidth(self, m: Message, events: list[Event]) -> None:
        pass

    def _on_command(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        raise NotImplementedError  # pragma: no cover
