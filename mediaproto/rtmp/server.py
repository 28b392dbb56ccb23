"""The server side of an RTMP session: accept publishers and serve players, Sans-IO.

::

    conn = ServerConnection()
    for event in conn.receive_data(data):
        if isinstance(event, ConnectRequested):
            conn.accept_connect(event)
        elif isinstance(event, PublishRequested):
            conn.accept_publish(event)          # or conn.reject_publish(event, "taken")
        elif isinstance(event, FrameReceived):
            hub.push(event.frame)
        elif isinstance(event, PlayRequested):
            conn.accept_play(event, tracks=hub.tracks)
    sock.sendall(conn.data_to_send())

The session answers by itself what needs no decision: ``releaseStream``, ``FCPublish``,
``createStream``, ``_checkbw``, ``getStreamLength``, ``FCUnpublish``, ``deleteStream`` and
``closeStream``, acknowledgements and pings. Transaction ids other than 1 and null command objects
are accepted (QUIRKS.md).
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Sequence

from ..errors import LimitExceeded, LocalProtocolError
from ..media import Frame, Track
from . import message as msg
from .limits import Limits
from .connection import CSID_STATUS, DEFAULT_WINDOW, RtmpConnection
from .events import (CommandReceived, ConnectRequested, Event, PlayRequested, PublishRequested,
                     StreamClosed)
from .handshake import ServerHandshake

__all__ = ["ServerConnection", "StreamState"]

#: The properties of our connect ``_result`` (what FMS and nginx-rtmp send).
_FMS_VERSION = "FMS/3,0,1,123"
_CAPABILITIES = 31.0


class StreamState(enum.Enum):
    """What a message stream of a server connection is doing."""

    CREATED = "created"
    PUBLISH_REQUESTED = "publish_requested"
    PUBLISHING = "publishing"
    PLAY_REQUESTED = "play_requested"
    PLAYING = "playing"


class _ConnState(enum.Enum):
    HANDSHAKE = "handshake"
    WAIT_CONNECT = "wait_connect"
    CONNECT_REQUESTED = "connect_requested"
    CONNECTED = "connected"
    REJECTED = "rejected"


class ServerConnection(RtmpConnection):
    """One client's session on an RTMP server.

    :param limits: bounds on what the client can make us buffer.
    :param chunk_size: our outgoing chunk size, announced when the connect is accepted.
    :param window_ack_size: the acknowledgement window and peer bandwidth we announce.
    :param ping_interval: seconds between Ping Requests, or ``None``.
    :param now: the caller's clock at creation.
    :param random_bytes: the handshake's random source.
    """

    def __init__(self, *, limits: Limits | None = None, chunk_size: int = 4096, window_ack_size: int = DEFAULT_WINDOW,
                 ping_interval: float | None = None, now: float = 0.0,
                 random_bytes: Callable[[int], bytes] | None = None) -> None:
        kw: dict[str, Any] = {} if random_bytes is None else {"random_bytes": random_bytes}
        super().__init__(limits=limits, chunk_size=chunk_size, ping_interval=ping_interval, now=now, **kw)
        self._handshake = ServerHandshake(**kw)
        self._state = _ConnState.HANDSHAKE
        self.window_ack_size = window_ack_size
        #: The application name from ``connect`` (``""`` before it).
        self.app = ""
        #: The connect command object, once received.
        self.connect_properties: dict[str, Any] = {}
        self._object_encoding = 0.0
        self._streams: dict[int, StreamState] = {}
        self._names: dict[int, str] = {}
        self._next_stream_id = 1

    # -- state ---------------------------------------------------------------------------------

    def stream_state(self, stream_id: int) -> StreamState | None:
        """What message stream ``stream_id`` does, or ``None`` when it does not exist."""
        return self._streams.get(stream_id)

    @property
    def outgoing_chunk_size(self) -> int:
        """The chunk size our bytes currently use (what :func:`frame_chunks` must be given)."""
        return self._encoder.chunk_size

    def _handshake_receive(self, data: bytes) -> bytes:
        rest = self._handshake.receive_data(data)
        self._out.append(self._handshake.data_to_send())
        if self._handshake.done:
            self._state = _ConnState.WAIT_CONNECT
            self._handshake_done = True
        return rest

    def _accepts_media(self, stream_id: int) -> bool:
        return self._streams.get(stream_id) is StreamState.PUBLISHING

    # -- commands ------------------------------------------------------------------------------

    def _result(self, tid: float, *args: Any, name: str = "_result") -> None:
        self._send(msg.command(name, tid, None, *args))

    def _status(self, stream_id: int, level: str, code: str, description: str, **extra: Any) -> None:
        info = {"level": level, "code": code, "description": description, **extra}
        self._send(msg.command("onStatus", 0, None, info, stream_id=stream_id, chunk_stream_id=CSID_STATUS))

    def _on_command(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        name = cmd.name
        if self._state is _ConnState.WAIT_CONNECT:
            if name != "connect":
                events.append(CommandReceived(stream_id, cmd))  # nothing else is allowed before connect
                return
            obj = cmd.command_object if isinstance(cmd.command_object, dict) else {}
            self.connect_properties = obj
            self.app = str(obj.get("app", ""))
            enc = obj.get("objectEncoding", 0.0)
            self._object_encoding = float(enc) if isinstance(enc, (int, float)) else 0.0
            self._state = _ConnState.CONNECT_REQUESTED
            tc = obj.get("tcUrl", "")
            self._awaiting_answer = True
            events.append(ConnectRequested(self.app, tc if isinstance(tc, str) else "", self._object_encoding, obj,
                                           cmd.transaction_id))
            return
        if self._state is not _ConnState.CONNECTED:
            events.append(CommandReceived(stream_id, cmd))
            return
        args = cmd.arguments
        if name == "createStream":
            if len(self._streams) >= self.limits.max_message_streams:
                raise LimitExceeded(f"more than {self.limits.max_message_streams} message streams")
            sid = self._next_stream_id
            self._next_stream_id += 1
            self._streams[sid] = StreamState.CREATED
            self._result(cmd.transaction_id, float(sid))
        elif name in ("releaseStream", "_checkbw", "getStreamLength"):
            if cmd.transaction_id:
                self._result(cmd.transaction_id, *((0.0,) if name == "getStreamLength" else ()))
        elif name == "FCPublish":
            key = args[0] if args and isinstance(args[0], str) else ""
            self._send(msg.command("onFCPublish", 0, None, {"code": "NetStream.Publish.Start", "description": key}))
        elif name == "publish":
            self._on_publish(stream_id, cmd, events)
        elif name == "play":
            self._on_play(stream_id, cmd, events)
        elif name == "FCUnpublish":
            key = args[0] if args and isinstance(args[0], str) else ""
            for sid, n in list(self._names.items()):
                if n == key and self._streams.get(sid) is StreamState.PUBLISHING:
                    self._close_stream(sid, "FCUnpublish", events)
            if cmd.transaction_id:
                self._result(cmd.transaction_id)
        elif name == "closeStream":
            self._close_stream(stream_id, "closeStream", events)
        elif name == "deleteStream":
            sid = int(args[0]) if args and isinstance(args[0], (int, float)) else stream_id
            self._close_stream(sid, "deleteStream", events)
            self._streams.pop(sid, None)
        else:
            events.append(CommandReceived(stream_id, cmd))

    def _close_stream(self, sid: int, reason: str, events: list[Event]) -> None:
        state = self._streams.get(sid)
        if state is None:
            return
        if state is not StreamState.CREATED:
            events.append(StreamClosed(sid, reason))
        self._streams[sid] = StreamState.CREATED
        self._media_in.pop(sid, None)
        self._media_out.pop(sid, None)
        self._names.pop(sid, None)

    def _on_publish(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        if self._streams.get(stream_id) is not StreamState.CREATED:
            self._status(stream_id, "error", "NetStream.Publish.BadName", "stream not created or busy")
            return
        args = cmd.arguments
        name = args[0] if args and isinstance(args[0], str) else ""
        kind = args[1] if len(args) > 1 and isinstance(args[1], str) else "live"
        self._streams[stream_id] = StreamState.PUBLISH_REQUESTED
        self._names[stream_id] = name
        self._awaiting_answer = True
        events.append(PublishRequested(stream_id, name, kind, self.app, cmd.transaction_id))

    def _on_play(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        if self._streams.get(stream_id) is not StreamState.CREATED:
            self._status(stream_id, "error", "NetStream.Play.Failed", "stream not created or busy")
            return
        args = cmd.arguments
        name = args[0] if args and isinstance(args[0], str) else ""
        start = float(args[1]) if len(args) > 1 and isinstance(args[1], (int, float)) else -2.0
        duration = float(args[2]) if len(args) > 2 and isinstance(args[2], (int, float)) else -1.0
        reset = bool(args[3]) if len(args) > 3 else True
        self._streams[stream_id] = StreamState.PLAY_REQUESTED
        self._names[stream_id] = name
        self._awaiting_answer = True
        events.append(PlayRequested(stream_id, name, start, duration, reset, self.app))

    # -- the application's answers -------------------------------------------------------------

    def accept_connect(self, event: ConnectRequested, *, properties: dict[str, Any] | None = None) -> None:
        """Accept the connect: announce window, bandwidth and chunk size, answer ``_result``."""
        self._check_usable()
        if self._state is not _ConnState.CONNECT_REQUESTED:
            raise LocalProtocolError("no connect request is waiting")
        self._send(msg.window_ack_size(self.window_ack_size))
        self._send(msg.set_peer_bandwidth(self.window_ack_size, msg.LIMIT_DYNAMIC))
        self._send_chunk_size()
        self._send(msg.user_control(msg.StreamBegin(0)))
        props = {"fmsVer": _FMS_VERSION, "capabilities": _CAPABILITIES, "mode": 1.0}
        props.update(properties or {})
        info = {"level": "status", "code": "NetConnection.Connect.Success", "description": "Connection succeeded.",
                "objectEncoding": self._object_encoding}
        self._send(msg.command("_result", event.transaction_id, props, info))
        self._state = _ConnState.CONNECTED
        self._awaiting_answer = False

    def reject_connect(self, event: ConnectRequested, reason: str = "Connection rejected.") -> None:
        """Refuse the connect with ``_error`` NetConnection.Connect.Rejected; then close the socket."""
        self._check_usable()
        if self._state is not _ConnState.CONNECT_REQUESTED:
            raise LocalProtocolError("no connect request is waiting")
        info = {"level": "error", "code": "NetConnection.Connect.Rejected", "description": reason}
        self._send(msg.command("_error", event.transaction_id, None, info))
        self._state = _ConnState.REJECTED
        self._awaiting_answer = False

    def _pending(self, stream_id: int, state: StreamState) -> None:
        self._check_usable()
        if self._streams.get(stream_id) is not state:
            raise LocalProtocolError(f"stream {stream_id} has no {state.value.split('_')[0]} request waiting")

    def accept_publish(self, event: PublishRequested) -> None:
        """Let the client publish: StreamBegin and onStatus NetStream.Publish.Start."""
        self._pending(event.stream_id, StreamState.PUBLISH_REQUESTED)
        self._send(msg.user_control(msg.StreamBegin(event.stream_id)))
        self._status(event.stream_id, "status", "NetStream.Publish.Start",
                     f"{event.publishing_name} is now published.", details=event.publishing_name)
        self._streams[event.stream_id] = StreamState.PUBLISHING
        self._awaiting_answer = False

    def reject_publish(self, event: PublishRequested, reason: str = "Stream name is taken.",
                       code: str = "NetStream.Publish.BadName") -> None:
        """Refuse the publish with an error onStatus (NetStream.Publish.BadName by default)."""
        self._pending(event.stream_id, StreamState.PUBLISH_REQUESTED)
        self._status(event.stream_id, "error", code, reason)
        self._streams[event.stream_id] = StreamState.CREATED
        self._names.pop(event.stream_id, None)
        self._awaiting_answer = False

    def accept_play(self, event: PlayRequested, *, tracks: Sequence[Track] | None = None,
                    metadata: dict[str, Any] | None = None) -> None:
        """Start playback: StreamBegin, onStatus Play.Reset and Play.Start, ``|RtmpSampleAccess``,
        ``onMetaData`` (when given) and the sequence headers of ``tracks`` (when given; else call
        :meth:`send_tracks` once they are known)."""
        self._pending(event.stream_id, StreamState.PLAY_REQUESTED)
        sid = event.stream_id
        self._send(msg.user_control(msg.StreamBegin(sid)))
        if event.reset:
            self._status(sid, "status", "NetStream.Play.Reset", f"Playing and resetting {event.stream_name}.",
                         details=event.stream_name)
        self._status(sid, "status", "NetStream.Play.Start", f"Started playing {event.stream_name}.",
                     details=event.stream_name)
        self._send(msg.data_message(["|RtmpSampleAccess", True, True], stream_id=sid, chunk_stream_id=CSID_STATUS))
        self._streams[sid] = StreamState.PLAYING
        self._awaiting_answer = False
        if metadata is not None:
            self.send_metadata(sid, metadata)
        if tracks:
            self.send_tracks(sid, tracks)

    def reject_play(self, event: PlayRequested, reason: str = "No such stream.",
                    code: str = "NetStream.Play.StreamNotFound") -> None:
        """Refuse the play with an error onStatus (NetStream.Play.StreamNotFound by default)."""
        self._pending(event.stream_id, StreamState.PLAY_REQUESTED)
        self._status(event.stream_id, "error", code, reason)
        self._streams[event.stream_id] = StreamState.CREATED
        self._names.pop(event.stream_id, None)
        self._awaiting_answer = False

    def _playing(self, stream_id: int) -> None:
        self._check_usable()
        if self._streams.get(stream_id) is not StreamState.PLAYING:
            raise LocalProtocolError(f"stream {stream_id} is not playing")

    def send_metadata(self, stream_id: int, metadata: dict[str, Any]) -> None:
        """Send an ``onMetaData`` data message to a player."""
        self._playing(stream_id)
        self._send(msg.data_message(["onMetaData", metadata], stream_id=stream_id, chunk_stream_id=CSID_STATUS))

    def send_tracks(self, stream_id: int, tracks: Sequence[Track]) -> None:
        """Send the sequence headers of ``tracks`` to a player (again, when they change)."""
        self._playing(stream_id)
        self._send_media_config(stream_id, tuple(tracks))

    def send_frame(self, stream_id: int, frame: Frame) -> None:
        """Send one frame to a player (after :meth:`send_tracks` or ``accept_play(tracks=...)``)."""
        self._playing(stream_id)
        self._send_frame(stream_id, frame)

    def end_play(self, stream_id: int) -> None:
        """Tell a player the stream ended: StreamEOF and onStatus NetStream.Play.UnpublishNotify."""
        self._playing(stream_id)
        self._status(stream_id, "status", "NetStream.Play.UnpublishNotify", "The stream was unpublished.")
        self._send(msg.user_control(msg.StreamEOF(stream_id)))
