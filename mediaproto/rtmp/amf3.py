"""AMF3 (Adobe Action Message Format 3), as RTMP carries it after the AMF0 AVM+ switch.

>>> loads(dumps({"a": [1, 2.5, "x", "x"]}))
{'a': [1, 2.5, 'x', 'x']}

Every marker is handled: undefined (0x00), null (0x01), false (0x02), true (0x03), integer (0x04,
a signed 29-bit U29), double (0x05), string (0x06), XMLDocument (0x07), date (0x08), array (0x09,
dense and associative parts), object (0x0A: sealed, dynamic and externalizable traits), XML (0x0B),
ByteArray (0x0C), the vectors int/uint/double/object (0x0D-0x10) and dictionary (0x11), with the
string, object and traits reference tables.

Python values, beyond those of :mod:`mediaproto.rtmp.amftypes`: an AMF3 integer decodes as
:class:`int` (and an :class:`int` in -2**28 .. 2**28-1 is written as one, others as a double); an
array with only a dense part is a :class:`list`, with only an associative part an
:class:`~mediaproto.rtmp.amftypes.EcmaArray`, with both a :class:`MixedArray`; a ByteArray is
:class:`bytes`; vectors are :class:`IntVector`, :class:`UIntVector`, :class:`DoubleVector` and
:class:`ObjectVector` (lists with the ``fixed`` flag); a dictionary is a :class:`Dictionary`, a list
of ``(key, value)`` pairs since AMF3 keys may be objects.

Externalizable objects carry data only their class knows how to read: they decode only when a
handler for the class name is given in ``externals`` (the defaults read Flex's ``ArrayCollection``
and ``ObjectProxy``, which wrap one AMF3 value); any other is a
:class:`~mediaproto.errors.ParseError`.

The encoder writes string references for repeated strings, object references for a container that
appears twice, and traits references for repeated classes.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import LimitExceeded, ParseError
from .amf3_encode import dumps, dumps_all
from .amftypes import (
    UNDEFINED,
    Dictionary,
    DoubleVector,
    EcmaArray,
    IntVector,
    MixedArray,
    ObjectVector,
    TypedObject,
    UIntVector,
    Xml,
    XmlDocument,
    is_amf3_only,
)
from .limits import Limits

__all__ = [
    "dumps",
    "dumps_all",
    "loads",
    "loads_all",
    "decode_at",
    "Decoder",
    "MixedArray",
    "IntVector",
    "UIntVector",
    "DoubleVector",
    "ObjectVector",
    "Dictionary",
    "DEFAULT_EXTERNALS",
    "is_amf3_only",
]

_DOUBLE = struct.Struct(">d")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_DEFAULT_LIMITS = Limits()



@dataclass(frozen=True, slots=True)
class _Traits:
    class_name: str
    dynamic: bool
    externalizable: bool
    members: tuple[str, ...]


def _read_wrapped(dec: Decoder) -> Any:
    return dec.read_value()


#: The externalizable classes read by default: Flex's wrappers of one AMF3 value.
DEFAULT_EXTERNALS: Mapping[str, Callable[[Decoder], Any]] = {
    "flex.messaging.io.ArrayCollection": _read_wrapped,
    "flex.messaging.io.ObjectProxy": _read_wrapped,
}


class Decoder:
    """Reads AMF3 values from ``data`` at :attr:`pos` (handlers of externalizable classes call
    :meth:`read_value` and the ``read_*`` helpers to read their data)."""

    __slots__ = ("data", "pos", "end", "limits", "strings", "objects", "traits", "depth", "items", "externals")

    def __init__(
        self,
        data: bytes,
        pos: int = 0,
        *,
        limits: Limits = _DEFAULT_LIMITS,
        externals: Mapping[str, Callable[[Decoder], Any]] = DEFAULT_EXTERNALS,
        depth: int = 0,
        items: int = 0,
    ) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data)
        self.limits = limits
        self.externals = externals
        self.strings: list[str] = []
        self.objects: list[Any] = []
        self.traits: list[_Traits] = []
        self.depth = depth
        self.items = items

    def _truncated(self, what: str) -> ParseError:
        return ParseError(f"AMF3: truncated {what}", offset=self.pos)

    def read_u29(self) -> int:
        """An unsigned 29-bit variable-length integer (1 to 4 bytes)."""
        data = self.data
        pos = self.pos
        end = self.end
        result = 0
        for i in range(4):
            if pos >= end:
                raise self._truncated("U29 integer")
            b = data[pos]
            pos += 1
            if i == 3:
                result = (result << 8) | b
                break
            result = (result << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        self.pos = pos
        return result

    def read_bytes(self, length: int, what: str) -> bytes:
        """``length`` raw bytes."""
        pos = self.pos
        if length > self.limits.max_amf_string:
            raise LimitExceeded(f"AMF3: {what} of {length} bytes over the limit", offset=pos)
        if pos + length > self.end:
            raise self._truncated(what)
        self.pos = pos + length
        return self.data[pos : pos + length]

    def _utf8(self, length: int, what: str) -> str:
        start = self.pos
        raw = self.read_bytes(length, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"AMF3: {what} is not UTF-8", offset=start + exc.start) from None

    def read_string(self) -> str:
        """A UTF-8-vr string (inline or a string-table reference)."""
        start = self.pos
        header = self.read_u29()
        if not header & 1:
            index = header >> 1
            if index >= len(self.strings):
                raise ParseError(f"AMF3: string reference {index} out of range", offset=start)
            return self.strings[index]
        text = self._utf8(header >> 1, "string")
        if text:
            self.strings.append(text)
        return text

    def _object_ref(self, header: int, start: int) -> Any:
        index = header >> 1
        if index >= len(self.objects):
            raise ParseError(f"AMF3: object reference {index} out of range", offset=start)
        return self.objects[index]

    def _count(self, count: int, item_size: int, start: int, what: str) -> None:
        if count * item_size > self.end - self.pos:
            raise ParseError(f"AMF3: {what} of {count} items runs past the end", offset=start)
        self.items += count
        if self.items > self.limits.max_amf_items:
            raise LimitExceeded(f"AMF3: more than {self.limits.max_amf_items} items", offset=start)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_amf_depth:
            raise LimitExceeded(f"AMF3: nesting deeper than {self.limits.max_amf_depth}", offset=self.pos)

    def read_value(self) -> Any:
        """One AMF3 value (type marker and body)."""
        pos = self.pos
        if pos >= self.end:
            raise self._truncated("value (no type marker)")
        marker = self.data[pos]
        self.pos = pos + 1
        if marker == 0x06:
            return self.read_string()
        if marker == 0x04:
            value = self.read_u29()
            return value - (1 << 29) if value & (1 << 28) else value
        if marker == 0x05:
            if self.pos + 8 > self.end:
                raise self._truncated("double")
            self.pos += 8
            return _DOUBLE.unpack_from(self.data, self.pos - 8)[0]
        if marker <= 0x03:
            return (UNDEFINED, None, False, True)[marker]
        if marker > 0x11:
            raise ParseError(f"AMF3: unknown type marker 0x{marker:02x}", offset=pos)
        start = self.pos
        header = self.read_u29()
        if not header & 1:
            return self._object_ref(header, start)
        self._enter()
        value = _COMPLEX[marker](self, header, start)
        self.depth -= 1
        return value

    # The complex markers: each gets the U29 header (low bit 1: inline) and its offset.

    def _read_xml_doc(self, header: int, start: int) -> Any:
        value = XmlDocument(self._utf8(header >> 1, "XMLDocument"))
        self.objects.append(value)
        return value

    def _read_xml(self, header: int, start: int) -> Any:
        value = Xml(self._utf8(header >> 1, "XML"))
        self.objects.append(value)
        return value

    def _read_date(self, header: int, start: int) -> Any:
        if self.pos + 8 > self.end:
            raise self._truncated("date")
        (millis,) = _DOUBLE.unpack_from(self.data, self.pos)
        if not math.isfinite(millis):
            raise ParseError("AMF3: date is not a finite number", offset=self.pos)
        try:
            value = _EPOCH + _dt.timedelta(milliseconds=millis)
        except OverflowError:
            raise ParseError(f"AMF3: date {millis} ms out of range", offset=self.pos) from None
        self.pos += 8
        self.objects.append(value)
        return value

    def _read_bytearray(self, header: int, start: int) -> Any:
        value = self.read_bytes(header >> 1, "ByteArray")
        self.objects.append(value)
        return value

    def _read_array(self, header: int, start: int) -> Any:
        dense_count = header >> 1
        slot = len(self.objects)
        self.objects.append(None)  # placeholder until we know the Python type
        assoc: dict[str, Any] = {}
        while True:
            key = self.read_string()
            if not key:
                break
            self._count(1, 1, start, "associative array")
            assoc[key] = self.read_value()
        self._count(dense_count, 1, start, "dense array")
        dense: list[Any] = []
        result: Any
        if not assoc:
            result = dense
        elif dense_count:
            result = MixedArray(dense, assoc)
        else:
            result = EcmaArray(assoc)
        self.objects[slot] = result
        read = self.read_value
        for _ in range(dense_count):
            dense.append(read())
        return result

    def _read_traits(self, header: int, start: int) -> _Traits:
        if not header & 2:
            index = header >> 2
            if index >= len(self.traits):
                raise ParseError(f"AMF3: traits reference {index} out of range", offset=start)
            return self.traits[index]
        externalizable = bool(header & 4)
        dynamic = bool(header & 8)
        count = header >> 4
        class_name = self.read_string()
        if externalizable:
            count = 0
        self._count(count, 1, start, "sealed member list")
        members = tuple(self.read_string() for _ in range(count))
        traits = _Traits(class_name, dynamic, externalizable, members)
        self.traits.append(traits)
        return traits

    def _read_object(self, header: int, start: int) -> Any:
        traits = self._read_traits(header, start)
        if traits.externalizable:
            handler = self.externals.get(traits.class_name)
            if handler is None:
                raise ParseError(
                    f"AMF3: externalizable class {traits.class_name!r} has no registered reader",
                    offset=start,
                )
            slot = len(self.objects)
            self.objects.append(None)
            value = handler(self)
            self.objects[slot] = value
            return value
        props: dict[str, Any] = {}
        obj: Any = TypedObject(traits.class_name, props) if traits.class_name else props
        self.objects.append(obj)
        self._count(len(traits.members), 1, start, "object")
        read = self.read_value
        for name in traits.members:
            props[name] = read()
        if traits.dynamic:
            while True:
                key = self.read_string()
                if not key:
                    break
                self._count(1, 1, start, "dynamic object")
                props[key] = read()
        return obj

    def _read_vector(self, header: int, start: int) -> Any:
        marker = self.data[start - 1]
        count = header >> 1
        if self.pos >= self.end:
            raise self._truncated("vector")
        fixed = self.data[self.pos] != 0
        self.pos += 1
        vector: Any
        if marker == 0x10:
            type_name = self.read_string()
            self._count(count, 1, start, "vector")
            vector = ObjectVector((), fixed, type_name)
            self.objects.append(vector)
            read = self.read_value
            for _ in range(count):
                vector.append(read())
            return vector
        fmt, cls = {0x0D: ("i", IntVector), 0x0E: ("I", UIntVector), 0x0F: ("d", DoubleVector)}[marker]
        size = 8 if fmt == "d" else 4
        self._count(count, size, start, "vector")
        items = struct.unpack_from(f">{count}{fmt}", self.data, self.pos)
        self.pos += count * size
        vector = cls(items, fixed)
        self.objects.append(vector)
        return vector

    def _read_dictionary(self, header: int, start: int) -> Any:
        count = header >> 1
        if self.pos >= self.end:
            raise self._truncated("dictionary")
        weak = self.data[self.pos] != 0
        self.pos += 1
        self._count(count, 2, start, "dictionary")
        result = Dictionary((), weak)
        self.objects.append(result)
        read = self.read_value
        for _ in range(count):
            key = read()
            result.append((key, read()))
        return result


_COMPLEX: dict[int, Callable[[Decoder, int, int], Any]] = {
    0x07: Decoder._read_xml_doc,
    0x08: Decoder._read_date,
    0x09: Decoder._read_array,
    0x0A: Decoder._read_object,
    0x0B: Decoder._read_xml,
    0x0C: Decoder._read_bytearray,
    0x0D: Decoder._read_vector,
    0x0E: Decoder._read_vector,
    0x0F: Decoder._read_vector,
    0x10: Decoder._read_vector,
    0x11: Decoder._read_dictionary,
}


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


def _decode(dec: Decoder) -> Any:
    try:
        return dec.read_value()
    except RecursionError:
        raise LimitExceeded("AMF3: nesting too deep for the interpreter", offset=dec.pos) from None


def decode_at(
    data: bytes,
    pos: int,
    *,
    limits: Limits = _DEFAULT_LIMITS,
    externals: Mapping[str, Callable[[Decoder], Any]] = DEFAULT_EXTERNALS,
    depth: int = 0,
    items: int = 0,
) -> tuple[Any, int]:
    """Decode one AMF3 value of ``data`` at ``pos`` with fresh reference tables; returns the value
    and the offset after it. ``depth`` and ``items`` continue the counts of an enclosing AMF0 value."""
    dec = Decoder(data, pos, limits=limits, externals=externals, depth=depth, items=items)
    value = _decode(dec)
    return value, dec.pos


def loads(
    data: bytes | bytearray | memoryview,
    *,
    limits: Limits = _DEFAULT_LIMITS,
    externals: Mapping[str, Callable[[Decoder], Any]] = DEFAULT_EXTERNALS,
) -> Any:
    """Decode exactly one AMF3 value; trailing bytes are a :class:`~mediaproto.errors.ParseError`."""
    raw = _as_bytes(data)
    value, pos = decode_at(raw, 0, limits=limits, externals=externals)
    if pos != len(raw):
        raise ParseError(f"AMF3: {len(raw) - pos} bytes after the value", offset=pos)
    return value


def loads_all(
    data: bytes | bytearray | memoryview,
    *,
    limits: Limits = _DEFAULT_LIMITS,
    externals: Mapping[str, Callable[[Decoder], Any]] = DEFAULT_EXTERNALS,
) -> list[Any]:
    """Decode AMF3 values up to the end of ``data``, each with fresh reference tables."""
    raw = _as_bytes(data)
    values = []
    pos = 0
    while pos < len(raw):
        value, pos = decode_at(raw, pos, limits=limits, externals=externals)
        values.append(value)
    return values
