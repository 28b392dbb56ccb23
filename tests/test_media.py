from __future__ import annotations

import dataclasses

import pytest

from mediaproto import Codec, Frame, MediaKind, Track
from mediaproto.errors import LimitExceeded, LocalProtocolError, MediaProtoError, ParseError, ProtocolError


def test_codec_kinds() -> None:
    for name in ["H264", "H265", "AV1", "VP8", "VP9", "AAC", "OPUS", "MP3", "PCMU", "PCMA", "L16"]:
        assert hasattr(Codec, name)
    assert Codec.H264.kind is MediaKind.VIDEO and Codec.H264.uses_nal_units
    assert Codec.VP9.is_video and not Codec.VP9.uses_nal_units
    assert Codec.OPUS.is_audio and Codec.PCMU.kind is MediaKind.AUDIO
    assert Codec.MP2T.kind is MediaKind.MULTIPLEXED and not Codec.MP2T.is_audio and not Codec.MP2T.is_video


def test_track_and_frame() -> None:
    t = Track(id=1, codec=Codec.AAC, clock_rate=48000, config=b"\x11\x90", sample_rate=48000, channels=2)
    assert t.kind is MediaKind.AUDIO
    with pytest.raises(LocalProtocolError):
        Track(id=1, codec=Codec.AAC, clock_rate=0)
    f = Frame(track_id=0, pts=3003, dts=0, data=(b"\x67ab", b"\x68c", b"\x65" + bytes(10)), keyframe=True)
    assert f.size == 3 + 2 + 11
    assert f.composition_offset == 3003
    assert f.nal_units[0] == b"\x67ab"
    a = Frame(track_id=1, pts=0, dts=0, data=b"\x21\x00")
    assert a.nal_units == (b"\x21\x00",) and a.payload == b"\x21\x00" and a.size == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.pts = 1  # type: ignore[misc]
    assert f == Frame(0, 3003, 0, (b"\x67ab", b"\x68c", b"\x65" + bytes(10)), True)


def test_error_hierarchy_and_positions() -> None:
    assert issubclass(ParseError, ProtocolError) and issubclass(LimitExceeded, ProtocolError)
    assert issubclass(ProtocolError, MediaProtoError) and issubclass(LocalProtocolError, MediaProtoError)
    assert not issubclass(LocalProtocolError, ProtocolError)
    e = ParseError("bad chunk header", offset=12)
    assert e.offset == 12 and e.line is None and "offset 12" in str(e)
    e2 = ParseError("bad tag", line=3)
    assert e2.line == 3 and "line 3" in str(e2)
    assert str(ProtocolError("plain")) == "plain"
