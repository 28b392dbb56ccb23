"""Tracks for the mp4 tests: parameter sets made by x264 and x265 (FFmpeg 5.1, Debian 12, 160x120),
an AAC LC configuration and an OpusHead."""

from __future__ import annotations

from mediaproto.codecs.aac import AudioSpecificConfig
from mediaproto.codecs.opus import OpusHead
from mediaproto.media import Codec, Track

H264_SPS = b'gd\x00\x0b\xac\xd9B\x84~\\\x04@\x00\x00\x03\x00@\x00\x00\x0c\x83\xc5\ne\x80'
H264_PPS = b'h\xeb\xe3\xcb"\xc0'
H265_VPS = b'@\x01\x0c\x01\xff\xff\x01`\x00\x00\x03\x00\x90\x00\x00\x03\x00\x00\x03\x00\x1e\x95\x98\t'
H265_SPS = (b'B\x01\x01\x01`\x00\x00\x03\x00\x90\x00\x00\x03\x00\x00\x03\x00\x1e\xa0\x14 ye\x95\x9aI2\xbc\x05'
            b'\xa0 \x00\x00\x03\x00 \x00\x00\x03\x03!')
H265_PPS = b'D\x01\xc1r\xb4b@'

H264 = Track(1, Codec.H264, 90000, parameter_sets=(H264_SPS, H264_PPS))
H265 = Track(1, Codec.H265, 90000, parameter_sets=(H265_VPS, H265_SPS, H265_PPS))
AAC = Track(2, Codec.AAC, 48000, config=AudioSpecificConfig.lc(48000, 2).to_bytes(), sample_rate=48000, channels=2)
OPUS = Track(2, Codec.OPUS, 48000, config=OpusHead.stereo().to_bytes(), sample_rate=48000, channels=2)
