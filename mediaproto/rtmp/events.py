"""The events :class:`~mediaproto.rtmp.ServerConnection` and :class:`~mediaproto.rtmp.ClientConnection` return.

Every event is a frozen value. Requests (``ConnectRequested``, ``PublishRequested``,
``PlayRequested``) wait for the application's answer: pass the event back to the connection's
``accept_*`` or ``reject_*`` method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import endpoint
from ..endpoint import ConnectionClosed, FrameReceived
from ..media import Track
from .message import Command

__all__ = [
    "Event", "ConnectRequested", "PublishRequested", "PlayRequested", "StreamClosed", "TrackReceived",
    "FrameReceived", "MetadataReceived", "CommandReceived", "ConnectionClosed", "Connected",
    "ConnectRejected", "StreamCreated", "StatusReceived", "PublishStarted", "PlayStarted",
    "PingAnswered",
]


@dataclass(frozen=True, slots=True)
class Event(endpoint.Event):
    """Base class of every RTMP session event (a :class:`mediaproto.endpoint.Event`).

    :class:`~mediaproto.endpoint.FrameReceived` and :class:`~mediaproto.endpoint.ConnectionClosed`
    are the package-wide events (re-exported here): they derive from the package's base directly.
    """


@dataclass(frozen=True, slots=True)
class ConnectRequested(Event):
    """A client sent ``connect``; answer with ``accept_connect`` or ``reject_connect``.

    :param app: the application name (``live`` in ``rtmp://host/live/key``).
    :param tc_url: the URL the client connected to (``tcUrl``), or ``""``.
    :param object_encoding: 0 for AMF0, 3 for AMF3 (what the client asked for).
    :param command_object: every property of the connect command object.
    :param transaction_id: the connect command's transaction id.
    """

    app: str
    tc_url: str
    object_encoding: float
    command_object: dict[str, Any] = field(hash=False, compare=False)
    transaction_id: float = 1.0


@dataclass(frozen=True, slots=True)
class PublishRequested(Event):
    """A client sent ``publish``; answer with ``accept_publish`` or ``reject_publish``.

    :param stream_id: the message stream the client publishes on.
    :param publishing_name: the stream key (``key`` in ``rtmp://host/live/key``, query included).
    :param publishing_type: ``live``, ``record`` or ``append``.
    :param app: the application of the connection.
    :param transaction_id: the publish command's transaction id.
    """

    stream_id: int
    publishing_name: str
    publishing_type: str
    app: str
    transaction_id: float = 0.0


@dataclass(frozen=True, slots=True)
class PlayRequested(Event):
    """A client sent ``play``; answer with ``accept_play`` or ``reject_play``.

    :param stream_id: the message stream the client plays on.
    :param stream_name: the stream key asked for.
    :param start: -2 live or recorded, -1 live only, >= 0 recorded from that second.
    :param duration: -1 to the end.
    :param reset: whether to flush previous playlists.
    :param app: the application of the connection.
    """

    stream_id: int
    stream_name: str
    start: float
    duration: float
    reset: bool
    app: str


@dataclass(frozen=True, slots=True)
class StreamClosed(Event):
    """A publisher or player stopped (FCUnpublish, closeStream or deleteStream)."""

    stream_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class TrackReceived(Event):
    """A track was learned (or changed) from a sequence header of a published or played stream."""

    stream_id: int
    track: Track


@dataclass(frozen=True, slots=True)
class MetadataReceived(Event):
    """An ``onMetaData`` object (unwrapped from ``@setDataFrame``); do not trust its contents."""

    stream_id: int
    metadata: dict[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class CommandReceived(Event):
    """A command (or data message) the session does not handle itself; answer it if it needs it."""

    stream_id: int
    command: Command


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """Client: the server accepted ``connect``; ``properties`` and ``information`` from its ``_result``."""

    properties: Any = field(hash=False)
    information: Any = field(hash=False)


@dataclass(frozen=True, slots=True)
class ConnectRejected(Event):
    """Client: the server answered ``connect`` with ``_error``."""

    information: Any = field(hash=False)


@dataclass(frozen=True, slots=True)
class StreamCreated(Event):
    """Client: ``createStream`` returned a message stream id."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StatusReceived(Event):
    """An ``onStatus`` from the peer.

    :param stream_id: the message stream it arrived on.
    :param level: ``status``, ``warning`` or ``error``.
    :param code: e.g. ``NetStream.Publish.Start``.
    :param description: the human text, or ``""``.
    :param information: the whole information object.
    """

    stream_id: int
    level: str
    code: str
    description: str
    information: Any = field(hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class PublishStarted(Event):
    """Client: the server answered ``publish`` with ``NetStream.Publish.Start``: send frames now."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class PlayStarted(Event):
    """Client: the server answered ``play`` with ``NetStream.Play.Start``."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class PingAnswered(Event):
    """The peer answered our ping request (timestamp in ms as we sent it)."""

    timestamp: int
