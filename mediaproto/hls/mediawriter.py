"""Writing media playlists: the canonical spelling of each line and the layout walk.

Internal to :mod:`mediaproto.hls.playlist` (see :mod:`mediaproto.hls.lines` for the layout).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .lines import MISSING, Entry, format_date_time, format_duration
from .tags import Define, PartInf, PreloadHint, RenditionReport, ServerControl, Skip, Start

if TYPE_CHECKING:
    from .playlist import MediaPlaylist, Segment

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


def _write_segment(seg: Segment, out: list[str], cr: str) -> None:
    """A segment built from values (no layout): its lines in canonical order, the same as
    ``_seg_line`` over ``_seg_present`` and then the URI, without the tuples (the writer's hot path)."""
    if seg.extra:
        out += [str(v) + cr for v in seg.extra]
    if seg.discontinuity:
        out.append("#EXT-X-DISCONTINUITY" + cr)
    if seg.keys:
        out += [str(v.dumps()) + cr for v in seg.keys]
    if seg.map is not None:
        out.append(str(seg.map.dumps()) + cr)
    if seg.program_date_time is not None:
        out.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_date_time(seg.program_date_time)}{cr}")
    if seg.dateranges:
        out += [str(v.dumps()) + cr for v in seg.dateranges]
    if seg.gap:
        out.append("#EXT-X-GAP" + cr)
    if seg.bitrate is not None:
        out.append(f"#EXT-X-BITRATE:{seg.bitrate}{cr}")
    if seg.parts:
        out += [str(v.dumps()) + cr for v in seg.parts]
    uri = seg.uri
    if uri:
        out.append(f"#EXTINF:{format_duration(seg.duration)},{seg.title}{cr}")
        if seg.byterange is not None:
            out.append(f"#EXT-X-BYTERANGE:{seg.byterange}{cr}")
        out.append(uri + cr)


def _dump_segment(seg: Segment, out: list[str], cr: str, pl_current: Callable[[Any], Any]) -> None:
    layout = seg._layout
    if layout is None:
        _write_segment(seg, out, cr)
        return
    if _unchanged(seg, layout, out, pl_current):
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
                if seg._layout is None:
                    _write_segment(seg, out, cr)
                else:
                    _dump_segment(seg, out, cr, current)
            if pl.partial_segment is not None:
                _dump_segment(pl.partial_segment, out, cr, current)
        else:
            cur = _get(pl, key, idx)
            if cur is not MISSING:
                out.append(raw if cur == parsed else _pl_line(key, cur) + cr)
    out.extend([_pl_line(k, v) + cr for k, i, v in _pl_present(pl, _TAIL_ORDER) if (k, i) not in handled])
