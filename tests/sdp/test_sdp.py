from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto import Codec, Track
from mediaproto import sdp
from mediaproto.errors import ParseError, ProtocolError

# RFC 8866 section 5 (the example session description).
RFC_EXAMPLE = (
    "v=0\r\n"
    "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n"
    "s=Call to John Smith\r\n"
    "i=SDP Offer #1\r\n"
    "u=http://www.jdoe.example.com/home.html\r\n"
    "e=Jane Doe <jane@jdoe.example.com>\r\n"
    "p=+1 617 555-6011\r\n"
    "c=IN IP4 198.51.100.1\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0\r\n"
    "m=audio 49180 RTP/AVP 0\r\n"
    "m=video 51372 RTP/AVP 99\r\n"
    "c=IN IP6 2001:db8::2\r\n"
    "a=rtpmap:99 h263-1998/90000\r\n"
)

EVERY_LINE = (
    "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=All\r\ni=info\r\nu=http://x/\r\ne=a@b\r\np=+1 2\r\n"
    "c=IN IP4 224.2.17.12/127\r\nb=CT:1000\r\nt=3034423619 3042462419\r\nr=7d 1h 0 25h\r\n"
    "t=0 0\r\nz=2882844526 -1h 2898848070 0\r\nk=prompt\r\na=recvonly\r\na=x-unknown:whatever value\r\n"
    "m=audio 49170/2 RTP/AVP 0 8\r\ni=voice\r\nc=IN IP4 224.2.17.12/127\r\nb=AS:64\r\nk=clear:secret\r\n"
    "a=ptime:20\r\na=extmap:1/sendonly urn:ietf:params:rtp-hdrext:toffset\r\na=extmap:2 urn:x attr\r\n"
)


def test_rfc_example_round_trips_and_reads() -> None:
    s = sdp.parse(RFC_EXAMPLE)
    assert s.dumps() == RFC_EXAMPLE
    assert s.origin.username == "jdoe" and s.origin.sess_id == "3724394400" and s.origin.unicast_address == "198.51.100.1"
    assert s.session_name == "Call to John Smith" and s.information == "SDP Offer #1"
    assert s.emails == ["Jane Doe <jane@jdoe.example.com>"] and s.phones == ["+1 617 555-6011"]
    assert s.connection is not None and s.connection.address == "198.51.100.1"
    assert [m.port for m in s.media] == [49170, 49180, 51372]
    assert s.media[0].formats()[0].encoding_name == "PCMU"  # static payload type 0 (RFC 3551)
    video = s.media[2].formats()[0]
    assert (video.payload_type, video.encoding_name, video.clock_rate) == (99, "h263-1998", 90000)
    assert s.media[2].connections[0].addrtype == "IP6"


def test_every_line_type_round_trips() -> None:
    s = sdp.parse(EVERY_LINE)
    assert s.dumps() == EVERY_LINE
    assert s.connection is not None and s.connection.ttl == 127
    assert s.time_descriptions[0].repeat_times == ["7d 1h 0 25h"] and len(s.time_descriptions) == 2
    assert s.time_zones == "2882844526 -1h 2898848070 0" and s.key == "prompt"
    assert s.attribute("recvonly") == "" and s.attribute("x-unknown") == "whatever value"
    m = s.media[0]
    assert m.number_of_ports == 2 and m.fmts == ["0", "8"] and m.key == "clear:secret"
    assert [f.encoding_name for f in m.formats()] == ["PCMU", "PCMA"]
    assert m.extmaps() == [sdp.ExtMap(1, "urn:ietf:params:rtp-hdrext:toffset", "sendonly"),
                           sdp.ExtMap(2, "urn:x", None, "attr")]


def test_ffmpeg_rtp_sdp_vector(vectors: Path) -> None:
    text = (vectors / "rtp-ffmpeg-h264-aac.sdp").read_text()
    s = sdp.parse(text)
    assert s.dumps() == text
    video = sdp.track_from_media(s.media[0], 0)
    audio = sdp.track_from_media(s.media[1], 1)
    assert video.codec is Codec.H264 and video.clock_rate == 90000
    sps, pps = video.parameter_sets
    assert sps[0] & 0x1F == 7 and sps[1:4].hex().upper() == "42C00D" and pps[0] & 0x1F == 8
    assert audio.codec is Codec.AAC and audio.sample_rate == 48000 and audio.channels == 2
    assert audio.config == bytes.fromhex("119056E500")
    # FFmpeg writes spaces after some semicolons: they are not part of the names.
    assert s.media[1].formats()[0].parameter("config") == "119056E500"


def test_ffmpeg_announce_sdp_vector(vectors: Path) -> None:
    data = (vectors / "rtsp-ffmpeg-record-tcp.c2s.bin").read_bytes()
    start = data.index(b"\r\n\r\n", data.index(b"ANNOUNCE")) + 4
    body = data[start:start + 505]
    s = sdp.parse(body)
    assert s.dumps().encode() == body
    assert [m.control for m in s.media] == ["streamid=0", "streamid=1"]
    assert [m.port for m in s.media] == [0, 0]


@pytest.mark.parametrize(
    "text",
    [
        "o=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n",  # no v= line
        "v=0\r\no=-0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n",  # o=-0
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nc=IN 1.2.3.4\r\nt=0 0\r\n",  # c= without addrtype
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=now-\r\n",  # t=now-
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nc=IP IP4 1.2.3.4\r\nt=0 0\r\n",  # IP for IN
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP smart/1/90000\r\n",  # TP-Link
    ],
    ids=["no-v", "o=-0", "c-no-addrtype", "t=now-", "IP-for-IN", "tplink-non-numeric-pt"],
)
def test_real_world_quirks_need_lenient(text: str) -> None:
    with pytest.raises(ParseError):
        sdp.parse(text)
    s = sdp.parse(text, lenient=True)
    assert s.session_name == "x"


def test_errors_name_the_line() -> None:
    with pytest.raises(ParseError) as exc:
        sdp.parse("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video zero RTP/AVP 96\r\n")
    assert exc.value.line == 5
    with pytest.raises(ParseError) as exc:
        sdp.parse("v=0\r\ns=x\r\no=- 0 0 IN IP4 1.2.3.4\r\nt=0 0\r\n")  # o= after s=
    assert exc.value.line == 3


def test_fmtp_helpers() -> None:
    params = sdp.parse_fmtp("packetization-mode=1; sprop-parameter-sets=Z0I=,aM4=; profile-level-id=42C00D")
    assert params == {"packetization-mode": "1", "sprop-parameter-sets": "Z0I=,aM4=", "profile-level-id": "42C00D"}
    assert sdp.format_fmtp({"a": "1", "b": ""}) == "a=1;b"


def test_sprop_with_annexb_prefix_is_stripped() -> None:
    import base64

    sps = b"\x67\x42\xc0\x0d\x01"
    fmtp = base64.b64encode(b"\x00\x00\x00\x01" + sps).decode()
    md = sdp.MediaDescription("video", 0, "RTP/AVP", ["96"], attributes=[
        sdp.Attribute("rtpmap", "96 H264/90000"), sdp.Attribute("fmtp", f"96 sprop-parameter-sets={fmtp}")])
    assert sdp.track_from_media(md).parameter_sets == (sps,)


@pytest.mark.parametrize(
    "track",
    [
        Track(0, Codec.H264, 90000, parameter_sets=(b"\x67\x42\xc0\x1e\xaa", b"\x68\xce\x3c\x80")),
        Track(1, Codec.H265, 90000, parameter_sets=(b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc1")),
        Track(2, Codec.AAC, 44100, config=bytes.fromhex("1210"), sample_rate=44100, channels=2),
        Track(3, Codec.OPUS, 48000, sample_rate=48000, channels=2),
        Track(4, Codec.PCMU, 8000, sample_rate=8000, channels=1),
        Track(5, Codec.PCMA, 8000, sample_rate=8000, channels=1),
        Track(6, Codec.MP2T, 90000),
    ],
    ids=lambda t: t.codec.name,
)
def test_track_round_trip_through_sdp(track: Track) -> None:
    md = sdp.media_from_track(track, 96, control=f"trackID={track.id}")
    session = sdp.SessionDescription(media=[md])
    again = sdp.parse(session.dumps())
    assert again.dumps() == session.dumps()
    back = sdp.track_from_media(again.media[0], track.id)
    assert back.codec is track.codec and back.clock_rate == track.clock_rate
    assert back.parameter_sets == track.parameter_sets and back.config == track.config
    assert again.media[0].control == f"trackID={track.id}"
    if track.codec.is_audio:
        assert back.channels == track.channels
    if track.codec is Codec.MP2T:  # RFC 3551: static payload type 33, 90 kHz
        assert again.media[0].fmts == ["33"] and again.media[0].formats()[0].encoding_name == "MP2T"


def test_latm_stream_mux_config() -> None:
    # A StreamMuxConfig built by hand from ISO 14496-3 1.7.3 (audioMuxVersion 0, one program and layer)
    # around the ASC of AAC-LC 24 kHz stereo, followed by frameLengthType/latmBufferFullness bits.
    md = sdp.MediaDescription("audio", 0, "RTP/AVP", ["96"], attributes=[
        sdp.Attribute("rtpmap", "96 MP4A-LATM/24000/2"),
        sdp.Attribute("fmtp", "96 profile-level-id=15;object=2;cpresent=0;config=400026203FC0")])
    t = sdp.track_from_media(md)
    # The ASC is object type 2 (AAC LC), frequency index 6 (24000), channel configuration 2.
    assert t.codec is Codec.AAC and t.config[:2] == bytes([(2 << 3) | (6 >> 1), ((6 & 1) << 7) | (2 << 3)])


@given(st.text(max_size=300))
def test_random_text_raises_only_protocol_errors(text: str) -> None:
    for lenient in (False, True):
        try:
            s = sdp.parse(text, lenient=lenient)
            for m in s.media:
                m.formats()
                m.extmaps()
                try:
                    sdp.track_from_media(m)
                except ParseError:
                    pass
        except ProtocolError:
            pass


@given(st.data())
def test_mutated_vector_raises_only_protocol_errors(data: st.DataObject) -> None:
    text = EVERY_LINE + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 sprop-parameter-sets=Z0I=\r\n"
    pos = data.draw(st.integers(0, len(text) - 1))
    junk = data.draw(st.text(max_size=5))
    mutated = text[:pos] + junk + text[pos + data.draw(st.integers(0, 5)):]
    try:
        s = sdp.parse(mutated, lenient=data.draw(st.booleans()))
        for m in s.media:
            m.extmaps()
            try:
                sdp.track_from_media(m)
            except ParseError:
                pass
    except ProtocolError:
        pass
