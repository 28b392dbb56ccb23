"""Stream types to codecs, the Opus control header (as FFmpeg writes it), Opus TOC durations
(RFC 6716 3.1) and MPEG audio frame splitting (ISO/IEC 11172-3 / 13818-3 header tables)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError, ProtocolError
from mediaproto.media import Codec
from mediaproto.mpegts.psi import Descriptor, PmtStream, registration_descriptor
from mediaproto.mpegts.streams import (
    codec_of,
    opus_control_header,
    opus_packet_samples,
    split_mpeg_audio,
    split_opus_payload,
)


@pytest.mark.parametrize(("stream", "codec"), [
    (PmtStream(0x1B, 0x100), Codec.H264),
    (PmtStream(0x24, 0x100), Codec.H265),
    (PmtStream(0x0F, 0x100), Codec.AAC),
    (PmtStream(0x03, 0x100), Codec.MP3),
    (PmtStream(0x04, 0x100), Codec.MP3),
    (PmtStream(0x81, 0x100), Codec.AC3),
    (PmtStream(0x87, 0x100), Codec.EAC3),
    (PmtStream(0x06, 0x100, (registration_descriptor(b"Opus"),)), Codec.OPUS),
    (PmtStream(0x06, 0x100, (Descriptor(0x6A, b"\x00"),)), Codec.AC3),
    (PmtStream(0x06, 0x100, (Descriptor(0x7A, b"\x00"),)), Codec.EAC3),
    (PmtStream(0x06, 0x100), None),  # teletext, subtitles ... not carried
    (PmtStream(0x11, 0x100), None),  # AAC in LATM
    (PmtStream(0x15, 0x100), None),  # ID3 metadata
])
def test_codec_of(stream: PmtStream, codec: Codec | None) -> None:
    assert codec_of(stream) is codec


@pytest.mark.parametrize(("size", "hexstr"), [
    (0, "7fe000"), (254, "7fe0fe"), (255, "7fe0ff00"), (300, "7fe0ff2d"), (510, "7fe0ffff00"),
])
def test_opus_control_header(size: int, hexstr: str) -> None:
    # au_size: 0xFF bytes then a last byte below 0xFF (FFmpeg's mpegtsenc loop)
    assert opus_control_header(size) == bytes.fromhex(hexstr)


def test_opus_control_header_trims() -> None:
    assert opus_control_header(10, trim_start=312) == bytes.fromhex("7ff00a0138")
    assert opus_control_header(10, trim_end=5) == bytes.fromhex("7fe80a0005")


def test_split_opus_payload() -> None:
    a, b = b"\xfc" + bytes(299), b"\x78\x01"
    data = opus_control_header(len(a), trim_start=312) + a + opus_control_header(len(b)) + b
    assert split_opus_payload(data) == [a, b]
    # control extension (flag 0x04): length byte and bytes skipped
    assert split_opus_payload(b"\x7f\xe4\x02\x03abcXY") == [b"XY"]
    with pytest.raises(ParseError):
        split_opus_payload(b"\x7e\xe0\x01a")
    with pytest.raises(ParseError):
        split_opus_payload(b"\x7f\xe0\x05ab")


@pytest.mark.parametrize(("packet", "samples"), [
    (bytes([0 << 3]), 480),              # SILK NB 10 ms
    (bytes([3 << 3]), 2880),             # SILK NB 60 ms
    (bytes([13 << 3]), 960),             # hybrid FB 20 ms
    (bytes([16 << 3]), 120),             # CELT NB 2.5 ms
    (bytes([31 << 3]), 960),             # CELT FB 20 ms
    (bytes([(31 << 3) | 1]), 1920),      # two frames
    (bytes([(31 << 3) | 3, 3]), 2880),   # code 3: frame count in the next byte
    (b"", 960),
])
def test_opus_packet_samples(packet: bytes, samples: int) -> None:
    assert opus_packet_samples(packet) == samples


@pytest.mark.parametrize(("header", "length", "samples", "rate"), [
    ("fffb9000", 417, 1152, 44100),  # MPEG-1 Layer III 128 kbit/s 44.1 kHz
    ("fffb9200", 418, 1152, 44100),  # the same with padding
    ("fff38000", 208, 576, 22050),   # MPEG-2 Layer III 64 kbit/s 22.05 kHz
    ("fffda400", 576, 1152, 48000),  # MPEG-1 Layer II 192 kbit/s 48 kHz
    ("ffff1000", 32, 384, 44100),    # MPEG-1 Layer I 32 kbit/s 44.1 kHz: (12*32000/44100)*4
])
def test_split_mpeg_audio(header: str, length: int, samples: int, rate: int) -> None:
    frame = bytes.fromhex(header) + bytes(length - 4)
    assert split_mpeg_audio(frame * 3) == [(frame, samples, rate)] * 3
    # trailing bytes join the last frame
    assert split_mpeg_audio(frame + b"xy") == [(frame + b"xy", samples, rate)]


def test_split_mpeg_audio_unsplittable() -> None:
    assert split_mpeg_audio(b"") == []
    assert split_mpeg_audio(b"\x00\x01\x02\x03") is None
    assert split_mpeg_audio(bytes.fromhex("fffb0000") + bytes(100)) is None  # free format


@given(st.binary(max_size=400))
def test_random_payloads(data: bytes) -> None:
    try:
        split_opus_payload(data)
    except ProtocolError:
        pass
    for raw in (data, b"\xff\xfb" + data):
        split_mpeg_audio(raw)
    opus_packet_samples(data)
