"""The client side of an RTMP session: push to a server or pull from one, Sans-IO.

::

    conn = ClientConnection("live", "rtmp://example.com/live")
    sock.sendall(conn.data_to_send())            # C0+C1
    for event in conn.receive_data(sock.recv(65536)):
        if isinstance(event, Connected):
            conn.publish("key")                  # releaseStream, FCPublish, createStream, publish
        elif isinstance(event, PublishStarted):
            conn.send_tracks(tracks)             # sequence headers
            ...conn.send_frame(frame)...

After the handshake the client announces its chunk size and sends ``connect`` by itself.
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Sequence

from ..errors import LocalProtocolError
from ..media import Frame, Track
from . import message as msg
from .chunk import Message
from .limits import Limits
from .connection import CSID_STATUS, DEFAULT_WINDOW, RtmpConnection
from .events import (CommandReceived, Connected, ConnectRejected, Event, PlayStarted, PublishStarted,
                     StatusReceived, StreamCreated)
from .handshake import ClientHandshake

__all__ = ["ClientConnection", "ClientState"]


class ClientState(enum.Enum):
    """Where a client session is."""

    HANDSHAKE = "handshake"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    REJECTED = "rejected"


class ClientConnection(RtmpConnection):
    """A client session.

    :param app: the application to connect to (``live`` in ``rtmp://host/live/key``).
    :param tc_url: the URL of the application (``rtmp://host:port/live``).
    :param flash_ver: the ``flashVer`` we announce.
    :param digest_handshake: send a digest C1 as FFmpeg and Flash do (``False``: simple handshake).
    :param chunk_size: our outgoing chunk size, announced after the handshake.
    :param connect_properties: extra properties of the connect command object.
    :param buffer_length: the buffer length in ms we announce when playing.
    """

    def __init__(self, app: str, tc_url: str = "", *, flash_ver: str = "FMLE/3.0 (compatible; mediaproto)",
                 digest_handshake: bool = True, chunk_size: int = 4096,
                 connect_properties: dict[str, Any] | None = None, buffer_length: int = 3000,
                 limits: Limits | None = None, ping_interval: float | None = None, now: float = 0.0,
                 random_bytes: Callable[[int], bytes] | None = None) -> None:
        kw: dict[str, Any] = {} if random_bytes is None else {"random_bytes": random_bytes}
        super().__init__(limits=limits, chunk_size=chunk_size, ping_interval=ping_interval, now=now, **kw)
        self.app = app
        self.tc_url = tc_url
        self._props = {"app": app, "type": "nonprivate", "flashVer": flash_ver, "tcUrl": tc_url,
                       **(connect_properties or {})}
        self._handshake = ClientHandshake(digest=digest_handshake, **kw)
        self._out.append(self._handshake.data_to_send())
        self.state = ClientState.HANDSHAKE
        self._buffer_length = buffer_length
        self._tid = 1
        self._pending: dict[float, tuple[str, str, str]] = {}  # tid -> (purpose, name, type)
        self._publishing: dict[int, str] = {}
        self._playing: dict[int, str] = {}
        self._window_sent = 0

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
        self.state = ClientState.CONNECTING

    def _next_tid(self) -> float:
        tid = float(self._tid)
        self._tid += 1
        return tid

    def _accepts_media(self, stream_id: int) -> bool:
        return stream_id in self._playing

    def _dispatch(self, m: Message, events: list[Event]) -> None:
        # Quirk (FFmpeg's listen mode, ``-listen 1 -f flv rtmp://...``): media and onMetaData come on
        # message stream 0, not on the stream ``play`` was sent on. With one stream playing, they
        # belong to it.
        if m.stream_id == 0 and len(self._playing) == 1 and m.type_id in (msg.AUDIO, msg.VIDEO, msg.DATA_AMF0,
                                                                         msg.DATA_AMF3, msg.AGGREGATE):
            m = Message(m.chunk_stream_id, m.type_id, next(iter(self._playing)), m.timestamp, m.payload)
        super()._dispatch(m, events)

    # -- actions -------------------------------------------------------------------------------

    def _require_connected(self) -> None:
        self._check_usable()
        if self.state is not ClientState.CONNECTED:
            raise LocalProtocolError("not connected yet (wait for the Connected event)")

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
        self._check_usable()
        if stream_id is None:
            if len(self._publishing) != 1:
                raise LocalProtocolError("give the stream id: not exactly one stream is publishing")
            return next(iter(self._publishing))
        if stream_id not in self._publishing:
            raise LocalProtocolError(f"stream {stream_id} is not publishing")
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
        self._check_usable()
        if stream_id is None:
            ids = list(self._publishing) + list(self._playing)
            if len(ids) != 1:
                raise LocalProtocolError("give the stream id: not exactly one stream is open")
            stream_id = ids[0]
        name = self._publishing.pop(stream_id, None)
        if name is not None:
            self._send(msg.command("FCUnpublish", self._next_tid(), None, name))
        self._playing.pop(stream_id, None)
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
                if name == "_result":
                    self.state = ClientState.CONNECTED
                    events.append(Connected(cmd.command_object, info))
                else:
                    self.state = ClientState.REJECTED
                    events.append(ConnectRejected(info))
                return
            if name == "_error" or not cmd.arguments or not isinstance(cmd.arguments[0], (int, float)):
                events.append(StatusReceived(0, "error", "NetConnection.Call.Failed", "createStream failed", info))
                return
            sid = int(cmd.arguments[0])
            events.append(StreamCreated(sid))
            if purpose == "publish":
                self._send(msg.command("publish", 0, None, sname, extra, stream_id=sid, chunk_stream_id=CSID_STATUS))
                self._publishing[sid] = sname
            else:
                self._send(msg.command("play", 0, None, sname, float(extra), stream_id=sid, chunk_stream_id=CSID_STATUS))
                self._send(msg.user_control(msg.SetBufferLength(sid, self._buffer_length)))
                self._playing[sid] = sname
        elif name == "onStatus":
            info = cmd.arguments[0] if cmd.arguments else None
            if not isinstance(info, dict):
                info = {}
            code = str(info.get("code", ""))
            ev = StatusReceived(stream_id, str(info.get("level", "")), code, str(info.get("description", "")), info)
            events.append(ev)
            if code == "NetStream.Publish.Start" and stream_id in self._publishing:
                events.append(PublishStarted(stream_id))
            elif code == "NetStream.Play.Start" and stream_id in self._playing:
                events.append(PlayStarted(stream_id))
            elif ev.level == "error":
                self._publishing.pop(stream_id, None)
                self._playing.pop(stream_id, None)
        elif name in ("onBWDone", "onFCPublish", "onFCUnpublish", "_onbwcheck", "_onbwdone"):
            pass
        else:
            events.append(CommandReceived(stream_id, cmd))
