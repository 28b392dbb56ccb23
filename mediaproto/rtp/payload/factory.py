"""Pick the packetizer or depacketizer for a :class:`~mediaproto.media.Track`.

What an SDP media description says (the track from :func:`mediaproto.sdp.track_from_media` and the
``fmtp`` parameters) is all they need:

>>> from mediaproto.media import Codec, Track
>>> type(depacketizer_for(Track(1, Codec.AAC, 48000), fmtp={"mode": "AAC-hbr", "sizelength": "13"})).__name__
'AacDepacketizer'
>>> type(packetizer_for(Track(0, Codec.H264, 90000), payload_type=96, ssrc=1)).__name__
'H264Packetizer'
"""

from __future__ import annotations

from typing import Mapping

from ...errors import LocalProtocolError, ParseError
from ...media import Codec, Track
from .aac import AacDepacketizer, AacPacketizer
from ..limits import Limits
from .base import Depacketizer, Packetizer
from .g711 import G711Depacketizer, G711Packetizer
from .h264 import H264Depacketizer, H264Packetizer
from .h265 import H265Depacketizer, H265Packetizer
from .latm import LatmDepacketizer
from .mp2t import Mp2tDepacketizer, Mp2tPacketizer
from .opus import OPUS_CLOCK_RATE, OpusDepacketizer, OpusPacketizer

__all__ = ["packetizer_for", "depacketizer_for"]

_AAC_LBR = {"sizelength": 6, "indexlength": 2, "indexdeltalength": 2}
_AAC_HBR = {"sizelength": 13, "indexlength": 3, "indexdeltalength": 3}


def packetizer_for(
    track: Track,
    payload_type: int,
    ssrc: int,
    *,
    mtu: int = 1200,
    initial_sequence: int = 0,
    initial_timestamp: int = 0,
    insert_parameter_sets: bool = True,
) -> Packetizer:
    """The packetizer for ``track``'s codec, taking frames in the track's clock rate.

    H.264/H.265 send the track's parameter sets in-band before keyframes that lack them (unless
    ``insert_parameter_sets`` is false); AAC uses AAC-hbr at the sample rate; Opus 48 kHz; G.711
    8 kHz.

    :raises LocalProtocolError: for a codec without a payload format here.
    """
    rate = track.clock_rate
    if track.codec is Codec.H264:
        return H264Packetizer(
            payload_type, ssrc, 90000, track_clock_rate=rate, initial_timestamp=initial_timestamp,
            parameter_sets=track.parameter_sets, insert_parameter_sets=insert_parameter_sets, mtu=mtu, initial_sequence=initial_sequence,
        )
    if track.codec is Codec.H265:
        return H265Packetizer(
            payload_type, ssrc, 90000, track_clock_rate=rate, initial_timestamp=initial_timestamp,
            parameter_sets=track.parameter_sets, insert_parameter_sets=insert_parameter_sets, mtu=mtu, initial_sequence=initial_sequence,
        )
    if track.codec is Codec.AAC:
        return AacPacketizer(
            payload_type, ssrc, track.sample_rate or rate, track_clock_rate=rate,
            initial_timestamp=initial_timestamp, mtu=mtu, initial_sequence=initial_sequence,
        )
    if track.codec is Codec.OPUS:
        return OpusPacketizer(
            payload_type, ssrc, OPUS_CLOCK_RATE, track_clock_rate=rate, initial_timestamp=initial_timestamp, mtu=mtu,
            initial_sequence=initial_sequence,
        )
    if track.codec in (Codec.PCMU, Codec.PCMA):
        return G711Packetizer(
            payload_type, ssrc, 8000, track_clock_rate=rate, initial_timestamp=initial_timestamp, mtu=mtu,
            initial_sequence=initial_sequence,
        )
    if track.codec is Codec.MP2T:
        return Mp2tPacketizer(
            payload_type, ssrc, 90000, track_clock_rate=rate, initial_timestamp=initial_timestamp, mtu=mtu,
            initial_sequence=initial_sequence,
        )
    raise LocalProtocolError(f"no RTP packetizer for {track.codec.name}")


def depacketizer_for(
    track: Track,
    clock_rate: int | None = None,
    fmtp: Mapping[str, str] | None = None,
    *,
    encoding_name: str = "",
    limits: Limits | None = None,
) -> Depacketizer:
    """The depacketizer for ``track``'s codec; frames come out with ``track.id`` and ``pts`` in
    ``clock_rate`` (the RTP clock rate of the ``rtpmap`` line; by default the track's). H.264 and
    H.265 depacketizers get the track's parameter sets (SDP ``sprop-*``) for their decode times.

    :param fmtp: the ``fmtp`` parameters (AAC: ``mode``, ``sizelength``, ``indexlength``,
        ``indexdeltalength``; H.265: ``sprop-max-don-diff``).
    :param encoding_name: the ``rtpmap`` encoding name, where a codec has two payload formats
        (``MP4A-LATM`` rather than ``mpeg4-generic`` for AAC).
    :raises LocalProtocolError: for a codec without a payload format here.
    :raises ParseError: for ``fmtp`` values that are not numbers.
    """
    params = {k.lower(): v.strip() for k, v in (fmtp or {}).items()}
    rate = clock_rate or track.clock_rate

    def number(name: str, default: int) -> int:
        text = params.get(name)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise ParseError(f"fmtp {name}={text!r} is not a number") from None

    if track.codec is Codec.H264:
        return H264Depacketizer(track.id, rate, limits=limits, parameter_sets=track.parameter_sets)
    if track.codec is Codec.H265:
        return H265Depacketizer(track.id, rate, limits=limits, donl=number("sprop-max-don-diff", 0) > 0,
                                parameter_sets=track.parameter_sets)
    if track.codec is Codec.AAC and encoding_name.upper() == "MP4A-LATM":
        if number("cpresent", 1) != 0:
            raise LocalProtocolError("MP4A-LATM with the configuration in-band (cpresent=1) is not supported")
        return LatmDepacketizer(track.id, rate, limits=limits, sample_rate=track.sample_rate or None)
    if track.codec is Codec.AAC:
        defaults = _AAC_LBR if params.get("mode", "").lower() == "aac-lbr" else _AAC_HBR
        return AacDepacketizer(
            track.id, rate, limits=limits,
            size_length=number("sizelength", defaults["sizelength"]),
            index_length=number("indexlength", defaults["indexlength"]),
            index_delta_length=number("indexdeltalength", defaults["indexdeltalength"]),
            sample_rate=track.sample_rate or None,
        )
    if track.codec is Codec.OPUS:
        return OpusDepacketizer(track.id, rate, limits=limits)
    if track.codec in (Codec.PCMU, Codec.PCMA):
        return G711Depacketizer(track.id, rate, limits=limits)
    if track.codec is Codec.MP2T:
        return Mp2tDepacketizer(track.id, rate, limits=limits)
    raise LocalProtocolError(f"no RTP depacketizer for {track.codec.name}")
