"""RTP packets (RFC 3550 section 5.1) and header extensions (RFC 3550 5.3.1, RFC 8285).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           timestamp                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           synchronization source (SSRC) identifier            |
    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    |            contributing source (CSRC) identifiers             |
    |                             ....                              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

**Padding.** :meth:`RtpPacket.parse` strips the padding and keeps only its length
(:attr:`RtpPacket.padding_length`, counting the final count octet). Serializing writes
``padding_length - 1`` zero octets followed by the count. RFC 3550 leaves the content of the other
padding octets open; senders nearly always use zeros, and for those packets
``bytes(RtpPacket.parse(b)) == b`` holds exactly. A packet whose padding octets are not zero parses
fine, but serializes with zeroed padding (same length, same meaning).

**Header extensions** are kept raw (:class:`HeaderExtension`: the 16-bit profile field and the
data words), so parsing costs nothing extra and every extension round-trips. The RFC 8285 forms
(one-byte ``0xBEDE`` and two-byte ``0x100X``) are decoded on request with
:meth:`HeaderExtension.elements` and built with :meth:`HeaderExtension.from_elements`;
:class:`ExtensionMap` names the ids the way SDP ``a=extmap`` lines declare them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Iterable, Mapping

from ..errors import LocalProtocolError, ParseError

__all__ = [
    "RTP_VERSION",
    "RtpPacket",
    "HeaderExtension",
    "ExtensionMap",
    "ONE_BYTE_PROFILE",
    "TWO_BYTE_PROFILE",
    "is_rtcp",
]

RTP_VERSION = 2
#: The "defined by profile" value of the RFC 8285 one-byte header form.
ONE_BYTE_PROFILE = 0xBEDE
#: The RFC 8285 two-byte header form: ``0x100`` in the top 12 bits, 4 application bits below.
TWO_BYTE_PROFILE = 0x1000

_HEADER = struct.Struct(">BBHII")
_unpack_header = _HEADER.unpack_from
#: The fixed header with V, P, X, CC, M and PT as one 16-bit field (serializing one field less).
_pack_plain = struct.Struct(">HHII").pack
_new = object.__new__
_EXT_HEADER = struct.Struct(">HH")
_CSRC = [struct.Struct(f">{n}I") for n in range(16)]
#: The fixed header and n CSRCs, without and with the extension header, for n = 0..15.
_HEAD = [struct.Struct(f">BBHII{n}I") for n in range(16)]
_HEAD_EXT = [struct.Struct(f">BBHII{n}IHH") for n in range(16)]
#: Padding of n octets: n - 1 zeros and the count.
_PADDING_OCTETS = [b""] + [bytes(n - 1) + bytes((n,)) for n in range(1, 256)]
_EMPTY_EXT: tuple[int, ...] = ()
_BYTE = [bytes((i,)) for i in range(256)]
_PADDING = [b"", b"\0\0\0", b"\0\0", b"\0"]


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram on a shared (rtcp-mux, RFC 5761) port is RTCP rather than RTP.

    RTCP packet types 192-223 fall where the RTP marker bit and payload type would be, and
    RFC 5761 forbids those payload types for RTP on a muxed port.
    """
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(slots=True)
class HeaderExtension:
    """An RTP header extension in its raw form (RFC 3550 5.3.1).

    :param profile: the 16-bit "defined by profile" field (``0xBEDE`` for RFC 8285 one-byte
        elements, ``0x1000``-``0x100F`` for two-byte elements).
    :param data: the extension words; its length must be a multiple of 4 to serialize.
    """

    profile: int
    data: bytes = b""

    @property
    def is_one_byte(self) -> bool:
        """Whether this is the RFC 8285 one-byte form."""
        return self.profile == ONE_BYTE_PROFILE

    @property
    def is_two_byte(self) -> bool:
        """Whether this is the RFC 8285 two-byte form."""
        return self.profile & 0xFFF0 == TWO_BYTE_PROFILE

    @property
    def appbits(self) -> int:
        """The 4 application bits of the two-byte form (0 for other forms)."""
        return self.profile & 0x0F if self.is_two_byte else 0

    def elements(self) -> list[tuple[int, bytes]]:
        """The RFC 8285 elements as ``(id, data)`` pairs, in order.

        Padding octets (id 0) are skipped; in the one-byte form, id 15 stops the parsing as
        RFC 8285 section 4.2 requires.

        :raises ParseError: when the profile is not an RFC 8285 form, or an element runs past the
            end (the offset is into :attr:`data`).
        """
        data = self.data
        end = len(data)
        out: list[tuple[int, bytes]] = []
        append = out.append
        pos = 0
        if self.profile == ONE_BYTE_PROFILE:
            while pos < end:
                b = data[pos]
                if not b:
                    pos += 1
                    continue
                if b >= 0xF0:  # id 15: stop
                    break
                start = pos + 1
                pos = start + (b & 0x0F) + 1
                if pos > end:
                    raise ParseError(f"one-byte header extension element {b >> 4} is truncated", offset=start - 1)
                append((b >> 4, data[start:pos]))
            return out
        if self.profile & 0xFFF0 == TWO_BYTE_PROFILE:
            while pos < end:
                ext_id = data[pos]
                if not ext_id:
                    pos += 1
                    continue
                if pos + 1 >= end:
                    raise ParseError(f"two-byte header extension element {ext_id} has no length", offset=pos)
                start = pos + 2
                pos = start + data[pos + 1]
                if pos > end:
                    raise ParseError(f"two-byte header extension element {ext_id} is truncated", offset=start - 2)
                append((ext_id, data[start:pos]))
            return out
        raise ParseError(f"header extension profile 0x{self.profile:04X} is not an RFC 8285 form")

    def get(self, ext_id: int) -> bytes | None:
        """The data of the first element with ``ext_id``, or ``None`` (see :meth:`elements`)."""
        for i, value in self.elements():
            if i == ext_id:
                return value
        return None

    @classmethod
    def from_elements(
        cls, elements: Iterable[tuple[int, bytes]], two_byte: bool | None = None, appbits: int = 0
    ) -> HeaderExtension:
        """Build an RFC 8285 extension from ``(id, data)`` pairs, zero-padded to a 32-bit word.

        :param two_byte: ``None`` picks the one-byte form when every id is 1-14 and every element
            1-16 bytes long, and the two-byte form otherwise; ``True``/``False`` force a form.
        :param appbits: the 4 application bits of the two-byte form.
        :raises LocalProtocolError: when an element does not fit the chosen form.
        """
        items = elements if isinstance(elements, (list, tuple)) else list(elements)
        if not two_byte:
            parts: list[bytes] = []
            size = 0
            for ext_id, value in items:
                length = len(value)
                if not (0 < ext_id < 15 and 0 < length <= 16):
                    if two_byte is None:
                        break
                    raise LocalProtocolError(
                        f"one-byte extension element needs id 1-14 and 1-16 bytes, got id {ext_id} "
                        f"with {length} bytes"
                    )
                parts.append(_BYTE[(ext_id << 4) | (length - 1)])
                parts.append(value)
                size += length + 1
            else:
                parts.append(_PADDING[size & 3])
                return cls(ONE_BYTE_PROFILE, b"".join(parts))
        if not 0 <= appbits <= 15:
            raise LocalProtocolError(f"appbits must be 0-15, got {appbits}")
        buf = bytearray()
        for ext_id, value in items:
            if not 1 <= ext_id <= 255 or len(value) > 255:
                raise LocalProtocolError(
                    f"two-byte extension element needs id 1-255 and at most 255 bytes, got id {ext_id} "
                    f"with {len(value)} bytes"
                )
            buf.append(ext_id)
            buf.append(len(value))
            buf += value
        pad = -len(buf) % 4
        if pad:
            buf += bytes(pad)
        return cls(TWO_BYTE_PROFILE | appbits, bytes(buf))


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 5.1). Mutable: a server rewrites the sequence number, timestamp
    and SSRC of the same packet for each session.

    :param payload_type: PT, 0-127.
    :param sequence_number: 0-65535.
    :param timestamp: 0-2**32-1, in the payload's clock rate.
    :param ssrc: the synchronization source, 0-2**32-1.
    :param payload: the payload, without padding.
    :param marker: the M bit.
    :param csrc: contributing sources, at most 15.
    :param extension: the header extension (X bit set when not ``None``).
    :param padding_length: number of padding octets including the count octet (P bit set when
        non-zero), 0-255.

    ``version`` is always 2.
    """

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: HeaderExtension | None = None
    padding_length: int = 0

    version: ClassVar[int] = RTP_VERSION

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet (a whole datagram).

        :raises ParseError: on a version other than 2, a truncated header, CSRC list or
            extension, or a padding count of 0 or longer than the packet body.
        """
        try:
            b0, b1, seq, ts, ssrc = _unpack_header(data)
        except struct.error:
            raise ParseError(f"RTP packet shorter than 12 bytes ({len(data)})", offset=0) from None
        if b0 == 0x80:  # the common case: version 2, no padding, extension or CSRC
            # Built slot by slot: the same value as cls(...), without the call of the generated
            # __init__ (a third of the parse; see docs/guide/performance.rst).
            packet = _new(cls)
            packet.payload_type = b1 & 0x7F
            packet.sequence_number = seq
            packet.timestamp = ts
            packet.ssrc = ssrc
            packet.payload = data[12:]
            packet.marker = b1 > 127
            packet.csrc = _EMPTY_EXT
            packet.extension = None
            packet.padding_length = 0
            return packet
        if b0 & 0xC0 != 0x80:
            raise ParseError(f"RTP version {b0 >> 6}, expected 2", offset=0)
        pos = 12
        cc = b0 & 0x0F
        csrc = _EMPTY_EXT
        if cc:
            try:
                csrc = _CSRC[cc].unpack_from(data, 12)
            except struct.error:
                raise ParseError(f"RTP packet truncated in its {cc} CSRCs", offset=12) from None
            pos += 4 * cc
        extension = None
        if b0 & 0x10:
            try:
                profile, words = _EXT_HEADER.unpack_from(data, pos)
            except struct.error:
                raise ParseError("RTP header extension header truncated", offset=pos) from None
            start = pos + 4
            pos = start + 4 * words
            if pos > len(data):
                raise ParseError(f"RTP header extension of {words} words truncated", offset=start - 4)
            extension = _new(HeaderExtension)
            extension.profile = profile
            extension.data = data[start:pos]
        padding = 0
        end = len(data)
        if b0 & 0x20:
            padding = data[-1] if end > pos else 0
            if padding == 0 or padding > end - pos:
                raise ParseError(f"RTP padding count {padding} invalid for {end - pos} body bytes", offset=end - 1)
            end -= padding
        packet = _new(cls)
        packet.payload_type = b1 & 0x7F
        packet.sequence_number = seq
        packet.timestamp = ts
        packet.ssrc = ssrc
        packet.payload = data[pos:end]
        packet.marker = b1 > 127
        packet.csrc = csrc
        packet.extension = extension
        packet.padding_length = padding
        return packet

    def serialize(self) -> bytes:
        """The packet's bytes (same as ``bytes(packet)``).

        :raises LocalProtocolError: when a field is out of range.
        """
        pt = self.payload_type
        csrc = self.csrc
        ext = self.extension
        padding = self.padding_length
        try:
            if pt & -128:
                raise LocalProtocolError(f"payload type must be 0-127, got {pt}")
            if not csrc and ext is None and not padding:  # the common case: the first two bytes as one
                return _pack_plain(
                    0x8080 | pt if self.marker else 0x8000 | pt, self.sequence_number, self.timestamp, self.ssrc
                ) + self.payload
            if self.marker:
                pt |= 0x80
            cc = len(csrc)
            if cc > 15:
                raise LocalProtocolError(f"at most 15 CSRCs, got {cc}")
            b0 = 0x80 | cc
            if padding:
                if not 0 < padding <= 255:
                    raise LocalProtocolError(f"padding length must be 0-255, got {padding}")
                b0 |= 0x20
            if ext is None:
                head = _HEAD[cc].pack(b0, pt, self.sequence_number, self.timestamp, self.ssrc, *csrc)
                parts = [head, self.payload]
            else:
                data = ext.data
                if len(data) & 3:
                    raise LocalProtocolError(f"header extension data must be whole 32-bit words, got {len(data)} bytes")
                head = _HEAD_EXT[cc].pack(
                    b0 | 0x10, pt, self.sequence_number, self.timestamp, self.ssrc, *csrc, ext.profile, len(data) >> 2
                )
                parts = [head, data, self.payload]
            if padding:
                parts.append(_PADDING_OCTETS[padding])
            return b"".join(parts)
        except struct.error as exc:
            raise LocalProtocolError(f"RTP header field out of range: {exc}") from None
        except TypeError as exc:
            raise LocalProtocolError(f"RTP packet field has the wrong type: {exc}") from None

    __bytes__ = serialize

    @property
    def header_size(self) -> int:
        """Bytes before the payload (fixed header, CSRCs and extension)."""
        ext = self.extension
        return 12 + 4 * len(self.csrc) + (4 + len(ext.data) if ext is not None else 0)

    def __len__(self) -> int:
        """The serialized size in bytes."""
        return self.header_size + len(self.payload) + self.padding_length


_EXTMAP_DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})


class ExtensionMap:
    """Header extension ids and the URIs they stand for, as SDP ``a=extmap`` lines declare them
    (RFC 8285 section 5).

    >>> m = ExtensionMap({1: "urn:ietf:params:rtp-hdrext:sdes:mid"})
    >>> m.add_extmap("3/recvonly http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
    3
    >>> m.id_of("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
    3
    """

    __slots__ = ("_by_id", "_by_uri", "directions", "attributes")

    def __init__(self, mapping: Mapping[int, str] | None = None) -> None:
        self._by_id: dict[int, str] = {}
        self._by_uri: dict[str, int] = {}
        #: The direction of each id that declared one (``sendonly`` ...).
        self.directions: dict[int, str] = {}
        #: The extension attributes that followed the URI on the extmap line, per id.
        self.attributes: dict[int, str] = {}
        for ext_id, uri in (mapping or {}).items():
            self.add(ext_id, uri)

    def add(self, ext_id: int, uri: str) -> None:
        """Map ``ext_id`` (1-255; 1-14 fit the one-byte form) to ``uri``."""
        if not 1 <= ext_id <= 255:
            raise LocalProtocolError(f"extension id must be 1-255, got {ext_id}")
        self._by_id[ext_id] = uri
        self._by_uri[uri] = ext_id

    def add_extmap(self, value: str) -> int:
        """Add the value of one ``a=extmap:`` attribute: ``<id>[/<direction>] <URI> [<attributes>]``.

        Returns the id.

        :raises ParseError: when the value is malformed.
        """
        fields = value.strip().split(None, 2)
        if len(fields) < 2:
            raise ParseError(f"extmap needs an id and a URI: {value!r}")
        ident, _, direction = fields[0].partition("/")
        if not ident.isdigit() or not 1 <= int(ident) <= 255:
            raise ParseError(f"extmap id must be 1-255: {value!r}")
        if direction and direction not in _EXTMAP_DIRECTIONS:
            raise ParseError(f"extmap direction {direction!r} unknown: {value!r}")
        ext_id = int(ident)
        self.add(ext_id, fields[1])
        if direction:
            self.directions[ext_id] = direction
        if len(fields) == 3:
            self.attributes[ext_id] = fields[2]
        return ext_id

    def uri_of(self, ext_id: int) -> str | None:
        """The URI declared for ``ext_id``, or ``None``."""
        return self._by_id.get(ext_id)

    def id_of(self, uri: str) -> int | None:
        """The id declared for ``uri``, or ``None``."""
        return self._by_uri.get(uri)

    def items(self) -> list[tuple[int, str]]:
        """``(id, uri)`` pairs, by id."""
        return sorted(self._by_id.items())

    def extmap_lines(self) -> list[str]:
        """The ``a=extmap:`` attribute values, by id (the inverse of :meth:`add_extmap`)."""
        out = []
        for ext_id, uri in self.items():
            head = f"{ext_id}/{self.directions[ext_id]}" if ext_id in self.directions else str(ext_id)
            attrs = self.attributes.get(ext_id)
            out.append(f"{head} {uri} {attrs}" if attrs else f"{head} {uri}")
        return out

    def decode(self, extension: HeaderExtension | None) -> dict[str, bytes]:
        """The elements of ``extension`` whose ids are mapped, keyed by URI (unmapped ids skipped)."""
        if extension is None:
            return {}
        by_id = self._by_id
        return {by_id[i]: v for i, v in extension.elements() if i in by_id}

    def encode(self, values: Mapping[str, bytes], two_byte: bool | None = None) -> HeaderExtension | None:
        """An RFC 8285 extension carrying ``values`` (URI -> data); ``None`` when empty.

        :raises LocalProtocolError: for a URI that has no id.
        """
        if not values:
            return None
        elements = []
        for uri, value in values.items():
            ext_id = self._by_uri.get(uri)
            if ext_id is None:
                raise LocalProtocolError(f"no extension id mapped for {uri}")
            elements.append((ext_id, value))
        return HeaderExtension.from_elements(elements, two_byte)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, ext_id: object) -> bool:
        return ext_id in self._by_id

    def __repr__(self) -> str:
        return f"ExtensionMap({dict(self.items())!r})"
