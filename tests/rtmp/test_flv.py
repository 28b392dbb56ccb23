"""FLV files: header and tag reader/writer against FFmpeg's ref.flv, random splits, limits, fuzz."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtmp import Limits
from mediaproto.rtmp.flv import (
    TAG_AUDIO,
    TAG_SCRIPT,
    TAG_VIDEO,
    FlvHeader,
    FlvReader,
    FlvTag,
    FlvWriter,
    read_flv,
)


@pytest.fixture(scope="module")
def ref_flv(vectors: Path) -> bytes:
    return (vectors / "ref.flv").read_bytes()


def test_header_spec_bytes() -> None:
    # "FLV", version 1, flags 0b101 (audio + video), DataOffset 9 (FLV spec E.2)
    raw = b"FLV\x01\x05\x00\x00\x00\x09"
    header = FlvHeader.parse(raw)
    assert header == FlvHeader(has_audio=True, has_video=True, version=1, data_offset=9)
    assert header.to_bytes() == raw
    assert FlvHeader(has_audio=False, has_video=True).to_bytes() == b"FLV\x01\x01\x00\x00\x00\x09"


def test_tag_header_with_timestamp_extended() -> None:
    # timestamp 0x12345678: lower 24 bits 0x345678, then TimestampExtended 0x12
    tag = FlvTag(TAG_VIDEO, 0x12345678, 0, b"abc")
    assert tag.header_bytes() == b"\x09\x00\x00\x03\x34\x56\x78\x12\x00\x00\x00"
    assert tag.to_bytes() == tag.header_bytes() + b"abc" + (14).to_bytes(4, "big")


def test_ref_flv_tags(ref_flv: bytes) -> None:
    header, tags = read_flv(ref_flv)
    assert header.has_audio and header.has_video
    counts = Counter(t.tag_type for t in tags)
    # ffprobe: 100 video and 189 audio packets; plus the two sequence headers, the AVC end of
    # sequence and onMetaData, which are tags but not packets
    assert counts == {TAG_VIDEO: 102, TAG_AUDIO: 190, TAG_SCRIPT: 1}


def test_ref_flv_sizes_and_times_match_ffprobe(ref_flv: bytes, vectors: Path) -> None:
    _, tags = read_flv(ref_flv)
    rows = list(csv.reader((vectors / "ref.flv.packets.csv").open()))
    media = []
    for t in tags:
        if t.tag_type == TAG_AUDIO and t.data[1] == 1:  # AAC raw: 2 header bytes
            media.append((1, t.timestamp, len(t.data) - 2))
        elif t.tag_type == TAG_VIDEO and t.data[1] == 1:  # AVC NALU: 5 header bytes
            media.append((0, t.timestamp, len(t.data) - 5))
    expected = [(int(r[0]), int(r[2]), int(r[3])) for r in rows]
    assert sorted(media) == sorted(expected)


def test_ref_flv_writes_back_identically(ref_flv: bytes) -> None:
    header, tags = read_flv(ref_flv)
    assert FlvWriter(header.has_audio, header.has_video).write_all(tags) == ref_flv


@given(st.lists(st.integers(1, 5000), max_size=40))
def test_any_split(cuts: list[int]) -> None:
    data = _small_flv()
    reader = FlvReader()
    tags = []
    pos = 0
    for n in cuts:
        tags += reader.feed(data[pos : pos + n])
        pos += n
    tags += reader.feed(data[pos:])
    assert reader.flush() == []
    assert tags == _SMALL_TAGS


_SMALL_TAGS = [
    FlvTag(TAG_SCRIPT, 0, 0, b"\x02\x00\x0aonMetaData\x05"),
    FlvTag(TAG_VIDEO, 0, 0, b"\x17\x00\x00\x00\x00" + bytes(range(40))),
    FlvTag(TAG_AUDIO, 0xFFFFFF + 5, 0, b"\xaf\x01" + b"x" * 300),
    FlvTag(TAG_VIDEO, 2**32 - 1, 0, b""),
]


def _small_flv() -> bytes:
    return FlvWriter().write_all(_SMALL_TAGS)


def test_ref_flv_byte_by_byte(ref_flv: bytes) -> None:
    reader = FlvReader()
    count = 0
    view = memoryview(ref_flv)
    for i in range(0, 20000):
        count += len(reader.feed(view[i : i + 1]))
    count += len(reader.feed(view[20000:]))
    count += len(reader.flush())
    assert count == 293


def test_previous_tag_size_checked() -> None:
    data = bytearray(_small_flv())
    first_prev = 9 + 4 + 11 + len(_SMALL_TAGS[0].data)
    data[first_prev + 3] ^= 1
    with pytest.raises(ParseError) as info:
        FlvReader().feed(bytes(data))
    assert info.value.offset == first_prev
    lenient = FlvReader(check_previous_tag_size=False)
    assert lenient.feed(bytes(data)) == _SMALL_TAGS


def test_errors() -> None:
    with pytest.raises(ParseError):
        FlvReader().feed(b"FLX\x01\x05\x00\x00\x00\x09")
    with pytest.raises(ParseError):
        FlvReader().feed(b"FLV\x01\x05\x00\x00\x00\x02")
    with pytest.raises(LimitExceeded):
        FlvReader(Limits(max_flv_tag_size=100)).feed(_small_flv())
    reader = FlvReader()
    reader.feed(_small_flv()[:30])
    with pytest.raises(ParseError):
        reader.flush()
    bad = FlvReader()
    with pytest.raises(ParseError):
        bad.feed(b"NOPE" * 4)
    with pytest.raises(LocalProtocolError):
        bad.feed(b"")
    with pytest.raises(LocalProtocolError):
        FlvTag(TAG_VIDEO, 0, 0, b"x" * (1 << 24)).to_bytes()


def test_data_offset_beyond_nine_skips_extra_header_bytes() -> None:
    body = FlvWriter().write_all(_SMALL_TAGS)[9:]
    data = b"FLV\x01\x05\x00\x00\x00\x0cXYZ" + body
    assert read_flv(data)[1] == _SMALL_TAGS


def test_missing_last_previous_tag_size_is_tolerated() -> None:
    data = _small_flv()[:-4]
    assert read_flv(data)[1] == _SMALL_TAGS


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_protocol_errors(raw: bytes) -> None:
    try:
        read_flv(b"FLV\x01\x05\x00\x00\x00\x09" + raw)
    except ProtocolError:
        pass


@given(st.data())
def test_mutated_bytes_raise_only_protocol_errors(data: st.DataObject) -> None:
    raw = bytearray(_small_flv())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        read_flv(bytes(raw))
    except ProtocolError:
        pass
