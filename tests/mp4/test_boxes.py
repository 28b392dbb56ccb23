"""The box codec: byte vectors worked out from ISO/IEC 14496-12 (and 14496-1 for ``esds``, the
Opus-in-ISOBMFF spec for ``dOps``), write/read round trips, unknown boxes kept byte for byte, and
the limits and errors of untrusted input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.codecs.aac import AudioSpecificConfig
from mediaproto.codecs.opus import OpusHead
from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from mediaproto.mp4 import (
    NON_SYNC_SAMPLE_FLAGS,
    SYNC_SAMPLE_FLAGS,
    AudioSampleEntry,
    ContainerBox,
    DataReferenceBox,
    EditListBox,
    EsDescriptor,
    ESDBox,
    FileTypeBox,
    HandlerBox,
    Limits,
    MediaDataBox,
    MediaHeaderBox,
    MovieFragmentHeaderBox,
    MovieHeaderBox,
    OpusSpecificBox,
    ProducerReferenceTimeBox,
    RawBox,
    SegmentIndexBox,
    SegmentTypeBox,
    SidxReference,
    TrackExtendsBox,
    TrackFragmentBaseMediaDecodeTimeBox,
    TrackFragmentHeaderBox,
    TrackHeaderBox,
    TrackRunBox,
    TrunSample,
    VisualSampleEntry,
    build_init_segment,
    parse_boxes,
    sample_flags,
)
from mediaproto.mp4.movie import language_code, language_name

from ._tracks import AAC, H264, H265, OPUS


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


# bytes <-> value, shared by the encoder and decoder tests (layouts from the standards' syntax)
CASES = [
    (box(b"mfhd", bytes.fromhex("00000000 00000005")), MovieFragmentHeaderBox(5)),
    (box(b"tfdt", bytes.fromhex("01000000 0000000100000000")), TrackFragmentBaseMediaDecodeTimeBox(1 << 32)),
    (box(b"tfdt", bytes.fromhex("00000000 00001234")), TrackFragmentBaseMediaDecodeTimeBox(0x1234, version=0)),
    (box(b"tfhd", bytes.fromhex("00020000 00000001")), TrackFragmentHeaderBox(1)),
    (box(b"tfhd", bytes.fromhex("00020008 00000003 00000400")),
     TrackFragmentHeaderBox.build(3, default_sample_duration=1024)),
    (box(b"tfhd", bytes.fromhex("00000001 00000001 0000000000000abc")),
     TrackFragmentHeaderBox.build(1, default_base_is_moof=False, base_data_offset=0xABC)),
    # v1 trun: data offset 100, one sample: duration 512, size 300, flags non-sync, offset -512
    (box(b"trun", bytes.fromhex("01000f01 00000001 00000064 00000200 0000012c 01010000 fffffe00")),
     TrackRunBox.build((TrunSample(512, 300, NON_SYNC_SAMPLE_FLAGS, -512),), data_offset=100)),
    # v0 trun, sizes only, first_sample_flags
    (box(b"trun", bytes.fromhex("00000205 00000002 00000010 02000000 00000007 00000009")),
     TrackRunBox.build((TrunSample(None, 7), TrunSample(None, 9)), data_offset=16,
                       first_sample_flags=SYNC_SAMPLE_FLAGS)),
    (box(b"ftyp", b"iso6" + bytes(4) + b"iso6mp41"), FileTypeBox(b"iso6", 0, (b"iso6", b"mp41"))),
    (box(b"styp", b"msdh" + bytes(4) + b"msdh"), SegmentTypeBox(b"msdh", 0, (b"msdh",))),
    (box(b"mdat", b"abc"), MediaDataBox(b"abc")),
    (box(b"abcd", b"\x01\x02\x03"), RawBox(b"abcd", b"\x01\x02\x03")),
    (box(b"trex", bytes.fromhex("00000000 00000002 00000001 00000000 00000000 02000000")),
     TrackExtendsBox(2, default_sample_flags=SYNC_SAMPLE_FLAGS)),
    (box(b"mdhd", bytes.fromhex("00000000 00000000 00000000 0000bb80 00000000 55c40000")),
     MediaHeaderBox(timescale=48000)),
    (box(b"hdlr", bytes(8) + b"soun" + bytes(12) + b"SoundHandler\x00"),
     HandlerBox(b"soun", b"SoundHandler\x00")),
    (box(b"prft", bytes.fromhex("01000000 00000001 e000000000000000 0000000000000400")),
     ProducerReferenceTimeBox(1, 0xE0 << 56, 1024)),
    (box(b"sidx", bytes.fromhex("00000000 00000001 00015f90 00000000 00000000 0000 0001")
         + bytes.fromhex("00001000 0002bf20 90000000")),
     SegmentIndexBox(1, 90000, 0, 0, (SidxReference(0, 4096, 180000, 1, 1, 0),))),
    (box(b"elst", bytes.fromhex("00000000 00000001 00000015 ffffffff 00010000")),
     EditListBox(((21, -1, 1, 0),))),
    (box(b"moof", box(b"mfhd", bytes.fromhex("00000000 00000001"))),
     ContainerBox(b"moof", (MovieFragmentHeaderBox(1),))),
]


@pytest.mark.parametrize(("raw", "value"), CASES, ids=[c[0][4:8].decode() for c in CASES])
def test_known_bytes(raw: bytes, value: object) -> None:
    assert parse_boxes(raw) == (value,)
    assert bytes(value) == raw  # type: ignore[call-overload]


def test_sample_flags_bits() -> None:
    # section 8.8.3.1: sample_depends_on at bits 25-24, sample_is_non_sync_sample at bit 16
    assert SYNC_SAMPLE_FLAGS == 0x02000000
    assert NON_SYNC_SAMPLE_FLAGS == 0x01010000
    assert sample_flags(is_leading=3, sample_degradation_priority=0xFFFF) == 0x0C00FFFF


def test_language_und() -> None:
    # ISO-639-2/T "und": each letter minus 0x60 in 5 bits -> 10101 01110 00100
    assert language_code("und") == 0x55C4
    assert language_name(0x55C4) == "und"


def test_esds_layout_of_14496_1() -> None:
    # ES_Descriptor(ES_ID 0, DecoderConfigDescriptor(0x40, audio stream, DSI 11 90), SLConfig 2)
    expected = bytes.fromhex("0319 0000 00 0411 40 15 000000 00000000 00000000 0502 1190 0601 02")
    esds = ESDBox.from_descriptor(EsDescriptor(decoder_specific_info=b"\x11\x90"))
    assert esds.data == expected
    assert esds.descriptor.decoder_specific_info == b"\x11\x90"
    # FFmpeg writes descriptor lengths as four bytes (80 80 80 nn): the same fields come out
    long_form = bytes.fromhex("0380808022 0002 00 0480808014 40 15 000300 0001f400 0001f400 0580808002 1190"
                              " 0680808001 02")
    parsed = parse_boxes(box(b"esds", bytes(4) + long_form))[0]
    assert isinstance(parsed, ESDBox)
    assert parsed.descriptor == EsDescriptor(2, 0x40, 5, b"\x11\x90", 0x300, 128000, 128000)
    assert bytes(parsed) == box(b"esds", bytes(4) + long_form)


def test_dops_is_opushead_big_endian() -> None:
    head = OpusHead.stereo()
    dops = OpusSpecificBox.from_opus_head(head)
    # Version 0, 2 channels, PreSkip 312, InputSampleRate 48000, OutputGain 0, family 0
    assert dops.payload() == bytes.fromhex("00 02 0138 0000bb80 0000 00")
    assert dops.to_opus_head() == head
    multi = OpusHead(6, 312, 48000, -256, 1, 4, 2, bytes([0, 4, 1, 2, 3, 5]))
    parsed = parse_boxes(bytes(OpusSpecificBox.from_opus_head(multi)))[0]
    assert isinstance(parsed, OpusSpecificBox) and parsed.to_opus_head() == multi


def test_largesize_and_size_zero() -> None:
    large = struct.pack(">I4sQ", 1, b"mdat", 19) + b"abc"
    assert parse_boxes(large) == (MediaDataBox(b"abc"),)
    to_end = struct.pack(">I4s", 0, b"free") + b"xyz"
    assert parse_boxes(box(b"mdat", b"") + to_end) == (MediaDataBox(b""), RawBox(b"free", b"xyz"))


def test_unknown_boxes_inside_known_containers_round_trip() -> None:
    udta = box(b"udta", box(b"meta", b"\x00" * 12))
    trak = box(b"trak", box(b"tkhd", bytes(TrackHeaderBox(track_ID=7))[8:]) + udta + box(b"\xa9too", b"x"))
    data = box(b"moov", trak)
    parsed = parse_boxes(data)
    assert bytes(parsed[0]) == data
    assert isinstance(parsed[0], ContainerBox)
    assert parsed[0].containers(b"trak")[0].first(TrackHeaderBox) == TrackHeaderBox(track_ID=7)


@pytest.mark.parametrize("track", [H264, H265, AAC, OPUS], ids=lambda t: t.codec.value)
def test_init_segment_round_trips_byte_exact(track: object) -> None:
    data = build_init_segment([track])  # type: ignore[list-item]
    assert b"".join(bytes(b) for b in parse_boxes(data)) == data


def test_sample_entries_carry_the_records() -> None:
    moov = parse_boxes(build_init_segment([H264, AAC]))[1]
    assert isinstance(moov, ContainerBox)
    entries = [b for b in moov.walk() if isinstance(b, (VisualSampleEntry, AudioSampleEntry))]
    video, audio = entries
    assert isinstance(video, VisualSampleEntry) and isinstance(audio, AudioSampleEntry)
    assert (video.format, video.width, video.height) == (b"avc1", 160, 120)
    assert video.avcc is not None and video.avcc.record.parameter_sets == H264.parameter_sets
    assert audio.format == b"mp4a" and audio.sample_rate == 48000 and audio.channelcount == 2
    assert audio.esds is not None
    assert AudioSpecificConfig.parse(audio.esds.descriptor.decoder_specific_info).sample_rate == 48000


# -- round trips of generated values -------------------------------------------------------------

u32 = st.integers(0, 0xFFFFFFFF)
u16 = st.integers(0, 0xFFFF)
s32 = st.integers(-(1 << 31), (1 << 31) - 1)
brand = st.binary(min_size=4, max_size=4)


@st.composite
def truns(draw: st.DrawFn) -> TrackRunBox:
    version = draw(st.integers(0, 1))
    present = draw(st.lists(st.booleans(), min_size=4, max_size=4))
    n = draw(st.integers(0, 20))
    samples = tuple(TrunSample(*[draw(s32 if (i == 3 and version) else u32) if p else None
                                 for i, p in enumerate(present)]) for _ in range(n))
    flags = draw(st.sampled_from([0, 1, 4, 5])) | sum(b for b, p in zip((0x100, 0x200, 0x400, 0x800), present) if p)
    return TrackRunBox(samples, flags, draw(s32) if flags & 1 else None, draw(u32) if flags & 4 else None, version)


@st.composite
def tfhds(draw: st.DrawFn) -> TrackFragmentHeaderBox:
    fields = {name: draw(st.none() | (st.integers(0, (1 << 64) - 1) if name == "base_data_offset" else u32))
              for name in ("base_data_offset", "sample_description_index", "default_sample_duration",
                           "default_sample_size", "default_sample_flags")}
    return TrackFragmentHeaderBox.build(draw(u32), default_base_is_moof=draw(st.booleans()),
                                        duration_is_empty=draw(st.booleans()), **fields)


boxes = st.one_of(
    truns(), tfhds(),
    st.builds(MovieFragmentHeaderBox, u32),
    st.builds(TrackFragmentBaseMediaDecodeTimeBox, u32, st.just(0)),
    st.builds(TrackFragmentBaseMediaDecodeTimeBox, st.integers(0, (1 << 64) - 1), st.just(1)),
    st.builds(FileTypeBox, brand, u32, st.lists(brand, max_size=5).map(tuple)),
    st.builds(MovieHeaderBox, u32, u32, u32, u32, u32),
    st.builds(TrackHeaderBox, u32, st.integers(0, (1 << 64) - 1), u32, u32, version=st.just(1)),
    st.builds(MediaHeaderBox, u32, u32, st.integers(0, 0x7FFF)),
    st.builds(HandlerBox, brand, st.binary(max_size=20)),
    st.builds(TrackExtendsBox, u32, u32, u32, u32, u32),
    st.builds(MediaDataBox, st.binary(max_size=50)),
    st.builds(RawBox, st.sampled_from([b"abcd", b"udta", b"free", b"\xa9too", b"btrt", b"emsg"]),
              st.binary(max_size=30)),
    st.builds(ProducerReferenceTimeBox, u32, st.integers(0, (1 << 64) - 1), u32, st.sampled_from([0, 1])),
    st.builds(SegmentIndexBox, u32, u32, u32, u32, st.lists(st.builds(
        SidxReference, st.integers(0, 1), st.integers(0, 0x7FFFFFFF), u32, st.integers(0, 1), st.integers(0, 7),
        st.integers(0, 0x0FFFFFFF)), max_size=4).map(tuple)),
    st.builds(EditListBox, st.lists(st.tuples(u32, s32, st.integers(-0x8000, 0x7FFF), st.integers(-0x8000, 0x7FFF)),
                                    max_size=3).map(tuple)),
    st.builds(DataReferenceBox),
)


@given(boxes)
def test_write_read_round_trip(value: object) -> None:
    raw = bytes(value)  # type: ignore[call-overload]
    parsed = parse_boxes(raw)
    assert parsed == (value,)
    assert bytes(parsed[0]) == raw


# -- untrusted input -------------------------------------------------------------------------------

SAMPLE = build_init_segment([H264, AAC])


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    try:
        parse_boxes(data)
    except ProtocolError:
        pass


@given(st.data())
def test_mutated_init_segment_raises_only_protocol_errors(data: st.DataObject) -> None:
    raw = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        parse_boxes(bytes(raw[:cut]))
    except ProtocolError:
        pass


def test_errors_carry_offsets() -> None:
    with pytest.raises(ParseError) as err:
        parse_boxes(box(b"free", b"") + struct.pack(">I4s", 100, b"mdat") + b"x")
    assert err.value.offset == 8
    with pytest.raises(ParseError) as err:
        parse_boxes(box(b"moov", box(b"mvhd", bytes(10))))
    assert err.value.offset is not None and 16 <= err.value.offset <= 26
    with pytest.raises(ParseError):
        parse_boxes(struct.pack(">I4s", 4, b"free"))  # size below the header


def test_limits() -> None:
    deep = b"x"
    for _ in range(20):
        deep = box(b"moov", deep) if deep != b"x" else box(b"free", b"")
    with pytest.raises(LimitExceeded):
        parse_boxes(deep)
    with pytest.raises(LimitExceeded):
        parse_boxes(box(b"free", b"") * 5, limits=Limits(max_children=4))
    trun = bytes(TrackRunBox.build(tuple(TrunSample(1, 1) for _ in range(10))))
    with pytest.raises(LimitExceeded):
        parse_boxes(trun, limits=Limits(max_samples_per_trun=9))
    huge_count = box(b"stts", bytes(4) + struct.pack(">I", 1 << 30))
    with pytest.raises(ProtocolError):
        parse_boxes(huge_count)


def test_writer_refuses_bad_fields() -> None:
    with pytest.raises(LocalProtocolError):
        bytes(TrackFragmentBaseMediaDecodeTimeBox(1 << 32, version=0))
    with pytest.raises(LocalProtocolError):
        bytes(TrackRunBox((TrunSample(None, 1),), flags=0x100 | 0x200, data_offset=None))
    with pytest.raises(LocalProtocolError):
        bytes(FileTypeBox(b"abc"))
