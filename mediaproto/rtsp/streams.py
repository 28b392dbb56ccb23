"""The media side of an RTSP session: tracks, their payload formats, and RTP (de)packetizers.

RTSP only negotiates; the media are RTP packets. This module picks the packetizer or depacketizer
for a :class:`~mediaproto.media.Track` (from ``mediaproto.rtp.payload``), describes tracks in SDP
with one control URL each, and finds which track a SETUP URL names.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError
from ..media import Codec, Frame, Track
from ..rtp.payload import Depacketizer, Packetizer, depacketizer_for, packetizer_for
from ..sdp import Connection, RtpFormat, SessionDescription, media_from_track, track_from_media
from ..sdp import parse as parse_sdp

__all__ = [
    "MediaTrack",
    "DYNAMIC_PAYLOAD_TYPE",
    "describe",
    "tracks_from_sdp",
    "make_packetizer",
    "make_depacketizer",
    "match_track",
    "SharedSource",
    "PreparedFrame",
]

_FRAME_PREFIX = struct.Struct(">BBH")  # '$', channel, length

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

    Media descriptions without a codec and payload format we can depacketize are skipped. Raises
    :class:`~mediaproto.errors.ParseError` when none is usable.
    """
    session = parse_sdp(text, lenient=True)
    out: list[MediaTrack] = []
    for md in session.media:
        try:
            formats = md.formats()
            if not formats:
                continue
            track = track_from_media(md, first_track_id + len(out), formats[0])
            media = MediaTrack(track, formats[0].payload_type, md.control or "", formats[0])
            make_depacketizer(media)  # e.g. MP4A-LATM with cpresent=1: not supported
        except (ParseError, LocalProtocolError):
            continue
        out.append(media)
    if not out:
        raise ParseError("the session description carries no supported media")
    return session, out


def make_packetizer(media: MediaTrack, ssrc: int, *, mtu: int = 1400, initial_sequence: int = 0,
                    initial_timestamp: int = 0) -> Packetizer:
    """The packetizer for ``media`` (H.264/H.265 send their parameter sets in-band before each
    keyframe that lacks them), taking frames in the track's clock rate; see
    :func:`mediaproto.rtp.payload.packetizer_for`."""
    return packetizer_for(media.track, media.payload_type, ssrc, mtu=mtu, initial_sequence=initial_sequence,
                          initial_timestamp=initial_timestamp)


def make_depacketizer(media: MediaTrack) -> Depacketizer:
    """The depacketizer for ``media``, configured from its ``rtpmap`` and ``fmtp`` (``sizelength``,
    MP4A-LATM ...); see :func:`mediaproto.rtp.payload.depacketizer_for`."""
    fmt = media.rtp_format
    return depacketizer_for(media.track, fmt.clock_rate if fmt is not None else None,
                            dict(fmt.parameters) if fmt is not None else None,
                            encoding_name=fmt.encoding_name if fmt is not None else "")


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


class PreparedFrame:
    """One frame's RTP packets as a :class:`SharedSource` sends them to every session: final
    headers (the source's SSRC, sequence numbers and timestamps), and per interleaved channel the
    whole frame as one ``bytes`` (each packet behind its ``$ channel length`` prefix), joined once
    for all the sessions that use that channel (:meth:`~.server.ServerConnection.send_prepared`)."""

    __slots__ = ("source", "packets", "pts", "dts", "timestamp", "first_sequence", "octets", "by_channel")

    def __init__(self, source: SharedSource, packets: list[bytes], pts: int, dts: int, timestamp: int,
                 first_sequence: int) -> None:
        self.source = source
        #: The RTP packets (what UDP sessions send, one datagram each).
        self.packets = packets
        #: The frame's times, in its track's clock rate.
        self.pts = pts
        self.dts = dts
        #: The packets' RTP timestamp, and the sequence number of the first packet.
        self.timestamp = timestamp
        self.first_sequence = first_sequence
        #: Payload octets of all the packets (what sender reports count).
        self.octets = sum(len(p) for p in packets) - 12 * len(packets)
        #: The interleaved form per channel, made on first use (:meth:`interleaved`).
        self.by_channel: dict[int, bytes] = {}

    def interleaved(self, channel: int) -> bytes:
        """The packets framed for ``channel`` of an RTSP connection, in one ``bytes``."""
        data = self.by_channel.get(channel)
        if data is None:
            pack = _FRAME_PREFIX.pack
            data = self.by_channel[channel] = b"".join(
                part for p in self.packets for part in (pack(0x24, channel, len(p)), p))
        return data


class SharedSource:
    """One RTP stream of a track, sent alike to every session that plays it (fan-out).

    One SSRC, one sequence and one timestamp base per track, as gst-rtsp-server's shared media and
    gortsplib's ``ServerStream`` send: each frame is packetized once (:meth:`prepare`), and every
    session writes the same bytes. A session learns where it joins from PLAY's RTP-Info (the
    sequence number and RTP time of its first packet); its sender reports carry the source's SSRC.
    Give sources to :meth:`~.server.ServerConnection.accept_describe`; sessions that SETUP the
    track then send this source's packets.

    The last ``history`` frames prepared are kept (matched by identity, the frame or the ``key``
    given to :meth:`prepare`), so that a late joiner replaying a cache of recent frames gets the
    packets every other session got, with the same sequence numbers.

    :param media: the track as :func:`describe` made it (payload type, control URL).
    :param ssrc: the source's SSRC (random, RFC 3550 8.1).
    :param mtu: the largest RTP packet, header included (the sessions' ``mtu`` must match).
    :param initial_sequence: the first sequence number (random, RFC 3550 5.1).
    :param initial_timestamp: added to every RTP timestamp.
    """

    __slots__ = ("media", "mtu", "packetizer", "history", "packet_count", "octet_count", "latest",
                 "_last_key", "_last", "_recent")

    def __init__(self, media: MediaTrack, ssrc: int, *, mtu: int = 1400, initial_sequence: int = 0,
                 initial_timestamp: int = 0, history: int = 1500) -> None:
        self.media = media
        self.mtu = mtu
        #: The packetizer whose SSRC, sequence numbers and timestamps every session sends.
        self.packetizer = make_packetizer(media, ssrc, mtu=mtu, initial_sequence=initial_sequence,
                                          initial_timestamp=initial_timestamp)
        self.history = max(1, history)
        #: RTP packets and payload octets prepared since the source started (what every
        #: session's sender reports carry), and the latest frame prepared.
        self.packet_count = 0
        self.octet_count = 0
        self.latest: PreparedFrame | None = None
        self._last_key: object = None
        self._last: PreparedFrame | None = None
        self._recent: dict[int, tuple[object, PreparedFrame]] = {}

    @property
    def ssrc(self) -> int:
        return self.packetizer.ssrc

    @property
    def sequence_number(self) -> int:
        """The sequence number of the next packet."""
        return self.packetizer.sequence_number

    def find(self, key: object) -> PreparedFrame | None:
        """The frame prepared for ``key`` (a frame, or the ``key`` given to :meth:`prepare`), if
        it is still kept."""
        if key is self._last_key:
            return self._last
        found = self._recent.get(id(key))
        return found[1] if found is not None and found[0] is key else None

    def forget(self) -> None:
        """Drop the frames kept for replays (a new GOP began: nobody replays what came before)."""
        self._recent.clear()

    def prepare(self, frame: Frame, key: object = None) -> PreparedFrame:
        """``frame``'s packets, made on the first call for it and the same object afterwards.

        ``key`` (default: ``frame``) is what identifies the frame, when the caller converts the
        same frame into a new object per call (a change of clock rate)."""
        found = self.find(frame if key is None else key)
        if found is not None:
            return found
        if key is None:
            key = frame
        packetizer = self.packetizer
        first = packetizer.sequence_number
        packets = [bytes(p) for p in packetizer.packetize(frame)]
        prepared = PreparedFrame(self, packets, frame.pts, frame.dts, packetizer.rtp_timestamp(frame.pts), first)
        if packets:
            self.packet_count += len(packets)
            self.octet_count += prepared.octets
            self.latest = prepared
        recent = self._recent
        recent[id(key)] = (key, prepared)
        if len(recent) > self.history:
            del recent[next(iter(recent))]
        self._last_key, self._last = key, prepared
        return prepared
