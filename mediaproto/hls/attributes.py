"""Attribute lists (RFC 8216 section 4.2): ``NAME=value,NAME=value`` with typed values.

Each attribute's type is fixed by its tag and name, so a tag describes its attributes with a table
of :class:`Attr` (the RFC's ATTRIBUTE-NAME, the Python field name, the value kind, and whether the
attribute is REQUIRED). :func:`parse_attributes` splits an attribute list; :func:`decode` and
:func:`encode` turn it into a dataclass of the tag's value type and back.

Value kinds (the RFC's names):

==================  ==================================  ======================================
kind                wire form                           Python value
==================  ==================================  ======================================
``INT``             decimal-integer ``123``             :class:`int`
``HEX``             hexadecimal-sequence ``0x1F``       :class:`bytes`
``FLOAT``           decimal-floating-point ``2.5``      :class:`float`
``SFLOAT``          signed-decimal-floating-point       :class:`float`
``QUOTED``          quoted-string ``"text"``            :class:`str`
``ENUM``            enumerated-string ``AES-128``       :class:`str`
``BOOL``            enumerated-string ``YES``/``NO``    :class:`bool` (``NO`` is omitted)
``RES``             decimal-resolution ``1280x720``     :class:`Resolution`
``QUOTED_OR_ENUM``  either (``CLOSED-CAPTIONS=NONE``)   :class:`str` or :class:`Enumerated`
==================  ==================================  ======================================

Attributes the table does not name are kept, in order, in the value's ``extra_attributes`` as
``(NAME, raw value text)`` pairs and written back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from ..errors import ParseError

__all__ = [
    "Attr",
    "Resolution",
    "Enumerated",
    "parse_attributes",
    "decode",
    "encode",
    "format_float",
    "INT",
    "HEX",
    "FLOAT",
    "SFLOAT",
    "QUOTED",
    "ENUM",
    "BOOL",
    "RES",
    "QUOTED_OR_ENUM",
]

INT = "decimal-integer"
HEX = "hexadecimal-sequence"
FLOAT = "decimal-floating-point"
SFLOAT = "signed-decimal-floating-point"
QUOTED = "quoted-string"
ENUM = "enumerated-string"
BOOL = "enumerated-string YES/NO"
RES = "decimal-resolution"
QUOTED_OR_ENUM = "quoted-string or enumerated-string"


class Resolution(NamedTuple):
    """A decimal-resolution, ``WIDTHxHEIGHT``."""

    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


class Enumerated(str):
    """An enumerated-string where a quoted-string could also stand (``CLOSED-CAPTIONS=NONE``)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a tag: the RFC's ``name``, the dataclass ``field``, its ``kind``."""

    name: str
    field: str
    kind: str
    required: bool = False


_NAME = r"[A-Z0-9-]+"
_VALUE = r'(?:"[^"\r\n]*"|[^",]*)'
_LIST_RE = re.compile(rf"{_NAME}={_VALUE}(?:,{_NAME}={_VALUE})*")
_PAIR_RE = re.compile(rf"({_NAME})=({_VALUE})")
_INT_RE = re.compile(r"[0-9]{1,20}")
_FLOAT_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_SFLOAT_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_HEX_RE = re.compile(r"0[xX][0-9A-Fa-f]+")
_RES_RE = re.compile(r"([0-9]{1,10})x([0-9]{1,10})")
_ENUM_RE = re.compile(r'[^",\s]+')


def parse_attributes(text: str, line: int | None = None) -> list[tuple[str, str]]:
    """Split an attribute list into ``(NAME, raw value)`` pairs, in order.

    Raises :class:`~mediaproto.errors.ParseError` if the text is not an attribute list or names an
    attribute twice.
    """
    if _LIST_RE.fullmatch(text) is None:
        raise ParseError(f"malformed attribute list {text[:80]!r}", line=line)
    pairs: list[tuple[str, str]] = _PAIR_RE.findall(text)
    if len(pairs) > 1 and len({name for name, _ in pairs}) != len(pairs):
        raise ParseError("an attribute appears twice in one attribute list", line=line)
    return pairs


def _bad(name: str, kind: str, raw: str, line: int | None) -> ParseError:
    return ParseError(f"attribute {name}: {raw[:60]!r} is not a {kind}", line=line)


def decode_value(name: str, kind: str, raw: str, line: int | None = None) -> Any:
    """Convert one raw attribute value of ``kind`` to its Python value."""
    if kind is QUOTED:
        if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
            raise _bad(name, kind, raw, line)
        return raw[1:-1]
    if kind is INT:
        if _INT_RE.fullmatch(raw) is None:
            raise _bad(name, kind, raw, line)
        return int(raw)
    if kind is FLOAT or kind is SFLOAT:
        if (_FLOAT_RE if kind is FLOAT else _SFLOAT_RE).fullmatch(raw) is None:
            raise _bad(name, kind, raw, line)
        return float(raw)
    if kind is BOOL:
        if raw == "YES":
            return True
        if raw == "NO":
            return False
        raise _bad(name, kind, raw, line)
    if kind is ENUM:
        if _ENUM_RE.fullmatch(raw) is None:
            raise _bad(name, kind, raw, line)
        return raw
    if kind is HEX:
        if _HEX_RE.fullmatch(raw) is None:
            raise _bad(name, kind, raw, line)
        digits = raw[2:]
        return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
    if kind is RES:
        m = _RES_RE.fullmatch(raw)
        if m is None:
            raise _bad(name, kind, raw, line)
        return Resolution(int(m.group(1)), int(m.group(2)))
    if kind is QUOTED_OR_ENUM:
        if raw[:1] == '"':
            return decode_value(name, QUOTED, raw, line)
        return Enumerated(decode_value(name, ENUM, raw, line))
    raise AssertionError(kind)  # pragma: no cover - a table error, not input


def format_float(value: float) -> str:
    """The shortest decimal-floating-point text for ``value`` (never an exponent)."""
    text = repr(float(value))
    if "e" in text or "n" in text:
        text = f"{value:.9f}".rstrip("0")
        if text.endswith("."):
            text += "0"
    return text


def encode_value(kind: str, value: Any) -> str:
    """The canonical wire text of one attribute value."""
    if kind is QUOTED:
        return f'"{value}"'
    if kind is INT or kind is ENUM:
        return str(value)
    if kind is FLOAT or kind is SFLOAT:
        return format_float(value)
    if kind is BOOL:
        return "YES" if value else "NO"
    if kind is HEX:
        return "0x" + bytes(value).hex().upper()
    if kind is RES:
        return f"{value[0]}x{value[1]}"
    if kind is QUOTED_OR_ENUM:
        return str(value) if isinstance(value, Enumerated) else f'"{value}"'
    raise AssertionError(kind)  # pragma: no cover


class Schema:
    """The attribute table of one tag, indexed for decoding."""

    __slots__ = ("tag", "attrs", "by_name", "required", "client")

    def __init__(self, tag: str, attrs: list[Attr], client: bool = False) -> None:
        self.tag = tag
        self.attrs = attrs
        self.by_name = {a.name: a for a in attrs}
        self.required = [a.name for a in attrs if a.required]
        #: whether ``X-`` client attributes are typed by their syntax (EXT-X-DATERANGE)
        self.client = client


def _client_value(name: str, raw: str, line: int | None) -> str | bytes | float:
    if raw[:1] == '"':
        return str(decode_value(name, QUOTED, raw, line))
    if raw[:2] in ("0x", "0X"):
        return bytes(decode_value(name, HEX, raw, line))
    return float(decode_value(name, SFLOAT, raw, line))


def decode(
    schema: Schema,
    text: str,
    line: int | None = None,
    subst: Callable[[str, int | None], str] | None = None,
) -> dict[str, Any]:
    """Decode an attribute list into keyword arguments for the tag's value type.

    ``subst`` replaces variable references in quoted-string, hexadecimal-sequence and
    enumerated values (EXT-X-DEFINE).
    """
    kwargs: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    client: list[tuple[str, str | bytes | float]] = []
    by_name = schema.by_name
    for name, raw in parse_attributes(text, line):
        if subst is not None and "{$" in raw and (raw[:1] == '"' or raw[:2] in ("0x", "0X")):
            raw = subst(raw, line)
        attr = by_name.get(name)
        if attr is not None:
            kwargs[attr.field] = decode_value(name, attr.kind, raw, line)
        elif schema.client and name.startswith("X-"):
            client.append((name, _client_value(name, raw, line)))
        else:
            extra.append((name, raw))
    for name in schema.required:
        if by_name[name].field not in kwargs:
            raise ParseError(f"{schema.tag} without its REQUIRED attribute {name}", line=line)
    if extra:
        kwargs["extra_attributes"] = tuple(extra)
    if client:
        kwargs["client_attributes"] = tuple(client)
    return kwargs


def encode(schema: Schema, value: Any) -> str:
    """The canonical attribute list of a tag value (absent, ``None`` and ``False`` values omitted)."""
    parts = []
    for attr in schema.attrs:
        v = getattr(value, attr.field)
        if v is None or v is False:
            continue
        parts.append(f"{attr.name}={encode_value(attr.kind, v)}")
    if schema.client:
        for name, cv in value.client_attributes:
            if isinstance(cv, str):
                parts.append(f'{name}="{cv}"')
            elif isinstance(cv, bytes):
                parts.append(f"{name}=0x{cv.hex().upper()}")
            else:
                parts.append(f"{name}={format_float(cv)}")
    for name, raw in value.extra_attributes:
        parts.append(f"{name}={raw}")
    return ",".join(parts)
