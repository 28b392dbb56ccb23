"""The media side of an RTSP session: tracks, their payload formats, and RTP (de)packetizers.

RTSP only negotiates; the media are RTP packets. This module picks the packetizer or depacketizer
for a :class:`~mediaproto.media.Track` (from ``mediaproto.rtp.payload``), describes tracks in SDP
with one control URL each, and finds which track a SETUP URL names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from ..media import Codec, Track
from ..rtp.payload import (
    AacDepacketizer,
    AacPacketizer,
    Depacketizer,
    G711Depacketizer,
    G711Packetizer,
    H264Depacketizer,
    H264Packetizer,
    H265Depacketizer,
    H265Packetizer,
    OpusDepacketizer,
    OpusPacketizer,
    Packetizer,
)
from ..sdp import Connection, MediaDescription, RtpFormat, SessionDescription, media_from_track, track_from_media
from ..sdp import parse as parse_sdp

__all__ = [
    "MediaTrack",
    "DYNAMIC_PAYLOAD_TYPE",
    "describe",
    "tracks_from_sdp",
    "make_packetizer",
    "make_depacketizer",
    "match_track",
]

#: The first dynamic payload type we assign (RFC 3551).
DYNAMIC_PAYLOAD_TYPE = 96


@dataclass(frozen=True)
class MediaTrack:
    """A track as an RTSP session carries it: the media track, its RTP format, its control URL."""

    track: Track
    payload_type: int
    control: str
    rtp_format: RtpFormat | None = None


def _payload_type(track: Track, index: int) -> int:
    if track.codec is Codec.PCMU:
        return 0
    if track.codec is Codec.PCMA:
        return 8
    return DYNAMIC_PAYLOAD_TYPE + index


def describe(tracks: Sequence[Track], *, origin_address: str = "127.0.0.1", session_name: str = "mediaproto",
             control_prefix: str = "trackID=") -> tuple[str, list[MediaTrack]]:
    """The SDP text announcing ``tracks`` (one media description each, control ``trackID=<i>``)
    and the :class:`MediaTrack` list a server keeps to answer SETUP."""
    session = SessionDescription(session_name=session_name)
    session.origin.unicast_address = origin_address
    session.connection = Connection("IN", "IP4", "0.0.0.0")
    session.set_attribute("tool", "mediaproto")
    session.set_attribute("range", "npt=0-")
    session.set_attribute("control", "*")
    out = []
    for index, track in enumerate(tracks):
        pt = _payload_type(track, index)
        control = f"{control_prefix}{index}"
        md = media_from_track(track, pt, control=control)
        session.media.append(md)
        formats = md.formats()
        out.append(MediaTrack(track, pt, control, formats[0] if formats else None))
    return session.dumps(), out


def tracks_from_sdp(text: str | bytes, *, first_track_id: int = 0) -> tuple[SessionDescription, list[MediaTrack]]:
    """Parse an SDP (leniently: it comes from a camera or an encoder) into the tracks it carries.

    Media descriptions without a usable codec are skipped. Raises
    :class:`~mediaproto.errors.ParseError` when none is usable.
    """
    session = parse_sdp(text, lenient=True)
    out: list[MediaTrack] = []
    for index, md in enumerate(session.media):
        try:
            formats = md.formats()
            if not formats:
                continue
            track = track_from_media(md, first_track_id + len(out), formats[0])
        except ParseError:
            continue
        out.append(MediaTrack(track, formats[0].payload_type, md.control or "", formats[0]))
    if not out:
        raise ParseError("the session description carries no supported media")
    return session, out


def make_packetizer(media: MediaTrack, ssrc: int, *, mtu: int = 1400, initial_sequence: int = 0,
                    initial_timestamp: int = 0, track_clock_rate: int | None = None) -> Packetizer:
    """The packetizer for ``media`` (H.264 with SPS/PPS sent in-band before each IDR).

    ``track_clock_rate`` is the clock of the frames' timestamps when it differs from the track's
    RTP clock (e.g. frames from RTMP, in milliseconds).
    """
    t = media.track
    pt = media.payload_type
    if t.codec is Codec.H264:
        return H264Packetizer(pt, ssrc, t.clock_rate, mtu, initial_sequence, track_clock_rate=track_clock_rate,
                              initial_timestamp=initial_timestamp, parameter_sets=t.parameter_sets,
                              insert_parameter_sets=True)
    if t.codec is Codec.H265:
        return H265Packetizer(pt, ssrc, t.clock_rate, mtu, initial_sequence, track_clock_rate=track_clock_rate,
                              initial_timestamp=initial_timestamp, parameter_sets=t.parameter_sets,
                              insert_parameter_sets=True)
    simple: dict[Codec, type[Packetizer]] = {Codec.AAC: AacPacketizer, Codec.OPUS: OpusPacketizer,
                                             Codec.PCMU: G711Packetizer, Codec.PCMA: G711Packetizer}
    cls = simple.get(t.codec)
    if cls is not None:
        rate = 48000 if t.codec is Codec.OPUS else t.clock_rate
        return cls(pt, ssrc, rate, mtu, initial_sequence, track_clock_rate=track_clock_rate,
                   initial_timestamp=initial_timestamp)
    raise LocalProtocolError(f"no RTP packetizer for {t.codec.name}")


def _int_param(fmt: RtpFormat | None, name: str, default: int) -> int:
    value = fmt.parameter(name) if fmt is not None else None
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise ParseError(f"fmtp {name}={value!r} is not a number")
    return int(value)


def make_depacketizer(media: MediaTrack) -> Depacketizer:
    """The depacketizer for ``media``, configured from its ``fmtp`` (``sizelength`` ...)."""
    t = media.track
    fmt = media.rtp_format
    if t.codec is Codec.H264:
        return H264Depacketizer(t.id, t.clock_rate)
    if t.codec is Codec.H265:
        return H265Depacketizer(t.id, t.clock_rate)
    if t.codec is Codec.AAC:
        return AacDepacketizer(t.id, t.clock_rate, size_length=_int_param(fmt, "sizelength", 13),
                               index_length=_int_param(fmt, "indexlength", 3),
                               index_delta_length=_int_param(fmt, "indexdeltalength", 3),
                               sample_rate=t.sample_rate or None)
    if t.codec is Codec.OPUS:
        return OpusDepacketizer(t.id)
    if t.codec in (Codec.PCMU, Codec.PCMA):
        return G711Depacketizer(t.id, t.clock_rate)
    raise LocalProtocolError(f"no RTP depacketizer for {t.codec.name}")


def match_track(url: str, base: str, tracks: Sequence[MediaTrack]) -> int | None:
    """The index of the track a SETUP ``url`` names, or None.

    Accepts the control appended to the base URL with or without a slash, after a query string
    (FFmpeg), or inside the path (GStreamer), and the base URL itself when there is one track.
    """
    stripped = url.rstrip("/")
    for index, media in enumerate(tracks):
        control = media.control
        if control and (stripped.endswith("/" + control) or stripped == control or stripped.endswith(control)
                        and stripped[: -len(control)].rstrip("/?") == base.rstrip("/")):
            return index
    if len(tracks) == 1 and stripped.split("?", 1)[0] == base.rstrip("/").split("?", 1)[0]:
        return 0
    return None


def media_description(media: MediaTrack) -> MediaDescription:
    """The SDP media description for one track (as :func:`describe` writes it)."""
    return media_from_track(media.track, media.payload_type, control=media.control)
