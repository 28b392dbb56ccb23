"""HLS: m3u8 parse and write against the ``m3u8`` package, and the live segmenter's throughput.

The playlist writer is timed three ways, each side doing the same work:

- ``built``: ``dumps()`` of a playlist built from values (our :class:`~mediaproto.hls.MediaPlaylist`
  of :class:`~mediaproto.hls.Segment` values; ``m3u8.M3U8`` of ``m3u8.Segment`` values), which is
  what a server writes;
- ``live``: a live playlist that changes every segment: the oldest segment leaves, a new one (with
  its parts, for LL-HLS) comes, the media sequence and the LL-HLS hints move on, and the playlist is
  written;
- ``cached``: ``dumps()`` of a playlist that was parsed and never changed. Ours writes the lines it
  read (that is how it round-trips byte-exactly); the ``m3u8`` package rebuilds every line. Not
  the same work, so this row has no target.

Before timing, each side's output is parsed back (with our parser) and must give the same
segments, parts and hints as the values it was built from.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from harness import Bench

from mediaproto import hls
from mediaproto.hls import MediaPlaylist, Segment
from mediaproto.hls.segmenter import Segmenter
from mediaproto.hls.tags import Map, PartialSegment, PartInf, PreloadHint, RenditionReport, ServerControl

try:
    import m3u8
    from m3u8 import model as m3u8_model
except ImportError:  # pragma: no cover - the peer is optional
    m3u8 = None


def _vod_playlist(n: int = 1000) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD"]  # fmt: skip
    for i in range(n):
        lines += [f"#EXTINF:{5.005 + (i % 7) / 1000:.3f},", f"https://cdn.example.com/v1/segment{i:05d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _ll_playlist(segments: int = 24, parts: int = 12) -> str:
    lines = [
        "#EXTM3U", "#EXT-X-TARGETDURATION:4", "#EXT-X-VERSION:6",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=24.0",
        "#EXT-X-PART-INF:PART-TARGET=0.33334", "#EXT-X-MEDIA-SEQUENCE:266",
        '#EXT-X-MAP:URI="init.mp4"',
    ]  # fmt: skip
    for s in range(266, 266 + segments):
        t = 13 * 60 + 4 + 4 * (s - 266)  # 02:13:04.106 and 4 s a segment
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:2019-02-14T02:{t // 60:02d}:{t % 60:02d}.106Z")
        for p in range(parts):
            ind = ",INDEPENDENT=YES" if p % 4 == 0 else ""
            lines.append(f'#EXT-X-PART:DURATION=0.33334,URI="filePart{s}.{p}.mp4"{ind}')
        lines += ["#EXTINF:4.00008,", f"fileSequence{s}.mp4"]
    lines += [
        '#EXT-X-PART:DURATION=0.33334,URI="filePart290.0.mp4",INDEPENDENT=YES',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart290.1.mp4"',
        '#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=290,LAST-PART=0',
        '#EXT-X-RENDITION-REPORT:URI="../4M/waitForMSN.php",LAST-MSN=290,LAST-PART=0',
    ]
    return "\n".join(lines) + "\n"


VOD = _vod_playlist()
LL = _ll_playlist()
_ours = {"vod": hls.parse(VOD), "ll": hls.parse(LL)}
_peer = {"vod": m3u8.loads(VOD), "ll": m3u8.loads(LL)} if m3u8 is not None else {}

# -- the values playlists are built from -----------------------------------------------------------

_VOD_N = 1000
_LL_SEGMENTS, _LL_PARTS, _LL_FIRST = 24, 12, 266
_PDT0 = datetime(2019, 2, 14, 2, 13, 4, 106000, tzinfo=timezone.utc)


def _vod_value(i: int) -> tuple[str, float]:
    return f"https://cdn.example.com/v1/segment{i:05d}.ts", 5.005 + (i % 7) / 1000


def _ll_value(s: int) -> tuple[str, datetime, list[tuple[str, bool]]]:
    return (f"fileSequence{s}.mp4", _PDT0 + timedelta(seconds=4 * (s - _LL_FIRST)),
            [(f"filePart{s}.{p}.mp4", p % 4 == 0) for p in range(_LL_PARTS)])


def _ours_vod_segment(i: int) -> Segment:
    uri, duration = _vod_value(i)
    return Segment(uri, duration)


def _ours_vod() -> MediaPlaylist:
    return MediaPlaylist([_ours_vod_segment(i) for i in range(_VOD_N)], target_duration=6, version=3,
                         media_sequence=0, playlist_type="VOD", endlist=True)


def _ours_ll_segment(s: int) -> Segment:
    uri, pdt, parts = _ll_value(s)
    return Segment(uri, 4.00008, program_date_time=pdt,
                   parts=[PartialSegment(0.33334, u, independent) for u, independent in parts])


def _ours_ll_tail(pl: MediaPlaylist, next_msn: int) -> None:
    """The segment in progress (one part), the preload hint and the rendition reports for ``next_msn``."""
    pl.partial_segment = Segment(parts=[PartialSegment(0.33334, f"filePart{next_msn}.0.mp4", True)])
    pl.preload_hints = [PreloadHint("PART", f"filePart{next_msn}.1.mp4")]
    pl.rendition_reports = [RenditionReport(f"../{r}/waitForMSN.php", next_msn, 0) for r in ("1M", "4M")]


def _ours_ll() -> MediaPlaylist:
    pl = MediaPlaylist([_ours_ll_segment(s) for s in range(_LL_FIRST, _LL_FIRST + _LL_SEGMENTS)],
                       target_duration=4, version=6, media_sequence=_LL_FIRST,
                       server_control=ServerControl(can_block_reload=True, part_hold_back=1.0, can_skip_until=24.0),
                       part_inf=PartInf(0.33334))
    pl.segments[0].map = Map("init.mp4")
    _ours_ll_tail(pl, _LL_FIRST + _LL_SEGMENTS)
    return pl


def _peer_vod_segment(i: int) -> Any:
    uri, duration = _vod_value(i)
    return m3u8.Segment(uri=uri, duration=duration)


def _peer_vod() -> Any:
    pl = m3u8.M3U8()
    pl.version, pl.target_duration, pl.media_sequence, pl.playlist_type, pl.is_endlist = 3, 6, 0, "VOD", True
    for i in range(_VOD_N):
        pl.add_segment(_peer_vod_segment(i))
    return pl


_INIT = {"uri": "init.mp4"}  # m3u8.Segment takes its init section and parts as keyword mappings


def _peer_ll_segment(s: int) -> Any:
    uri, pdt, parts = _ll_value(s)
    return m3u8.Segment(uri=uri, duration=4.00008, program_date_time=pdt, init_section=_INIT, parts=[
        {"uri": u, "duration": 0.33334, "independent": "YES" if independent else None} for u, independent in parts])


def _peer_ll_tail(pl: Any, next_msn: int) -> None:
    pl.preload_hint = m3u8_model.PreloadHint("PART", None, f"filePart{next_msn}.1.mp4")
    pl.rendition_reports = m3u8_model.RenditionReportList(
        [m3u8_model.RenditionReport(None, f"../{r}/waitForMSN.php", next_msn, 0) for r in ("1M", "4M")])
    pl._pending = m3u8.Segment(parts=[{"uri": f"filePart{next_msn}.0.mp4", "duration": 0.33334,
                                       "independent": "YES"}], init_section=_INIT)


def _peer_ll() -> Any:
    pl = m3u8.M3U8()
    pl.version, pl.target_duration, pl.media_sequence = 6, 4, _LL_FIRST
    pl.server_control = m3u8_model.ServerControl(can_block_reload="YES", part_hold_back=1.0, can_skip_until=24.0)
    pl.part_inf = m3u8_model.PartInformation(0.33334)
    for s in range(_LL_FIRST, _LL_FIRST + _LL_SEGMENTS):
        pl.add_segment(_peer_ll_segment(s))
    _peer_ll_tail(pl, _LL_FIRST + _LL_SEGMENTS)
    pl.add_segment(pl._pending)  # the segment in progress: parts and no URI, as m3u8 models it
    return pl


# -- live: a playlist that changes every segment ---------------------------------------------------


class _Live:
    """One side's live playlist and its next segment number."""

    def __init__(self, pl: Any, next_seq: int) -> None:
        self.pl = pl
        self.next = next_seq


_live_ours = {"vod": _Live(_ours_vod(), _VOD_N), "ll": _Live(_ours_ll(), _LL_FIRST + _LL_SEGMENTS)}


def _ours_live_vod() -> str:
    live = _live_ours["vod"]
    pl = live.pl
    del pl.segments[0]
    pl.segments.append(_ours_vod_segment(live.next))
    pl.media_sequence += 1
    live.next += 1
    return pl.dumps()  # type: ignore[no-any-return]


def _ours_live_ll() -> str:
    live = _live_ours["ll"]
    pl = live.pl
    first = pl.segments.pop(0)
    pl.segments.append(_ours_ll_segment(live.next))
    pl.segments[0].map = first.map
    pl.media_sequence += 1
    live.next += 1
    _ours_ll_tail(pl, live.next)
    return pl.dumps()  # type: ignore[no-any-return]


if m3u8 is not None:
    _live_peer = {"vod": _Live(_peer_vod(), _VOD_N), "ll": _Live(_peer_ll(), _LL_FIRST + _LL_SEGMENTS)}


def _peer_live_vod() -> str:
    live = _live_peer["vod"]
    pl = live.pl
    del pl.segments[0]
    pl.add_segment(_peer_vod_segment(live.next))
    pl.media_sequence += 1
    live.next += 1
    return pl.dumps()  # type: ignore[no-any-return]


def _peer_live_ll() -> str:
    live = _live_peer["ll"]
    pl = live.pl
    del pl.segments[0]
    pl.segments[-1] = _peer_ll_segment(live.next)  # the segment in progress completes
    pl.media_sequence += 1
    live.next += 1
    _peer_ll_tail(pl, live.next)
    pl.add_segment(pl._pending)
    return pl.dumps()  # type: ignore[no-any-return]


# -- the same playlist on both sides ----------------------------------------------------------------


def _summary(text: str) -> tuple[object, ...]:
    pl = hls.parse(text)
    assert isinstance(pl, MediaPlaylist)
    partial = pl.partial_segment.parts if pl.partial_segment is not None else []
    return (pl.media_sequence or 0, pl.target_duration, pl.endlist,
            [(s.uri, round(s.duration, 6), s.program_date_time, s.map, s.parts) for s in pl.segments],
            partial, pl.preload_hints, pl.rendition_reports, pl.server_control, pl.part_inf)


def _check() -> None:
    assert _summary(_ours_vod().dumps()) == _summary(VOD)
    assert _summary(_ours_ll().dumps()) == _summary(LL)
    if m3u8 is None:
        return
    assert _summary(_peer_vod().dumps()) == _summary(VOD)
    assert _summary(_peer_ll().dumps()) == _summary(LL)
    ours_vod, ours_ll = _Live(_ours_vod(), _VOD_N), _Live(_ours_ll(), _LL_FIRST + _LL_SEGMENTS)
    peer_vod, peer_ll = _Live(_peer_vod(), _VOD_N), _Live(_peer_ll(), _LL_FIRST + _LL_SEGMENTS)
    saved = dict(_live_ours), dict(_live_peer)
    _live_ours.update(vod=ours_vod, ll=ours_ll)
    _live_peer.update(vod=peer_vod, ll=peer_ll)
    try:
        for _ in range(3):
            assert _summary(_ours_live_vod()) == _summary(_peer_live_vod())
            assert _summary(_ours_live_ll()) == _summary(_peer_live_ll())
    finally:
        _live_ours.update(saved[0])
        _live_peer.update(saved[1])


_check()

_BUILT = {"vod": _ours_vod(), "ll": _ours_ll()}
_PEER_BUILT = {"vod": _peer_vod(), "ll": _peer_ll()} if m3u8 is not None else {}


def _segmenter_run() -> None:
    seg = Segmenter(_SRC_TRACKS, target_duration=2.0, window=6, part_target=0.2)
    for f in _SRC_FRAMES:
        seg.feed(f)
    seg.flush()


def _source() -> tuple[tuple, list]:  # type: ignore[type-arg]
    try:
        from mediaproto.testsrc import TestSource
    except ImportError:  # pragma: no cover
        return (), []
    src = TestSource(keyframe_interval=1.0)
    return src.tracks, src.frames_until(20.0)


_SRC_TRACKS, _SRC_FRAMES = _source()
_SRC_BYTES = sum(f.size for f in _SRC_FRAMES)


def _if_peer(fn: Any) -> Any:
    return fn if m3u8 is not None else None


BENCHMARKS = [
    Bench("hls.parse 1000-segment VOD", lambda: hls.parse(VOD), work=1, peer="m3u8",
          peer_run=_if_peer(lambda: m3u8.loads(VOD)), target=3.0),
    Bench("hls.parse LL-HLS (24x12 parts)", lambda: hls.parse(LL), work=1, peer="m3u8",
          peer_run=_if_peer(lambda: m3u8.loads(LL)), target=3.0),
    Bench("hls.dump built 1000-segment VOD", lambda: _BUILT["vod"].dumps(), work=1, peer="m3u8",
          peer_run=_if_peer(lambda: _PEER_BUILT["vod"].dumps()), target=2.0),
    Bench("hls.dump built LL-HLS (24x12 parts)", lambda: _BUILT["ll"].dumps(), work=1, peer="m3u8",
          peer_run=_if_peer(lambda: _PEER_BUILT["ll"].dumps()), target=2.0),
    Bench("hls.dump live 1000-segment window", _ours_live_vod, work=1, peer="m3u8",
          peer_run=_if_peer(_peer_live_vod), target=2.0, note=lambda: "a segment in, one out, dumps()"),
    Bench("hls.dump live LL-HLS (24x12 parts)", _ours_live_ll, work=1, peer="m3u8",
          peer_run=_if_peer(_peer_live_ll), target=2.0, note=lambda: "a segment and its parts in, one out, dumps()"),
    Bench("hls.dump cached 1000-segment VOD", lambda: _ours["vod"].dumps(), work=1, peer="m3u8",
          peer_run=_if_peer(lambda: _peer["vod"].dumps()), note=lambda: "parsed, unchanged: our cached lines"),
    Bench("hls.dump cached LL-HLS (24x12 parts)", lambda: _ours["ll"].dumps(), work=1, peer="m3u8",
          peer_run=_if_peer(lambda: _peer["ll"].dumps()), note=lambda: "parsed, unchanged: our cached lines"),
    Bench("hls.segmenter LL 20 s testsrc", _segmenter_run, work=_SRC_BYTES, unit="MB/s",
          note=lambda: f"{len(_SRC_FRAMES)} frames, {_SRC_BYTES} bytes, TS muxing included"),
]  # fmt: skip
