"""RTP payload formats against FFmpeg: its packets through our depacketizers, ours through its demuxer.

* offline: the captured ``rtp-ffmpeg-h264-aac.udp`` (FFmpeg sending ref.flv) against
  ``ref.flv.packets.csv`` (ffprobe's view of the same clip);
* ffmpeg ``-f rtp`` sends H.264, AAC, Opus and PCMU to sockets we bound on 127.0.0.1; the frames we
  rebuild must be byte-identical to the source file's packets (``-f data``), with ffprobe's
  timestamps, and nothing lost;
* our packetizers send the built-in test source and ref.flv's frames to ffmpeg reading an SDP we
  write; ffmpeg must decode every frame without printing an error.
"""

from __future__ import annotations

import base64
import csv
import json
import select
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Iterable

import pytest

from mediaproto import testsrc
from mediaproto.clock import rescale
from mediaproto.codecs.h264 import join_avcc, split_avcc
from mediaproto.media import Frame
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import (
    AacDepacketizer,
    AacPacketizer,
    Depacketizer,
    G711Depacketizer,
    H264Depacketizer,
    H264Packetizer,
    OpusDepacketizer,
)

pytestmark = pytest.mark.interop

RCVBUF = 8 * 1024 * 1024


# -- the offline capture ------------------------------------------------------------------------------


def read_capture(path: Path) -> list[tuple[int, bytes]]:
    raw = path.read_bytes()
    out = []
    pos = 0
    while pos < len(raw):
        port, n = struct.unpack_from(">HI", raw, pos)
        out.append((port, raw[pos + 6 : pos + 6 + n]))
        pos += 6 + n
    return out


def test_ffmpeg_capture_h264_aac_matches_ffprobe(vectors: Path) -> None:
    datagrams = read_capture(vectors / "rtp-ffmpeg-h264-aac.udp")
    assert len(datagrams) == 172
    video, audio = H264Depacketizer(0), AacDepacketizer(1, 48000)  # as the .sdp says
    vframes: list[Frame] = []
    aframes: list[Frame] = []
    for port, data in datagrams:
        if port == 5004:
            vframes += video.feed(RtpPacket.parse(data))
        elif port == 5006:
            aframes += audio.feed(RtpPacket.parse(data))
    vframes += video.flush()
    rows = list(csv.reader((vectors / "ref.flv.packets.csv").open()))
    vrows = [r for r in rows if r[0] == "0"]
    arows = [r for r in rows if r[0] == "1"]
    assert len(vframes) == len(vrows) == 100
    for frame, row in zip(vframes, vrows):
        assert len(join_avcc(frame.nal_units)) == int(row[3])  # FLV stores 4-byte NAL lengths
        assert frame.pts - vframes[0].pts == (int(row[1]) - int(vrows[0][1])) * 90
        assert frame.keyframe == ("K" in row[4])
    # FFmpeg's AAC packetizer holds AUs back to fill a packet and does not send the last ones at
    # the end of the stream: the capture has 187 of the 189 AUs, and those are exact.
    assert len(aframes) == 187 and len(arows) == 189
    for frame, row in zip(aframes, arows):
        assert len(frame.payload) == int(row[3])
        assert abs((frame.pts - aframes[0].pts) * 1000 / 48000 - (int(row[1]) - int(arows[0][1]))) <= 1
    assert (video.lost_packets, video.lost_units, audio.lost_packets, audio.lost_units) == (0, 0, 0, 0)


# -- ffmpeg sends, we receive -------------------------------------------------------------------------


def run(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, capture_output=True, timeout=timeout, check=True)


def probe_packets(ffprobe: str, path: Path, stream: str) -> tuple[list[tuple[int, int, bool]], tuple[int, int]]:
    """ffprobe's (pts, size, keyframe) of each packet of a stream, and the stream's time base."""
    out = run([ffprobe, "-v", "error", "-select_streams", stream, "-show_entries",
               "packet=pts,size,flags:stream=time_base", "-of", "json", str(path)]).stdout
    info = json.loads(out)
    num, den = info["streams"][0]["time_base"].split("/")
    packets = [(int(p["pts"]), int(p["size"]), "K" in p["flags"]) for p in info["packets"]]
    return packets, (int(num), int(den))


def packet_data(ffmpeg: str, path: Path, stream: str, sizes: Iterable[int]) -> list[bytes]:
    """The bytes of each packet of a stream, as the file stores them (``-c copy -f data``)."""
    blob = run([ffmpeg, "-v", "error", "-i", str(path), "-map", f"0:{stream}", "-c", "copy", "-f", "data", "-"]).stdout
    out = []
    pos = 0
    for n in sizes:
        out.append(blob[pos : pos + n])
        pos += n
    assert pos == len(blob)
    return out


def udp_socket(port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    s.bind(("127.0.0.1", port))
    return s


def receive_from_ffmpeg(
    ffmpeg: str, source: Path, stream: str, codec_args: list[str], muxer: str = "rtp", pkt_size: int = 1200
) -> list[RtpPacket]:
    """Run ``ffmpeg -f rtp`` sending one stream of ``source`` to a socket of ours; the packets."""
    rtp, rtcp = udp_socket(), udp_socket()
    port, rtcp_port = rtp.getsockname()[1], rtcp.getsockname()[1]
    cmd = [ffmpeg, "-v", "error", "-re", "-i", str(source), "-map", f"0:{stream}", *codec_args,
           "-f", muxer, f"rtp://127.0.0.1:{port}?rtcpport={rtcp_port}&pkt_size={pkt_size}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    packets = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([rtp, rtcp], [], [], 0.5)
            if rtp in ready:
                packets.append(RtpPacket.parse(rtp.recv(65536)))
            if rtcp in ready:
                rtcp.recv(65536)
            if not ready and proc.poll() is not None:
                break
        assert proc.wait(timeout=10) == 0, proc.stderr.read() if proc.stderr else b""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
        rtp.close()
        rtcp.close()
    return packets


def depacketize(d: Depacketizer, packets: list[RtpPacket]) -> list[Frame]:
    frames = [f for p in packets for f in d.feed(p)]
    return frames + d.flush()


@pytest.fixture(scope="module")
def sources(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Short source files made with lavfi: H.264 (with B-frames) + AAC, G.711 mu-law, H.265."""
    d = tmp_path_factory.mktemp("rtp_media")
    run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi",
         "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264", "-g", "25",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-b:a", "64k", str(d / "av.mkv")])
    run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "2",
         "-c:a", "pcm_mulaw", str(d / "pcmu.wav")])
    run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v",
         "libx265", "-x265-params", "log-level=error:keyint=25", "-pix_fmt", "yuv420p", str(d / "hevc.mkv")])
    return d


def test_ffmpeg_sends_h264(ffmpeg: str, ffprobe: str, sources: Path) -> None:
    src = sources / "av.mkv"
    probed, (num, den) = probe_packets(ffprobe, src, "v")
    expected = packet_data(ffmpeg, src, "v", [size for _, size, _ in probed])
    packets = receive_from_ffmpeg(ffmpeg, src, "v", ["-c", "copy"])
    d = H264Depacketizer(0)
    frames = depacketize(d, packets)
    assert (d.lost_packets, d.lost_units, d.late_packets, d.malformed_packets) == (0, 0, 0, 0)
    assert len(frames) == len(probed) == 50
    assert [join_avcc(f.nal_units) for f in frames] == expected  # decode order, byte for byte
    base, pts0 = frames[0].pts, probed[0][0]
    assert [f.pts - base for f in frames] == [rescale((p - pts0) * num, den, 90000) for p, _, _ in probed]
    assert [f.keyframe for f in frames] == [k for _, _, k in probed]
    assert any(a.pts > b.pts for a, b in zip(frames, frames[1:]))  # B-frames: pts out of decode order


def test_ffmpeg_sends_aac(ffmpeg: str, ffprobe: str, sources: Path) -> None:
    src = sources / "av.mkv"
    probed, (num, den) = probe_packets(ffprobe, src, "a")
    expected = packet_data(ffmpeg, src, "a", [size for _, size, _ in probed])
    packets = receive_from_ffmpeg(ffmpeg, src, "a", ["-c", "copy"])
    d = AacDepacketizer(1, 48000)
    frames = depacketize(d, packets)
    assert (d.lost_packets, d.lost_units, d.malformed_packets) == (0, 0, 0)
    # FFmpeg fills packets with several AUs and drops the ones still buffered at the end
    assert len(probed) - 10 <= len(frames) <= len(probed)
    assert [f.payload for f in frames] == expected[: len(frames)]
    base, pts0 = frames[0].pts, probed[0][0]
    for f, (p, _, _) in zip(frames, probed):
        assert abs(f.pts - base - rescale((p - pts0) * num, den, 48000)) <= 48  # the file has ms
    assert len(packets) < len(frames)  # several AUs per packet


def test_ffmpeg_sends_opus(ffmpeg: str, ffprobe: str, sources: Path) -> None:
    encoders = run([ffmpeg, "-hide_banner", "-encoders"]).stdout.decode()
    if "libopus" not in encoders:
        pytest.skip("ffmpeg has no libopus encoder (its native opus encoder is experimental)")
    src = sources / "opus.mkv"
    run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
         "-c:a", "libopus", "-b:a", "32k", str(src)])
    probed, (num, den) = probe_packets(ffprobe, src, "a")
    expected = packet_data(ffmpeg, src, "a", [size for _, size, _ in probed])
    d = OpusDepacketizer(1)
    frames = depacketize(d, receive_from_ffmpeg(ffmpeg, src, "a", ["-c", "copy"]))
    assert (d.lost_packets, d.lost_units) == (0, 0)
    assert [f.payload for f in frames] == expected
    base, pts0 = frames[0].pts, probed[0][0]
    for f, (p, _, _) in zip(frames, probed):
        assert abs(f.pts - base - rescale((p - pts0) * num, den, 48000)) <= 48


def test_ffmpeg_sends_pcmu(ffmpeg: str, ffprobe: str, sources: Path) -> None:
    src = sources / "pcmu.wav"
    probed, _ = probe_packets(ffprobe, src, "a")
    samples = b"".join(packet_data(ffmpeg, src, "a", [size for _, size, _ in probed]))
    assert len(samples) == 16000
    packets = receive_from_ffmpeg(ffmpeg, src, "a", ["-c", "copy"])
    assert {p.payload_type for p in packets} == {0}
    d = G711Depacketizer(0)
    frames = depacketize(d, packets)
    assert d.lost_packets == 0
    assert b"".join(f.payload for f in frames) == samples
    # timestamps count samples: each packet starts where the previous one ended
    assert [f.pts - frames[0].pts for f in frames] == [sum(len(g.payload) for g in frames[:i]) for i in range(len(frames))]


# -- we send, ffmpeg receives -------------------------------------------------------------------------


def rtp_port_pair() -> int:
    """An even port whose odd neighbour is free too (ffmpeg binds RTP and RTCP there)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1] & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def send_to_ffmpeg(
    ffmpeg: str, tmp: Path, sdp: str, streams: list[tuple[int, list[list[RtpPacket]]]], duration: float
) -> tuple[dict[str, int], str]:
    """Send the packet groups (one group per frame, in time order per stream) to ffmpeg reading
    ``sdp``; the decoded frames per stream index (``framecrc`` lines) and ffmpeg's stderr."""
    path = tmp / "in.sdp"
    path.write_text(sdp)
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
           "-listen_timeout", "1", "-i", str(path), "-map", "0", "-vsync", "passthrough", "-f", "framecrc", "-"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not all(port_taken(port) for port, _ in streams):
            assert time.monotonic() < deadline, "ffmpeg did not bind its ports"
            time.sleep(0.05)
        # interleave the streams' frames by position in time, pacing at about 4x real time
        schedule = sorted(
            (i / len(groups), port, group) for port, groups in streams for i, group in enumerate(groups)
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            start = time.monotonic()
            for at, port, group in schedule:
                delay = start + at * duration / 4 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                for packet in group:
                    out.sendto(bytes(packet), ("127.0.0.1", port))
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    counts: dict[str, int] = {}
    for line in stdout.decode().splitlines():
        if line and not line.startswith("#"):
            key = line.split(",", 1)[0].strip()
            counts[key] = counts.get(key, 0) + 1
    # ffmpeg ends the SDP session by its listen timeout: that is the only message allowed
    errors = "\n".join(
        line for line in stderr.decode().splitlines()
        if "Connection timed out" not in line and "Last message repeated" not in line
    )
    return counts, errors


def test_ffmpeg_decodes_our_test_source(ffmpeg: str, tmp_path: Path) -> None:
    src = testsrc.TestSource(keyframe_interval=1.0)
    frames = src.frames_until(3)
    video_track, audio_track = src.tracks
    vport, aport = rtp_port_pair(), rtp_port_pair()
    vp = H264Packetizer(96, ssrc=0x1111, initial_sequence=65500, initial_timestamp=2**32 - 45000)
    ap = AacPacketizer(97, ssrc=0x2222, clock_rate=48000, initial_sequence=12)
    video = [vp.packetize(f) for f in frames if f.track_id == video_track.id]
    audio = [ap.packetize(f) for f in frames if f.track_id == audio_track.id]
    sdp = (
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=mediaproto\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=video {vport} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
        f"m=audio {aport} RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
        "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
        f"indexdeltalength=3;config={audio_track.config.hex()}\r\n"
    )
    counts, errors = send_to_ffmpeg(ffmpeg, tmp_path, sdp, [(vport, video), (aport, audio)], 3.0)
    assert errors == ""
    assert counts == {"0": len(video), "1": len(audio)} == {"0": 75, "1": 141}


def test_ffmpeg_decodes_ref_flv_with_in_band_parameter_sets(ffmpeg: str, ffprobe: str, vectors: Path, tmp_path: Path) -> None:
    ref = vectors / "ref.flv"
    vprobe, _ = probe_packets(ffprobe, ref, "v")
    aprobe, _ = probe_packets(ffprobe, ref, "a")
    vdata = packet_data(ffmpeg, ref, "v", [s for _, s, _ in vprobe])
    adata = packet_data(ffmpeg, ref, "a", [s for _, s, _ in aprobe])
    sdp_text = (vectors / "rtp-ffmpeg-h264-aac.sdp").read_text()
    sprop = sdp_text.split("sprop-parameter-sets=")[1].split(";")[0]
    sps, pps = (base64.b64decode(x) for x in sprop.split(","))
    # the SDP we write has no sprop-parameter-sets: ffmpeg learns them from the STAP-A we send
    vp = H264Packetizer(96, ssrc=7, track_clock_rate=1000, parameter_sets=(sps, pps), insert_parameter_sets=True)
    ap = AacPacketizer(97, ssrc=8, clock_rate=48000, track_clock_rate=1000)
    video = [vp.packetize(Frame(0, p, p, tuple(split_avcc(d)), k)) for (p, _, k), d in zip(vprobe, vdata)]
    audio = [ap.packetize(Frame(1, p, p, d, True)) for (p, _, _), d in zip(aprobe, adata)]
    assert video[0][0].payload[0] & 0x1F == 24  # STAP-A with SPS and PPS first
    vport, aport = rtp_port_pair(), rtp_port_pair()
    sdp = (
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=ref\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=video {vport} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
        f"m=audio {aport} RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
        "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
        "indexdeltalength=3;config=119056E500\r\n"
    )
    counts, errors = send_to_ffmpeg(ffmpeg, tmp_path, sdp, [(vport, video), (aport, audio)], 4.0)
    assert errors == ""
    assert counts == {"0": 100, "1": 189}


# -- H.265, MP4A-LATM, Opus and PCMU both ways ----------------------------------------------------------


def stream_mux_config(asc: bytes) -> bytes:
    """StreamMuxConfig (ISO/IEC 14496-3 1.7.3) of one program, one layer, for the SDP ``config``."""
    from mediaproto.bits import BitWriter

    w = BitWriter()
    for value, bits in ((0, 1), (1, 1), (0, 6), (0, 4), (0, 3)):  # version, same framing, 0 subframes
        w.write(value, bits)
    w.write(int.from_bytes(asc, "big"), 8 * len(asc))  # AudioSpecificConfig (no trailing bits here)
    for value, bits in ((0, 3), (0xFF, 8), (0, 1), (0, 1)):  # frameLengthType, fullness, no other/crc
        w.write(value, bits)
    w.align_zero()
    return w.getvalue()


def test_ffmpeg_sends_h265(ffmpeg: str, ffprobe: str, sources: Path) -> None:
    from mediaproto.rtp.payload import H265Depacketizer

    src = sources / "hevc.mkv"
    probed, (num, den) = probe_packets(ffprobe, src, "v")
    expected = packet_data(ffmpeg, src, "v", [s for _, s, _ in probed])
    d = H265Depacketizer(0)
    frames = depacketize(d, receive_from_ffmpeg(ffmpeg, src, "v", ["-c", "copy"]))
    assert (d.lost_packets, d.lost_units, d.malformed_packets) == (0, 0, 0)
    assert [join_avcc(f.nal_units) for f in frames] == expected
    base, pts0 = frames[0].pts, probed[0][0]
    assert [f.pts - base for f in frames] == [rescale((p - pts0) * num, den, 90000) for p, _, _ in probed]
    assert [f.keyframe for f in frames] == [k for _, _, k in probed]


def test_ffmpeg_sends_aac_as_mp4a_latm(ffmpeg: str, ffprobe: str, sources: Path) -> None:
    from mediaproto.rtp.payload import LatmDepacketizer

    src = sources / "av.mkv"
    probed, _ = probe_packets(ffprobe, src, "a")
    expected = packet_data(ffmpeg, src, "a", [s for _, s, _ in probed])
    d = LatmDepacketizer(1, 48000)
    frames = depacketize(d, receive_from_ffmpeg(ffmpeg, src, "a", ["-c", "copy", "-rtpflags", "latm"]))
    assert (d.lost_packets, d.lost_units, d.malformed_packets) == (0, 0, 0)
    assert [f.payload for f in frames] == expected


def test_ffmpeg_decodes_our_h265_opus_pcmu_and_latm(ffmpeg: str, ffprobe: str, sources: Path, tmp_path: Path) -> None:
    from mediaproto.codecs.h265 import split_access_units
    from mediaproto.codecs.h264 import split_annexb
    from mediaproto.rtp.payload import G711Packetizer, H265Packetizer, LatmPacketizer, OpusPacketizer

    streams: list[tuple[int, list[list[RtpPacket]]]] = []
    media = []
    # H.265: the Annex B stream (parameter sets in-band) cut into access units by our codec helper
    hevc = sources / "hevc.mkv"
    annexb = run([ffmpeg, "-v", "error", "-i", str(hevc), "-c", "copy", "-bsf:v", "hevc_mp4toannexb", "-f", "hevc", "-"]).stdout
    units = split_access_units(split_annexb(annexb))
    vprobe, (num, den) = probe_packets(ffprobe, hevc, "v")
    assert len(units) == len(vprobe) == 50
    hp = H265Packetizer(96, ssrc=21, mtu=1000, track_clock_rate=den // num)
    port = rtp_port_pair()
    streams.append((port, [hp.packetize(Frame(0, p, p, tuple(u), k)) for (p, _, k), u in zip(vprobe, units)]))
    media.append(f"m=video {port} RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n")
    # AAC as MP4A-LATM
    aprobe, (anum, aden) = probe_packets(ffprobe, sources / "av.mkv", "a")
    adata = packet_data(ffmpeg, sources / "av.mkv", "a", [s for _, s, _ in aprobe])
    lp = LatmPacketizer(97, ssrc=22, clock_rate=48000, track_clock_rate=aden // anum)
    port = rtp_port_pair()
    streams.append((port, [lp.packetize(Frame(1, p, p, d, True)) for (p, _, _), d in zip(aprobe, adata)]))
    config = stream_mux_config(bytes.fromhex("1190")).hex()
    assert config == "400023203fc0"  # what FFmpeg writes for AAC-LC 48 kHz stereo
    media.append(f"m=audio {port} RTP/AVP 97\r\na=rtpmap:97 MP4A-LATM/48000/2\r\n"
                 f"a=fmtp:97 profile-level-id=41;cpresent=0;config={config}\r\n")
    # G.711 mu-law, 20 ms packets
    samples = b"".join(packet_data(ffmpeg, sources / "pcmu.wav", "a",
                                   [s for _, s, _ in probe_packets(ffprobe, sources / "pcmu.wav", "a")[0]]))
    gp = G711Packetizer(0, ssrc=23)
    port = rtp_port_pair()
    streams.append((port, [gp.packetize(Frame(2, i, i, samples[i : i + 160], True)) for i in range(0, len(samples), 160)]))
    media.append(f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    expected = {"0": 50, "1": len(adata), "2": 100}
    encoders = run([ffmpeg, "-hide_banner", "-encoders"]).stdout.decode()
    if "libopus" in encoders:
        opus = tmp_path / "o.mkv"
        run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
             "-c:a", "libopus", str(opus)])
        oprobe, (onum, oden) = probe_packets(ffprobe, opus, "a")
        odata = packet_data(ffmpeg, opus, "a", [s for _, s, _ in oprobe])
        op = OpusPacketizer(111, ssrc=24, track_clock_rate=oden // onum)
        port = rtp_port_pair()
        streams.append((port, [op.packetize(Frame(3, p, p, d, True)) for (p, _, _), d in zip(oprobe, odata)]))
        media.append(f"m=audio {port} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n")
        expected["3"] = len(odata)
    sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=more\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + "".join(media)
    counts, errors = send_to_ffmpeg(ffmpeg, tmp_path, sdp, streams, 2.0)
    assert errors == ""
    assert counts == expected


def test_ffmpeg_sends_mpegts_over_rtp(ffmpeg: str, ffprobe: str, vectors: Path, tmp_path: Path) -> None:
    from mediaproto.rtp.payload import Mp2tDepacketizer

    packets = receive_from_ffmpeg(ffmpeg, vectors / "ref.ts", "v", ["-map", "0:a", "-c", "copy"], "rtp_mpegts", 1400)
    assert {p.payload_type for p in packets} == {33}
    assert {len(p.payload) for p in packets[:-1]} == {7 * 188}  # RFC 2250: 7 TS packets a datagram
    d = Mp2tDepacketizer(0)
    ts = b"".join(f.payload for f in depacketize(d, packets))
    assert d.lost_packets == 0
    # the transport stream we rebuilt is whole: no continuity counter jumps, every video frame of
    # ref.ts is in it (for ffprobe and for our demuxer). FFmpeg's rtp_mpegts muxer sends fewer
    # audio frames than ref.ts has (its last audio PES packets go missing), so audio is not counted.
    from mediaproto.mpegts.demux import ContinuityError, Demuxer, FrameReceived

    demuxer = Demuxer()
    events = demuxer.feed(ts) + demuxer.flush()
    assert not [e for e in events if isinstance(e, ContinuityError)]
    video_pids = {t.id for t in demuxer.tracks if t.codec.is_video}
    assert sum(1 for e in events if isinstance(e, FrameReceived) and e.frame.track_id in video_pids) == 100
    (tmp_path / "got.ts").write_bytes(ts)
    assert len(probe_packets(ffprobe, tmp_path / "got.ts", "v")[0]) == 100


def test_ffmpeg_decodes_our_mpegts_over_rtp(ffmpeg: str, vectors: Path, tmp_path: Path) -> None:
    from mediaproto.rtp.payload import Mp2tPacketizer

    ts = (vectors / "ref.ts").read_bytes()
    p = Mp2tPacketizer(ssrc=0x7575)
    chunks = [ts[i : i + 7 * 188] for i in range(0, len(ts), 7 * 188)]
    groups = [p.packetize(Frame(0, i * 3000, i * 3000, c)) for i, c in enumerate(chunks)]
    port = rtp_port_pair()
    sdp = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=ts\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           f"m=video {port} RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n")
    counts, errors = send_to_ffmpeg(ffmpeg, tmp_path, sdp, [(port, groups)], 4.0)
    assert errors == ""
    # FFmpeg's TS-in-RTP reader does not flush the last video PES when the session times out
    # (reading ref.ts from a file it decodes 100): 99 or 100 video frames, and all 189 audio frames.
    assert sorted(counts.values()) in ([99, 189], [100, 189])


# -- the example scripts -----------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_rtp_send_sdp_plays_in_ffmpeg(ffmpeg: str, tmp_path: Path) -> None:
    """examples/rtp_send.py writes an SDP that ffmpeg opens, then sends what ffmpeg decodes."""
    import sys

    port = rtp_port_pair()
    while not all(not port_taken(p) for p in (port + 2, port + 3)):
        port = rtp_port_pair()
    sdp_path = tmp_path / "send.sdp"
    args = [sys.executable, str(EXAMPLES / "rtp_send.py"), "--sdp", str(sdp_path), "--port", str(port)]
    run([*args, "--seconds", "0"], timeout=30)  # only writes the SDP
    sdp = sdp_path.read_text()
    assert "H264/90000" in sdp and "MPEG4-GENERIC/48000/2" in sdp
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp", "-listen_timeout", "1",
           "-i", str(sdp_path), "-map", "0", "-vsync", "passthrough", "-f", "framecrc", "-"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not (port_taken(port) and port_taken(port + 2)):
            assert time.monotonic() < deadline, "ffmpeg did not bind its ports"
            time.sleep(0.05)
        run([*args, "--seconds", "2"], timeout=30)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    counts: dict[str, int] = {}
    for line in stdout.decode().splitlines():
        if line and not line.startswith("#"):
            key = line.split(",", 1)[0].strip()
            counts[key] = counts.get(key, 0) + 1
    assert counts == {"0": 50, "1": 94}  # the test source's 2 s: 50 pictures, 94 AAC frames
    assert all("Connection timed out" in x or "Last message" in x for x in stderr.decode().splitlines())


def test_example_rtp_receive_prints_ffmpeg_frames(ffmpeg: str, sources: Path, tmp_path: Path) -> None:
    """examples/rtp_receive.py depacketizes what ffmpeg sends as the SDP describes."""
    import sys

    vport, aport = rtp_port_pair(), rtp_port_pair()
    sdp_path = tmp_path / "recv.sdp"
    sdp_path.write_text(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=video {vport} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
        f"m=audio {aport} RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
        "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190\r\n"
    )
    receiver = subprocess.Popen([sys.executable, str(EXAMPLES / "rtp_receive.py"), str(sdp_path), "--seconds", "6"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not (port_taken(vport) and port_taken(aport)):
            assert time.monotonic() < deadline, "rtp_receive.py did not bind its ports"
            time.sleep(0.05)
        run([ffmpeg, "-v", "error", "-re", "-i", str(sources / "av.mkv"), "-map", "0:v", "-c", "copy", "-f", "rtp",
             f"rtp://127.0.0.1:{vport}", "-map", "0:a", "-c", "copy", "-f", "rtp", f"rtp://127.0.0.1:{aport}"])
        stdout, stderr = receiver.communicate(timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.communicate(timeout=10)
    report = stderr.decode()
    assert "video0: " in report and ", 50 frames, lost 0 packets (0 units dropped)" in report
    assert "audio1: " in report and "lost 0 packets (0 units dropped), 0 late, 0 malformed" in report
    assert sum(1 for line in stdout.decode().splitlines() if line.startswith("video0")) == 50
