"""The AMF3 encoder (:func:`mediaproto.rtmp.amf3.dumps` is this module's :func:`dumps`).

It writes string references for repeated strings, object references for a container that appears
twice in one value, and traits references for repeated classes (and for anonymous objects).
"""

from __future__ import annotations

import datetime as _dt
import struct
from collections.abc import Iterable
from typing import Any

from ..errors import LocalProtocolError
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
)

__all__ = ["dumps", "dumps_all"]

_DOUBLE = struct.Struct(">d")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_INT_MIN = -(1 << 28)
_INT_MAX = (1 << 28) - 1
_VECTOR_TYPES = (IntVector, UIntVector, DoubleVector, ObjectVector)


def _u29(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    if value < 0x4000:
        return bytes((value >> 7 | 0x80, value & 0x7F))
    if value < 0x200000:
        return bytes((value >> 14 | 0x80, (value >> 7) & 0x7F | 0x80, value & 0x7F))
    if value < 0x20000000:
        return bytes((value >> 22 | 0x80, (value >> 15) & 0x7F | 0x80, (value >> 8) & 0x7F | 0x80, value & 0xFF))
    raise LocalProtocolError(f"AMF3: {value} does not fit a U29")


class _Encoder:
    __slots__ = ("parts", "strings", "objects", "traits")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.strings: dict[str, int] = {}
        self.objects: dict[int, int] = {}
        self.traits: dict[tuple[str, bool, tuple[str, ...]], int] = {}

    def write_string(self, text: str) -> None:
        if not isinstance(text, str):
            raise LocalProtocolError(f"AMF3: keys must be str, got {type(text).__name__}")
        if text:
            index = self.strings.get(text)
            if index is not None:
                self.parts.append(_u29(index << 1))
                return
            self.strings[text] = len(self.strings)
        raw = text.encode("utf-8")
        self.parts.append(_u29(len(raw) << 1 | 1))
        self.parts.append(raw)

    def _reference(self, value: object, marker: bytes) -> bool:
        self.parts.append(marker)
        index = self.objects.get(id(value))
        if index is not None:
            self.parts.append(_u29(index << 1))
            return True
        self.objects[id(value)] = len(self.objects)
        return False

    def _traits(self, class_name: str, dynamic: bool, members: tuple[str, ...]) -> None:
        key = (class_name, dynamic, members)
        index = self.traits.get(key)
        if index is not None:
            self.parts.append(_u29(index << 2 | 1))
            return
        self.traits[key] = len(self.traits)
        self.parts.append(_u29(len(members) << 4 | (8 if dynamic else 0) | 3))
        self.write_string(class_name)
        for name in members:
            self.write_string(name)

    def _assoc(self, items: dict[Any, Any]) -> None:
        for key, item in items.items():
            if key == "":
                raise LocalProtocolError("AMF3: an empty string cannot be an associative key")
            self.write_string(key)
            self.write(item)
        self.parts.append(b"\x01")

    def write(self, value: Any) -> None:
        parts = self.parts
        cls = type(value)
        if cls is str:
            parts.append(b"\x06")
            self.write_string(value)
        elif value is None:
            parts.append(b"\x01")
        elif cls is bool:
            parts.append(b"\x03" if value else b"\x02")
        elif cls is int and _INT_MIN <= value <= _INT_MAX:
            parts.append(b"\x04" + _u29(value & 0x1FFFFFFF))
        elif cls is float or cls is int:
            try:
                parts.append(b"\x05" + _DOUBLE.pack(value))
            except OverflowError:
                raise LocalProtocolError(f"AMF3: integer {value} too large for a double") from None
        elif isinstance(value, (XmlDocument, Xml)):
            if not self._reference(value, b"\x07" if isinstance(value, XmlDocument) else b"\x0b"):
                raw = str(value).encode("utf-8")
                parts.append(_u29(len(raw) << 1 | 1))
                parts.append(raw)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            if not self._reference(value, b"\x0c"):
                raw = bytes(value)
                parts.append(_u29(len(raw) << 1 | 1))
                parts.append(raw)
        elif isinstance(value, _VECTOR_TYPES):
            self._write_vector(value)
        elif isinstance(value, Dictionary):
            if not self._reference(value, b"\x11"):
                parts.append(_u29(len(value) << 1 | 1))
                parts.append(b"\x01" if value.weak_keys else b"\x00")
                for key, item in value:
                    self.write(key)
                    self.write(item)
        elif isinstance(value, (list, tuple)):
            if not self._reference(value, b"\x09"):
                parts.append(_u29(len(value) << 1 | 1) + b"\x01")
                for item in value:
                    self.write(item)
        elif isinstance(value, (EcmaArray, MixedArray)):
            if not self._reference(value, b"\x09"):
                dense = value.dense if isinstance(value, MixedArray) else []
                parts.append(_u29(len(dense) << 1 | 1))
                self._assoc(value.associative if isinstance(value, MixedArray) else value)
                for item in dense:
                    self.write(item)
        elif isinstance(value, dict):
            if not self._reference(value, b"\x0a"):
                self._traits("", True, ())
                self._assoc(value)
        elif isinstance(value, TypedObject):
            if not self._reference(value, b"\x0a"):
                members = tuple(value.properties)
                self._traits(value.class_name, False, members)
                for name in members:
                    self.write(value.properties[name])
        elif isinstance(value, _dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise LocalProtocolError("AMF3: dates must be timezone-aware (UTC)")
            if not self._reference(value, b"\x08"):
                parts.append(b"\x01" + _DOUBLE.pack((value - _EPOCH) / _dt.timedelta(milliseconds=1)))
        elif value is UNDEFINED:
            parts.append(b"\x00")
        elif isinstance(value, str):
            self.write(str(value))
        elif isinstance(value, int):
            self.write(int(value))
        elif isinstance(value, float):
            self.write(float(value))
        else:
            raise LocalProtocolError(f"AMF3: cannot encode a {cls.__name__}")

    def _write_vector(self, value: Any) -> None:
        marker = {IntVector: b"\x0d", UIntVector: b"\x0e", DoubleVector: b"\x0f", ObjectVector: b"\x10"}
        if self._reference(value, marker[type(value)]):
            return
        self.parts.append(_u29(len(value) << 1 | 1) + (b"\x01" if value.fixed else b"\x00"))
        if isinstance(value, ObjectVector):
            self.write_string(value.type_name)
            for item in value:
                self.write(item)
            return
        fmt = "i" if isinstance(value, IntVector) else "I" if isinstance(value, UIntVector) else "d"
        try:
            self.parts.append(struct.pack(f">{len(value)}{fmt}", *value))
        except struct.error as exc:
            raise LocalProtocolError(f"AMF3: bad vector item: {exc}") from None


def dumps(value: Any) -> bytes:
    """Encode one value as AMF3 (see the module docs for the Python types accepted)."""
    enc = _Encoder()
    try:
        enc.write(value)
    except RecursionError:
        raise LocalProtocolError("AMF3: value nested too deeply to encode") from None
    return b"".join(enc.parts)


def dumps_all(values: Iterable[Any]) -> bytes:
    """Encode several values one after another, each with fresh reference tables."""
    return b"".join(dumps(v) for v in values)
