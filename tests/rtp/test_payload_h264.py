"""H.264 over RTP (RFC 6184): packet layouts from the RFC, round trips, loss, quirks of real peers."""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from mediaproto.media import Frame
from mediaproto.rtp import Limits
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import H264Depacketizer, H264Packetizer

SPS = bytes.fromhex("6742c00dd90141fb011000000300100000030320f142a480")
PPS = bytes.fromhex("68cb8cb2")
AUD = b"\x09\xf0"
SEI = b"\x06\x05\x01\x80\x80"


def idr(n: int, fill: int = 0xAB) -> bytes:
    """An IDR slice NAL unit (nal_ref_idc 3, first_mb_in_slice 0) of ``n`` bytes."""
    return b"\x65\x88" + bytes([fill]) * (n - 2)


def non_idr(n: int, fill: int = 0xCD) -> bytes:
    """A non-IDR slice (nal_ref_idc 2, first_mb_in_slice 0)."""
    return b"\x41\x9a" + bytes([fill]) * (n - 2)


def pkt(seq: int, ts: int, payload: bytes, marker: bool = False, ssrc: int = 0x1234) -> RtpPacket:
    return RtpPacket(96, seq & 0xFFFF, ts, ssrc, payload, marker)


def feed_all(d: H264Depacketizer, packets: list[RtpPacket]) -> list[Frame]:
    out = []
    for p in packets:
        out.extend(d.feed(p))
    return out


# -- the packet layouts of RFC 6184, built by hand from the RFC's figures -----------------------------


def test_single_nal_unit_packet_rfc6184_5_6() -> None:
    p = H264Packetizer(96, ssrc=5, initial_sequence=65535, initial_timestamp=100)
    packets = p.packetize(Frame(0, 3000, 3000, (non_idr(50),)))
    assert len(packets) == 1
    assert packets[0].payload == non_idr(50)  # the NAL unit itself, header included
    assert (packets[0].sequence_number, packets[0].timestamp, packets[0].marker) == (65535, 3100, True)
    assert p.sequence_number == 0  # wrapped


def test_stap_a_layout_rfc6184_5_7_1() -> None:
    # Figure 7: STAP-A NAL header, then NALU 1 size, NALU 1, NALU 2 size, NALU 2.
    # F = OR of the F bits, NRI = the highest NRI (SPS and PPS: 3), type 24.
    expected = bytes([0x78]) + struct.pack(">H", len(SPS)) + SPS + struct.pack(">H", len(PPS)) + PPS
    p = H264Packetizer(96, ssrc=1)
    packets = p.packetize(Frame(0, 0, 0, (SPS, PPS, idr(3000)), True))
    assert packets[0].payload == expected
    d = H264Depacketizer(0)
    assert d._parse(expected) == ([SPS, PPS], None)


def test_fu_a_layout_rfc6184_5_8() -> None:
    # FU indicator: F and NRI of the NAL unit, type 28; FU header: S, E, R=0, the NAL unit type.
    nal = idr(2500)
    p = H264Packetizer(96, ssrc=1, mtu=1012)  # 1000-byte payloads: 998 bytes of fragment
    payloads = [x.payload for x in p.packetize(Frame(0, 0, 0, (nal,), True))]
    body = nal[1:]
    assert payloads == [
        b"\x7c\x85" + body[:998],
        b"\x7c\x05" + body[998:1996],
        b"\x7c\x45" + body[1996:],
    ]


def test_sizes_and_marker() -> None:
    p = H264Packetizer(96, ssrc=9, mtu=300)
    frame = Frame(0, 90000, 90000, (AUD, SPS, PPS, idr(2000), idr(100), idr(250)), True)
    packets = p.packetize(frame)
    assert all(len(bytes(x)) <= 300 for x in packets)
    assert [x.marker for x in packets] == [False] * (len(packets) - 1) + [True]
    assert [x.sequence_number for x in packets] == list(range(len(packets)))
    assert {x.timestamp for x in packets} == {90000}
    d = H264Depacketizer(0)
    assert feed_all(d, packets) == [frame]


def test_timestamp_rescaled_from_track_clock() -> None:
    p = H264Packetizer(96, ssrc=1, track_clock_rate=1000, initial_timestamp=2**32 - 10)
    (packet,) = p.packetize(Frame(0, 40, 40, (non_idr(10),)))
    assert packet.timestamp == 3600 - 10


def test_packetization_mode_0() -> None:
    p = H264Packetizer(96, ssrc=1, mtu=500, packetization_mode=0)
    packets = p.packetize(Frame(0, 0, 0, (SPS, PPS, idr(400)), True))
    assert [x.payload for x in packets] == [SPS, PPS, idr(400)]
    with pytest.raises(LocalProtocolError):
        p.packetize(Frame(0, 0, 0, (idr(600),), True))
    with pytest.raises(LocalProtocolError):
        H264Packetizer(96, ssrc=1, packetization_mode=2)


def test_parameter_sets_in_band_before_idr() -> None:
    p = H264Packetizer(96, ssrc=1, parameter_sets=(SPS, PPS), insert_parameter_sets=True)
    d = H264Depacketizer(0)
    key = Frame(0, 0, 0, (AUD, idr(3000)), True)
    packets = p.packetize(key)
    # the AUD stays first; SPS and PPS follow it in the same STAP-A
    assert packets[0].payload[0] & 0x1F == 24
    assert d._parse(packets[0].payload)[0] == [AUD, SPS, PPS]
    assert feed_all(d, packets)[0].data == (AUD, SPS, PPS, idr(3000))
    # a non-IDR frame, or an IDR that has its own SPS, is left alone
    assert p.packetize(Frame(0, 3000, 3000, (non_idr(40),)))[0].payload == non_idr(40)
    own = Frame(0, 6000, 6000, (SPS, PPS, idr(40)), True)
    assert feed_all(d, p.packetize(own)) == [own]


# -- receiving ----------------------------------------------------------------------------------------


def test_unit_ends_on_marker_and_keyframe_flag() -> None:
    d = H264Depacketizer(3)
    stap = b"\x78" + struct.pack(">H", len(SPS)) + SPS + struct.pack(">H", len(PPS)) + PPS
    assert d.feed(pkt(1, 1000, stap)) == []
    assert d.feed(pkt(2, 1000, idr(30), marker=True)) == [Frame(3, 1000, 1000, (SPS, PPS, idr(30)), True)]
    assert d.feed(pkt(3, 4000, non_idr(30), marker=True)) == [Frame(3, 4000, 4000, (non_idr(30),), False)]


def test_pts_unwraps_across_the_32_bit_wrap() -> None:
    d = H264Depacketizer(0)
    frames = feed_all(
        d,
        [pkt(1, 2**32 - 3000, non_idr(10), True), pkt(2, 600, non_idr(10), True), pkt(3, 4200, non_idr(10), True)],
    )
    assert [f.pts for f in frames] == [2**32 - 3000, 2**32 + 600, 2**32 + 4200]
    assert all(f.dts == f.pts for f in frames)


def test_gap_inside_fragmented_unit_drops_it_pion_corrupt_idr() -> None:
    """pion keeps assembling across a gap and hands late joiners a corrupt IDR; we drop the unit."""
    p = H264Packetizer(96, ssrc=1, mtu=500)
    f1 = Frame(0, 0, 0, (idr(2000),), True)
    f2 = Frame(0, 3000, 3000, (non_idr(100),))
    packets = p.packetize(f1) + p.packetize(f2)
    d = H264Depacketizer(0)
    del packets[2]  # a middle fragment of the IDR
    assert feed_all(d, packets) == [f2]
    assert (d.lost_packets, d.lost_units) == (1, 1)


def test_gap_before_unit_start_keeps_the_next_unit() -> None:
    p = H264Packetizer(96, ssrc=1, mtu=500)
    frames = [Frame(0, i * 3000, i * 3000, (non_idr(700 + i),)) for i in range(3)]
    packets = [x for f in frames for x in p.packetize(f)]
    d = H264Depacketizer(0)
    lost = [x for x in packets if x.timestamp == 3000]
    assert feed_all(d, [x for x in packets if x.timestamp != 3000]) == [frames[0], frames[2]]
    assert d.lost_packets == len(lost)


def test_gap_into_a_unit_without_visible_start_drops_it() -> None:
    d = H264Depacketizer(0)
    second_slice = b"\x41\x40" + bytes(20)  # first_mb_in_slice != 0: not the start of a picture
    out = feed_all(d, [pkt(1, 0, non_idr(20), True), pkt(3, 3000, second_slice, True), pkt(4, 6000, non_idr(9), True)])
    assert [f.pts for f in out] == [0, 6000]
    assert d.lost_units == 1


def test_duplicates_and_late_packets_are_dropped() -> None:
    d = H264Depacketizer(0)
    out = feed_all(d, [pkt(10, 0, non_idr(5), True), pkt(10, 0, non_idr(5), True), pkt(11, 3000, non_idr(6), True),
                       pkt(9, 9, non_idr(7), True)])
    assert [f.pts for f in out] == [0, 3000]
    assert d.late_packets == 2


def test_sequence_wrap_is_not_a_gap() -> None:
    d = H264Depacketizer(0)
    out = feed_all(d, [pkt(65535, 0, non_idr(5), True), pkt(0, 3000, non_idr(5), True)])
    assert len(out) == 2 and d.lost_packets == 0


def test_limits() -> None:
    d = H264Depacketizer(0, limits=Limits(max_unit_size=1000, max_nal_units=3))
    with pytest.raises(LimitExceeded):
        feed_all(d, [pkt(i, 0, non_idr(10)) for i in range(4)])
    p = H264Packetizer(96, ssrc=1, initial_sequence=10)
    with pytest.raises(LimitExceeded):
        feed_all(d, p.packetize(Frame(0, 3000, 3000, (idr(5000),), True)))
    # still usable afterwards
    assert feed_all(d, [pkt(20, 9000, non_idr(10), True)]) == [Frame(0, 9000, 9000, (non_idr(10),))]


def test_frames_completed_before_an_error_are_not_lost() -> None:
    d = H264Depacketizer(0)
    assert d.feed(pkt(1, 0, non_idr(10))) == []  # no marker: waits for the timestamp change
    with pytest.raises(ParseError):
        d.feed(pkt(2, 3000, b"\x7a\x00"))  # STAP-B (type 26): not in modes 0/1
    assert d.feed(pkt(3, 6000, non_idr(11), True)) == [
        Frame(0, 0, 0, (non_idr(10),)),
        Frame(0, 6000, 6000, (non_idr(11),)),
    ]
    assert d.malformed_packets == 1


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x1e\x00", b"\x1c\x85", b"\x78\x00", b"\x78\x00\x05ab", b"\x78\x00\x02\x67\x42\x00\x09\x41"],
)
def test_malformed_payloads_raise_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        H264Depacketizer(0).feed(pkt(1, 0, payload, True))


# -- quirks of real peers (QUIRKS.md), each named after the peer ------------------------------------


def test_quirk_some_cameras_fu_a_with_start_and_end_bits() -> None:
    nal = idr(40)
    payload = bytes([0x7C, 0xC5]) + nal[1:]
    d = H264Depacketizer(0)
    assert d.feed(pkt(1, 0, payload, True)) == [Frame(0, 0, 0, (nal,), True)]
    assert "fu-start-and-end" in d.quirks_seen
    with pytest.raises(ParseError):
        H264Depacketizer(0, strict=True).feed(pkt(1, 0, payload, True))


def test_quirk_cameras_annex_b_inside_single_nal_and_fu_a() -> None:
    d = H264Depacketizer(0)
    # a single-NAL packet holding two NAL units with a start code between them, and one with a prefix
    out = feed_all(d, [pkt(1, 0, SPS + b"\x00\x00\x00\x01" + PPS), pkt(2, 0, b"\x00\x00\x00\x01" + idr(20), True)])
    assert out == [Frame(0, 0, 0, (SPS, PPS, idr(20)), True)]
    # an FU-A whose reassembled NAL unit holds a start code and a second NAL unit
    joined = idr(30) + b"\x00\x00\x01" + idr(25, 0x11)
    fu = [b"\x7c\x85" + joined[1:40], b"\x7c\x45" + joined[40:]]
    assert feed_all(d, [pkt(3, 3000, fu[0]), pkt(4, 3000, fu[1], True)]) == [
        Frame(0, 3000, 3000, (idr(30), idr(25, 0x11)), True)
    ]
    # a whole Annex B access unit fragmented as if it were one NAL unit (its "header" is 0x00)
    stream = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS + b"\x00\x00\x01" + idr(300)
    fu = [b"\x1c\x80" + stream[1:100], b"\x1c\x00" + stream[100:200], b"\x1c\x40" + stream[200:]]
    assert feed_all(d, [pkt(5 + i, 6000, x, i == 2) for i, x in enumerate(fu)]) == [
        Frame(0, 6000, 6000, (SPS, PPS, idr(300)), True)
    ]
    assert "annexb-in-payload" in d.quirks_seen


def test_quirk_cameras_never_setting_the_marker_bit() -> None:
    d = H264Depacketizer(0)
    out = feed_all(d, [pkt(1, 0, SPS), pkt(2, 0, PPS), pkt(3, 0, idr(9)), pkt(4, 3000, non_idr(9)), pkt(5, 6000, non_idr(8))])
    assert out == [Frame(0, 0, 0, (SPS, PPS, idr(9)), True), Frame(0, 3000, 3000, (non_idr(9),))]
    assert d.flush() == [Frame(0, 6000, 6000, (non_idr(8),))]
    assert "no-marker-bit" in d.quirks_seen


def test_quirk_stap_a_zero_padding() -> None:
    stap = b"\x78" + struct.pack(">H", len(SPS)) + SPS + struct.pack(">H", len(PPS)) + PPS + bytes(6)
    d = H264Depacketizer(0)
    assert d._parse(stap) == ([SPS, PPS], None)
    assert "aggregation-zero-padding" in d.quirks_seen
    with pytest.raises(ParseError):
        H264Depacketizer(0, strict=True).feed(pkt(1, 0, stap))


def test_quirk_late_joiner_drops_fu_a_until_a_start_fragment() -> None:
    p = H264Packetizer(96, ssrc=1, mtu=400)
    f1 = Frame(0, 0, 0, (idr(1500),), True)
    f2 = Frame(0, 3000, 3000, (non_idr(1000),))
    packets = p.packetize(f1) + p.packetize(f2)
    d = H264Depacketizer(0)
    assert feed_all(d, packets[2:]) == [f2]  # joined in the middle of f1's fragments
    assert d.lost_units == 1


def test_quirk_reolink_sps_with_marker_and_previous_timestamp() -> None:
    d = H264Depacketizer(0)
    out = feed_all(
        d,
        [
            pkt(1, 3000, non_idr(20), True),
            pkt(2, 3000, SPS, True),  # Reolink: SPS with the marker bit and the previous timestamp
            pkt(3, 6000, PPS),
            pkt(4, 6000, idr(50), True),
        ],
    )
    assert out == [Frame(0, 3000, 3000, (non_idr(20),)), Frame(0, 6000, 6000, (SPS, PPS, idr(50)), True)]
    assert "parameter-sets-previous-timestamp" in d.quirks_seen


# -- properties ---------------------------------------------------------------------------------------

bodies = st.binary(min_size=1, max_size=3000).map(lambda b: b.replace(b"\x00\x00", b"\x00\x03"))


def _unit(prefix: list[tuple[int, bytes]], slice_type: int, first: bytes, rest: list[bytes]) -> tuple[bytes, ...]:
    """An access unit shaped as encoders send it: [AUD, SEI/SPS/PPS...] or nothing, then the first
    slice of the picture (first_mb_in_slice 0), then more slices (first_mb_in_slice > 0)."""
    nals = [AUD, *(bytes([0x60 | t]) + b for t, b in prefix)] if prefix else []
    nals.append(bytes([0x60 | slice_type, 0x80 | first[0]]) + first[1:])
    nals.extend(bytes([0x60 | slice_type, 0x7F & b[0]]) + b[1:] for b in rest)
    return tuple(nals)


access_units = st.builds(
    _unit,
    st.lists(st.tuples(st.sampled_from([6, 7, 8]), bodies), max_size=3),
    st.sampled_from([1, 5]),
    bodies,
    st.lists(bodies, max_size=4),
)


@given(st.lists(access_units, min_size=1, max_size=5), st.integers(40, 1500), st.integers(0, 65535))
def test_round_trip(units: list[tuple[bytes, ...]], mtu: int, seq: int) -> None:
    p = H264Packetizer(96, ssrc=1, mtu=mtu, initial_sequence=seq)
    frames = [Frame(0, 3000 * i, 3000 * i, u, any(n[0] & 0x1F == 5 for n in u)) for i, u in enumerate(units)]
    packets = [x for f in frames for x in p.packetize(f)]
    assert all(len(bytes(x)) <= mtu for x in packets)
    # Random SPS bodies may declare any reorder depth: decode times are tested in test_payload_dts.py.
    d = H264Depacketizer(0, decode_times=False)
    assert feed_all(d, [RtpPacket.parse(bytes(x)) for x in packets]) + d.flush() == frames
    assert (d.lost_units, d.lost_packets, d.quirks_seen) == (0, 0, set())


#: Units of slices only: whether a unit that lost only its AUD/SEI/parameter sets is whole is a
#: matter of definition (it is emitted; see test_unit_that_lost_only_its_prefix_is_emitted).
slice_units = st.builds(_unit, st.just([]), st.sampled_from([1, 5]), bodies, st.lists(bodies, max_size=4))


def test_unit_that_lost_only_its_prefix_is_emitted() -> None:
    d = H264Depacketizer(0)
    out = feed_all(d, [pkt(1, 0, AUD), pkt(3, 0, idr(40), True), pkt(4, 3000, SEI), pkt(6, 3000, non_idr(30), True)])
    assert out == []  # both units lost a packet that may have been a slice
    d = H264Depacketizer(0)
    out = feed_all(d, [pkt(1, 0, non_idr(9), True), pkt(3, 3000, PPS), pkt(4, 3000, idr(30), True)])
    assert out == [Frame(0, 0, 0, (non_idr(9),)), Frame(0, 3000, 3000, (PPS, idr(30)), True)]


@given(st.lists(slice_units, min_size=1, max_size=6), st.integers(60, 600),
       st.lists(st.floats(0, 1, exclude_max=True), max_size=12))
# Found with 20,000 examples: one unit of two NAL units whose last (marker) packet is lost; flush()
# gave the incomplete unit back as a frame (issue 16).
@example([(bytes([0x65, 0x80]) + bytes(80), bytes([0x65, 0x01]))], 60, [0.99])
def test_loss_gives_back_exactly_the_fully_delivered_frames(
    units: list[tuple[bytes, ...]], mtu: int, losses: list[float]
) -> None:
    p = H264Packetizer(96, ssrc=1, mtu=mtu)
    frames = [Frame(0, 3000 * i, 3000 * i, u, any(n[0] & 0x1F == 5 for n in u)) for i, u in enumerate(units)]
    per_frame = [p.packetize(f) for f in frames]
    count = sum(map(len, per_frame))
    dropped = {int(f * count) for f in losses}  # each loss picks a packet, uniformly
    delivered, expected = [], []
    i = 0
    for frame, packets in zip(frames, per_frame):
        whole = True
        for x in packets:
            if i in dropped:
                whole = False
            else:
                delivered.append(x)
            i += 1
        if whole:
            expected.append(frame)
    d = H264Depacketizer(0)
    assert feed_all(d, delivered) + d.flush() == expected


@given(st.lists(st.binary(max_size=60), max_size=20))
def test_random_payloads_raise_only_protocol_errors(payloads: list[bytes]) -> None:
    d = H264Depacketizer(0, limits=Limits(max_unit_size=2000, max_nal_units=10))
    frames: list[Frame] = []
    for i, payload in enumerate(payloads):
        try:
            frames.extend(d.feed(pkt(i, i // 3, payload, i % 3 == 2)))
        except ProtocolError:
            pass
    for f in frames + d.flush():
        assert all(f.data) and all(isinstance(n, bytes) and n for n in f.nal_units)


@given(access_units, st.data())
def test_mutated_packets_raise_only_protocol_errors(unit: tuple[bytes, ...], data: st.DataObject) -> None:
    packets = H264Packetizer(96, ssrc=1, mtu=200).packetize(Frame(0, 0, 0, unit))
    d = H264Depacketizer(0)
    for x in packets:
        raw = bytearray(x.payload)
        for _ in range(data.draw(st.integers(0, 3))):
            if raw:
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        try:
            d.feed(pkt(x.sequence_number, x.timestamp, bytes(raw[: data.draw(st.integers(0, len(raw)))]), x.marker))
        except ProtocolError:
            pass
