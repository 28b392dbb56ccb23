"""The server side of RTSP as a Sans-IO state machine (RFC 2326).

One :class:`ServerConnection` per TCP connection, holding at most one RTSP session::

    conn = ServerConnection(ServerConfiguration(udp_ports=(8000, 8001)))
    for event in conn.receive_data(data, now):
        if isinstance(event, DescribeRequested):
            conn.accept_describe(event, stream.tracks)        # or conn.reject(event, 404)
        elif isinstance(event, PlayRequested):
            conn.accept_play(event)
    sock.sendall(conn.data_to_send())

The application decides what each path serves through the ``...Requested`` events and answers with
``accept_...`` or :meth:`ServerConnection.reject`; everything else is answered here: OPTIONS,
SETUP (TCP interleaved, or UDP when the caller gives its RTP/RTCP ports), PAUSE, TEARDOWN,
GET_PARAMETER and SET_PARAMETER keepalives, and the errors: 401 (with Digest challenges when an
authenticator is set), 404, 454 (unknown session), 455 (method not valid in this state), 459
(aggregate operation not allowed), 461 (unsupported transport), 501.

Session states (the table is :data:`~mediaproto.rtsp.states.SERVER_TRANSITIONS`)::

    INIT --SETUP--> READY --PLAY--> PLAYING --PAUSE--> READY
                    READY --RECORD--> RECORDING
    any --TEARDOWN / timeout--> INIT

A DESCRIBE, ANNOUNCE, PLAY or RECORD request is *pending* from its event until the application
answers it; the ``accept_...`` of another kind, an answer to an event that is not the pending one,
or an ``accept_play`` / ``accept_record`` the session state does not allow raises
:class:`~mediaproto.errors.LocalProtocolError`, as does ``send_frame`` outside PLAYING.

A session times out ``session_timeout`` seconds after the last thing the client sent (a request,
interleaved data, or a UDP datagram: FFmpeg publishing over UDP sends no keepalives, only RTP).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..endpoint import ConnectionClosed, DatagramEndpoint, Event, StateMachine
from ..errors import LocalProtocolError, ProtocolError
from ..media import Track
from .configuration import ServerConfiguration
from .connection import RtspConnection, SetupTrack
from .events import (
    AnnounceRequested,
    DescribeRequested,
    PauseRequested,
    PlayRequested,
    RecordRequested,
    SessionEnded,
    SetupCompleted,
)
from .headers import Range, RtpInfo, SessionHeader, TransportSpec, format_rtp_info, parse_transport, resolve_control
from .message import Headers, Request, Response
from .states import SERVER_TRANSITIONS, ServerInput, ServerState
from .streams import (
    MediaTrack,
    PreparedFrame,
    SharedSource,
    describe,
    make_depacketizer,
    make_packetizer,
    match_track,
    tracks_from_sdp,
)

__all__ = ["ServerState", "ServerConnection", "REASONS", "url_path"]

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 415: "Unsupported Media Type",
    451: "Parameter Not Understood", 453: "Not Enough Bandwidth", 454: "Session Not Found",
    455: "Method Not Valid in This State", 459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport", 500: "Internal Server Error", 501: "Not Implemented",
    503: "Service Unavailable",
}

PUBLIC = "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER"


def url_path(url: str) -> str:
    """The path of an RTSP URL without its leading slash and query: ``live/test``."""
    rest = url.split("://", 1)[1] if "://" in url else url
    path = rest.split("/", 1)[1] if "/" in rest else ""
    return path.split("?", 1)[0].strip("/")


class ServerConnection(RtspConnection):
    """One client's RTSP connection to a server.

    :param configuration: how the connection behaves (default: ``ServerConfiguration()``).
    """

    _is_server = True

    def __init__(self, configuration: ServerConfiguration | None = None) -> None:
        config = configuration if configuration is not None else ServerConfiguration()
        super().__init__(limits=config.limits, lenient=config.lenient, jitter_latency=config.jitter_latency,
                         sync_wait=config.sync_wait, wallclock_offset=config.wallclock_offset, rng=config.rng)
        #: The configuration the connection was made with.
        self.configuration = config
        self.session_timeout = config.session_timeout
        self.server_name = config.server_name
        self.authenticator = config.authenticator
        self.passwords = dict(config.passwords)
        self.udp_ports = config.udp_ports
        self.mtu = config.mtu
        self._machine = StateMachine("RTSP server session", SERVER_TRANSITIONS, ServerState.INIT)
        #: The request waiting for the application's answer (an ``accept_*`` or ``reject``), if any.
        self.pending: DescribeRequested | AnnounceRequested | PlayRequested | RecordRequested | None = None
        self.session_id: str | None = None
        self.path: str | None = None  # the stream the session is about
        self._base: str | None = None  # its aggregate URL
        self._media: list[MediaTrack] = []  # what DESCRIBE or ANNOUNCE declared
        self._recording = False  # the media came from ANNOUNCE: the session records
        self._sources: dict[int, SharedSource] = {}  # by track id, from accept_describe
        #: Per shared source: the interleaved channel (-1: UDP) and the set-up track that sends it.
        self._by_source: dict[SharedSource, tuple[int, SetupTrack]] = {}
        self.reporter_ssrc = self._rng.getrandbits(32)

    @property
    def state(self) -> ServerState:
        """The session state (see :mod:`mediaproto.rtsp.states`)."""
        return self._machine.state

    def _awaiting_answer(self) -> bool:
        return self.pending is not None

    def _answer(self, event: Event, *kinds: type) -> None:
        """Check that ``event`` is the pending request and of one of ``kinds``; it is answered now."""
        self._check_sendable()
        names = " or ".join(k.__name__ for k in kinds)
        if not isinstance(event, kinds):
            raise LocalProtocolError(f"expected a {names}, got {type(event).__name__}")
        if self.pending is None:
            raise LocalProtocolError(f"no request is pending (a {type(event).__name__} needs one)")
        if self.pending != event:
            raise LocalProtocolError(f"{type(event).__name__} is not the pending request "
                                     f"({type(self.pending).__name__})")

    def _check_media_out(self) -> None:
        self._check_sendable()
        self._machine.fire(ServerInput.SEND_MEDIA)

    # -- replies ------------------------------------------------------------------------------
    def _respond(self, request: Request, code: int, headers: Sequence[tuple[str, str]] = (), body: bytes = b"",
                 reason: str | None = None) -> None:
        h = Headers([("CSeq", request.headers.get("CSeq") or "0"), ("Server", self.server_name)])
        if self.session_id is not None and code < 300 and not any(k == "Session" for k, _ in headers):
            h.add("Session", str(SessionHeader(self.session_id, self.session_timeout)))
        for k, v in headers:
            h.add(k, v)
        self._send(Response(code, reason or REASONS.get(code, "Error"), h, body, request.version))

    def reject(self, event: DescribeRequested | AnnounceRequested | PlayRequested | RecordRequested,
               status_code: int = 404, reason: str | None = None, *,
               headers: Sequence[tuple[str, str]] = ()) -> None:
        """Answer the pending request event with an error status (404 for an unknown path, 403 for a
        bad key, 401 with ``WWW-Authenticate`` ``headers`` when the path needs credentials...)."""
        self._answer(event, DescribeRequested, AnnounceRequested, PlayRequested, RecordRequested)
        if status_code < 400:
            raise LocalProtocolError(f"reject needs an error status, not {status_code}")
        if isinstance(event, AnnounceRequested):
            self._media, self._recording, self.path = [], False, None
        self.pending = None
        self._respond(event.request, status_code, headers, reason=reason)

    def accept_describe(self, event: DescribeRequested, tracks: Sequence[Track], *,
                        sources: Mapping[int, SharedSource] | None = None) -> None:
        """Answer DESCRIBE with an SDP of ``tracks`` (control ``trackID=<i>`` each).

        ``sources`` (by track id) are shared RTP streams of the tracks (fan-out): a track SETUP
        then sends its source's packets (:meth:`send_prepared`, or :meth:`send_frame`), with the
        source's SSRC and sequence numbers. A source is used only where it matches the
        description (the track, its payload type) and the session's ``mtu``; other tracks get a
        packetizer of their own."""
        self._answer(event, DescribeRequested)
        if not tracks:
            raise LocalProtocolError("a stream needs at least one track")
        self.pending = None
        sdp_text, media = describe(tracks)
        base = event.request.uri.rstrip("/")
        self._media, self._recording, self.path, self._base = media, False, event.path, base
        self._sources = {}
        for m in media:
            source = sources.get(m.track.id) if sources is not None else None
            if source is not None and source.mtu == self.mtu and source.media.payload_type == m.payload_type \
                    and source.media.track == m.track:
                self._sources[m.track.id] = source
        self._respond(event.request, 200, [("Content-Base", base + "/"), ("Content-Type", "application/sdp")],
                      sdp_text.encode())

    def accept_announce(self, event: AnnounceRequested) -> None:
        """Accept a publisher's ANNOUNCE: its tracks can now be SETUP with mode=record."""
        self._answer(event, AnnounceRequested)
        self.pending = None
        self._respond(event.request, 200)

    def accept_play(self, event: PlayRequested, *, start_pts: Mapping[int, int] | None = None,
                    start_sequence: Mapping[int, int] | None = None) -> None:
        """Start playing.

        ``start_pts`` maps a track id to the stream time (in the track's clock rate) at which play
        starts: the same instant for every track, e.g. the time of the keyframe the player starts
        at. The RTP-Info header then carries each track's ``rtptime`` for it, which is what players
        such as FFmpeg use to line up audio and video from the first packet (without it they
        start each track at its own first packet). The sequence numbers come from each track's
        packetizer (also when frames are packetized once for many sessions, see
        :meth:`~.connection.RtspConnection.send_packetized`), unless ``start_sequence`` maps the
        track id to the sequence number of the first packet the session will get (a track that
        sends a :class:`~.streams.SharedSource`, whose first frame is one it prepared earlier:
        ``source.prepare(frame).first_sequence``).
        """
        self._answer(event, PlayRequested)
        self._machine.fire(ServerInput.PLAY)
        self.pending = None
        entries = []
        for st in self.tracks:
            url = resolve_control((self._base or "") + "/", st.media.control)
            tid = st.media.track.id
            seq, rtptime = (st.packetizer.sequence_number if st.packetizer else 0), None
            if start_sequence is not None and tid in start_sequence:
                seq = start_sequence[tid] & 0xFFFF
            if start_pts is not None and tid in start_pts and st.packetizer is not None:
                rtptime = st.packetizer.rtp_timestamp(start_pts[tid])
            entries.append(RtpInfo(url, seq, rtptime))
        headers = [("Range", str(event.range or Range("npt", "0.000", "")))]
        if entries:
            headers.append(("RTP-Info", format_rtp_info(entries)))
        self._respond(event.request, 200, headers)

    def send_prepared(self, prepared: PreparedFrame, now: float) -> None:
        """Queue a frame prepared once for every session by a :class:`~.streams.SharedSource` the
        session's track sends (see :meth:`accept_describe`): over TCP, one append of bytes made
        for all the sessions on the same channel, and the frame counted for the sender reports.
        Nothing when the session did not set up the source's track. Only while PLAYING, like
        :meth:`send_frame`."""
        if self._machine.state is not ServerState.PLAYING or self._closed or self._broken is not None:
            self._check_media_out()  # raises
        route = self._by_source.get(prepared.source)
        if route is not None:
            channel, st = route
            if channel >= 0 and st.started:  # the steady state over TCP: one append
                self._out.append(prepared.by_channel.get(channel) or prepared.interleaved(channel))
            else:
                self._send_prepared(st, prepared, now)

    def accept_record(self, event: RecordRequested) -> None:
        """Start recording: frames arrive as :class:`~.events.FrameReceived`."""
        self._answer(event, RecordRequested)
        self._machine.fire(ServerInput.RECORD)
        self.pending = None
        self._respond(event.request, 200)

    # -- requests -----------------------------------------------------------------------------
    def _on_request(self, request: Request, now: float) -> list[Event]:
        method = request.method.upper()
        if request.headers.get("CSeq") is None:
            self._respond(request, 400)
            return []
        if method != "OPTIONS" and self.authenticator is not None:
            result = self.authenticator.verify(method, request.headers.get("Authorization"), self.passwords, now)
            if not result.ok:
                challenges = self.authenticator.challenges(now, stale=result.stale)
                self._respond(request, 401, [("WWW-Authenticate", c) for c in challenges])
                return []
        handler = self._HANDLERS.get(method)
        if handler is None:
            self._respond(request, 501, [("Public", PUBLIC)])
            return []
        if method in ("PLAY", "PAUSE", "RECORD", "TEARDOWN") or (method == "SETUP" and self.session_id):
            session = request.headers.get("Session")
            if self.session_id is None or session is None or session.split(";", 1)[0].strip() != self.session_id:
                self._respond(request, 454)
                return []
        events = handler(self, request, now)
        for e in events:
            if isinstance(e, (DescribeRequested, AnnounceRequested, PlayRequested, RecordRequested)):
                self.pending = e  # input behind it waits for the answer
        return events

    def _options(self, request: Request, now: float) -> list[Event]:
        self._respond(request, 200, [("Public", PUBLIC)])
        return []

    def _describe(self, request: Request, now: float) -> list[Event]:
        return [DescribeRequested(request, url_path(request.uri))]

    def _announce(self, request: Request, now: float) -> list[Event]:
        if self.state is not ServerState.INIT:
            self._respond(request, 455)
            return []
        ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/sdp":
            self._respond(request, 415)
            return []
        try:
            sd, media = tracks_from_sdp(request.body)
        except ProtocolError:  # a bad SDP is the client's 400
            self._respond(request, 400)
            return []
        base = (request.headers.get("Content-Base") or request.uri).rstrip("/")
        self._media, self._recording, self.path, self._base = media, True, url_path(request.uri), base
        return [AnnounceRequested(request, self.path, sd, tuple(m.track for m in media))]

    def _setup(self, request: Request, now: float) -> list[Event]:
        if not self._machine.allows(ServerInput.SETUP):
            self._respond(request, 455)
            return []
        index = match_track(request.uri, self._base or "", self._media) if self._media else None
        if index is None:
            self._respond(request, 404 if self._media else 455)  # 455: SETUP before DESCRIBE/ANNOUNCE
            return []
        header = request.headers.get("Transport")
        if header is None:
            self._respond(request, 461)
            return []
        try:
            offers = parse_transport(header)
        except ProtocolError:
            self._respond(request, 400)
            return []
        chosen = self._choose_transport(offers, index)
        if chosen is None:
            self._respond(request, 461)
            return []
        if chosen.is_record != self._recording:
            self._respond(request, 455)
            return []
        media = self._media[index]
        st = SetupTrack(media, chosen)
        if self._recording:
            st.depacketizer = make_depacketizer(media)
        else:
            source = self._sources.get(media.track.id)
            if source is not None:
                st.source, st.packetizer = source, source.packetizer
            else:
                st.packetizer = make_packetizer(media, self._rng.getrandbits(32), mtu=self.mtu,
                                                initial_sequence=self._rng.getrandbits(16))
            chosen = chosen.with_(ssrc=st.packetizer.ssrc)
            st.transport = chosen
        self.tracks = [t for t in self.tracks if t.media.control != media.control]
        self._set_up(st)
        self._by_source = {t.source: (t.transport.interleaved[0] if t.transport.interleaved is not None else -1, t)
                           for t in self.tracks if t.source is not None}
        if self.session_id is None:
            self.session_id = f"{self._rng.getrandbits(48):012X}"
        self._machine.fire(ServerInput.SETUP)
        self._respond(request, 200, [("Transport", str(chosen))])
        return [SetupCompleted(self.path or "", media.track.id, chosen)]

    def _choose_transport(self, offers: list[TransportSpec], index: int) -> TransportSpec | None:
        for offer in offers:
            if offer.transport_protocol != "RTP" or offer.profile != "AVP" or not offer.unicast:
                continue
            if offer.is_tcp:
                pair = offer.interleaved or (2 * index, 2 * index + 1)
                used = {c for t in self.tracks if t.transport.interleaved for c in t.transport.interleaved
                        if t.media.control != self._media[index].control}
                if pair[0] in used or pair[1] in used:
                    continue
                return TransportSpec(lower_transport="TCP", interleaved=pair, mode=offer.mode)
            if self.udp_ports is not None and offer.client_port is not None:
                return TransportSpec(client_port=offer.client_port, server_port=self.udp_ports, mode=offer.mode)
        return None

    def _play(self, request: Request, now: float) -> list[Event]:
        if not self._machine.allows(ServerInput.PLAY) or self._recording:
            self._respond(request, 455)
            return []
        if len(self.tracks) > 1 and match_track(request.uri, self._base or "", self._media) is not None:
            self._respond(request, 459)
            return []
        rng = None
        if request.headers.get("Range"):
            try:
                rng = Range.parse(request.headers.get("Range") or "")
            except ProtocolError:
                self._respond(request, 400)
                return []
        return [PlayRequested(request, self.path or "", rng)]

    def _record(self, request: Request, now: float) -> list[Event]:
        if not self._machine.allows(ServerInput.RECORD) or not self._recording:
            self._respond(request, 455)
            return []
        return [RecordRequested(request, self.path or "")]

    def _pause(self, request: Request, now: float) -> list[Event]:
        if not self._machine.allows(ServerInput.PAUSE):
            self._respond(request, 455)
            return []
        was_playing = self.state is ServerState.PLAYING
        self._machine.fire(ServerInput.PAUSE)
        self._respond(request, 200)
        return [PauseRequested(self.path or "")] if was_playing else []

    def _teardown(self, request: Request, now: float) -> list[Event]:
        self._respond(request, 200)
        return self._end_session("teardown")

    def _get_parameter(self, request: Request, now: float) -> list[Event]:
        self._respond(request, 200)
        return []

    def _set_parameter(self, request: Request, now: float) -> list[Event]:
        self._respond(request, 451 if request.body.strip() else 200)
        return []

    _HANDLERS = {
        "OPTIONS": _options, "DESCRIBE": _describe, "ANNOUNCE": _announce, "SETUP": _setup, "PLAY": _play,
        "RECORD": _record, "PAUSE": _pause, "TEARDOWN": _teardown, "GET_PARAMETER": _get_parameter,
        "SET_PARAMETER": _set_parameter,
    }

    def _end_session(self, reason: str) -> list[Event]:
        path = self.path or ""
        had_session = self.session_id is not None
        # What a publisher's jitter buffers and the alignment hold still keep comes out before the end.
        events = self._release_jitter(self.last_activity, everything=True)
        self._machine.fire(ServerInput.END)
        self.pending = None
        self.session_id = None
        self.tracks = []
        self._by_source, self._sources = {}, {}
        self._recording = False
        self._media = []
        return events + [SessionEnded(path, reason)] if had_session else events

    def _on_response(self, response: Response, now: float) -> list[Event]:
        return []  # answers to server-sent requests (none are sent) are ignored

    def _on_closed(self) -> list[Event]:
        return self._end_session("closed") + [ConnectionClosed()]

    # -- time ---------------------------------------------------------------------------------
    def next_timer(self) -> float | None:
        """When the session times out if the client stays silent (or the jitter buffer has
        packets to release, or held-back input can be handled); None without a session."""
        held = self._held_deadline()
        if held is not None:
            return held
        if self.session_id is None or self._closed or self._broken is not None:
            return None
        deadline = self.last_activity + self.session_timeout
        for t in (self._jitter_deadline(), self._rtcp_deadline()):
            if t is not None and t < deadline:
                deadline = t
        return deadline

    def handle_timer(self, now: float) -> list[Event]:
        """Handle input held back behind an answered request; release what the jitter buffer holds
        that is due; send the RTCP reports that are due; end the session if it timed out."""
        self._check_usable()
        if self._closed:
            return []
        events = self._release_held(now)
        if self.session_id is None:
            return events
        events += self._release_jitter(now)
        self._send_reports(now)
        if now >= self.last_activity + self.session_timeout:
            events += self._end_session("timeout")
        return events


if TYPE_CHECKING:  # mypy --strict checks that the class keeps the contract of mediaproto.endpoint

    def _conforms(conn: ServerConnection) -> DatagramEndpoint:
        return conn
