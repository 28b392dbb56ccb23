"""AAC (ISO/IEC 14496-3) helpers: AudioSpecificConfig, ADTS headers and ADTS streams.

* :class:`AudioSpecificConfig` is the decoder configuration RTMP/FLV sequence headers, MP4
  ``esds`` boxes and the RFC 3640 ``config=`` SDP parameter carry (section 1.6.2.1). It reads the
  escaped object type (31), the explicit 24-bit sampling frequency (index 15), the
  GASpecificConfig (including a program_config_element when the channel configuration is 0), and
  the explicit SBR/PS signalling: hierarchical (object type 5 or 29 first) and backward-compatible
  (the ``0x2b7`` / ``0x548`` sync extensions after the core configuration).
* :class:`AdtsHeader` is the 7- or 9-byte header of ADTS (section 1.A.2.2), the framing AAC needs
  in MPEG-TS; :func:`split_adts` turns an ADTS stream into raw frames and :func:`adts_wrap` back;
  :func:`is_adts` detects ADTS where raw frames were expected.
* :func:`frame_samples` gives a raw frame's duration in samples.

Field names follow the standard in snake_case.
"""

from __future__ import annotations

from .aac_config import (
    OBJECT_TYPE_NAMES,
    SAMPLING_FREQUENCIES,
    AudioSpecificConfig,
    channels_for_configuration,
    frame_samples,
)
from .adts import AdtsHeader, adts_wrap, is_adts, split_adts

__all__ = [
    "SAMPLING_FREQUENCIES",
    "OBJECT_TYPE_NAMES",
    "AudioSpecificConfig",
    "AdtsHeader",
    "adts_wrap",
    "split_adts",
    "is_adts",
    "frame_samples",
    "channels_for_configuration",
]
