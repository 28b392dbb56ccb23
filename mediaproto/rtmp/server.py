"""The server side of an RTMP session: accept publishers and serve players, Sans-IO.

::

    conn = ServerConnection(ServerConfiguration(ping_interval=30.0))
    for event in conn.receive_data(data, now):
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

The connection's states and each message stream's are the tables of :mod:`mediaproto.rtmp.states`;
an ``accept_*``/``reject_*`` without that request pending, or a ``send_*`` to a stream that is not
playing, raises :class:`~mediaproto.errors.LocalProtocolError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..endpoint import Event, StateMachine, StreamEndpoint
from ..errors import LimitExceeded, LocalProtocolError
from ..media import Frame, Track
from . import message as msg
from .configuration import ServerConfiguration
from .connection import CSID_STATUS, RtmpConnection
from .events import CommandReceived, ConnectRequested, PlayRequested, PublishRequested, StreamClosed
from .handshake import ServerHandshake
from .states import (SERVER_STREAM_TRANSITIONS, SERVER_TRANSITIONS, ServerInput, ServerState, StreamInput,
                     StreamState)

__all__ = ["ServerConnection", "ServerState", "StreamState"]

#: The properties of our connect ``_result`` (what FMS and nginx-rtmp send).
_FMS_VERSION = "FMS/3,0,1,123"
_CAPABILITIES = 31.0


class ServerConnection(RtmpConnection):
    """One client's session on an RTMP server.

    :param configuration: how the session behaves (default: ``ServerConfiguration()``).
    """

    def __init__(self, configuration: ServerConfiguration | None = None) -> None:
        config = configuration if configuration is not None else ServerConfiguration()
        super().__init__(config)
        #: The configuration the session was made with.
        self.configuration = config
        self._handshake = ServerHandshake(random_bytes=config.random_bytes)
        self._machine = StateMachine("RTMP server", SERVER_TRANSITIONS, ServerState.HANDSHAKE)
        self.window_ack_size = config.window_ack_size
        #: The application name from ``connect`` (``""`` before it).
        self.app = ""
        #: The connect command object, once received.
        self.connect_properties: dict[str, Any] = {}
        self._object_encoding = 0.0
        self._streams: dict[int, StateMachine[StreamState, StreamInput]] = {}
        self._names: dict[int, str] = {}
        self._next_stream_id = 1

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> ServerState:
        """Where the connection is (see :mod:`mediaproto.rtmp.states`)."""
        return self._machine.state

    def stream_state(self, stream_id: int) -> StreamState | None:
        """What message stream ``stream_id`` does, or ``None`` when it does not exist."""
        machine = self._streams.get(stream_id)
        return None if machine is None else machine.state

    def _stream_fire(self, stream_id: int, what: StreamInput) -> None:
        """Move stream ``stream_id`` for the application's call; raises LocalProtocolError."""
        self._check_sendable()
        machine = self._streams.get(stream_id)
        if machine is None:
            raise LocalProtocolError(f"stream {stream_id} does not exist")
        machine.fire(what)

    @property
    def outgoing_chunk_size(self) -> int:
        """The chunk size our bytes currently use (what :func:`frame_chunks` must be given)."""
        return self._encoder.chunk_size

    def _handshake_receive(self, data: bytes) -> bytes:
        rest = self._handshake.receive_data(data)
        self._out.append(self._handshake.data_to_send())
        if self._handshake.done:
            self._machine.fire(ServerInput.HANDSHAKE_DONE)
            self._handshake_done = True
        return rest

    def _accepts_media(self, stream_id: int) -> bool:
        return self.stream_state(stream_id) is StreamState.PUBLISHING

    # -- commands ------------------------------------------------------------------------------

    def _result(self, tid: float, *args: Any, name: str = "_result") -> None:
        self._send(msg.command(name, tid, None, *args))

    def _status(self, stream_id: int, level: str, code: str, description: str, **extra: Any) -> None:
        info = {"level": level, "code": code, "description": description, **extra}
        self._send(msg.command("onStatus", 0, None, info, stream_id=stream_id, chunk_stream_id=CSID_STATUS))

    def _on_command(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        name = cmd.name
        if self._machine.allows(ServerInput.CONNECT):
            if name != "connect":
                events.append(CommandReceived(stream_id, cmd))  # nothing else is allowed before connect
                return
            obj = cmd.command_object if isinstance(cmd.command_object, dict) else {}
            self.connect_properties = obj
            self.app = str(obj.get("app", ""))
            enc = obj.get("objectEncoding", 0.0)
            self._object_encoding = float(enc) if isinstance(enc, (int, float)) else 0.0
            self._machine.fire(ServerInput.CONNECT)
            tc = obj.get("tcUrl", "")
            self._awaiting_answer = True
            events.append(ConnectRequested(self.app, tc if isinstance(tc, str) else "", self._object_encoding, obj,
                                           cmd.transaction_id))
            return
        if self._machine.state is not ServerState.CONNECTED:
            events.append(CommandReceived(stream_id, cmd))
            return
        args = cmd.arguments
        if name == "createStream":
            if len(self._streams) >= self.limits.max_message_streams:
                raise LimitExceeded(f"more than {self.limits.max_message_streams} message streams")
            sid = self._next_stream_id
            self._next_stream_id += 1
            self._streams[sid] = StateMachine(f"RTMP server stream {sid}", SERVER_STREAM_TRANSITIONS,
                                              StreamState.CREATED)
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
                if n == key and self.stream_state(sid) is StreamState.PUBLISHING:
                    self._close_stream(sid, "FCUnpublish", events)
            if cmd.transaction_id:
                self._result(cmd.transaction_id)
        elif name == "closeStream":
            self._close_stream(stream_id, "closeStream", events)
        elif name == "deleteStream":
            given = msg.stream_id_arg(args[0]) if args else None
            sid = given if given is not None else stream_id
            self._close_stream(sid, "deleteStream", events)
            self._streams.pop(sid, None)
        else:
            events.append(CommandReceived(stream_id, cmd))

    def _close_stream(self, sid: int, reason: str, events: list[Event]) -> None:
        machine = self._streams.get(sid)
        if machine is None:
            return
        if machine.state is not StreamState.CREATED:
            events.append(StreamClosed(sid, reason))
        machine.fire(StreamInput.CLOSE)
        self._media_in.pop(sid, None)
        self._media_out.pop(sid, None)
        self._names.pop(sid, None)

    def _on_publish(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        machine = self._streams.get(stream_id)
        if machine is None or not machine.allows(StreamInput.PUBLISH):
            self._status(stream_id, "error", "NetStream.Publish.BadName", "stream not created or busy")
            return
        args = cmd.arguments
        name = args[0] if args and isinstance(args[0], str) else ""
        kind = args[1] if len(args) > 1 and isinstance(args[1], str) else "live"
        machine.fire(StreamInput.PUBLISH)
        self._names[stream_id] = name
        self._awaiting_answer = True
        events.append(PublishRequested(stream_id, name, kind, self.app, cmd.transaction_id))

    def _on_play(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        machine = self._streams.get(stream_id)
        if machine is None or not machine.allows(StreamInput.PLAY):
            self._status(stream_id, "error", "NetStream.Play.Failed", "stream not created or busy")
            return
        args = cmd.arguments
        name = args[0] if args and isinstance(args[0], str) else ""
        start = float(args[1]) if len(args) > 1 and isinstance(args[1], (int, float)) else -2.0
        duration = float(args[2]) if len(args) > 2 and isinstance(args[2], (int, float)) else -1.0
        reset = bool(args[3]) if len(args) > 3 else True
        machine.fire(StreamInput.PLAY)
        self._names[stream_id] = name
        self._awaiting_answer = True
        events.append(PlayRequested(stream_id, name, start, duration, reset, self.app))

    # -- the application's answers -------------------------------------------------------------

    def accept_connect(self, event: ConnectRequested, *, properties: dict[str, Any] | None = None) -> None:
        """Accept the connect: announce window, bandwidth and chunk size, answer ``_result``."""
        self._check_sendable()
        self._machine.fire(ServerInput.ACCEPT_CONNECT)
        self._send(msg.window_ack_size(self.window_ack_size))
        self._send(msg.set_peer_bandwidth(self.window_ack_size, msg.LIMIT_DYNAMIC))
        self._send_chunk_size()
        self._send(msg.user_control(msg.StreamBegin(0)))
        props = {"fmsVer": _FMS_VERSION, "capabilities": _CAPABILITIES, "mode": 1.0}
        props.update(properties or {})
        info = {"level": "status", "code": "NetConnection.Connect.Success", "description": "Connection succeeded.",
                "objectEncoding": self._object_encoding}
        self._send(msg.command("_result", event.transaction_id, props, info))
        self._awaiting_answer = False

    def reject_connect(self, event: ConnectRequested, reason: str = "Connection rejected.") -> None:
        """Refuse the connect with ``_error`` NetConnection.Connect.Rejected; then close the socket."""
        self._check_sendable()
        self._machine.fire(ServerInput.REJECT_CONNECT)
        info = {"level": "error", "code": "NetConnection.Connect.Rejected", "description": reason}
        self._send(msg.command("_error", event.transaction_id, None, info))
        self._awaiting_answer = False

    def accept_publish(self, event: PublishRequested) -> None:
        """Let the client publish: StreamBegin and onStatus NetStream.Publish.Start."""
        self._stream_fire(event.stream_id, StreamInput.ACCEPT_PUBLISH)
        self._send(msg.user_control(msg.StreamBegin(event.stream_id)))
        self._status(event.stream_id, "status", "NetStream.Publish.Start",
                     f"{event.publishing_name} is now published.", details=event.publishing_name)
        self._awaiting_answer = False

    def reject_publish(self, event: PublishRequested, reason: str = "Stream name is taken.",
                       code: str = "NetStream.Publish.BadName") -> None:
        """Refuse the publish with an error onStatus (NetStream.Publish.BadName by default)."""
        self._stream_fire(event.stream_id, StreamInput.REJECT_PUBLISH)
        self._status(event.stream_id, "error", code, reason)
        self._names.pop(event.stream_id, None)
        self._awaiting_answer = False

    def accept_play(self, event: PlayRequested, *, tracks: Sequence[Track] | None = None,
                    metadata: dict[str, Any] | None = None) -> None:
        """Start playback: StreamBegin, onStatus Play.Reset and Play.Start, ``|RtmpSampleAccess``,
        ``onMetaData`` (when given) and the sequence headers of ``tracks`` (when given; else call
        :meth:`send_tracks` once they are known)."""
        self._stream_fire(event.stream_id, StreamInput.ACCEPT_PLAY)
        sid = event.stream_id
        self._send(msg.user_control(msg.StreamBegin(sid)))
        if event.reset:
            self._status(sid, "status", "NetStream.Play.Reset", f"Playing and resetting {event.stream_name}.",
                         details=event.stream_name)
        self._status(sid, "status", "NetStream.Play.Start", f"Started playing {event.stream_name}.",
                     details=event.stream_name)
        self._send(msg.data_message(["|RtmpSampleAccess", True, True], stream_id=sid, chunk_stream_id=CSID_STATUS))
        self._awaiting_answer = False
        if metadata is not None:
            self.send_metadata(sid, metadata)
        if tracks:
            self.send_tracks(sid, tracks)

    def reject_play(self, event: PlayRequested, reason: str = "No such stream.",
                    code: str = "NetStream.Play.StreamNotFound") -> None:
        """Refuse the play with an error onStatus (NetStream.Play.StreamNotFound by default)."""
        self._stream_fire(event.stream_id, StreamInput.REJECT_PLAY)
        self._status(event.stream_id, "error", code, reason)
        self._names.pop(event.stream_id, None)
        self._awaiting_answer = False

    def _playing(self, stream_id: int) -> None:
        self._stream_fire(stream_id, StreamInput.SEND_MEDIA)

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


if TYPE_CHECKING:  # mypy --strict checks that the class keeps the contract of mediaproto.endpoint

    def _conforms(conn: ServerConnection) -> StreamEndpoint:
        return conn
