"""Delta updates (EXT-X-SKIP, LL-HLS): rebuild the full playlist from the previous one."""

from __future__ import annotations

from ..errors import ProtocolError
from .playlist import MediaPlaylist, Segment
from .tags import Key

__all__ = ["merge_delta"]


def merge_delta(previous: MediaPlaylist, delta: MediaPlaylist) -> MediaPlaylist:
    """Rebuild the full playlist from a delta update (one with EXT-X-SKIP) and the previous one.

    The skipped segments are taken from ``previous`` by media sequence number, the first of them
    carrying the EXT-X-MAP and EXT-X-KEY in effect there; date ranges named in
    RECENTLY-REMOVED-DATERANGES are dropped, and the ones a ``_HLS_skip=v2`` update left out of
    the segments it does list are carried over from ``previous``. The result has no EXT-X-SKIP
    and is written canonically. A delta without EXT-X-SKIP is returned unchanged.

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
    if skipped:  # the MAP and KEYs in effect at the first skipped segment
        keys: dict[str | None, Key] = {}
        current_map = None
        for old in previous.segments[: start + 1]:
            current_map = old.map or current_map
            keys.update((k.keyformat, k) for k in old.keys)
        skipped[0].map = current_map
        skipped[0].keys = [k for k in keys.values() if k.method != "NONE"] or skipped[0].keys
    listed = []
    for i, s in enumerate(delta.segments):
        seg = _copy_segment(s)
        j = start + n + i
        if j < len(previous.segments):
            ids = {d.id for d in seg.dateranges}
            seg.dateranges += [d for d in previous.segments[j].dateranges if d.id not in ids and d.id not in removed]
        listed.append(seg)
    merged = MediaPlaylist(
        segments=skipped + listed,
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

