"""RTSP messages and their Sans-IO parser (RFC 2326, RFC 7826 where cheap).

:class:`MessageParser` takes bytes in any split and returns :class:`Request`, :class:`Response` and
:class:`InterleavedFrame` events in order. It works like h11's receive buffer: one ``bytearray``
with a read offset, compacted now and then, and a remembered search position so that looking for
the end of a head never rescans bytes; a 10 MB burst of interleaved frames costs the same per byte
as small reads.

Framing is never guessed: conflicting ``Content-Length`` headers, a negative or non-numeric length,
a head past the size limit, or (when strict) a bare LF line ending are errors. ``lenient=True``
accepts bare LF line endings, as some cameras send them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .. import errors
from ..errors import LimitExceeded, LocalProtocolError, ParseError
from ..text import is_uint, parse_uint

__all__ = ["Headers", "Request", "Response", "InterleavedFrame", "Limits", "MessageParser", "Event"]

_INTERLEAVED = struct.Struct(">BBH")
_VERSIONS = ("RTSP/1.0", "RTSP/2.0")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Header names as peers spell them, each well-formed (a token, no white space), and whether it is
#: Content-Length: the fast path's checks of a name answered by one lookup.
_KNOWN_NAMES = {
    name: name.lower() == "content-length"
    for name in (
        "CSeq", "Session", "Transport", "Content-Length", "Content-Type", "Content-Base", "Content-Location",
        "User-Agent", "Server", "Authorization", "WWW-Authenticate", "Range", "RTP-Info", "Public", "Date",
        "Accept", "Require", "Proxy-Require", "Unsupported", "Cache-Control", "Expires", "Last-Modified",
        "Location", "Scale", "Speed", "Connection", "Content-Encoding", "Content-Language", "Blocksize",
        "Bandwidth", "Allow", "Via", "Timestamp", "Accept-Ranges", "Media-Properties", "Seek-Style",
        "Pipelined-Requests", "Notify-Reason", "Accept-Encoding", "Accept-Language", "x-Dynamic-Rate",
        "Cseq", "content-length", "Content-length", "content-type", "session", "transport", "cseq",
    )
}
#: Methods of RFC 2326 and RFC 7826 (all tokens: the request line check needs no regex for them).
_METHODS = frozenset({"OPTIONS", "DESCRIBE", "ANNOUNCE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER",
                      "SET_PARAMETER", "REDIRECT", "RECORD", "PLAY_NOTIFY"})


class Headers:
    """An ordered list of header fields with case-insensitive lookup; repeated names are kept."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first field called ``name`` (any case), or ``default``."""
        low = name.lower()
        for key, value in self._items:
            if key.lower() == low:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of fields called ``name``, in order."""
        low = name.lower()
        return [v for k, v in self._items if k.lower() == low]

    def set(self, name: str, value: str) -> None:
        """Replace every field called ``name`` with one, kept at the first one's place (or appended)."""
        low = name.lower()
        out: list[tuple[str, str]] = []
        done = False
        for k, v in self._items:
            if k.lower() == low:
                if not done:
                    out.append((name, value))
                    done = True
            else:
                out.append((k, v))
        if not done:
            out.append((name, value))
        self._items = out

    def add(self, name: str, value: str) -> None:
        """Append a field (even when one of that name exists)."""
        self._items.append((name, value))

    def remove(self, name: str) -> None:
        """Remove every field called ``name``."""
        low = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != low]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def encode(self) -> bytes:
        """The header lines, each ending in CRLF."""
        return "".join(f"{k}: {v}\r\n" for k, v in self._items).encode("utf-8")

    @property
    def cseq(self) -> int | None:
        """The ``CSeq`` header as an int, or None when absent or not a number."""
        value = self.get("CSeq")
        return int(value.strip()) if value is not None and is_uint(value.strip()) else None


def _with_length(headers: Headers, body: bytes) -> Headers:
    if body and "Content-Length" not in headers:
        headers = Headers(headers)
        headers.add("Content-Length", str(len(body)))
    return headers


@dataclass(frozen=True, slots=True)
class Request:
    """An RTSP request: ``OPTIONS rtsp://host/path RTSP/1.0``, headers, and a body."""

    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "RTSP/1.0"

    def __bytes__(self) -> bytes:
        head = f"{self.method} {self.uri} {self.version}\r\n".encode("utf-8")
        return head + _with_length(self.headers, self.body).encode() + b"\r\n" + self.body

    @property
    def cseq(self) -> int | None:
        """The request's CSeq."""
        return self.headers.cseq


@dataclass(frozen=True, slots=True)
class Response:
    """An RTSP response: ``RTSP/1.0 200 OK``, headers, and a body."""

    status_code: int
    reason: str = "OK"
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "RTSP/1.0"

    def __bytes__(self) -> bytes:
        head = f"{self.version} {self.status_code} {self.reason}\r\n".encode("utf-8")
        return head + _with_length(self.headers, self.body).encode() + b"\r\n" + self.body

    @property
    def cseq(self) -> int | None:
        """The response's CSeq (None when a server left it out, as live555 sometimes does)."""
        return self.headers.cseq


@dataclass(frozen=True, slots=True)
class InterleavedFrame:
    """One ``$``-framed packet on the RTSP connection (RFC 2326 section 10.12)."""

    channel: int
    data: bytes

    def __bytes__(self) -> bytes:
        if len(self.data) > 0xFFFF:
            raise LocalProtocolError(f"interleaved frame of {len(self.data)} bytes exceeds 65535")
        return _INTERLEAVED.pack(0x24, self.channel, len(self.data)) + self.data


Event = Request | Response | InterleavedFrame

# The parser's hot path builds InterleavedFrame values through the slot descriptors: the same
# value as InterleavedFrame(channel, data), without the frozen dataclass __init__ (half the cost).
_new_frame = InterleavedFrame.__new__
_set_channel: Callable[[InterleavedFrame, int], None] = vars(InterleavedFrame)["channel"].__set__
_set_data: Callable[[InterleavedFrame, bytes], None] = vars(InterleavedFrame)["data"].__set__
_new_headers = Headers.__new__
# Requests and responses likewise (a frozen dataclass's __init__ sets each field through
# object.__setattr__: twice the cost).
_new_request = Request.__new__
_new_response = Response.__new__
_SET_REQUEST = tuple(vars(Request)[n].__set__ for n in ("method", "uri", "headers", "body", "version"))
_SET_RESPONSE = tuple(vars(Response)[n].__set__ for n in ("status_code", "reason", "headers", "body", "version"))
_set_method, _set_uri, _set_request_headers, _set_request_body, _set_request_version = _SET_REQUEST
_set_status_code, _set_reason, _set_response_headers, _set_response_body, _set_response_version = _SET_RESPONSE

# A parsed head waiting for its body: start line, headers, body length, body offset from the
# start of the message, and the message's stream offset (for errors).
_Head = tuple[str, Headers, int, int, int]


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on what a peer can make the RTSP parser hold (defaults follow gortsplib).

    :param max_head_bytes: bytes of a message's start line and headers.
    :param max_headers: header lines in one message (255).
    :param max_header_name: characters of one header name (512).
    :param max_header_value: characters of one header value (2048).
    :param max_body_bytes: bytes of one message body (1 MiB; an SDP body is bounded further by
        :class:`mediaproto.sdp.Limits`).
    """

    max_head_bytes: int = 64 * 1024
    max_headers: int = 255
    max_header_name: int = 512
    max_header_value: int = 2048
    max_body_bytes: int = 1024 * 1024


class MessageParser:
    """Parse a byte stream into RTSP messages and interleaved frames.

    :param limits: size bounds; going past one raises :class:`~mediaproto.errors.LimitExceeded`.
    :param lenient: accept bare LF line endings.
    """

    def __init__(self, limits: Limits | None = None, *, lenient: bool = False) -> None:
        self.limits = limits or Limits()
        self.lenient = lenient
        # A head no longer than this cannot hold a header name or value over the limits.
        self._short_head = min(self.limits.max_header_name, self.limits.max_header_value)
        self._buf = bytearray()
        self._pos = 0
        self._search = 0  # where the search for the end of the current head resumes
        self._consumed = 0  # bytes dropped from the front of _buf, for error offsets
        self._pending: _Head | None = None  # the head of a message whose body is incomplete

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as an event."""
        return len(self._buf) - self._pos

    def flush(self) -> list[Event]:
        """Declare the end of the stream. :meth:`feed` has returned every whole message and frame
        already, so this returns ``[]``; it raises :class:`~mediaproto.errors.ParseError` when the
        stream ended inside one (blank lines after the last message do not count)."""
        if self._buf[self._pos :].strip(b"\r\n"):
            raise ParseError("RTSP stream ended inside a message", offset=self._consumed + self._pos)
        return []

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Add ``data`` and return every complete event it finishes, in order."""
        buf = self._buf
        buf += data
        events: list[Event] = []
        append = events.append
        unpack_from = _INTERLEAVED.unpack_from
        view = memoryview(buf)  # frames are copied out once (a bytearray slice would copy twice)
        try:
            size = len(buf)
            pos = self._pos
            while pos < size:
                first = buf[pos]
                if first == 0x24:  # '$'
                    if size - pos < 4:
                        break
                    _, channel, length = unpack_from(buf, pos)
                    end = pos + 4 + length
                    if end > size:
                        break
                    frame = _new_frame(InterleavedFrame)
                    _set_channel(frame, channel)
                    _set_data(frame, bytes(view[pos + 4:end]))
                    append(frame)
                    pos = end
                    continue
                if first == 0x0D or first == 0x0A:  # stray line endings between messages
                    pos += 1
                    continue
                if pos != self._pos:
                    self._pos = self._search = pos
                event = self._parse_fast(buf, pos) if self._pending is None else None
                if event is None:
                    event = self._parse_message(buf, pos)
                    if event is None:
                        break
                append(event)
                pos = self._pos
            if pos != self._pos:
                self._pos = self._search = pos
        finally:
            view.release()
        if self._pos > 65536 and self._pos * 2 > len(buf):
            del buf[: self._pos]
            self._consumed += self._pos
            self._search -= self._pos
            self._pos = 0
        return events

    def _parse_fast(self, buf: bytearray, pos: int) -> Request | Response | None:
        """The common message in one go: a whole head too short for a header name or value over
        the limits, CRLF line endings, well-formed header lines and start line, and its whole body.
        ``None`` for anything else, which :meth:`_parse_message` then parses (or rejects) with
        the same result it always gives."""
        start = self._search - 3
        head_end = buf.find(b"\r\n\r\n", start if start > pos else pos)
        if head_end < 0 or head_end - pos > self._short_head:
            return None
        try:
            text = buf[pos:head_end].decode("utf-8")
        except UnicodeDecodeError:
            return None
        lines = text.split("\r\n")
        if text.count("\n") != len(lines) - 1:
            return None
        items: list[tuple[str, str]] = []
        append = items.append
        lengths: list[str] = []
        known = _KNOWN_NAMES.get
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            is_length = known(name)
            if is_length is None or not sep:
                if not sep or " " in name or not name or name.strip() != name:
                    return None
                is_length = len(name) == 14 and name.lower() == "content-length"
            value = value.strip()
            append((name, value))
            if is_length:
                lengths.append(value)
        limits = self.limits
        if len(items) > limits.max_headers:
            return None
        body_start = head_end + 4
        headers = _new_headers(Headers)
        headers._items = items
        start_line = lines[0]
        if lengths:
            value = lengths[0]
            if len(lengths) > 1 or not value.isdigit() or not value.isascii() or len(value) > 20:  # is_uint
                return None
            length = int(value)
            if length > limits.max_body_bytes:
                return None
            if body_start + length > len(buf):  # the head, as _parse_head gives it, waits for its body
                self._pending = (start_line, headers, length, body_start - pos, self._consumed + pos)
                self._search = body_start
                return None
            body = bytes(buf[body_start:body_start + length])
        else:
            length = 0
            body = b""
        parts = start_line.split(" ", 2)
        if start_line.startswith("RTSP/"):
            if (len(parts) < 2 or parts[0] not in _VERSIONS or len(parts[1]) != 3 or not parts[1].isascii()
                    or not parts[1].isdigit()):
                return None
            response = _new_response(Response)
            _set_status_code(response, int(parts[1]))
            _set_reason(response, parts[2] if len(parts) > 2 else "")
            _set_response_headers(response, headers)
            _set_response_body(response, body)
            _set_response_version(response, parts[0])
            event: Request | Response = response
        else:
            if len(parts) != 3 or parts[2] not in _VERSIONS or not parts[1] or parts[0] not in _METHODS:
                return None
            request = _new_request(Request)
            _set_method(request, parts[0])
            _set_uri(request, parts[1])
            _set_request_headers(request, headers)
            _set_request_body(request, body)
            _set_request_version(request, parts[2])
            event = request
        self._pos = self._search = body_start + length
        return event

    def _find_head_end(self, buf: bytearray, pos: int) -> tuple[int, int]:
        start = max(pos, self._search - 3)
        end = buf.find(b"\r\n\r\n", start)
        if end >= 0:
            return end, end + 4
        if self.lenient:
            end = buf.find(b"\n\n", start)
            if end >= 0:
                return end, end + 2
            end = buf.find(b"\n\r\n", start)
            if end >= 0:
                return end, end + 3
        self._search = len(buf)
        return -1, -1

    def _parse_message(self, buf: bytearray, pos: int) -> Request | Response | None:
        pending = self._pending
        if pending is None:
            pending = self._parse_head(buf, pos)
            if pending is None:
                return None
        start_line, headers, length, body_offset, offset = pending
        body_start = pos + body_offset
        if body_start + length > len(buf):
            self._pending = pending  # parsed once; waits for its body
            self._search = body_start
            return None
        self._pending = None
        body = bytes(buf[body_start:body_start + length]) if length else b""
        self._pos = self._search = body_start + length
        parts = start_line.split(" ", 2)
        if start_line.startswith("RTSP/"):
            if len(parts) < 2 or parts[0] not in _VERSIONS or not (len(parts[1]) == 3 and is_uint(parts[1])):
                raise ParseError(f"malformed status line {start_line[:80]!r}", offset=offset)
            response = _new_response(Response)
            set_code, set_reason, set_headers, set_body, set_version = _SET_RESPONSE
            set_code(response, int(parts[1]))
            set_reason(response, parts[2] if len(parts) > 2 else "")
            set_headers(response, headers)
            set_body(response, body)
            set_version(response, parts[0])
            return response
        if (len(parts) != 3 or parts[2] not in _VERSIONS or not parts[1]
                or (parts[0] not in _METHODS and not _TOKEN.fullmatch(parts[0]))):
            raise ParseError(f"malformed request line {start_line[:80]!r}", offset=offset)
        request = _new_request(Request)
        set_method, set_uri, set_headers, set_body, set_version = _SET_REQUEST
        set_method(request, parts[0])
        set_uri(request, parts[1])
        set_headers(request, headers)
        set_body(request, body)
        set_version(request, parts[2])
        return request

    def _parse_head(self, buf: bytearray, pos: int) -> _Head | None:
        limits = self.limits
        head_end, body_start = self._find_head_end(buf, pos)
        if head_end < 0:
            if len(buf) - pos > limits.max_head_bytes:
                raise LimitExceeded(f"message head longer than {limits.max_head_bytes} bytes",
                                    offset=self._consumed + pos)
            return None
        if head_end - pos > limits.max_head_bytes:
            raise LimitExceeded(f"message head longer than {limits.max_head_bytes} bytes", offset=self._consumed + pos)
        offset = self._consumed + pos
        head = bytes(buf[pos:head_end])
        crlf = head.count(b"\r\n")
        if crlf != head.count(b"\n"):
            if not self.lenient:
                raise ParseError("bare LF line ending in message head", offset=offset)
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("message head is not UTF-8", offset=offset) from None
        lines = text.replace("\r\n", "\n").split("\n") if self.lenient else text.split("\r\n")
        headers, length = self._parse_headers(lines, offset)
        if length > limits.max_body_bytes:
            raise LimitExceeded(f"Content-Length {length} over the limit of {limits.max_body_bytes}", offset=offset)
        return lines[0], headers, length, body_start - pos, offset

    def _parse_headers(self, lines: list[str], offset: int) -> tuple[Headers, int]:
        """The header fields (after the start line) and the body length they declare."""
        limits = self.limits
        max_name, max_value = limits.max_header_name, limits.max_header_value
        items: list[tuple[str, str]] = []
        lengths: list[str] = []
        for i in range(1, len(lines)):
            line = lines[i]
            if line[:1] in (" ", "\t"):  # obsolete line folding
                if not items:
                    raise ParseError("continuation line before any header", offset=offset)
                name, value = items[-1]
                if name.lower() == "content-length":
                    raise ParseError("folded Content-Length", offset=offset)
                items[-1] = (name, value + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            name = name.strip()
            if not sep or not name or " " in name:
                raise ParseError(f"malformed header line {line[:80]!r}", offset=offset)
            if len(name) > max_name:
                raise LimitExceeded(f"header name longer than {max_name}", offset=offset)
            value = value.strip()
            items.append((name, value))
            if len(name) == 14 and name.lower() == "content-length":
                lengths.append(value)
        if len(items) > limits.max_headers:
            raise LimitExceeded(f"more than {limits.max_headers} headers", offset=offset)
        for name, value in items:
            if len(value) > max_value:
                raise LimitExceeded(f"header {name} longer than {max_value}", offset=offset)
        return Headers(items), self._content_length(lengths, offset)

    @staticmethod
    def _content_length(values: list[str], offset: int) -> int:
        if not values:
            return 0
        lengths = set()
        for value in values:
            lengths.add(parse_uint(value, "Content-Length", offset=offset))
        if len(lengths) > 1:
            raise ParseError(f"conflicting Content-Length headers {values}", offset=offset)
        return lengths.pop()
