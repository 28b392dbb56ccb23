"""RtpPacket and header extensions: table of real bytes, RFC 8285 examples, captures, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtp import ExtensionMap, HeaderExtension, RtpPacket, is_rtcp

from .vectors import udp_records

H = bytes.fromhex

# (name, bytes, packet): shared by the parse and the serialize tests. Values worked out by hand
# from the RFC 3550 5.1 layout.
CASES = [
    ("minimal", H("80 60 0001 00000002 00000003") + b"ab", RtpPacket(96, 1, 2, 3, b"ab")),
    ("marker-pt0-empty", H("80 80 ffff ffffffff 00000000"), RtpPacket(0, 65535, 0xFFFFFFFF, 0, b"", True)),
    (
        "two-csrc",
        H("82 e1 1234 00000010 deadbeef 00000001 00000002") + b"x",
        RtpPacket(97, 0x1234, 16, 0xDEADBEEF, b"x", True, (1, 2)),
    ),
    (
        "one-byte-extension",
        H("90 60 0001 00000002 00000003 bede 0001 10aa0000") + b"p",
        RtpPacket(96, 1, 2, 3, b"p", extension=HeaderExtension(0xBEDE, H("10aa0000"))),
    ),
    (
        "empty-extension",
        H("90 60 0001 00000002 00000003 abcd 0000"),
        RtpPacket(96, 1, 2, 3, b"", extension=HeaderExtension(0xABCD, b"")),
    ),
    ("padding", H("a0 60 0001 00000002 00000003") + b"pay" + H("000003"), RtpPacket(96, 1, 2, 3, b"pay", padding_length=3)),
    ("padding-only", H("a0 60 0001 00000002 00000003 01"), RtpPacket(96, 1, 2, 3, b"", padding_length=1)),
    (
        "everything",
        H("b1 ff 0102 03040506 0708090a 0000000b 1000 0001 01010000") + b"zz" + H("0002"),
        RtpPacket(127, 0x0102, 0x03040506, 0x0708090A, b"zz", True, (11,), HeaderExtension(0x1000, H("01010000")), 2),
    ),
]


@pytest.mark.parametrize("name,data,packet", CASES, ids=[c[0] for c in CASES])
def test_parse(name: str, data: bytes, packet: RtpPacket) -> None:
    assert RtpPacket.parse(data) == packet


@pytest.mark.parametrize("name,data,packet", CASES, ids=[c[0] for c in CASES])
def test_serialize(name: str, data: bytes, packet: RtpPacket) -> None:
    assert bytes(packet) == data
    assert packet.serialize() == data
    assert len(packet) == len(data)


INVALID = [
    ("short", H("80 60 0001 00000002 000000")),
    ("version-1", H("40 60 0001 00000002 00000003")),
    ("version-0", H("00 60 0001 00000002 00000003")),
    ("csrc-truncated", H("82 60 0001 00000002 00000003 00000001")),
    ("ext-header-truncated", H("90 60 0001 00000002 00000003 bede")),
    ("ext-truncated", H("90 60 0001 00000002 00000003 bede 0002 10aa0000")),
    ("padding-zero-count", H("a0 60 0001 00000002 00000003 616200")),
    ("padding-too-long", H("a0 60 0001 00000002 00000003 616205")),
    ("padding-no-body", H("a0 60 0001 00000002 00000003")),
    ("padding-into-ext", H("b0 60 0001 00000002 00000003 bede 0001 10aa0002")),
]


@pytest.mark.parametrize("name,data", INVALID, ids=[c[0] for c in INVALID])
def test_invalid(name: str, data: bytes) -> None:
    with pytest.raises(ParseError):
        RtpPacket.parse(data)


def test_padding_content_is_zeroed() -> None:
    # RFC 3550 leaves the padding octets open; we keep the count and write zeros.
    pkt = RtpPacket.parse(H("a0 60 0001 00000002 00000003 61 ffee03"))
    assert pkt.payload == b"a" and pkt.padding_length == 3
    assert bytes(pkt) == H("a0 60 0001 00000002 00000003 61 000003")


def test_version_is_2() -> None:
    assert RtpPacket.version == 2
    assert RtpPacket(0, 0, 0, 0).version == 2


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(128, 0, 0, 0),
        RtpPacket(-1, 0, 0, 0),
        RtpPacket(0, 65536, 0, 0),
        RtpPacket(0, 0, 1 << 32, 0),
        RtpPacket(0, 0, 0, -1),
        RtpPacket(0, 0, 0, 0, csrc=tuple(range(16))),
        RtpPacket(0, 0, 0, 0, csrc=(1 << 32,)),
        RtpPacket(0, 0, 0, 0, extension=HeaderExtension(0xBEDE, b"abc")),
        RtpPacket(0, 0, 0, 0, extension=HeaderExtension(0x10000, b"")),
        RtpPacket(0, 0, 0, 0, padding_length=256),
        RtpPacket(0, 0, 0, 0, padding_length=-1),
    ],
)
def test_serialize_rejects_out_of_range(packet: RtpPacket) -> None:
    with pytest.raises(LocalProtocolError):
        bytes(packet)


def test_mutable_for_per_session_rewrite() -> None:
    pkt = RtpPacket.parse(CASES[0][1])
    pkt.sequence_number, pkt.ssrc, pkt.timestamp = 7, 8, 9
    assert bytes(pkt) == H("80 60 0007 00000009 00000008") + b"ab"


# RFC 8285 section 4.2 figure: ID=1 L=0, ID=2 L=1, two padding octets, ID=3 L=3.
RFC8285_ONE_BYTE = H("10 d1 21 d2d3 00 00 33 d4d5d6d7")
# RFC 8285 section 4.3 figure: ID=1 L=0, ID=2 L=1, one padding octet, ID=3 L=4.
RFC8285_TWO_BYTE = H("01 00 02 01 d1 00 03 04 d2d3d4d5")


def test_rfc8285_one_byte_example() -> None:
    ext = HeaderExtension(0xBEDE, RFC8285_ONE_BYTE)
    assert ext.is_one_byte and not ext.is_two_byte
    assert ext.elements() == [(1, H("d1")), (2, H("d2d3")), (3, H("d4d5d6d7"))]
    assert ext.get(2) == H("d2d3") and ext.get(9) is None
    # We pack without the padding octets between elements.
    built = HeaderExtension.from_elements(ext.elements())
    assert built == HeaderExtension(0xBEDE, H("10 d1 21 d2d3 33 d4d5d6d7 0000"))


def test_rfc8285_two_byte_example() -> None:
    ext = HeaderExtension(0x1000, RFC8285_TWO_BYTE)
    assert ext.is_two_byte and ext.appbits == 0
    assert ext.elements() == [(1, b""), (2, H("d1")), (3, H("d2d3d4d5"))]
    # An empty element forces the two-byte form.
    built = HeaderExtension.from_elements(ext.elements())
    assert built == HeaderExtension(0x1000, H("0100 0201d1 0304d2d3d4d5 00"))


def test_one_byte_id15_stops_parsing() -> None:
    assert HeaderExtension(0xBEDE, H("10aa f0 bb")).elements() == [(1, H("aa"))]


def test_from_elements_choice() -> None:
    assert HeaderExtension.from_elements([(14, b"x" * 16)]).is_one_byte
    assert HeaderExtension.from_elements([(15, b"x")]).is_two_byte
    assert HeaderExtension.from_elements([(1, b"x" * 17)]).is_two_byte
    assert HeaderExtension.from_elements([(1, b"x")], two_byte=True, appbits=5).profile == 0x1005
    with pytest.raises(LocalProtocolError):
        HeaderExtension.from_elements([(15, b"x")], two_byte=False)
    with pytest.raises(LocalProtocolError):
        HeaderExtension.from_elements([(1, b"x" * 256)], two_byte=True)


@pytest.mark.parametrize(
    "ext",
    [
        HeaderExtension(0xBEDE, H("1f aa")),  # says 16 bytes, has 1
        HeaderExtension(0x1000, H("01")),  # no length byte
        HeaderExtension(0x1000, H("01 05 aa")),
        HeaderExtension(0xABCD, H("00000000")),  # not RFC 8285
    ],
)
def test_bad_elements(ext: HeaderExtension) -> None:
    with pytest.raises(ParseError):
        ext.elements()


def test_extension_map() -> None:
    m = ExtensionMap()
    assert m.add_extmap("1 urn:ietf:params:rtp-hdrext:sdes:mid") == 1
    assert m.add_extmap("3/recvonly http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time") == 3
    assert m.add_extmap("5 urn:ietf:params:rtp-hdrext:toffset extra attrs") == 5
    assert m.uri_of(3) == "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    assert m.id_of("urn:ietf:params:rtp-hdrext:sdes:mid") == 1
    assert m.directions == {3: "recvonly"} and m.attributes == {5: "extra attrs"}
    assert m.extmap_lines() == [
        "1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "3/recvonly http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "5 urn:ietf:params:rtp-hdrext:toffset extra attrs",
    ]
    ext = m.encode({"urn:ietf:params:rtp-hdrext:sdes:mid": b"0"})
    assert ext == HeaderExtension(0xBEDE, H("10 30 0000"))
    assert m.decode(HeaderExtension(0xBEDE, H("1030 2011"))) == {"urn:ietf:params:rtp-hdrext:sdes:mid": b"0"}
    assert m.decode(None) == {} and m.encode({}) is None and 1 in m and len(m) == 3
    with pytest.raises(LocalProtocolError):
        m.encode({"urn:unknown": b"x"})
    for bad in ("", "1", "x urn:a", "0 urn:a", "256 urn:a", "1/sideways urn:a"):
        with pytest.raises(ParseError):
            m.add_extmap(bad)


def test_is_rtcp() -> None:
    assert is_rtcp(H("80c80006")) and is_rtcp(H("81cd0002"))
    assert not is_rtcp(H("80600001")) and not is_rtcp(b"\x80")


def test_ffmpeg_capture(vectors) -> None:  # type: ignore[no-untyped-def]
    records = udp_records(vectors / "rtp-ffmpeg-h264-aac.udp")
    by_port: dict[int, list[RtpPacket]] = {5004: [], 5006: []}
    for port, data in records:
        if port in by_port:
            pkt = RtpPacket.parse(data)
            assert bytes(pkt) == data
            by_port[port].append(pkt)
    video, audio = by_port[5004], by_port[5006]
    assert len(video) == 144 and len(audio) == 26  # the README counts 172 datagrams with 2 SRs
    assert {p.payload_type for p in video} == {96} and {p.payload_type for p in audio} == {97}
    for pkts in (video, audio):
        assert len({p.ssrc for p in pkts}) == 1
        assert all((b.sequence_number - a.sequence_number) & 0xFFFF == 1 for a, b in zip(pkts, pkts[1:]))
    # FFmpeg's AAC packets carry whole access units: every one has the marker bit (RFC 3640).
    assert all(p.marker for p in audio)


header_fields = st.tuples(
    st.integers(0, 127),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=64),
    st.booleans(),
    st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    st.none() | st.builds(HeaderExtension, st.integers(0, 0xFFFF), st.binary(max_size=40).map(lambda b: b[: len(b) // 4 * 4])),
    st.integers(0, 255),
)


@given(header_fields)
def test_roundtrip_property(fields: tuple) -> None:  # type: ignore[type-arg]
    pkt = RtpPacket(*fields)
    data = bytes(pkt)
    assert RtpPacket.parse(data) == pkt
    assert bytes(RtpPacket.parse(data)) == data


@given(st.binary(max_size=80))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    try:
        pkt = RtpPacket.parse(data)
    except ProtocolError:
        return
    if pkt.extension is not None:
        try:
            pkt.extension.elements()
        except ProtocolError:
            pass


@given(st.sampled_from([c[1] for c in CASES]), st.data())
def test_mutated_bytes_raise_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    buf = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        if buf:
            buf[draw.draw(st.integers(0, len(buf) - 1))] = draw.draw(st.integers(0, 255))
    buf = buf[: draw.draw(st.integers(0, len(buf)))]
    try:
        pkt = RtpPacket.parse(bytes(buf))
        if pkt.extension is not None:
            pkt.extension.elements()
    except ProtocolError:
        pass
