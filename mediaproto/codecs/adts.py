"""ADTS (ISO/IEC 14496-3 section 1.A.2.2): the self-synchronizing framing of AAC in MPEG-TS and
raw ``.aac`` files. Use it through :mod:`mediaproto.codecs.aac`, which re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from .aac_config import _CHANNELS, SAMPLING_FREQUENCIES, AudioSpecificConfig

__all__ = ["AdtsHeader", "adts_wrap", "split_adts", "is_adts"]

_ADTS_SYNC = 0xFFF


@dataclass(frozen=True, slots=True)
class AdtsHeader:
    """An ADTS header (ISO/IEC 14496-3 section 1.A.2.2): ``adts_fixed_header`` plus
    ``adts_variable_header``, and the CRC when ``protection_absent`` is 0.

    ``frame_length`` is ``aac_frame_length``: the whole frame, header included. ``id`` is the
    ``ID`` bit (0 = MPEG-4, 1 = MPEG-2); ``profile`` is ``profile_ObjectType`` (object type - 1).
    """

    id: int
    layer: int
    protection_absent: int
    profile: int
    sampling_frequency_index: int
    private_bit: int
    channel_configuration: int
    original_copy: int
    home: int
    copyright_identification_bit: int
    copyright_identification_start: int
    frame_length: int
    adts_buffer_fullness: int
    number_of_raw_data_blocks_in_frame: int
    crc_check: int | None = None

    @property
    def mpeg_version(self) -> int:
        """4 for MPEG-4 (``id`` 0), 2 for MPEG-2 (``id`` 1)."""
        return 2 if self.id else 4

    @property
    def header_length(self) -> int:
        """7 bytes, or 9 with the CRC."""
        return 7 if self.protection_absent else 9

    @property
    def object_type(self) -> int:
        """The MPEG-4 audio object type: ``profile + 1``."""
        return self.profile + 1

    @property
    def sample_rate(self) -> int:
        """The sampling frequency in Hz."""
        return SAMPLING_FREQUENCIES[self.sampling_frequency_index]

    @property
    def channels(self) -> int:
        """The channel count (0 when a program_config_element in the stream says it)."""
        return _CHANNELS.get(self.channel_configuration, 0)

    @property
    def payload_length(self) -> int:
        """Bytes of raw data after the header (and CRC)."""
        return self.frame_length - self.header_length

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> AdtsHeader:
        """Parse the header at ``offset``; errors carry the absolute offset into ``data``."""
        if offset < 0 or len(data) - offset < 7:
            raise ParseError("truncated ADTS header", offset=offset)
        v = int.from_bytes(data[offset:offset + 7], "big")
        if v >> 44 != _ADTS_SYNC:
            raise ParseError("ADTS syncword 0xFFF not found", offset=offset)
        layer = (v >> 41) & 3
        if layer != 0:
            raise ParseError(f"ADTS layer must be 0, not {layer}", offset=offset)
        protection_absent = (v >> 40) & 1
        index = (v >> 34) & 0xF
        if index >= len(SAMPLING_FREQUENCIES):
            raise ParseError(f"reserved ADTS sampling frequency index {index}", offset=offset + 2)
        frame_length = (v >> 13) & 0x1FFF
        header_length = 7 if protection_absent else 9
        crc: int | None = None
        if not protection_absent:
            if len(data) - offset < 9:
                raise ParseError("truncated ADTS header CRC", offset=offset + 7)
            crc = int.from_bytes(data[offset + 7:offset + 9], "big")
        if frame_length < header_length:
            raise ParseError(f"ADTS frame length {frame_length} shorter than its header", offset=offset + 3)
        return cls(
            id=(v >> 43) & 1,
            layer=layer,
            protection_absent=protection_absent,
            profile=(v >> 38) & 3,
            sampling_frequency_index=index,
            private_bit=(v >> 33) & 1,
            channel_configuration=(v >> 30) & 7,
            original_copy=(v >> 29) & 1,
            home=(v >> 28) & 1,
            copyright_identification_bit=(v >> 27) & 1,
            copyright_identification_start=(v >> 26) & 1,
            frame_length=frame_length,
            adts_buffer_fullness=(v >> 2) & 0x7FF,
            number_of_raw_data_blocks_in_frame=v & 3,
            crc_check=crc,
        )

    def to_bytes(self) -> bytes:
        """Serialize the header (with the CRC field when ``protection_absent`` is 0)."""
        parts = (
            (_ADTS_SYNC, 12), (self.id, 1), (self.layer, 2), (self.protection_absent, 1),
            (self.profile, 2), (self.sampling_frequency_index, 4), (self.private_bit, 1),
            (self.channel_configuration, 3), (self.original_copy, 1), (self.home, 1),
            (self.copyright_identification_bit, 1), (self.copyright_identification_start, 1),
            (self.frame_length, 13), (self.adts_buffer_fullness, 11),
            (self.number_of_raw_data_blocks_in_frame, 2),
        )
        v = 0
        for value, n in parts:
            if value < 0 or value >> n:
                raise LocalProtocolError(f"ADTS field value {value} does not fit in {n} bits")
            v = (v << n) | value
        out = v.to_bytes(7, "big")
        if not self.protection_absent:
            out += (self.crc_check or 0).to_bytes(2, "big")
        return out

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def to_config(self) -> AudioSpecificConfig:
        """The AudioSpecificConfig this header implies (core object type, rate and channels)."""
        return AudioSpecificConfig(
            object_type=self.profile + 1,
            sampling_frequency_index=self.sampling_frequency_index,
            sample_rate=SAMPLING_FREQUENCIES[self.sampling_frequency_index],
            channel_configuration=self.channel_configuration,
        )


def adts_wrap(payload: bytes | bytearray | memoryview, config: AudioSpecificConfig) -> bytes:
    """One ADTS frame: a 7-byte header (no CRC, MPEG-4, buffer fullness ``0x7FF``) and ``payload``."""
    if not 1 <= config.object_type <= 4:
        raise LocalProtocolError(f"ADTS cannot carry audio object type {config.object_type}")
    if config.sampling_frequency_index > 12:
        raise LocalProtocolError("ADTS cannot carry an explicit sampling frequency")
    if not 0 <= config.channel_configuration <= 7:
        raise LocalProtocolError(f"ADTS cannot carry channel configuration {config.channel_configuration}")
    length = len(payload) + 7
    if length > 0x1FFF:
        raise LocalProtocolError(f"AAC frame of {len(payload)} bytes is too long for ADTS")
    v = (
        (_ADTS_SYNC << 44) | (1 << 40) | ((config.object_type - 1) << 38)
        | (config.sampling_frequency_index << 34) | (config.channel_configuration << 30)
        | (length << 13) | (0x7FF << 2)
    )
    return v.to_bytes(7, "big") + bytes(payload)


def split_adts(data: bytes | bytearray | memoryview) -> list[tuple[AdtsHeader, bytes]]:
    """Split an ADTS stream into ``(header, raw payload)`` pairs (payloads without header or CRC).

    Strict: the data must be whole ADTS frames back to back; anything else raises
    :class:`~mediaproto.errors.ParseError` with the offset of the bad frame. A frame holding
    several raw data blocks is returned as one payload (the blocks concatenated) when it has no
    CRC; with CRC such frames are rejected (their per-block CRCs are not stripped).
    """
    raw = bytes(data)
    end = len(raw)
    out: list[tuple[AdtsHeader, bytes]] = []
    pos = 0
    parse = AdtsHeader.parse
    while pos < end:
        header = parse(raw, pos)
        frame_end = pos + header.frame_length
        if frame_end > end:
            raise ParseError(f"ADTS frame of {header.frame_length} bytes runs past the end", offset=pos)
        if header.number_of_raw_data_blocks_in_frame and not header.protection_absent:
            raise ParseError("ADTS frame with several raw data blocks and CRC is not supported", offset=pos)
        out.append((header, raw[pos + header.header_length:frame_end]))
        pos = frame_end
    return out


def is_adts(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` starts with a plausible ADTS frame: the syncword, layer 0, a valid
    sampling frequency index and a frame length that fits the header and the data.

    For peers that wrap AAC in ADTS where raw frames belong (RFC 3640 from some cameras, RTMP
    from some encoders; see QUIRKS.md): check the first unit, then strip with :func:`split_adts`.
    """
    if len(data) < 7:
        return False
    try:
        header = AdtsHeader.parse(data)
    except ParseError:
        return False
    return header.frame_length <= len(data)
