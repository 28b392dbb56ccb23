"""The payload guide's examples and the modules' doctests run; the factory picks the right classes."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import mediaproto.rtp.payload as payload
from mediaproto.errors import LocalProtocolError, ParseError
from mediaproto.media import Codec, Track
from mediaproto.rtp.payload import aac, depacketizer_for, factory, g711, h264, h265, latm, mp2t, opus, packetizer_for

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "rtp_payload.rst"


def test_guide_examples() -> None:
    result = doctest.testfile(str(GUIDE), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


@pytest.mark.parametrize("module", [payload, aac, factory, g711, h264, h265, latm, mp2t, opus])
def test_module_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0


def test_factory() -> None:
    h264_track = Track(0, Codec.H264, 1000, parameter_sets=(b"\x67\x42", b"\x68\xce"))
    p = packetizer_for(h264_track, 96, ssrc=1)
    assert isinstance(p, payload.H264Packetizer)
    assert (p.clock_rate, p.track_clock_rate, p.insert_parameter_sets) == (90000, 1000, True)
    assert isinstance(packetizer_for(Track(1, Codec.AAC, 44100, sample_rate=44100), 97, 2), payload.AacPacketizer)
    assert packetizer_for(Track(1, Codec.OPUS, 48000), 111, 2).clock_rate == 48000
    assert packetizer_for(Track(1, Codec.PCMA, 8000), 8, 2).clock_rate == 8000
    assert isinstance(packetizer_for(Track(0, Codec.H265, 90000), 96, 1), payload.H265Packetizer)
    with pytest.raises(LocalProtocolError):
        packetizer_for(Track(0, Codec.VP8, 90000), 96, 1)

    d = depacketizer_for(Track(3, Codec.AAC, 16000), fmtp={"Mode": "AAC-lbr"})
    assert isinstance(d, payload.AacDepacketizer) and d.track_id == 3
    assert d._layout.size_length == 6
    h = depacketizer_for(Track(0, Codec.H265, 90000), fmtp={"sprop-max-don-diff": "2"})
    assert isinstance(h, payload.H265Depacketizer) and h.donl
    assert isinstance(depacketizer_for(Track(0, Codec.PCMU, 8000)), payload.G711Depacketizer)
    assert isinstance(depacketizer_for(Track(0, Codec.OPUS, 48000)), payload.OpusDepacketizer)
    assert isinstance(depacketizer_for(Track(0, Codec.H264, 90000)), payload.H264Depacketizer)
    with pytest.raises(ParseError):
        depacketizer_for(Track(3, Codec.AAC, 16000), fmtp={"sizelength": "x"})
    with pytest.raises(LocalProtocolError):
        depacketizer_for(Track(0, Codec.AV1, 90000))
    latm_track = Track(1, Codec.AAC, 48000)
    assert isinstance(depacketizer_for(latm_track, fmtp={"cpresent": "0"}, encoding_name="MP4A-LATM"), payload.LatmDepacketizer)
    with pytest.raises(LocalProtocolError):
        depacketizer_for(latm_track, fmtp={}, encoding_name="mp4a-latm")  # cpresent defaults to 1
