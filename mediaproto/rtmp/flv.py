"""FLV files: the file header, tags, a buffering tag reader and a writer.

An FLV file is a 9-byte header (``FLV``, version 1, flags for audio and video, the data offset),
then ``PreviousTagSize0`` (always 0), then tags, each followed by its ``PreviousTagSize`` (11 plus
the tag's data size). A tag is an 11-byte header (TagType, DataSize, Timestamp with its
TimestampExtended upper byte, StreamID) and the tag body: audio (8), video (9) or script data (18),
the same bodies RTMP carries in its audio, video and data messages (see
:mod:`mediaproto.rtmp.flvmedia`).

>>> w = FlvWriter(has_audio=False, has_video=True)
>>> data = w.write(FlvTag(TAG_SCRIPT, 0, 0, b"x"))
>>> r = FlvReader()
>>> r.feed(data)
[FlvTag(tag_type=18, timestamp=0, stream_id=0, data=b'x')]
>>> r.flush()
[]

The conversion between tag bodies and :class:`~mediaproto.media.Frame` (the names the RTMP
sessions use) is re-exported here: :class:`MediaTagDecoder` and :class:`MediaTagEncoder`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import LimitExceeded, LocalProtocolError, ParseError
from .flvframes import AUDIO_TRACK_ID, VIDEO_TRACK_ID, MediaTagDecoder, MediaTagEncoder
from .flvmedia import TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO
from .limits import Limits

__all__ = [
    "TAG_AUDIO",
    "TAG_VIDEO",
    "TAG_SCRIPT",
    "FlvHeader",
    "FlvTag",
    "FlvReader",
    "FlvWriter",
    "read_flv",
    "MediaTagDecoder",
    "MediaTagEncoder",
    "VIDEO_TRACK_ID",
    "AUDIO_TRACK_ID",
]

_HEADER = struct.Struct(">3sBBI")
_TAG_HEADER = struct.Struct(">BHBHBBHB")  # type, size(24), timestamp(24), ts-ext, stream id(24)
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class FlvHeader:
    """The FLV file header.

    :param version: the file version (1).
    :param has_audio: TypeFlagsAudio.
    :param has_video: TypeFlagsVideo.
    :param data_offset: bytes from the start of the file to the body (9 for version 1).
    """

    has_audio: bool = True
    has_video: bool = True
    version: int = 1
    data_offset: int = 9

    SIZE = 9
    SIGNATURE = b"FLV"

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> FlvHeader:
        """Parse the first 9 bytes of ``data``."""
        if len(data) < 9:
            raise ParseError("truncated FLV header", offset=len(data))
        signature, version, flags, data_offset = _HEADER.unpack_from(data, 0)
        if signature != b"FLV":
            raise ParseError(f"not an FLV file (signature {bytes(signature)!r})", offset=0)
        if data_offset < 9:
            raise ParseError(f"FLV DataOffset {data_offset} is less than the header size", offset=5)
        return cls(has_audio=bool(flags & 4), has_video=bool(flags & 1), version=version, data_offset=data_offset)

    def to_bytes(self) -> bytes:
        """The header (with ``data_offset`` 9: no extra header bytes are written)."""
        flags = (4 if self.has_audio else 0) | (1 if self.has_video else 0)
        return _HEADER.pack(b"FLV", self.version, flags, 9)

    def __bytes__(self) -> bytes:
        return self.to_bytes()


@dataclass(frozen=True, slots=True)
class FlvTag:
    """One FLV tag.

    :param tag_type: :data:`TAG_AUDIO`, :data:`TAG_VIDEO` or :data:`TAG_SCRIPT`.
    :param timestamp: milliseconds, 32 bits (Timestamp plus the TimestampExtended upper byte).
    :param stream_id: StreamID (always 0 in files).
    :param data: the tag body.
    """

    tag_type: int
    timestamp: int
    stream_id: int
    data: bytes

    HEADER_SIZE = 11

    def header_bytes(self) -> bytes:
        """The 11-byte tag header."""
        size = len(self.data)
        if size > 0xFFFFFF:
            raise LocalProtocolError(f"FLV tag body of {size} bytes is over 2**24-1")
        if not 0 <= self.tag_type <= 0x1F:
            raise LocalProtocolError(f"FLV TagType {self.tag_type} out of range")
        ts = self.timestamp & 0xFFFFFFFF
        sid = self.stream_id & 0xFFFFFF
        return _TAG_HEADER.pack(
            self.tag_type, size >> 8, size & 0xFF, (ts >> 8) & 0xFFFF, ts & 0xFF, ts >> 24, sid >> 8, sid & 0xFF
        )

    def to_bytes(self) -> bytes:
        """The tag header, body and its PreviousTagSize."""
        return b"".join((self.header_bytes(), self.data, _U32.pack(11 + len(self.data))))


class FlvReader:
    """Reads an FLV byte stream fed in any split into :class:`FlvTag` values.

    Memory stays bounded: at most one tag (limited by :attr:`Limits.max_flv_tag_size
    <mediaproto.rtmp.Limits>`) is buffered.

    :param limits: the package's bounds (``max_flv_tag_size`` applies).
    :param check_previous_tag_size: whether a PreviousTagSize that is not 11 plus the previous tag's
        data size is an error (strict, the default) or ignored.
    """

    __slots__ = ("limits", "check_previous_tag_size", "header", "_buf", "_pos", "_consumed", "_last_size",
                 "_broken")

    def __init__(self, limits: Limits | None = None, *, check_previous_tag_size: bool = True) -> None:
        self.limits = limits or Limits()
        self.check_previous_tag_size = check_previous_tag_size
        #: The file header, once read.
        self.header: FlvHeader | None = None
        self._buf = bytearray()
        self._pos = 0
        self._consumed = 0  # bytes of the stream before _buf[0]
        self._last_size: int | None = None  # expected next PreviousTagSize
        self._broken = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a tag."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> list[FlvTag]:
        """Add bytes; return the tags completed by them."""
        if self._broken:
            raise LocalProtocolError("this FlvReader raised an error before")
        try:
            return self._feed(data)
        except ParseError:
            self._broken = True
            raise

    def _feed(self, data: bytes | bytearray | memoryview) -> list[FlvTag]:
        buf = self._buf
        if self._pos and self._pos >= len(buf) // 2:
            del buf[: self._pos]
            self._consumed += self._pos
            self._pos = 0
        buf += data
        tags: list[FlvTag] = []
        pos = self._pos
        end = len(buf)
        if self.header is None:
            if end - pos < 9:
                return tags
            header = FlvHeader.parse(bytes(buf[pos : pos + 9]))
            if end - pos < header.data_offset:
                return tags
            self.header = header
            pos += header.data_offset
            self._last_size = 0
        max_size = self.limits.max_flv_tag_size
        check = self.check_previous_tag_size
        while end - pos >= 15:
            prev = _U32.unpack_from(buf, pos)[0]
            if check and prev != self._last_size:
                raise ParseError(
                    f"PreviousTagSize {prev} does not match the previous tag ({self._last_size})",
                    offset=self._consumed + pos,
                )
            tag_type, s_hi, s_lo, t_hi, t_lo, t_ext, sid_hi, sid_lo = _TAG_HEADER.unpack_from(buf, pos + 4)
            size = s_hi << 8 | s_lo
            if size > max_size:
                raise LimitExceeded(f"FLV tag of {size} bytes over max_flv_tag_size={max_size}", offset=self._consumed + pos + 5)
            if tag_type & 0x20:
                raise ParseError("encrypted FLV tags (Filter bit) are not supported", offset=self._consumed + pos + 4)
            body = pos + 15
            if end - body < size:
                break
            tags.append(
                FlvTag(tag_type & 0x1F, t_ext << 24 | t_hi << 8 | t_lo, sid_hi << 8 | sid_lo, bytes(buf[body : body + size]))
            )
            self._last_size = 11 + size
            pos = body + size
        self._pos = pos
        return tags

    def flush(self) -> list[FlvTag]:
        """Declare the end of the stream. :meth:`feed` has returned every whole tag already, so this
        returns ``[]``; it raises :class:`~mediaproto.errors.ParseError` when a tag or the header is
        cut short. The last PreviousTagSize may be missing (files cut by a crash)."""
        if self._broken:
            return []
        rest = len(self._buf) - self._pos
        if self.header is None:
            raise ParseError("FLV stream ended inside the file header", offset=self._consumed + self._pos)
        if rest > 4:
            raise ParseError("FLV stream ended inside a tag", offset=self._consumed + self._pos)
        return []


def read_flv(
    data: bytes | bytearray | memoryview, limits: Limits | None = None, *, check_previous_tag_size: bool = True
) -> tuple[FlvHeader, list[FlvTag]]:
    """Read a whole FLV file held in memory: its header and all its tags."""
    reader = FlvReader(limits, check_previous_tag_size=check_previous_tag_size)
    tags = reader.feed(data)
    tags += reader.flush()
    header = reader.header
    if header is None:  # pragma: no cover - close() raised already
        raise ParseError("no FLV header", offset=0)
    return header, tags


class FlvWriter:
    """Writes an FLV byte stream: the header (with PreviousTagSize0) before the first tag, then each
    tag with its PreviousTagSize."""

    __slots__ = ("header", "_started")

    def __init__(self, has_audio: bool = True, has_video: bool = True) -> None:
        self.header = FlvHeader(has_audio=has_audio, has_video=has_video)
        self._started = False

    def start(self) -> bytes:
        """The header and PreviousTagSize0 (returned once; later calls return ``b""``)."""
        if self._started:
            return b""
        self._started = True
        return self.header.to_bytes() + b"\x00\x00\x00\x00"

    def write(self, tag: FlvTag) -> bytes:
        """The bytes of ``tag`` (preceded by the header on the first call)."""
        return self.start() + tag.to_bytes()

    def write_all(self, tags: Iterable[FlvTag]) -> bytes:
        """The bytes of several tags."""
        return self.start() + b"".join(tag.to_bytes() for tag in tags)
