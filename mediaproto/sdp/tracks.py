"""Typed helpers between SDP media descriptions and :class:`~mediaproto.media.Track`.

H.264 (``sprop-parameter-sets``, ``profile-level-id``, ``packetization-mode``), H.265
(``sprop-vps/sps/pps``), AAC as mpeg4-generic (``config``, ``sizelength``, ``indexlength``,
``indexdeltalength``) and MP4A-LATM (StreamMuxConfig), Opus, PCMU/PCMA, L16, and MP2T (a whole
transport stream, static payload type 33).
"""

from __future__ import annotations

import base64
import binascii

from ..bits import BitReader, BitWriter
from ..errors import LocalProtocolError, ParseError
from ..media import Codec, Track
from .description import Attribute, MediaDescription, RtpFormat, format_fmtp

__all__ = ["track_from_media", "media_from_track"]


def _strip_start_code(nal: bytes) -> bytes:
    # QUIRK: sprop-parameter-sets with Annex B prefixes (some cameras).
    return nal.lstrip(b"\x00")[1:] if nal.lstrip(b"\x00").startswith(b"\x01") and nal.startswith(b"\x00\x00") else nal


def _b64_list(value: str | None) -> list[bytes]:
    if not value:
        return []
    out = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            nal = base64.b64decode(item + "=" * (-len(item) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ParseError(f"bad base64 in sprop parameter: {item!r}") from None
        nal = _strip_start_code(nal)
        if nal:
            out.append(nal)
    return out


def _hex(value: str | None, what: str) -> bytes:
    if not value:
        return b""
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ParseError(f"bad hex in {what}: {value!r}") from None


_AUDIO_RATES = {"PCMU": Codec.PCMU, "PCMA": Codec.PCMA, "L16": Codec.L16, "OPUS": Codec.OPUS}


def track_from_media(md: MediaDescription, track_id: int = 0, fmt: RtpFormat | None = None) -> Track:
    """The :class:`~mediaproto.media.Track` a media description carries (its first format unless
    ``fmt`` is given). Parameter sets and configs come from ``fmtp``; a missing or broken
    ``sprop-parameter-sets`` gives a track whose parameter sets must be learned in-band.

    Raises :class:`~mediaproto.errors.ParseError` for formats mediaproto has no codec for.
    """
    formats = md.formats()
    if fmt is None:
        if not formats:
            raise ParseError(f"{md.media} description has no usable RTP format")
        fmt = formats[0]
    name = fmt.encoding_name.upper()
    if name == "H264":
        sets = _b64_list(fmt.parameter("sprop-parameter-sets"))
        return Track(track_id, Codec.H264, fmt.clock_rate, parameter_sets=tuple(sets))
    if name in ("H265", "HEVC"):
        sets = [n for key in ("sprop-vps", "sprop-sps", "sprop-pps") for n in _b64_list(fmt.parameter(key))]
        return Track(track_id, Codec.H265, fmt.clock_rate, parameter_sets=tuple(sets))
    if name == "MPEG4-GENERIC":
        mode = (fmt.parameter("mode") or "").lower()
        if mode and mode not in ("aac-hbr", "aac-lbr"):
            raise ParseError(f"unsupported mpeg4-generic mode {mode!r}")
        config = _hex(fmt.parameter("config"), "config")
        return Track(track_id, Codec.AAC, fmt.clock_rate, config=config, sample_rate=fmt.clock_rate,
                     channels=fmt.encoding_parameters or 1)
    if name == "MP4A-LATM":
        config = _latm_config_to_asc(_hex(fmt.parameter("config"), "config"))
        return Track(track_id, Codec.AAC, fmt.clock_rate, config=config, sample_rate=fmt.clock_rate,
                     channels=fmt.encoding_parameters or 1)
    if name == "OPUS":
        channels = 2 if fmt.parameter("sprop-stereo") == "1" else 1 if fmt.parameter("sprop-stereo") == "0" else (fmt.encoding_parameters or 2)
        return Track(track_id, Codec.OPUS, 48000, sample_rate=48000, channels=channels)
    if name in _AUDIO_RATES:
        return Track(track_id, _AUDIO_RATES[name], fmt.clock_rate, sample_rate=fmt.clock_rate,
                     channels=fmt.encoding_parameters or 1)
    if name == "MPA":
        return Track(track_id, Codec.MP3, fmt.clock_rate)
    if name == "MP2T":
        return Track(track_id, Codec.MP2T, fmt.clock_rate)
    raise ParseError(f"no codec for RTP format {fmt.encoding_name!r}")


def _latm_config_to_asc(smc: bytes) -> bytes:
    """The AudioSpecificConfig inside an RFC 6416 StreamMuxConfig (audioMuxVersion 0), re-aligned."""
    if not smc:
        return b""
    r = BitReader(smc)
    if r.read(1) != 0:
        raise ParseError("only StreamMuxConfig with audioMuxVersion 0 is supported")
    r.skip(1 + 6 + 4 + 3)  # allStreamsSameTimeFraming, numSubFrames, numProgram, numLayer
    w = BitWriter()
    # AudioSpecificConfig: objectType(5[+6]) freqIndex(4[+24]) channels(4) then GASpecificConfig(3).
    aot = r.read(5)
    w.write(aot, 5)
    if aot == 31:
        w.write(r.read(6), 6)
    idx = r.read(4)
    w.write(idx, 4)
    if idx == 15:
        w.write(r.read(24), 24)
    w.write(r.read(4), 4)
    w.write(r.read(3), 3)
    return w.getvalue()


def media_from_track(track: Track, payload_type: int = 96, *, port: int = 0, control: str | None = None,
                     proto: str = "RTP/AVP") -> MediaDescription:
    """A media description announcing ``track`` as RTP with ``payload_type``.

    H.264 uses packetization-mode 1, AAC mpeg4-generic AAC-hbr, Opus ``opus/48000/2``.
    """
    codec = track.codec
    media = "audio" if codec.is_audio else "video"  # MP2T goes as video, as FFmpeg announces it
    md = MediaDescription(media, port, proto, [str(payload_type)])
    pt = payload_type
    if codec is Codec.H264:
        params = {"packetization-mode": "1"}
        sps = [n for n in track.parameter_sets if n and n[0] & 0x1F == 7]
        if sps and len(sps[0]) >= 4:
            params["profile-level-id"] = sps[0][1:4].hex().upper()
        if track.parameter_sets:
            params["sprop-parameter-sets"] = ",".join(base64.b64encode(n).decode() for n in track.parameter_sets)
        md.attributes += [Attribute("rtpmap", f"{pt} H264/{track.clock_rate}"), Attribute("fmtp", f"{pt} {format_fmtp(params)}")]
    elif codec is Codec.H265:
        groups: dict[str, list[bytes]] = {"sprop-vps": [], "sprop-sps": [], "sprop-pps": []}
        for nal in track.parameter_sets:
            key = {32: "sprop-vps", 33: "sprop-sps", 34: "sprop-pps"}.get((nal[0] >> 1) & 0x3F) if nal else None
            if key:
                groups[key].append(nal)
        md.attributes.append(Attribute("rtpmap", f"{pt} H265/{track.clock_rate}"))
        if any(groups.values()):
            params = {k: ",".join(base64.b64encode(n).decode() for n in v) for k, v in groups.items() if v}
            md.attributes.append(Attribute("fmtp", f"{pt} {format_fmtp(params)}"))
    elif codec is Codec.AAC:
        channels = track.channels or 1
        md.attributes.append(Attribute("rtpmap", f"{pt} MPEG4-GENERIC/{track.clock_rate}/{channels}"))
        params = {"profile-level-id": "1", "mode": "AAC-hbr", "sizelength": "13", "indexlength": "3",
                  "indexdeltalength": "3"}
        if track.config:
            params["config"] = track.config.hex().upper()
        md.attributes.append(Attribute("fmtp", f"{pt} {format_fmtp(params)}"))
    elif codec is Codec.OPUS:
        md.attributes.append(Attribute("rtpmap", f"{pt} opus/48000/2"))
        if track.channels == 2:
            md.attributes.append(Attribute("fmtp", f"{pt} sprop-stereo=1"))
    elif codec in (Codec.PCMU, Codec.PCMA):
        static = 0 if codec is Codec.PCMU else 8
        md.fmts = [str(static)]
        md.attributes.append(Attribute("rtpmap", f"{static} {codec.name}/{track.clock_rate}"))
    elif codec is Codec.MP2T:
        md.fmts = ["33"]
        md.attributes.append(Attribute("rtpmap", "33 MP2T/90000"))
    elif codec is Codec.L16:
        md.attributes.append(Attribute("rtpmap", f"{pt} L16/{track.clock_rate}/{track.channels or 1}"))
    else:
        raise LocalProtocolError(f"no RTP payload format for {codec.name} in SDP")
    if control is not None:
        md.attributes.append(Attribute("control", control))
    return md
