"""Our fast RTP/RTCP codecs held against declarative ``construct`` layouts written from the RFC
figures (RFC 3550 5.1 and 6.4): an independent executable reference."""

from __future__ import annotations

from construct import (
    Array,
    BitsInteger,
    BitStruct,
    Bytes,
    Flag,
    GreedyBytes,
    If,
    Int8ub,
    Int16ub,
    Int24sb,
    Int32ub,
    Int64ub,
    Struct,
    this,
)
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.rtp import HeaderExtension, ReportBlock, RtpPacket, SenderReport, parse_compound

RTP = Struct(
    "first" / BitStruct(
        "version" / BitsInteger(2),
        "padding" / Flag,
        "extension" / Flag,
        "csrc_count" / BitsInteger(4),
        "marker" / Flag,
        "payload_type" / BitsInteger(7),
    ),
    "sequence_number" / Int16ub,
    "timestamp" / Int32ub,
    "ssrc" / Int32ub,
    "csrc" / Array(this.first.csrc_count, Int32ub),
    "ext" / If(this.first.extension, Struct("profile" / Int16ub, "length" / Int16ub, "data" / Bytes(this.length * 4))),
    "payload" / GreedyBytes,
)

REPORT_BLOCK = Struct(
    "ssrc" / Int32ub,
    "fraction_lost" / Int8ub,
    "packets_lost" / Int24sb,
    "highest_sequence" / Int32ub,
    "jitter" / Int32ub,
    "lsr" / Int32ub,
    "dlsr" / Int32ub,
)

SR = Struct(
    "first" / BitStruct("version" / BitsInteger(2), "padding" / Flag, "count" / BitsInteger(5)),
    "packet_type" / Int8ub,
    "length" / Int16ub,
    "ssrc" / Int32ub,
    "ntp_timestamp" / Int64ub,
    "rtp_timestamp" / Int32ub,
    "packet_count" / Int32ub,
    "octet_count" / Int32ub,
    "reports" / Array(this.first.count, REPORT_BLOCK),
)

u32 = st.integers(0, 0xFFFFFFFF)


@given(
    st.integers(0, 127), st.integers(0, 0xFFFF), u32, u32, st.binary(max_size=40), st.booleans(),
    st.lists(u32, max_size=15), st.none() | st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=16)),
)
def test_rtp_header_against_construct(pt, seq, ts, ssrc, payload, marker, csrc, ext) -> None:  # type: ignore[no-untyped-def]
    extension = None
    if ext is not None:
        extension = HeaderExtension(ext[0], ext[1][: len(ext[1]) // 4 * 4])
    ours = bytes(RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrc), extension))
    ref = RTP.build(dict(
        first=dict(version=2, padding=False, extension=extension is not None, csrc_count=len(csrc),
                   marker=marker, payload_type=pt),
        sequence_number=seq, timestamp=ts, ssrc=ssrc, csrc=csrc,
        ext=None if extension is None else dict(profile=extension.profile, length=len(extension.data) // 4,
                                                 data=extension.data),
        payload=payload,
    ))
    assert ours == ref
    parsed = RTP.parse(ours)
    pkt = RtpPacket.parse(ref)
    assert (pkt.payload_type, pkt.sequence_number, pkt.timestamp, pkt.ssrc, pkt.marker, list(pkt.csrc), pkt.payload) == (
        parsed.first.payload_type, parsed.sequence_number, parsed.timestamp, parsed.ssrc, parsed.first.marker,
        list(parsed.csrc), parsed.payload,
    )


blocks = st.lists(
    st.tuples(u32, st.integers(0, 255), st.integers(-0x800000, 0x7FFFFF), u32, u32, u32, u32), max_size=4
)


@given(u32, st.integers(0, (1 << 64) - 1), u32, u32, u32, blocks)
def test_sender_report_against_construct(ssrc, ntp, rtp, packets, octets, rbs) -> None:  # type: ignore[no-untyped-def]
    ours = bytes(SenderReport(ssrc, ntp, rtp, packets, octets, tuple(ReportBlock(*b) for b in rbs)))
    names = ("ssrc", "fraction_lost", "packets_lost", "highest_sequence", "jitter", "lsr", "dlsr")
    ref = SR.build(dict(
        first=dict(version=2, padding=False, count=len(rbs)), packet_type=200, length=6 + 6 * len(rbs),
        ssrc=ssrc, ntp_timestamp=ntp, rtp_timestamp=rtp, packet_count=packets, octet_count=octets,
        reports=[dict(zip(names, b)) for b in rbs],
    ))
    assert ours == ref
    (sr,) = parse_compound(ref)
    assert isinstance(sr, SenderReport)
    assert [tuple(getattr(r, n) for n in names) for r in sr.reports] == rbs
