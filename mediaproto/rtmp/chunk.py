"""The RTMP chunk stream: messages cut into chunks and interleaved on one connection.

A :class:`Message` (type, message stream id, 32-bit millisecond timestamp, payload) travels as one
or more chunks of at most the sender's chunk size (128 until a Set Chunk Size message changes it).
Each chunk starts with a basic header (format ``fmt`` 0-3 and a chunk stream id 2..65599 in a 1-,
2- or 3-byte form; the 3-byte form is little-endian) and a message header whose size depends on
``fmt``:

====  =====  ==============================================================================
fmt   bytes  fields
====  =====  ==============================================================================
0     11     timestamp (absolute), message length, type id, message stream id (little-endian)
1     7      timestamp delta, message length, type id (same stream id)
2     3      timestamp delta (same length, type id and stream id)
3     0      nothing: a continuation of the message, or a new one repeating the last delta
====  =====  ==============================================================================

A timestamp field of ``0xFFFFFF`` announces a 4-byte extended timestamp after the message header.
Type-3 chunks of a chunk stream whose last type 0/1/2 header used one carry it again (FFmpeg,
Flash, FMLE); old librtmp and OBS before 2024 did not. The decoder does what SRS does: it reads the
4 bytes and un-reads them when they differ from the expected value. The encoder repeats them.

Timestamp deltas follow FFmpeg and SRS: after a type-0 header, the "delta" a later type-3 new
message repeats is that header's timestamp field. The encoder only emits a type-3 new message
after a type 1 or 2 header, where every implementation agrees.

:class:`ChunkDecoder` applies Set Chunk Size (type 1), Abort (type 2) and Window Acknowledgement
Size (type 5) itself and still returns them; it counts bytes for acknowledgements. Both classes
are usable without any session. Decoding runs in linear time at every chunk size: payload pieces
are collected in a list and joined once per message, and runs of continuation chunks of one chunk
stream are cut out with one slice each.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import LimitExceeded, LocalProtocolError, ParseError
from .limits import Limits

__all__ = ["Message", "ChunkDecoder", "ChunkEncoder", "encode_message", "DEFAULT_CHUNK_SIZE",
           "MAX_CHUNK_SIZE"]

#: The chunk size both directions start with.
DEFAULT_CHUNK_SIZE = 128
#: The largest chunk size Set Chunk Size may announce (31 bits).
MAX_CHUNK_SIZE = 0x7FFFFFFF

_TYPE_SET_CHUNK_SIZE = 1
_TYPE_ABORT = 2
_TYPE_WINDOW_ACK_SIZE = 5
#: Audio, video and aggregate messages: bounded by ``max_message_size``; every other type by
#: ``max_command_size``.
_MEDIA_TYPES = frozenset((8, 9, 22))

_U32 = struct.Struct(">I")
_U32LE = struct.Struct("<I")
_FMT0 = struct.Struct(">HBHBB")  # timestamp(3) length(3) type id(1); the stream id follows
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Message:
    """One RTMP message.

    :param chunk_stream_id: the chunk stream it travels on (2..65599; 2 for protocol control).
    :param type_id: the message type (see :mod:`mediaproto.rtmp.message`).
    :param stream_id: the message stream id (0 for the connection's control and commands).
    :param timestamp: absolute timestamp in milliseconds, 0..2**32-1.
    :param payload: the message body.
    """

    chunk_stream_id: int
    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes


class _InStream:
    """What the decoder remembers per chunk stream."""

    __slots__ = ("csid", "timestamp", "delta", "length", "type_id", "stream_id", "ext", "ext_value",
                 "pieces", "remaining", "cont")

    def __init__(self, csid: int) -> None:
        self.csid = csid
        self.timestamp = 0
        self.delta = 0
        self.length = 0
        self.type_id = 0
        self.stream_id = 0
        self.ext = False  # the last type 0/1/2 header used an extended timestamp
        self.ext_value = 0
        self.pieces: list[bytes] = []
        self.remaining = 0  # bytes of the current message still to come (0: no message open)
        self.cont = b""  # the exact header bytes of a continuation chunk, once one was seen


def _basic_header(fmt: int, csid: int) -> bytes:
    if 2 <= csid <= 63:
        return bytes(((fmt << 6) | csid,))
    if 64 <= csid <= 319:
        return bytes((fmt << 6, csid - 64))
    if 64 <= csid <= 65599:
        v = csid - 64
        return bytes(((fmt << 6) | 1, v & 0xFF, v >> 8))
    raise LocalProtocolError(f"chunk stream id must be 2..65599, got {csid}")


class ChunkDecoder:
    """Turns received chunk-stream bytes into :class:`Message` values.

    :param limits: bounds on message size, chunk streams and buffered bytes.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        #: The peer's chunk size (changed by the Set Chunk Size messages it sends).
        self.chunk_size = DEFAULT_CHUNK_SIZE
        #: Bytes received so far (for acknowledgements), not wrapped.
        self.bytes_received = 0
        #: The window the peer announced with Window Acknowledgement Size (0: none yet).
        self.window_ack_size = 0
        self._acked = 0
        self._buf = bytearray()
        self._pos = 0
        self._consumed = 0  # stream offset of _buf[0], for error offsets
        self._streams: dict[int, _InStream] = {}
        self._open_bytes = 0
        self._cur: _InStream | None = None  # chunk stream whose chunk payload is being read
        self._chunk_left = 0
        self._run = 8

    def ack_due(self) -> int | None:
        """The sequence number to acknowledge if a window's worth arrived since the last one.

        Returns the 32-bit byte count to put into an Acknowledgement message and marks it sent, or
        ``None`` when no acknowledgement is due.
        """
        if self.window_ack_size and self.bytes_received - self._acked >= self.window_ack_size:
            self._acked = self.bytes_received
            return self.bytes_received & _MASK32
        return None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Consume received bytes; return the messages they completed, in order."""
        self.bytes_received += len(data)
        buf = self._buf
        if self._pos:
            self._consumed += self._pos
            del buf[: self._pos]
            self._pos = 0
        buf += data
        out: list[Message] = []
        try:
            self._parse(out)
        except (IndexError, struct.error) as exc:  # pragma: no cover - guarded by length checks
            raise ParseError(f"malformed chunk: {exc}", offset=self._consumed + self._pos) from exc
        return out

    def flush(self) -> list[Message]:
        """Declare the end of the stream. :meth:`feed` has returned every whole message already, so
        this returns ``[]``; it raises :class:`~mediaproto.errors.ParseError` when the stream ended
        inside a chunk or a message (a connection cut short)."""
        if self._pos < len(self._buf) or self._cur is not None or any(s.remaining for s in self._streams.values()):
            raise ParseError("RTMP chunk stream ended inside a message", offset=self._consumed + self._pos)
        return []

    # -- the parser -------------------------------------------------------------------------

    def _fail(self, cls: type[ParseError] | type[LimitExceeded], msg: str, pos: int) -> None:
        raise cls(msg, offset=self._consumed + pos)

    def _parse(self, out: list[Message]) -> None:
        buf = self._buf
        end = len(buf)
        mv = memoryview(buf)
        try:
            while True:
                pos = self._pos
                st = self._cur
                if st is not None:  # inside a chunk's payload
                    take = min(self._chunk_left, end - pos)
                    if take <= 0:
                        return
                    st.pieces.append(bytes(mv[pos : pos + take]))
                    self._pos = pos + take
                    self._chunk_left -= take
                    st.remaining -= take
                    if self._chunk_left:
                        return
                    self._cur = None
                    if not st.remaining:
                        self._complete(st, out)
                    elif st.cont:
                        self._fast(st, mv, end, out)
                    continue
                if pos >= end:
                    return
                b0 = buf[pos]
                fmt = b0 >> 6
                csid = b0 & 0x3F
                hpos = pos + 1
                if csid == 0:
                    if end - pos < 2:
                        return
                    csid = 64 + buf[pos + 1]
                    hpos = pos + 2
                elif csid == 1:
                    if end - pos < 3:
                        return
                    csid = 64 + buf[pos + 1] + (buf[pos + 2] << 8)
                    hpos = pos + 3
                st = self._streams.get(csid)
                if st is None:
                    if fmt != 0:
                        self._fail(ParseError, f"chunk stream {csid} starts with a type-{fmt} header", pos)
                    if len(self._streams) >= self.limits.max_chunk_streams:
                        self._fail(LimitExceeded, f"more than {self.limits.max_chunk_streams} chunk streams", pos)
                    st = _InStream(csid)
                    self._streams[csid] = st
                new_message = st.remaining == 0
                if fmt == 3:
                    if st.ext:
                        have = end - hpos
                        if have >= 4:
                            if _U32.unpack_from(buf, hpos)[0] == st.ext_value:
                                hpos += 4
                        elif buf[hpos:end] == _U32.pack(st.ext_value)[:have]:
                            return  # could still be the repeated timestamp: wait for more bytes
                    if new_message:
                        st.timestamp = (st.timestamp + st.delta) & _MASK32
                    elif not st.cont:
                        st.cont = bytes(buf[pos:hpos])
                else:
                    if not new_message:
                        self._fail(ParseError, f"type-{fmt} header on chunk stream {csid} inside a message", pos)
                    if fmt == 0:
                        if end - hpos < 11:
                            return
                        ts_hi, ts_lo, len_hi, len_lo, st.type_id = _FMT0.unpack_from(buf, hpos)
                        field = (ts_hi << 8) | ts_lo
                        st.length = (len_hi << 8) | len_lo
                        st.stream_id = _U32LE.unpack_from(buf, hpos + 7)[0]
                        hpos += 11
                    elif fmt == 1:
                        if end - hpos < 7:
                            return
                        field = int.from_bytes(buf[hpos : hpos + 3], "big")
                        st.length = int.from_bytes(buf[hpos + 3 : hpos + 6], "big")
                        st.type_id = buf[hpos + 6]
                        hpos += 7
                    else:
                        if end - hpos < 3:
                            return
                        field = int.from_bytes(buf[hpos : hpos + 3], "big")
                        hpos += 3
                    if field == 0xFFFFFF:
                        if end - hpos < 4:
                            return
                        field = _U32.unpack_from(buf, hpos)[0]
                        hpos += 4
                        st.ext = True
                        st.ext_value = field
                    else:
                        st.ext = False
                    st.cont = b""
                    st.delta = field
                    st.timestamp = field if fmt == 0 else (st.timestamp + field) & _MASK32
                if new_message:
                    length = st.length
                    if length > self.limits.max_message_size:
                        self._fail(LimitExceeded, f"message of {length} bytes exceeds the limit of "
                                   f"{self.limits.max_message_size}", pos)
                    if length > self.limits.max_command_size and st.type_id not in _MEDIA_TYPES:
                        self._fail(LimitExceeded, f"message of type {st.type_id} and {length} bytes exceeds "
                                   f"the limit of {self.limits.max_command_size} for messages without media", pos)
                    if self._open_bytes + length > self.limits.max_buffered_bytes:
                        self._fail(LimitExceeded, "unfinished messages exceed the buffered-bytes limit", pos)
                    self._open_bytes += length
                    st.remaining = length
                    st.pieces = []
                    if not length:
                        self._pos = hpos
                        self._complete(st, out)
                        continue
                self._pos = hpos
                self._cur = st
                self._chunk_left = min(self.chunk_size, st.remaining)
        finally:
            mv.release()

    def _fast(self, st: _InStream, mv: memoryview, end: int, out: list[Message]) -> None:
        """Cut out a run of continuation chunks of ``st`` with one slice each.

        The run length doubles while whole runs match and drops back on a mismatch (an interleaved
        chunk of another stream), so the checking stays linear in the input.
        """
        cont = st.cont
        hl = len(cont)
        cs = self.chunk_size
        stride = hl + cs
        pos = self._pos
        n = min(st.remaining // cs, (end - pos) // stride, self._run)
        # the last chunk of the message (shorter than cs) goes through the general path
        if n <= 0:
            return
        buf = self._buf
        limit = pos + n * stride
        for i in range(hl):
            if buf[pos + i : limit : stride] != cont[i : i + 1] * n:
                self._run = 8
                return
        first = pos + hl
        st.pieces.extend([bytes(mv[p : p + cs]) for p in range(first, limit, stride)])
        st.remaining -= n * cs
        self._pos = limit
        if self._run < 1 << 16:
            self._run <<= 1
        if not st.remaining:
            self._complete(st, out)

    def _complete(self, st: _InStream, out: list[Message]) -> None:
        pieces = st.pieces
        payload = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        st.pieces = []
        self._open_bytes -= st.length
        msg = Message(st.csid, st.type_id, st.stream_id, st.timestamp, payload)
        type_id = st.type_id
        if type_id <= _TYPE_WINDOW_ACK_SIZE and st.stream_id == 0:
            self._control(msg)
        out.append(msg)

    def _control(self, msg: Message) -> None:
        t = msg.type_id
        if t == _TYPE_SET_CHUNK_SIZE:
            if len(msg.payload) < 4:
                self._fail(ParseError, "Set Chunk Size message shorter than 4 bytes", self._pos)
            size = _U32.unpack_from(msg.payload)[0]
            if not 1 <= size <= MAX_CHUNK_SIZE:
                self._fail(ParseError, f"invalid chunk size {size}", self._pos)
            self.chunk_size = size
        elif t == _TYPE_ABORT:
            if len(msg.payload) < 4:
                self._fail(ParseError, "Abort message shorter than 4 bytes", self._pos)
            st = self._streams.get(_U32.unpack_from(msg.payload)[0])
            if st is not None and st.remaining:
                self._open_bytes -= st.length
                st.remaining = 0
                st.pieces = []
        elif t == _TYPE_WINDOW_ACK_SIZE:
            if len(msg.payload) < 4:
                self._fail(ParseError, "Window Acknowledgement Size message shorter than 4 bytes", self._pos)
            self.window_ack_size = _U32.unpack_from(msg.payload)[0]


class _OutStream:
    __slots__ = ("csid", "timestamp", "delta", "delta_valid", "length", "type_id", "stream_id")

    def __init__(self, m: Message) -> None:
        self.timestamp = m.timestamp
        self.delta = 0
        self.delta_valid = False
        self.length = len(m.payload)
        self.type_id = m.type_id
        self.stream_id = m.stream_id


class ChunkEncoder:
    """Turns :class:`Message` values into chunk-stream bytes, picking the smallest header.

    :param chunk_size: the chunk size to start with (change it with :meth:`set_chunk_size` or by
        encoding a Set Chunk Size message, which takes effect after that message).
    :param repeat_extended_timestamp: repeat the extended timestamp on type-3 chunks, as FFmpeg
        and Flash do (``False`` imitates old librtmp and OBS).
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE, *, repeat_extended_timestamp: bool = True) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise LocalProtocolError(f"chunk size must be 1..{MAX_CHUNK_SIZE}, got {chunk_size}")
        self.chunk_size = chunk_size
        self.repeat_extended_timestamp = repeat_extended_timestamp
        self._streams: dict[int, _OutStream] = {}

    def set_chunk_size(self, chunk_size: int) -> bytes:
        """Encode a Set Chunk Size message on chunk stream 2 and switch to ``chunk_size`` after it."""
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise LocalProtocolError(f"chunk size must be 1..{MAX_CHUNK_SIZE}, got {chunk_size}")
        return self.encode(Message(2, _TYPE_SET_CHUNK_SIZE, 0, 0, _U32.pack(chunk_size)))

    def encode(self, message: Message) -> bytes:
        """The chunks of one message, contiguous (this encoder does not interleave)."""
        m = message
        csid = m.chunk_stream_id
        ts = m.timestamp
        if not 0 <= ts <= _MASK32:
            raise LocalProtocolError(f"timestamp must be 0..2**32-1, got {ts}")
        if not 0 <= m.type_id <= 255 or not 0 <= m.stream_id <= _MASK32:
            raise LocalProtocolError("type id must be 0..255 and stream id 0..2**32-1")
        payload = m.payload
        length = len(payload)
        if length > 0xFFFFFF:
            raise LocalProtocolError(f"message of {length} bytes does not fit a 24-bit length")
        st = self._streams.get(csid)
        if st is None or st.stream_id != m.stream_id or ts < st.timestamp:
            fmt = 0
            field = ts
            if st is None:
                st = self._streams[csid] = _OutStream(m)
            st.delta_valid = False
        else:
            field = ts - st.timestamp
            if st.type_id != m.type_id or st.length != length:
                fmt = 1
            elif st.delta_valid and st.delta == field:
                fmt = 3
            else:
                fmt = 2
            st.delta_valid = True
        st.timestamp = ts
        st.delta = field
        st.length = length
        st.type_id = m.type_id
        st.stream_id = m.stream_id
        ext = field >= 0xFFFFFF
        f3 = 0xFFFFFF if ext else field
        basic = _basic_header(fmt, csid)
        if fmt == 0:
            header = basic + bytes((f3 >> 16, (f3 >> 8) & 0xFF, f3 & 0xFF, length >> 16, (length >> 8) & 0xFF,
                                    length & 0xFF, m.type_id)) + _U32LE.pack(m.stream_id)
        elif fmt == 1:
            header = basic + bytes((f3 >> 16, (f3 >> 8) & 0xFF, f3 & 0xFF, length >> 16, (length >> 8) & 0xFF,
                                    length & 0xFF, m.type_id))
        elif fmt == 2:
            header = basic + bytes((f3 >> 16, (f3 >> 8) & 0xFF, f3 & 0xFF))
        else:
            header = basic
        ext_bytes = _U32.pack(field) if ext else b""
        header += ext_bytes
        cs = self.chunk_size
        if length <= cs:
            out = header + payload
        else:
            cont = _basic_header(3, csid)
            if ext and self.repeat_extended_timestamp:
                cont += ext_bytes
            out = header + cont.join([payload[i : i + cs] for i in range(0, length, cs)])
        if m.type_id == _TYPE_SET_CHUNK_SIZE and m.stream_id == 0 and length >= 4:
            size = _U32.unpack_from(payload)[0]
            if 1 <= size <= MAX_CHUNK_SIZE:
                self.chunk_size = size
        return out


def encode_message(message: Message, chunk_size: int, *, repeat_extended_timestamp: bool = True) -> bytes:
    """The chunks of ``message`` with a type-0 first header: bytes that do not depend on any state.

    Any connection whose outgoing chunk size is ``chunk_size`` can send them as they are (the
    fan-out of one message to many players). A :class:`ChunkEncoder` that sends later messages on
    the same chunk stream must not compress against this one; the sessions send every media
    message this way.
    """
    return ChunkEncoder(chunk_size, repeat_extended_timestamp=repeat_extended_timestamp).encode(message)
