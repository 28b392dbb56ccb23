"""The state machines of RTSP connections: each one an enum of states and one transition table.

Theory (as h11's ``_state.py``): a server connection holds at most one RTSP session, whose state is
RFC 2326 appendix A.2's (``INIT``, ``READY``, ``PLAYING``, ``RECORDING``). What moves it is the
*application's answer* to a request, not the request itself: a PLAY request is checked against the
table (:meth:`~mediaproto.endpoint.StateMachine.allows`; a refusal is a 455 on the wire), shown to
the application as :class:`~mediaproto.rtsp.events.PlayRequested`, and ``accept_play`` takes the
transition (:meth:`~mediaproto.endpoint.StateMachine.fire`, which raises
:class:`~mediaproto.errors.LocalProtocolError` when the table has none). Requests the server
answers by itself (SETUP, PAUSE, TEARDOWN) take their transition when answered. Besides its
session state the server holds at most one *pending request* (DESCRIBE, ANNOUNCE, PLAY or RECORD
waiting for ``accept_*`` or ``reject``): an answer is only accepted for the request that is
pending, and the messages behind it wait until it is answered.

Server session::

    INIT --SETUP--> READY --SETUP--> READY
    READY --accept_play--> PLAYING --accept_play--> PLAYING
    READY --accept_record--> RECORDING
    PLAYING --PAUSE--> READY --PAUSE--> READY      RECORDING --PAUSE--> READY (GStreamer's end)
    PLAYING --send_frame--> PLAYING
    any --TEARDOWN / timeout / connection closed--> INIT

A client connection walks the requests it sends by itself, from ``start()`` to PLAY or RECORD::

    INIT --start()--> OPTIONS --> DESCRIBE (play) --> SETUP (each track) --> READY --> PLAYING
                      OPTIONS --> ANNOUNCE (record) --> SETUP (each track) --> READY --> RECORDING
    READY, PAUSED --play()--> (PLAY sent)    PLAYING --pause()--> (PAUSE sent) --> PAUSED
    RECORDING --send_frame--> RECORDING
    OPTIONS, DESCRIBE --3xx to another host--> REDIRECTED
    any waiting for an answer --error answer--> FAILED
    any but CLOSED, TEARDOWN --teardown()--> TEARDOWN
    any --connection closed--> CLOSED

Transitions driven by the server's answers are taken only when the table has them (a late answer
after ``teardown()`` is ignored); the application's calls raise when it does not.
"""

from __future__ import annotations

import enum

__all__ = [
    "ServerState", "ServerInput", "SERVER_TRANSITIONS",
    "ClientState", "ClientInput", "CLIENT_TRANSITIONS",
]


class ServerState(enum.Enum):
    """The RTSP session state of RFC 2326 appendix A.2."""

    INIT = "init"
    READY = "ready"
    PLAYING = "playing"
    RECORDING = "recording"


class ServerInput(enum.Enum):
    """What moves a server session."""

    SETUP = "setup"  # a SETUP answered 200
    PLAY = "play"  # accept_play
    RECORD = "record"  # accept_record
    PAUSE = "pause"  # a PAUSE answered 200
    SEND_MEDIA = "send_media"  # send_frame, send_packetized
    END = "end"  # TEARDOWN, timeout, connection closed


_SS, _SI = ServerState, ServerInput

SERVER_TRANSITIONS: dict[ServerState, dict[ServerInput, ServerState]] = {
    _SS.INIT: {_SI.SETUP: _SS.READY, _SI.END: _SS.INIT},
    _SS.READY: {_SI.SETUP: _SS.READY, _SI.PLAY: _SS.PLAYING, _SI.RECORD: _SS.RECORDING, _SI.PAUSE: _SS.READY,
                _SI.END: _SS.INIT},
    _SS.PLAYING: {_SI.PLAY: _SS.PLAYING, _SI.PAUSE: _SS.READY, _SI.SEND_MEDIA: _SS.PLAYING, _SI.END: _SS.INIT},
    _SS.RECORDING: {_SI.PAUSE: _SS.READY, _SI.END: _SS.INIT},  # RFC 2326 A.2: Recording --PAUSE--> Ready
}


class ClientState(enum.Enum):
    """Where an RTSP client connection is."""

    INIT = "init"
    OPTIONS = "options"
    DESCRIBE = "describe"
    ANNOUNCE = "announce"
    SETUP = "setup"
    READY = "ready"
    PLAYING = "playing"
    PAUSED = "paused"
    RECORDING = "recording"
    TEARDOWN = "teardown"
    FAILED = "failed"
    REDIRECTED = "redirected"
    CLOSED = "closed"


class ClientInput(enum.Enum):
    """What moves a client connection."""

    START = "start"  # start(): OPTIONS sent
    SEND_DESCRIBE = "send_describe"  # OPTIONS answered, playing
    SEND_ANNOUNCE = "send_announce"  # OPTIONS answered, recording
    SET_UP_TRACKS = "set_up_tracks"  # DESCRIBE or ANNOUNCE answered: SETUP each track
    ALL_SET_UP = "all_set_up"  # the last SETUP answered
    SEND_PLAY = "send_play"  # play()
    PLAY_STARTED = "play_started"  # PLAY answered 200
    SEND_PAUSE = "send_pause"  # pause()
    PAUSED = "paused"  # PAUSE answered 200
    RECORD_STARTED = "record_started"  # RECORD answered 200
    SEND_MEDIA = "send_media"  # send_frame, send_packetized (publishing)
    REDIRECT = "redirect"  # a 3xx to another host
    FAIL = "fail"  # an error answer the client cannot recover from
    TEARDOWN = "teardown"  # teardown()
    CLOSE = "close"  # the connection closed


_C, _CI = ClientState, ClientInput
_FAIL_OR_TEARDOWN = {_CI.FAIL: _C.FAILED, _CI.TEARDOWN: _C.TEARDOWN, _CI.CLOSE: _C.CLOSED}

CLIENT_TRANSITIONS: dict[ClientState, dict[ClientInput, ClientState]] = {
    _C.INIT: {_CI.START: _C.OPTIONS, _CI.TEARDOWN: _C.TEARDOWN, _CI.CLOSE: _C.CLOSED},
    _C.OPTIONS: {_CI.SEND_DESCRIBE: _C.DESCRIBE, _CI.SEND_ANNOUNCE: _C.ANNOUNCE, _CI.REDIRECT: _C.REDIRECTED,
                 **_FAIL_OR_TEARDOWN},
    _C.DESCRIBE: {_CI.SET_UP_TRACKS: _C.SETUP, _CI.REDIRECT: _C.REDIRECTED, **_FAIL_OR_TEARDOWN},
    _C.ANNOUNCE: {_CI.SET_UP_TRACKS: _C.SETUP, **_FAIL_OR_TEARDOWN},
    _C.SETUP: {_CI.ALL_SET_UP: _C.READY, **_FAIL_OR_TEARDOWN},
    _C.READY: {_CI.SEND_PLAY: _C.READY, _CI.PLAY_STARTED: _C.PLAYING, _CI.RECORD_STARTED: _C.RECORDING,
               **_FAIL_OR_TEARDOWN},
    _C.PLAYING: {_CI.SEND_PAUSE: _C.PLAYING, _CI.PAUSED: _C.PAUSED, _CI.PLAY_STARTED: _C.PLAYING,
                 **_FAIL_OR_TEARDOWN},
    _C.PAUSED: {_CI.SEND_PLAY: _C.PAUSED, _CI.PLAY_STARTED: _C.PLAYING, _CI.PAUSED: _C.PAUSED,
                **_FAIL_OR_TEARDOWN},
    _C.RECORDING: {_CI.SEND_MEDIA: _C.RECORDING, **_FAIL_OR_TEARDOWN},
    _C.TEARDOWN: {_CI.CLOSE: _C.CLOSED},
    _C.FAILED: {_CI.TEARDOWN: _C.TEARDOWN, _CI.CLOSE: _C.CLOSED},
    _C.REDIRECTED: {_CI.TEARDOWN: _C.TEARDOWN, _CI.CLOSE: _C.CLOSED},
    _C.CLOSED: {},
}
