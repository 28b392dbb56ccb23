"""AMF0: a table of bytes <-> values from the specification's layouts, decode-only cases for what
real peers write, FFmpeg's own messages from the shared capture, round trips and fuzzing."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtmp import Limits, amf0, amf3
from mediaproto.rtmp.amftypes import UNDEFINED, UNSUPPORTED, EcmaArray, TypedObject, XmlDocument

from ._amfcapture import connect_body, metadata_body, result_body

UTC = dt.timezone.utc

# (bytes, value): written by hand from the AMF0 specification (section 2), used both ways.
CASES: list[tuple[str, bytes, object]] = [
    ("number 1.0", bytes.fromhex("00 3ff0000000000000"), 1.0),
    ("number -0.5", bytes.fromhex("00 bfe0000000000000"), -0.5),
    ("boolean true", b"\x01\x01", True),
    ("boolean false", b"\x01\x00", False),
    ("string", b"\x02\x00\x07connect", "connect"),
    ("empty string", b"\x02\x00\x00", ""),
    ("utf-8 string", b"\x02\x00\x03\xc3\xa9\xc3", None),  # placeholder replaced below
    ("null", b"\x05", None),
    ("undefined", b"\x06", UNDEFINED),
    ("unsupported", b"\x0d", UNSUPPORTED),
    ("object", b"\x03\x00\x03app\x02\x00\x04live\x00\x00\x09", {"app": "live"}),
    ("empty object", b"\x03\x00\x00\x09", {}),
    (
        "ecma array",
        b"\x08\x00\x00\x00\x01\x00\x05width\x00" + struct.pack(">d", 320.0) + b"\x00\x00\x09",
        EcmaArray(width=320.0),
    ),
    ("strict array", b"\x0a\x00\x00\x00\x02\x00" + struct.pack(">d", 1.0) + b"\x05", [1.0, None]),
    ("date", b"\x0b" + struct.pack(">d", 1_000_000_000_000.0) + b"\x00\x00",
     dt.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)),
    ("xml document", b"\x0f\x00\x00\x00\x04<a/>", XmlDocument("<a/>")),
    ("typed object", b"\x10\x00\x03Foo\x00\x01x\x01\x01\x00\x00\x09", TypedObject("Foo", {"x": True})),
    ("avm+ bytearray", b"\x11\x0c\x07abc", b"abc"),
]
CASES[6] = ("utf-8 string", "\u00e9\u00e8".encode().join([b"\x02\x00\x04", b""]), "\u00e9\u00e8")


@pytest.mark.parametrize("name,raw,value", CASES, ids=[c[0] for c in CASES])
def test_decode_table(name: str, raw: bytes, value: object) -> None:
    got = amf0.loads(raw)
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize("name,raw,value", CASES, ids=[c[0] for c in CASES])
def test_encode_table(name: str, raw: bytes, value: object) -> None:
    assert amf0.dumps(value) == raw


# Decode-only: what real peers write that the encoder never does.
DECODE_ONLY: list[tuple[str, bytes, object]] = [
    # FFmpeg writes the count; some encoders write 0: the count is only a hint.
    ("ecma array count 0 (hint only)", b"\x08\x00\x00\x00\x00\x00\x01a\x05\x00\x00\x09", EcmaArray(a=None)),
    ("ecma array count too big", b"\x08\x00\x00\x00\x09\x00\x01a\x05\x00\x00\x09", EcmaArray(a=None)),
    ("date with a time zone", b"\x0b" + struct.pack(">d", 0.0) + b"\xff\x88", dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ("long string", b"\x0c\x00\x00\x00\x02hi", "hi"),
    ("boolean 2 is true", b"\x01\x02", True),
    ("int encodes as number", amf0.dumps(3), 3.0),
    ("avm+ integer", b"\x11\x04\x05", 5),
    ("avm+ object", b"\x11\x0a\x0b\x01\x03a\x04\x01\x01", {"a": 1}),
]


@pytest.mark.parametrize("name,raw,value", DECODE_ONLY, ids=[c[0] for c in DECODE_ONLY])
def test_decode_only(name: str, raw: bytes, value: object) -> None:
    assert amf0.loads(raw) == value


def test_int_decodes_as_float() -> None:
    assert type(amf0.loads(amf0.dumps(7))) is float


def test_long_string_marker_above_65535_bytes() -> None:
    text = "x" * 65536
    raw = amf0.dumps(text)
    assert raw[:5] == b"\x0c\x00\x01\x00\x00"
    assert amf0.loads(raw) == text
    assert amf0.dumps("x" * 65535)[:3] == b"\x02\xff\xff"


def test_references_resolve_to_the_same_object() -> None:
    # [obj, ref 1]: the strict array itself is entry 0 of the table, the object entry 1.
    raw = b"\x0a\x00\x00\x00\x02\x03\x00\x01a\x05\x00\x00\x09\x07\x00\x01"
    value = amf0.loads(raw)
    assert value == [{"a": None}, {"a": None}]
    assert value[0] is value[1]
    assert amf0.dumps(value) == raw


def test_reference_cycle() -> None:
    raw = b"\x03\x00\x04self\x07\x00\x00\x00\x00\x09"
    value = amf0.loads(raw)
    assert value["self"] is value
    assert amf0.dumps(value) == raw


def test_dumps_all_loads_all() -> None:
    values = ["createStream", 2.0, None]
    raw = amf0.dumps_all(values)
    assert raw == b"\x02\x00\x0ccreateStream\x00" + struct.pack(">d", 2.0) + b"\x05"
    assert amf0.loads_all(raw) == values
    assert amf0.loads_all(b"") == []


# Captured from FFmpeg 5.1 publishing ref.flv: expected values are what FFmpeg's rtmpproto.c and
# flvenc.c write for this clip (README of the vectors and ffprobe of ref.flv).


def test_ffmpeg_connect(vectors) -> None:  # type: ignore[no-untyped-def]
    body = connect_body(vectors)
    assert amf0.loads_all(body) == [
        "connect",
        1.0,
        {
            "app": "live",
            "type": "nonprivate",
            "flashVer": "FMLE/3.0 (compatible; Lavf59.27.100)",
            "tcUrl": "rtmp://127.0.0.1:19350/live",
        },
    ]
    assert amf0.dumps_all(amf0.loads_all(body)) == body


def test_ffmpeg_connect_result(vectors) -> None:  # type: ignore[no-untyped-def]
    body = result_body(vectors)
    name, tid, props, info = amf0.loads_all(body)
    assert (name, tid) == ("_result", 1.0)
    assert props["fmsVer"] == "FMS/3,0,1,123"
    assert info["code"] == "NetConnection.Connect.Success"
    assert info["objectEncoding"] == 0.0
    assert amf0.dumps_all([name, tid, props, info]) == body


def test_ffmpeg_set_data_frame(vectors) -> None:  # type: ignore[no-untyped-def]
    body = metadata_body(vectors)
    head, name, meta = amf0.loads_all(body)
    assert (head, name) == ("@setDataFrame", "onMetaData")
    assert isinstance(meta, EcmaArray)
    assert meta["width"] == 320.0 and meta["height"] == 240.0
    assert meta["framerate"] == 25.0
    assert meta["videocodecid"] == 7.0 and meta["audiocodecid"] == 10.0
    assert meta["audiosamplerate"] == 48000.0 and meta["stereo"] is True
    assert meta["encoder"] == "Lavf59.27.100"
    assert amf0.dumps_all([head, name, meta]) == body


# Errors.

ERRORS: list[tuple[str, bytes, type[ProtocolError], int]] = [
    ("empty", b"", ParseError, 0),
    ("movieclip reserved", b"\x04", ParseError, 0),
    ("recordset reserved", b"\x0e", ParseError, 0),
    ("unknown marker", b"\x12", ParseError, 0),
    ("object end alone", b"\x09", ParseError, 0),
    ("truncated number", b"\x00\x3f\xf0", ParseError, 1),
    ("truncated string", b"\x02\x00\x05ab", ParseError, 3),
    ("object without end", b"\x03\x00\x01a\x05", ParseError, 5),
    ("bad utf-8", b"\x02\x00\x02\xff\xfe", ParseError, 3),
    ("reference forward", b"\x07\x00\x00", ParseError, 1),
    ("huge strict array count", b"\x0a\xff\xff\xff\xff\x05", ParseError, 1),
    ("trailing byte", b"\x05\x05", ParseError, 1),
    ("nan date", b"\x0b\x7f\xf8\x00\x00\x00\x00\x00\x00\x00\x00", ParseError, 1),
    ("huge date", b"\x0b" + struct.pack(">d", 1e300) + b"\x00\x00", ParseError, 1),
]


@pytest.mark.parametrize("name,raw,exc,offset", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(name: str, raw: bytes, exc: type[ProtocolError], offset: int) -> None:
    with pytest.raises(exc) as info:
        amf0.loads(raw)
    assert info.value.offset == offset


def test_depth_limit() -> None:
    deep = b"\x0a\x00\x00\x00\x01" * 100 + b"\x05"
    with pytest.raises(LimitExceeded):
        amf0.loads(deep)
    assert amf0.loads(deep, limits=Limits(max_amf_depth=200)) is not None


def test_interpreter_recursion_is_a_limit() -> None:
    deep = b"\x0a\x00\x00\x00\x01" * 5000 + b"\x05"
    with pytest.raises(LimitExceeded):
        amf0.loads(deep, limits=Limits(max_amf_depth=10**9))


def test_item_and_string_limits() -> None:
    with pytest.raises(LimitExceeded):
        amf0.loads(amf0.dumps([1.0] * 11), limits=Limits(max_amf_items=10))
    with pytest.raises(LimitExceeded):
        amf0.loads(amf0.dumps("x" * 11), limits=Limits(max_amf_string=10))


def test_encode_errors() -> None:
    with pytest.raises(LocalProtocolError):
        amf0.dumps(object())
    with pytest.raises(LocalProtocolError):
        amf0.dumps({1: 2})
    with pytest.raises(LocalProtocolError):
        amf0.dumps(dt.datetime(2020, 1, 1))
    with pytest.raises(LocalProtocolError):
        amf0.dumps(10**400)


# Properties.

_keys = st.text(max_size=8)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.just(UNDEFINED),
    st.just(UNSUPPORTED),
    st.builds(XmlDocument, st.text(max_size=10)),
    st.integers(-(2**40), 2**40).map(lambda ms: dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)),
)
values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_keys, inner, max_size=4),
        st.dictionaries(_keys, inner, max_size=4).map(EcmaArray),
        st.builds(TypedObject, st.text(min_size=1, max_size=5), st.dictionaries(_keys, inner, max_size=3)),
    ),
    max_leaves=20,
)


@given(values)
def test_round_trip(value: object) -> None:
    assert amf0.loads(amf0.dumps(value)) == value


@given(st.lists(values, max_size=4))
def test_round_trip_all(items: list[object]) -> None:
    assert amf0.loads_all(amf0.dumps_all(items)) == items


@given(st.binary(max_size=64))
def test_random_bytes_raise_only_protocol_errors(raw: bytes) -> None:
    try:
        amf0.loads_all(raw)
    except ProtocolError:
        pass


@given(values, st.data())
def test_mutated_bytes_raise_only_protocol_errors(value: object, data: st.DataObject) -> None:
    raw = bytearray(amf0.dumps(value))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        try:
            amf0.loads(candidate)
        except ProtocolError:
            pass


def test_amf3_switch_shares_limits() -> None:
    inner = amf3.dumps([[[[1]]]])
    with pytest.raises(LimitExceeded):
        amf0.loads(b"\x0a\x00\x00\x00\x01\x11" + inner, limits=Limits(max_amf_depth=4))
