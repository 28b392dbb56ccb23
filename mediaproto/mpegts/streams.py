"""Which codec a PMT stream carries, and the codec-specific framing inside PES payloads.

Stream types (ISO/IEC 13818-1 table 2-34 and its registrations): 0x1B H.264, 0x24 H.265, 0x0F AAC
in ADTS, 0x03/0x04 MPEG-1/2 audio (MP3), 0x81 AC-3, 0x87 E-AC-3, and 0x06 (PES private data)
identified by its descriptors: a registration descriptor ``Opus``, ``AC-3`` or ``EAC3``, or the
DVB AC-3 (0x6A) / enhanced AC-3 (0x7A) descriptors.

Opus in TS follows the mapping FFmpeg implements (ETSI TS 102 366 style): stream type 0x06, a
registration descriptor ``Opus``, a DVB extension descriptor (0x7F, tag 0x80) with the channel
configuration, and before every Opus packet a control header: the 11-bit prefix 0x3FF, flags for
trim start/end and control extension, the ``au_size`` as a run of 0xFF bytes and a last byte, then
the optional fields.
"""

from __future__ import annotations

from ..errors import ParseError
from ..media import Codec
from .psi import Descriptor, PmtStream, registration_descriptor

__all__ = [
    "STREAM_TYPE_MPEG1_AUDIO",
    "STREAM_TYPE_MPEG2_AUDIO",
    "STREAM_TYPE_PRIVATE_PES",
    "STREAM_TYPE_AAC_ADTS",
    "STREAM_TYPE_H264",
    "STREAM_TYPE_H265",
    "STREAM_TYPE_AC3",
    "STREAM_TYPE_EAC3",
    "codec_of",
    "opus_control_header",
    "split_opus_payload",
    "opus_packet_samples",
    "opus_descriptors",
]

STREAM_TYPE_MPEG1_AUDIO = 0x03
STREAM_TYPE_MPEG2_AUDIO = 0x04
STREAM_TYPE_PRIVATE_PES = 0x06
STREAM_TYPE_AAC_ADTS = 0x0F
STREAM_TYPE_H264 = 0x1B
STREAM_TYPE_H265 = 0x24
STREAM_TYPE_AC3 = 0x81
STREAM_TYPE_EAC3 = 0x87

_BY_TYPE = {
    STREAM_TYPE_H264: Codec.H264,
    STREAM_TYPE_H265: Codec.H265,
    STREAM_TYPE_AAC_ADTS: Codec.AAC,
    STREAM_TYPE_MPEG1_AUDIO: Codec.MP3,
    STREAM_TYPE_MPEG2_AUDIO: Codec.MP3,
    STREAM_TYPE_AC3: Codec.AC3,
    STREAM_TYPE_EAC3: Codec.EAC3,
}

_BY_REGISTRATION = {b"Opus": Codec.OPUS, b"AC-3": Codec.AC3, b"EAC3": Codec.EAC3, b"HEVC": Codec.H265}


def codec_of(stream: PmtStream) -> Codec | None:
    """The codec of a PMT stream entry, or ``None`` when mediaproto does not carry it."""
    codec = _BY_TYPE.get(stream.stream_type)
    if codec is not None:
        return codec
    if stream.stream_type == STREAM_TYPE_PRIVATE_PES:
        fid = stream.format_identifier
        if fid is not None and fid in _BY_REGISTRATION:
            return _BY_REGISTRATION[fid]
        tags = {d.tag for d in stream.descriptors}
        if 0x6A in tags:
            return Codec.AC3
        if 0x7A in tags:
            return Codec.EAC3
    return None


def opus_descriptors(channels: int) -> tuple[Descriptor, ...]:
    """The ES descriptors FFmpeg writes for an Opus stream: registration ``Opus`` and the DVB
    extension descriptor 0x7F with extension tag 0x80 and the channel configuration byte."""
    return (registration_descriptor(b"Opus"), Descriptor(0x7F, bytes((0x80, channels & 0xFF))))


def opus_control_header(au_size: int, trim_start: int | None = None, trim_end: int | None = None) -> bytes:
    """The control header before an Opus packet of ``au_size`` bytes in a PES payload."""
    flags = 0xE0 | (0x10 if trim_start is not None else 0) | (0x08 if trim_end is not None else 0)
    full, last = divmod(au_size, 255)
    out = bytes((0x7F, flags)) + b"\xff" * full + bytes((last,))
    if trim_start is not None:
        out += (trim_start & 0x1FFF).to_bytes(2, "big")
    if trim_end is not None:
        out += (trim_end & 0x1FFF).to_bytes(2, "big")
    return out


def split_opus_payload(data: bytes, offset: int = 0) -> list[bytes]:
    """The Opus packets of a PES payload (control headers stripped, trims ignored)."""
    out = []
    pos = 0
    n = len(data)
    while pos < n:
        if pos + 2 > n or data[pos] != 0x7F or data[pos + 1] & 0xE0 != 0xE0:
            raise ParseError("missing Opus control header prefix 0x3FF", offset=offset + pos)
        flags = data[pos + 1]
        pos += 2
        size = 0
        while True:
            if pos >= n:
                raise ParseError("truncated Opus au_size", offset=offset + pos)
            b = data[pos]
            pos += 1
            size += b
            if b != 0xFF:
                break
        if flags & 0x10:
            pos += 2
        if flags & 0x08:
            pos += 2
        if flags & 0x04:
            if pos >= n:
                raise ParseError("truncated Opus control extension", offset=offset + pos)
            pos += 1 + data[pos]
        if pos + size > n:
            raise ParseError(f"Opus packet of {size} bytes runs past the PES", offset=offset + pos)
        out.append(data[pos:pos + size])
        pos += size
    return out


_SILK_MS10 = (10, 20, 40, 60)


def opus_packet_samples(packet: bytes) -> int:
    """Samples at 48 kHz in an Opus packet (RFC 6716 section 3.1), 960 when it cannot tell."""
    if not packet:
        return 960
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        per_frame = _SILK_MS10[config & 3] * 48
    elif config < 16:
        per_frame = (10, 20)[config & 1] * 48
    else:
        per_frame = (120, 240, 480, 960)[config & 3]
    code = toc & 3
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        count = packet[1] & 0x3F if len(packet) > 1 else 1
    return per_frame * max(count, 1)
