"""RTSP (RFC 2326, and RFC 7826 where cheap): messages, typed headers, authentication.

- :mod:`mediaproto.rtsp.message`: requests, responses, ``$``-interleaved frames and their Sans-IO
  parser.
- :mod:`mediaproto.rtsp.headers`: Transport, Session, Range, RTP-Info, Public, control URLs.
- :mod:`mediaproto.rtsp.auth`: Basic and Digest for clients and servers.
- :mod:`mediaproto.rtsp.server` and :mod:`mediaproto.rtsp.client`: the Sans-IO session state
  machines, with :mod:`mediaproto.rtsp.events`; :mod:`mediaproto.rtsp.connection` and
  :mod:`mediaproto.rtsp.streams` hold what they share (RTP over the session, tracks and formats);
  :mod:`mediaproto.rtsp.configuration` and :mod:`mediaproto.rtsp.states` their configuration
  dataclasses and state tables.
"""

from .auth import DigestAuthenticator
from .client import ClientConnection
from .configuration import ClientConfiguration, ServerConfiguration
from .connection import Datagram
from .events import (
    AnnounceRequested,
    ConnectionClosed,
    DescribeCompleted,
    DescribeRequested,
    FrameReceived,
    PauseRequested,
    PlayRequested,
    PlayStarted,
    RecordRequested,
    RecordStarted,
    Redirected,
    RequestFailed,
    RtcpReceived,
    RtspEvent,
    SessionEnded,
    SetupCompleted,
)
from .headers import Range, RtpInfo, SessionHeader, TransportSpec, parse_transport, resolve_control
from .message import Headers, InterleavedFrame, Limits, MessageParser, Request, Response
from .server import ServerConnection
from .states import ClientState, ServerState

__all__ = [
    "Headers",
    "Request",
    "Response",
    "InterleavedFrame",
    "Limits",
    "MessageParser",
    "TransportSpec",
    "parse_transport",
    "SessionHeader",
    "Range",
    "RtpInfo",
    "resolve_control",
    "DigestAuthenticator",
    "ServerConnection",
    "ServerState",
    "ServerConfiguration",
    "ClientConnection",
    "ClientConfiguration",
    "ClientState",
    "Datagram",
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
