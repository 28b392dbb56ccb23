"""The client side of an RTMP session: push to a server or pull from one, Sans-IO.

::

    conn = ClientConnection("live", "rtmp://example.com/live", configuration=ClientConfiguration())
    sock.sendall(conn.data_to_send())            # C0+C1
    for event in conn.receive_data(sock.recv(65536), now):
        if isinstance(event, Connected):
            conn.publish("key")                  # releaseStream, FCPublish, createStream, publish
        elif isinstance(event, PublishStarted):
            conn.send_tracks(tracks)             # sequence headers
            ...conn.send_frame(frame)...

After the handshake the client announces its chunk size and sends ``connect`` by itself. The
connection's states and each stream's are the tables of :mod:`mediaproto.rtmp.states`: ``publish``
and ``play`` need ``CONNECTED``, ``send_*`` a stream the server let us publish on
(:class:`~mediaproto.rtmp.events.PublishStarted`); any other call raises
:class:`~mediaproto.errors.LocalProtocolError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..endpoint import Event, StateMachine, StreamEndpoint
from ..errors import LocalProtocolError
from ..media import Frame, Track
from . import message as msg
from .chunk import Message
from .configuration import ClientConfiguration
from .connection import CSID_STATUS, DEFAULT_WINDOW, RtmpConnection
from .events import (CommandReceived, Connected, ConnectRejected, PlayStarted, PublishStarted, StatusReceived,
                     StreamCreated)
from .handshake import ClientHandshake
from .states import CLIENT_STREAM_TRANSITIONS, CLIENT_TRANSITIONS, ClientInput, ClientState, StreamInput, StreamState

__all__ = ["ClientConnection", "ClientState"]


class ClientConnection(RtmpConnection):
    """A client session.

    :param app: the application to connect to (``live`` in ``rtmp://host/live/key``).
    :param tc_url: the URL of the application (``rtmp://host:port/live``).
    :param configuration: how the session behaves (default: ``ClientConfiguration()``).
    """

    def __init__(self, app: str, tc_url: str = "", *, configuration: ClientConfiguration | None = None) -> None:
        config = configuration if configuration is not None else ClientConfiguration()
        super().__init__(config)
        #: The configuration the session was made with.
        self.configuration = config
        self.app = app
        self.tc_url = tc_url
        self._props = {"app": app, "type": "nonprivate", "flashVer": config.flash_ver, "tcUrl": tc_url,
                       **config.connect_properties}
        self._handshake = ClientHandshake(digest=config.digest_handshake, random_bytes=config.random_bytes)
        self._out.append(self._handshake.data_to_send())
        self._machine = StateMachine("RTMP client", CLIENT_TRANSITIONS, ClientState.HANDSHAKE)
        self._buffer_length = config.buffer_length
        self._tid = 1
        self._pending: dict[float, tuple[str, str, str]] = {}  # tid -> (purpose, name, type)
        self._streams: dict[int, StateMachine[StreamState, StreamInput]] = {}
        self._names: dict[int, str] = {}
        self._window_sent = 0

    @property
    def state(self) -> ClientState:
        """Where the connection is (see :mod:`mediaproto.rtmp.states`)."""
        return self._machine.state

    def stream_state(self, stream_id: int) -> StreamState | None:
        """What our message stream ``stream_id`` does, or ``None`` when it does not exist."""
        machine = self._streams.get(stream_id)
        return None if machine is None else machine.state

    def _streams_in(self, *states: StreamState) -> list[int]:
        return [sid for sid, m in self._streams.items() if m.state in states]

    def _handshake_receive(self, data: bytes) -> bytes:
        rest = self._handshake.receive_data(data)
        self._out.append(self._handshake.data_to_send())
        if self._handshake.done:
            self._handshake_done = True
        return rest

    def _on_handshake_done(self, events: list[Event]) -> None:
        super()._on_handshake_done(events)
        self._send_chunk_size()
        self._send(msg.command("connect", 1, self._props))
        self._pending[1.0] = ("connect", "", "")
        self._tid = 2
        self._machine.fire(ClientInput.HANDSHAKE_DONE)

    def _next_tid(self) -> float:
        tid = float(self._tid)
        self._tid += 1
        return tid

    def _accepts_media(self, stream_id: int) -> bool:
        return self.stream_state(stream_id) in (StreamState.PLAY_REQUESTED, StreamState.PLAYING)

    def _dispatch(self, m: Message, events: list[Event]) -> None:
        # Quirk (FFmpeg's listen mode, ``-listen 1 -f flv rtmp://...``): media and onMetaData come on
        # message stream 0, not on the stream ``play`` was sent on. With one stream playing, they
        # belong to it.
        playing = self._streams_in(StreamState.PLAY_REQUESTED, StreamState.PLAYING)
        if m.stream_id == 0 and len(playing) == 1 and m.type_id in (msg.AUDIO, msg.VIDEO, msg.DATA_AMF0,
                                                                         msg.DATA_AMF3, msg.AGGREGATE):
            m = Message(m.chunk_stream_id, m.type_id, playing[0], m.timestamp, m.payload)
        super()._dispatch(m, events)

    # -- actions -------------------------------------------------------------------------------

    def _require_connected(self) -> None:
        self._check_sendable()
        self._machine.fire(ClientInput.OPEN_STREAM)

    def publish(self, publishing_name: str, publishing_type: str = "live") -> None:
        """Ask to publish: releaseStream, FCPublish and createStream, then publish on the new stream.

        :class:`~mediaproto.rtmp.events.PublishStarted` (or a :class:`StatusReceived` error)
        follows.
        """
        self._require_connected()
        self._send(msg.command("releaseStream", self._next_tid(), None, publishing_name))
        self._send(msg.command("FCPublish", self._next_tid(), None, publishing_name))
        tid = self._next_tid()
        self._send(msg.command("createStream", tid, None))
        self._pending[tid] = ("publish", publishing_name, publishing_type)

    def play(self, stream_name: str, start: float = -2.0) -> None:
        """Ask to play: createStream, then play and SetBufferLength; frames arrive as events."""
        self._require_connected()
        tid = self._next_tid()
        self._send(msg.command("createStream", tid, None))
        self._pending[tid] = ("play", stream_name, str(start))

    def _publish_stream(self, stream_id: int | None) -> int:
        self._check_sendable()
        if stream_id is None:
            publishing = self._streams_in(StreamState.PUBLISHING)
            if len(publishing) != 1:
                raise LocalProtocolError("give the stream id: not exactly one stream is publishing")
            stream_id = publishing[0]
        machine = self._streams.get(stream_id)
        if machine is None:
            raise LocalProtocolError(f"stream {stream_id} does not exist")
        machine.fire(StreamInput.SEND_MEDIA)
        return stream_id

    def send_metadata(self, metadata: dict[str, Any], stream_id: int | None = None) -> None:
        """Send ``@setDataFrame onMetaData`` on the publishing stream."""
        sid = self._publish_stream(stream_id)
        self._send(msg.data_message(["@setDataFrame", "onMetaData", metadata], stream_id=sid,
                                    chunk_stream_id=CSID_STATUS))

    def send_tracks(self, tracks: Sequence[Track], stream_id: int | None = None) -> None:
        """Send the sequence headers of ``tracks`` (before the first frame, and when they change)."""
        self._send_media_config(self._publish_stream(stream_id), tuple(tracks))

    def send_frame(self, frame: Frame, stream_id: int | None = None) -> None:
        """Send one frame on the publishing stream."""
        self._send_frame(self._publish_stream(stream_id), frame)

    def close_stream(self, stream_id: int | None = None) -> None:
        """Stop publishing or playing: FCUnpublish (when publishing) and deleteStream."""
        self._check_sendable()
        if stream_id is None:
            if len(self._streams) != 1:
                raise LocalProtocolError("give the stream id: not exactly one stream is open")
            stream_id = next(iter(self._streams))
        machine = self._streams.get(stream_id)
        if machine is None:
            raise LocalProtocolError(f"stream {stream_id} does not exist")
        if machine.state in (StreamState.PUBLISH_REQUESTED, StreamState.PUBLISHING):
            self._send(msg.command("FCUnpublish", self._next_tid(), None, self._names.get(stream_id, "")))
        machine.fire(StreamInput.CLOSE)
        del self._streams[stream_id]
        self._names.pop(stream_id, None)
        self._media_in.pop(stream_id, None)
        self._media_out.pop(stream_id, None)
        self._send(msg.command("deleteStream", self._next_tid(), None, float(stream_id)))

    # -- what the server sends -----------------------------------------------------------------

    def _on_peer_bandwidth(self, m: Message, events: list[Event]) -> None:
        window = msg.read_u32(m)
        if window != self._window_sent:
            self._window_sent = window
            self._send(msg.window_ack_size(window or DEFAULT_WINDOW))

    def _on_command(self, stream_id: int, cmd: msg.Command, events: list[Event]) -> None:
        name = cmd.name
        if name in ("_result", "_error"):
            pending = self._pending.pop(cmd.transaction_id, None)
            if pending is None:
                return  # answers to releaseStream, FCPublish, ...
            purpose, sname, extra = pending
            info = cmd.arguments[0] if cmd.arguments else None
            if purpose == "connect":
                if not self._machine.allows(ClientInput.CONNECT_ACCEPTED):
                    return  # a second answer to connect: ignored
                if name == "_result":
                    self._machine.fire(ClientInput.CONNECT_ACCEPTED)
                    events.append(Connected(cmd.command_object, info))
                else:
                    self._machine.fire(ClientInput.CONNECT_REJECTED)
                    events.append(ConnectRejected(info))
                return
            sid = msg.stream_id_arg(cmd.arguments[0]) if cmd.arguments else None
            if name == "_error" or sid is None:  # an error, or no usable stream id (NaN, 1.5, -1, ...)
                events.append(StatusReceived(0, "error", "NetConnection.Call.Failed", "createStream failed", info))
                return
            if sid in self._streams or len(self._streams) >= self.limits.max_message_streams:
                events.append(StatusReceived(0, "error", "NetConnection.Call.Failed", "createStream failed", info))
                return  # a stream id in use (or too many): not ours to reuse
            events.append(StreamCreated(sid))
            created = self._streams[sid] = StateMachine(f"RTMP client stream {sid}", CLIENT_STREAM_TRANSITIONS,
                                                        StreamState.CREATED)
            self._names[sid] = sname
            if purpose == "publish":
                self._send(msg.command("publish", 0, None, sname, extra, stream_id=sid, chunk_stream_id=CSID_STATUS))
                created.fire(StreamInput.PUBLISH)
            else:
                self._send(msg.command("play", 0, None, sname, float(extra), stream_id=sid, chunk_stream_id=CSID_STATUS))
                self._send(msg.user_control(msg.SetBufferLength(sid, self._buffer_length)))
                created.fire(StreamInput.PLAY)
        elif name == "onStatus":
            info = cmd.arguments[0] if cmd.arguments else None
            if not isinstance(info, dict):
                info = {}
            code = str(info.get("code", ""))
            ev = StatusReceived(stream_id, str(info.get("level", "")), code, str(info.get("description", "")), info)
            events.append(ev)
            machine = self._streams.get(stream_id)
            if machine is None:
                return
            if code == "NetStream.Publish.Start" and machine.state is StreamState.PUBLISH_REQUESTED:
                machine.fire(StreamInput.STARTED)
                events.append(PublishStarted(stream_id))
            elif code == "NetStream.Play.Start" and machine.state is StreamState.PLAY_REQUESTED:
                machine.fire(StreamInput.STARTED)
                events.append(PlayStarted(stream_id))
            elif ev.level == "error" and machine.allows(StreamInput.FAILED):
                machine.fire(StreamInput.FAILED)
                self._media_in.pop(stream_id, None)
                self._media_out.pop(stream_id, None)
        elif name in ("onBWDone", "onFCPublish", "onFCUnpublish", "_onbwcheck", "_onbwdone"):
            pass
        else:
            events.append(CommandReceived(stream_id, cmd))


if TYPE_CHECKING:  # mypy --strict checks that the class keeps the contract of mediaproto.endpoint

    def _conforms(conn: ClientConnection) -> StreamEndpoint:
        return conn
