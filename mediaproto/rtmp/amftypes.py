"""The Python values AMF0 and AMF3 share.

The decoding bounds are fields of :class:`mediaproto.rtmp.Limits` (``max_amf_depth``,
``max_amf_items``, ``max_amf_string``).

How AMF values map to Python (both versions):

==========================  ==========================================================
AMF                          Python
==========================  ==========================================================
number / double              :class:`float` (an :class:`int` encodes as a number in AMF0;
                             AMF3 integers decode to :class:`int`)
boolean                      :class:`bool`
string / long string         :class:`str`
null                         ``None``
undefined                    :data:`UNDEFINED`
unsupported (AMF0)           :data:`UNSUPPORTED`
anonymous object             :class:`dict` (string keys)
typed object                 :class:`TypedObject`
ECMA array (AMF0)            :class:`EcmaArray` (a :class:`dict` subclass)
strict / dense array         :class:`list`
date                         an aware :class:`datetime.datetime` in UTC
XML document                 :class:`XmlDocument` (a :class:`str` subclass)
XML (AMF3)                   :class:`Xml` (a :class:`str` subclass)
ByteArray (AMF3)             :class:`bytes`
==========================  ==========================================================
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Sentinel",
    "UNDEFINED",
    "UNSUPPORTED",
    "XmlDocument",
    "Xml",
    "EcmaArray",
    "TypedObject",
    "MixedArray",
    "IntVector",
    "UIntVector",
    "DoubleVector",
    "ObjectVector",
    "Dictionary",
    "is_amf3_only",
]


class Sentinel(enum.Enum):
    """The AMF values without a Python counterpart."""

    UNDEFINED = "undefined"
    UNSUPPORTED = "unsupported"

    def __repr__(self) -> str:
        return self.name


#: AMF ``undefined`` (AMF0 marker 0x06, AMF3 marker 0x00).
UNDEFINED = Sentinel.UNDEFINED
#: AMF0 ``unsupported`` (marker 0x0D).
UNSUPPORTED = Sentinel.UNSUPPORTED


class XmlDocument(str):
    """An XML document (AMF0 marker 0x0F, AMF3 legacy XMLDocument marker 0x07), as text."""

    __slots__ = ()


class Xml(str):
    """An E4X XML value (AMF3 marker 0x0B), as text."""

    __slots__ = ()


class EcmaArray(dict):  # type: ignore[type-arg]
    """An AMF0 ECMA array: an associative array with string keys (``onMetaData`` uses it).

    The count written before the entries is only a hint: FFmpeg and others write it, but the
    entries run until the object end marker, and the decoder does not trust the count.
    """

    __slots__ = ()


@dataclass(eq=True)
class TypedObject:
    """An object of a named class (AMF0 typed object, AMF3 object with a class name).

    :param class_name: the class alias, as the peer named it.
    :param properties: its properties (for AMF3: the sealed members then the dynamic ones).
    """

    class_name: str
    properties: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.properties[key]


# The AMF3-only values.


@dataclass
class MixedArray:
    """An AMF3 array with both an associative (string keys) and a dense part."""

    dense: list[Any] = field(default_factory=list)
    associative: dict[str, Any] = field(default_factory=dict)


class IntVector(list):  # type: ignore[type-arg]
    """``Vector.<int>`` (marker 0x0D); ``fixed`` is the vector's fixed-length flag."""

    __slots__ = ("fixed",)

    def __init__(self, items: Iterable[int] = (), fixed: bool = False) -> None:
        super().__init__(items)
        self.fixed = fixed


class UIntVector(list):  # type: ignore[type-arg]
    """``Vector.<uint>`` (marker 0x0E)."""

    __slots__ = ("fixed",)

    def __init__(self, items: Iterable[int] = (), fixed: bool = False) -> None:
        super().__init__(items)
        self.fixed = fixed


class DoubleVector(list):  # type: ignore[type-arg]
    """``Vector.<Number>`` (marker 0x0F)."""

    __slots__ = ("fixed",)

    def __init__(self, items: Iterable[float] = (), fixed: bool = False) -> None:
        super().__init__(items)
        self.fixed = fixed


class ObjectVector(list):  # type: ignore[type-arg]
    """``Vector.<T>`` of objects (marker 0x10); ``type_name`` is T's class name (``""`` for ``*``)."""

    __slots__ = ("fixed", "type_name")

    def __init__(self, items: Iterable[Any] = (), fixed: bool = False, type_name: str = "") -> None:
        super().__init__(items)
        self.fixed = fixed
        self.type_name = type_name


class Dictionary(list):  # type: ignore[type-arg]
    """An AMF3 ``flash.utils.Dictionary`` as a list of ``(key, value)`` pairs (keys may be objects)."""

    __slots__ = ("weak_keys",)

    def __init__(self, items: Iterable[tuple[Any, Any]] = (), weak_keys: bool = False) -> None:
        super().__init__(items)
        self.weak_keys = weak_keys


_VECTOR_TYPES = (IntVector, UIntVector, DoubleVector, ObjectVector)


def is_amf3_only(value: object) -> bool:
    """Whether ``value`` has no AMF0 form (AMF0 writes it through the AVM+ switch)."""
    return isinstance(value, (Xml, MixedArray, Dictionary, *_VECTOR_TYPES))
