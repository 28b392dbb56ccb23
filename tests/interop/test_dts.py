"""Decode times of real encoder output against the encoder's own (ffprobe), for streams with
B-frames: libx264 (Main and High, -bf 2 and -bf 3 with a B-pyramid, open GOP, no B-frames with
pic_order_cnt_type 2) and libx265 (B-frames with a pyramid, open GOP with CRA/RASL).

ffmpeg encodes into MPEG-TS (which keeps the encoder's PTS and DTS); ffprobe -show_packets gives
them; the same packets copied to an Annex B elementary stream are split into access units by our
codecs. Our extractor, given ffprobe's PTS, must give ffprobe's DTS up to one constant, increasing,
never after the PTS. Then end to end: the access units go through our RTP packetizer (timestamps
that wrap past 2^32) and depacketizer, whose frames must carry the same decode times.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mediaproto.codecs import h264, h265
from mediaproto.codecs.h264_dts import H264DtsExtractor
from mediaproto.codecs.h265_dts import H265DtsExtractor
from mediaproto.media import Frame
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import H264Depacketizer, H264Packetizer, H265Depacketizer, H265Packetizer

pytestmark = pytest.mark.interop

TIMEOUT = 120
X265 = "log-level=error:pools=1:frame-threads=1"

CASES = {
    "x264-main-bf2": ("h264", ["-c:v", "libx264", "-profile:v", "main", "-bf", "2", "-b-pyramid", "none", "-g", "30"]),
    "x264-high-bf3-pyramid": ("h264", ["-c:v", "libx264", "-profile:v", "high", "-bf", "3", "-b-pyramid", "normal",
                                        "-g", "50"]),
    "x264-high-bf3-strict-pyramid-opengop": ("h264", ["-c:v", "libx264", "-profile:v", "high", "-bf", "3",
                                                       "-x264-params", "b-pyramid=strict:open-gop=1:keyint=24"]),
    "x264-main-bf0-poc2": ("h264", ["-c:v", "libx264", "-profile:v", "main", "-bf", "0", "-g", "30"]),
    "x265-bf4": ("h265", ["-c:v", "libx265", "-x265-params", f"bframes=4:keyint=50:{X265}"]),
    "x265-bf3-opengop": ("h265", ["-c:v", "libx265", "-x265-params", f"bframes=3:keyint=30:open-gop=1:b-pyramid=0:{X265}"]),
}


def _encode(ffmpeg: str, ffprobe: str, tmp: Path, codec: str, args: list[str], rate: int) -> tuple[list[list[bytes]], list[tuple[int, int]]]:
    ts = tmp / "out.ts"
    es = tmp / ("out.h264" if codec == "h264" else "out.hevc")
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={rate}",
                    "-t", "5", "-threads", "1", *args, "-f", "mpegts", str(ts)], check=True, timeout=TIMEOUT)
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(ts), "-c", "copy",
                    "-f", "h264" if codec == "h264" else "hevc", str(es)], check=True, timeout=TIMEOUT)
    out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,dts",
                          "-of", "csv=p=0", str(ts)], check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    packets = [(int(a), int(b)) for a, b, *_ in (line.strip().rstrip(",").split(",") for line in out.split() if line.strip())]
    mod = h264 if codec == "h264" else h265
    units = mod.split_access_units(h264.split_annexb(es.read_bytes()))
    assert len(units) == len(packets), "our access units and ffprobe's packets differ in number"
    return units, packets


def _check(pts: list[int], ours: list[int], theirs: list[int], exact_from: int) -> int:
    """ours == theirs + one constant from frame ``exact_from`` on; increasing and <= pts for all."""
    assert all(b > a for a, b in zip(ours, ours[1:])), "decode times must increase"
    assert all(d <= p for d, p in zip(ours, pts)), "a decode time after its presentation time"
    offsets = {o - t for o, t in zip(ours[exact_from:], theirs[exact_from:])}
    assert len(offsets) == 1, f"not the encoder's decode times up to a constant: offsets {sorted(offsets)[:8]}"
    return offsets.pop()


@pytest.mark.parametrize("rate", [25, 30])
@pytest.mark.parametrize("case", sorted(CASES))
def test_extractor_matches_ffprobe(ffmpeg: str, ffprobe: str, tmp_path: Path, case: str, rate: int) -> None:
    codec, args = CASES[case]
    units, packets = _encode(ffmpeg, ffprobe, tmp_path, codec, args, rate)
    ex = H264DtsExtractor() if codec == "h264" else H265DtsExtractor()
    pts = [p for p, _ in packets]
    ours = [ex.extract(u, p) for u, p in zip(units, pts)]
    reordered = any(p != d for p, d in packets)
    # The SPS give the frame rate (x264 and x265 write the VUI timing): every frame is exact, the
    # first ones (before the reorder depth is filled) included.
    offset = _check(pts, ours, [d for _, d in packets], 0)
    assert offset == 0  # the same reorder depth as the encoder's: the same decode times
    assert ex.timeline.conflicts == 0
    assert (ex.reorder > 0) == reordered


@pytest.mark.parametrize("case", sorted(CASES))
def test_rtp_round_trip(ffmpeg: str, ffprobe: str, tmp_path: Path, case: str) -> None:
    codec, args = CASES[case]
    units, packets = _encode(ffmpeg, ffprobe, tmp_path, codec, args, 25)
    start = 2**32 - 90000  # the RTP timestamps wrap one second in
    packetizer = (H264Packetizer if codec == "h264" else H265Packetizer)(96, ssrc=5, initial_timestamp=start)
    depacketizer = (H264Depacketizer if codec == "h264" else H265Depacketizer)(0)
    first = packets[0][0]
    frames: list[Frame] = []
    for unit, (p, _) in zip(units, packets):
        for pkt in packetizer.packetize(Frame(0, p - first, p - first, tuple(unit))):
            frames.extend(depacketizer.feed(RtpPacket.parse(bytes(pkt))))
    frames.extend(depacketizer.flush())
    assert len(frames) == len(units) and depacketizer.lost_units == 0
    pts = [f.pts for f in frames]
    assert pts == [start + p - first for p, _ in packets]
    offset = _check(pts, [f.dts for f in frames], [d for _, d in packets], 0)
    assert offset == start - first
