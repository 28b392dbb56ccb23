"""The muxer: packet structure, PSI, PCR, AUD and parameter sets, codecs, and mux -> demux round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.clock import rescale
from mediaproto.codecs.aac import AudioSpecificConfig
from mediaproto.errors import LocalProtocolError
from mediaproto.media import Codec, Frame, Track
from mediaproto.mpegts import Demuxer, FrameReceived, Muxer, Pat, Pmt, Sdt, TracksChanged, TsPacket
from mediaproto.mpegts.pes import PesHeader

SPS = b"\x67\x42\xc0\x0d\xd9\x01\x41\xfb\x01\x10"
PPS = b"\x68\xcb\x8c\xb2"
IDR = b"\x65\x88\x84\x00\x33"
P_SLICE = b"\x41\x9a\x38\x4f"
ASC = AudioSpecificConfig.lc(48000, 2).to_bytes()

H264 = Track(1, Codec.H264, 90000, parameter_sets=(SPS, PPS))
AAC = Track(2, Codec.AAC, 48000, config=ASC, sample_rate=48000, channels=2)


def _packets(data: bytes) -> list[TsPacket]:
    assert len(data) % 188 == 0
    return [TsPacket.parse(data[i:i + 188], i) for i in range(0, len(data), 188)]


def _pes_units(packets: list[TsPacket], pid: int) -> list[tuple[TsPacket, bytes]]:
    units: list[tuple[TsPacket, bytes]] = []
    for p in packets:
        if p.pid != pid or not p.payload:
            continue
        if p.payload_unit_start_indicator:
            units.append((p, p.payload))
        else:
            units[-1] = (units[-1][0], units[-1][1] + p.payload)
    return units


def _av_frames(seconds: float = 2.0) -> list[Frame]:
    frames = []
    for i in range(int(seconds * 25)):
        key = i % 25 == 0
        frames.append(Frame(1, 3600 * i + 7200, 3600 * i, (IDR if key else P_SLICE + bytes([i]),), key))
    for i in range(int(seconds * 48000 / 1024)):
        frames.append(Frame(2, 1024 * i, 1024 * i, bytes([0x21, i & 0xFF]) * 50, True))
    frames.sort(key=lambda f: f.dts * 90000 // (90000 if f.track_id == 1 else 48000))
    return frames


def test_structure_and_psi() -> None:
    mux = Muxer([H264, AAC])
    out = b"".join(mux.mux(f) for f in _av_frames())
    packets = _packets(out)
    # SDT, PAT, PMT first
    assert [p.pid for p in packets[:3]] == [0x11, 0x0, 0x1000]
    pat = Pat.parse(packets[1].payload[1:1 + 3 + packets[1].payload[3]])
    assert [(p.program_number, p.pid) for p in pat.programs] == [(1, 0x1000)]
    pmt = Pmt.parse(packets[2].payload[1:1 + 3 + packets[2].payload[3]])
    assert pmt.pcr_pid == 0x100
    assert [(s.stream_type, s.elementary_pid) for s in pmt.streams] == [(0x1B, 0x100), (0x0F, 0x101)]
    sdt = Sdt.parse(packets[0].payload[1:1 + 3 + packets[0].payload[3]])
    assert sdt.services[0].service_name == "Service01"
    # continuity counters advance by one per payload packet, per PID
    last: dict[int, int] = {}
    for p in packets:
        if p.payload:
            if p.pid in last:
                assert p.continuity_counter == (last[p.pid] + 1) & 15
            last[p.pid] = p.continuity_counter
    # PAT repeated at least every 100 ms of stream time (2 s -> >= 20) and before each keyframe
    assert sum(1 for p in packets if p.pid == 0) >= 20


def test_pcr_interval_and_lead() -> None:
    mux = Muxer([H264, AAC])
    packets = _packets(b"".join(mux.mux(f) for f in _av_frames()))
    pcrs = []
    for p in packets:
        af = p.adaptation_field
        if af is not None and af.pcr is not None:
            assert p.pid == 0x100
            pcrs.append(af.pcr)
            if p.payload_unit_start_indicator:
                header = PesHeader.parse(p.payload)
                dts = header.dts if header.dts is not None else header.pts
                assert dts is not None and dts * 300 - af.pcr in (0, 9000 * 300) or af.pcr == 0
    assert len(pcrs) >= 50  # a PCR with every video PES
    assert all(0 <= b - a <= 27_000_000 * 40 // 1000 for a, b in zip(pcrs, pcrs[1:]))


def test_pcr_only_packets_between_sparse_video() -> None:
    mux = Muxer([H264, AAC])
    frames = [Frame(1, 0, 0, (IDR,), True), Frame(1, 45000, 45000, (P_SLICE,))]
    frames += [Frame(2, 1024 * i, 1024 * i, b"\x21\x00", True) for i in range(24)]
    frames.sort(key=lambda f: f.dts * 90000 // (90000 if f.track_id == 1 else 48000))
    packets = _packets(b"".join(mux.mux(f) for f in frames))
    pcrs = [p.adaptation_field.pcr for p in packets if p.adaptation_field and p.adaptation_field.pcr is not None]
    assert all(b - a <= 27_000_000 * 40 // 1000 for a, b in zip(pcrs, pcrs[1:]))
    only = [p for p in packets if p.pid == 0x100 and not p.payload]
    assert only  # PCR-only packets, no payload, counter not advanced


def test_audio_only_pcr_on_every_pes() -> None:
    mux = Muxer([AAC])
    packets = _packets(b"".join(mux.mux(Frame(2, 1024 * i, 1024 * i, b"\x21" * 300, True)) for i in range(10)))
    starts = [p for p in packets if p.pid == 0x100 and p.payload_unit_start_indicator]
    assert len(starts) == 10
    assert all(p.adaptation_field and p.adaptation_field.pcr is not None for p in starts)


def test_aud_parameter_sets_and_random_access() -> None:
    mux = Muxer([H264], sdt_interval=None)
    frames = [Frame(1, 0, 0, (IDR,), True), Frame(1, 3600, 3600, (P_SLICE,)),
              Frame(1, 7200, 7200, (b"\x09\xf0", SPS, PPS, IDR), True)]
    units = _pes_units(_packets(b"".join(mux.mux(f) for f in frames)), 0x100)
    assert len(units) == 3
    payloads = []
    for first, data in units:
        header = PesHeader.parse(data)
        assert header.stream_id == 0xE0 and header.pes_packet_length == 0
        payloads.append(data[header.header_length:])
    start = b"\x00\x00\x00\x01"
    assert payloads[0] == start + b"\x09\xf0" + start + SPS + start + PPS + start + IDR
    assert payloads[1] == start + b"\x09\xf0" + start + P_SLICE
    assert payloads[2] == start + b"\x09\xf0" + start + SPS + start + PPS + start + IDR
    assert [bool(u[0].adaptation_field and u[0].adaptation_field.random_access_indicator) for u in units] == [
        True, False, True]


def test_h265_aud_and_parameter_sets() -> None:
    vps, sps, pps = b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc1"
    idr = b"\x26\x01\xaf"  # IDR_W_RADL (19)
    mux = Muxer([Track(1, Codec.H265, 90000, parameter_sets=(vps, sps, pps))])
    units = _pes_units(_packets(mux.mux(Frame(1, 0, 0, (idr,), True))), 0x100)
    data = units[0][1]
    payload = data[PesHeader.parse(data).header_length:]
    start = b"\x00\x00\x00\x01"
    # AUD: nal_unit_type 35, nuh_temporal_id_plus1 1, pic_type 2 + stop bit
    assert payload == start + b"\x46\x01\x50" + start + vps + start + sps + start + pps + start + idr
    pmt = Pmt.parse(mux.pmt.to_bytes())
    assert pmt.streams[0].stream_type == 0x24


def test_aac_is_adts() -> None:
    mux = Muxer([AAC])
    units = _pes_units(_packets(mux.mux(Frame(2, 0, 0, b"\x21\x10\x05", True))), 0x100)
    data = units[0][1]
    header = PesHeader.parse(data)
    assert header.stream_id == 0xC0 and header.pes_packet_length == len(data) - 6
    # ADTS: sync, MPEG-4, no CRC, LC (profile 1), 48 kHz (index 3), 2 channels, length 10, fullness 0x7FF
    assert data[header.header_length:] == bytes.fromhex("fff14c80015ffc") + b"\x21\x10\x05"


def test_opus_mapping() -> None:
    opus = Track(3, Codec.OPUS, 48000, channels=2)
    mux = Muxer([opus])
    pmt = mux.pmt
    stream = pmt.streams[0]
    assert stream.stream_type == 0x06 and stream.format_identifier == b"Opus"
    assert stream.descriptors[1].tag == 0x7F and stream.descriptors[1].data == b"\x80\x02"
    units = _pes_units(_packets(mux.mux(Frame(3, 0, 0, b"\xfc" + bytes(299), True))), 0x100)
    data = units[0][1]
    header = PesHeader.parse(data)
    assert header.stream_id == 0xBD
    # control header: 0x7FE0, au_size 300 = 0xFF + 45
    assert data[header.header_length:header.header_length + 4] == bytes.fromhex("7fe0ff2d")


def test_mp3_stream_types() -> None:
    assert Muxer([Track(1, Codec.MP3, 90000, sample_rate=44100)]).pmt.streams[0].stream_type == 0x03
    assert Muxer([Track(1, Codec.MP3, 90000, sample_rate=22050)]).pmt.streams[0].stream_type == 0x04


def test_psi_call_resets_timer() -> None:
    mux = Muxer([H264], sdt_interval=None)
    psi = mux.psi()
    assert [p.pid for p in _packets(psi)] == [0, 0x1000]
    out = mux.mux(Frame(1, 0, 0, (IDR,), True))
    assert [p.pid for p in _packets(out)][0] == 0x100  # no second PAT right after psi()


def test_errors() -> None:
    with pytest.raises(LocalProtocolError):
        Muxer([])
    with pytest.raises(LocalProtocolError):
        Muxer([Track(1, Codec.AAC, 48000)])  # no config
    with pytest.raises(LocalProtocolError):
        Muxer([Track(1, Codec.VP8, 90000)])
    with pytest.raises(LocalProtocolError):
        Muxer([H264]).mux(Frame(9, 0, 0, b""))


def test_ref_frames_round_trip(vectors: Path) -> None:
    dm = Demuxer()
    events = dm.feed((vectors / "ref.ts").read_bytes()) + dm.flush()
    tracks = [e for e in events if isinstance(e, TracksChanged)][-1].tracks
    frames = [e.frame for e in events if isinstance(e, FrameReceived)]
    mux = Muxer(tracks)
    out = b"".join(mux.mux(f) for f in sorted(frames, key=lambda f: f.dts)) + mux.drain()
    dm2 = Demuxer()
    back = [e.frame for e in dm2.feed(out) + dm2.flush() if isinstance(e, FrameReceived)]
    key = lambda f: (f.track_id, f.dts)  # noqa: E731
    assert sorted(back, key=key) == sorted(frames, key=key)


def test_timestamps_wrap_at_33_bits() -> None:
    mux = Muxer([H264], sdt_interval=None)
    start = (1 << 33) - 3600 * 5
    frames = [Frame(1, start + 3600 * i, start + 3600 * i, (IDR if i == 0 else P_SLICE,), i == 0) for i in range(10)]
    dm = Demuxer()
    out = b"".join(mux.mux(f) for f in frames)
    got = [e.frame for e in dm.feed(out) + dm.flush() if isinstance(e, FrameReceived)]
    assert [f.pts for f in got] == [f.pts for f in frames]


nal_bodies = st.binary(min_size=1, max_size=600)


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4]), st.integers(0, 9000), st.integers(0, 3000), nal_bodies,
                          st.booleans()), min_size=1, max_size=30))
def test_random_frames_round_trip(items: list[tuple[int, int, int, bytes, bool]]) -> None:
    opus = Track(3, Codec.OPUS, 48000, channels=2)
    aac = Track(2, Codec.AAC, 90000, config=ASC, sample_rate=48000, channels=2)
    hevc = Track(4, Codec.H265, 90000)
    mux = Muxer([H264, aac, opus, hevc])
    clock = {1: 0, 2: 0, 3: 0, 4: 0}
    frames = []
    for tid, step, offset, body, key in items:
        clock[tid] += step
        dts = clock[tid]
        if tid == 1:
            nal = bytes([0x65 if key else 0x41]) + body.replace(b"\x00\x00", b"\x00\x03")
            nal = nal.rstrip(b"\x00") or b"\x41"
            data: tuple[bytes, ...] | bytes = (SPS, PPS, nal) if key else (nal,)
            frames.append(Frame(1, dts + offset, dts, data, key))
        elif tid == 4:
            # H.265 NAL header: type 19 (IDR_W_RADL) or 1 (TRAIL_R), nuh_temporal_id_plus1 1
            nal = bytes([19 << 1 if key else 1 << 1, 1]) + body.replace(b"\x00\x00", b"\x00\x03")
            nal = nal.rstrip(b"\x00") or b"\x02\x01"
            params = (b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc1")
            frames.append(Frame(4, dts + offset, dts, params + (nal,) if key else (nal,), key))
        else:
            frames.append(Frame(tid, dts, dts, body[:400], True))
    out = b"".join(mux.mux(f) for f in frames) + mux.drain()
    dm = Demuxer()
    got = [e.frame for e in dm.feed(out) + dm.flush() if isinstance(e, FrameReceived)]
    pid_to_track = {v: k for k, v in mux.pids.items()}
    rates = {1: 90000, 2: 90000, 3: 48000, 4: 90000}
    expected = []
    for f in frames:
        t = f.track_id
        expected.append((t, rescale(f.pts, rates[t], 90000), rescale(f.dts, rates[t], 90000), f.data, f.keyframe))
    back = [(pid_to_track[f.track_id], f.pts, f.dts, f.data, f.keyframe) for f in got]
    key = lambda x: (x[0], x[2])  # noqa: E731
    assert sorted(back, key=key) == sorted(expected, key=key)


def test_several_audio_frames_per_pes() -> None:
    mux = Muxer([H264, AAC], audio_frames_per_pes=4)
    frames = _av_frames(1.0)
    out = b"".join(mux.mux(f) for f in frames)
    rest = mux.drain()
    assert rest and mux.drain() == b""
    packets = _packets(out + rest)
    audio = [f for f in frames if f.track_id == 2]
    assert len(_pes_units(packets, 0x101)) == -(-len(audio) // 4)
    dm = Demuxer()
    got = [e.frame for e in dm.feed(out + rest) + dm.flush() if isinstance(e, FrameReceived) and e.frame.track_id == 0x101]
    assert [f.data for f in got] == [f.data for f in audio]
    assert [f.pts for f in got] == [rescale(f.pts, 48000, 90000) for f in audio]
    with pytest.raises(LocalProtocolError):
        Muxer([AAC], audio_frames_per_pes=0)


def test_psi_before_first_frame_counts_from_it() -> None:
    mux = Muxer([H264], sdt_interval=None)
    mux.psi()
    start = 10 * 90000
    out = mux.mux(Frame(1, start, start, (IDR,), True)) + mux.mux(Frame(1, start + 3600, start + 3600, (P_SLICE,)))
    assert 0 not in [p.pid for p in _packets(out)]
