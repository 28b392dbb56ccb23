"""AMF3: vectors written from the AMF3 specification's encodings (U29 table, reference tables,
traits), round trips, limits against bombs, and fuzzing."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtmp import Limits, amf3
from mediaproto.rtmp.amf3 import Dictionary, DoubleVector, IntVector, MixedArray, ObjectVector, UIntVector
from mediaproto.rtmp.amftypes import UNDEFINED, EcmaArray, TypedObject, Xml, XmlDocument

UTC = dt.timezone.utc

# The U29 integer encodings of the AMF3 specification (section 1.3.1), signed 29-bit.
INTEGERS = [
    (0, "00"),
    (127, "7f"),
    (128, "8100"),
    (16383, "ff7f"),
    (16384, "818000"),
    (2097151, "ffff7f"),
    (2097152, "80c08000"),
    (268435455, "bfffffff"),
    (-1, "ffffffff"),
    (-268435456, "c0808000"),
]


@pytest.mark.parametrize("value,hexbytes", INTEGERS)
def test_integers(value: int, hexbytes: str) -> None:
    raw = b"\x04" + bytes.fromhex(hexbytes)
    assert amf3.dumps(value) == raw
    got = amf3.loads(raw)
    assert got == value and type(got) is int


def test_integers_outside_29_bits_are_doubles() -> None:
    assert amf3.dumps(268435456) == b"\x05" + struct.pack(">d", 268435456.0)
    assert amf3.dumps(-268435457) == b"\x05" + struct.pack(">d", -268435457.0)


CASES: list[tuple[str, bytes, object]] = [
    ("undefined", b"\x00", UNDEFINED),
    ("null", b"\x01", None),
    ("false", b"\x02", False),
    ("true", b"\x03", True),
    ("double", b"\x05" + struct.pack(">d", 0.5), 0.5),
    ("string", b"\x06\x0bhello", "hello"),
    ("empty string", b"\x06\x01", ""),
    # the second "hi" is string reference 0 (U29S-ref = 0 << 1)
    ("string reference", b"\x09\x05\x01\x06\x05hi\x06\x00", ["hi", "hi"]),
    ("xml document", b"\x07\x09<a/>", XmlDocument("<a/>")),
    ("xml", b"\x0b\x09<b/>", Xml("<b/>")),
    ("date", b"\x08\x01" + struct.pack(">d", 1_000_000_000_000.0), dt.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)),
    ("dense array", b"\x09\x05\x01\x04\x01\x04\x02", [1, 2]),
    ("associative array", b"\x09\x01\x03a\x04\x01\x01", EcmaArray(a=1)),
    ("mixed array", b"\x09\x03\x03a\x04\x01\x01\x04\x02", MixedArray([2], {"a": 1})),
    # anonymous dynamic object: U29O-traits 0x0b (inline, dynamic, 0 sealed), class "", a=1, end
    ("dynamic object", b"\x0a\x0b\x01\x03a\x04\x01\x01", {"a": 1}),
    # typed sealed object: 0x13 = 1 sealed member << 4 | inline traits 0x03
    ("typed object", b"\x0a\x13\x07Foo\x03x\x03", TypedObject("Foo", {"x": True})),
    ("bytearray", b"\x0c\x07abc", b"abc"),
    ("vector int", b"\x0d\x05\x00\x00\x00\x00\x01\xff\xff\xff\xff", IntVector([1, -1])),
    ("vector uint", b"\x0e\x03\x01\xff\xff\xff\xff", UIntVector([0xFFFFFFFF], fixed=True)),
    ("vector double", b"\x0f\x03\x00" + struct.pack(">d", 1.5), DoubleVector([1.5])),
    ("vector object", b"\x10\x03\x00\x07Foo\x01", ObjectVector([None], type_name="Foo")),
    ("dictionary", b"\x11\x03\x00\x04\x01\x06\x03x", Dictionary([(1, "x")])),
]


@pytest.mark.parametrize("name,raw,value", CASES, ids=[c[0] for c in CASES])
def test_decode_table(name: str, raw: bytes, value: object) -> None:
    got = amf3.loads(raw)
    assert got == value
    assert type(got) is type(value)
    if isinstance(value, (IntVector, UIntVector, DoubleVector)):
        assert got.fixed == value.fixed
    if isinstance(value, ObjectVector):
        assert got.type_name == value.type_name


@pytest.mark.parametrize("name,raw,value", CASES, ids=[c[0] for c in CASES])
def test_encode_table(name: str, raw: bytes, value: object) -> None:
    assert amf3.dumps(value) == raw


def test_traits_reference() -> None:
    # Two objects of class Foo: the second uses traits reference 0 (U29O-traits-ref = 0 << 2 | 1).
    raw = b"\x09\x05\x01\x0a\x13\x07Foo\x03x\x03\x0a\x01\x02"
    value = amf3.loads(raw)
    assert value == [TypedObject("Foo", {"x": True}), TypedObject("Foo", {"x": False})]
    assert amf3.dumps(value) == raw


def test_object_reference_and_cycle() -> None:
    # object reference index 0 (U29O-ref = 0 << 1) refers to the object itself
    raw = b"\x0a\x0b\x01\x09self\x0a\x00\x01"
    value = amf3.loads(raw)
    assert value["self"] is value
    assert amf3.dumps(value) == raw


def test_externalizable_array_collection() -> None:
    # traits 0x07: inline, externalizable; class name of 33 bytes (0x43 = 33 << 1 | 1); the wrapped array
    raw = b"\x0a\x07\x43flex.messaging.io.ArrayCollection\x09\x03\x01\x06\x07foo"
    assert amf3.loads(raw) == ["foo"]


def test_unknown_externalizable_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="externalizable"):
        amf3.loads(b"\x0a\x07\x07Foo\x01")


def test_custom_externalizable_handler() -> None:
    def read_point(dec: amf3.Decoder) -> tuple[int, int]:
        return (dec.read_value(), dec.read_value())

    raw = b"\x0a\x07\x0bPoint\x04\x01\x04\x02"
    assert amf3.loads(raw, externals={"Point": read_point}) == (1, 2)


ERRORS: list[tuple[str, bytes, type[ProtocolError]]] = [
    ("empty", b"", ParseError),
    ("unknown marker", b"\x12", ParseError),
    ("truncated u29", b"\x04\x80", ParseError),
    ("truncated double", b"\x05\x00", ParseError),
    ("string ref out of range", b"\x06\x00", ParseError),
    ("object ref out of range", b"\x0a\x02", ParseError),
    ("traits ref out of range", b"\x0a\x05", ParseError),
    ("bad utf-8", b"\x06\x05\xff\xfe", ParseError),
    ("huge dense count", b"\x09\xbf\xff\xff\xff\x01", ParseError),
    ("huge vector count", b"\x0f\xbf\xff\xff\xff\x00", ParseError),
    ("huge dictionary count", b"\x11\xbf\xff\xff\xff\x00", ParseError),
    ("huge sealed count", b"\x0a\xbf\xff\xff\xf3\x01", ParseError),
    ("huge bytearray", b"\x0c\xbf\xff\xff\xff", LimitExceeded),
    ("trailing", b"\x01\x01", ParseError),
    ("nan date", b"\x08\x01\x7f\xf8\x00\x00\x00\x00\x00\x00", ParseError),
]


@pytest.mark.parametrize("name,raw,exc", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(name: str, raw: bytes, exc: type[ProtocolError]) -> None:
    with pytest.raises(exc):
        amf3.loads(raw)


def test_depth_limit() -> None:
    deep = b"\x09\x03\x01" * 100 + b"\x01"
    with pytest.raises(LimitExceeded):
        amf3.loads(deep)
    with pytest.raises(LimitExceeded):
        amf3.loads(b"\x09\x03\x01" * 5000 + b"\x01", limits=Limits(max_amf_depth=10**9))


def test_item_limit() -> None:
    with pytest.raises(LimitExceeded):
        amf3.loads(amf3.dumps(list(range(11))), limits=Limits(max_amf_items=10))


def test_string_reference_bomb_stays_shared() -> None:
    # one 1000-byte string referenced 500 times: 500 entries, one string object
    raw = b"\x09" + bytes((0x87, 0x69)) + b"\x01\x06" + bytes((0x8F, 0x51)) + b"x" * 1000 + b"\x06\x00" * 499
    value = amf3.loads(raw)
    assert len(value) == 500 and all(v is value[0] for v in value)


def test_encoder_writes_string_references() -> None:
    raw = amf3.dumps({"name": "name"})
    assert raw == b"\x0a\x0b\x01\x09name\x06\x00\x01"


def test_encode_errors() -> None:
    with pytest.raises(LocalProtocolError):
        amf3.dumps(object())
    with pytest.raises(LocalProtocolError):
        amf3.dumps(IntVector([2**40]))
    with pytest.raises(LocalProtocolError):
        amf3.dumps(EcmaArray({"": 1}))


_keys = st.text(min_size=1, max_size=6)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.just(UNDEFINED),
    st.binary(max_size=10),
    st.builds(XmlDocument, st.text(max_size=6)),
    st.builds(Xml, st.text(max_size=6)),
    st.integers(-(2**40), 2**40).map(lambda ms: dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)),
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=4).map(IntVector),
    st.lists(st.integers(0, 2**32 - 1), max_size=4).map(UIntVector),
    st.lists(st.floats(allow_nan=False), max_size=4).map(DoubleVector),
)
values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_keys, inner, max_size=4),
        st.dictionaries(_keys, inner, min_size=1, max_size=4).map(EcmaArray),
        st.builds(MixedArray, st.lists(inner, min_size=1, max_size=3), st.dictionaries(_keys, inner, min_size=1, max_size=3)),
        st.builds(TypedObject, st.sampled_from(["A", "B"]), st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)),
        st.lists(inner, max_size=3).map(ObjectVector),
        st.lists(st.tuples(inner, inner), max_size=3).map(Dictionary),
    ),
    max_leaves=20,
)


@given(values)
def test_round_trip(value: object) -> None:
    assert amf3.loads(amf3.dumps(value)) == value


@given(st.binary(max_size=64))
def test_random_bytes_raise_only_protocol_errors(raw: bytes) -> None:
    try:
        amf3.loads_all(raw)
    except ProtocolError:
        pass


@given(values, st.data())
def test_mutated_bytes_raise_only_protocol_errors(value: object, data: st.DataObject) -> None:
    raw = bytearray(amf3.dumps(value))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        try:
            amf3.loads(candidate)
        except ProtocolError:
            pass
