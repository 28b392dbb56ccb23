"""The client side of RTSP as a Sans-IO state machine: play a stream, or publish one.

Playing::

    client = ClientConnection("rtsp://cam/stream",
                              configuration=ClientConfiguration(username="u", password="p"))
    client.start(now)
    sock.sendall(client.data_to_send())
    # OPTIONS -> DESCRIBE (401: answered once with Digest) -> SETUP each track -> PLAY
    for event in client.receive_data(sock.recv(65536), now):
        if isinstance(event, FrameReceived): ...

Publishing: ``ClientConnection(url, mode="record", tracks=[...])``: OPTIONS -> ANNOUNCE -> SETUP
(mode=record) each track -> RECORD, then :class:`~.events.RecordStarted`, after which
:meth:`~.connection.RtspConnection.send_frame` sends frames.

Media go interleaved over the connection (``transport="tcp"``) or over UDP (``transport="udp"``
with ``udp_ports``, one (RTP, RTCP) pair of the caller's bound ports per track; both in the
:class:`~mediaproto.rtsp.configuration.ClientConfiguration`); a 461 answer to a
UDP SETUP falls back to TCP. Keepalives (GET_PARAMETER, or OPTIONS when the server does not list
it) go to the base URL at half the session timeout, and receiver reports every 5 s while playing,
through :meth:`ClientConnection.next_timer` / :meth:`ClientConnection.handle_timer`. A response
without CSeq belongs to the latest request (live555).

The client's states and their transitions are :data:`~mediaproto.rtsp.states.CLIENT_TRANSITIONS`:
``start()`` once, ``play()`` when READY or PAUSED, ``pause()`` when PLAYING, ``send_frame`` when
RECORDING, ``teardown()`` once; any other call raises :class:`~mediaproto.errors.LocalProtocolError`.
Answers the table has no transition for (a late answer after ``teardown()``) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..endpoint import ConnectionClosed, DatagramEndpoint, Event, StateMachine
from ..errors import LocalProtocolError, ParseError
from ..media import Track
from .auth import Challenge, authorization, choose_challenge, parse_challenges
from .configuration import ClientConfiguration
from .connection import RtspConnection, SetupTrack
from .events import DescribeCompleted, PlayStarted, RecordStarted, Redirected, RequestFailed
from .headers import Range, RtpInfo, SessionHeader, TransportSpec, parse_public, parse_rtp_info, parse_transport, resolve_control
from .message import Headers, Request, Response
from .states import CLIENT_TRANSITIONS, ClientInput, ClientState
from .streams import MediaTrack, describe, make_depacketizer, make_packetizer, tracks_from_sdp

__all__ = ["ClientConnection", "split_credentials"]

_USERINFO = re.compile(r"^(rtsps?://)([^@/]*)@")
#: The states in which the client keeps its session alive (keepalives, receiver reports).
_SESSION_STATES = (ClientState.READY, ClientState.PLAYING, ClientState.PAUSED, ClientState.RECORDING)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``rtsp://user:pass@host/p`` -> (``rtsp://host/p``, user, password)."""
    m = _USERINFO.match(url)
    if m is None:
        return url, None, None
    user, _, password = m[2].partition(":")
    return m[1] + url[m.end():], user or None, password or None


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0]


class ClientConnection(RtspConnection):
    """An RTSP client session over one connection.

    :param url: the stream's URL (credentials in it are used and stripped, unless the
        configuration names a user).
    :param mode: ``"play"`` or ``"record"``.
    :param tracks: for ``"record"``: the tracks to publish.
    :param configuration: how the connection behaves (default: ``ClientConfiguration()``).
    """

    def __init__(self, url: str, *, mode: str = "play", tracks: Sequence[Track] = (),
                 configuration: ClientConfiguration | None = None) -> None:
        config = configuration if configuration is not None else ClientConfiguration()
        super().__init__(limits=config.limits, lenient=config.lenient, jitter_latency=config.jitter_latency,
                         sync_wait=config.sync_wait, wallclock_offset=config.wallclock_offset, rng=config.rng)
        #: The configuration the connection was made with.
        self.configuration = config
        transport, username, password = config.transport, config.username, config.password
        if mode not in ("play", "record"):
            raise LocalProtocolError(f"mode must be play or record, not {mode!r}")
        if transport not in ("tcp", "udp"):
            raise LocalProtocolError(f"transport must be tcp or udp, not {transport!r}")
        if mode == "record" and not tracks:
            raise LocalProtocolError("publishing needs tracks")
        self.url, url_user, url_password = split_credentials(url)
        self.username = username if username is not None else url_user
        self.password = password if password is not None else url_password
        self.mode = mode
        self.transport = transport
        self.udp_ports = list(config.udp_ports)
        self.user_agent = config.user_agent
        self.scale = config.scale
        self.mtu = config.mtu
        self._publish_tracks = list(tracks)
        self.base_url = self.url
        self.session_id: str | None = None
        self.session_timeout = 60
        self.public: list[str] = []
        self.media: list[MediaTrack] = []
        self._machine = StateMachine("RTSP client", CLIENT_TRANSITIONS, ClientState.INIT)
        self._cseq = 0
        self._pending: dict[int, Request] = {}
        self._latest: Request | None = None
        self._challenge: Challenge | None = None
        self._nc = 0
        self._cnonce = f"{self._rng.getrandbits(64):016x}"
        self._retried: set[int] = set()
        self._setup_index = 0
        self._last_request_time = 0.0
        self.reporter_ssrc = self._rng.getrandbits(32)

    @property
    def state(self) -> ClientState:
        """Where the client is (see :mod:`mediaproto.rtsp.states`)."""
        return self._machine.state

    def _move(self, what: ClientInput) -> bool:
        """Take the transition the server's answer asks for, if the table has it."""
        if not self._machine.allows(what):
            return False
        self._machine.fire(what)
        return True

    def _check_media_out(self) -> None:
        self._check_sendable()
        self._machine.fire(ClientInput.SEND_MEDIA)

    # -- requests -----------------------------------------------------------------------------
    def _request(self, method: str, uri: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b"") -> None:
        self._cseq += 1
        h = Headers([("CSeq", str(self._cseq)), ("User-Agent", self.user_agent)])
        if self.session_id is not None and method not in ("OPTIONS", "DESCRIBE", "ANNOUNCE"):
            h.add("Session", self.session_id)
        if self._challenge is not None and self.username is not None:
            self._nc += 1
            h.add("Authorization", authorization(self._challenge, method, uri, self.username, self.password or "",
                                                 cnonce=self._cnonce, nc=self._nc))
        for k, v in headers:
            h.add(k, v)
        request = Request(method, uri, h, body)
        self._pending[self._cseq] = request
        self._latest = request
        self._send(request)

    def _resend(self, request: Request) -> None:
        headers = [(k, v) for k, v in request.headers if k.lower() not in ("cseq", "user-agent", "session", "authorization")]
        self._request(request.method, request.uri, headers, request.body)

    def start(self, now: float) -> None:
        """Begin at the caller's ``now``: send OPTIONS (then DESCRIBE or ANNOUNCE follow on their own)."""
        self._check_sendable()
        self._machine.fire(ClientInput.START)
        self.last_activity = now
        self._last_request_time = now
        self._request("OPTIONS", self.url)

    def play(self, range: Range | None = None) -> None:
        """Send PLAY (again, after :meth:`pause`)."""
        self._check_sendable()
        self._machine.fire(ClientInput.SEND_PLAY)
        headers = [("Range", str(range or Range("npt", "0.000", "")))]
        if self.scale is not None:
            headers.append(("Scale", f"{self.scale:g}"))
        self._request("PLAY", self.base_url, headers)

    def pause(self) -> None:
        """Send PAUSE."""
        self._check_sendable()
        self._machine.fire(ClientInput.SEND_PAUSE)
        self._request("PAUSE", self.base_url)

    def teardown(self) -> None:
        """Send TEARDOWN; the caller closes the connection after the response (or at once)."""
        self._check_sendable()
        self._machine.fire(ClientInput.TEARDOWN)
        if self.session_id is not None:
            self._request("TEARDOWN", self.base_url)

    def _next_setup(self) -> None:
        index = self._setup_index
        media = self.media[index]
        url = resolve_control(self.base_url, media.control)
        if self.transport == "tcp":
            spec = TransportSpec(lower_transport="TCP", interleaved=(2 * index, 2 * index + 1))
        else:
            if index >= len(self.udp_ports):
                raise LocalProtocolError(f"UDP needs a port pair for track {index}: pass udp_ports")
            spec = TransportSpec(client_port=self.udp_ports[index])
        if self.mode == "record":
            spec = spec.with_(mode="record")  # leave mode out when playing (QUIRKS)
        self._request("SETUP", url, [("Transport", str(spec))])

    # -- responses ----------------------------------------------------------------------------
    def _on_request(self, request: Request, now: float) -> list[Event]:
        # Servers rarely send requests (a keepalive OPTIONS, ANNOUNCE of a change): answer 200 or 501.
        code = 200 if request.method in ("OPTIONS", "GET_PARAMETER") else 501
        h = Headers([("CSeq", request.headers.get("CSeq") or "0")])
        self._send(Response(code, "OK" if code == 200 else "Not Implemented", h))
        return []

    def _on_response(self, response: Response, now: float) -> list[Event]:
        cseq = response.cseq
        request = self._pending.pop(cseq, None) if cseq is not None else self._latest
        if request is None:
            return []  # an answer to nothing we asked: ignore
        if cseq is None:
            self._pending.pop(request.headers.cseq or -1, None)
        code = response.status_code
        if code == 401 and self.username is not None and cseq not in self._retried:
            challenge = choose_challenge(parse_challenges(response.headers.get_all("WWW-Authenticate")))
            if challenge is not None:
                self._challenge, self._nc = challenge, 0
                self._retried.add(self._cseq + 1)
                self._resend(request)
                return []
        if 300 <= code < 400 and request.method in ("DESCRIBE", "OPTIONS") and response.headers.get("Location"):
            location = response.headers.get("Location") or ""
            if _host(location) != _host(self.url):
                return [Redirected(location)] if self._move(ClientInput.REDIRECT) else []
            self.url = self.base_url = location
            self._request(request.method, location, [(k, v) for k, v in request.headers if k.lower() == "accept"])
            return []
        if code == 461 and request.method == "SETUP" and self.transport == "udp" and self.state is ClientState.SETUP:
            self.transport = "tcp"  # a 461 means try TCP (QUIRKS)
            self._next_setup()
            return []
        if code >= 300:
            if request.method in ("OPTIONS", "GET_PARAMETER") and self.state is not ClientState.OPTIONS:
                return []  # a failed keepalive is not fatal
            if request.method == "OPTIONS":
                return self._after_options()
            self._move(ClientInput.FAIL)
            return [RequestFailed(request.method, response)]
        return self._on_success(request, response, now)

    def _after_options(self) -> list[Event]:
        if self.mode == "play":
            if self._move(ClientInput.SEND_DESCRIBE):
                self._request("DESCRIBE", self.url, [("Accept", "application/sdp")])
        elif self._move(ClientInput.SEND_ANNOUNCE):
            sdp_text, self.media = describe(self._publish_tracks, control_prefix="streamid=")
            self._request("ANNOUNCE", self.url, [("Content-Type", "application/sdp")], sdp_text.encode())
        return []

    def _on_success(self, request: Request, response: Response, now: float) -> list[Event]:
        method = request.method
        session = response.headers.get("Session")
        if session is not None:
            header = SessionHeader.parse(session)
            self.session_id = header.session_id
            if header.timeout:
                self.session_timeout = header.timeout
        if method == "OPTIONS":
            if response.headers.get("Public"):
                self.public = parse_public(response.headers.get("Public") or "")
            return self._after_options() if self.state is ClientState.OPTIONS else []
        if method == "DESCRIBE":
            return self._described(request, response) if self.state is ClientState.DESCRIBE else []
        if method == "ANNOUNCE":
            if self._move(ClientInput.SET_UP_TRACKS):
                self._setup_index = 0
                self._next_setup()
            return []
        if method == "SETUP":
            return self._setup_done(response) if self.state is ClientState.SETUP else []
        if method == "PLAY":
            if not self._move(ClientInput.PLAY_STARTED):
                return []
            rtp_info = parse_rtp_info(response.headers.get("RTP-Info") or "") if response.headers.get("RTP-Info") else []
            self._align_by_rtp_info(rtp_info)
            self._start_media(now)
            rng = Range.parse(response.headers.get("Range") or "") if response.headers.get("Range") else None
            return [PlayStarted(tuple(rtp_info), rng)]
        if method == "RECORD":
            return [RecordStarted()] if self._move(ClientInput.RECORD_STARTED) else []
        if method == "PAUSE":
            self._move(ClientInput.PAUSED)
        return []

    def _described(self, request: Request, response: Response) -> list[Event]:
        ctype = (response.headers.get("Content-Type") or "application/sdp").split(";")[0].strip().lower()
        if ctype != "application/sdp":
            raise ParseError(f"DESCRIBE answered with {ctype}, not application/sdp")
        base = response.headers.get("Content-Base") or response.headers.get("Content-Location") or request.uri
        self.base_url = base[:-1] if base.endswith("/") else base
        session_description, self.media = tracks_from_sdp(response.body)
        control = session_description.control
        if control and control != "*":
            self.base_url = resolve_control(self.base_url, control)
        self._machine.fire(ClientInput.SET_UP_TRACKS)
        self._setup_index = 0
        self._next_setup()
        return [DescribeCompleted(session_description, tuple(m.track for m in self.media))]

    def _setup_done(self, response: Response) -> list[Event]:
        index = self._setup_index
        media = self.media[index]
        header = response.headers.get("Transport")
        if header is None:
            raise ParseError("SETUP response without a Transport header")
        spec = parse_transport(header)[0]
        if self.transport == "tcp" and spec.interleaved is None:
            spec = spec.with_(interleaved=(2 * index, 2 * index + 1))
        if self.transport == "udp" and spec.client_port is None:
            spec = spec.with_(client_port=self.udp_ports[index])
        st = SetupTrack(media, spec)
        if self.mode == "play":
            st.depacketizer = make_depacketizer(media)
        else:
            st.packetizer = make_packetizer(media, self._rng.getrandbits(32), mtu=self.mtu,
                                            initial_sequence=self._rng.getrandbits(16))
        self._set_up(st)
        self._setup_index += 1
        if self._setup_index < len(self.media):
            self._next_setup()
            return []
        self._machine.fire(ClientInput.ALL_SET_UP)
        if self.mode == "play":
            self.play()
        else:
            self._request("RECORD", self.base_url, [("Range", "npt=0.000-")])
        return []

    def _align_by_rtp_info(self, rtp_info: Sequence[RtpInfo]) -> None:
        """PLAY's RTP-Info: each track's ``rtptime`` stands for the same instant (the tracks'
        alignment until sender reports come)."""
        for info in rtp_info:
            if info.rtptime is None:
                continue
            for st in self.tracks:
                url = resolve_control(self.base_url + "/", st.media.control)
                if st.depacketizer is not None and (info.url == url or info.url.rstrip("/").endswith(
                        "/" + st.media.control.rstrip("/")) or len(self.tracks) == 1):
                    self.sync.set_rtp_info(st.media.track.id, info.rtptime)
                    break

    def _on_closed(self) -> list[Event]:
        self._machine.fire(ClientInput.CLOSE)
        return [ConnectionClosed()]

    # -- time ---------------------------------------------------------------------------------
    def next_timer(self) -> float | None:
        """The next keepalive or receiver report, in the caller's clock (at once when held-back
        input can be handled); None when idle."""
        held = self._held_deadline()
        if held is not None:
            return held
        if self.session_id is None or self.state not in _SESSION_STATES or self._broken is not None:
            return None
        deadline = self._last_request_time + self.session_timeout / 2
        for t in (self._jitter_deadline(), self._rtcp_deadline()):
            if t is not None and t < deadline:
                deadline = t
        return deadline

    def handle_timer(self, now: float) -> list[Event]:
        """Send what is due: a keepalive request, receiver reports; frames the jitter buffer
        released."""
        self._check_usable()
        events = self._release_held(now)
        if self.session_id is None or self.state not in _SESSION_STATES:
            return events
        events += self._release_jitter(now)
        if now >= self._last_request_time + self.session_timeout / 2:
            self._last_request_time = now
            method = "GET_PARAMETER" if not self.public or "GET_PARAMETER" in self.public else "OPTIONS"
            self._request(method, self.base_url)
        self._send_reports(now)
        return events


if TYPE_CHECKING:  # mypy --strict checks that the class keeps the contract of mediaproto.endpoint

    def _conforms(conn: ClientConnection) -> DatagramEndpoint:
        return conn
