"""The AAC-LC frames, read back with a raw_data_block reader written from ISO/IEC 14496-3 4.4.2."""

from __future__ import annotations

import pytest

from mediaproto.bits import BitReader
from mediaproto.errors import LocalProtocolError
from mediaproto.testsrc.aacenc import SWB_OFFSET_LONG, ToneEncoder, silent_frame, tone_frame, tone_line

# Table 4.A.2 (codebook 1, signed quads of -1..1): index = 27(w+1) + 9(x+1) + 3(y+1) + (z+1).
# The entries of the quads with at most one non-zero value: index -> (codeword, length).
_CB1 = {40: (0b0, 1), 67: (0x10, 5), 13: (0x11, 5), 49: (0x13, 5), 31: (0x17, 5),
        43: (0x16, 5), 37: (0x15, 5), 41: (0x14, 5), 39: (0x12, 5)}
_CB1_DECODE = {code: idx for idx, code in _CB1.items()}


def _read_cb1_quad(r: BitReader) -> tuple[int, int, int, int]:
    code, n = 0, 0
    while (code, n) not in _CB1_DECODE:
        code, n = (code << 1) | r.read(1), n + 1
        assert n <= 5, "codeword outside the quads this encoder may write"
    idx = _CB1_DECODE[(code, n)]
    return (idx // 27 - 1, idx // 9 % 3 - 1, idx // 3 % 3 - 1, idx % 3 - 1)


def _read_ics(r: BitReader, swb: tuple[int, ...]) -> tuple[int, dict[int, int]]:
    """One individual_channel_stream(0): (global_gain, {line: quantized value})."""
    global_gain = r.read(8)
    assert r.read(1) == 0  # ics_reserved_bit
    assert r.read(2) == 0  # window_sequence: ONLY_LONG_SEQUENCE
    r.read(1)  # window_shape
    max_sfb = r.read(6)
    assert r.read(1) == 0  # predictor_data_present
    bands: list[int] = []
    while len(bands) < max_sfb:  # section_data()
        cb = r.read(4)
        length = 0
        while (incr := r.read(5)) == 31:
            length += 31
        bands += [cb] * (length + incr)
    assert len(bands) == max_sfb
    for cb in bands:  # scale_factor_data(): only the first coded band, difference 0 ("0")
        if cb:
            assert r.read(1) == 0
    assert r.read(3) == 0  # pulse, tns, gain control
    lines: dict[int, int] = {}
    for band, cb in enumerate(bands):
        if cb == 0:
            continue
        assert cb == 1
        for start in range(swb[band], swb[band + 1], 4):
            for i, v in enumerate(_read_cb1_quad(r)):
                if v:
                    lines[start + i] = v
    return global_gain, lines


def _read_block(data: bytes, channels: int, swb: tuple[int, ...]) -> list[tuple[int, dict[int, int]]]:
    r = BitReader(data)
    out = []
    element = r.read(3)
    assert r.read(4) == 0  # element_instance_tag
    if channels == 1:
        assert element == 0  # ID_SCE
        out.append(_read_ics(r, swb))
    else:
        assert element == 1  # ID_CPE
        assert r.read(1) == 0  # common_window
        out += [_read_ics(r, swb), _read_ics(r, swb)]
    assert r.read(3) == 7  # ID_END
    assert r.bits_left < 8 and r.read(r.bits_left) == 0
    return out


def test_silent_mono_frame_bits() -> None:
    # SCE 000, tag 0000, global_gain 0, ics_info 0 00 0 000000 0, no pulse/tns/gc 000, END 111:
    # 29 zero bits then 111.
    assert silent_frame(48000, 1) == b"\x00\x00\x00\x07"


def test_silent_stereo_frame_reads_back() -> None:
    assert _read_block(silent_frame(44100, 2), 2, SWB_OFFSET_LONG[44100]) == [(0, {}), (0, {})]


@pytest.mark.parametrize(("rate", "freq", "k", "alternate", "exact"), [
    (48000, 1000.0, 43, True, 1007.8125),  # 48000/2048 = 23.4375 Hz per line
    (48000, 440.0, 19, True, 445.3125),
    (48000, 3000.0, 128, False, 3000.0),
    (44100, 1000.0, 46, False, 990.52734375),
])
def test_tone_line(rate: int, freq: float, k: int, alternate: bool, exact: float) -> None:
    assert tone_line(rate, freq) == (k, alternate, exact)


@pytest.mark.parametrize("line", [0, 3, 39, 40, 43, 47, 127, 500, 1000, 1023])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("channels", [1, 2])
def test_tone_frame_holds_one_line(line: int, sign: int, channels: int) -> None:
    swb = SWB_OFFSET_LONG[48000]
    data = tone_frame(48000, channels, line, sign, 187)
    assert _read_block(data, channels, swb) == [(187, {line: sign})] * channels


def test_tone_encoder_sign_pattern() -> None:
    odd = ToneEncoder(48000, 1, 1000.0)  # line 43: alternating signs
    assert odd.frame(0) != odd.frame(1) and odd.frame(0) == odd.frame(2)
    even = ToneEncoder(44100, 1, 1000.0)  # line 46: constant sign
    assert even.frame(0) == even.frame(1)
    assert ToneEncoder(48000, 2, 0).frame(5) == silent_frame(48000, 2)


@pytest.mark.parametrize("args", [(32000, 2, 1000.0), (48000, 3, 1000.0), (48000, 2, 30000.0), (48000, 2, 1.0)])
def test_bad_arguments(args: tuple[int, int, float]) -> None:
    with pytest.raises(LocalProtocolError):
        ToneEncoder(*args)
