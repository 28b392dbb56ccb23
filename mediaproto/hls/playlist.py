"""Media playlists (RFC 8216 section 4.4.2-4.4.5, LL-HLS of the successor draft) and :func:`parse`.

A :class:`MediaPlaylist` holds its playlist-level tags as fields and its media segments as a list
of :class:`Segment`; the parts and tags after the last complete segment (an LL-HLS playlist's
segment in progress) are :attr:`MediaPlaylist.partial_segment`. Unknown tags, comments and blank
lines are kept in ``extra`` lists, in place. ``parse(text).dumps() == text`` for well-formed input
(see :mod:`mediaproto.hls.lines` for how the original spelling is remembered); a playlist built
from scratch is written canonically::

    pl = MediaPlaylist(target_duration=2, segments=[Segment("seg0.ts", 2.0)], endlist=True)
    pl.dumps()
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..errors import ParseError
from .lines import MISSING, Entry, Limits, Variables, parse_date_time, split_lines
from .mediawriter import (
    _MULTIVARIANT_TAGS,
    _PL_ATTR_TYPES,
    _PL_FLAGS,
    _PL_INTS,
    _PL_KEY,
    _PL_LISTS,
    _PL_TAG,
    _SEG_TAGS,
    _dump_media,
    _get,
)
from .multivariant import MultivariantPlaylist, parse_multivariant_lines
from .rules import check_no_early_reference, despace_attributes, named
from .tags import (
    ByteRange,
    DateRange,
    Define,
    Key,
    Map,
    PartialSegment,
    PartInf,
    PreloadHint,
    RenditionReport,
    ServerControl,
    Skip,
    Start,
)

__all__ = ["Segment", "MediaPlaylist", "parse", "parse_media"]

_INT_RE = re.compile(r"[0-9]{1,20}")
_DURATION_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_PART_FAST = re.compile(r'DURATION=([0-9]+(?:\.[0-9]*)?|\.[0-9]+),URI="([^"\r\n]*)"(,INDEPENDENT=YES)?')
_PART_LINE = re.compile("#EXT-X-PART:" + _PART_FAST.pattern)
_MULTIVARIANT_RE = re.compile(
    r"^#EXT-X-(?:STREAM-INF|I-FRAME-STREAM-INF|MEDIA:|SESSION-DATA|SESSION-KEY|CONTENT-STEERING)", re.M
)
#: Tags only a media playlist has: with one of them, multivariant tags are refused by name.
_MEDIA_RE = re.compile(r"^#(?:EXTINF|EXT-X-TARGETDURATION)\b", re.M)
_VARIANT_RE = re.compile(r"^#EXT-X-(?:STREAM-INF|I-FRAME-STREAM-INF|MEDIA):", re.M)
#: Media playlist tags that RFC 8216bis places before the first media segment.
_BEFORE_SEGMENTS = {"media_sequence": "4.4.3.2", "discontinuity_sequence": "4.4.3.3", "skip": "4.4.5.2"}


@dataclass(slots=True)
class Segment:
    """One media segment: its URI line and the media segment tags before it.

    :param uri: the URI line (``""`` for :attr:`MediaPlaylist.partial_segment`).
    :param duration: EXTINF duration in seconds.
    :param title: EXTINF title.
    :param keys: the EXT-X-KEY tags that appear before this segment (they apply to it and to the
        following segments until the next EXT-X-KEY of the same KEYFORMAT).
    :param map: the EXT-X-MAP before this segment (it applies until the next one).
    :param parts: the EXT-X-PART partial segments of this segment (LL-HLS).
    :param extra: unknown tags, comments and blank lines before the URI, as whole lines.
    """

    uri: str = ""
    duration: float = 0.0
    title: str = ""
    byterange: ByteRange | None = None
    discontinuity: bool = False
    keys: list[Key] = field(default_factory=list)
    map: Map | None = None
    program_date_time: datetime | None = None
    dateranges: list[DateRange] = field(default_factory=list)
    gap: bool = False
    bitrate: int | None = None
    parts: list[PartialSegment] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    _layout: list[Entry] | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class MediaPlaylist:
    """A media playlist. Fields absent from the text are ``None``/``False``/empty.

    :param segments: the complete media segments, in order.
    :param partial_segment: LL-HLS: the segment in progress after the last complete one (its
        parts, and any tags before them); ``None`` when there is none.
    :param extra: unknown playlist-level tags, comments and blank lines, as whole lines.
    """

    segments: list[Segment] = field(default_factory=list)
    target_duration: int | None = None
    version: int | None = None
    media_sequence: int | None = None
    discontinuity_sequence: int | None = None
    playlist_type: str | None = None
    i_frames_only: bool = False
    independent_segments: bool = False
    start: Start | None = None
    server_control: ServerControl | None = None
    part_inf: PartInf | None = None
    defines: list[Define] = field(default_factory=list)
    skip: Skip | None = None
    partial_segment: Segment | None = None
    preload_hints: list[PreloadHint] = field(default_factory=list)
    rendition_reports: list[RenditionReport] = field(default_factory=list)
    endlist: bool = False
    extra: list[str] = field(default_factory=list)
    _layout: list[Entry] | None = field(default=None, compare=False, repr=False)
    _foreign: list[tuple[str, int, Any]] = field(default_factory=list, compare=False, repr=False)
    _cr: str = field(default="", compare=False, repr=False)
    _final_newline: bool = field(default=True, compare=False, repr=False)

    @property
    def duration(self) -> float:
        """The sum of the segments' EXTINF durations."""
        return sum(s.duration for s in self.segments)

    def dumps(self) -> str:
        """The playlist text (byte-exact to the parsed text where nothing was changed)."""
        out: list[str] = []
        _dump_media(self, out)
        text = "\n".join(out)
        return text + "\n" if self._final_newline else text


# --- parsing ---------------------------------------------------------------------------------


def _int(value: str, line: int) -> int:
    if _INT_RE.fullmatch(value) is None or not value.isascii():
        raise ParseError(f"expected a decimal-integer, got {value[:40]!r}", line=line)
    return int(value)


def parse(
    text: str | bytes,
    *,
    limits: Limits | None = None,
    query_params: Mapping[str, str] | None = None,
    imports: Mapping[str, str] | None = None,
    lenient: bool = False,
) -> MediaPlaylist | MultivariantPlaylist:
    """Parse playlist text into a :class:`MediaPlaylist` or a :class:`MultivariantPlaylist`.

    Strict by default, with RFC 8216bis's ordering and EXT-X-DEFINE rules; ``lenient`` accepts what
    players accept (see :mod:`mediaproto.hls.rules`). Either way the text round-trips.

    :param limits: bounds on the input (:class:`Limits` defaults).
    :param query_params: the playlist URI's query parameters (EXT-X-DEFINE QUERYPARAM).
    :param imports: the multivariant playlist's variables (EXT-X-DEFINE IMPORT).
    :raises ~mediaproto.errors.ParseError: malformed text, with the line number; the message names
        the tag and the rule.
    :raises ~mediaproto.errors.LimitExceeded: input past ``limits``.
    """
    limits = limits or Limits()
    lines, final_newline = split_lines(text, limits)
    variables = Variables(limits, query_params, imports)
    joined = text if isinstance(text, str) else "\n".join(lines)
    early = not lenient and "#EXT-X-DEFINE:" in joined and "{$" in joined  # references to check
    if _VARIANT_RE.search(joined) is not None or (
        _MULTIVARIANT_RE.search(joined) is not None and _MEDIA_RE.search(joined) is None
    ):
        return parse_multivariant_lines(lines, final_newline, variables, lenient=lenient, check_early=early)
    return _parse_media_lines(lines, final_newline, variables, "\r" in joined, lenient=lenient, check_early=early)


def parse_media(text: str | bytes, *, limits: Limits | None = None, lenient: bool = False) -> MediaPlaylist:
    """Parse text that must be a media playlist."""
    pl = parse(text, limits=limits, lenient=lenient)
    if not isinstance(pl, MediaPlaylist):
        raise ParseError("expected a media playlist, got a multivariant playlist")
    return pl


def _parse_media_lines(
    lines: list[str], final_newline: bool, variables: Variables, has_cr: bool = True, *,
    lenient: bool = False, check_early: bool = False,
) -> MediaPlaylist:
    pl = MediaPlaylist()
    first = lines[0]
    pl._cr = "\r" if first.endswith("\r") else ""
    pl._final_newline = final_newline
    layout: list[Entry] = [("extm3u", -1, None, first)]
    pl._layout = layout
    foreign = pl._foreign
    seg: Segment | None = None
    seg_layout: list[Entry] = []
    substantive = False
    has_extinf = False
    started = False
    segments = pl.segments
    pl_get = _get

    def open_segment() -> Segment:
        nonlocal seg, seg_layout, started
        if not started:
            started = True
            layout.append(("segments", -1, None, ""))
        seg = Segment()
        seg_layout = []
        seg._layout = seg_layout
        return seg

    subst: Any = None
    for lineno, raw in enumerate(lines[1:], 2):
        line = raw[:-1] if has_cr and raw.endswith("\r") else raw
        if check_early and subst is None and "{$" in line:
            check_no_early_reference(line, lineno)
        if line[:1] != "#" and line:  # a URI line
            s = seg if seg is not None else open_segment()
            if not has_extinf:
                raise ParseError("media segment URI without #EXTINF", line=lineno)
            s.uri = subst(line, lineno) if subst is not None and "{$" in line else line
            seg_layout.append(("uri", -1, s.uri, raw))
            segments.append(s)
            seg = None
            substantive = has_extinf = False
            continue
        if not line.startswith("#EXT"):  # a comment or a blank line
            if started:
                s = seg if seg is not None else open_segment()
                s.extra.append(line)
                seg_layout.append(("extra", len(s.extra) - 1, line, raw))
            else:
                pl.extra.append(line)
                layout.append(("extra", len(pl.extra) - 1, line, raw))
            continue
        if line.startswith("#EXTINF:"):
            s = seg if seg is not None else open_segment()
            if has_extinf:
                raise ParseError("two #EXTINF tags for one segment", line=lineno)
            dur, _, title = line[8:].partition(",")
            if lenient:
                dur = dur.strip()  # #EXTINF: 5,
            if _DURATION_RE.fullmatch(dur) is None:
                raise ParseError(f"malformed EXTINF duration {dur[:40]!r}", line=lineno)
            s.duration = float(dur)
            s.title = title
            seg_layout.append(("extinf", -1, (s.duration, title), raw))
            substantive = has_extinf = True
            continue
        m = _PART_LINE.match(line)
        if m is not None and m.end() == len(line) and subst is None:
            s = seg if seg is not None else open_segment()
            d, uri, independent = m.groups()
            part = PartialSegment(float(d), uri, independent is not None)
            s.parts.append(part)
            seg_layout.append(("parts", len(s.parts) - 1, part, raw))
            substantive = True
            continue
        tag, colon, value = line.partition(":")
        if lenient:
            value = despace_attributes(value)
        if tag in _SEG_TAGS:
            s = seg if seg is not None else open_segment()
            try:
                key, v = _parse_segment_tag(s, tag, colon, value, lineno, subst)
            except ParseError as exc:
                raise named(tag, exc, lineno) from None
            if key in ("keys", "dateranges", "parts"):
                lst = getattr(s, key)
                lst.append(v)
                seg_layout.append((key, len(lst) - 1, v, raw))
            else:
                if getattr(s, key) not in (None, False):
                    raise ParseError(f"{tag} appears twice for one segment", line=lineno)
                setattr(s, key, v)
                seg_layout.append((key, -1, v, raw))
            substantive = True
            continue
        pkey = _PL_KEY.get(tag)
        if pkey is None:
            if tag in _MULTIVARIANT_TAGS:
                raise ParseError(f"{tag} is not allowed in a media playlist", line=lineno)
            if tag == "#EXTM3U" and not lenient:
                raise ParseError("#EXTM3U appears twice (RFC 8216bis 4.4.1.1: it is the first line only)", line=lineno)
            if started:  # an unknown tag: kept in place
                s = seg if seg is not None else open_segment()
                s.extra.append(line)
                seg_layout.append(("extra", len(s.extra) - 1, line, raw))
            else:
                pl.extra.append(line)
                layout.append(("extra", len(pl.extra) - 1, line, raw))
            continue
        if segments and not lenient and pkey in _BEFORE_SEGMENTS:
            raise ParseError(f"{tag[1:]} after a media segment (RFC 8216bis {_BEFORE_SEGMENTS[pkey]}: "
                             "it MUST appear before the first Media Segment)", line=lineno)
        try:
            pv = _parse_pl_value(pkey, colon, value, lineno, subst)
        except ParseError as exc:
            raise named(tag, exc, lineno) from None
        if pkey in _PL_LISTS:
            lst = getattr(pl, pkey)
            lst.append(pv)
            idx = len(lst) - 1
            if pkey == "defines":
                variables.define(pv, lineno, media=True)
                subst = variables.substitute if variables.active else None
        else:
            if pl_get(pl, pkey, -1) is not MISSING:
                raise ParseError(f"{tag} appears twice", line=lineno)
            setattr(pl, pkey, pv)
            idx = -1
        if started:
            s = seg if seg is not None else open_segment()
            foreign.append((pkey, idx, pv))
            seg_layout.append(("pl", -1, (pkey, idx, pv), raw))
        else:
            layout.append((pkey, idx, pv, raw))
    if seg is not None:
        if substantive:
            pl.partial_segment = seg
        else:  # only playlist tags and comments after the last segment: the playlist's tail
            for key, idx, parsed, raw in seg_layout:
                if key == "pl":
                    foreign.pop()
                    layout.append((parsed[0], parsed[1], parsed[2], raw))
                else:
                    pl.extra.append(parsed)
                    layout.append(("extra", len(pl.extra) - 1, parsed, raw))
    if not started:
        layout.append(("segments", -1, None, ""))
    return pl


def _parse_pl_value(key: str, colon: str, value: str, line: int, subst: Any) -> Any:
    if key in _PL_FLAGS:
        if colon:
            raise ParseError(f"{_PL_TAG[key]} takes no value", line=line)
        return True
    if not colon:
        raise ParseError(f"{_PL_TAG[key]} needs a value", line=line)
    if key in _PL_INTS:
        return _int(value, line)
    if key == "playlist_type":
        if value not in ("EVENT", "VOD"):
            raise ParseError(f"EXT-X-PLAYLIST-TYPE must be EVENT or VOD, got {value[:40]!r}", line=line)
        return value
    return _PL_ATTR_TYPES[key].parse(value, line, subst)


def _parse_segment_tag(s: Segment, tag: str, colon: str, value: str, line: int, subst: Any) -> tuple[str, Any]:
    if tag == "#EXT-X-DISCONTINUITY" or tag == "#EXT-X-GAP":
        if colon:
            raise ParseError(f"{tag} takes no value", line=line)
        return ("discontinuity" if tag == "#EXT-X-DISCONTINUITY" else "gap"), True
    if not colon:
        raise ParseError(f"{tag} needs a value", line=line)
    if tag == "#EXT-X-PART":
        m = _PART_FAST.fullmatch(value)
        if m is not None and (subst is None or "{$" not in value):
            d, uri, independent = m.groups()
            return "parts", PartialSegment(float(d), uri, independent is not None)
        return "parts", PartialSegment.parse(value, line, subst)
    if tag == "#EXT-X-BYTERANGE":
        return "byterange", ByteRange.parse(value, line)
    if tag == "#EXT-X-KEY":
        return "keys", Key.parse(value, line, subst)
    if tag == "#EXT-X-MAP":
        return "map", Map.parse(value, line, subst)
    if tag == "#EXT-X-PROGRAM-DATE-TIME":
        return "program_date_time", parse_date_time(value, line)
    if tag == "#EXT-X-DATERANGE":
        return "dateranges", DateRange.parse(value, line, subst)
    return "bitrate", _int(value, line)  # EXT-X-BITRATE


