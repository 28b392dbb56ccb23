"""What media and multivariant playlists share: limits, lines, variables, dates, and the layout.

**The layout.** A parsed playlist remembers, for every line, the field it filled, the value that line
parsed to and the line's original text: an :data:`Entry` ``(key, index, parsed, raw)``. Writing the
playlist back walks the layout and, for each line, writes the original text when the field still
holds the value it parsed to, and the canonical spelling of the new value when it was changed.
Fields set after parsing that no line holds are written in canonical order at their usual place.
So ``parse(text).dumps() == text`` for well-formed input, edits change only the lines they touch,
and a playlist built from scratch (no layout) is written canonically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from .. import errors
from ..errors import LimitExceeded, ParseError
from .attributes import format_float
from .tags import Define

__all__ = ["Limits", "Variables", "parse_date_time", "format_date_time", "format_duration", "split_lines"]

#: ``(key, index, parsed value, raw line)``; index is -1 for single-valued fields.
Entry = tuple[str, int, Any, str]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: what a field holds when it is absent (``None``, ``False``, or an index past a list's end)
MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on untrusted playlist text (the one ``Limits`` of :mod:`mediaproto.hls`).

    :param max_bytes: longest playlist accepted (characters).
    :param max_line_length: longest line accepted.
    :param max_lines: most lines accepted.
    :param max_variables: most EXT-X-DEFINE variables.
    :param max_substitution: most characters variable substitution may add to a playlist in total
        (the guard against expansion bombs: many references to a long value).
    """

    max_bytes: int = 16 * 1024 * 1024
    max_line_length: int = 256 * 1024
    max_lines: int = 1_000_000
    max_variables: int = 1000
    max_substitution: int = 1024 * 1024


def split_lines(text: str | bytes, limits: Limits) -> tuple[list[str], bool]:
    """Split playlist text into raw lines (a trailing ``\\r`` stays on its line) and say whether
    the text ended with a newline."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > limits.max_bytes:
            raise LimitExceeded(f"playlist of {len(text)} bytes exceeds max_bytes={limits.max_bytes}")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"playlist is not UTF-8: {exc.reason}", offset=exc.start) from None
    if len(text) > limits.max_bytes:
        raise LimitExceeded(f"playlist of {len(text)} characters exceeds max_bytes={limits.max_bytes}")
    lines = text.split("\n")
    final_newline = lines[-1] == ""
    if final_newline:
        lines.pop()
    if len(lines) > limits.max_lines:
        raise LimitExceeded(f"playlist has more than max_lines={limits.max_lines} lines")
    if len(text) > limits.max_line_length and max(map(len, lines), default=0) > limits.max_line_length:
        n = next(i for i, x in enumerate(lines, 1) if len(x) > limits.max_line_length)
        raise LimitExceeded(f"line longer than max_line_length={limits.max_line_length}", line=n)
    if not lines or not lines[0].startswith("#EXTM3U") or lines[0].rstrip("\r \t") != "#EXTM3U":
        raise ParseError("a playlist must start with #EXTM3U", line=1)
    return lines, final_newline


_REF_RE = re.compile(r"\{\$([A-Za-z0-9_-]+)\}")
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


class Variables:
    """EXT-X-DEFINE variables and ``{$name}`` substitution, with a bound on growth.

    :param query_params: the playlist URI's query parameters, for ``QUERYPARAM`` definitions.
    :param imports: the variables of the multivariant playlist, for ``IMPORT`` definitions.

    A variable whose value needs ``query_params``/``imports`` that the caller did not give is
    *unresolved*: references to it are left as written.
    """

    __slots__ = ("values", "unresolved", "_limits", "_added", "_query", "_imports")

    def __init__(
        self,
        limits: Limits,
        query_params: Mapping[str, str] | None = None,
        imports: Mapping[str, str] | None = None,
    ) -> None:
        self.values: dict[str, str] = {}
        self.unresolved: set[str] = set()
        self._limits = limits
        self._added = 0
        self._query = query_params
        self._imports = imports

    @property
    def active(self) -> bool:
        """Whether any variable is defined (substitution only happens then)."""
        return bool(self.values) or bool(self.unresolved)

    def define(self, d: Define, line: int, media: bool) -> None:
        """Add the variable an EXT-X-DEFINE defines."""
        if d.name is not None:
            if d.value is None or d.import_ is not None or d.queryparam is not None:
                raise ParseError("EXT-X-DEFINE with NAME needs VALUE and nothing else", line=line)
            name, value = d.name, d.value
            source: Mapping[str, str] | None = {name: value}
        elif d.import_ is not None:
            if not media or d.queryparam is not None or d.value is not None:
                raise ParseError("EXT-X-DEFINE IMPORT is only allowed alone, in media playlists", line=line)
            name, source = d.import_, self._imports
        elif d.queryparam is not None:
            if d.value is not None:
                raise ParseError("EXT-X-DEFINE QUERYPARAM takes no VALUE", line=line)
            name, source = d.queryparam, self._query
        else:
            raise ParseError("EXT-X-DEFINE needs NAME, IMPORT or QUERYPARAM", line=line)
        if _NAME_RE.fullmatch(name) is None:
            raise ParseError(f"invalid variable name {name[:60]!r}", line=line)
        if name in self.values or name in self.unresolved:
            raise ParseError(f"variable {name!r} defined twice", line=line)
        if len(self.values) + len(self.unresolved) >= self._limits.max_variables:
            raise LimitExceeded(f"more than max_variables={self._limits.max_variables} variables", line=line)
        if source is None:
            self.unresolved.add(name)
        elif name in source:
            self.values[name] = source[name]
        else:
            raise ParseError(f"variable {name!r} has no value to import", line=line)

    def substitute(self, text: str, line: int | None) -> str:
        """Replace every ``{$name}`` in ``text``."""
        values = self.values

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            value = values.get(name)
            if value is None:
                if name in self.unresolved:
                    return m.group(0)
                raise ParseError(f"reference to undefined variable {name!r}", line=line)
            self._added += len(value)
            if self._added > self._limits.max_substitution:
                raise LimitExceeded(
                    f"variable substitution exceeds max_substitution={self._limits.max_substitution}",
                    line=line,
                )
            return value

        return _REF_RE.sub(repl, text)


_DATE_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?"
)


def parse_date_time(text: str, line: int | None = None) -> datetime:
    """Parse an ISO 8601 date-time as EXT-X-PROGRAM-DATE-TIME writes it (any fraction digits)."""
    m = _DATE_RE.fullmatch(text)
    if m is None:
        raise ParseError(f"malformed date-time {text[:60]!r}", line=line)
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    tz: timezone | None = None
    try:
        if z:
            tz = timezone.utc
        elif sign:
            offset = timedelta(hours=int(oh), minutes=int(om))
            tz = timezone(-offset if sign == "-" else offset)
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tz)
    except ValueError:
        raise ParseError(f"invalid date-time {text[:60]!r}", line=line) from None


def format_date_time(value: datetime) -> str:
    """The canonical ISO 8601 text: milliseconds, and ``Z`` for UTC."""
    text = value.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


#: format_duration's answers for the durations seen last (a playlist writes few distinct ones
#: many times); positive values only, so that -0.0 never stands for 0.0.
_DURATIONS: dict[float, str] = {}


def format_duration(value: float) -> str:
    """The canonical EXTINF duration: three decimals when exact to the millisecond."""
    text = _DURATIONS.get(value)
    if text is not None:
        return text
    text = f"{value:.3f}"
    if float(text) != value:
        text = format_float(value)
    if value > 0:
        if len(_DURATIONS) >= 1024:
            _DURATIONS.clear()
        _DURATIONS[value] = text
    return text
