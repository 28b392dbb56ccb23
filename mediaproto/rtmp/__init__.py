"""RTMP: handshake, chunk stream, messages and sessions, with AMF0/AMF3 and FLV.

The AMF codecs are modules of their own (both have ``dumps``/``loads``): use
:mod:`mediaproto.rtmp.amf0` and :mod:`mediaproto.rtmp.amf3`.
"""

from . import amf0, amf3
from .amftypes import UNDEFINED, UNSUPPORTED, EcmaArray, TypedObject, Xml, XmlDocument
from .limits import Limits

__all__ = [
    "amf0",
    "amf3",
    "Limits",
    "UNDEFINED",
    "UNSUPPORTED",
    "EcmaArray",
    "TypedObject",
    "Xml",
    "XmlDocument",
]

# -- handshake, chunk stream, messages and sessions (the Sans-IO face: see mediaproto.rtmp.connection)
from . import message
from .chunk import ChunkDecoder, ChunkEncoder, Message, encode_message
from .client import ClientConnection
from .configuration import ClientConfiguration, ServerConfiguration
from .connection import frame_chunks
from .events import (
    CommandReceived,
    Connected,
    ConnectionClosed,
    ConnectRejected,
    ConnectRequested,
    Event,
    FrameReceived,
    MetadataReceived,
    PingAnswered,
    PlayRequested,
    PlayStarted,
    PublishRequested,
    PublishStarted,
    StatusReceived,
    StreamClosed,
    StreamCreated,
    TrackReceived,
)
from .handshake import ClientHandshake, ServerHandshake
from .server import ServerConnection
from .states import ClientState, ServerState, StreamState

__all__ += [
    "message",
    "ChunkDecoder",
    "ChunkEncoder",
    "Message",
    "encode_message",
    "ClientConnection",
    "ClientConfiguration",
    "ClientState",
    "frame_chunks",
    "CommandReceived",
    "Connected",
    "ConnectionClosed",
    "ConnectRejected",
    "ConnectRequested",
    "Event",
    "FrameReceived",
    "MetadataReceived",
    "PingAnswered",
    "PlayRequested",
    "PlayStarted",
    "PublishRequested",
    "PublishStarted",
    "StatusReceived",
    "StreamClosed",
    "StreamCreated",
    "TrackReceived",
    "ClientHandshake",
    "ServerHandshake",
    "ServerConnection",
    "ServerConfiguration",
    "ServerState",
    "StreamState",
]

# -- FLV: files, tag bodies, and the tag <-> Frame conversion
from . import flvmedia, flvscript
from .flv import (
    TAG_AUDIO,
    TAG_SCRIPT,
    TAG_VIDEO,
    FlvHeader,
    FlvReader,
    FlvTag,
    FlvWriter,
    MediaTagDecoder,
    MediaTagEncoder,
    read_flv,
)

__all__ += [
    "flvmedia",
    "flvscript",
    "TAG_AUDIO",
    "TAG_SCRIPT",
    "TAG_VIDEO",
    "FlvHeader",
    "FlvReader",
    "FlvTag",
    "FlvWriter",
    "MediaTagDecoder",
    "MediaTagEncoder",
    "read_flv",
]
