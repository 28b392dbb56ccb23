"""The SDP model and parser (RFC 8866): every line type, attributes in order, exact round trips.

Strict by default; ``parse(text, lenient=True)`` accepts the real-world deviations listed in
:mod:`mediaproto.sdp`.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from typing import TypeAlias, TypeVar

from ..errors import LimitExceeded, ParseError
from .limits import Limits
from ..text import is_uint, parse_uint
from .formats import RtpFormat, format_fmtp, parse_fmtp, parse_rtpmaps, rtp_formats

__all__ = [
    "Origin",
    "Connection",
    "Bandwidth",
    "Timing",
    "TimeDescription",
    "Attribute",
    "MediaDescription",
    "SessionDescription",
    "RtpFormat",
    "ExtMap",
    "parse",
    "parse_fmtp",
    "format_fmtp",
]

#: What a parsed line remembers of its text: (the field values it was parsed into, the text).
_Source: TypeAlias = "tuple[tuple[object, ...], str] | None"


def _verbatim(source: tuple[tuple[object, ...], str] | None, key: tuple[object, ...], canonical: str) -> str:
    """The text a line was parsed from while its fields still hold what was parsed, else ``canonical``."""
    return source[1] if source is not None and source[0] == key else canonical


def _sourced(obj: _V, key: tuple[object, ...], text: str) -> _V:
    """``obj`` remembering ``text`` when its canonical form would differ from it (lenient parses)."""
    if str(obj) != text:
        obj.source = (key, text)  # type: ignore[attr-defined]
    return obj


_V = TypeVar("_V")


@dataclass
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>``.

    A lenient parse of an ``o=`` line with more than six fields keeps the extra leading ones in
    :attr:`username` (``o=- 14665860 31787219 1 IN IP4 192.168.4.226`` gives the username
    ``"- 14665860"``); one with fewer fields is filled with ``-``. :attr:`source` keeps the text
    of such a line, written back while the fields are unchanged (so is every line type below).
    """

    username: str = "-"
    sess_id: str = "0"
    sess_version: str = "0"
    nettype: str = "IN"
    addrtype: str = "IP4"
    unicast_address: str = "127.0.0.1"
    source: _Source = field(default=None, compare=False, repr=False)

    def _key(self) -> tuple[str, ...]:
        return (self.username, self.sess_id, self.sess_version, self.nettype, self.addrtype, self.unicast_address)

    def __str__(self) -> str:
        key = self._key()
        return _verbatim(self.source, key, " ".join(key))


@dataclass
class Connection:
    """``c=<nettype> <addrtype> <connection-address>``; the address may carry ``/ttl/count``."""

    nettype: str = "IN"
    addrtype: str = "IP4"
    connection_address: str = "0.0.0.0"
    source: _Source = field(default=None, compare=False, repr=False)

    @property
    def address(self) -> str:
        """The address without ``/ttl`` or ``/number of addresses``."""
        return self.connection_address.split("/", 1)[0]

    @property
    def ttl(self) -> int | None:
        """The multicast TTL (IPv4 only), if given."""
        parts = self.connection_address.split("/")
        return int(parts[1]) if self.addrtype == "IP4" and len(parts) > 1 and is_uint(parts[1], 3) else None

    def __str__(self) -> str:
        key = (self.nettype, self.addrtype, self.connection_address)
        return _verbatim(self.source, key, " ".join(p for p in key if p))


@dataclass
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (kilobits per second for ``AS`` and ``CT``)."""

    bwtype: str
    bandwidth: int
    source: _Source = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return _verbatim(self.source, (self.bwtype, self.bandwidth), f"{self.bwtype}:{self.bandwidth}")


@dataclass
class Timing:
    """``t=<start-time> <stop-time>`` in NTP seconds; ``0 0`` is an unbounded session."""

    start_time: int = 0
    stop_time: int = 0
    source: _Source = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return _verbatim(self.source, (self.start_time, self.stop_time), f"{self.start_time} {self.stop_time}")


@dataclass
class TimeDescription:
    """A ``t=`` line and its ``r=`` repeat lines (kept as written: typed times like ``7d``)."""

    timing: Timing = field(default_factory=Timing)
    repeat_times: list[str] = field(default_factory=list)


@dataclass
class Attribute:
    """``a=<name>`` (a property attribute, ``value`` None) or ``a=<name>:<value>``."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True)
class ExtMap:
    """``a=extmap:<id>[/<direction>] <URI> [<extension attributes>]`` (RFC 8285)."""

    id: int
    uri: str
    direction: str | None = None
    extension_attributes: str | None = None


class _AttributeList:
    attributes: list[Attribute]

    def attribute(self, name: str) -> str | None:
        """The value of the first attribute called ``name`` (``""`` for a property attribute), or None."""
        for a in self.attributes:
            if a.name == name:
                return a.value if a.value is not None else ""
        return None

    def attribute_values(self, name: str) -> list[str]:
        """The values of every attribute called ``name``, in order."""
        return [a.value or "" for a in self.attributes if a.name == name]

    def set_attribute(self, name: str, value: str | None = None) -> None:
        """Replace the first attribute called ``name``, or append it."""
        for a in self.attributes:
            if a.name == name:
                a.value = value
                return
        self.attributes.append(Attribute(name, value))

    @property
    def control(self) -> str | None:
        """The ``a=control`` URL (absolute, relative, or ``*``), if any."""
        return self.attribute("control")

    @property
    def range(self) -> str | None:
        """The ``a=range`` value (e.g. ``npt=0-``), if any."""
        return self.attribute("range")

    def extmaps(self) -> list[ExtMap]:
        """The ``a=extmap`` declarations."""
        out = []
        for value in self.attribute_values("extmap"):
            m = re.fullmatch(r"([0-9]{1,5})(?:/(\w+))?\s+(\S+)(?:\s+(.*))?", value.strip())
            if m is None:
                raise ParseError(f"malformed extmap {value!r}")
            out.append(ExtMap(int(m[1]), m[3], m[2], m[4]))
        return out


@dataclass
class MediaDescription(_AttributeList):
    """An ``m=`` line and the ``i= c= b= k= a=`` lines under it."""

    media: str
    port: int
    proto: str
    fmts: list[str]
    number_of_ports: int | None = None
    information: str | None = None
    connections: list[Connection] = field(default_factory=list)
    bandwidths: list[Bandwidth] = field(default_factory=list)
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    source: _Source = field(default=None, compare=False, repr=False)
    line_order: list[str] | None = field(default=None, compare=False, repr=False)
    """The line types under the ``m=`` line as a lenient parse met them (``""`` for a blank line):
    :meth:`SessionDescription.dumps` writes them back in that order while their counts match."""

    def formats(self) -> list[RtpFormat]:
        """The RTP payload formats, in ``m=`` order, from ``rtpmap``/``fmtp`` or RFC 3551's static types.

        A format whose ``rtpmap`` is broken (``a=rtpmap:98 MetaData``: no clock rate) is left out
        and reported by :meth:`format_errors`; the other formats still come out.
        """
        return rtp_formats(self.fmts, self.attribute_values("rtpmap"), self.attribute_values("fmtp"))

    def format_errors(self) -> dict[str, ParseError]:
        """The payload types whose ``rtpmap`` is broken, each with what is wrong with it."""
        return parse_rtpmaps(self.attribute_values("rtpmap"))[1]

    def __str__(self) -> str:
        port = f"{self.port}/{self.number_of_ports}" if self.number_of_ports is not None else str(self.port)
        key = (self.media, self.port, self.number_of_ports, self.proto, tuple(self.fmts))
        return _verbatim(self.source, key, " ".join([self.media, port, self.proto, *self.fmts]))

    def _key(self) -> tuple[object, ...]:
        return (self.media, self.port, self.number_of_ports, self.proto, tuple(self.fmts))

    def _lines(self) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        if self.information is not None:
            lines.append(("i", f"i={self.information}"))
        lines.extend(("c", f"c={c}") for c in self.connections)
        lines.extend(("b", f"b={b}") for b in self.bandwidths)
        if self.key is not None:
            lines.append(("k", f"k={self.key}"))
        lines.extend(("a", f"a={a}") for a in self.attributes)
        return [("m", f"m={self}"), *_in_order(lines, self.line_order)]


@dataclass
class SessionDescription(_AttributeList):
    """A whole SDP document."""

    version: int = 0
    origin: Origin = field(default_factory=Origin)
    session_name: str = "-"
    information: str | None = None
    uri: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    time_descriptions: list[TimeDescription] = field(default_factory=lambda: [TimeDescription()])
    time_zones: str | None = None
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    line_ending: str = "\r\n"
    has_version_line: bool = True
    line_order: list[str] | None = field(default=None, compare=False, repr=False)
    """The session-level line types as a lenient parse met them (``""`` for a blank line)."""
    line_endings: list[str] | None = field(default=None, compare=False, repr=False)
    """Each line's ending as a lenient parse met them, when they were mixed or the last was missing."""

    def dumps(self) -> str:
        """Serialize with :attr:`line_ending` after every line, in RFC 8866 order; a lenient parse's
        line order (and line endings) while the lines of each type are as many as were parsed."""
        lines: list[tuple[str, str]] = []
        add = lines.append
        if self.has_version_line:
            add(("v", f"v={self.version}"))
        order = self.line_order
        if order is None or "o" in order or self.origin != Origin():  # a lenient parse may have none
            add(("o", f"o={self.origin}"))
        if order is None or "s" in order or self.session_name != "-":
            add(("s", f"s={self.session_name}"))
        if self.information is not None:
            add(("i", f"i={self.information}"))
        if self.uri is not None:
            add(("u", f"u={self.uri}"))
        lines.extend(("e", f"e={e}") for e in self.emails)
        lines.extend(("p", f"p={p}") for p in self.phones)
        if self.connection is not None:
            add(("c", f"c={self.connection}"))
        lines.extend(("b", f"b={b}") for b in self.bandwidths)
        for td in self.time_descriptions:
            add(("t", f"t={td.timing}"))
            lines.extend(("r", f"r={r}") for r in td.repeat_times)
        if self.time_zones is not None:
            add(("z", f"z={self.time_zones}"))
        if self.key is not None:
            add(("k", f"k={self.key}"))
        lines.extend(("a", f"a={a}") for a in self.attributes)
        out = _in_order(lines, self.line_order)
        for m in self.media:
            out.extend(m._lines())
        texts = [text for _, text in out]
        endings = self.line_endings
        if endings is not None and len(endings) == len(texts):
            return "".join(t + e for t, e in zip(texts, endings))
        end = self.line_ending
        return end.join(texts) + end

    def __str__(self) -> str:
        return self.dumps()


_DEFAULT_LIMITS = Limits()

def _in_order(lines: list[tuple[str, str]], order: list[str] | None) -> list[tuple[str, str]]:
    """``lines`` (type, text) in the recorded ``order`` of types, or as they are when the counts
    of each type no longer match it (the description was edited)."""
    if order is None:
        return lines
    queues: dict[str, deque[tuple[str, str]]] = {}
    for line in lines:
        queues.setdefault(line[0], deque()).append(line)
    out = []
    for kind in order:
        if kind == "":
            out.append(("", ""))
            continue
        queue = queues.get(kind)
        if not queue:
            return lines
        out.append(queue.popleft())
    return out if not any(queues.values()) else lines


# Which session-level line types may follow which: the RFC 8866 order as ranks.
_SESSION_RANK = {"v": 0, "o": 1, "s": 2, "i": 3, "u": 4, "e": 5, "p": 6, "c": 7, "b": 8, "t": 9, "r": 9,
                 "z": 10, "k": 11, "a": 12, "m": 13}
_MEDIA_RANK = {"m": 0, "i": 1, "c": 2, "b": 3, "k": 4, "a": 5}


def _int(text: str, what: str, line: int) -> int:
    return parse_uint(text, what, line=line)


def parse(text: str | bytes, *, lenient: bool = False, limits: Limits | None = None) -> SessionDescription:
    """Parse SDP text. Raises :class:`~mediaproto.errors.ParseError` naming the line.

    :param lenient: accept the real-world deviations listed in the module docs.
    :param limits: bounds on size, lines, line length and media descriptions; going past one raises
        :class:`~mediaproto.errors.LimitExceeded` naming the line.
    """
    if limits is None:
        limits = _DEFAULT_LIMITS
    if isinstance(text, bytes):
        if len(text) > limits.max_bytes:
            raise LimitExceeded(f"SDP of {len(text)} bytes is over max_bytes={limits.max_bytes}")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError(f"SDP is not UTF-8: {e.reason}", offset=e.start) from None
    if len(text) > limits.max_bytes:
        raise LimitExceeded(f"SDP of {len(text)} characters is over max_bytes={limits.max_bytes}")
    line_ending = "\r\n" if "\r\n" in text else "\n"
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    if len(raw_lines) > limits.max_lines:
        raise LimitExceeded(f"SDP has more than max_lines={limits.max_lines} lines", line=limits.max_lines + 1)
    max_length = limits.max_line_length
    sd = SessionDescription(time_descriptions=[], line_ending=line_ending, has_version_line=False)
    media: MediaDescription | None = None
    rank = -1
    seen_origin = seen_name = False
    order: list[str] = []  # the current section's line types, for a lenient round trip
    endings: list[str] = []
    if lenient:
        sd.line_order = order
    for number, raw in enumerate(raw_lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if lenient:
            endings.append("\r\n" if raw.endswith("\r") else "\n")
        if len(line) > max_length:
            raise LimitExceeded(f"SDP line of {len(line)} characters is over max_line_length={max_length}", line=number)
        if not line and lenient:
            order.append("")
            continue
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise ParseError(f"not an SDP line: {line[:40]!r}", line=number)
        kind, value = line[0], line[2:]
        table = _MEDIA_RANK if media is not None and kind != "m" else _SESSION_RANK
        if kind not in table:
            if media is None and kind in _MEDIA_RANK or kind not in _SESSION_RANK:
                raise ParseError(f"unknown or misplaced line type {kind!r}", line=number)
            raise ParseError(f"{kind}= line not allowed in a media description", line=number)
        new_rank = table[kind]
        if new_rank < rank and not lenient:
            raise ParseError(f"{kind}= line out of order", line=number)
        rank = new_rank if kind != "m" else 0
        if kind == "m":
            if len(sd.media) >= limits.max_media:
                raise LimitExceeded(f"SDP has more than max_media={limits.max_media} media descriptions", line=number)
            media = _parse_media(value, number, lenient)
            sd.media.append(media)
            table = _MEDIA_RANK
            if lenient:
                order = media.line_order = []
            continue
        if lenient:
            order.append(kind)
        if kind == "a":
            name, sep, aval = value.partition(":")
            (media if media is not None else sd).attributes.append(Attribute(name, aval if sep else None))
        elif kind == "c":
            conn = _parse_connection(value, number, lenient)
            if media is not None:
                media.connections.append(conn)
            elif sd.connection is not None:
                raise ParseError("more than one session-level c= line", line=number)
            else:
                sd.connection = conn
        elif kind == "b":
            bwtype, sep, bw = value.partition(":")
            if not sep:
                raise ParseError(f"malformed b= line {value!r}", line=number)
            if lenient and not is_uint(bw.strip()):  # kept as written, read as 0
                bandwidth = _sourced(Bandwidth(bwtype, 0), (bwtype, 0), value)
            else:
                bandwidth = _sourced(Bandwidth(bwtype, _int(bw.strip(), "b= bandwidth", number)),
                                     (bwtype, int(bw.strip())), value)
            (media if media is not None else sd).bandwidths.append(bandwidth)
        elif kind == "i":
            if media is not None:
                media.information = value
            else:
                sd.information = value
        elif kind == "k":
            if media is not None:
                media.key = value
            else:
                sd.key = value
        elif kind == "v":
            if value.strip() != "0" or (value != "0" and not lenient):
                raise ParseError(f"unsupported SDP version {value[:40]!r}", line=number)
            sd.version, sd.has_version_line = 0, True
        elif kind == "o":
            sd.origin = _parse_origin(value, number, lenient)
            seen_origin = True
        elif kind == "s":
            sd.session_name = value
            seen_name = True
        elif kind == "u":
            sd.uri = value
        elif kind == "e":
            sd.emails.append(value)
        elif kind == "p":
            sd.phones.append(value)
        elif kind == "t":
            sd.time_descriptions.append(TimeDescription(_parse_timing(value, number, lenient)))
        elif kind == "r":
            if not sd.time_descriptions:
                raise ParseError("r= line without a t= line", line=number)
            sd.time_descriptions[-1].repeat_times.append(value)
        elif kind == "z":
            sd.time_zones = value
    if lenient:
        if text and not text.endswith("\n"):
            endings[-1] = ""
        if len(set(endings)) > 1 or (endings and endings[0] != line_ending):
            sd.line_endings = endings
    if not lenient:
        if not sd.has_version_line:
            raise ParseError("SDP does not start with v=", line=1)
        if not seen_origin or not seen_name:
            raise ParseError("SDP lacks its o= or s= line")
        if not sd.time_descriptions:
            raise ParseError("SDP has no t= line")
    return sd


def _parse_origin(value: str, line: int, lenient: bool) -> Origin:
    parts = value.split(" ")
    if len(parts) == 6 and all(parts):
        return Origin(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
    if not lenient:
        raise ParseError(f"o= needs 6 fields, got {value[:80]!r}", line=line)
    parts = value.split()
    if len(parts) > 6:  # extra fields: the username had spaces (some cameras)
        parts = [" ".join(parts[:-5]), *parts[-5:]]
    else:
        if parts and parts[0].startswith("-") and parts[0] != "-":  # o=-0 ...
            parts = ["-", parts[0][1:], *parts[1:]]
        parts = (parts + ["-"] * 6)[:6]
    origin = Origin(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
    return _sourced(origin, origin._key(), value)


def _parse_connection(value: str, line: int, lenient: bool) -> Connection:
    parts = value.split(" ")
    if len(parts) == 3 and all(parts):
        nettype, addrtype, address = parts
    elif lenient and len(value.split()) == 2:
        nettype, second = value.split()
        if second in ("IP4", "IP6"):  # c=IN IP4 with no address
            addrtype, address = second, ""
        else:  # c=IN 1.2.3.4
            addrtype, address = ("IP6" if ":" in second else "IP4"), second
    elif lenient:  # kept as written: extra spaces or fields, no address, an unknown network type
        words = value.split() or [""]
        nettype, addrtype, address = words[0], words[-2] if len(words) > 2 else "", words[-1] if len(words) > 1 else ""
    else:
        raise ParseError(f"malformed c= line {value[:80]!r}", line=line)
    if nettype != "IN" and not lenient:
        raise ParseError(f"unknown network type {nettype[:40]!r}", line=line)
    return _sourced(Connection(nettype, addrtype, address), (nettype, addrtype, address), value)


def _parse_timing(value: str, line: int, lenient: bool) -> Timing:
    parts = value.split(" ")
    if len(parts) == 2 and is_uint(parts[0]) and is_uint(parts[1]):
        return Timing(int(parts[0]), int(parts[1]))
    if lenient:  # t=now- and the like: kept as written, read as an unbounded session
        numbers = value.split()
        if len(numbers) == 2 and is_uint(numbers[0]) and is_uint(numbers[1]):
            timing = Timing(int(numbers[0]), int(numbers[1]))
        else:
            timing = Timing(0, 0)
        return _sourced(timing, (timing.start_time, timing.stop_time), value)
    raise ParseError(f"malformed t= line {value[:80]!r}", line=line)


def _parse_media(value: str, line: int, lenient: bool) -> MediaDescription:
    parts = value.split(" ")
    if lenient and (len(parts) < 3 or not all(parts[:3])):
        parts = value.split()  # extra spaces
    if len(parts) < 3 or (len(parts) < 4 and not lenient):
        raise ParseError(f"malformed m= line {value[:80]!r}", line=line)
    port_text, _, count = parts[1].partition("/")
    port = _int(port_text, "m= port", line)
    number = _int(count, "m= number of ports", line) if count else None
    fmts = parts[3:]
    if not lenient and parts[2].startswith("RTP/") and not all(is_uint(f, 3) and int(f) < 128 for f in fmts):
        raise ParseError(f"RTP payload types must be numbers 0-127, got {fmts[:8]}", line=line)
    media = MediaDescription(parts[0], port, parts[2], fmts, number)
    return _sourced(media, media._key(), value)
