"""RTMP message types: protocol control, user control events, commands, data, shared objects, aggregates.

Every function here works on :class:`~mediaproto.rtmp.chunk.Message` values, so it is usable with
the chunk codec alone. Builders return messages on the conventional chunk streams (2 for protocol
control and user control, 3 for commands on stream 0); parsers raise only
:class:`~mediaproto.errors.ParseError` / :class:`~mediaproto.errors.LimitExceeded` on bad input.

AMF3 command and data messages (types 17 and 15) are AMF0 after one leading byte (QUIRKS.md: that
is what Flash sends); :func:`parse_command` and :func:`parse_data` skip it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Union

from ..errors import LocalProtocolError, ParseError
from . import amf0
from .chunk import Message
from .limits import Limits

__all__ = [
    "SET_CHUNK_SIZE", "ABORT", "ACKNOWLEDGEMENT", "USER_CONTROL", "WINDOW_ACK_SIZE", "SET_PEER_BANDWIDTH",
    "AUDIO", "VIDEO", "DATA_AMF3", "SHARED_OBJECT_AMF3", "COMMAND_AMF3", "DATA_AMF0", "SHARED_OBJECT_AMF0",
    "COMMAND_AMF0", "AGGREGATE", "CSID_CONTROL", "CSID_COMMAND", "stream_id_arg",
    "LIMIT_HARD", "LIMIT_SOFT", "LIMIT_DYNAMIC",
    "set_chunk_size", "abort", "acknowledgement", "window_ack_size", "set_peer_bandwidth", "read_u32",
    "StreamBegin", "StreamEOF", "StreamDry", "SetBufferLength", "StreamIsRecorded", "PingRequest",
    "PingResponse", "UnknownUserControl", "UserControlEvent", "parse_user_control", "user_control",
    "Command", "parse_command", "command", "parse_data", "data_message",
    "SharedObjectEvent", "SharedObjectMessage", "parse_shared_object", "split_aggregate",
]

# -- message type ids (RTMP spec 5.4, 7.1) ---------------------------------------------------------
SET_CHUNK_SIZE = 1
ABORT = 2
ACKNOWLEDGEMENT = 3
USER_CONTROL = 4
WINDOW_ACK_SIZE = 5
SET_PEER_BANDWIDTH = 6
AUDIO = 8
VIDEO = 9
DATA_AMF3 = 15
SHARED_OBJECT_AMF3 = 16
COMMAND_AMF3 = 17
DATA_AMF0 = 18
SHARED_OBJECT_AMF0 = 19
COMMAND_AMF0 = 20
AGGREGATE = 22

#: Chunk stream of protocol control and user control messages.
CSID_CONTROL = 2
#: The usual chunk stream of commands.
CSID_COMMAND = 3

#: Set Peer Bandwidth limit types.
LIMIT_HARD = 0
LIMIT_SOFT = 1
LIMIT_DYNAMIC = 2

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_EVENT = struct.Struct(">HI")


def read_u32(message: Message) -> int:
    """The 4-byte big-endian value that starts Set Chunk Size, Abort, Acknowledgement and Window
    Acknowledgement Size messages (and Set Peer Bandwidth)."""
    if len(message.payload) < 4:
        raise ParseError(f"message type {message.type_id} shorter than 4 bytes", offset=len(message.payload))
    return int(_U32.unpack_from(message.payload)[0])


def _control(type_id: int, payload: bytes) -> Message:
    return Message(CSID_CONTROL, type_id, 0, 0, payload)


def set_chunk_size(chunk_size: int) -> Message:
    """A Set Chunk Size message (1..2**31-1)."""
    if not 1 <= chunk_size <= 0x7FFFFFFF:
        raise LocalProtocolError(f"chunk size must be 1..2**31-1, got {chunk_size}")
    return _control(SET_CHUNK_SIZE, _U32.pack(chunk_size))


def abort(chunk_stream_id: int) -> Message:
    """An Abort message discarding the partial message of ``chunk_stream_id``."""
    return _control(ABORT, _U32.pack(chunk_stream_id))


def acknowledgement(sequence_number: int) -> Message:
    """An Acknowledgement of ``sequence_number`` bytes received (mod 2**32)."""
    return _control(ACKNOWLEDGEMENT, _U32.pack(sequence_number & 0xFFFFFFFF))


def window_ack_size(window_size: int) -> Message:
    """A Window Acknowledgement Size message."""
    return _control(WINDOW_ACK_SIZE, _U32.pack(window_size))


def set_peer_bandwidth(window_size: int, limit_type: int = LIMIT_DYNAMIC) -> Message:
    """A Set Peer Bandwidth message."""
    return _control(SET_PEER_BANDWIDTH, _U32.pack(window_size) + bytes((limit_type,)))


# -- user control events (RTMP spec 7.1.7) ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StreamBegin:
    """Event 0: the stream is ready for playback."""
    stream_id: int
    event_type = 0


@dataclass(frozen=True, slots=True)
class StreamEOF:
    """Event 1: the playback of the stream is over."""
    stream_id: int
    event_type = 1


@dataclass(frozen=True, slots=True)
class StreamDry:
    """Event 2: no more data on the stream for now."""
    stream_id: int
    event_type = 2


@dataclass(frozen=True, slots=True)
class SetBufferLength:
    """Event 3: the client's buffer length in milliseconds for a stream."""
    stream_id: int
    buffer_length: int
    event_type = 3


@dataclass(frozen=True, slots=True)
class StreamIsRecorded:
    """Event 4: the stream is a recorded one."""
    stream_id: int
    event_type = 4


@dataclass(frozen=True, slots=True)
class PingRequest:
    """Event 6: the server checks the client is alive; answer with :class:`PingResponse`."""
    timestamp: int
    event_type = 6


@dataclass(frozen=True, slots=True)
class PingResponse:
    """Event 7: the answer to a :class:`PingRequest`, echoing its timestamp."""
    timestamp: int
    event_type = 7


@dataclass(frozen=True, slots=True)
class UnknownUserControl:
    """An event type this library does not know (e.g. 31/32 buffer empty/ready from some servers)."""
    event_type: int
    event_data: bytes


UserControlEvent = Union[StreamBegin, StreamEOF, StreamDry, SetBufferLength, StreamIsRecorded, PingRequest,
                         PingResponse, UnknownUserControl]

def parse_user_control(message: Message) -> UserControlEvent:
    """Parse a User Control message (type 4)."""
    p = message.payload
    if len(p) < 2:
        raise ParseError("user control message shorter than 2 bytes", offset=len(p))
    event_type = _U16.unpack_from(p)[0]
    if event_type in (0, 1, 2, 3, 4, 6, 7):
        need = 10 if event_type == 3 else 6
        if len(p) < need:
            raise ParseError(f"user control event {event_type} shorter than {need} bytes", offset=len(p))
        value = int(_U32.unpack_from(p, 2)[0])
        if event_type == 3:
            return SetBufferLength(value, int(_U32.unpack_from(p, 6)[0]))
        if event_type == 6:
            return PingRequest(value)
        if event_type == 7:
            return PingResponse(value)
        if event_type == 0:
            return StreamBegin(value)
        if event_type == 1:
            return StreamEOF(value)
        if event_type == 2:
            return StreamDry(value)
        return StreamIsRecorded(value)
    return UnknownUserControl(event_type, bytes(p[2:]))


def user_control(event: UserControlEvent) -> Message:
    """A User Control message carrying ``event``."""
    if isinstance(event, UnknownUserControl):
        payload = _U16.pack(event.event_type) + event.event_data
    elif isinstance(event, SetBufferLength):
        payload = _EVENT.pack(3, event.stream_id) + _U32.pack(event.buffer_length)
    elif isinstance(event, (PingRequest, PingResponse)):
        payload = _EVENT.pack(event.event_type, event.timestamp & 0xFFFFFFFF)
    else:
        payload = _EVENT.pack(event.event_type, event.stream_id)
    return _control(USER_CONTROL, payload)


# -- commands and data (RTMP spec 7.1.1, 7.2) ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Command:
    """A command message: name, transaction id, command object (often ``None``) and arguments.

    :param name: the procedure name (``connect``, ``createStream``, ``publish``, ``_result`` ...).
    :param transaction_id: the number answers refer to (0 when no answer is expected).
    :param command_object: the command object, a ``dict`` or ``None`` (AMF null).
    :param arguments: the values after the command object.
    """

    name: str
    transaction_id: float
    command_object: Any
    arguments: tuple[Any, ...] = ()


def _amf_body(message: Message) -> bytes:
    p = message.payload
    if message.type_id in (COMMAND_AMF3, DATA_AMF3, SHARED_OBJECT_AMF3):
        if not p:
            raise ParseError("empty AMF3 command/data message", offset=0)
        return p[1:]  # AMF0 after one leading byte (QUIRKS: Flash)
    return p


def stream_id_arg(value: Any) -> int | None:
    """A message stream id a peer sent as an AMF number (``createStream``'s answer, ``deleteStream``'s
    argument): an integral number in 0 .. 2**32-1, else ``None`` (NaN, infinities, fractions,
    negative or out-of-range numbers, other types)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or not 0 <= value <= 0xFFFFFFFF or value != int(value):
        return None
    return int(value)


def parse_command(message: Message, limits: Limits | None = None) -> Command:
    """Parse a command message (type 20, or 17 with its leading byte)."""
    values = amf0.loads_all(_amf_body(message), limits=limits or Limits())
    if not values or not isinstance(values[0], str):
        raise ParseError("command message without a command name", offset=0)
    tid = values[1] if len(values) > 1 else 0.0
    if isinstance(tid, bool) or not isinstance(tid, (int, float)):
        raise ParseError(f"command {values[0]!r}: transaction id is not a number", offset=0)
    obj = values[2] if len(values) > 2 else None
    return Command(values[0], float(tid), obj, tuple(values[3:]))


def command(name: str, transaction_id: float, command_object: Any = None, *arguments: Any,
            stream_id: int = 0, chunk_stream_id: int = CSID_COMMAND, timestamp: int = 0) -> Message:
    """An AMF0 command message."""
    body = amf0.dumps_all([name, float(transaction_id), command_object, *arguments])
    return Message(chunk_stream_id, COMMAND_AMF0, stream_id, timestamp, body)


def parse_data(message: Message, limits: Limits | None = None) -> list[Any]:
    """The AMF values of a data message (type 18, or 15 with its leading byte)."""
    return amf0.loads_all(_amf_body(message), limits=limits or Limits())


def data_message(values: list[Any], *, stream_id: int, chunk_stream_id: int = 4, timestamp: int = 0) -> Message:
    """An AMF0 data message (for example ``["@setDataFrame", "onMetaData", {...}]``)."""
    return Message(chunk_stream_id, DATA_AMF0, stream_id, timestamp, amf0.dumps_all(values))


# -- shared objects (RTMP spec 7.1.3) --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SharedObjectEvent:
    """One event of a shared object message: its type (1 use, 2 release, ... 11 use success) and data."""
    event_type: int
    event_data: bytes


@dataclass(frozen=True, slots=True)
class SharedObjectMessage:
    """A shared object message: the object's name, version, persistence flag and events."""
    name: str
    version: int
    persistent: bool
    events: tuple[SharedObjectEvent, ...]


def parse_shared_object(message: Message) -> SharedObjectMessage:
    """Parse a shared object message (type 19, or 16 with its leading byte); event data stays raw."""
    p = _amf_body(message)
    if len(p) < 2:
        raise ParseError("shared object message too short", offset=len(p))
    n = _U16.unpack_from(p)[0]
    pos = 2 + n
    if len(p) < pos + 12:
        raise ParseError("shared object header truncated", offset=len(p))
    try:
        name = p[2:pos].decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("shared object name is not UTF-8", offset=2) from None
    version, flags = struct.unpack_from(">II", p, pos)
    pos += 12
    events = []
    while pos < len(p):
        if len(p) - pos < 5:
            raise ParseError("shared object event header truncated", offset=pos)
        etype = p[pos]
        size = int(_U32.unpack_from(p, pos + 1)[0])
        pos += 5
        if len(p) - pos < size:
            raise ParseError("shared object event data truncated", offset=pos)
        events.append(SharedObjectEvent(etype, bytes(p[pos : pos + size])))
        pos += size
    return SharedObjectMessage(name, version, flags == 2 or bool(flags & 2), tuple(events))


# -- aggregate (RTMP spec 7.1.6) -------------------------------------------------------------------

_SUB = struct.Struct(">BHBHBBHB")  # type, size(3), timestamp(3), timestamp extended, stream id(3)


def split_aggregate(message: Message) -> list[Message]:
    """Split an aggregate message (type 22) into its sub-messages.

    Each sub-message has an FLV-tag-like header (type, size, timestamp, stream id) and a 4-byte
    back pointer after its body. The first sub-message's timestamp is the aggregate's own; the
    others keep their offset to the first.
    """
    p = message.payload
    out: list[Message] = []
    pos = 0
    base: int | None = None
    while pos < len(p):
        if len(p) - pos < 11:
            raise ParseError("aggregate sub-message header truncated", offset=pos)
        t, s_hi, s_lo, ts_hi, ts_lo, ts_ext, sid_hi, sid_lo = _SUB.unpack_from(p, pos)
        size = (s_hi << 8) | s_lo
        ts = (ts_ext << 24) | (ts_hi << 8) | ts_lo
        body_at = pos + 11
        if len(p) - body_at < size:
            raise ParseError("aggregate sub-message body truncated", offset=body_at)
        if base is None:
            base = ts
        stamp = (message.timestamp + ts - base) & 0xFFFFFFFF
        del sid_hi, sid_lo  # the sub-messages travel on the aggregate's stream
        out.append(Message(message.chunk_stream_id, t, message.stream_id, stamp, bytes(p[body_at : body_at + size])))
        pos = body_at + size
        if len(p) - pos < 4 and pos < len(p):
            raise ParseError("aggregate back pointer truncated", offset=pos)
        pos += 4
    return out

