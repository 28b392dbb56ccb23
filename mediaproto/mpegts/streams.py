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
from ..media import Codec, Track
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
    "split_mpeg_audio",
    "track_from_pmt",
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


# MPEG-1/2/2.5 audio (ISO/IEC 11172-3, 13818-3) frame headers: bit rates in kbit/s by
# (MPEG-1?, layer) and sampling rates by version.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_audio_frame(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """(frame length, samples, sample rate) of the MPEG audio frame header at ``pos``, or None."""
    if pos + 4 > len(data):
        return None
    h = int.from_bytes(data[pos:pos + 4], "big")
    if h >> 21 != 0x7FF:
        return None
    version = (h >> 19) & 3
    layer = 4 - ((h >> 17) & 3)
    bitrate_index = (h >> 12) & 0xF
    rate_index = (h >> 10) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values, or free format (no length in the header)
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    padding = (h >> 9) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate
    if layer == 3 and not mpeg1:
        return 72 * bitrate // rate + padding, 576, rate
    return 144 * bitrate // rate + padding, 1152, rate


def split_mpeg_audio(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """Split MPEG-1/2 audio (MP1/MP2/MP3) into frames: ``(frame, samples, sample_rate)`` each.

    Returns ``None`` when ``data`` does not start with a frame header whose length the header
    gives (free format, or not aligned): the caller then keeps the data whole. Bytes after the last
    whole frame become part of it.
    """
    out: list[tuple[bytes, int, int]] = []
    pos = 0
    n = len(data)
    while pos < n:
        info = _mpeg_audio_frame(data, pos)
        if info is None or pos + info[0] > n:
            if not out:
                return None
            last, samples, rate = out[-1]
            out[-1] = (last + data[pos:], samples, rate)
            break
        out.append((data[pos:pos + info[0]], info[1], info[2]))
        pos += info[0]
    return out


def track_from_pmt(pid: int, codec: Codec, stream: PmtStream) -> Track:
    """A track with what the PMT says: for Opus the channel count of the DVB extension descriptor
    (0x7F, tag 0x80) and an OpusHead built from it (channel mapping family 0, up to 2 channels)."""
    if codec is Codec.OPUS:
        channels = 2
        for d in stream.descriptors:
            if d.tag == 0x7F and len(d.data) >= 2 and d.data[0] == 0x80 and 1 <= d.data[1] <= 8:
                channels = d.data[1]
        head = b""
        if channels <= 2:  # version 1, channels, pre-skip 0, 48 kHz, gain 0, mapping family 0
            head = b"OpusHead" + bytes((1, channels)) + (0).to_bytes(2, "little") + (48000).to_bytes(4, "little") \
                + b"\x00\x00\x00"
        return Track(pid, codec, 90000, config=head, sample_rate=48000, channels=channels)
    return Track(pid, codec, 90000)
