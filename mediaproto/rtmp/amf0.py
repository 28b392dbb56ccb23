"""AMF0 (Adobe Action Message Format 0), the encoding of RTMP commands and ``onMetaData``.

>>> body = dumps_all(["connect", 1.0, {"app": "live"}])
>>> loads_all(body)
['connect', 1.0, {'app': 'live'}]

Every marker of the specification is handled: number (0x00), boolean (0x01), string (0x02),
object (0x03), null (0x05), undefined (0x06), reference (0x07), ECMA array (0x08), object end
(0x09), strict array (0x0A), date (0x0B), long string (0x0C), unsupported (0x0D), XML document
(0x0F), typed object (0x10) and the AVM+ switch (0x11), after which one value follows in AMF3
(:mod:`mediaproto.rtmp.amf3`). The reserved markers movieclip (0x04) and recordset (0x0E) are a
:class:`~mediaproto.errors.ParseError`.

Python values (see :mod:`mediaproto.rtmp.amftypes` for the table): numbers decode as
:class:`float` always (AMF0 has one number type; an :class:`int` is written as a number and comes
back as a float), strings longer than 65535 UTF-8 bytes are written with the long string marker,
a :class:`dict` is an anonymous object, an :class:`EcmaArray` an ECMA array, a :class:`list` a strict
array, an aware :class:`~datetime.datetime` a date (milliseconds since the epoch, time zone 0), and
:class:`bytes` (which AMF0 cannot express) is written through the AVM+ switch as an AMF3 ByteArray.

References (0x07) index the complex values (objects, typed objects, ECMA and strict arrays) of one
top-level value in the order they began; the decoder resolves them to the same Python object (so
cycles are possible), and the encoder writes a reference when the same container object appears
twice. Each value of :func:`dumps_all` / :func:`loads_all` has its own reference table.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
from collections.abc import Iterable
from typing import Any

from ..errors import LimitExceeded, LocalProtocolError, ParseError
from . import amf3
from .amftypes import UNDEFINED as UNDEFINED
from .amftypes import UNSUPPORTED as UNSUPPORTED
from .amftypes import EcmaArray as EcmaArray
from .amftypes import Sentinel
from .amftypes import TypedObject as TypedObject
from .amftypes import XmlDocument as XmlDocument
from .limits import Limits

# The value types (UNDEFINED, UNSUPPORTED, EcmaArray, TypedObject, XmlDocument) are importable
# from here too; they are documented in mediaproto.rtmp.amftypes.
__all__ = [
    "dumps",
    "dumps_all",
    "loads",
    "loads_all",
    "NUMBER",
    "BOOLEAN",
    "STRING",
    "OBJECT",
    "MOVIECLIP",
    "NULL",
    "UNDEFINED_MARKER",
    "REFERENCE",
    "ECMA_ARRAY",
    "OBJECT_END",
    "STRICT_ARRAY",
    "DATE",
    "LONG_STRING",
    "UNSUPPORTED_MARKER",
    "RECORDSET",
    "XML_DOCUMENT",
    "TYPED_OBJECT",
    "AVMPLUS",
]

#: Alias of :data:`UNSUPPORTED`.
Unsupported = UNSUPPORTED

NUMBER = 0x00
BOOLEAN = 0x01
STRING = 0x02
OBJECT = 0x03
MOVIECLIP = 0x04
NULL = 0x05
UNDEFINED_MARKER = 0x06
REFERENCE = 0x07
ECMA_ARRAY = 0x08
OBJECT_END = 0x09
STRICT_ARRAY = 0x0A
DATE = 0x0B
LONG_STRING = 0x0C
UNSUPPORTED_MARKER = 0x0D
RECORDSET = 0x0E
XML_DOCUMENT = 0x0F
TYPED_OBJECT = 0x10
AVMPLUS = 0x11

_DOUBLE = struct.Struct(">d")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_NUMBER_HEAD = struct.Struct(">Bd")
_STRING_HEAD = struct.Struct(">BH")
_LONG_HEAD = struct.Struct(">BI")
_DATE = struct.Struct(">Bdh")
_DATE_BODY = struct.Struct(">dh")

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_DEFAULT_LIMITS = Limits()
_OBJECT_END_BYTES = b"\x00\x00\x09"
_TRUE = b"\x01\x01"
_FALSE = b"\x01\x00"
_NULL = b"\x05"


# --------------------------------------------------------------------------------------- decoding


class _Decoder:
    """Reads AMF0 values from ``data`` starting at ``pos``; one reference table per top value."""

    __slots__ = ("data", "pos", "end", "limits", "refs", "depth", "items")

    def __init__(self, data: bytes, pos: int, limits: Limits) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data)
        self.limits = limits
        self.refs: list[Any] = []
        self.depth = 0
        self.items = 0

    def _truncated(self, what: str) -> ParseError:
        return ParseError(f"AMF0: truncated {what}", offset=self.pos)

    def read_utf8(self, length: int, what: str) -> str:
        pos = self.pos
        end = pos + length
        if end > self.end:
            raise self._truncated(what)
        if length > self.limits.max_amf_string:
            raise LimitExceeded(f"AMF0: {what} of {length} bytes over the limit", offset=pos)
        try:
            text = self.data[pos:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"AMF0: {what} is not UTF-8", offset=pos + exc.start) from None
        self.pos = end
        return text

    def read_key(self) -> str:
        pos = self.pos
        if pos + 2 > self.end:
            raise self._truncated("property name")
        (length,) = _U16.unpack_from(self.data, pos)
        self.pos = pos + 2
        return self.read_utf8(length, "property name") if length else ""

    def _count_item(self) -> None:
        self.items += 1
        if self.items > self.limits.max_amf_items:
            raise LimitExceeded(f"AMF0: more than {self.limits.max_amf_items} items", offset=self.pos)

    def read_properties(self, target: dict[str, Any]) -> None:
        """Read ``name value`` pairs into ``target`` up to and including the object end marker."""
        data = self.data
        while True:
            key_pos = self.pos
            key = self.read_key()
            if not key and self.pos < self.end and data[self.pos] == OBJECT_END:
                self.pos += 1
                return
            if self.pos >= self.end:
                self.pos = key_pos
                raise self._truncated("object (no object end marker)")
            self._count_item()
            target[key] = self.read_value()

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_amf_depth:
            raise LimitExceeded(f"AMF0: nesting deeper than {self.limits.max_amf_depth}", offset=self.pos)

    def read_value(self) -> Any:
        data = self.data
        pos = self.pos
        if pos >= self.end:
            raise self._truncated("value (no type marker)")
        marker = data[pos]
        self.pos = pos = pos + 1
        if marker == STRING:
            if pos + 2 > self.end:
                raise self._truncated("string length")
            (length,) = _U16.unpack_from(data, pos)
            self.pos = pos + 2
            return self.read_utf8(length, "string")
        if marker == NUMBER:
            if pos + 8 > self.end:
                raise self._truncated("number")
            self.pos = pos + 8
            return _DOUBLE.unpack_from(data, pos)[0]
        if marker == BOOLEAN:
            if pos >= self.end:
                raise self._truncated("boolean")
            self.pos = pos + 1
            return data[pos] != 0
        if marker == NULL:
            self.pos = pos
            return None
        if marker == OBJECT or marker == ECMA_ARRAY:
            obj: dict[str, Any]
            if marker == ECMA_ARRAY:
                if pos + 4 > self.end:
                    raise self._truncated("ECMA array count")
                pos += 4  # the declared count is a hint only (see EcmaArray)
                obj = EcmaArray()
            else:
                obj = {}
            self.pos = pos
            self.refs.append(obj)
            self._enter()
            self.read_properties(obj)
            self.depth -= 1
            return obj
        if marker == STRICT_ARRAY:
            if pos + 4 > self.end:
                raise self._truncated("strict array count")
            (count,) = _U32.unpack_from(data, pos)
            self.pos = pos + 4
            # Each element takes at least one byte: a count beyond the input is a lie, not a plan.
            if count > self.end - self.pos:
                raise ParseError(f"AMF0: strict array of {count} elements runs past the end", offset=pos)
            items: list[Any] = []
            self.refs.append(items)
            self._enter()
            append = items.append
            for _ in range(count):
                self._count_item()
                append(self.read_value())
            self.depth -= 1
            return items
        if marker == UNDEFINED_MARKER:
            self.pos = pos
            return UNDEFINED
        if marker == REFERENCE:
            if pos + 2 > self.end:
                raise self._truncated("reference")
            (index,) = _U16.unpack_from(data, pos)
            if index >= len(self.refs):
                raise ParseError(f"AMF0: reference {index} to an object not yet seen", offset=pos)
            self.pos = pos + 2
            return self.refs[index]
        if marker == DATE:
            if pos + 10 > self.end:
                raise self._truncated("date")
            millis, _tz = _DATE_BODY.unpack_from(data, pos)
            self.pos = pos + 10
            return _date_from_millis(millis, pos)
        if marker == LONG_STRING or marker == XML_DOCUMENT:
            if pos + 4 > self.end:
                raise self._truncated("long string length")
            (length,) = _U32.unpack_from(data, pos)
            self.pos = pos + 4
            if marker == XML_DOCUMENT:
                return XmlDocument(self.read_utf8(length, "XML document"))
            return self.read_utf8(length, "long string")
        if marker == TYPED_OBJECT:
            self.pos = pos
            name = self.read_key()
            typed = TypedObject(name, {})
            self.refs.append(typed)
            self._enter()
            self.read_properties(typed.properties)
            self.depth -= 1
            return typed
        if marker == UNSUPPORTED_MARKER:
            self.pos = pos
            return UNSUPPORTED
        if marker == AVMPLUS:
            self._enter()
            value, self.pos = amf3.decode_at(
                data, pos, limits=self.limits, depth=self.depth, items=self.items
            )
            self.depth -= 1
            return value
        if marker == OBJECT_END:
            raise ParseError("AMF0: object end marker outside an object", offset=pos - 1)
        if marker in (MOVIECLIP, RECORDSET):
            raise ParseError(f"AMF0: reserved type marker 0x{marker:02x}", offset=pos - 1)
        raise ParseError(f"AMF0: unknown type marker 0x{marker:02x}", offset=pos - 1)


def _date_from_millis(millis: float, offset: int) -> _dt.datetime:
    if not math.isfinite(millis):
        raise ParseError("AMF0: date is not a finite number", offset=offset)
    try:
        return _EPOCH + _dt.timedelta(milliseconds=millis)
    except OverflowError:
        raise ParseError(f"AMF0: date {millis} ms out of range", offset=offset) from None


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


def _decode_one(dec: _Decoder) -> Any:
    dec.refs = []
    dec.depth = 0
    dec.items = 0
    try:
        return dec.read_value()
    except RecursionError:
        raise LimitExceeded("AMF0: nesting too deep for the interpreter", offset=dec.pos) from None


def loads(data: bytes | bytearray | memoryview, *, limits: Limits = _DEFAULT_LIMITS) -> Any:
    """Decode exactly one AMF0 value; bytes left after it are a :class:`~mediaproto.errors.ParseError`."""
    dec = _Decoder(_as_bytes(data), 0, limits)
    value = _decode_one(dec)
    if dec.pos != dec.end:
        raise ParseError(f"AMF0: {dec.end - dec.pos} bytes after the value", offset=dec.pos)
    return value


def loads_all(data: bytes | bytearray | memoryview, *, limits: Limits = _DEFAULT_LIMITS) -> list[Any]:
    """Decode a sequence of AMF0 values up to the end of ``data`` (a command message body)."""
    dec = _Decoder(_as_bytes(data), 0, limits)
    values = []
    while dec.pos < dec.end:
        values.append(_decode_one(dec))
    return values


def decode_at(
    data: bytes, pos: int, *, limits: Limits = _DEFAULT_LIMITS
) -> tuple[Any, int]:
    """Decode one AMF0 value of ``data`` at ``pos``; returns it and the offset just after it."""
    dec = _Decoder(data, pos, limits)
    value = _decode_one(dec)
    return value, dec.pos


# --------------------------------------------------------------------------------------- encoding


class _Encoder:
    __slots__ = ("parts", "refs", "depth")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.refs: dict[int, int] = {}
        self.depth = 0

    def write_key(self, key: object) -> None:
        if not isinstance(key, str):
            raise LocalProtocolError(f"AMF0: object keys must be str, got {type(key).__name__}")
        raw = key.encode("utf-8")
        if len(raw) > 0xFFFF:
            raise LocalProtocolError("AMF0: object key longer than 65535 bytes")
        self.parts.append(_U16.pack(len(raw)))
        self.parts.append(raw)

    def write_properties(self, props: dict[Any, Any]) -> None:
        write_key = self.write_key
        write = self.write
        for key, value in props.items():
            write_key(key)
            write(value)
        self.parts.append(_OBJECT_END_BYTES)

    def _reference(self, value: object) -> bool:
        """Write a reference if ``value`` was written before; else remember it. True if written."""
        index = self.refs.get(id(value))
        if index is not None:
            self.parts.append(b"\x07" + _U16.pack(index))
            return True
        if len(self.refs) < 0xFFFF:
            self.refs[id(value)] = len(self.refs)
        return False

    def write(self, value: Any) -> None:
        parts = self.parts
        cls = type(value)
        if cls is str or cls is XmlDocument:
            raw = value.encode("utf-8")
            if cls is XmlDocument:
                parts.append(_LONG_HEAD.pack(XML_DOCUMENT, len(raw)))
            elif len(raw) <= 0xFFFF:
                parts.append(_STRING_HEAD.pack(STRING, len(raw)))
            else:
                parts.append(_LONG_HEAD.pack(LONG_STRING, len(raw)))
            parts.append(raw)
        elif cls is float:
            parts.append(_NUMBER_HEAD.pack(NUMBER, value))
        elif cls is bool:
            parts.append(_TRUE if value else _FALSE)
        elif value is None:
            parts.append(_NULL)
        elif cls is int:
            try:
                parts.append(_NUMBER_HEAD.pack(NUMBER, float(value)))
            except OverflowError:
                raise LocalProtocolError(f"AMF0: integer {value} too large for a number") from None
        elif isinstance(value, dict):
            if self._reference(value):
                return
            self.depth += 1
            if isinstance(value, EcmaArray):
                parts.append(b"\x08" + _U32.pack(len(value)))
            else:
                parts.append(b"\x03")
            self.write_properties(value)
            self.depth -= 1
        elif isinstance(value, (list, tuple)):
            if self._reference(value):
                return
            parts.append(b"\x0a" + _U32.pack(len(value)))
            write = self.write
            for item in value:
                write(item)
        elif isinstance(value, TypedObject):
            if self._reference(value):
                return
            parts.append(b"\x10")
            self.write_key(value.class_name)
            self.write_properties(value.properties)
        elif cls is Sentinel:
            parts.append(b"\x06" if value is UNDEFINED else b"\x0d")
        elif isinstance(value, _dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise LocalProtocolError("AMF0: dates must be timezone-aware (UTC)")
            millis = (value - _EPOCH) / _dt.timedelta(milliseconds=1)
            parts.append(_DATE.pack(DATE, millis, 0))
        elif isinstance(value, str):  # str subclasses other than XmlDocument
            self.write(str(value))
        elif isinstance(value, float):
            parts.append(_NUMBER_HEAD.pack(NUMBER, float(value)))
        elif isinstance(value, int):
            self.write(int(value))
        elif isinstance(value, (bytes, bytearray, memoryview)) or amf3.is_amf3_only(value):
            parts.append(b"\x11")
            parts.append(amf3.dumps(value))
        else:
            raise LocalProtocolError(f"AMF0: cannot encode a {cls.__name__}")


def dumps(value: Any) -> bytes:
    """Encode one value as AMF0 (see the module docs for the Python types accepted).

    Raises :class:`~mediaproto.errors.LocalProtocolError` for values AMF0 cannot express.
    """
    enc = _Encoder()
    try:
        enc.write(value)
    except RecursionError:
        raise LocalProtocolError("AMF0: value nested too deeply to encode") from None
    return b"".join(enc.parts)


def dumps_all(values: Iterable[Any]) -> bytes:
    """Encode several values one after another (a command or data message body)."""
    return b"".join(dumps(v) for v in values)
