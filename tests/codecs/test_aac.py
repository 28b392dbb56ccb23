from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.codecs.aac import (
    SAMPLING_FREQUENCIES,
    AdtsHeader,
    AudioSpecificConfig,
    adts_wrap,
    is_adts,
    frame_samples,
    split_adts,
)
from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError

from .strategies import fuzz_input
from .tsutil import elementary_stream

# (hex, object_type, sampling_frequency_index, sample_rate, channel_configuration, channels,
#  sbr_present, ps_present, extension_object_type, extension_sample_rate). Expected values worked
# out by hand from ISO/IEC 14496-3 section 1.6.2.1 and the sources noted.
ASC_CASES = [
    # FFmpeg's SDP for the reference clip (vectors README): LC 48 kHz stereo, then the
    # backward-compatible sync extension 0x2b7 with object type 5 and sbrPresentFlag = 0.
    ("119056e500", 2, 3, 48000, 2, 2, False, None, 5, None),
    # The common LC configurations: 00010 0100 0010 000 (44.1 kHz stereo), 00010 0011 0001 000.
    ("1210", 2, 4, 44100, 2, 2, None, None, 0, None),
    ("1188", 2, 3, 48000, 1, 1, None, None, 0, None),
    ("1390", 2, 7, 22050, 2, 2, None, None, 0, None),
    # HE-AAC v1 hierarchical: 00101 0110 0010 0011 00010 000 (24 kHz core, 48 kHz SBR).
    ("2b118800", 2, 6, 24000, 2, 2, True, None, 5, 48000),
    # HE-AAC v2 hierarchical: 11101 0110 0001 0011 00010 000 (PS makes mono stereo).
    ("eb098800", 2, 6, 24000, 1, 2, True, True, 5, 48000),
]


def _explicit_rate_asc() -> bytes:
    bits = "00010" + "1111" + format(44100, "024b") + "0010" + "000"
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


@pytest.mark.parametrize("case", ASC_CASES, ids=lambda c: c[0])
def test_asc_vectors(case: tuple) -> None:  # type: ignore[type-arg]
    hexs, aot, idx, rate, chcfg, ch, sbr, ps, ext, ext_rate = case
    asc = AudioSpecificConfig.parse(bytes.fromhex(hexs))
    assert asc.object_type == aot
    assert asc.sampling_frequency_index == idx
    assert asc.sample_rate == rate
    assert asc.channel_configuration == chcfg
    assert asc.channels == ch
    assert asc.sbr_present is sbr
    assert asc.ps_present is ps
    assert asc.extension_object_type == ext
    assert asc.extension_sample_rate == ext_rate
    assert asc.frame_length == 1024
    assert asc.to_bytes() == bytes.fromhex(hexs)


def test_asc_explicit_frequency() -> None:
    data = _explicit_rate_asc()
    asc = AudioSpecificConfig.parse(data)
    assert (asc.sampling_frequency_index, asc.sample_rate, asc.channels) == (15, 44100, 2)
    assert asc.to_bytes() == data


def test_asc_escaped_object_type() -> None:
    # 11111 000100 (32 + 4 = 36, ALS) 0011 0010, then ALS-specific bits kept verbatim.
    bits = "11111" + "000100" + "0011" + "0010" + "1010101010101"
    bits += "0" * (-len(bits) % 8)
    data = int(bits, 2).to_bytes(len(bits) // 8, "big")
    asc = AudioSpecificConfig.parse(data)
    assert asc.object_type == 36
    assert asc.sample_rate == 48000
    assert asc.to_bytes() == data


def test_asc_960_frame_length() -> None:
    asc = AudioSpecificConfig.parse(bytes.fromhex("1194"))  # 00010 0011 0010 100
    assert asc.frame_length == 960
    assert frame_samples(asc) == 960


def test_asc_pce_channels() -> None:
    # LC 48 kHz, channel configuration 0, PCE: tag 0, profile 1, index 3, 1 front (CPE),
    # 0 side, 1 back (CPE), 1 LFE, no assoc/cc, no mixdowns -> 2 + 2 + 1 = 5 channels.
    bits = "00010" + "0011" + "0000" + "000"
    bits += "0000" + "01" + "0011" + "0001" + "0000" + "0001" + "01" + "000" + "0000" + "000"
    bits += "1" + "0000" + "1" + "0001" + "0010"
    bits += "0" * (-len(bits) % 8) + "00000000"  # byte_alignment, comment_field_bytes = 0
    data = int(bits, 2).to_bytes(len(bits) // 8, "big")
    asc = AudioSpecificConfig.parse(data)
    assert asc.channel_configuration == 0
    assert asc.channels == 5
    assert asc.to_bytes() == data


@pytest.mark.parametrize("hexs", ["", "10", "f8", "1710", "0000", "16"])
def test_asc_malformed(hexs: str) -> None:
    with pytest.raises(ParseError):
        AudioSpecificConfig.parse(bytes.fromhex(hexs))


def test_lc_constructor() -> None:
    assert AudioSpecificConfig.lc(44100, 2).to_bytes() == bytes.fromhex("1210")
    assert AudioSpecificConfig.lc(48000, 1).to_bytes() == bytes.fromhex("1188")
    assert AudioSpecificConfig.lc(48000, 8).channel_configuration == 7
    assert AudioSpecificConfig.lc(44100, 2).channels == 2
    with pytest.raises(LocalProtocolError):
        AudioSpecificConfig.lc(48000, 7)


@given(st.sampled_from(SAMPLING_FREQUENCIES + (1234, 50000)), st.sampled_from([1, 2, 3, 4, 5, 6, 8]))
def test_lc_round_trip(rate: int, channels: int) -> None:
    asc = AudioSpecificConfig.lc(rate, channels)
    assert AudioSpecificConfig.parse(asc.to_bytes()) == asc
    assert asc.sample_rate == rate and asc.channels == channels


_ASC_SEEDS = [bytes.fromhex(c[0]) for c in ASC_CASES] + [_explicit_rate_asc()]


@given(fuzz_input(_ASC_SEEDS))
def test_asc_fuzz(data: bytes) -> None:
    try:
        asc = AudioSpecificConfig.parse(data)
    except ProtocolError:
        return
    # Whatever parses writes back to something that parses to the same value.
    assert AudioSpecificConfig.parse(asc.to_bytes()) == asc


# --- ADTS ---

# FF F1 50 80 ... : MPEG-4, layer 0, no CRC, LC, 44.1 kHz, stereo (hand-built from table 1.A.5).
def _adts_bits(length: int, *, crc: bool = False, blocks: int = 0) -> bytes:
    bits = "111111111111" + "0" + "00" + ("0" if crc else "1") + "01" + "0100" + "0" + "010"
    bits += "0000" + format(length, "013b") + "11111111111" + format(blocks, "02b")
    return int(bits, 2).to_bytes(7, "big")


def test_adts_header_vector() -> None:
    raw = _adts_bits(107)
    assert raw[:4] == bytes.fromhex("fff15080")
    h = AdtsHeader.parse(raw)
    assert (h.id, h.mpeg_version, h.layer, h.protection_absent) == (0, 4, 0, 1)
    assert (h.profile, h.object_type, h.sampling_frequency_index, h.sample_rate) == (1, 2, 4, 44100)
    assert (h.channel_configuration, h.channels, h.frame_length) == (2, 2, 107)
    assert (h.adts_buffer_fullness, h.number_of_raw_data_blocks_in_frame) == (0x7FF, 0)
    assert h.header_length == 7 and h.payload_length == 100
    assert h.to_bytes() == raw
    assert h.to_config() == AudioSpecificConfig.lc(44100, 2)


def test_adts_wrap_and_split() -> None:
    config = AudioSpecificConfig.lc(44100, 2)
    payloads = [b"\x21" * 100, b"", b"\x00" * 7, bytes(range(256)) * 3]
    stream = b"".join(adts_wrap(p, config) for p in payloads)
    assert stream[:7] == _adts_bits(107)
    frames = split_adts(stream)
    assert [p for _, p in frames] == payloads
    assert all(h.to_config() == config for h, _ in frames)


def test_adts_crc() -> None:
    raw = _adts_bits(9 + 3, crc=True) + b"\xab\xcd" + b"xyz"
    [(h, payload)] = split_adts(raw)
    assert h.header_length == 9 and h.crc_check == 0xABCD and payload == b"xyz"
    assert h.to_bytes() == raw[:9]


@pytest.mark.parametrize("data,offset", [
    (b"\x00" * 10, 0),
    (_adts_bits(10) + b"abc" + b"\xff\xf1", 10),  # truncated second header
    (_adts_bits(20) + b"abc", 0),  # frame runs past the end
    (_adts_bits(5), 0),  # length shorter than the header
    (_adts_bits(10) + b"abc" + b"garbage", 10),
    (_adts_bits(11, crc=True, blocks=1) + b"\x00\x00\x00\x00", 0),
])
def test_adts_strict(data: bytes, offset: int) -> None:
    with pytest.raises(ParseError) as info:
        split_adts(data)
    assert info.value.offset is not None and info.value.offset >= offset


def test_adts_wrap_rejects() -> None:
    with pytest.raises(LocalProtocolError):
        adts_wrap(b"x" * 9000, AudioSpecificConfig.lc(48000, 2))
    with pytest.raises(LocalProtocolError):
        adts_wrap(b"x", AudioSpecificConfig.lc(1234, 2))


@given(st.binary(max_size=300), st.sampled_from(SAMPLING_FREQUENCIES), st.sampled_from([1, 2, 6, 8]))
def test_adts_round_trip(payload: bytes, rate: int, channels: int) -> None:
    config = AudioSpecificConfig.lc(rate, channels)
    [(h, p)] = split_adts(adts_wrap(payload, config))
    assert p == payload and h.to_config() == config
    assert AdtsHeader.parse(h.to_bytes()) == h


_ADTS_SEEDS = [adts_wrap(b"abc", AudioSpecificConfig.lc(48000, 2)) * 2, _adts_bits(12, crc=True) + b"\0" * 5]


@given(fuzz_input(_ADTS_SEEDS))
def test_adts_fuzz(data: bytes) -> None:
    try:
        frames = split_adts(data)
    except ProtocolError:
        return
    assert b"".join(h.to_bytes() + p for h, p in frames) == data


def test_adts_ref_ts(vectors: Path) -> None:
    """FFmpeg's ADTS in ref.ts: 189 frames, sizes as ffprobe lists them (ref.ts.packets.csv)."""
    es = elementary_stream((vectors / "ref.ts").read_bytes(), 257)
    frames = split_adts(es)
    rows = [r.split(",") for r in (vectors / "ref.ts.packets.csv").read_text().splitlines() if r.startswith("1,")]
    assert [h.frame_length for h, _ in frames] == [int(r[3]) for r in rows]
    h = frames[0][0]
    assert (h.sample_rate, h.channels, h.object_type) == (48000, 2, 2)
    sdp_config = AudioSpecificConfig.parse(bytes.fromhex("119056E500"))
    assert h.to_config().sample_rate == sdp_config.sample_rate
    assert h.to_config().channels == sdp_config.channels


def test_is_adts() -> None:
    config = AudioSpecificConfig.lc(48000, 2)
    assert is_adts(adts_wrap(b"\x21\x00\x49", config))
    assert not is_adts(b"\x21\x00\x49\x90\x02\x19\x00")  # a raw AAC LC frame
    assert not is_adts(adts_wrap(b"abc", config)[:-1])  # frame longer than the data
    assert not is_adts(b"\xff\xf1")


@given(fuzz_input(_ADTS_SEEDS), st.integers(0, 20))
def test_adts_header_fuzz(data: bytes, offset: int) -> None:
    is_adts(data)
    try:
        h = AdtsHeader.parse(data, offset)
    except ProtocolError as exc:
        assert exc.offset is not None
        return
    assert h.to_bytes() == data[offset:offset + h.header_length]


def test_asc_eld_frame_length() -> None:
    # 11111 000111 (object type 39, ER AAC ELD) 0011 0001, ELDSpecificConfig frameLengthFlag 1.
    bits = "11111" + "000111" + "0011" + "0001" + "1" + "0000000"
    bits += "0" * (-len(bits) % 8)
    data = int(bits, 2).to_bytes(len(bits) // 8, "big")
    asc = AudioSpecificConfig.parse(data)
    assert (asc.object_type, asc.frame_length, asc.channels) == (39, 480, 1)
    assert asc.to_bytes() == data
