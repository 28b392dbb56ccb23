"""Opus helpers: the packet's TOC byte and frame framing (RFC 6716 section 3) and the ``OpusHead``
identification header (RFC 7845 section 5.1) that Ogg, MP4, Matroska and WebRTC stacks pass around
as Opus's decoder configuration.

Durations are in samples at 48 kHz, the rate Opus timestamps always use (RTP included, RFC 7587).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError

__all__ = [
    "OpusToc", "OpusPacket", "OpusHead", "parse_toc", "frame_count", "packet_duration", "parse_packet",
    "MAX_FRAME_BYTES", "MAX_PACKET_DURATION",
]

#: Largest Opus frame (RFC 6716 R2).
MAX_FRAME_BYTES = 1275
#: Longest packet: 120 ms at 48 kHz (RFC 6716 section 3.2.5).
MAX_PACKET_DURATION = 5760

_MODES = ("SILK",) * 12 + ("Hybrid",) * 4 + ("CELT",) * 16
_BANDWIDTHS = (
    ("NB",) * 4 + ("MB",) * 4 + ("WB",) * 4 + ("SWB",) * 2 + ("FB",) * 2
    + ("NB",) * 4 + ("WB",) * 4 + ("SWB",) * 4 + ("FB",) * 4
)
# Samples per frame at 48 kHz for each config (table 2 of RFC 6716).
_FRAME_SIZES = (
    (480, 960, 1920, 2880) * 3 + (480, 960) * 2 + (120, 240, 480, 960) * 4
)


@dataclass(frozen=True, slots=True)
class OpusToc:
    """The table-of-contents byte (RFC 6716 section 3.1): ``config`` (0-31), ``stereo`` (the
    ``s`` bit) and the frame count code ``c`` (0-3)."""

    config: int
    stereo: bool
    frame_count_code: int

    @property
    def mode(self) -> str:
        """``"SILK"``, ``"Hybrid"`` or ``"CELT"``."""
        return _MODES[self.config]

    @property
    def bandwidth(self) -> str:
        """Audio bandwidth: ``"NB"``, ``"MB"``, ``"WB"``, ``"SWB"`` or ``"FB"``."""
        return _BANDWIDTHS[self.config]

    @property
    def frame_size(self) -> int:
        """Samples per frame at 48 kHz (120 for 2.5 ms up to 2880 for 60 ms)."""
        return _FRAME_SIZES[self.config]

    @property
    def frame_duration_ms(self) -> float:
        """Milliseconds per frame."""
        return self.frame_size / 48

    def to_byte(self) -> int:
        """The TOC byte's value."""
        if not (0 <= self.config < 32 and 0 <= self.frame_count_code < 4):
            raise LocalProtocolError("TOC field out of range")
        return self.config << 3 | int(self.stereo) << 2 | self.frame_count_code


def parse_toc(packet: bytes | bytearray | memoryview) -> OpusToc:
    """Read the TOC byte of a packet (R1: a packet has at least one byte)."""
    if not packet:
        raise ParseError("empty Opus packet (RFC 6716 R1)", offset=0)
    toc = packet[0]
    return OpusToc(toc >> 3, bool(toc & 4), toc & 3)


def frame_count(packet: bytes | bytearray | memoryview) -> int:
    """Number of frames in a packet: 1, 2, or for code 3 the ``M`` of its frame count byte."""
    toc = parse_toc(packet)
    code = toc.frame_count_code
    if code == 0:
        return 1
    if code < 3:
        return 2
    if len(packet) < 2:
        raise ParseError("code 3 Opus packet without its frame count byte (RFC 6716 R6)", offset=1)
    m = packet[1] & 0x3F
    if m == 0:
        raise ParseError("code 3 Opus packet with 0 frames (RFC 6716 R5)", offset=1)
    if m * toc.frame_size > MAX_PACKET_DURATION:
        raise ParseError(f"Opus packet of {m} frames exceeds 120 ms (RFC 6716 R5)", offset=1)
    return m


def packet_duration(packet: bytes | bytearray | memoryview) -> int:
    """The packet's duration in samples at 48 kHz: frames times samples per frame."""
    return frame_count(packet) * parse_toc(packet).frame_size


def _frame_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a 1- or 2-byte frame length (section 3.2.1); return (length, new position)."""
    if pos >= end:
        raise ParseError("Opus frame length missing", offset=pos)
    first = data[pos]
    if first < 252:
        return first, pos + 1
    if pos + 1 >= end:
        raise ParseError("Opus frame length's second byte missing", offset=pos)
    return first + 4 * data[pos + 1], pos + 2


@dataclass(frozen=True, slots=True)
class OpusPacket:
    """A packet split into its frames (RFC 6716 section 3.2); ``padding`` counts the padding bytes
    of a code 3 packet. Frames of 0 bytes are legal (DTX / lost-frame markers)."""

    toc: OpusToc
    frames: tuple[bytes, ...]
    padding: int = 0

    @property
    def duration(self) -> int:
        """Samples at 48 kHz."""
        return len(self.frames) * self.toc.frame_size


def parse_packet(packet: bytes | bytearray | memoryview) -> OpusPacket:
    """Split an Opus packet into frames, checking requirements R1-R7 of RFC 6716 section 3.4."""
    data = bytes(packet)
    toc = parse_toc(data)
    end = len(data)
    code = toc.frame_count_code
    frames: list[bytes] = []
    padding = 0
    if code == 0:
        frames = [data[1:]]
    elif code == 1:
        if (end - 1) % 2:
            raise ParseError("code 1 Opus packet with an odd payload length (RFC 6716 R3)", offset=0)
        half = (end - 1) // 2
        frames = [data[1:1 + half], data[1 + half:]]
    elif code == 2:
        n1, pos = _frame_length(data, 1, end)
        if n1 > end - pos:
            raise ParseError("code 2 Opus packet's first frame runs past the end (RFC 6716 R4)", offset=1)
        frames = [data[pos:pos + n1], data[pos + n1:]]
    else:
        m = frame_count(data)
        vbr = bool(data[1] & 0x80)
        pos = 2
        if data[1] & 0x40:
            while True:
                if pos >= end:
                    raise ParseError("Opus padding length runs past the end (RFC 6716 R6/R7)", offset=pos)
                b = data[pos]
                pos += 1
                padding += 254 if b == 255 else b
                if b != 255:
                    break
        data_end = end - padding
        if data_end < pos:
            raise ParseError("Opus padding longer than the packet (RFC 6716 R6/R7)", offset=2)
        if vbr:
            lengths = []
            for _ in range(m - 1):
                n, pos = _frame_length(data, pos, data_end)
                lengths.append(n)
            if sum(lengths) > data_end - pos:
                raise ParseError("Opus VBR frames run past the end (RFC 6716 R7)", offset=pos)
            lengths.append(data_end - pos - sum(lengths))
        else:
            if (data_end - pos) % m:
                raise ParseError("Opus CBR payload not divisible by the frame count (RFC 6716 R6)", offset=1)
            lengths = [(data_end - pos) // m] * m
        for n in lengths:
            frames.append(data[pos:pos + n])
            pos += n
    for f in frames:
        if len(f) > MAX_FRAME_BYTES:
            raise ParseError(f"Opus frame of {len(f)} bytes exceeds {MAX_FRAME_BYTES} (RFC 6716 R2)", offset=0)
    return OpusPacket(toc, tuple(frames), padding)


_HEAD = struct.Struct("<8sBBHIhB")
_MAGIC = b"OpusHead"


@dataclass(frozen=True, slots=True)
class OpusHead:
    """The Opus identification header (RFC 7845 section 5.1).

    ``channel_mapping`` is empty for mapping family 0, where ``stream_count`` and
    ``coupled_count`` are implied (1 stream, ``channel_count - 1`` coupled).
    """

    channel_count: int
    pre_skip: int = 0
    input_sample_rate: int = 48000
    output_gain: int = 0
    channel_mapping_family: int = 0
    stream_count: int = 1
    coupled_count: int = 0
    channel_mapping: bytes = b""
    version: int = 1

    @classmethod
    def stereo(cls, pre_skip: int = 312) -> OpusHead:
        """A stereo, family 0 header (312 samples pre-skip, libopus's default)."""
        return cls(channel_count=2, pre_skip=pre_skip, coupled_count=1)

    @property
    def output_gain_db(self) -> float:
        """The output gain in dB (the field is Q7.8)."""
        return self.output_gain / 256

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> OpusHead:
        """Parse an ``OpusHead`` packet. Extra bytes after the header are ignored (RFC 7845 says
        later minor versions may add fields)."""
        raw = bytes(data)
        if len(raw) < _HEAD.size:
            raise ParseError("truncated OpusHead", offset=len(raw))
        magic, version, channels, pre_skip, rate, gain, family = _HEAD.unpack_from(raw)
        if magic != _MAGIC:
            raise ParseError("not an OpusHead (magic signature)", offset=0)
        if version >> 4:
            raise ParseError(f"OpusHead version {version} is incompatible", offset=8)
        if channels == 0:
            raise ParseError("OpusHead with 0 channels", offset=9)
        if family == 0:
            if channels > 2:
                raise ParseError(f"mapping family 0 with {channels} channels", offset=9)
            return cls(channels, pre_skip, rate, gain, 0, 1, channels - 1, b"", version)
        if len(raw) < _HEAD.size + 2 + channels:
            raise ParseError("truncated OpusHead channel mapping table", offset=len(raw))
        streams = raw[19]
        coupled = raw[20]
        mapping = raw[21:21 + channels]
        if streams == 0 or coupled > streams or streams + coupled > 255:
            raise ParseError(f"invalid stream counts {streams}/{coupled}", offset=19)
        if family == 1 and channels > 8:
            raise ParseError(f"mapping family 1 with {channels} channels", offset=9)
        limit = streams + coupled
        for i, index in enumerate(mapping):
            if index != 255 and index >= limit:
                raise ParseError(f"channel mapping {index} names no decoded channel", offset=21 + i)
        return cls(channels, pre_skip, rate, gain, family, streams, coupled, mapping, version)

    def to_bytes(self) -> bytes:
        """Serialize the header."""
        try:
            out = _HEAD.pack(_MAGIC, self.version, self.channel_count, self.pre_skip, self.input_sample_rate,
                             self.output_gain, self.channel_mapping_family)
        except struct.error as exc:
            raise LocalProtocolError(f"OpusHead field out of range: {exc}") from None
        if self.channel_mapping_family == 0:
            return out
        if len(self.channel_mapping) != self.channel_count:
            raise LocalProtocolError("channel_mapping must have one entry per channel")
        if not (0 <= self.stream_count < 256 and 0 <= self.coupled_count < 256):
            raise LocalProtocolError("stream counts out of range")
        return out + bytes((self.stream_count, self.coupled_count)) + self.channel_mapping

    def __bytes__(self) -> bytes:
        return self.to_bytes()
