"""The muxer's hot path against the reference functions it stands in for.

``Muxer`` writes PES headers and timestamps as integers (``_timestamp40``) and single-packet PES
directly; the bytes must be the ones ``encode_timestamp`` / ``build_pes_header`` give, and the
packet layout the one ISO/IEC 13818-1 section 2.4.3 describes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.codecs.aac import AudioSpecificConfig
from mediaproto.media import Codec, Frame, Track
from mediaproto.mpegts import Muxer, TsPacket
from mediaproto.mpegts.mux import _timestamp40
from mediaproto.mpegts.packet import encode_timestamp
from mediaproto.mpegts.pes import build_pes_header

_ASC = AudioSpecificConfig.lc(48000, 2).to_bytes()
_AAC = Track(1, Codec.AAC, 90000, config=_ASC, sample_rate=48000, channels=2)
_MP3 = Track(2, Codec.MP3, 90000, sample_rate=44100)
_H264 = Track(3, Codec.H264, 90000, parameter_sets=(b"\x67\x42\xc0\x0d", b"\x68\xcb\x8c\xb2"))


@given(st.sampled_from([1, 2, 3]), st.integers(0, (1 << 33) - 1))
def test_timestamp40_is_encode_timestamp(prefix: int, ts: int) -> None:
    assert _timestamp40(prefix, ts).to_bytes(5, "big") == encode_timestamp(prefix, ts)


@settings(max_examples=200, deadline=None)
@given(pts=st.integers(0, (1 << 34)), delta=st.integers(0, 9000), size=st.integers(3, 70000),
       track=st.sampled_from([_MP3, _H264]))
def test_pes_header_is_build_pes_header(pts: int, delta: int, size: int, track: Track) -> None:
    mux = Muxer([track], psi_interval=1e9, sdt_interval=None, pcr_lead=0)
    mux.mux(Frame(track.id, 0, 0, b"\xff\xfb" + bytes(10) if track is _MP3 else (b"\x09\xf0",), True))
    dts = pts - delta
    data = (b"\xff\xfb" + bytes(size - 2)) if track is _MP3 else (b"\x41" + bytes(size - 1),)
    out = mux.mux(Frame(track.id, pts, dts, data, False))
    packets = [TsPacket.parse(out[i:i + 188], i) for i in range(0, len(out), 188)]
    es_packets = [p for p in packets if p.pid == 0x100 and p.payload]
    first = es_packets[0]
    assert first.payload_unit_start_indicator
    payload = b"".join(bytes(p.payload) for p in es_packets)
    es_size = size if track is _MP3 else len(payload) - (19 if pts % (1 << 33) != dts % (1 << 33) else 14)
    expected = build_pes_header(0xC0 if track is _MP3 else 0xE0, pts % (1 << 33), dts % (1 << 33), es_size)
    if track is _H264:  # video PES have length 0
        expected = expected[:4] + b"\x00\x00" + expected[6:]
    assert payload.startswith(expected)
    assert [p.continuity_counter for p in es_packets] == [(1 + i) % 16 for i in range(len(es_packets))]


def test_single_packet_pes_layout() -> None:
    mux = Muxer([_AAC], psi_interval=1e9, sdt_interval=None)
    mux.mux(Frame(1, 0, 0, bytes(100), True))  # PSI, PCR
    out = mux.mux(Frame(1, 1920, 1920, bytes(150), False))
    packets = [TsPacket.parse(out[i:i + 188], i) for i in range(0, len(out), 188)]
    es = [p for p in packets if p.pid == 0x100 and p.payload]
    assert len(es) == 1
    (p,) = es
    # 7 bytes ADTS + 150 bytes + 14 bytes PES header = 171: 13 bytes of adaptation field stuffing
    assert p.payload_unit_start_indicator and len(p.payload) == 171 and p.continuity_counter == 1
    assert bytes(p.payload[:3]) == b"\x00\x00\x01" and p.payload[3] == 0xC0
