"""RTSP (RFC 2326, and RFC 7826 where cheap): messages, typed headers, authentication.

- :mod:`mediaproto.rtsp.message`: requests, responses, ``$``-interleaved frames and their Sans-IO
  parser.
- :mod:`mediaproto.rtsp.headers`: Transport, Session, Range, RTP-Info, Public, control URLs.
- :mod:`mediaproto.rtsp.auth`: Basic and Digest for clients and servers.
"""

from .auth import DigestAuthenticator
from .headers import Range, RtpInfo, SessionHeader, TransportSpec, parse_transport, resolve_control
from .message import Headers, InterleavedFrame, Limits, MessageParser, Request, Response

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
]
