from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError, ProtocolError
from mediaproto.rtsp.headers import (
    Range,
    RtpInfo,
    SessionHeader,
    TransportSpec,
    format_rtp_info,
    format_transport,
    parse_public,
    parse_rtp_info,
    parse_transport,
    resolve_control,
)


def test_transport_rfc2326_examples() -> None:
    [t] = parse_transport("RTP/AVP;multicast;ttl=127;mode=\"PLAY\"")
    assert not t.unicast and t.ttl == 127 and t.mode == "PLAY" and t.lower_transport == "UDP"
    specs = parse_transport("RTP/AVP;unicast;client_port=3456-3457;mode=\"PLAY\", RTP/AVP/TCP;interleaved=0-1")
    assert specs[0].client_port == (3456, 3457) and specs[1].is_tcp and specs[1].interleaved == (0, 1)


@pytest.mark.parametrize(
    "text,check",
    [
        ("RTP/AVP;unicast;client_port=5000;ssrc= 4317f", lambda t: t.client_port == (5000, 5001) and t.ssrc == 0x4317F),
        ("RTP/AVP/TCP;unicast;mode=receive;interleaved=0-1", lambda t: t.is_record and t.interleaved == (0, 1)),
        ("RTP/AVP;unicast;source=;server_port=6970-6971", lambda t: t.source == "" and t.server_port == (6970, 6971)),
        ("RTP/AVP;mode=record;client_port=1-2;unicast", lambda t: t.is_record and t.client_port == (1, 2)),
        ("RTP/AVP/UDP;unicast;destination=10.0.0.1;x-vendor=1", lambda t: t.destination == "10.0.0.1" and t.extra == (("x-vendor", "1"),)),
    ],
    ids=["camera-ssrc-spaces-odd-hex-one-port", "ffmpeg-listen-mode-receive", "empty-source", "any-order", "unknown-kept"],
)
def test_transport_real_world_variants(text: str, check: object) -> None:
    [t] = parse_transport(text)
    assert check(t)  # type: ignore[operator]


def test_transport_formats_and_reparses() -> None:
    t = TransportSpec(lower_transport="TCP", interleaved=(2, 3), mode="RECORD", ssrc=0xDEADBEEF)
    text = format_transport(t)
    assert text == "RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=DEADBEEF;mode=RECORD"
    assert parse_transport(text) == [t]
    u = TransportSpec(client_port=(5000, 5001)).with_(server_port=(7000, 7001))
    assert str(u) == "RTP/AVP;unicast;client_port=5000-5001;server_port=7000-7001"


@pytest.mark.parametrize("text", ["", "garbage", "RTP/AVP;client_port=a-b", "RTP/AVP;interleaved=0-300", "RTP/AVP;ssrc=xyz"])
def test_transport_errors(text: str) -> None:
    with pytest.raises(ParseError):
        parse_transport(text)


def test_session_header() -> None:
    assert SessionHeader.parse("12345678;timeout=60") == SessionHeader("12345678", 60)
    assert SessionHeader.parse("47112344") == SessionHeader("47112344", None)
    assert str(SessionHeader("a", 30)) == "a;timeout=30"
    with pytest.raises(ParseError):
        SessionHeader.parse("x;timeout=abc")


def test_range() -> None:
    r = Range.parse("npt=0.000-")
    assert r.start_seconds == 0 and r.end_seconds is None and str(r) == "npt=0.000-"
    assert Range.parse("npt=now-").start_seconds is None
    assert Range.parse("npt=1:02:03.5-4000").start_seconds == 3723.5
    c = Range.parse("clock=19961108T142300Z-19961108T143520Z")
    assert c.unit == "clock" and c.start == "19961108T142300Z"
    s = Range.parse("smpte=10:07:00-10:07:33:05.01;time=19970123T143720Z")
    assert s.unit == "smpte" and s.time == "19970123T143720Z"
    for bad in ("npt", "foo=1-2", "npt=abc-"):
        with pytest.raises(ParseError):
            Range.parse(bad)


def test_rtp_info() -> None:
    # RFC 2326 section 12.33 example.
    entries = parse_rtp_info("url=rtsp://foo.com/bar.avi/streamid=0;seq=45102, url=rtsp://foo.com/bar.avi/streamid=1;seq=30211")
    assert entries == [RtpInfo("rtsp://foo.com/bar.avi/streamid=0", 45102), RtpInfo("rtsp://foo.com/bar.avi/streamid=1", 30211)]
    text = format_rtp_info([RtpInfo("rtsp://h/a/trackID=0", 1, 2)])
    assert text == "url=rtsp://h/a/trackID=0;seq=1;rtptime=2" and parse_rtp_info(text)[0].rtptime == 2


def test_public() -> None:
    assert parse_public("DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE,get_parameter") == [
        "DESCRIBE", "SETUP", "TEARDOWN", "PLAY", "PAUSE", "GET_PARAMETER"]


@pytest.mark.parametrize(
    "base,control,expected",
    [
        ("rtsp://h/live.sdp", "streamid=0", "rtsp://h/live.sdp/streamid=0"),  # FFmpeg
        ("rtsp://h/live/", "trackID=1", "rtsp://h/live/trackID=1"),
        ("rtsp://h:554/a?token=1", "streamid=0", "rtsp://h:554/a?token=1/streamid=0"),  # FFmpeg after a query
        ("rtsp://h/a", "rtsp://other/x", "rtsp://other/x"),
        ("rtsp://h/a", "*", "rtsp://h/a"),
        ("rtsp://h/a", None, "rtsp://h/a"),
        ("rtsp://h", "trackID=0", "rtsp://h/trackID=0"),
        ("rtsp://h/a/b", "/c", "rtsp://h/c"),
    ],
)
def test_resolve_control(base: str, control: str | None, expected: str) -> None:
    assert resolve_control(base, control) == expected


@given(st.text(max_size=120))
def test_random_header_text_raises_only_protocol_errors(text: str) -> None:
    for parse in (parse_transport, SessionHeader.parse, Range.parse, parse_rtp_info):
        try:
            parse(text)  # type: ignore[operator]
        except ProtocolError:
            pass
