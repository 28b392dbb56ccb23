from __future__ import annotations

import pytest

from mediaproto import Codec
from mediaproto.errors import ParseError
from mediaproto.rtp.payload import AacDepacketizer, H264Depacketizer, LatmDepacketizer
from mediaproto.rtsp.streams import make_depacketizer, tracks_from_sdp

HEAD = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n"


def test_unsupported_media_are_skipped_not_fatal() -> None:
    sdp = (HEAD + "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 MP4A-LATM/44100/2\r\na=fmtp:96 cpresent=1\r\n"
           "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n"
           "m=video 0 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\na=control:trackID=1\r\n")
    _, media = tracks_from_sdp(sdp)
    assert [(m.track.id, m.track.codec, m.control) for m in media] == [(0, Codec.H264, "trackID=1")]
    assert isinstance(make_depacketizer(media[0]), H264Depacketizer)
    with pytest.raises(ParseError):
        tracks_from_sdp(HEAD + "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n")


def test_depacketizer_follows_rtpmap_and_fmtp() -> None:
    sdp = (HEAD + "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 MP4A-LATM/44100/2\r\n"
           "a=fmtp:96 cpresent=0;config=400024203fc0\r\n"
           "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 mpeg4-generic/48000/2\r\n"
           "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190\r\n")
    _, media = tracks_from_sdp(sdp)
    assert isinstance(make_depacketizer(media[0]), LatmDepacketizer)
    assert isinstance(make_depacketizer(media[1]), AacDepacketizer)
