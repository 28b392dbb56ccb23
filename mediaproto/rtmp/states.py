"""The state machines of RTMP sessions: each one an enum of states and one transition table.

Theory (as h11's ``_state.py``): an RTMP session is two kinds of machine. The *connection* machine
follows the handshake and the ``connect`` exchange; once it is ``CONNECTED``, every message stream
the peer (server side) or we (client side) created gets a *stream* machine of its own, since one
connection can publish on one stream and play on another.

Inputs come from two places: what the peer sent (``connect``, ``publish``, ``play``, an
``onStatus``) and what the local application calls (``accept_*``, ``reject_*``, ``publish()``,
``send_frame``). A transition that is not in the table is refused: the application's calls raise
:class:`~mediaproto.errors.LocalProtocolError` (:meth:`~mediaproto.endpoint.StateMachine.fire`),
and the peer's requests get an error answer on the wire (the session first asks
:meth:`~mediaproto.endpoint.StateMachine.allows`).

Server connection::

    HANDSHAKE --handshake done--> WAIT_CONNECT --connect--> CONNECT_REQUESTED
    CONNECT_REQUESTED --accept_connect--> CONNECTED
    CONNECT_REQUESTED --reject_connect--> REJECTED

Client connection::

    HANDSHAKE --handshake done (connect sent)--> CONNECTING
    CONNECTING --_result--> CONNECTED        CONNECTING --_error--> REJECTED
    CONNECTED --publish() / play()--> CONNECTED

Server stream (created by the peer's ``createStream``)::

    CREATED --publish--> PUBLISH_REQUESTED --accept_publish--> PUBLISHING
                         PUBLISH_REQUESTED --reject_publish--> CREATED
    CREATED --play--> PLAY_REQUESTED --accept_play--> PLAYING --send_*--> PLAYING
                      PLAY_REQUESTED --reject_play--> CREATED
    any --FCUnpublish / closeStream / deleteStream--> CREATED

Client stream (created by the answer to our ``createStream``)::

    CREATED --publish sent--> PUBLISH_REQUESTED --Publish.Start--> PUBLISHING --send_*--> PUBLISHING
    CREATED --play sent--> PLAY_REQUESTED --Play.Start--> PLAYING
    any --error onStatus--> CREATED          any --close_stream()--> (deleted)
"""

from __future__ import annotations

import enum

__all__ = [
    "ServerState", "ServerInput", "SERVER_TRANSITIONS",
    "ClientState", "ClientInput", "CLIENT_TRANSITIONS",
    "StreamState", "StreamInput", "SERVER_STREAM_TRANSITIONS", "CLIENT_STREAM_TRANSITIONS",
]


class ServerState(enum.Enum):
    """Where a server connection is."""

    HANDSHAKE = "handshake"
    WAIT_CONNECT = "wait_connect"
    CONNECT_REQUESTED = "connect_requested"
    CONNECTED = "connected"
    REJECTED = "rejected"


class ServerInput(enum.Enum):
    """What moves a server connection."""

    HANDSHAKE_DONE = "handshake_done"
    CONNECT = "connect"  # the peer's connect command
    ACCEPT_CONNECT = "accept_connect"
    REJECT_CONNECT = "reject_connect"


SERVER_TRANSITIONS: dict[ServerState, dict[ServerInput, ServerState]] = {
    ServerState.HANDSHAKE: {ServerInput.HANDSHAKE_DONE: ServerState.WAIT_CONNECT},
    ServerState.WAIT_CONNECT: {ServerInput.CONNECT: ServerState.CONNECT_REQUESTED},
    ServerState.CONNECT_REQUESTED: {ServerInput.ACCEPT_CONNECT: ServerState.CONNECTED,
                                    ServerInput.REJECT_CONNECT: ServerState.REJECTED},
    ServerState.CONNECTED: {},
    ServerState.REJECTED: {},
}


class ClientState(enum.Enum):
    """Where a client connection is."""

    HANDSHAKE = "handshake"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    REJECTED = "rejected"


class ClientInput(enum.Enum):
    """What moves a client connection."""

    HANDSHAKE_DONE = "handshake_done"
    CONNECT_ACCEPTED = "connect_accepted"  # _result to connect
    CONNECT_REJECTED = "connect_rejected"  # _error to connect
    OPEN_STREAM = "open_stream"  # publish() or play(): createStream


CLIENT_TRANSITIONS: dict[ClientState, dict[ClientInput, ClientState]] = {
    ClientState.HANDSHAKE: {ClientInput.HANDSHAKE_DONE: ClientState.CONNECTING},
    ClientState.CONNECTING: {ClientInput.CONNECT_ACCEPTED: ClientState.CONNECTED,
                             ClientInput.CONNECT_REJECTED: ClientState.REJECTED},
    ClientState.CONNECTED: {ClientInput.OPEN_STREAM: ClientState.CONNECTED},
    ClientState.REJECTED: {},
}


class StreamState(enum.Enum):
    """What a message stream of a connection is doing (the same states on both sides)."""

    CREATED = "created"
    PUBLISH_REQUESTED = "publish_requested"
    PUBLISHING = "publishing"
    PLAY_REQUESTED = "play_requested"
    PLAYING = "playing"


class StreamInput(enum.Enum):
    """What moves a message stream."""

    PUBLISH = "publish"  # server: the peer's publish; client: we sent publish
    PLAY = "play"  # server: the peer's play; client: we sent play
    ACCEPT_PUBLISH = "accept_publish"
    REJECT_PUBLISH = "reject_publish"
    ACCEPT_PLAY = "accept_play"
    REJECT_PLAY = "reject_play"
    STARTED = "started"  # client: NetStream.Publish.Start / NetStream.Play.Start
    FAILED = "failed"  # client: an error onStatus
    SEND_MEDIA = "send_media"  # send_tracks, send_frame, send_metadata, end_play
    CLOSE = "close"


_S, _I = StreamState, StreamInput

SERVER_STREAM_TRANSITIONS: dict[StreamState, dict[StreamInput, StreamState]] = {
    _S.CREATED: {_I.PUBLISH: _S.PUBLISH_REQUESTED, _I.PLAY: _S.PLAY_REQUESTED, _I.CLOSE: _S.CREATED},
    _S.PUBLISH_REQUESTED: {_I.ACCEPT_PUBLISH: _S.PUBLISHING, _I.REJECT_PUBLISH: _S.CREATED, _I.CLOSE: _S.CREATED},
    _S.PUBLISHING: {_I.CLOSE: _S.CREATED},
    _S.PLAY_REQUESTED: {_I.ACCEPT_PLAY: _S.PLAYING, _I.REJECT_PLAY: _S.CREATED, _I.CLOSE: _S.CREATED},
    _S.PLAYING: {_I.SEND_MEDIA: _S.PLAYING, _I.CLOSE: _S.CREATED},
}

CLIENT_STREAM_TRANSITIONS: dict[StreamState, dict[StreamInput, StreamState]] = {
    _S.CREATED: {_I.PUBLISH: _S.PUBLISH_REQUESTED, _I.PLAY: _S.PLAY_REQUESTED, _I.CLOSE: _S.CREATED},
    _S.PUBLISH_REQUESTED: {_I.STARTED: _S.PUBLISHING, _I.FAILED: _S.CREATED, _I.CLOSE: _S.CREATED},
    _S.PUBLISHING: {_I.SEND_MEDIA: _S.PUBLISHING, _I.FAILED: _S.CREATED, _I.CLOSE: _S.CREATED},
    _S.PLAY_REQUESTED: {_I.STARTED: _S.PLAYING, _I.FAILED: _S.CREATED, _I.CLOSE: _S.CREATED},
    _S.PLAYING: {_I.FAILED: _S.CREATED, _I.CLOSE: _S.CREATED},
}
