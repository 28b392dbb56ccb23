from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.codecs.opus import (
    OpusHead,
    OpusToc,
    frame_count,
    packet_duration,
    parse_packet,
    parse_toc,
)
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError

from .strategies import fuzz_input

# FFmpeg 5.1 + libopus into Ogg: the OpusHead packets (stereo family 0; 5.1 family 1).
FFMPEG_HEAD_STEREO = bytes.fromhex("4f707573486561640102380180bb0000000000")
FFMPEG_HEAD_51 = bytes.fromhex("4f707573486561640106380180bb00000000010402000401020305")

# (config, mode, bandwidth, samples per frame at 48 kHz): RFC 6716 section 3.1, table 2.
TOC_TABLE = [
    (0, "SILK", "NB", 480), (1, "SILK", "NB", 960), (2, "SILK", "NB", 1920), (3, "SILK", "NB", 2880),
    (5, "SILK", "MB", 960), (11, "SILK", "WB", 2880), (12, "Hybrid", "SWB", 480), (13, "Hybrid", "SWB", 960),
    (14, "Hybrid", "FB", 480), (15, "Hybrid", "FB", 960), (16, "CELT", "NB", 120), (17, "CELT", "NB", 240),
    (20, "CELT", "WB", 120), (26, "CELT", "SWB", 480), (28, "CELT", "FB", 120), (31, "CELT", "FB", 960),
]


@pytest.mark.parametrize("config,mode,bandwidth,size", TOC_TABLE)
def test_toc_table(config: int, mode: str, bandwidth: str, size: int) -> None:
    toc = parse_toc(bytes([config << 3 | 4]))
    assert (toc.config, toc.mode, toc.bandwidth, toc.frame_size, toc.stereo) == (config, mode, bandwidth, size, True)
    assert toc.to_byte() == config << 3 | 4
    assert packet_duration(bytes([config << 3])) == size


def test_frame_counts() -> None:
    # 0xFC: config 31 (CELT FB 20 ms), stereo, code 0: one frame, 960 samples.
    assert frame_count(b"\xfc\x00") == 1 and packet_duration(b"\xfc\x00") == 960
    assert frame_count(b"\xfd\x00\x00") == 2 and packet_duration(b"\xfd\x00\x00") == 1920
    assert frame_count(b"\xfe\x01\x00\x00") == 2
    # Code 3, M = 6 frames of 20 ms = 120 ms: the longest legal packet.
    assert frame_count(b"\xff\x06" + b"\x00" * 6) == 6 and packet_duration(b"\xff\x06" + b"\x00" * 6) == 5760
    with pytest.raises(ParseError):
        frame_count(b"\xff\x07" + b"\x00" * 7)  # 140 ms (R5)
    with pytest.raises(ParseError):
        frame_count(b"\xff\x00")  # M = 0 (R5)
    with pytest.raises(ParseError):
        frame_count(b"\xff")
    with pytest.raises(ParseError):
        packet_duration(b"")


def test_parse_packet_codes() -> None:
    assert parse_packet(b"\xf8abc").frames == (b"abc",)
    assert parse_packet(b"\xf9abcdef").frames == (b"abc", b"def")
    with pytest.raises(ParseError):
        parse_packet(b"\xf9abcde")  # R3: odd payload
    assert parse_packet(b"\xfa\x02abcde").frames == (b"ab", b"cde")
    with pytest.raises(ParseError):
        parse_packet(b"\xfa\x09abc")  # R4
    # Two-byte length: 252 + 4 * 1 = 256.
    p = parse_packet(b"\xfa\xfc\x01" + b"x" * 256 + b"yy")
    assert [len(f) for f in p.frames] == [256, 2]
    # Code 3 CBR, 3 frames, with padding: 0x43 = p bit + M 3; padding 255 (254) then 2 -> 256.
    body = b"aabbcc"
    p = parse_packet(b"\xfb\x43\xff\x02" + body + b"\x00" * 256)
    assert p.frames == (b"aa", b"bb", b"cc") and p.padding == 256
    with pytest.raises(ParseError):
        parse_packet(b"\xfb\x03" + b"abcd")  # R6: 4 bytes do not split into 3
    # Code 3 VBR: 0x83 = v bit + M 3; lengths 1 and 2, last gets the rest.
    p = parse_packet(b"\xfb\x83\x01\x02" + b"abbccc")
    assert p.frames == (b"a", b"bb", b"ccc") and p.duration == 3 * 960
    with pytest.raises(ParseError):
        parse_packet(b"\xfb\x83\x05\x05abc")  # R7
    with pytest.raises(ParseError):
        parse_packet(b"\xf8" + b"x" * 1276)  # R2


def test_opus_head_ffmpeg() -> None:
    head = OpusHead.parse(FFMPEG_HEAD_STEREO)
    assert (head.version, head.channel_count, head.pre_skip, head.input_sample_rate) == (1, 2, 312, 48000)
    assert (head.output_gain, head.channel_mapping_family, head.stream_count, head.coupled_count) == (0, 0, 1, 1)
    assert head.to_bytes() == FFMPEG_HEAD_STEREO
    assert OpusHead.stereo() == head
    six = OpusHead.parse(FFMPEG_HEAD_51)
    assert (six.channel_count, six.channel_mapping_family, six.stream_count, six.coupled_count) == (6, 1, 4, 2)
    assert six.channel_mapping == bytes([0, 4, 1, 2, 3, 5])
    assert six.to_bytes() == FFMPEG_HEAD_51


@pytest.mark.parametrize("raw", [
    b"", FFMPEG_HEAD_STEREO[:18], b"OpusTags" + FFMPEG_HEAD_STEREO[8:], FFMPEG_HEAD_STEREO[:8] + b"\x10" + FFMPEG_HEAD_STEREO[9:],
    FFMPEG_HEAD_STEREO[:9] + b"\x00" + FFMPEG_HEAD_STEREO[10:], FFMPEG_HEAD_STEREO[:9] + b"\x03" + FFMPEG_HEAD_STEREO[10:],
    FFMPEG_HEAD_51[:-1], FFMPEG_HEAD_51[:-1] + b"\x07", FFMPEG_HEAD_51[:19] + b"\x00\x00" + FFMPEG_HEAD_51[21:],
])
def test_opus_head_malformed(raw: bytes) -> None:
    with pytest.raises(ParseError):
        OpusHead.parse(raw)


@given(st.integers(1, 2), st.integers(0, 65535), st.integers(0, 2**32 - 1), st.integers(-32768, 32767))
def test_opus_head_round_trip(channels: int, pre_skip: int, rate: int, gain: int) -> None:
    head = OpusHead(channels, pre_skip, rate, gain, coupled_count=channels - 1)
    assert OpusHead.parse(head.to_bytes()) == head


def test_opus_head_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        OpusHead(2, pre_skip=70000).to_bytes()
    with pytest.raises(LocalProtocolError):
        OpusHead(3, channel_mapping_family=1, stream_count=2, coupled_count=1, channel_mapping=b"\x00").to_bytes()
    with pytest.raises(LocalProtocolError):
        OpusToc(32, False, 0).to_byte()


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=6), st.integers(0, 31), st.booleans(),
       st.integers(0, 300))
def test_code3_vbr_round_trip(frames: list[bytes], config: int, stereo: bool, padding: int) -> None:
    """Build a code 3 VBR packet by RFC 6716 section 3.2.5 and split it back."""
    toc = OpusToc(config, stereo, 3)
    if len(frames) * toc.frame_size > 5760:
        frames = frames[: 5760 // toc.frame_size]

    def length(n: int) -> bytes:
        return bytes([n]) if n < 252 else bytes([252 + (n - 252) % 4, (n - 252) // 4])

    pad = b""
    if padding:
        pad = b"\xff" * (padding // 254) + bytes([padding % 254])
    out = bytes([toc.to_byte(), 0x80 | (0x40 if padding else 0) | len(frames)]) + pad
    out += b"".join(length(len(f)) for f in frames[:-1]) + b"".join(frames) + b"\x00" * padding
    p = parse_packet(out)
    assert p.frames == tuple(frames) and p.padding == padding
    assert packet_duration(out) == len(frames) * toc.frame_size == p.duration


@given(fuzz_input([b"\xfb\x83\x01\x02abbccc", b"\xfa\x02abcde", b"\xfb\x43\xff\x02aabbcc" + bytes(256)]))
def test_packet_fuzz(data: bytes) -> None:
    try:
        p = parse_packet(data)
    except ProtocolError:
        return
    assert p.duration == packet_duration(data)


@given(fuzz_input([FFMPEG_HEAD_STEREO, FFMPEG_HEAD_51]))
def test_opus_head_fuzz(data: bytes) -> None:
    try:
        head = OpusHead.parse(data)
    except ProtocolError:
        return
    assert OpusHead.parse(head.to_bytes()) == head


@given(fuzz_input([b"\xff\x06" + bytes(6), b"\xfb\x83\x01\x02abbccc", b"\x00", b"\xfe\x01\x00"]))
def test_duration_fuzz(data: bytes) -> None:
    try:
        duration = packet_duration(data)
    except ProtocolError:
        return
    assert 0 < duration <= 5760
    assert frame_count(data) * parse_toc(data).frame_size == duration
