"""The SDP model and parser (RFC 8866): every line type, attributes in order, exact round trips.

Strict by default; ``parse(text, lenient=True)`` accepts the real-world deviations listed in
:mod:`mediaproto.sdp`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import ParseError

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

MAX_SDP_BYTES = 64 * 1024
MAX_LINES = 4096


@dataclass
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>``."""

    username: str = "-"
    sess_id: str = "0"
    sess_version: str = "0"
    nettype: str = "IN"
    addrtype: str = "IP4"
    unicast_address: str = "127.0.0.1"

    def __str__(self) -> str:
        return " ".join(
            [self.username, self.sess_id, self.sess_version, self.nettype, self.addrtype, self.unicast_address]
        )


@dataclass
class Connection:
    """``c=<nettype> <addrtype> <connection-address>``; the address may carry ``/ttl/count``."""

    nettype: str = "IN"
    addrtype: str = "IP4"
    connection_address: str = "0.0.0.0"

    @property
    def address(self) -> str:
        """The address without ``/ttl`` or ``/number of addresses``."""
        return self.connection_address.split("/", 1)[0]

    @property
    def ttl(self) -> int | None:
        """The multicast TTL (IPv4 only), if given."""
        parts = self.connection_address.split("/")
        return int(parts[1]) if self.addrtype == "IP4" and len(parts) > 1 and parts[1].isdigit() else None

    def __str__(self) -> str:
        return " ".join(p for p in (self.nettype, self.addrtype, self.connection_address) if p)


@dataclass
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (kilobits per second for ``AS`` and ``CT``)."""

    bwtype: str
    bandwidth: int

    def __str__(self) -> str:
        return f"{self.bwtype}:{self.bandwidth}"


@dataclass
class Timing:
    """``t=<start-time> <stop-time>`` in NTP seconds; ``0 0`` is an unbounded session."""

    start_time: int = 0
    stop_time: int = 0

    def __str__(self) -> str:
        return f"{self.start_time} {self.stop_time}"


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
class RtpFormat:
    """One RTP payload format of a media description: its ``rtpmap`` and ``fmtp``."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    encoding_parameters: int | None = None
    parameters: tuple[tuple[str, str], ...] = ()

    def parameter(self, name: str) -> str | None:
        """An ``fmtp`` parameter by name (case-insensitive), or None."""
        low = name.lower()
        for key, value in self.parameters:
            if key.lower() == low:
                return value
        return None


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
            m = re.fullmatch(r"(\d+)(?:/(\w+))?\s+(\S+)(?:\s+(.*))?", value.strip())
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

    def formats(self) -> list[RtpFormat]:
        """The RTP payload formats, in ``m=`` order, from ``rtpmap``/``fmtp`` or RFC 3551's static types."""
        rtpmaps: dict[str, tuple[str, int, int | None]] = {}
        fmtps: dict[str, tuple[tuple[str, str], ...]] = {}
        for value in self.attribute_values("rtpmap"):
            pt, _, rest = value.strip().partition(" ")
            parts = rest.strip().split("/")
            if len(parts) < 2 or not parts[1].strip().isdigit():
                raise ParseError(f"malformed rtpmap {value!r}")
            enc = int(parts[2]) if len(parts) > 2 and parts[2].strip().isdigit() else None
            rtpmaps[pt] = (parts[0], int(parts[1]), enc)
        for value in self.attribute_values("fmtp"):
            pt, _, params = value.strip().partition(" ")
            fmtps[pt] = tuple(parse_fmtp(params).items())
        out = []
        for fmt in self.fmts:
            mapped = rtpmaps.get(fmt)
            if mapped is None and fmt.isdigit() and int(fmt) in _STATIC:
                mapped = _STATIC[int(fmt)]
            if mapped is None:
                continue
            number = int(fmt) if fmt.isdigit() else -1
            out.append(RtpFormat(number, mapped[0], mapped[1], mapped[2], fmtps.get(fmt, ())))
        return out

    def __str__(self) -> str:
        port = f"{self.port}/{self.number_of_ports}" if self.number_of_ports is not None else str(self.port)
        return " ".join([self.media, port, self.proto, *self.fmts])


# RFC 3551 section 6: static payload types.
_STATIC: dict[int, tuple[str, int, int | None]] = {
    0: ("PCMU", 8000, 1), 3: ("GSM", 8000, 1), 4: ("G723", 8000, 1), 5: ("DVI4", 8000, 1),
    6: ("DVI4", 16000, 1), 7: ("LPC", 8000, 1), 8: ("PCMA", 8000, 1), 9: ("G722", 8000, 1),
    10: ("L16", 44100, 2), 11: ("L16", 44100, 1), 12: ("QCELP", 8000, 1), 13: ("CN", 8000, 1),
    14: ("MPA", 90000, None), 15: ("G728", 8000, 1), 16: ("DVI4", 11025, 1), 17: ("DVI4", 22050, 1),
    18: ("G729", 8000, 1), 25: ("CelB", 90000, None), 26: ("JPEG", 90000, None), 28: ("nv", 90000, None),
    31: ("H261", 90000, None), 32: ("MPV", 90000, None), 33: ("MP2T", 90000, None), 34: ("H263", 90000, None),
}


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

    def dumps(self) -> str:
        """Serialize in RFC 8866 order with :attr:`line_ending` after every line."""
        lines: list[str] = []
        add = lines.append
        if self.has_version_line:
            add(f"v={self.version}")
        add(f"o={self.origin}")
        add(f"s={self.session_name}")
        if self.information is not None:
            add(f"i={self.information}")
        if self.uri is not None:
            add(f"u={self.uri}")
        lines.extend(f"e={e}" for e in self.emails)
        lines.extend(f"p={p}" for p in self.phones)
        if self.connection is not None:
            add(f"c={self.connection}")
        lines.extend(f"b={b}" for b in self.bandwidths)
        for td in self.time_descriptions:
            add(f"t={td.timing}")
            lines.extend(f"r={r}" for r in td.repeat_times)
        if self.time_zones is not None:
            add(f"z={self.time_zones}")
        if self.key is not None:
            add(f"k={self.key}")
        lines.extend(f"a={a}" for a in self.attributes)
        for m in self.media:
            add(f"m={m}")
            if m.information is not None:
                add(f"i={m.information}")
            lines.extend(f"c={c}" for c in m.connections)
            lines.extend(f"b={b}" for b in m.bandwidths)
            if m.key is not None:
                add(f"k={m.key}")
            lines.extend(f"a={a}" for a in m.attributes)
        end = self.line_ending
        return end.join(lines) + end

    def __str__(self) -> str:
        return self.dumps()


# Which session-level line types may follow which: the RFC 8866 order as ranks.
_SESSION_RANK = {"v": 0, "o": 1, "s": 2, "i": 3, "u": 4, "e": 5, "p": 6, "c": 7, "b": 8, "t": 9, "r": 9,
                 "z": 10, "k": 11, "a": 12, "m": 13}
_MEDIA_RANK = {"m": 0, "i": 1, "c": 2, "b": 3, "k": 4, "a": 5}


def _int(text: str, what: str, line: int) -> int:
    if not text.isdigit():
        raise ParseError(f"{what} is not a number: {text!r}", line=line)
    return int(text)


def parse(text: str | bytes, *, lenient: bool = False) -> SessionDescription:
    """Parse SDP text. Raises :class:`~mediaproto.errors.ParseError` naming the line.

    :param lenient: accept the real-world deviations listed in the module docs.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError(f"SDP is not UTF-8: {e.reason}", offset=e.start) from None
    if len(text) > MAX_SDP_BYTES:
        raise ParseError(f"SDP longer than {MAX_SDP_BYTES} characters")
    line_ending = "\r\n" if "\r\n" in text else "\n"
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    if len(raw_lines) > MAX_LINES:
        raise ParseError(f"SDP has more than {MAX_LINES} lines")
    sd = SessionDescription(time_descriptions=[], line_ending=line_ending, has_version_line=False)
    media: MediaDescription | None = None
    rank = -1
    seen_origin = seen_name = False
    for number, raw in enumerate(raw_lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line and lenient:
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
            media = _parse_media(value, number, lenient)
            sd.media.append(media)
            table = _MEDIA_RANK
            continue
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
            (media if media is not None else sd).bandwidths.append(Bandwidth(bwtype, _int(bw.strip(), "bandwidth", number)))
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
            if value.strip() != "0":
                raise ParseError(f"unsupported SDP version {value!r}", line=number)
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
    if len(parts) != 6:
        if not lenient:
            raise ParseError(f"o= needs 6 fields, got {value!r}", line=line)
        parts = value.split() + ["-"] * 6
        if parts and parts[0].startswith("-") and parts[0] != "-":  # o=-0 ...
            parts = ["-", parts[0][1:], *parts[1:]]
        parts = parts[:6]
    return Origin(*parts)


def _parse_connection(value: str, line: int, lenient: bool) -> Connection:
    parts = value.split(" ")
    if len(parts) == 3 and all(parts):
        nettype, addrtype, address = parts
    elif lenient and len(value.split()) == 2:  # c=IN 1.2.3.4
        nettype, address = value.split()
        addrtype = "IP6" if ":" in address else "IP4"
    else:
        raise ParseError(f"malformed c= line {value!r}", line=line)
    if nettype != "IN" and not (lenient and nettype == "IP"):
        raise ParseError(f"unknown network type {nettype!r}", line=line)
    return Connection(nettype, addrtype, address)


def _parse_timing(value: str, line: int, lenient: bool) -> Timing:
    parts = value.split(" ")
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return Timing(int(parts[0]), int(parts[1]))
    if lenient:
        return Timing(0, 0)
    raise ParseError(f"malformed t= line {value!r}", line=line)


def _parse_media(value: str, line: int, lenient: bool) -> MediaDescription:
    parts = value.split(" ")
    if len(parts) < 3 or (len(parts) < 4 and not lenient):
        raise ParseError(f"malformed m= line {value!r}", line=line)
    port_text, _, count = parts[1].partition("/")
    port = _int(port_text, "port", line)
    number = _int(count, "number of ports", line) if count else None
    fmts = parts[3:]
    if not lenient and parts[2].startswith("RTP/") and not all(f.isdigit() and int(f) < 128 for f in fmts):
        raise ParseError(f"RTP payload types must be numbers 0-127, got {fmts}", line=line)
    return MediaDescription(parts[0], port, parts[2], fmts, number)


def parse_fmtp(params: str) -> dict[str, str]:
    """Parse ``fmtp`` parameters ``a=b; c=d`` into an ordered dict; spaces after ``;`` are
    accepted (FFmpeg writes them). A parameter without ``=`` maps to ``""``."""
    out: dict[str, str] = {}
    for item in params.split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def format_fmtp(params: dict[str, str]) -> str:
    """Format ``fmtp`` parameters the canonical way, ``a=b;c=d``."""
    return ";".join(f"{k}={v}" if v != "" else k for k, v in params.items())
