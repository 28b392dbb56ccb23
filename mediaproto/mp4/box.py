"""The ISO BMFF box codec (ISO/IEC 14496-12 section 4.2): headers, the box registry, raw and
container boxes, and the bounded reader every box type parses with.

A box is ``size`` (32 bits), ``type`` (four bytes), then ``largesize`` (64 bits) when ``size`` is 1,
and a 16-byte ``usertype`` when the type is ``uuid``; ``size`` 0 means the box runs to the end of
its container (or of the file). Every box class here has ``box_type`` and serializes with
:meth:`Box.to_bytes` (or ``bytes(box)``); :func:`parse_boxes` reads a sequence of boxes.

Boxes whose type is not registered come back as :class:`RawBox` with their payload untouched and
are written back byte for byte; a registered box whose bytes are canonical (what this package's
writer produces for its fields) also writes back byte for byte. Parsing is bounded by
:class:`Limits` and raises only :class:`~mediaproto.errors.ParseError` and
:class:`~mediaproto.errors.LimitExceeded`, with the byte offset of the fault in the input.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ..errors import LimitExceeded, LocalProtocolError, ParseError
from .. import errors

__all__ = [
    "Limits",
    "Box",
    "RawBox",
    "ContainerBox",
    "Reader",
    "parse_boxes",
    "parse_box",
    "box_header",
    "register",
    "CONTAINER_TYPES",
    "BoxT",
]

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HDR = struct.Struct(">I4s")


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on untrusted MP4 input.

    :param max_box_size: bytes of one top-level box (a fragment's ``mdat`` included); the demuxer
        buffers at most this much.
    :param max_depth: nesting depth of boxes (``moov/trak/mdia/minf/stbl/stsd/avc1/avcC`` is 8).
    :param max_children: boxes inside one container.
    :param max_entries: entries of one table box (``stts``, ``sidx`` references, ``dref``, ...).
    :param max_samples_per_trun: samples of one ``trun`` box.
    :param max_tracks: tracks of one movie.
    :param max_sample_size: bytes of one sample (8 MiB per access unit, as mediacommon).
    :param max_nal_units: NAL units in one video sample (50, as mediacommon).
    """

    max_box_size: int = 64 << 20
    max_depth: int = 16
    max_children: int = 4096
    max_entries: int = 1 << 20
    max_samples_per_trun: int = 1 << 16
    max_tracks: int = 32
    max_sample_size: int = 8 << 20
    max_nal_units: int = 50


class Reader:
    """A bounded big-endian reader over ``data[pos:end]`` that reports offsets as ``base + pos``.

    Every read past ``end`` raises :class:`~mediaproto.errors.ParseError` naming what was read.
    """

    __slots__ = ("data", "pos", "end", "base", "limits", "depth")

    def __init__(self, data: bytes, pos: int, end: int, *, base: int = 0, limits: Limits | None = None,
                 depth: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.base = base
        self.limits = limits if limits is not None else Limits()
        self.depth = depth

    @property
    def offset(self) -> int:
        """The absolute offset of the next byte."""
        return self.base + self.pos

    @property
    def left(self) -> int:
        """Bytes left before ``end``."""
        return self.end - self.pos

    def need(self, n: int, what: str) -> None:
        """Raise :class:`ParseError` unless ``n`` more bytes are there."""
        if self.pos + n > self.end:
            raise ParseError(f"truncated {what}: needs {n} bytes, {self.end - self.pos} left", offset=self.offset)

    def take(self, n: int, what: str) -> bytes:
        """``n`` bytes, consumed."""
        self.need(n, what)
        pos = self.pos
        self.pos = pos + n
        return self.data[pos:pos + n]

    def rest(self) -> bytes:
        """The bytes left, consumed."""
        out = self.data[self.pos:self.end]
        self.pos = self.end
        return out

    def u8(self, what: str) -> int:
        self.need(1, what)
        self.pos += 1
        return self.data[self.pos - 1]

    def u16(self, what: str) -> int:
        self.need(2, what)
        self.pos += 2
        return int.from_bytes(self.data[self.pos - 2:self.pos], "big")

    def u24(self, what: str) -> int:
        self.need(3, what)
        self.pos += 3
        return int.from_bytes(self.data[self.pos - 3:self.pos], "big")

    def u32(self, what: str) -> int:
        self.need(4, what)
        self.pos += 4
        return int(_U32.unpack_from(self.data, self.pos - 4)[0])

    def u64(self, what: str) -> int:
        self.need(8, what)
        self.pos += 8
        return int(_U64.unpack_from(self.data, self.pos - 8)[0])

    def s16(self, what: str) -> int:
        v = self.u16(what)
        return v - 0x10000 if v & 0x8000 else v

    def s32(self, what: str) -> int:
        v = self.u32(what)
        return v - (1 << 32) if v & 0x80000000 else v

    def uint(self, version: int, what: str) -> int:
        """A 64-bit field when ``version`` is 1, else 32-bit (mvhd, tkhd, mdhd, tfdt, sidx ...)."""
        return self.u64(what) if version == 1 else self.u32(what)

    def full_header(self, what: str) -> tuple[int, int]:
        """The FullBox ``version`` (8 bits) and ``flags`` (24 bits)."""
        v = self.u32(f"{what} version and flags")
        return v >> 24, v & 0xFFFFFF

    def count(self, what: str, limit: int, entry_size: int) -> int:
        """A 32-bit entry count, checked against ``limit`` and against the bytes left."""
        at = self.offset
        n = self.u32(what)
        if n > limit:
            raise LimitExceeded(f"{what} {n} exceeds the limit of {limit}", offset=at)
        if n * entry_size > self.left:
            raise ParseError(f"{what} {n} needs {n * entry_size} bytes, {self.left} left", offset=at)
        return n

    def children(self) -> tuple[Box, ...]:
        """The boxes from here to ``end``, one level deeper."""
        return parse_boxes(self.data, self.pos, self.end, base=self.base, limits=self.limits, depth=self.depth + 1)

    def done(self) -> None:
        self.pos = self.end


class Box:
    """The base of every box: ``box_type`` and serialization.

    Subclasses implement :meth:`payload` (the bytes after the header) and register a parser with
    :func:`register`.
    """

    __slots__ = ()
    box_type: ClassVar[bytes] = b""

    def payload(self) -> bytes:
        """The box's bytes after its header."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The whole box: header (32-bit size, or ``largesize`` when needed) and payload."""
        body = self.payload()
        return box_header(self.type_bytes, len(body)) + body

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @property
    def type_bytes(self) -> bytes:
        """The four-byte type (``box_type`` of the class, or of the instance for raw boxes)."""
        return self.box_type

    def child_boxes(self) -> tuple[Box, ...]:
        """The boxes inside this one (container children, ``stsd`` and ``dref`` entries, a sample
        entry's boxes); empty for leaf boxes."""
        return ()


BoxT = TypeVar("BoxT", bound=Box)


def box_header(box_type: bytes, payload_size: int) -> bytes:
    """The header of a box of ``box_type`` with ``payload_size`` bytes after it: a 32-bit size,
    or size 1 and a 64-bit ``largesize`` when the box is 4 GiB or larger."""
    if len(box_type) != 4:
        raise LocalProtocolError(f"box type must be four bytes, not {box_type!r}")
    size = payload_size + 8
    if size <= 0xFFFFFFFF:
        return _HDR.pack(size, box_type)
    return _HDR.pack(1, box_type) + _U64.pack(size + 8)


@dataclass(frozen=True, slots=True)
class RawBox(Box):
    """A box kept as bytes: a type this package does not model, written back unchanged.

    :param raw_type: the four-byte type.
    :param data: the payload after the header (for ``uuid`` boxes, the 16-byte usertype first).
    """

    raw_type: bytes
    data: bytes

    @property
    def type_bytes(self) -> bytes:
        return self.raw_type

    def payload(self) -> bytes:
        return self.data


#: Types read as :class:`ContainerBox`: boxes whose payload is only boxes.
CONTAINER_TYPES = frozenset({
    b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"mfra",
})


@dataclass(frozen=True, slots=True)
class ContainerBox(Box):
    """A box whose payload is a sequence of boxes (``moov``, ``trak``, ``mdia``, ``minf``, ``dinf``,
    ``stbl``, ``mvex``, ``moof``, ``traf``, ``edts``, ``mfra``).

    :param container_type: the four-byte type.
    :param children: the boxes inside, in order.
    """

    container_type: bytes
    children: tuple[Box, ...] = ()

    @property
    def type_bytes(self) -> bytes:
        return self.container_type

    def payload(self) -> bytes:
        return b"".join([c.to_bytes() for c in self.children])

    def all(self, kind: type[BoxT]) -> list[BoxT]:
        """The children that are instances of ``kind``."""
        return [c for c in self.children if isinstance(c, kind)]

    def first(self, kind: type[BoxT]) -> BoxT | None:
        """The first child that is an instance of ``kind``, or ``None``."""
        for c in self.children:
            if isinstance(c, kind):
                return c
        return None

    def containers(self, container_type: bytes) -> list[ContainerBox]:
        """The child containers of ``container_type`` (``b"trak"``, ``b"traf"``)."""
        return [c for c in self.children if isinstance(c, ContainerBox) and c.container_type == container_type]

    def container(self, container_type: bytes) -> ContainerBox | None:
        """The first child container of ``container_type``, or ``None``."""
        found = self.containers(container_type)
        return found[0] if found else None

    def child_boxes(self) -> tuple[Box, ...]:
        return self.children

    def walk(self) -> Iterator[Box]:
        """Every box inside, depth first (into sample descriptions and sample entries too)."""
        stack = list(reversed(self.children))
        while stack:
            c = stack.pop()
            yield c
            stack.extend(reversed(c.child_boxes()))


_Parser = Callable[[Reader], Box]
_REGISTRY: dict[bytes, _Parser] = {}


def register(box_type: bytes) -> Callable[[_Parser], _Parser]:
    """Register the payload parser of ``box_type`` (a function of a :class:`Reader` over the
    payload that returns the box)."""

    def deco(fn: _Parser) -> _Parser:
        _REGISTRY[box_type] = fn
        return fn

    return deco


def parse_box(data: bytes, pos: int, end: int, *, base: int = 0, limits: Limits | None = None,
              depth: int = 0) -> tuple[Box, int]:
    """Parse the box at ``data[pos:]`` within ``end``; returns the box and the position after it."""
    limits = limits if limits is not None else Limits()
    at = base + pos
    if depth > limits.max_depth:
        raise LimitExceeded(f"boxes nested deeper than {limits.max_depth}", offset=at)
    if pos + 8 > end:
        raise ParseError(f"truncated box header: {end - pos} bytes", offset=at)
    size, box_type = _HDR.unpack_from(data, pos)
    header = 8
    if size == 1:
        if pos + 16 > end:
            raise ParseError("truncated largesize", offset=at + 8)
        size = _U64.unpack_from(data, pos + 8)[0]
        header = 16
    elif size == 0:
        size = end - pos
    if size < header:
        raise ParseError(f"box {box_type!r} size {size} is smaller than its header", offset=at)
    if pos + size > end:
        raise ParseError(f"box {box_type!r} of {size} bytes runs past the end ({end - pos} left)", offset=at)
    box_end = pos + size
    start = pos + header
    if box_type in CONTAINER_TYPES:
        children = parse_boxes(data, start, box_end, base=base, limits=limits, depth=depth + 1)
        return ContainerBox(box_type, children), box_end
    parser = _REGISTRY.get(box_type)
    if parser is None:
        return RawBox(box_type, data[start:box_end]), box_end
    reader = Reader(data, start, box_end, base=base, limits=limits, depth=depth)
    box = parser(reader)
    if reader.pos != box_end:
        raise ParseError(f"{box_end - reader.pos} bytes left over in box {box_type!r}", offset=reader.offset)
    return box, box_end


def parse_boxes(data: bytes | bytearray | memoryview, pos: int = 0, end: int | None = None, *, base: int = 0,
                limits: Limits | None = None, depth: int = 0) -> tuple[Box, ...]:
    """Parse the boxes of ``data[pos:end]`` (all of ``data`` by default). ``base`` is added to
    every offset an error reports."""
    raw = data if isinstance(data, bytes) else bytes(data)
    end = len(raw) if end is None else end
    limits = limits if limits is not None else Limits()
    boxes: list[Box] = []
    while pos < end:
        if len(boxes) >= limits.max_children:
            raise LimitExceeded(f"more than {limits.max_children} boxes in one container", offset=base + pos)
        box, pos = parse_box(raw, pos, end, base=base, limits=limits, depth=depth)
        boxes.append(box)
    return tuple(boxes)
