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
from typing import Any, Callable, Mapping

from ..errors import ParseError, ProtocolError
from .lines import (
    MISSING,
    Entry,
    Limits,
    Variables,
    format_date_time,
    format_duration,
    parse_date_time,
    split_lines,
)
from .multivariant import MultivariantPlaylist, parse_multivariant_lines
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

__all__ = ["Segment", "MediaPlaylist", "parse", "parse_media", "merge_delta"]

_INT_RE = re.compile(r"[0-9]{1,20}")
_DURATION_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_PART_FAST = re.compile(r'DURATION=([0-9]+(?:\.[0-9]*)?|\.[0-9]+),URI="([^"\r\n]*)"(,INDEPENDENT=YES)?')
_PART_LINE = re.compile("#EXT-X-PART:" + _PART_FAST.pattern)
_MULTIVARIANT_RE = re.compile(
    r"^#EXT-X-(?:STREAM-INF|I-FRAME-STREAM-INF|MEDIA:|SESSION-DATA|SESSION-KEY|CONTENT-STEERING)", re.M
)


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


# --- tags of a media playlist ------------------------------------------------------------------

_PL_TAG = {
    "version": "#EXT-X-VERSION",
    "target_duration": "#EXT-X-TARGETDURATION",
    "media_sequence": "#EXT-X-MEDIA-SEQUENCE",
    "discontinuity_sequence": "#EXT-X-DISCONTINUITY-SEQUENCE",
    "playlist_type": "#EXT-X-PLAYLIST-TYPE",
    "i_frames_only": "#EXT-X-I-FRAMES-ONLY",
    "independent_segments": "#EXT-X-INDEPENDENT-SEGMENTS",
    "start": "#EXT-X-START",
    "server_control": "#EXT-X-SERVER-CONTROL",
    "part_inf": "#EXT-X-PART-INF",
    "defines": "#EXT-X-DEFINE",
    "skip": "#EXT-X-SKIP",
    "preload_hints": "#EXT-X-PRELOAD-HINT",
    "rendition_reports": "#EXT-X-RENDITION-REPORT",
    "endlist": "#EXT-X-ENDLIST",
}
_PL_KEY = {tag: key for key, tag in _PL_TAG.items()}
_PL_INTS = {"version", "target_duration", "media_sequence", "discontinuity_sequence"}
_PL_FLAGS = {"i_frames_only", "independent_segments", "endlist"}
_PL_LISTS = {"defines", "preload_hints", "rendition_reports", "extra"}
_PL_ATTR_TYPES: dict[str, Any] = {
    "start": Start,
    "server_control": ServerControl,
    "part_inf": PartInf,
    "skip": Skip,
    "defines": Define,
    "preload_hints": PreloadHint,
    "rendition_reports": RenditionReport,
}
_HEADER_ORDER = [
    "version", "target_duration", "media_sequence", "discontinuity_sequence", "playlist_type",
    "i_frames_only", "independent_segments", "start", "server_control", "part_inf", "defines",
    "extra", "skip",
]  # fmt: skip
_TAIL_ORDER = ["preload_hints", "rendition_reports", "endlist"]
_SEG_TAGS = {
    "#EXTINF", "#EXT-X-BYTERANGE", "#EXT-X-DISCONTINUITY", "#EXT-X-KEY", "#EXT-X-MAP",
    "#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-DATERANGE", "#EXT-X-GAP", "#EXT-X-BITRATE", "#EXT-X-PART",
}  # fmt: skip
_MULTIVARIANT_TAGS = {
    "#EXT-X-STREAM-INF", "#EXT-X-I-FRAME-STREAM-INF", "#EXT-X-MEDIA", "#EXT-X-SESSION-DATA",
    "#EXT-X-SESSION-KEY", "#EXT-X-CONTENT-STEERING",
}  # fmt: skip


def _get(obj: Any, key: str, idx: int) -> Any:
    value = getattr(obj, key)
    if idx >= 0:
        return value[idx] if idx < len(value) else MISSING
    return MISSING if value is None or value is False else value


def _pl_line(key: str, value: Any) -> str:
    if key == "extra":
        return str(value)
    tag = _PL_TAG[key]
    if key in _PL_FLAGS:
        return tag
    if key in _PL_INTS or key == "playlist_type":
        return f"{tag}:{value}"
    return str(value.dumps())


def _seg_line(key: str, value: Any) -> str:
    if key == "extinf":
        return f"#EXTINF:{format_duration(value[0])},{value[1]}"
    if key == "extra" or key == "uri":
        return str(value)
    if key == "discontinuity":
        return "#EXT-X-DISCONTINUITY"
    if key == "gap":
        return "#EXT-X-GAP"
    if key == "byterange":
        return f"#EXT-X-BYTERANGE:{value}"
    if key == "program_date_time":
        return f"#EXT-X-PROGRAM-DATE-TIME:{format_date_time(value)}"
    if key == "bitrate":
        return f"#EXT-X-BITRATE:{value}"
    return str(value.dumps())


def _seg_present(seg: Segment) -> list[tuple[str, int, Any]]:
    """The segment's lines in canonical order, as ``(key, index, value)``, without the URI."""
    items: list[tuple[str, int, Any]] = [("extra", i, v) for i, v in enumerate(seg.extra)]
    if seg.discontinuity:
        items.append(("discontinuity", -1, True))
    items += [("keys", i, v) for i, v in enumerate(seg.keys)]
    if seg.map is not None:
        items.append(("map", -1, seg.map))
    if seg.program_date_time is not None:
        items.append(("program_date_time", -1, seg.program_date_time))
    items += [("dateranges", i, v) for i, v in enumerate(seg.dateranges)]
    if seg.gap:
        items.append(("gap", -1, True))
    if seg.bitrate is not None:
        items.append(("bitrate", -1, seg.bitrate))
    items += [("parts", i, v) for i, v in enumerate(seg.parts)]
    if seg.uri:
        items.append(("extinf", -1, (seg.duration, seg.title)))
        if seg.byterange is not None:
            items.append(("byterange", -1, seg.byterange))
    return items


def _count_lines(seg: Segment) -> int:
    """How many lines the segment's fields make, without the URI line."""
    n = len(seg.extra) + len(seg.keys) + len(seg.dateranges) + len(seg.parts)
    if seg.uri:
        n += 1 if seg.byterange is None else 2
    if seg.discontinuity:
        n += 1
    if seg.map is not None:
        n += 1
    if seg.program_date_time is not None:
        n += 1
    if seg.gap:
        n += 1
    if seg.bitrate is not None:
        n += 1
    return n


def _unchanged(seg: Segment, layout: list[Entry], out: list[str], pl_current: Callable[[Any], Any]) -> bool:
    """The fast path: when every line of the layout still holds its value and nothing was added,
    write the original lines and return True."""
    n = 0
    lines = []
    for key, idx, parsed, raw in layout:
        if key == "extinf":
            if seg.duration != parsed[0] or seg.title != parsed[1]:
                return False
            n += 1
        elif key == "uri":
            if seg.uri != parsed:
                return False
        elif key == "pl":
            if pl_current(parsed) != parsed[2]:
                return False
        else:
            cur = _get(seg, key, idx)
            if cur is MISSING or cur != parsed:
                return False
            n += 1
        lines.append(raw)
    if n != _count_lines(seg):
        return False
    out += lines
    return True


def _dump_segment(seg: Segment, out: list[str], cr: str, pl_current: Callable[[Any], Any]) -> None:
    layout = seg._layout
    if layout is not None and _unchanged(seg, layout, out, pl_current):
        return
    if layout is None:
        out.extend([_seg_line(k, v) + cr for k, _, v in _seg_present(seg)])
        if seg.uri:
            out.append(seg.uri + cr)
        return
    done: set[tuple[str, int]] = set()
    flushed = False
    cur: Any
    for key, idx, parsed, raw in layout:
        if key == "pl":
            cur = pl_current(parsed)
            if cur is not MISSING:
                out.append(raw if cur == parsed[2] else _pl_line(parsed[0], cur) + cr)
            continue
        if key == "uri":
            flushed = True
            out.extend([_seg_line(k, v) + cr for k, i, v in _seg_present(seg) if (k, i) not in done])
            cur = seg.uri
        elif key == "extinf":
            cur = (seg.duration, seg.title)
        else:
            cur = _get(seg, key, idx)
            if cur is MISSING:
                continue
        done.add((key, idx))
        out.append(raw if cur == parsed else _seg_line(key, cur) + cr)
    if not flushed:
        out.extend([_seg_line(k, v) + cr for k, i, v in _seg_present(seg) if (k, i) not in done])
        if seg.uri:
            out.append(seg.uri + cr)


def _pl_present(pl: MediaPlaylist, order: list[str]) -> list[tuple[str, int, Any]]:
    items = []
    for key in order:
        value = getattr(pl, key)
        if key in _PL_LISTS:
            items += [(key, i, v) for i, v in enumerate(value)]
        elif value is not None and value is not False:
            items.append((key, -1, value))
    return items


def _dump_media(pl: MediaPlaylist, out: list[str]) -> None:
    cr = pl._cr

    def current(parsed: tuple[str, int, Any]) -> Any:
        return _get(pl, parsed[0], parsed[1])

    layout = pl._layout
    if layout is None:
        layout = [("extm3u", -1, None, "#EXTM3U"), ("segments", -1, None, "")]
    handled = {(k, i) for k, i, _, _ in layout}
    handled.update((k, i) for k, i, _ in pl._foreign if _get(pl, k, i) is not MISSING)
    for key, idx, parsed, raw in layout:
        if key == "extm3u":
            out.append(raw)
        elif key == "segments":
            out.extend([_pl_line(k, v) + cr for k, i, v in _pl_present(pl, _HEADER_ORDER) if (k, i) not in handled])
            for seg in pl.segments:
                _dump_segment(seg, out, cr, current)
            if pl.partial_segment is not None:
                _dump_segment(pl.partial_segment, out, cr, current)
        else:
            cur = _get(pl, key, idx)
            if cur is not MISSING:
                out.append(raw if cur == parsed else _pl_line(key, cur) + cr)
    out.extend([_pl_line(k, v) + cr for k, i, v in _pl_present(pl, _TAIL_ORDER) if (k, i) not in handled])


# --- parsing ---------------------------------------------------------------------------------


def _int(value: str, line: int) -> int:
    if _INT_RE.fullmatch(value) is None:
        raise ParseError(f"expected a decimal-integer, got {value[:40]!r}", line=line)
    return int(value)


def parse(
    text: str | bytes,
    *,
    limits: Limits | None = None,
    query_params: Mapping[str, str] | None = None,
    imports: Mapping[str, str] | None = None,
) -> MediaPlaylist | MultivariantPlaylist:
    """Parse playlist text into a :class:`MediaPlaylist` or a :class:`MultivariantPlaylist`.

    :param limits: bounds on the input (:class:`Limits` defaults).
    :param query_params: the playlist URI's query parameters (EXT-X-DEFINE QUERYPARAM).
    :param imports: the multivariant playlist's variables (EXT-X-DEFINE IMPORT).
    :raises ~mediaproto.errors.ParseError: malformed text, with the line number.
    :raises ~mediaproto.errors.LimitExceeded: input past ``limits``.
    """
    limits = limits or Limits()
    lines, final_newline = split_lines(text, limits)
    variables = Variables(limits, query_params, imports)
    joined = text if isinstance(text, str) else "\n".join(lines)
    if _MULTIVARIANT_RE.search(joined) is not None:
        return parse_multivariant_lines(lines, final_newline, variables)
    return _parse_media_lines(lines, final_newline, variables, "\r" in joined)


def parse_media(text: str | bytes, *, limits: Limits | None = None) -> MediaPlaylist:
    """Parse text that must be a media playlist."""
    pl = parse(text, limits=limits)
    if not isinstance(pl, MediaPlaylist):
        raise ParseError("expected a media playlist, got a multivariant playlist")
    return pl


def _parse_media_lines(
    lines: list[str], final_newline: bool, variables: Variables, has_cr: bool = True
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
        if tag in _SEG_TAGS:
            s = seg if seg is not None else open_segment()
            key, v = _parse_segment_tag(s, tag, colon, value, lineno, subst)
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
            if tag == "#EXTM3U":
                raise ParseError("#EXTM3U appears twice", line=lineno)
            if started:  # an unknown tag: kept in place
                s = seg if seg is not None else open_segment()
                s.extra.append(line)
                seg_layout.append(("extra", len(s.extra) - 1, line, raw))
            else:
                pl.extra.append(line)
                layout.append(("extra", len(pl.extra) - 1, line, raw))
            continue
        pv = _parse_pl_value(pkey, colon, value, lineno, subst)
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


# --- delta updates -----------------------------------------------------------------------------


def merge_delta(previous: MediaPlaylist, delta: MediaPlaylist) -> MediaPlaylist:
    """Rebuild the full playlist from a delta update (one with EXT-X-SKIP) and the previous one.

    The skipped segments are taken from ``previous`` by media sequence number; date ranges named
    in RECENTLY-REMOVED-DATERANGES are dropped. The result has no EXT-X-SKIP and is written
    canonically. A delta without EXT-X-SKIP is returned unchanged.

    :raises ~mediaproto.errors.ProtocolError: ``previous`` lacks the skipped segments.
    """
    if delta.skip is None:
        return delta
    n = delta.skip.skipped_segments
    first = delta.media_sequence or 0
    start = first - (previous.media_sequence or 0)
    if start < 0 or start + n > len(previous.segments):
        raise ProtocolError(
            f"delta update skips segments {first}..{first + n - 1} that the previous playlist does not have"
        )
    removed = set((delta.skip.recently_removed_dateranges or "").split("\t")) - {""}
    skipped = []
    for old in previous.segments[start : start + n]:
        seg = Segment(
            uri=old.uri, duration=old.duration, title=old.title, byterange=old.byterange,
            discontinuity=old.discontinuity, keys=list(old.keys), map=old.map,
            program_date_time=old.program_date_time,
            dateranges=[d for d in old.dateranges if d.id not in removed],
            gap=old.gap, bitrate=old.bitrate, parts=list(old.parts), extra=list(old.extra),
        )  # fmt: skip
        skipped.append(seg)
    merged = MediaPlaylist(
        segments=skipped + [_copy_segment(s) for s in delta.segments],
        target_duration=delta.target_duration, version=delta.version,
        media_sequence=delta.media_sequence, discontinuity_sequence=delta.discontinuity_sequence,
        playlist_type=delta.playlist_type, i_frames_only=delta.i_frames_only,
        independent_segments=delta.independent_segments, start=delta.start,
        server_control=delta.server_control, part_inf=delta.part_inf, defines=list(delta.defines),
        partial_segment=_copy_segment(delta.partial_segment) if delta.partial_segment else None,
        preload_hints=list(delta.preload_hints), rendition_reports=list(delta.rendition_reports),
        endlist=delta.endlist, extra=list(delta.extra),
    )  # fmt: skip
    merged._cr = delta._cr
    return merged


def _copy_segment(s: Segment) -> Segment:
    return Segment(
        s.uri, s.duration, s.title, s.byterange, s.discontinuity, list(s.keys), s.map,
        s.program_date_time, list(s.dateranges), s.gap, s.bitrate, list(s.parts), list(s.extra),
    )  # fmt: skip

