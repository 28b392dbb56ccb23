"""Issue 16: every text parser, fed each Unicode digit (a character ``str.isdigit()`` accepts that is
not ASCII: '³', '¹', '٣', ...) in each numeric field, raises ProtocolError, never ValueError, and
never reads it as a number."""

from __future__ import annotations

from typing import Callable

import pytest

from mediaproto import hls, sdp
from mediaproto.errors import ParseError, ProtocolError
from mediaproto.rtsp import headers as rtsp_headers
from mediaproto.rtsp.message import Headers, MessageParser
from tests.test_text import UNICODE_DIGITS

X = "{x}"  # where the digit goes


def _rtsp_message(text: str) -> None:
    MessageParser().feed(text.encode("utf-8"))


_SDP = "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n"
_SDP_MEDIA = _SDP + "m=video 0 RTP/AVP 96\r\n"

#: (name, template, a parse that must raise ProtocolError for the template with a digit in it).
STRICT: list[tuple[str, str, Callable[[str], object]]] = [
    ("Transport client_port first", "RTP/AVP;unicast;client_port=5{x}00-5001", rtsp_headers.parse_transport),
    ("Transport client_port second", "RTP/AVP;unicast;client_port=5000-5{x}01", rtsp_headers.parse_transport),
    ("Transport server_port", "RTP/AVP;unicast;server_port={x}", rtsp_headers.parse_transport),
    ("Transport interleaved", "RTP/AVP/TCP;interleaved={x}-1", rtsp_headers.parse_transport),
    ("Transport ttl", "RTP/AVP;multicast;ttl={x}", rtsp_headers.parse_transport),
    ("Transport layers", "RTP/AVP;multicast;layers=1{x}", rtsp_headers.parse_transport),
    ("Transport ssrc", "RTP/AVP;unicast;ssrc=1{x}", rtsp_headers.parse_transport),
    ("Session timeout", "12345678;timeout=6{x}", rtsp_headers.SessionHeader.parse),
    ("RTP-Info seq", "url=rtsp://a/b;seq={x};rtptime=1", rtsp_headers.parse_rtp_info),
    ("RTP-Info rtptime", "url=rtsp://a/b;seq=1;rtptime=1{x}", rtsp_headers.parse_rtp_info),
    ("Range npt start", "npt={x}-", rtsp_headers.Range.parse),
    ("Range npt end", "npt=0-1{x}", rtsp_headers.Range.parse),
    ("Range npt hours", "npt={x}:00:00-", rtsp_headers.Range.parse),
    ("RTSP status code", "RTSP/1.0 2{x}0 OK\r\nCSeq: 1\r\n\r\n", _rtsp_message),
    ("RTSP Content-Length", "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: {x}\r\n\r\n", _rtsp_message),
    ("SDP m= port", _SDP + "m=video {x} RTP/AVP 96\r\n", sdp.parse),
    ("SDP m= number of ports", _SDP + "m=video 0/{x} RTP/AVP 96\r\n", sdp.parse),
    ("SDP m= format", _SDP + "m=video 0 RTP/AVP 9{x}\r\n", sdp.parse),
    ("SDP t= start", "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt={x} 0\r\n", sdp.parse),
    ("SDP t= stop", "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 {x}\r\n", sdp.parse),
    ("SDP b=", _SDP_MEDIA + "b=AS:{x}\r\n", sdp.parse),
    ("SDP extmap id", _SDP_MEDIA + "a=extmap:{x} urn:x\r\n", lambda t: sdp.parse(t).media[0].extmaps()),
]

_M3U = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n"


def _both(text: str) -> None:
    """Parse with the strict and the lenient m3u8 parser: both accept, or both refuse."""
    refused: list[ProtocolError] = []
    for lenient in (False, True):
        try:
            hls.parse(text, lenient=lenient)
        except ProtocolError as exc:
            refused.append(exc)
    if len(refused) == 1:
        raise AssertionError(f"only one mode refused {text!r}: {refused[0]}")
    if refused:
        raise refused[0]


STRICT += [
    ("m3u8 EXT-X-TARGETDURATION", "#EXTM3U\n#EXT-X-TARGETDURATION:{x}\n", _both),
    ("m3u8 EXT-X-VERSION (media)", _M3U + "#EXT-X-VERSION:{x}\n", _both),
    ("m3u8 EXT-X-MEDIA-SEQUENCE", _M3U + "#EXT-X-MEDIA-SEQUENCE:1{x}\n", _both),
    ("m3u8 EXTINF duration", _M3U + "#EXTINF:{x}.5,\na.ts\n", _both),
    ("m3u8 EXTINF fraction", _M3U + "#EXTINF:5.{x},\na.ts\n", _both),
    ("m3u8 EXT-X-BYTERANGE", _M3U + "#EXTINF:5,\n#EXT-X-BYTERANGE:{x}@0\na.ts\n", _both),
    ("m3u8 EXT-X-BITRATE", _M3U + "#EXT-X-BITRATE:{x}\n#EXTINF:5,\na.ts\n", _both),
    ("m3u8 EXT-X-PROGRAM-DATE-TIME", _M3U + "#EXT-X-PROGRAM-DATE-TIME:2020-01-01T00:00:0{x}Z\n#EXTINF:5,\na.ts\n", _both),
    ("m3u8 EXT-X-PART DURATION", _M3U + "#EXT-X-PART-INF:PART-TARGET=1\n#EXT-X-PART:DURATION={x},URI=\"p\"\n", _both),
    ("m3u8 EXT-X-VERSION (multivariant)", "#EXTM3U\n#EXT-X-VERSION:{x}\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n", _both),
    ("m3u8 BANDWIDTH", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH={x}\nv.m3u8\n", _both),
    ("m3u8 RESOLUTION", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=1x{x}\nv.m3u8\n", _both),
    ("m3u8 FRAME-RATE", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE={x}\nv.m3u8\n", _both),
    ("m3u8 TIME-OFFSET", _M3U + "#EXT-X-START:TIME-OFFSET=-{x}\n", _both),
]

#: Fields a lenient parse keeps as written; they must never come out as a number.
LENIENT: list[tuple[str, str, Callable[[str], object]]] = [
    ("SDP rtpmap clock rate", _SDP_MEDIA + "a=rtpmap:96 H264/9{x}000\r\n",
     lambda t: sdp.parse(t).media[0].formats() == [] and sdp.parse(t).media[0].format_errors()["96"]),
    ("SDP rtpmap channels", _SDP_MEDIA + "a=rtpmap:96 opus/48000/{x}\r\n",
     lambda t: sdp.parse(t).media[0].formats() == [] and sdp.parse(t).media[0].format_errors()["96"]),
    ("SDP c= TTL", _SDP_MEDIA + "c=IN IP4 224.2.1.1/{x}\r\n", lambda t: sdp.parse(t).media[0].connections[0].ttl is None),
    ("RTSP CSeq", "CSeq", lambda t: Headers([("CSeq", t.replace("CSeq", "1{x}"))]).cseq is None),
    ("SDP lenient m= format", _SDP + "m=video 0 RTP/AVP {x}\r\n",
     lambda t: sdp.parse(t, lenient=True).media[0].formats() == []),
]


@pytest.mark.parametrize("name,template,parse", STRICT, ids=[c[0] for c in STRICT])
def test_each_unicode_digit_raises_a_protocol_error(name: str, template: str, parse: Callable[[str], object]) -> None:
    parse(template.replace(X, "1"))  # the template is valid with an ASCII digit
    for c in UNICODE_DIGITS:
        with pytest.raises(ProtocolError):
            parse(template.replace(X, c))


@pytest.mark.parametrize("name,template,check", LENIENT, ids=[c[0] for c in LENIENT])
def test_each_unicode_digit_is_never_a_number(name: str, template: str, check: Callable[[str], object]) -> None:
    for c in UNICODE_DIGITS:
        assert check(template.replace(X, c).replace("1{x}", "1" + c))


def test_the_reported_reproducers() -> None:
    with pytest.raises(ParseError, match="m= port"):
        sdp.parse("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video \u00b3 RTP/AVP 96\r\n")
    with pytest.raises(ParseError, match="RTP-Info seq"):
        rtsp_headers.parse_rtp_info("url=rtsp://a/b;seq=\u00b3")
