"""mediaproto: Sans-IO streaming-media protocols in pure Python.

RTP/RTCP, RTSP with SDP, RTMP with AMF and FLV, HLS with MPEG-TS: bytes in, events and bytes out,
and time passed in. See https://mediaproto.readthedocs.io for the guides.
"""

from .errors import LimitExceeded, LocalProtocolError, MediaProtoError, ParseError, ProtocolError
from .media import Codec, Frame, MediaKind, Track

__version__ = "0.1.0"

__all__ = [
    "MediaProtoError",
    "ProtocolError",
    "ParseError",
    "LimitExceeded",
    "LocalProtocolError",
    "Codec",
    "MediaKind",
    "Track",
    "Frame",
    "__version__",
]
