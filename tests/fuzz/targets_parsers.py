"""Fuzz targets of the parsers: RTP/RTCP, the depacketizers, SDP, RTSP messages and headers, RTMP
handshake/chunks/messages/AMF/FLV, MPEG-TS, HLS, MP4 and the codec parsers.

Each ``run`` takes one input and drives one public entry point the way a real caller would
(stream parsers are fed in pieces, see :func:`~tests.fuzz.engine.chunks`), and also uses what it
parsed (serializes it back, asks for its tracks), since a parsed value that breaks on use is a bug
too. It returns a small outcome the engine uses to tell new behaviour apart.
"""

from __future__ import annotations

from mediaproto import hls, sdp
from mediaproto.codecs import aac_config, adts, avc_config, h264_sps, h265, h265_sps, hevc_config, opus
from mediaproto.errors import ProtocolError
from mediaproto.mp4 import Demuxer as Mp4Demuxer
from mediaproto.mp4 import parse_boxes, parse_init_segment
from mediaproto.mpegts import Demuxer as TsDemuxer
from mediaproto.mpegts import Pat, PesHeader, Pmt, Sdt, SectionAssembler, TsPacket
from mediaproto.mpegts.psi import parse_section
from mediaproto.rtmp import amf0, amf3, flvmedia, flvscript
from mediaproto.rtmp import message as rtmp_message
from mediaproto.rtmp.chunk import ChunkDecoder, Message
from mediaproto.rtmp.flv import FlvReader, MediaTagDecoder
from mediaproto.rtmp.handshake import ClientHandshake, ServerHandshake
from mediaproto.rtp import RtpPacket, parse_compound
from mediaproto.rtp.payload import depacketizer_for
from mediaproto.rtsp import headers as rtsp_headers
from mediaproto.rtsp.message import MessageParser

from . import seeds
from .engine import Target, chunks

TEXT_TOKENS = (b"\r\n", b"\n", b"\r\n\r\n", b":", b";", b"=", b",", b" ", b"/", b"-", b'"', b"0", b"9",
               b"4294967296", b"-1", b"1e309", b"\xc2\xb3", b"\xb3", b"\xd9\xa3", b"\x00", b"\xff", b"%")


def _stream_outcome(items: list[object]) -> tuple[str, ...]:
    return tuple(sorted({type(i).__name__ for i in items}))


# -- RTP ------------------------------------------------------------------------------------------

def run_rtp_packet(data: bytes) -> object:
    packet = RtpPacket.parse(data)
    again = bytes(packet)
    if packet.padding_length == 0:
        assert again == data, "an RTP packet without padding does not serialize back to its bytes"
    else:
        assert RtpPacket.parse(again) == packet, "an RTP packet does not parse back from its bytes"
    return (packet.payload_type, packet.marker, packet.extension is not None, packet.padding_length > 0)


def run_rtcp(data: bytes) -> object:
    packets = parse_compound(data)
    strict = parse_compound(data, strict=True, sdes_without_end=True) if data[:1] else []
    for p in packets:
        bytes(p)
    return _stream_outcome(packets + strict)


def make_depacketizer_run(codec: str) -> object:
    def run(data: bytes) -> object:
        t = seeds.tracks()
        if codec == "latm":
            d = depacketizer_for(t["aac"], 48000, encoding_name="MP4A-LATM", fmtp={"cpresent": "0"})
        elif codec == "h265":
            d = depacketizer_for(t["h265"], fmtp={"sprop-max-don-diff": "1" if data[:1] == b"\x01" else "0"})
        elif codec == "aac":
            d = depacketizer_for(t["aac"], fmtp={"mode": "AAC-hbr", "sizelength": "13"})
        else:
            d = depacketizer_for(t[codec])
        frames = []
        for raw in seeds.split_records(data):
            try:
                packet = RtpPacket.parse(raw)
            except ProtocolError:
                continue
            frames += d.feed(packet)
        frames += d.flush()
        return min(len(frames), 4)  # more frames is not new behaviour
    return run


# -- SDP ------------------------------------------------------------------------------------------

def _use_sdp(desc: sdp.SessionDescription) -> object:
    desc.dumps()
    kinds = []
    for i, media in enumerate(desc.media):
        media.control
        media.range
        media.extmaps()
        media.format_errors()
        try:
            track = sdp.track_from_media(media, i)
            kinds.append(track.codec.value)
        except ProtocolError:
            kinds.append("-")
    return tuple(kinds)


def run_sdp_strict(data: bytes) -> object:
    return _use_sdp(sdp.parse(data))


def run_sdp_lenient(data: bytes) -> object:
    desc = sdp.parse(data, lenient=True)
    out = _use_sdp(desc)
    return out


# -- RTSP -----------------------------------------------------------------------------------------

def run_rtsp_parser(data: bytes) -> object:
    parser = MessageParser(lenient=bool(data[:1]) and data[0] & 1 == 1)
    events: list[object] = []
    for piece in chunks(data):
        events += parser.feed(piece)
    events += parser.flush()
    for e in events:
        headers = getattr(e, "headers", None)
        if headers is not None:
            headers.cseq
            headers.encode()
        if hasattr(e, "encode"):
            e.encode()
    return _stream_outcome(events)


def run_rtsp_headers(data: bytes) -> object:
    kind, text = data[:1], data[1:].decode("latin-1")
    if kind == b"T":
        specs = rtsp_headers.parse_transport(text)
        rtsp_headers.format_transport(specs)
    elif kind == b"S":
        str(rtsp_headers.SessionHeader.parse(text))
    elif kind == b"R":
        r = rtsp_headers.Range.parse(text)
        r.start_seconds, r.end_seconds
        str(r)
    elif kind == b"I":
        rtsp_headers.format_rtp_info(rtsp_headers.parse_rtp_info(text))
    elif kind == b"P":
        rtsp_headers.parse_public(text)
    else:
        rtsp_headers.resolve_control("rtsp://127.0.0.1:8554/live.sdp/", text)
    return kind


# -- RTMP -----------------------------------------------------------------------------------------

def _random(n: int) -> bytes:
    return bytes(n)


def run_rtmp_handshake(data: bytes) -> object:
    server = ServerHandshake(random_bytes=_random)
    for piece in chunks(data[:4000]):
        server.receive_data(piece)
        server.data_to_send()
    client = ClientHandshake(random_bytes=_random)
    client.data_to_send()
    for piece in chunks(data[:4000]):
        client.receive_data(piece)
        client.data_to_send()
    return (server.done, client.done, client.server_digest)


def run_rtmp_chunks(data: bytes) -> object:
    decoder = ChunkDecoder()
    messages: list[Message] = []
    for piece in chunks(data):
        messages += decoder.feed(piece)
        decoder.ack_due()
    messages += decoder.flush()
    return tuple(sorted({m.type_id for m in messages}))


def run_rtmp_message(data: bytes) -> object:
    """One message of the type in the first byte: user control, command, data, shared object,
    aggregate."""
    if not data:
        return None
    m = Message(3, data[0], 1, 0, data[1:])
    kind = data[0] % 6
    if kind == 0:
        rtmp_message.parse_user_control(Message(2, 4, 0, 0, data[1:]))
    elif kind == 1:
        rtmp_message.parse_command(Message(3, 20 if data[0] & 8 else 17, 0, 0, data[1:]))
    elif kind == 2:
        rtmp_message.parse_data(Message(3, 18 if data[0] & 8 else 15, 1, 0, data[1:]))
    elif kind == 3:
        rtmp_message.parse_shared_object(Message(3, 19 if data[0] & 8 else 16, 0, 0, data[1:]))
    elif kind == 4:
        rtmp_message.split_aggregate(Message(3, 22, 1, 0, data[1:]))
    else:
        rtmp_message.read_u32(m)
    return kind


def run_amf0(data: bytes) -> object:
    values = amf0.loads_all(data)
    amf0.dumps_all(values)
    return len(values)


def run_amf3(data: bytes) -> object:
    values = amf3.loads_all(data)
    return len(values)


def run_flv_reader(data: bytes) -> object:
    reader = FlvReader(check_previous_tag_size=bool(data[:1]) and data[0] & 1 == 0)
    tags = []
    for piece in chunks(data):
        tags += reader.feed(piece)
    tags += reader.flush()
    return len(tags) > 0


def run_flv_media(data: bytes) -> object:
    """Tag bodies as records; each record's first byte is its tag type (8, 9, 18)."""
    decoder = MediaTagDecoder()
    out = []
    for i, record in enumerate(seeds.split_records(data) or [data]):
        if not record:
            continue
        tag_type, body = record[0], record[1:]
        if tag_type == 9:
            flvmedia.parse_video(body)
        elif tag_type == 8:
            flvmedia.parse_audio(body)
        elif tag_type == 18:
            flvscript.parse_script(body)
            continue
        out += decoder.feed(tag_type, i * 40, body)
    out += decoder.flush()
    return _stream_outcome(out)


# -- MPEG-TS --------------------------------------------------------------------------------------

def run_ts_demuxer(data: bytes) -> object:
    demuxer = TsDemuxer()
    events: list[object] = []
    for piece in chunks(data):
        events += demuxer.feed(piece)
    events += demuxer.flush()
    demuxer.tracks
    return _stream_outcome(events)


def run_ts_psi(data: bytes) -> object:
    which = data[:1]
    body = data[1:]
    if which == b"\x00":
        section = parse_section(body)
        return type(section).__name__
    if which == b"\x01":
        assembler = SectionAssembler()
        sections = []
        for i in range(0, len(body), 184):
            sections += assembler.feed(body[i:i + 184], i % 368 == 0)
        return len(sections)
    for kind in (Pat, Pmt, Sdt):
        try:
            kind.parse(body)
        except ProtocolError:
            pass
    return which


def run_ts_pes(data: bytes) -> object:
    header = PesHeader.parse(data)
    TsPacket.parse((data + bytes(188))[:188]) if data[:1] == b"\x47" else None
    return (header.pts is not None, header.dts is not None)


# -- HLS, MP4 -------------------------------------------------------------------------------------

def run_hls_strict(data: bytes) -> object:
    playlist = hls.parse(data)
    playlist.dumps()
    return type(playlist).__name__


def run_hls_lenient(data: bytes) -> object:
    playlist = hls.parse(data, lenient=True)
    playlist.dumps()
    return type(playlist).__name__


def run_mp4_boxes(data: bytes) -> object:
    boxes = parse_boxes(data)
    for box in boxes:
        bytes(box)
    return tuple(b.type_bytes for b in boxes[:4])


def run_mp4_init(data: bytes) -> object:
    return tuple(t.codec.value for t in parse_init_segment(data))


def run_mp4_demuxer(data: bytes) -> object:
    demuxer = Mp4Demuxer()
    events: list[object] = []
    for piece in chunks(data):
        events += demuxer.feed(piece)
    events += demuxer.flush()
    return _stream_outcome(events)


# -- codecs -----------------------------------------------------------------------------------------

def run_codec(data: bytes) -> object:
    """The codec parser named by the first byte."""
    if not data:
        return None
    which, body = data[0] % 10, data[1:]
    if which == 0:
        info = h264_sps.parse_sps(body)
        info.frame_rate, info.sample_aspect_ratio, info.codec_string
    elif which == 1:
        h264_sps.parse_pps_id(body)
    elif which == 2:
        h265_sps.parse_sps(body).codec_string
    elif which == 3:
        h265.NalHeader.parse(body)
    elif which == 4:
        config = aac_config.AudioSpecificConfig.parse(body)
        config.channels, config.output_sample_rate, aac_config.frame_samples(config)
    elif which == 5:
        adts.split_adts(body)
        adts.is_adts(body)
    elif which == 6:
        opus.OpusHead.parse(body)
    elif which == 7:
        record = avc_config.AVCDecoderConfigurationRecord.parse(body)
        record.codec_string, record.to_bytes()
    elif which == 8:
        hevc_config.HEVCDecoderConfigurationRecord.parse(body).to_bytes()
    else:
        opus.parse_packet(body)
    return which


def run_codec_records_from_sets(data: bytes) -> object:
    """Decoder configuration records built from untrusted parameter sets (an SDP's
    ``sprop-parameter-sets``, a stream's in-band SPS): first byte 0 for H.264 (SPS, PPS...),
    else H.265 (VPS, SPS, PPS...), then the NAL units as records."""
    nals = [n for n in seeds.split_records(data[1:]) if n]
    if len(nals) < 2:
        return None
    if data[0] & 1 == 0:
        avc = avc_config.AVCDecoderConfigurationRecord.from_parameter_sets(nals[:1], nals[1:])
        return avc_config.AVCDecoderConfigurationRecord.parse(avc.to_bytes()).codec_string
    hevc = hevc_config.HEVCDecoderConfigurationRecord.from_parameter_sets(nals[:1], nals[1:2], nals[2:])
    return hevc_config.HEVCDecoderConfigurationRecord.parse(hevc.to_bytes()).length_size


def _record_seeds() -> list[bytes]:
    s = seeds.codec_seeds()
    return [b"\x00" + seeds.records([*s["h264_sps"], *s["h264_pps"]]),
            b"\x01" + seeds.records([*s["h265_vps"], *s["h265_sps"], *[n for n in seeds.hevc_nals()
                                                                       if h265.nal_type(n) == 34]])]


def _codec_seeds() -> list[bytes]:
    s = seeds.codec_seeds()
    out = [b"\x00" + x for x in s["h264_sps"]] + [b"\x01" + x for x in s["h264_pps"]]
    out += [b"\x02" + x for x in s["h265_sps"]] + [b"\x03" + x for x in s["h265_vps"]]
    out += [b"\x04" + x for x in s["aac_config"]] + [b"\x05" + x for x in s["adts"]]
    out += [b"\x06" + x for x in s["opus_head"]] + [b"\x07" + x for x in s["avc_record"]]
    out += [b"\x08" + x for x in s["hevc_record"]] + [b"\x09\xfc" + bytes(30), b"\x09\x03\x83" + bytes(20)]
    return out


def _rtmp_message_seeds() -> list[bytes]:
    zero, _ = seeds.amf_payloads()
    out = [bytes([1 + 8 * 3]) + z for z in zero[:6]]  # commands
    out += [bytes([2 + 8]) + z for z in zero[:4]]  # data
    out += [b"\x00" + bytes.fromhex("0006 00000001 00000002"), b"\x00\x00\x03\x00\x00\x00\x01\x00\x00\x0b\xb8"]
    tags = [t for t in seeds.flv_tags() if len(t.data) < 300][:3]
    agg = b"".join(bytes([t.tag_type]) + len(t.data).to_bytes(3, "big") + t.timestamp.to_bytes(3, "big")
                   + b"\x00\x00\x00\x00" + t.data + (11 + len(t.data)).to_bytes(4, "big") for t in tags)
    out.append(b"\x04" + agg)
    out.append(b"\x03" + b"\x00\x02so" + bytes(8) + b"\x01\x00\x00\x00\x00")
    return out


def _rtcp_seeds() -> list[bytes]:
    return [d for port, d in seeds.rtp_datagrams() if port in (5005, 5007)][:8] + [
        bytes.fromhex("81cd0003 00000001 00000002 00000005"),  # generic NACK
        bytes.fromhex("81ce0002 00000001 00000002"),  # PLI
    ]


def _psi_seeds() -> list[bytes]:
    sections = seeds.psi_sections()
    return ([b"\x00" + s for s in sections] + [b"\x02" + s for s in sections]
            + [b"\x01" + b"\x00" + s for s in sections])


def targets() -> list[Target]:
    rtp = [d for port, d in seeds.rtp_datagrams() if port in (5004, 5006)]
    dep = seeds.depacketizer_seeds()
    zero, three = seeds.amf_payloads()
    out = [
        Target("rtp_packet", run_rtp_packet, lambda: rtp[:4] + [rtp[1][:40]], max_size=1500),
        Target("rtcp_compound", run_rtcp, _rtcp_seeds, max_size=1500),
    ]
    for codec in ("h264", "h265", "aac", "latm", "opus", "pcmu", "mp2t"):
        out.append(Target(f"rtp_depacketizer_{codec}", make_depacketizer_run(codec),
                          (lambda c=codec: dep[c]), max_size=8192))
    out += [
        Target("sdp_strict", run_sdp_strict, seeds.sdp_texts, TEXT_TOKENS + (b"m=video ", b"a=rtpmap:", b"a=fmtp:"),
               max_size=4096),
        Target("sdp_lenient", run_sdp_lenient, seeds.sdp_texts, TEXT_TOKENS + (b"m=audio ", b"c=IN IP4", b"o=-"),
               max_size=4096),
        Target("rtsp_message_parser", run_rtsp_parser, seeds.rtsp_messages,
               TEXT_TOKENS + (b"$\x00", b"Content-Length: ", b"CSeq: ", b"RTSP/1.0 "), max_size=4096),
        Target("rtsp_headers", run_rtsp_headers, lambda: list(seeds.RTSP_HEADER_SEEDS),
               TEXT_TOKENS + (b"interleaved=", b"client_port=", b"seq=", b"rtptime=", b"timeout=", b"npt="),
               max_size=1024),
        Target("rtmp_handshake", run_rtmp_handshake,
               lambda: [seeds.rtmp_c2s()[:seeds.HANDSHAKE + 64], seeds.rtmp_s2c()[:seeds.HANDSHAKE + 64],
                        b"\x03" + bytes(3072)], max_size=4000, mem_base=256 * 1024),
        Target("rtmp_chunk_decoder", run_rtmp_chunks, seeds.rtmp_chunk_streams, max_size=8192),
        Target("rtmp_messages", run_rtmp_message, _rtmp_message_seeds, max_size=4096),
        Target("amf0", run_amf0, lambda: zero, max_size=4096),
        Target("amf3", run_amf3, lambda: three + [b"\x0a\x0b\x01\x03a\x04\x01\x01", b"\x09\x05\x01\x04\x01\x06\x03x"],
               max_size=4096),
        Target("flv_reader", run_flv_reader, seeds.flv_files, max_size=8192),
        Target("flv_media_tags", run_flv_media, lambda: [seeds.records(seeds.flv_media_bodies()[i:i + 4])
                                                         for i in range(0, 40, 4)], max_size=8192),
        Target("mpegts_demuxer", run_ts_demuxer, seeds.ts_seeds, max_size=8192),
        Target("mpegts_psi", run_ts_psi, _psi_seeds, max_size=2048),
        Target("mpegts_pes", run_ts_pes, seeds.pes_headers, max_size=512),
        Target("hls_strict", run_hls_strict, seeds.playlists,
               TEXT_TOKENS + (b"#EXTINF:", b"#EXT-X-DEFINE:NAME=", b"{$", b"}", b"#EXT-X-KEY:METHOD=", b"#EXT-X-PART:",
                              b"#EXT-X-BYTERANGE:", b"#EXT-X-SKIP:SKIPPED-SEGMENTS=", b"@"), max_size=4096),
        Target("hls_lenient", run_hls_lenient, seeds.playlists,
               TEXT_TOKENS + (b"#EXTINF:", b"#EXTM3U", b"{$", b"#EXT-X-STREAM-INF:BANDWIDTH=", b"#EXT-X-MEDIA:"),
               max_size=4096),
        Target("mp4_boxes", run_mp4_boxes, seeds.mp4_seeds, max_size=8192),
        Target("mp4_init_segment", run_mp4_init, lambda: [seeds.mp4_init()] + seeds.mp4_fragments()[:1],
               max_size=4096),
        Target("mp4_demuxer", run_mp4_demuxer, seeds.mp4_seeds, max_size=8192),
        Target("codecs", run_codec, _codec_seeds, max_size=1024),
        Target("codec_records_from_sets", run_codec_records_from_sets, _record_seeds, max_size=1024),
    ]
    return out
