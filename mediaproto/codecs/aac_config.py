"""The MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 section 1.6.2.1). Use it through
:mod:`mediaproto.codecs.aac`, which re-exports everything here.

It reads the escaped object type (31), the explicit 24-bit sampling frequency (index 15), the
GASpecificConfig (including a program_config_element when the channel configuration is 0), and
the explicit SBR/PS signalling: hierarchical (object type 5 or 29 first) and backward-compatible
(the ``0x2b7`` / ``0x548`` sync extensions after the core configuration).

Field names follow the standard in snake_case.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..bits import BitReader, BitWriter
from ..errors import LocalProtocolError, ParseError, ProtocolError

__all__ = [
    "SAMPLING_FREQUENCIES",
    "OBJECT_TYPE_NAMES",
    "AudioSpecificConfig",
    "frame_samples",
    "channels_for_configuration",
]

#: ``samplingFrequencyIndex`` 0..12 -> Hz (table 1.18); 13 and 14 are reserved, 15 means explicit.
SAMPLING_FREQUENCIES: tuple[int, ...] = (
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
)

#: Audio object types by number (table 1.17), the ones a streaming user meets.
OBJECT_TYPE_NAMES: dict[int, str] = {
    1: "AAC Main", 2: "AAC LC", 3: "AAC SSR", 4: "AAC LTP", 5: "SBR", 6: "AAC Scalable",
    17: "ER AAC LC", 19: "ER AAC LTP", 20: "ER AAC Scalable", 22: "ER BSAC", 23: "ER AAC LD",
    29: "PS", 36: "ALS", 39: "ER AAC ELD", 42: "USAC",
}

# channelConfiguration -> channel count (table 1.19, with the 2013 additions 11..14).
_CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}

# Object types whose specific config is GASpecificConfig (section 1.6.2.1 switch).
_GA_TYPES = frozenset({1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23})
# Error-resilient object types, which carry epConfig after their specific config.
_ER_TYPES = frozenset({17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 39})

_SYNC_SBR = 0x2B7
_SYNC_PS = 0x548


def channels_for_configuration(channel_configuration: int) -> int:
    """The channel count of a ``channelConfiguration`` (0, meaning a program_config_element, -> 0)."""
    return _CHANNELS.get(channel_configuration, 0)


def _read_object_type(r: BitReader) -> int:
    aot = r.read(5)
    if aot == 31:
        aot = 32 + r.read(6)
    return aot


def _write_object_type(w: BitWriter, aot: int) -> None:
    if aot >= 31:
        w.write(31, 5)
        w.write(aot - 32, 6)
    else:
        w.write(aot, 5)


def _read_frequency(r: BitReader) -> tuple[int, int]:
    start = r.position // 8
    index = r.read(4)
    if index == 0xF:
        rate = r.read(24)
        if rate == 0:
            raise ParseError("explicit sampling frequency of 0 Hz", offset=start)
        return index, rate
    if index >= len(SAMPLING_FREQUENCIES):
        raise ParseError(f"reserved sampling frequency index {index}", offset=start)
    return index, SAMPLING_FREQUENCIES[index]


def _write_frequency(w: BitWriter, index: int, rate: int) -> None:
    w.write(index, 4)
    if index == 0xF:
        w.write(rate, 24)


def _frequency_index(rate: int) -> int:
    try:
        return SAMPLING_FREQUENCIES.index(rate)
    except ValueError:
        return 0xF


def _read_pce(r: BitReader, data: bytes) -> tuple[tuple[int, int], int]:
    """Read a program_config_element (section 4.4.1.1); return its raw bits and channel count."""
    start = r.position
    r.skip(4 + 2 + 4)  # element_instance_tag, object_type, sampling_frequency_index
    front, side, back = r.read(4), r.read(4), r.read(4)
    lfe, assoc, cc = r.read(2), r.read(3), r.read(4)
    if r.read_flag():  # mono_mixdown_present
        r.skip(4)
    if r.read_flag():  # stereo_mixdown_present
        r.skip(4)
    if r.read_flag():  # matrix_mixdown_idx_present
        r.skip(3)
    channels = lfe
    for _ in range(front + side + back):
        channels += 2 if r.read_flag() else 1
        r.skip(4)
    r.skip(4 * (lfe + assoc) + 5 * cc)
    r.align()  # byte_alignment() relative to the start of the AudioSpecificConfig
    r.skip(8 * r.read(8))  # comment_field_bytes, comment_field_data
    nbits = r.position - start
    # Keep the element as one raw value so that to_bytes() writes it back bit for bit.
    return (_bits_at(data, start, nbits), nbits), channels


def _bits_at(data: bytes, start: int, nbits: int) -> int:
    """``nbits`` bits of ``data`` starting at bit ``start``."""
    total = len(data) * 8
    return (int.from_bytes(data, "big") >> (total - start - nbits)) & ((1 << nbits) - 1)


@dataclass(frozen=True, slots=True)
class AudioSpecificConfig:
    """An MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 section 1.6.2.1).

    ``object_type`` is the core audio object type (2 for AAC LC, also for HE-AAC whose SBR is
    signalled hierarchically: the hierarchical 5/29 shows up in ``extension_object_type``,
    ``sbr_present`` and ``ps_present``). ``sample_rate`` is the core rate;
    ``extension_sample_rate`` the SBR output rate where signalled. ``sbr_present`` and
    ``ps_present`` are ``None`` when the configuration does not say (implicit signalling: a decoder
    finds SBR/PS in the bitstream), ``True``/``False`` when it does. ``frame_length`` is the number
    of samples per frame at the core rate (1024 or 960; 512 or 480 for AAC LD/ELD; 1024 for
    other object types whose specific config is kept as raw bits, such as USAC).

    The remaining fields keep what :meth:`to_bytes` needs to write the configuration back exactly:
    the GASpecificConfig flags, the raw program_config_element bits (``(value, bit_count)``), the
    raw bits of a non-GA specific config, and whether SBR was signalled by the backward-compatible
    sync extension (``sync_extension``) rather than hierarchically.
    """

    object_type: int
    sampling_frequency_index: int
    sample_rate: int
    channel_configuration: int
    frame_length: int = 1024
    sbr_present: bool | None = None
    ps_present: bool | None = None
    extension_object_type: int = 0
    extension_sample_rate: int | None = None
    extension_sampling_frequency_index: int | None = None
    extension_channel_configuration: int | None = None
    sync_extension: bool = False
    depends_on_core_coder: bool = False
    core_coder_delay: int = 0
    extension_flag: bool = False
    layer_nr: int | None = None
    num_of_sub_frame: int | None = None
    layer_length: int | None = None
    resilience_flags: int = 0
    extension_flag3: bool = False
    program_config_element: tuple[int, int] | None = None
    pce_channels: int = 0
    other_specific_config: tuple[int, int] | None = None
    ep_config: int | None = None

    @property
    def channels(self) -> int:
        """Output channel count: from the channel configuration, or the program_config_element;
        parametric stereo turns a mono core into two channels."""
        if self.channel_configuration == 0:
            n = self.pce_channels
        else:
            n = _CHANNELS.get(self.channel_configuration, 0)
        if self.ps_present and n == 1:
            return 2
        return n

    @property
    def output_sample_rate(self) -> int:
        """The decoded sample rate: ``extension_sample_rate`` when SBR is signalled present."""
        if self.sbr_present and self.extension_sample_rate:
            return self.extension_sample_rate
        return self.sample_rate

    @property
    def object_type_name(self) -> str:
        """A readable name of ``object_type`` (``"AAC LC"``)."""
        return OBJECT_TYPE_NAMES.get(self.object_type, f"object type {self.object_type}")

    @classmethod
    def lc(cls, sample_rate: int, channels: int) -> AudioSpecificConfig:
        """An AAC LC configuration for ``sample_rate`` Hz and ``channels`` (1-6 or 8) channels."""
        if sample_rate <= 0 or sample_rate >= 1 << 24:
            raise LocalProtocolError(f"sample rate {sample_rate} out of range")
        config = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 8: 7}.get(channels)
        if config is None:
            raise LocalProtocolError(f"no AAC channel configuration for {channels} channels")
        return cls(object_type=2, sampling_frequency_index=_frequency_index(sample_rate),
                   sample_rate=sample_rate, channel_configuration=config)

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> AudioSpecificConfig:
        """Parse an AudioSpecificConfig. Raises :class:`~mediaproto.errors.ParseError` on malformed
        input (offsets are bytes into ``data``)."""
        try:
            return _parse_asc(bytes(data))
        except ProtocolError:
            raise
        except (ValueError, OverflowError) as exc:  # pragma: no cover - defensive
            raise ParseError(f"malformed AudioSpecificConfig: {exc}") from None

    def to_bytes(self) -> bytes:
        """Serialize, padding the last byte with zero bits."""
        w = BitWriter()
        try:
            self._write(w)
        except LocalProtocolError:
            raise
        return w.getvalue()

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def _write(self, w: BitWriter) -> None:
        hierarchical = bool(self.sbr_present) and not self.sync_extension
        if hierarchical:
            _write_object_type(w, 29 if self.ps_present else 5)
            _write_frequency(w, self.sampling_frequency_index, self.sample_rate)
            w.write(self.channel_configuration, 4)
            ext_rate = self.extension_sample_rate or self.sample_rate
            ext_index = self.extension_sampling_frequency_index
            if ext_index is None:
                ext_index = _frequency_index(ext_rate)
            _write_frequency(w, ext_index, ext_rate)
            _write_object_type(w, self.object_type)
            if self.object_type == 22:
                w.write(self.extension_channel_configuration or 0, 4)
        else:
            _write_object_type(w, self.object_type)
            _write_frequency(w, self.sampling_frequency_index, self.sample_rate)
            w.write(self.channel_configuration, 4)
        aot = self.object_type
        if aot in _GA_TYPES:
            short = self.frame_length in (960, 480)
            w.write_flag(short)
            w.write_flag(self.depends_on_core_coder)
            if self.depends_on_core_coder:
                w.write(self.core_coder_delay, 14)
            w.write_flag(self.extension_flag)
            if self.channel_configuration == 0:
                if self.program_config_element is None:
                    raise LocalProtocolError("channel configuration 0 needs a program_config_element")
                value, nbits = self.program_config_element
                w.write(value, nbits)
            if aot in (6, 20):
                w.write(self.layer_nr or 0, 3)
            if self.extension_flag:
                if aot == 22:
                    w.write(self.num_of_sub_frame or 0, 5)
                    w.write(self.layer_length or 0, 11)
                if aot in (17, 19, 20, 23):
                    w.write(self.resilience_flags, 3)
                w.write_flag(self.extension_flag3)
        elif self.other_specific_config is not None:
            value, nbits = self.other_specific_config
            w.write(value, nbits)
        if aot in _ER_TYPES and self.other_specific_config is None:
            w.write(self.ep_config or 0, 2)
        if self.sync_extension and self.sbr_present is not None:
            w.write(_SYNC_SBR, 11)
            _write_object_type(w, self.extension_object_type)
            w.write_flag(self.sbr_present)
            if self.sbr_present:
                ext_rate = self.extension_sample_rate or self.sample_rate
                ext_index = self.extension_sampling_frequency_index
                if ext_index is None:
                    ext_index = _frequency_index(ext_rate)
                _write_frequency(w, ext_index, ext_rate)
                if self.extension_object_type == 22:
                    w.write(self.extension_channel_configuration or 0, 4)
                elif self.ps_present is not None:
                    w.write(_SYNC_PS, 11)
                    w.write_flag(self.ps_present)


def _parse_asc(data: bytes) -> AudioSpecificConfig:
    r = BitReader(data)
    aot = _read_object_type(r)
    if aot == 0:
        raise ParseError("audio object type 0 (null) in AudioSpecificConfig", offset=0)
    freq_index, rate = _read_frequency(r)
    channel_configuration = r.read(4)
    sbr: bool | None = None
    ps: bool | None = None
    ext_aot = 0
    ext_rate: int | None = None
    ext_index: int | None = None
    ext_channels: int | None = None
    sync_extension = False
    if aot in (5, 29):
        ext_aot = 5
        sbr = True
        ps = True if aot == 29 else None
        ext_index, ext_rate = _read_frequency(r)
        aot = _read_object_type(r)
        if aot in (5, 29, 0):
            raise ParseError(f"object type {aot} inside hierarchical SBR signalling", offset=r.position // 8)
        if aot == 22:
            ext_channels = r.read(4)
    fields: dict[str, object] = {}
    pce_channels = 0
    if aot in _GA_TYPES:
        short = r.read_flag()
        fields["frame_length"] = (480 if short else 512) if aot == 23 else (960 if short else 1024)
        depends = r.read_flag()
        fields["depends_on_core_coder"] = depends
        if depends:
            fields["core_coder_delay"] = r.read(14)
        extension_flag = r.read_flag()
        fields["extension_flag"] = extension_flag
        if channel_configuration == 0:
            pce, pce_channels = _read_pce(r, data)
            fields["program_config_element"] = pce
        if aot in (6, 20):
            fields["layer_nr"] = r.read(3)
        if extension_flag:
            if aot == 22:
                fields["num_of_sub_frame"] = r.read(5)
                fields["layer_length"] = r.read(11)
            if aot in (17, 19, 20, 23):
                fields["resilience_flags"] = r.read(3)
            fields["extension_flag3"] = r.read_flag()
        if aot in _ER_TYPES:
            ep = r.read(2)
            if ep in (2, 3):
                raise ParseError(f"epConfig {ep} (ErrorProtectionSpecificConfig) is not supported",
                                 offset=r.position // 8)
            fields["ep_config"] = ep
        # Backward-compatible explicit signalling of SBR and PS (section 1.6.5.2).
        if ext_aot != 5 and r.bits_left >= 16 and r.peek(11) == _SYNC_SBR:
            r.skip(11)
            ext_aot = _read_object_type(r)
            if ext_aot == 5:
                sbr = r.read_flag()
                sync_extension = True
                if sbr:
                    ext_index, ext_rate = _read_frequency(r)
                    if r.bits_left >= 12 and r.peek(11) == _SYNC_PS:
                        r.skip(11)
                        ps = r.read_flag()
            elif ext_aot == 22:
                sbr = r.read_flag()
                sync_extension = True
                if sbr:
                    ext_index, ext_rate = _read_frequency(r)
                ext_channels = r.read(4)
            else:
                # An extension type this library does not read: keep the core configuration.
                ext_aot = 0
    else:
        # A specific config this library does not interpret: keep its bits for to_bytes().
        nbits = r.bits_left
        value = r.read(nbits)
        fields["other_specific_config"] = (value, nbits)
        if aot == 39 and nbits:  # ELDSpecificConfig starts with frameLengthFlag
            fields["frame_length"] = 480 if value >> (nbits - 1) else 512
        else:
            fields["frame_length"] = 1024
    return AudioSpecificConfig(
        object_type=aot,
        sampling_frequency_index=freq_index,
        sample_rate=rate,
        channel_configuration=channel_configuration,
        sbr_present=sbr,
        ps_present=ps,
        extension_object_type=ext_aot,
        extension_sample_rate=ext_rate,
        extension_sampling_frequency_index=ext_index,
        extension_channel_configuration=ext_channels,
        sync_extension=sync_extension,
        pce_channels=pce_channels,
        **fields,  # type: ignore[arg-type]
    )


def frame_samples(config: AudioSpecificConfig) -> int:
    """Samples per raw AAC frame at ``config.sample_rate`` (the core rate): 1024 or 960 (512 or
    480 for AAC LD). With SBR the decoder outputs twice as many at ``extension_sample_rate``; the
    frame's duration is the same either way."""
    return config.frame_length
