"""RTCP SR/RR/SDES/BYE/APP and compound packets: real bytes, hand-worked RFC layouts, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.clock import ntp_to_unix
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtp.rtcp import (
    SDES_CNAME,
    SDES_EMAIL,
    SDES_LOC,
    SDES_NAME,
    SDES_NOTE,
    SDES_PHONE,
    SDES_PRIV,
    SDES_TOOL,
    ApplicationDefined,
    Goodbye,
    ReceiverReport,
    ReportBlock,
    SdesChunk,
    SenderReport,
    SourceDescription,
    parse_compound,
    serialize_compound,
    validate_compound,
)
from mediaproto.rtp.rtcp_base import RawRtcpPacket
from mediaproto.rtp.rtcp_feedback import GenericNack, PictureLossIndication

from .vectors import interleaved_frames, udp_records

H = bytes.fromhex

# (name, bytes, packets): both directions. Values worked out by hand from RFC 3550 6.4-6.7.
CASES = [
    (
        # FFmpeg 5.1's first SR of the captured H.264 stream (rtp-ffmpeg-h264-aac.udp, port 5005).
        "ffmpeg-sr",
        H("80c80006 693605f8 eeb0e750 0c8b4395 c30d1683 00000000 00000000"),
        [SenderReport(0x693605F8, 0xEEB0E7500C8B4395, 0xC30D1683, 0, 0)],
    ),
    (
        "rr-one-block-negative-loss",
        H("81c90007 00000001 00000002 10fffffe 0001000a 00000020 11223344 00018000"),
        [ReceiverReport(1, (ReportBlock(2, 0x10, -2, 0x1000A, 0x20, 0x11223344, 0x18000),))],
    ),
    ("rr-empty", H("80c90001 deadbeef"), [ReceiverReport(0xDEADBEEF)]),
    (
        "sr-two-blocks-profile-ext",
        H("82c80013 00000001 00000000 00000001 00000002 00000003 00000004")
        + H("00000005 ff7fffff 0000ffff 00000000 00000000 00000000")
        + H("00000006 00800000 00000000 00000000 00000000 00000000")
        + H("cafebabe"),
        [SenderReport(1, 1, 2, 3, 4, (
            ReportBlock(5, 255, 0x7FFFFF, 0xFFFF),
            ReportBlock(6, 0, -0x800000),
        ), H("cafebabe"))],
    ),
    (
        # CNAME "ab": ssrc, 01 02 'a' 'b', END, then null octets to the word: 4 + 4 + 4 bytes.
        "sdes-cname",
        H("81ca0003 00001234 01026162 00000000"),
        [SourceDescription((SdesChunk(0x1234, ((SDES_CNAME, b"ab"),)),))],
    ),
    (
        "sdes-cname-exact-word",  # items end one short of a word: END alone pads it
        H("81ca0002 00001234 01016100"),
        [SourceDescription((SdesChunk(0x1234, ((SDES_CNAME, b"a"),)),))],
    ),
    (
        "sdes-all-items-two-chunks",
        H("82ca000a 00000001 0101 61 0201 62 0301 63 0401 64 0501 65 0601 66 0701 67 0803 01 7868 00 00")
        + H("00000002 0100 00 00"),
        [SourceDescription((
            SdesChunk(1, (
                (SDES_CNAME, b"a"), (SDES_NAME, b"b"), (SDES_EMAIL, b"c"), (SDES_PHONE, b"d"),
                (SDES_LOC, b"e"), (SDES_TOOL, b"f"), (SDES_NOTE, b"g"), (SDES_PRIV, H("017868")),
            )),
            SdesChunk(2, ((SDES_CNAME, b""),)),
        ),)],
    ),
    ("bye-no-reason", H("81cb0001 00001234"), [Goodbye((0x1234,))]),
    (
        "bye-reason",
        H("82cb0004 00000001 00000002 04717569 74000000"),
        [Goodbye((1, 2), b"quit")],
    ),
    ("bye-empty", H("80cb0000"), [Goodbye()]),
    ("app", H("85cc0003 00000007 6e616d65 01020304"), [ApplicationDefined(5, 7, b"name", H("01020304"))]),
    ("unknown-pt", H("81c30001 01020304"), [RawRtcpPacket(195, 1, H("01020304"))]),
    (
        "compound-rr-sdes",
        H("80c90001 00000001 81ca0003 00000001 01026162 00000000"),
        [ReceiverReport(1), SourceDescription((SdesChunk(1, ((SDES_CNAME, b"ab"),)),))],
    ),
]


@pytest.mark.parametrize("name,data,packets", CASES, ids=[c[0] for c in CASES])
def test_parse(name: str, data: bytes, packets: list[object]) -> None:
    assert parse_compound(data) == packets


@pytest.mark.parametrize("name,data,packets", CASES, ids=[c[0] for c in CASES])
def test_serialize(name: str, data: bytes, packets: list) -> None:  # type: ignore[type-arg]
    assert serialize_compound(packets) == data
    if len(packets) == 1:
        assert bytes(packets[0]) == data


# Decode-only cases: real peers' quirks, each behind its named option.
def test_sdes_without_end_quirk() -> None:
    # "SDES without the END item (some servers)": the chunk fills its words exactly.
    data = H("81ca0002 00001234 01026162")
    with pytest.raises(ParseError):
        parse_compound(data)
    assert parse_compound(data, sdes_without_end=True) == [
        SourceDescription((SdesChunk(0x1234, ((SDES_CNAME, b"ab"),)),))
    ]


def test_padding_on_last_packet() -> None:
    data = H("80c90001 00000001 a1cb0002 00000002 00000004")
    assert parse_compound(data) == [ReceiverReport(1), Goodbye((2,))]


def test_strict_validation() -> None:
    good = H("80c90001 00000001 81ca0003 00000001 01026162 00000000")
    assert len(parse_compound(good, strict=True)) == 2
    no_cname = H("80c90001 00000001")
    with pytest.raises(ParseError):
        parse_compound(no_cname, strict=True)
    validate_compound(parse_compound(no_cname), require_cname=False)
    sdes_first = H("81ca0003 00000001 01026162 00000000 80c90001 00000001")
    assert len(parse_compound(sdes_first)) == 2
    with pytest.raises(ParseError):
        parse_compound(sdes_first, strict=True)
    padded_first = H("a0c90002 00000001 00000004 81ca0003 00000001 01026162 00000000")
    assert len(parse_compound(padded_first)) == 2
    with pytest.raises(ParseError):
        parse_compound(padded_first, strict=True)
    with pytest.raises(ParseError):
        validate_compound([])


INVALID = [
    ("empty", b""),
    ("short", H("80c9")),
    ("version-1", H("40c90001 00000001")),
    ("length-overrun", H("80c90002 00000001")),
    ("trailing-partial-header", H("80c90001 00000001 80")),
    ("rr-count-too-big", H("81c90001 00000001")),
    ("sr-short", H("80c80001 00000001")),
    ("padding-zero", H("a0c90001 00000000")),
    ("padding-too-big", H("a0c90001 00000009")),
    ("sdes-item-overrun", H("81ca0002 00001234 01056162")),
    ("sdes-missing-chunk", H("82ca0003 00001234 01026162 00000000")),
    ("sdes-trailing-garbage", H("81ca0004 00001234 01026162 00000000 ffffffff")),
    ("bye-reason-overrun", H("81cb0002 00000001 09616263")),
    ("bye-sources-overrun", H("83cb0001 00000001")),
    ("app-short", H("80cc0001 00000001")),
]


@pytest.mark.parametrize("name,data", INVALID, ids=[c[0] for c in INVALID])
def test_invalid(name: str, data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_compound(data)


@pytest.mark.parametrize(
    "packet",
    [
        ReportBlock(1, fraction_lost=256),
        ReportBlock(1, packets_lost=0x800000),
        ReportBlock(1, packets_lost=-0x800001),
        ReportBlock(1 << 32),
        ReceiverReport(1, tuple(ReportBlock(i) for i in range(32))),
        SenderReport(1, 1 << 64, 0, 0, 0),
        SourceDescription((SdesChunk(1, ((SDES_CNAME, b"x" * 256),)),)),
        SourceDescription((SdesChunk(1, ((0, b"x"),)),)),
        Goodbye((1,), b"x" * 256),
        Goodbye(tuple(range(32))),
        ApplicationDefined(1, 1, b"abc"),
        ApplicationDefined(32, 1, b"abcd"),
        SenderReport(1, 0, 0, 0, 0, profile_extension=b"abc"),
    ],
)
def test_build_rejects_out_of_range(packet: object) -> None:
    with pytest.raises(LocalProtocolError):
        bytes(packet)  # type: ignore[call-overload]


def test_report_block_rfc_names() -> None:
    rb = parse_compound(CASES[1][1])[0].reports[0]  # type: ignore[union-attr]
    assert (rb.ssrc, rb.fraction_lost, rb.packets_lost, rb.highest_sequence, rb.jitter, rb.lsr, rb.dlsr) == (
        2, 16, -2, 65546, 32, 0x11223344, 0x18000,
    )


def test_ffmpeg_srs_in_captures(vectors) -> None:  # type: ignore[no-untyped-def]
    """Every RTCP packet FFmpeg sent in the captures parses as one SR (FFmpeg sends no SDES),
    round-trips, and its NTP time is in 2026 (the capture date) for both streams."""
    udp = [d for port, d in udp_records(vectors / "rtp-ffmpeg-h264-aac.udp") if port in (5005, 5007)]
    tcp = [d for ch, d in interleaved_frames(vectors / "rtsp-ffmpeg-record-tcp.c2s.bin") if ch in (1, 3)]
    assert len(udp) == 2 and len(tcp) == 2
    rtp_ssrcs = {
        port: {d[8:12] for p, d in udp_records(vectors / "rtp-ffmpeg-h264-aac.udp") if p == port}
        for port in (5004, 5006)
    }
    for data in udp + tcp:
        (sr,) = parse_compound(data)
        assert isinstance(sr, SenderReport)
        assert sr.reports == () and sr.packet_count == 0 and sr.octet_count == 0
        assert 2025 <= 1970 + ntp_to_unix(sr.ntp_timestamp) / 31_557_600 < 2028
        assert bytes(sr) == data
    video_sr = parse_compound(udp[1])[0]
    assert isinstance(video_sr, SenderReport)
    assert video_sr.ssrc.to_bytes(4, "big") in rtp_ssrcs[5004]


def test_compound_with_feedback_and_unknowns() -> None:
    pkts = [
        ReceiverReport(1, (ReportBlock(2, 1, 2, 3, 4, 5, 6),)),
        SourceDescription((SdesChunk(1, ((SDES_CNAME, b"host"),)),)),
        GenericNack.from_lost(1, 2, [10, 12]),
        PictureLossIndication(1, 2),
        RawRtcpPacket(210, 3, b"abcdefgh"),
        RawRtcpPacket(205, 3, H("00000001 00000002 00000003")),  # TMMBR kept raw
    ]
    data = serialize_compound(pkts)
    assert parse_compound(data, strict=True) == pkts


sdes_items = st.lists(
    st.tuples(st.integers(1, 8), st.binary(max_size=20)), max_size=4
).map(tuple)
u32 = st.integers(0, 0xFFFFFFFF)
blocks = st.lists(
    st.builds(ReportBlock, u32, st.integers(0, 255), st.integers(-0x800000, 0x7FFFFF), u32, u32, u32, u32),
    max_size=3,
).map(tuple)
words = st.binary(max_size=12).map(lambda b: b[: len(b) // 4 * 4])
packets = st.one_of(
    st.builds(SenderReport, u32, st.integers(0, (1 << 64) - 1), u32, u32, u32, blocks, words),
    st.builds(ReceiverReport, u32, blocks, words),
    st.builds(SourceDescription, st.lists(st.builds(SdesChunk, u32, sdes_items), max_size=3).map(tuple)),
    st.builds(Goodbye, st.lists(u32, max_size=4).map(tuple), st.none() | st.binary(max_size=30)),
    st.builds(ApplicationDefined, st.integers(0, 31), u32, st.binary(min_size=4, max_size=4), words),
    st.builds(RawRtcpPacket, st.integers(208, 255), st.integers(0, 31), words),
)


@given(st.lists(packets, min_size=1, max_size=4))
def test_roundtrip_property(pkts: list) -> None:  # type: ignore[type-arg]
    data = serialize_compound(pkts)
    assert len(data) % 4 == 0
    assert parse_compound(data) == pkts
    assert serialize_compound(parse_compound(data)) == data


@given(st.binary(max_size=120))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    for lenient in (False, True):
        try:
            parse_compound(data, sdes_without_end=lenient, strict=lenient)
        except ProtocolError:
            pass


@given(st.sampled_from([c[1] for c in CASES]), st.data())
def test_mutated_bytes_raise_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    buf = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        buf[draw.draw(st.integers(0, len(buf) - 1))] = draw.draw(st.integers(0, 255))
    buf = buf[: draw.draw(st.integers(0, len(buf)))]
    try:
        for p in parse_compound(bytes(buf)):
            bytes(p)  # what parses must also serialize
    except ProtocolError:
        pass
