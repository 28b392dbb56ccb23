"""Seeds for the fuzz targets: cut from the repository's vectors (captures of FFmpeg, peers'
SDPs and playlists) and built with our own builders, small enough to mutate quickly.

Every function is cached: the vectors are read once per process. Nothing here is read from outside
the repository.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

from mediaproto.codecs.adts import adts_wrap
from mediaproto.codecs.aac_config import AudioSpecificConfig
from mediaproto.codecs.avc_config import AVCDecoderConfigurationRecord
from mediaproto.codecs.h264 import split_annexb
from mediaproto.codecs.h265 import nal_type as hevc_nal_type
from mediaproto.codecs.hevc_config import HEVCDecoderConfigurationRecord
from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp import amf0, amf3
from mediaproto.rtmp.chunk import ChunkDecoder
from mediaproto.rtmp.flv import TAG_AUDIO, TAG_VIDEO, FlvTag, read_flv
from mediaproto.rtmp.flvframes import opus_head

TESTS = Path(__file__).resolve().parents[1]
VECTORS = TESTS / "vectors"
#: The size of the RTMP handshake a client sends (C0, C1, C2).
HANDSHAKE = 1 + 1536 + 1536


def _read(path: Path) -> bytes:
    return path.read_bytes()


@functools.cache
def flv_tags() -> tuple[FlvTag, ...]:
    """The first tags of the reference clip (script, sequence headers, frames)."""
    _, tags = read_flv(_read(VECTORS / "ref.flv"))
    return tuple(tags[:40])


@functools.cache
def ertmp_tags() -> tuple[FlvTag, ...]:
    _, tags = read_flv(_read(TESTS / "rtmp" / "vectors" / "ertmp-av1-opus.flv"))
    return tuple(tags)


def _small_tags(tags: tuple[FlvTag, ...], limit: int = 2048) -> list[FlvTag]:
    return [t for t in tags if len(t.data) <= limit]


@functools.cache
def flv_files() -> list[bytes]:
    """Short FLV files: the reference clip's head and the Enhanced RTMP vector's head."""
    ref = _read(VECTORS / "ref.flv")
    ertmp = _read(TESTS / "rtmp" / "vectors" / "ertmp-av1-opus.flv")
    return [ref[:1024], ref[:4096], ertmp[:4096], ref[:13]]


@functools.cache
def flv_media_bodies() -> list[bytes]:
    """Tag bodies: one byte of tag type first, then the body (video, audio, script)."""
    out = []
    for tag in _small_tags(flv_tags()) + _small_tags(ertmp_tags(), 4096):
        out.append(bytes([tag.tag_type]) + tag.data)
    return out[:40]


@functools.cache
def avc_record() -> bytes:
    for tag in flv_tags():
        if tag.tag_type == TAG_VIDEO and tag.data[:2] == b"\x17\x00":
            return tag.data[5:]
    raise AssertionError("ref.flv has no AVC sequence header")


@functools.cache
def parameter_sets() -> tuple[bytes, ...]:
    return AVCDecoderConfigurationRecord.parse(avc_record()).parameter_sets


@functools.cache
def audio_specific_config() -> bytes:
    for tag in flv_tags():
        if tag.tag_type == TAG_AUDIO and tag.data[1:2] == b"\x00":
            return tag.data[2:]
    raise AssertionError("ref.flv has no AAC sequence header")


@functools.cache
def hevc_nals() -> list[bytes]:
    return split_annexb(_read(TESTS / "rtmp" / "vectors" / "x265-64x48.hevc"))


@functools.cache
def hevc_record() -> bytes:
    nals = hevc_nals()
    return HEVCDecoderConfigurationRecord.from_parameter_sets(
        *([n for n in nals if hevc_nal_type(n) == t] for t in (32, 33, 34))).to_bytes()


@functools.cache
def video_frames() -> list[Frame]:
    """H.264 access units of the reference clip, as frames (the first few, the small ones)."""
    from mediaproto.codecs.h264 import split_avcc
    frames = []
    for tag in flv_tags():
        if tag.tag_type == TAG_VIDEO and tag.data[1:2] == b"\x01" and len(tag.data) < 3000:
            frames.append(Frame(0, tag.timestamp * 90, tag.timestamp * 90, tuple(split_avcc(tag.data[5:])),
                                keyframe=tag.data[0] >> 4 == 1))
    return frames[:6]


@functools.cache
def audio_frames() -> list[Frame]:
    frames = []
    for tag in flv_tags():
        if tag.tag_type == TAG_AUDIO and tag.data[1:2] == b"\x01":
            frames.append(Frame(1, tag.timestamp * 48, tag.timestamp * 48, tag.data[2:]))
    return frames[:6]


def codec_seeds() -> dict[str, list[bytes]]:
    """Seeds of the codec parsers: parameter sets, configs, ADTS, OpusHead."""
    sps, pps = parameter_sets()[0], parameter_sets()[1]
    hevc_sets = [n for n in hevc_nals() if hevc_nal_type(n) in (32, 33, 34)]
    asc = audio_specific_config()
    adts = b"".join(adts_wrap(f.data if isinstance(f.data, bytes) else b"", AudioSpecificConfig.parse(asc))
                    for f in audio_frames()[:2])
    return {
        "h264_sps": [sps],
        "h264_pps": [pps],
        "h265_sps": [n for n in hevc_sets if hevc_nal_type(n) == 33],
        "h265_vps": [n for n in hevc_sets if hevc_nal_type(n) == 32],
        "aac_config": [asc, bytes.fromhex("1190"), bytes.fromhex("2b8a0800"), bytes.fromhex("13102e20")],
        "adts": [adts, adts[:64]],
        "opus_head": [opus_head(2), opus_head(1, 44100, 0)],
        "avc_record": [avc_record()],
        "hevc_record": [hevc_record()],
    }


@functools.cache
def rtp_datagrams() -> list[tuple[int, bytes]]:
    """(destination port, payload) of FFmpeg's RTP session: video 5004, audio 5006, RTCP +1."""
    data = _read(VECTORS / "rtp-ffmpeg-h264-aac.udp")
    out, pos = [], 0
    while pos + 6 <= len(data):
        port, size = struct.unpack_from(">HI", data, pos)
        out.append((port, data[pos + 6:pos + 6 + size]))
        pos += 6 + size
    return out


def records(packets: list[bytes]) -> bytes:
    """Packets as the depacketizer targets read them: each with a 2-byte big-endian length."""
    return b"".join(struct.pack(">H", len(p)) + p for p in packets)


def split_records(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 2 <= len(data):
        (size,) = struct.unpack_from(">H", data, pos)
        out.append(data[pos + 2:pos + 2 + size])
        pos += 2 + size
    return out


@functools.cache
def tracks() -> dict[str, Track]:
    sps_pps = parameter_sets()
    hevc_sets = tuple(n for n in hevc_nals() if hevc_nal_type(n) in (32, 33, 34))
    return {
        "h264": Track(0, Codec.H264, 90000, parameter_sets=sps_pps),
        "h265": Track(0, Codec.H265, 90000, parameter_sets=hevc_sets),
        "aac": Track(1, Codec.AAC, 48000, config=audio_specific_config(), sample_rate=48000, channels=2),
        "opus": Track(1, Codec.OPUS, 48000, config=opus_head(2), sample_rate=48000, channels=2),
        "pcmu": Track(1, Codec.PCMU, 8000, sample_rate=8000, channels=1),
        "mp2t": Track(0, Codec.MP2T, 90000),
    }


def depacketizer_seeds() -> dict[str, list[bytes]]:
    """Per codec: runs of RTP packets (FFmpeg's for H.264 and AAC, our packetizers' for the rest)."""
    from mediaproto.rtp.payload import packetizer_for
    from mediaproto.rtp.payload.latm import LatmPacketizer

    grams = rtp_datagrams()
    h264 = [d for port, d in grams if port == 5004]
    aac = [d for port, d in grams if port == 5006]
    out: dict[str, list[bytes]] = {
        "h264": [records(h264[i:i + 6]) for i in range(0, 24, 6)],
        "aac": [records(aac[i:i + 6]) for i in range(0, 24, 6)],
    }
    t = tracks()
    hevc_frames = [Frame(0, i * 3000, i * 3000, (n,), keyframe=hevc_nal_type(n) in (19, 20))
                   for i, n in enumerate(n for n in hevc_nals() if hevc_nal_type(n) < 32)][:4]
    for name, frames, mtu in (
        ("h265", hevc_frames, 200),
        ("h264_small_mtu", video_frames()[:2], 120),
        ("opus", [Frame(1, i * 960, i * 960, bytes([0xFC]) + bytes(range(40))) for i in range(4)], 1200),
        ("pcmu", [Frame(1, i * 160, i * 160, bytes(range(160))) for i in range(3)], 1200),
    ):
        track = t["h264" if name == "h264_small_mtu" else name]
        packer = packetizer_for(track, 96, 0x1234, mtu=mtu)
        packets = [bytes(p) for f in frames for p in packer.packetize(f)]
        out.setdefault(name.removesuffix("_small_mtu"), []).append(records(packets[:12]))
    ts = _read(VECTORS / "ref.ts")[:188 * 21]
    mp2t = packetizer_for(t["mp2t"], 33, 1, mtu=1400)
    out["mp2t"] = [records([bytes(p) for p in mp2t.packetize(Frame(0, 0, 0, ts))])]
    latm = LatmPacketizer(97, 2, 48000)
    out["latm"] = [records([bytes(p) for f in audio_frames()[:3] for p in latm.packetize(f)])]
    return out


@functools.cache
def sdp_texts() -> list[bytes]:
    files = sorted((TESTS / "sdp" / "corpus").iterdir())
    out = [p.read_bytes() for p in files if p.is_file() and p.suffix == ".sdp"]
    out.append(_read(VECTORS / "rtp-ffmpeg-h264-aac.sdp"))
    return out


@functools.cache
def playlists() -> list[bytes]:
    files = sorted((TESTS / "hls" / "corpus").iterdir())
    out = [p.read_bytes()[:4096] for p in files if p.suffix == ".m3u8"]
    out += [_read(VECTORS / "hls-ts" / "index.m3u8"), _read(VECTORS / "hls-fmp4" / "index.m3u8")]
    return out


@functools.cache
def rtsp_c2s() -> bytes:
    return _read(VECTORS / "rtsp-ffmpeg-record-tcp.c2s.bin")


@functools.cache
def rtsp_s2c() -> bytes:
    return _read(VECTORS / "rtsp-ffmpeg-record-tcp.s2c.bin")


def rtsp_messages() -> list[bytes]:
    c2s, s2c = rtsp_c2s(), rtsp_s2c()
    head = c2s.index(b"RECORD")
    head = c2s.index(b"\r\n\r\n", head) + 4
    return [c2s[:head], c2s[:head + 2000], s2c[:1024], s2c, c2s[head:head + 1500]]


RTSP_HEADER_SEEDS = [
    b"T" + b"RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    b"T" + b"RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=1234ABCD,RTP/AVP;multicast;ttl=16",
    b"S" + b"151170465;timeout=60",
    b"R" + b"npt=0.000-12.5",
    b"R" + b"clock=19961108T142300Z-19961108T143520Z",
    b"I" + b"url=rtsp://a/b/trackID=0;seq=1;rtptime=3000,url=rtsp://a/b/trackID=1;seq=5;rtptime=48000",
    b"P" + b"OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN",
    b"C" + b"rtsp://127.0.0.1:8554/live.sdp/streamid=0",
]


@functools.cache
def rtmp_c2s() -> bytes:
    return _read(VECTORS / "rtmp-ffmpeg-publish.c2s.bin")


@functools.cache
def rtmp_s2c() -> bytes:
    return _read(VECTORS / "rtmp-ffmpeg-publish.s2c.bin")


def rtmp_chunk_streams() -> list[bytes]:
    c2s, s2c = rtmp_c2s()[HANDSHAKE:], rtmp_s2c()[HANDSHAKE:]
    return [c2s[:700], c2s[:3000], s2c[:1500], c2s[3000:6000]]


@functools.cache
def amf_payloads() -> tuple[list[bytes], list[bytes]]:
    """AMF0 bodies of FFmpeg's commands and of our encoder; AMF3 bodies of our encoder."""
    decoder = ChunkDecoder()
    messages = decoder.feed(rtmp_c2s()[HANDSHAKE:HANDSHAKE + 6000])
    zero = [m.payload for m in messages if m.type_id in (18, 20) and len(m.payload) < 2048]
    values = [
        {"app": "live", "tcUrl": "rtmp://h/live", "fpad": False, "audioCodecs": 3575.0, "objectEncoding": 0.0},
        [1.0, "two", None, True, {"a": [1.0, {"b": "c"}]}],
        "x" * 70000,
    ]
    zero += [amf0.dumps(v) for v in values[:2]] + [amf0.dumps_all(["onStatus", 0.0, None, {"level": "status"}])]
    three = [amf3.dumps(v) for v in values[:2]] + [amf3.dumps([1, 2, 3, {"k": b"\x00\x01"}])]
    return zero[:20], three


@functools.cache
def ts_bytes() -> bytes:
    return _read(VECTORS / "ref.ts")


def ts_seeds() -> list[bytes]:
    ts = ts_bytes()
    return [ts[:188 * 8], ts[:188 * 30], ts[188 * 30:188 * 50]]


def psi_sections() -> list[bytes]:
    """PAT, PMT and SDT sections of the reference TS (pointer field removed), each with its table."""
    out = []
    for i in range(0, 188 * 12, 188):
        pkt = ts_bytes()[i:i + 188]
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if pid in (0, 0x11, 0x1000) and pkt[1] & 0x40:
            body = pkt[4:]
            out.append(body[1 + body[0]:])
    return out


def pes_headers() -> list[bytes]:
    out = []
    for i in range(0, 188 * 60, 188):
        pkt = ts_bytes()[i:i + 188]
        if pkt[1] & 0x40:
            start = 4 + (1 + pkt[4] if pkt[3] & 0x20 else 0)
            if pkt[start:start + 3] == b"\x00\x00\x01":
                out.append(pkt[start:])
    return out[:8]


@functools.cache
def mp4_init() -> bytes:
    return _read(VECTORS / "hls-fmp4" / "init.mp4")


@functools.cache
def mp4_fragments() -> list[bytes]:
    """Small fragmented MP4s from our fragmenter (H.264 + AAC), and FFmpeg's init segment."""
    from mediaproto.mp4 import Fragmenter
    t = tracks()
    fragmenter = Fragmenter([t["h264"], t["aac"]])
    init = fragmenter.init_segment()
    for frame in video_frames()[:3] + audio_frames()[:3]:
        fragmenter.add(frame)
    drain = getattr(fragmenter, "drain", None) or getattr(fragmenter, "flush")
    return [init, init + drain()]


def mp4_seeds() -> list[bytes]:
    init = mp4_init()
    m4s = _read(VECTORS / "hls-fmp4" / "index0.m4s")
    return [init, init + m4s[:1500], m4s[:1200]] + mp4_fragments()
