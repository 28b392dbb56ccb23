"""Multivariant playlists (RFC 8216 section 4.4.6, formerly "master playlists").

A :class:`MultivariantPlaylist` lists :class:`Variant` streams (EXT-X-STREAM-INF and the URI line
after it), alternative renditions (:class:`~mediaproto.hls.tags.Media`), I-frame playlists,
session data and keys, and content steering. Like media playlists it keeps unknown tags and
comments in place and writes back the original text of every line it did not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..text import parse_uint
from .lines import MISSING, Entry, Variables
from .rules import check_no_early_reference, despace_attributes, named
from .tags import ContentSteering, Define, IFrameStreamInf, Media, SessionData, SessionKey, Start, StreamInf

__all__ = ["Variant", "MultivariantPlaylist", "parse_multivariant_lines"]


@dataclass(frozen=True, slots=True)
class Variant:
    """A variant stream: its EXT-X-STREAM-INF attributes and the URI line that follows.

    :param lines_between: comments, blank lines or unknown tags between the two lines, kept.
    """

    stream_inf: StreamInf
    uri: str
    lines_between: tuple[str, ...] = ()

    def dumps(self) -> str:
        """The canonical lines of this variant."""
        return "\n".join([self.stream_inf.dumps(), *self.lines_between, self.uri])


@dataclass(slots=True)
class MultivariantPlaylist:
    """A multivariant playlist; fields absent from the text are ``None``/``False``/empty."""

    variants: list[Variant] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    i_frame_variants: list[IFrameStreamInf] = field(default_factory=list)
    version: int | None = None
    independent_segments: bool = False
    start: Start | None = None
    defines: list[Define] = field(default_factory=list)
    session_data: list[SessionData] = field(default_factory=list)
    session_keys: list[SessionKey] = field(default_factory=list)
    content_steering: ContentSteering | None = None
    extra: list[str] = field(default_factory=list)
    _layout: list[Entry] | None = field(default=None, compare=False, repr=False)
    _cr: str = field(default="", compare=False, repr=False)
    _final_newline: bool = field(default=True, compare=False, repr=False)

    def dumps(self) -> str:
        """The playlist text (byte-exact to the parsed text where nothing was changed)."""
        cr = self._cr
        layout = self._layout or [("extm3u", -1, None, "#EXTM3U")]
        handled = {(k, i) for k, i, _, _ in layout}
        out: list[str] = []
        for key, idx, parsed, raw in layout:
            if key == "extm3u":
                out.append(raw)
                out.extend(_line(k, v, cr) for k, i, v in _present(self, _HEAD) if (k, i) not in handled)
                continue
            cur = _get(self, key, idx)
            if cur is not MISSING:
                out.append(raw if cur == parsed else _line(key, cur, cr))
        out.extend(_line(k, v, cr) for k, i, v in _present(self, _BODY) if (k, i) not in handled)
        text = "\n".join(out)
        return text + "\n" if self._final_newline else text


_TAG = {
    "#EXT-X-VERSION": "version",
    "#EXT-X-INDEPENDENT-SEGMENTS": "independent_segments",
    "#EXT-X-START": "start",
    "#EXT-X-DEFINE": "defines",
    "#EXT-X-MEDIA": "media",
    "#EXT-X-I-FRAME-STREAM-INF": "i_frame_variants",
    "#EXT-X-SESSION-DATA": "session_data",
    "#EXT-X-SESSION-KEY": "session_keys",
    "#EXT-X-CONTENT-STEERING": "content_steering",
}
_TYPES: dict[str, Any] = {
    "start": Start,
    "defines": Define,
    "media": Media,
    "i_frame_variants": IFrameStreamInf,
    "session_data": SessionData,
    "session_keys": SessionKey,
    "content_steering": ContentSteering,
}
_LISTS = {"defines", "media", "i_frame_variants", "session_data", "session_keys", "variants", "extra"}
_HEAD = ["version", "independent_segments", "start", "defines", "content_steering", "session_data", "session_keys"]
_BODY = ["media", "variants", "i_frame_variants", "extra"]
_MEDIA_ONLY = {
    "#EXTINF", "#EXT-X-BYTERANGE", "#EXT-X-DISCONTINUITY", "#EXT-X-KEY", "#EXT-X-MAP",
    "#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-DATERANGE", "#EXT-X-GAP", "#EXT-X-BITRATE", "#EXT-X-PART",
    "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE", "#EXT-X-I-FRAMES-ONLY", "#EXT-X-PART-INF",
    "#EXT-X-SERVER-CONTROL", "#EXT-X-PRELOAD-HINT", "#EXT-X-RENDITION-REPORT", "#EXT-X-SKIP",
}  # fmt: skip


def _get(pl: MultivariantPlaylist, key: str, idx: int) -> Any:
    value = getattr(pl, key)
    if idx >= 0:
        return value[idx] if idx < len(value) else MISSING
    return MISSING if value is None or value is False else value


def _line(key: str, value: Any, cr: str) -> str:
    if key == "extra":
        text = str(value)
    elif key == "version":
        text = f"#EXT-X-VERSION:{value}"
    elif key == "independent_segments":
        text = "#EXT-X-INDEPENDENT-SEGMENTS"
    else:
        text = str(value.dumps())
    return text.replace("\n", cr + "\n") + cr if cr else text


def _present(pl: MultivariantPlaylist, order: list[str]) -> list[tuple[str, int, Any]]:
    items = []
    for key in order:
        value = getattr(pl, key)
        if key in _LISTS:
            items += [(key, i, v) for i, v in enumerate(value)]
        elif value is not None and value is not False:
            items.append((key, -1, value))
    return items


def parse_multivariant_lines(lines: list[str], final_newline: bool, variables: Variables, *,
                             lenient: bool = False, check_early: bool = False) -> MultivariantPlaylist:
    """Parse the lines of a multivariant playlist (see :func:`mediaproto.hls.parse`)."""
    pl = MultivariantPlaylist()
    first = lines[0]
    pl._cr = "\r" if first.endswith("\r") else ""
    pl._final_newline = final_newline
    layout: list[Entry] = [("extm3u", -1, None, first)]
    pl._layout = layout
    pending: tuple[StreamInf, int, list[str], list[str]] | None = None  # stream-inf, line, raws, between
    for lineno in range(2, len(lines) + 1):
        raw = lines[lineno - 1]
        line = raw[:-1] if raw.endswith("\r") else raw
        subst = variables.substitute if variables.active else None
        if check_early and subst is None and "{$" in line:
            check_no_early_reference(line, lineno)
        if line and line[0] != "#":
            if pending is None:
                raise ParseError("URI line without #EXT-X-STREAM-INF in a multivariant playlist", line=lineno)
            inf, _, raws, between = pending
            uri = subst(line, lineno) if subst is not None and "{$" in line else line
            variant = Variant(inf, uri, tuple(between))
            pl.variants.append(variant)
            layout.append(("variants", len(pl.variants) - 1, variant, "\n".join([*raws, raw])))
            pending = None
            continue
        tag, colon, value = line.partition(":")
        if lenient:
            value = despace_attributes(value)
        key = _TAG.get(tag)
        if pending is not None:
            if tag == "#EXT-X-STREAM-INF" or key is not None or tag in _MEDIA_ONLY:
                raise ParseError("#EXT-X-STREAM-INF must be followed by a URI line", line=lineno)
            pending[2].append(raw)
            pending[3].append(line)
            continue
        if tag == "#EXT-X-STREAM-INF":
            if not colon:
                raise ParseError("#EXT-X-STREAM-INF needs attributes", line=lineno)
            try:
                pending = (StreamInf.parse(value, lineno, subst), lineno, [raw], [])
            except ParseError as exc:
                raise named(tag, exc, lineno) from None
            continue
        if key is None:
            if tag in _MEDIA_ONLY:
                raise ParseError(f"{tag} is not allowed in a multivariant playlist", line=lineno)
            if tag == "#EXTM3U" and not lenient:
                raise ParseError("#EXTM3U appears twice (RFC 8216bis 4.4.1.1: it is the first line only)", line=lineno)
            pl.extra.append(line)
            layout.append(("extra", len(pl.extra) - 1, line, raw))
            continue
        v: Any
        if key == "independent_segments":
            if colon:
                raise ParseError(f"{tag} takes no value", line=lineno)
            v = True
        elif not colon:
            raise ParseError(f"{tag} needs a value", line=lineno)
        elif key == "version":
            v = parse_uint(value, "EXT-X-VERSION decimal-integer", line=lineno)
        else:
            try:
                v = _TYPES[key].parse(value, lineno, subst)
            except ParseError as exc:
                raise named(tag, exc, lineno) from None
        if key in _LISTS:
            lst = getattr(pl, key)
            lst.append(v)
            layout.append((key, len(lst) - 1, v, raw))
            if key == "defines":
                variables.define(v, lineno, media=False)
        else:
            if _get(pl, key, -1) is not MISSING:
                raise ParseError(f"{tag} appears twice", line=lineno)
            setattr(pl, key, v)
            layout.append((key, -1, v, raw))
    if pending is not None:
        raise ParseError("#EXT-X-STREAM-INF without a URI line", line=pending[1])
    return pl
