"""A minimal AAC-LC encoder: silence, or one steady sine tone (ISO/IEC 14496-3).

Each raw frame (``raw_data_block()``, 4.4.2.1) holds one single channel element (mono) or one
channel pair element without a common window (stereo), then ``ID_END``. Each channel's
``individual_channel_stream()`` uses one long window (``ONLY_LONG_SEQUENCE``, sine window shape):

* silence: ``max_sfb`` 0, so there are no sections, scale factors or spectral data;
* a tone: exactly one non-zero spectral line ``k`` of quantized value +/-1. The bands below the
  line's scale factor band are one section of ``ZERO_HCB``; the line's band is one section of
  codebook 1 (signed 4-tuples of -1..1, Table 4.A.2). Its scale factor equals ``global_gain``, so
  its difference codes as index 60 of the scale factor codebook, the one-bit word ``0``
  (Table 4.A.1).

Why one line makes a clean tone: the IMDCT of line ``k`` in frame ``i`` is a windowed cosine of
frequency ``(k + 1/2) fs / 2048`` whose phase moves by ``pi (k + 1/2)`` from one frame to the next.
With the sine window, overlap-adding two such halves whose phases differ by ``-/+ pi/2`` gives a
cosine of constant amplitude whose phase slides by ``pi/2`` across the 1024-sample overlap: a pure
sinusoid at ``k fs / 2048`` (difference ``-pi/2``) or ``(k + 1) fs / 2048`` (``+pi/2``). Line ``k``
with a constant sign gives the first for even ``k``; flipping the sign every frame turns the odd
case into the first as well. So any multiple ``j`` of ``fs / 2048`` is coded exactly with line
``k = j``, a constant sign when ``j`` is even and alternating signs when ``j`` is odd.
"""

from __future__ import annotations

import bisect

from ..bits import BitWriter
from ..errors import LocalProtocolError

__all__ = ["SWB_OFFSET_LONG", "SAMPLES_PER_FRAME", "silent_frame", "tone_frame", "tone_line", "ToneEncoder"]

#: Samples per channel in one AAC-LC frame.
SAMPLES_PER_FRAME = 1024

_SWB_48 = (
    0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 72, 80, 88, 96, 108, 120, 132, 144, 160,
    176, 196, 216, 240, 264, 292, 320, 352, 384, 416, 448, 480, 512, 544, 576, 608, 640, 672, 704,
    736, 768, 800, 832, 864, 896, 928, 1024,
)
#: ``swb_offset_long_window`` (Table 4.129) by sampling frequency: 44.1 and 48 kHz share one table.
SWB_OFFSET_LONG: dict[int, tuple[int, ...]] = {48000: _SWB_48, 44100: _SWB_48}

# Codebook 1 codewords (Table 4.A.2) of the 4-tuples that hold a single +1 or -1, by position;
# the all-zero tuple is the one-bit word 0.
_CB1_ZERO = (0b0, 1)
_CB1_PLUS = ((0b10000, 5), (0b10011, 5), (0b10110, 5), (0b10100, 5))
_CB1_MINUS = ((0b10001, 5), (0b10111, 5), (0b10101, 5), (0b10010, 5))

_ID_SCE = 0
_ID_CPE = 1
_ID_END = 7
_ZERO_HCB = 0


def _ics(w: BitWriter, global_gain: int, swb: tuple[int, ...], line: int | None, sign: int) -> None:
    """Write one ``individual_channel_stream(common_window=0)`` (4.4.2.7)."""
    w.write(global_gain, 8)
    # ics_info(): reserved bit, window_sequence ONLY_LONG, window_shape sine, max_sfb, no prediction
    w.write(0, 1)
    w.write(0, 2)
    w.write(0, 1)
    if line is None:
        w.write(0, 6)  # max_sfb
        w.write(0, 1)  # predictor_data_present
        w.write(0, 3)  # pulse_data_present, tns_data_present, gain_control_data_present
        return
    band = bisect.bisect_right(swb, line) - 1
    w.write(band + 1, 6)  # max_sfb
    w.write(0, 1)  # predictor_data_present
    # section_data(): sect_len in 5-bit increments, 31 escaping (long windows)
    if band:
        w.write(_ZERO_HCB, 4)
        n = band
        while n >= 31:
            w.write(31, 5)
            n -= 31
        w.write(n, 5)
    w.write(1, 4)  # sect_cb: codebook 1
    w.write(1, 5)  # sect_len: one band
    # scale_factor_data(): the band's scale factor equals global_gain: difference 0 -> word "0"
    w.write(0, 1)
    w.write(0, 3)  # pulse_data_present, tns_data_present, gain_control_data_present
    # spectral_data(): the band's 4-tuples, one of them with the line
    for start in range(swb[band], swb[band + 1], 4):
        if start <= line < start + 4:
            code, n = (_CB1_PLUS if sign > 0 else _CB1_MINUS)[line - start]
            w.write(code, n)
        else:
            w.write(*_CB1_ZERO)


def _raw_data_block(channels: int, global_gain: int, swb: tuple[int, ...], line: int | None, sign: int) -> bytes:
    if channels not in (1, 2):
        raise LocalProtocolError(f"only mono and stereo are supported, not {channels} channels")
    w = BitWriter()
    if channels == 1:
        w.write(_ID_SCE, 3)
        w.write(0, 4)  # element_instance_tag
        _ics(w, global_gain, swb, line, sign)
    else:
        w.write(_ID_CPE, 3)
        w.write(0, 4)  # element_instance_tag
        w.write(0, 1)  # common_window
        _ics(w, global_gain, swb, line, sign)
        _ics(w, global_gain, swb, line, sign)
    w.write(_ID_END, 3)
    w.align_zero()  # byte_alignment()
    return w.getvalue()


def _swb(sample_rate: int) -> tuple[int, ...]:
    swb = SWB_OFFSET_LONG.get(sample_rate)
    if swb is None:
        raise LocalProtocolError(f"sample rate {sample_rate} not supported (44100 or 48000)")
    return swb


def silent_frame(sample_rate: int, channels: int) -> bytes:
    """One raw AAC-LC frame of silence."""
    return _raw_data_block(channels, 0, _swb(sample_rate), None, 1)


def tone_line(sample_rate: int, frequency: float) -> tuple[int, bool, float]:
    """The spectral line coding the tone nearest ``frequency``: ``(k, alternate, exact_frequency)``
    where the tone is exactly ``k * sample_rate / 2048`` Hz and ``alternate`` says whether the
    line's sign flips every frame."""
    k = round(frequency * 2048 / sample_rate)
    if not 1 <= k < 1024:
        raise LocalProtocolError(f"tone frequency {frequency} Hz out of range at {sample_rate} Hz")
    return k, k % 2 == 1, k * sample_rate / 2048


def tone_frame(sample_rate: int, channels: int, line: int, sign: int, global_gain: int) -> bytes:
    """One raw AAC-LC frame whose only non-zero spectral line is ``line``, quantized ``sign``
    (+1 or -1), dequantized with scale factor ``global_gain`` (4.6.2.3: ``2^((sf - 100) / 4)``)."""
    if not 0 <= global_gain <= 255:
        raise LocalProtocolError(f"global_gain {global_gain} out of 0..255")
    return _raw_data_block(channels, global_gain, _swb(sample_rate), line, sign)


class ToneEncoder:
    """The frames of a steady tone (or silence when ``frequency`` is 0): two distinct frames at
    most, built once; :meth:`frame` picks the one for frame number ``n``.

    :param global_gain: the scale factor of the tone's line; every 4 steps double the amplitude.
        The IMDCT (4.6.11) of a line of value ``2^((sf - 100) / 4)`` overlap-adds to a sinusoid of
        amplitude ``2^((sf - 100) / 4) / 1024`` on the 16-bit scale, so the peak is
        ``2^((sf - 100) / 4 - 25)`` of full scale: the default 187 gives 0.105 (-19.6 dBFS).
    """

    __slots__ = ("sample_rate", "channels", "frequency", "_frames")

    def __init__(self, sample_rate: int, channels: int, frequency: float, global_gain: int = 187) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        if frequency:
            k, alternate, self.frequency = tone_line(sample_rate, frequency)
            plus = tone_frame(sample_rate, channels, k, 1, global_gain)
            minus = tone_frame(sample_rate, channels, k, -1, global_gain)
            self._frames = (plus, minus) if alternate else (plus, plus)
        else:
            self.frequency = 0.0
            silence = silent_frame(sample_rate, channels)
            self._frames = (silence, silence)

    def frame(self, n: int) -> bytes:
        """The raw frame number ``n``."""
        return self._frames[n & 1]
