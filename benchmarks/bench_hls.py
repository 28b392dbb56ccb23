"""HLS: m3u8 parse and dump against the ``m3u8`` package, and the live segmenter's throughput."""

from __future__ import annotations

from harness import Bench

from mediaproto import hls
from mediaproto.hls.segmenter import Segmenter

try:
    import m3u8
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
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:2019-02-14T02:{13 + (s - 266) // 15:02d}:{(s * 4) % 60:02d}.106Z")
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

BENCHMARKS = [
    Bench("hls.parse 1000-segment VOD", lambda: hls.parse(VOD), work=1, peer="m3u8",
          peer_run=(lambda: m3u8.loads(VOD)) if m3u8 else None, target=3.0),
    Bench("hls.dump 1000-segment VOD", lambda: _ours["vod"].dumps(), work=1, peer="m3u8",
          peer_run=(lambda: _peer["vod"].dumps()) if m3u8 else None, target=2.0),
    Bench("hls.parse LL-HLS (24x12 parts)", lambda: hls.parse(LL), work=1, peer="m3u8",
          peer_run=(lambda: m3u8.loads(LL)) if m3u8 else None, target=3.0),
    Bench("hls.dump LL-HLS (24x12 parts)", lambda: _ours["ll"].dumps(), work=1, peer="m3u8",
          peer_run=(lambda: _peer["ll"].dumps()) if m3u8 else None, target=2.0),
    Bench("hls.segmenter LL 20 s testsrc", _segmenter_run, work=_SRC_BYTES, unit="MB/s",
          note=lambda: f"{len(_SRC_FRAMES)} frames, {_SRC_BYTES} bytes, TS muxing included"),
]  # fmt: skip
