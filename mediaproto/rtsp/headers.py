"""Typed RTSP headers: Transport, Session, Range, RTP-Info, Public, and control-URL resolution.

Each type parses from the header's text (``parse``) and formats back (``str()``). Parsing follows
RFC 2326 section 12 and RFC 7826 section 18, and accepts the variants real peers send (QUIRKS):
``ssrc=`` with leading spaces or an odd number of hex digits, one port meaning the pair
``port``/``port+1``, a quoted ``mode="PLAY"``, ``mode=receive`` (FFmpeg's listen mode), an empty
``source=``, parameters in any order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..errors import ParseError
from ..text import parse_uint

__all__ = [
    "TransportSpec",
    "parse_transport",
    "format_transport",
    "SessionHeader",
    "Range",
    "RtpInfo",
    "parse_rtp_info",
    "format_rtp_info",
    "parse_public",
    "resolve_control",
]


def _port_pair(value: str, what: str) -> tuple[int, int]:
    first, sep, second = value.strip().partition("-")
    a = parse_uint(first.strip(), f"Transport {what}", max_digits=5, maximum=65535)
    if not sep:
        if a == 65535:
            raise ParseError(f"Transport {what} out of range: {value!r}")
        return a, a + 1  # one port means the pair port/port+1
    return a, parse_uint(second.strip(), f"Transport {what}", max_digits=5, maximum=65535)


@dataclass(frozen=True)
class TransportSpec:
    """One alternative of a ``Transport`` header.

    ``transport_protocol/profile[/lower_transport]`` then parameters, named as RFC 2326 names them.
    """

    transport_protocol: str = "RTP"
    profile: str = "AVP"
    lower_transport: str = "UDP"
    unicast: bool = True
    destination: str | None = None
    source: str | None = None
    interleaved: tuple[int, int] | None = None
    append: bool = False
    ttl: int | None = None
    layers: int | None = None
    port: tuple[int, int] | None = None
    client_port: tuple[int, int] | None = None
    server_port: tuple[int, int] | None = None
    ssrc: int | None = None
    mode: str | None = None
    extra: tuple[tuple[str, str | None], ...] = field(default=())

    @property
    def is_tcp(self) -> bool:
        """Whether the media goes interleaved over the RTSP connection."""
        return self.lower_transport == "TCP"

    @property
    def is_record(self) -> bool:
        """Whether ``mode`` asks to RECORD (``receive`` is FFmpeg's word for it)."""
        return (self.mode or "").upper() in ("RECORD", "RECEIVE")

    def __str__(self) -> str:
        spec = f"{self.transport_protocol}/{self.profile}"
        if self.lower_transport != "UDP" or self.transport_protocol != "RTP":
            spec += f"/{self.lower_transport}"
        parts = [spec, "unicast" if self.unicast else "multicast"]
        if self.destination is not None:
            parts.append(f"destination={self.destination}" if self.destination else "destination")
        if self.source is not None:
            parts.append(f"source={self.source}")
        if self.interleaved is not None:
            parts.append(f"interleaved={self.interleaved[0]}-{self.interleaved[1]}")
        if self.append:
            parts.append("append")
        if self.ttl is not None:
            parts.append(f"ttl={self.ttl}")
        if self.layers is not None:
            parts.append(f"layers={self.layers}")
        for name in ("port", "client_port", "server_port"):
            pair = getattr(self, name)
            if pair is not None:
                parts.append(f"{name}={pair[0]}-{pair[1]}")
        if self.ssrc is not None:
            parts.append(f"ssrc={self.ssrc:08X}")
        if self.mode is not None:
            parts.append(f"mode={self.mode}")
        parts.extend(f"{k}={v}" if v is not None else k for k, v in self.extra)
        return ";".join(parts)

    def with_(self, **changes: object) -> TransportSpec:
        """A copy with some fields changed (e.g. a server filling in ``server_port``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


_SPEC = re.compile(r"([A-Za-z0-9]+)/([A-Za-z0-9]+)(?:/([A-Za-z]+))?$")
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")


def _parse_one_transport(text: str) -> TransportSpec:
    items = [p.strip() for p in text.split(";")]
    m = _SPEC.match(items[0]) if items else None
    if not items or m is None:
        raise ParseError(f"malformed transport specifier {text[:80]!r}")
    fields: dict[str, object] = {
        "transport_protocol": m[1].upper(),
        "profile": m[2].upper(),
        "lower_transport": (m[3] or "UDP").upper(),
    }
    extra: list[tuple[str, str | None]] = []
    for item in items[1:]:
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        value = value.strip().strip('"')
        if name == "unicast":
            fields["unicast"] = True
        elif name == "multicast":
            fields["unicast"] = False
        elif name == "destination":
            fields["destination"] = value
        elif name == "source":
            fields["source"] = value  # may be empty (QUIRKS)
        elif name == "interleaved":
            fields["interleaved"] = _port_pair(value, "interleaved")
            if max(fields["interleaved"]) > 255:  # type: ignore[call-overload]
                raise ParseError(f"interleaved channel over 255: {value!r}")
        elif name == "append":
            fields["append"] = True
        elif name in ("ttl", "layers"):
            fields[name] = parse_uint(value, f"Transport {name}")
        elif name in ("port", "client_port", "server_port"):
            fields[name] = _port_pair(value, name)
        elif name == "ssrc":
            digits = value.strip()
            if not _HEX.fullmatch(digits):  # odd-length hex is fine; int(x, 16) takes far more
                raise ParseError(f"bad Transport ssrc {value[:40]!r}")
            ssrc = int(digits, 16)
            if ssrc > 0xFFFFFFFF:
                raise ParseError(f"bad Transport ssrc {value[:40]!r}: over 32 bits")
            fields["ssrc"] = ssrc
        elif name == "mode":
            fields["mode"] = value.upper() if value.lower() in ("play", "record") else value
        else:
            extra.append((name, value if sep else None))
    fields["extra"] = tuple(extra)
    return TransportSpec(**fields)  # type: ignore[arg-type]


def parse_transport(value: str) -> list[TransportSpec]:
    """Parse a ``Transport`` header: one or more comma-separated alternatives, in preference order."""
    specs = [_parse_one_transport(part) for part in value.split(",") if part.strip()]
    if not specs:
        raise ParseError("empty Transport header")
    return specs


def format_transport(specs: list[TransportSpec] | TransportSpec) -> str:
    """Format one alternative or several as a ``Transport`` header value."""
    if isinstance(specs, TransportSpec):
        return str(specs)
    return ",".join(str(s) for s in specs)


@dataclass(frozen=True)
class SessionHeader:
    """``Session: <id>[;timeout=<seconds>]`` (the default timeout is 60 s)."""

    session_id: str
    timeout: int | None = None

    @classmethod
    def parse(cls, value: str) -> SessionHeader:
        """Parse a ``Session`` header value."""
        parts = [p.strip() for p in value.split(";")]
        if not parts[0] or len(parts[0]) > 256:
            raise ParseError(f"bad Session header {value[:80]!r}")
        timeout = None
        for p in parts[1:]:
            name, _, v = p.partition("=")
            if name.strip().lower() == "timeout":
                timeout = parse_uint(v.strip(), "Session timeout")
        return cls(parts[0], timeout)

    def __str__(self) -> str:
        return self.session_id if self.timeout is None else f"{self.session_id};timeout={self.timeout}"


# ASCII digits only (``\d`` would take every script's digits), and bounded.
_NPT_TIME = re.compile(r"now|[0-9]{1,20}(?:\.[0-9]{0,20})?|[0-9]{1,20}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]{0,20})?")


def _npt_seconds(text: str) -> float | None:
    if text == "now" or text == "":
        return None
    if ":" in text:
        h, m, s = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    return float(text)


@dataclass(frozen=True)
class Range:
    """A ``Range`` header: ``npt``, ``clock`` or ``smpte`` with a start and an optional end.

    ``start``/``end`` keep the text; :attr:`start_seconds`/:attr:`end_seconds` give npt in seconds
    (None for ``now`` or an open end). ``time`` is the optional ``;time=`` parameter.
    """

    unit: str = "npt"
    start: str = "0.000"
    end: str = ""
    time: str | None = None

    @classmethod
    def parse(cls, value: str) -> Range:
        """Parse a ``Range`` header value."""
        main, _, rest = value.partition(";")
        unit, sep, span = main.strip().partition("=")
        unit = unit.strip().lower()
        if not sep or unit not in ("npt", "clock", "smpte", "smpte-25", "smpte-30-drop"):
            raise ParseError(f"bad Range {value[:80]!r}")
        start, dash, end = span.strip().partition("-")
        if unit == "npt":
            if not dash or (start and not _NPT_TIME.fullmatch(start)) or (end and not _NPT_TIME.fullmatch(end)):
                raise ParseError(f"bad npt range {value[:80]!r}")
        elif not dash:
            raise ParseError(f"bad Range {value[:80]!r}")
        time = None
        for p in rest.split(";"):
            name, _, v = p.partition("=")
            if name.strip().lower() == "time":
                time = v.strip()
        return cls(unit, start, end, time)

    @property
    def start_seconds(self) -> float | None:
        """The npt start in seconds, None for ``now`` or a non-npt unit."""
        return _npt_seconds(self.start) if self.unit == "npt" else None

    @property
    def end_seconds(self) -> float | None:
        """The npt end in seconds, None when open or non-npt."""
        return _npt_seconds(self.end) if self.unit == "npt" else None

    def __str__(self) -> str:
        text = f"{self.unit}={self.start}-{self.end}"
        return text if self.time is None else f"{text};time={self.time}"


@dataclass(frozen=True)
class RtpInfo:
    """One entry of ``RTP-Info``: the stream's URL, and the ``seq``/``rtptime`` of its first packet."""

    url: str
    seq: int | None = None
    rtptime: int | None = None

    def __str__(self) -> str:
        text = f"url={self.url}"
        if self.seq is not None:
            text += f";seq={self.seq}"
        if self.rtptime is not None:
            text += f";rtptime={self.rtptime}"
        return text


def parse_rtp_info(value: str) -> list[RtpInfo]:
    """Parse an ``RTP-Info`` header (entries separated by commas that start a new ``url=``)."""
    out = []
    for entry in re.split(r",\s*(?=url=)", value.strip()):
        if not entry:
            continue
        url, seq, rtptime = None, None, None
        for p in entry.split(";"):
            name, _, v = p.strip().partition("=")
            name = name.lower()
            v = v.strip().strip('"')
            if name == "url":
                url = v
            elif name in ("seq", "rtptime"):
                number = parse_uint(v, f"RTP-Info {name}")
                if name == "seq":
                    seq = number & 0xFFFF
                else:
                    rtptime = number & 0xFFFFFFFF
        if url is None:
            raise ParseError(f"RTP-Info entry without url: {entry[:80]!r}")
        out.append(RtpInfo(url, seq, rtptime))
    return out


def format_rtp_info(entries: list[RtpInfo]) -> str:
    """Format ``RTP-Info`` entries."""
    return ",".join(str(e) for e in entries)


def parse_public(value: str) -> list[str]:
    """The method names of a ``Public`` (or ``Allow``) header."""
    return [m.strip().upper() for m in value.split(",") if m.strip()]


def resolve_control(base: str, control: str | None) -> str:
    """The URL of a stream from the session's base URL and its ``a=control`` value.

    ``base`` is Content-Base, else Content-Location, else the DESCRIBE request URL. An absolute
    control is used as is; ``*`` or none means the base itself; a relative one is appended after a
    ``/`` (what servers mean in practice, rather than RFC 3986 merging, which would drop the last
    path segment of a base without a trailing slash). A query string in the base stays before the
    control part, as FFmpeg does it.
    """
    if control is None or control in ("", "*"):
        return base
    if _ABSOLUTE.match(control):
        return control
    m = _URL.match(base)
    if m is None:
        raise ParseError(f"base URL is not absolute: {base[:80]!r}")
    origin, path, query = m["origin"], m["path"] or "/", m["query"]
    if control.startswith("/"):
        return origin + control
    if query is not None:
        # FFmpeg appends after the query string: rtsp://h/p?q=1/streamid=0
        return base.rstrip("/") + "/" + control
    return origin + (path if path.endswith("/") else path + "/") + control


_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_URL = re.compile(r"^(?P<origin>[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?")
