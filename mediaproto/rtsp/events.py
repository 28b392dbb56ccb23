"""The events RTSP connections return from ``receive_data``, ``receive_datagram`` and ``handle_timer``.

Every event derives from :class:`mediaproto.endpoint.Event`; :class:`FrameReceived` and
:class:`ConnectionClosed` are the package-wide events of :mod:`mediaproto.endpoint`, re-exported
here (an RTSP frame's track is ``event.frame.track_id``; its other fields are 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import endpoint
from ..endpoint import ConnectionClosed, FrameReceived
from ..media import Track
from ..sdp import SessionDescription
from .headers import Range, RtpInfo, TransportSpec
from .message import Request, Response

__all__ = [
    "RtspEvent",
    "DescribeRequested",
    "AnnounceRequested",
    "SetupCompleted",
    "PlayRequested",
    "RecordRequested",
    "PauseRequested",
    "SessionEnded",
    "FrameReceived",
    "RtcpReceived",
    "DescribeCompleted",
    "PlayStarted",
    "RecordStarted",
    "RequestFailed",
    "Redirected",
    "ConnectionClosed",
]


@dataclass(frozen=True, slots=True)
class RtspEvent(endpoint.Event):
    """Base class of the RTSP-specific events (a :class:`mediaproto.endpoint.Event`)."""


# -- server side --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DescribeRequested(RtspEvent):
    """A client asks what ``path`` carries: answer with ``accept_describe`` or ``reject``."""

    request: Request
    path: str


@dataclass(frozen=True, slots=True)
class AnnounceRequested(RtspEvent):
    """A client wants to publish ``tracks`` at ``path``: ``accept_announce`` or ``reject``."""

    request: Request
    path: str
    session_description: SessionDescription
    tracks: tuple[Track, ...]


@dataclass(frozen=True, slots=True)
class SetupCompleted(RtspEvent):
    """A track was set up (answered automatically); ``transport`` is what was agreed."""

    path: str
    track_id: int
    transport: TransportSpec


@dataclass(frozen=True, slots=True)
class PlayRequested(RtspEvent):
    """A client asks to play ``path`` from ``range``: ``accept_play`` or ``reject``."""

    request: Request
    path: str
    range: Range | None


@dataclass(frozen=True, slots=True)
class RecordRequested(RtspEvent):
    """A publisher asks to start recording at ``path``: ``accept_record`` or ``reject``."""

    request: Request
    path: str


@dataclass(frozen=True, slots=True)
class PauseRequested(RtspEvent):
    """A client paused (answered automatically): stop calling ``send_frame`` for it."""

    path: str


@dataclass(frozen=True, slots=True)
class SessionEnded(RtspEvent):
    """The RTSP session ended: ``reason`` is ``"teardown"``, ``"timeout"`` or ``"closed"`` (the
    connection closed)."""

    path: str
    reason: str


# -- both sides ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RtcpReceived(RtspEvent):
    """RTCP packets arrived for ``track_id`` (parsed, see :mod:`mediaproto.rtp.rtcp`)."""

    track_id: int
    packets: tuple[object, ...]


# -- client side --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DescribeCompleted(RtspEvent):
    """The server described the stream; the client goes on to SETUP its tracks."""

    session_description: SessionDescription
    tracks: tuple[Track, ...]


@dataclass(frozen=True, slots=True)
class PlayStarted(RtspEvent):
    """PLAY succeeded; frames follow as :class:`FrameReceived`."""

    rtp_info: tuple[RtpInfo, ...]
    range: Range | None


@dataclass(frozen=True, slots=True)
class RecordStarted(RtspEvent):
    """RECORD succeeded: call ``send_frame`` for each frame to publish."""


@dataclass(frozen=True, slots=True)
class RequestFailed(RtspEvent):
    """A request got an error response the client cannot recover from."""

    method: str
    response: Response


@dataclass(frozen=True, slots=True)
class Redirected(RtspEvent):
    """The server redirected to another host: open a new connection to ``url``."""

    url: str

