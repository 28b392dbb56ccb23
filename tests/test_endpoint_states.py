"""Every state x every call of the four endpoints, and random sequences of both.

Each endpoint is brought into each of its states by a real peer (our own client or server, or raw
requests), and every call of its API is tried there: it raises ``LocalProtocolError`` exactly when
the state table (``rtmp.states``, ``rtsp.states``) has no transition for it, and a refused call
leaves the state as it was. Hypothesis then drives random sequences of peer steps and calls (h2's
``test_state_machines.py`` style) with the same oracle. The RTSP misuse of issue 12 has tests of
its own with literal expectations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mediaproto import rtmp, rtsp
from mediaproto.endpoint import Event
from mediaproto.errors import LocalProtocolError
from mediaproto.media import Frame
from mediaproto.rtmp import events as E
from mediaproto.rtmp import message as msg
from mediaproto.rtmp.chunk import ChunkEncoder
from mediaproto.rtmp.states import (CLIENT_STREAM_TRANSITIONS, CLIENT_TRANSITIONS, SERVER_STREAM_TRANSITIONS,
                                    ClientInput, ServerState, StreamInput, StreamState)
from mediaproto.rtsp import states as rtsp_states
from mediaproto.rtsp.events import (AnnounceRequested, DescribeRequested, PlayRequested, RecordRequested,
                                    RtspEvent)
from mediaproto.rtsp.message import Headers, Request
from mediaproto.rtsp.states import ClientState as RtspClientState
from mediaproto.rtsp.states import ServerState as RtspServerState

from .rtmp.test_connection import Pair, rnd
from .rtsp.test_sessions import AUDIO, VIDEO, Pump


# -- RTMP server: every state x every call ------------------------------------------------------------

TRACKS = [VIDEO, AUDIO]
FRAME = Frame(0, 0, 0, (b"\x65\x88",), True)
CONNECT = E.ConnectRequested("live", "", 0.0, {}, 1.0)
PUBLISH = E.PublishRequested(1, "k", "live", "live", 0.0)
PLAY = E.PlayRequested(1, "k", -2.0, -1.0, True, "live")


def _rtmp_server(state: str) -> rtmp.ServerConnection:
    """A server brought to ``state`` by our client (stream 1 is the one that moves)."""
    if state == "handshake":
        return rtmp.ServerConnection()
    if state == "wait_connect":
        s = rtmp.ServerConnection(rtmp.ServerConfiguration(random_bytes=rnd))
        c = rtmp.ClientConnection("live", configuration=rtmp.ClientConfiguration(random_bytes=rnd))
        s.receive_data(c.data_to_send(), 0.0)
        c.receive_data(s.data_to_send(), 0.0)
        s.receive_data(c.data_to_send()[:1536], 0.0)  # C2 only: no connect yet
        return s
    p = Pair(auto=False)
    sev, _ = p.pump()
    if state == "connect_requested":
        return p.s
    if state == "rejected":
        p.s.reject_connect(sev[0])  # type: ignore[arg-type]
        return p.s
    p.s.accept_connect(sev[0])  # type: ignore[arg-type]
    p.pump()
    if state == "connected":
        return p.s
    enc = ChunkEncoder(4096)
    p.s.receive_data(enc.encode(msg.command("createStream", 2, None)), 0.0)
    if state == "created":
        return p.s
    kind, _, answer = state.partition(":")
    name = "publish" if kind == "publish" else "play"
    [event] = p.s.receive_data(enc.encode(msg.command(name, 0, None, "k", stream_id=1)), 0.0)
    if answer == "accepted":
        if isinstance(event, E.PublishRequested):
            p.s.accept_publish(event)
        else:
            assert isinstance(event, E.PlayRequested)
            p.s.accept_play(event, tracks=TRACKS)
    return p.s


RTMP_SERVER_STATES = ["handshake", "wait_connect", "connect_requested", "rejected", "connected", "created", "publish",
                      "publish:accepted", "play", "play:accepted"]

RTMP_SERVER_CALLS: dict[str, tuple[Callable[[rtmp.ServerConnection], object], object]] = {
    "accept_connect": (lambda s: s.accept_connect(CONNECT), "connect"),
    "reject_connect": (lambda s: s.reject_connect(CONNECT), "connect"),
    "accept_publish": (lambda s: s.accept_publish(PUBLISH), StreamInput.ACCEPT_PUBLISH),
    "reject_publish": (lambda s: s.reject_publish(PUBLISH), StreamInput.REJECT_PUBLISH),
    "accept_play": (lambda s: s.accept_play(PLAY, tracks=TRACKS), StreamInput.ACCEPT_PLAY),
    "reject_play": (lambda s: s.reject_play(PLAY), StreamInput.REJECT_PLAY),
    "send_tracks": (lambda s: s.send_tracks(1, TRACKS), StreamInput.SEND_MEDIA),
    "send_metadata": (lambda s: s.send_metadata(1, {}), StreamInput.SEND_MEDIA),
    "end_play": (lambda s: s.end_play(1), StreamInput.SEND_MEDIA),
}


def _rtmp_server_allows(s: rtmp.ServerConnection, what: object) -> bool:
    if s.closed or s.broken:
        return False
    if what == "connect":
        return s.state is ServerState.CONNECT_REQUESTED
    state = s.stream_state(1)
    return state is not None and what in SERVER_STREAM_TRANSITIONS[state]


@pytest.mark.parametrize("state", RTMP_SERVER_STATES)
@pytest.mark.parametrize("call", list(RTMP_SERVER_CALLS))
def test_rtmp_server_every_state_and_call(state: str, call: str) -> None:
    s = _rtmp_server(state)
    fn, what = RTMP_SERVER_CALLS[call]
    allowed = _rtmp_server_allows(s, what)
    if allowed:
        fn(s)
        assert s.data_to_send()  # an allowed call says something to the peer
    else:
        before = s.stream_state(1), s.state
        with pytest.raises(LocalProtocolError):
            fn(s)
        assert (s.stream_state(1), s.state) == before


def test_rtmp_server_matrix_reaches_every_state() -> None:
    seen = {(_rtmp_server(st).state, _rtmp_server(st).stream_state(1)) for st in RTMP_SERVER_STATES}
    assert {c for c, _ in seen} == set(ServerState)  # every connection state
    assert {s for _, s in seen} == set(StreamState) | {None}  # every stream state


# -- RTMP client: every state x every call ------------------------------------------------------------

def _rtmp_client(state: str) -> rtmp.ClientConnection:
    if state == "handshake":
        return rtmp.ClientConnection("live")
    p = Pair(auto=False)
    sev, _ = p.pump()
    if state == "connecting":
        return p.c
    if state == "rejected":
        p.s.reject_connect(sev[0])  # type: ignore[arg-type]
        p.pump()
        return p.c
    p.s.accept_connect(sev[0])  # type: ignore[arg-type]
    p.pump()
    if state == "connected":
        return p.c
    kind, _, answer = state.partition(":")
    getattr(p.c, kind)("k")
    sev, _ = p.pump()
    event = next(e for e in sev if isinstance(e, (E.PublishRequested, E.PlayRequested)))
    if answer == "accepted":
        p.s.accept_publish(event) if isinstance(event, E.PublishRequested) else p.s.accept_play(event)
    elif answer == "rejected":
        p.s.reject_publish(event) if isinstance(event, E.PublishRequested) else p.s.reject_play(event)
    p.pump()
    return p.c


RTMP_CLIENT_STATES = ["handshake", "connecting", "rejected", "connected", "publish", "publish:accepted",
                      "publish:rejected", "play", "play:accepted"]

RTMP_CLIENT_CALLS: dict[str, tuple[Callable[[rtmp.ClientConnection], object], object]] = {
    "publish": (lambda c: c.publish("x"), ClientInput.OPEN_STREAM),
    "play": (lambda c: c.play("x"), ClientInput.OPEN_STREAM),
    "send_tracks": (lambda c: c.send_tracks(TRACKS, 1), StreamInput.SEND_MEDIA),
    "send_metadata": (lambda c: c.send_metadata({}, 1), StreamInput.SEND_MEDIA),
    "close_stream": (lambda c: c.close_stream(1), StreamInput.CLOSE),
}


def _rtmp_client_allows(c: rtmp.ClientConnection, what: object) -> bool:
    if c.closed or c.broken:
        return False
    if isinstance(what, ClientInput):
        return what in CLIENT_TRANSITIONS[c.state]
    state = c.stream_state(1)
    return state is not None and what in CLIENT_STREAM_TRANSITIONS[state]


@pytest.mark.parametrize("state", RTMP_CLIENT_STATES)
@pytest.mark.parametrize("call", list(RTMP_CLIENT_CALLS))
def test_rtmp_client_every_state_and_call(state: str, call: str) -> None:
    c = _rtmp_client(state)
    fn, what = RTMP_CLIENT_CALLS[call]
    if _rtmp_client_allows(c, what):
        fn(c)
        assert c.data_to_send()
    else:
        with pytest.raises(LocalProtocolError):
            fn(c)


def test_rtmp_client_cannot_send_before_publish_start() -> None:
    c = _rtmp_client("publish")
    assert c.stream_state(1) is StreamState.PUBLISH_REQUESTED
    with pytest.raises(LocalProtocolError):
        c.send_frame(FRAME, 0.0)
    assert _rtmp_client("publish:rejected").stream_state(1) is StreamState.CREATED


# -- RTSP server: every state x every call ------------------------------------------------------------

class RtspRequests:
    """Raw requests to a server, as a client would send them."""

    def __init__(self, server: rtsp.ServerConnection) -> None:
        self.server = server
        self.cseq = 0
        self.now = 0.0

    def send(self, method: str, uri: str = "rtsp://h/live/test", headers: tuple[tuple[str, str], ...] = (),
             body: bytes = b"") -> list[Event]:
        self.cseq += 1
        h = [("CSeq", str(self.cseq)), *headers]
        if self.server.session_id and method not in ("DESCRIBE", "ANNOUNCE", "OPTIONS"):
            h.append(("Session", self.server.session_id))
        self.now += 1.0
        return self.server.receive_data(bytes(Request(method, uri, Headers(h), body)), self.now)

    def setup(self, record: bool) -> list[Event]:
        mode = ";mode=record" if record else ""
        return self.send("SETUP", "rtsp://h/live/test/trackID=0",
                         (("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1" + mode),))


SDP = (b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
       b"a=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n")


def _rtsp_server(state: str) -> tuple[rtsp.ServerConnection, RtspEvent | None]:
    """A server in ``state``, with the request event it shows (pending or answered)."""
    s = rtsp.ServerConnection(rtsp.ServerConfiguration(rng=random.Random(1)))
    r = RtspRequests(s)
    if state == "init":
        return s, None
    record = state.startswith("record")
    if record:
        [ev] = r.send("ANNOUNCE", headers=(("Content-Type", "application/sdp"),), body=SDP)
        assert isinstance(ev, AnnounceRequested)
        if state == "record:announce?":
            return s, ev
        s.accept_announce(ev)
    else:
        [ev] = r.send("DESCRIBE")
        assert isinstance(ev, DescribeRequested)
        if state == "play:describe?":
            return s, ev
        s.accept_describe(ev, [VIDEO])
    r.setup(record)
    if state.endswith(":ready"):
        return s, None
    [ev] = r.send("RECORD" if record else "PLAY")
    if state.endswith("?"):
        return s, ev
    if isinstance(ev, PlayRequested):
        s.accept_play(ev)
    else:
        assert isinstance(ev, RecordRequested)
        s.accept_record(ev)
    if state == "play:paused":
        r.send("PAUSE")
    elif state == "play:teardown":
        r.send("TEARDOWN")
    return s, ev


RTSP_SERVER_STATES = ["init", "play:describe?", "play:ready", "play:play?", "play:playing", "play:paused",
                      "play:teardown", "record:announce?", "record:ready", "record:record?", "record:recording"]

_REQUEST = Request("X", "rtsp://h/live/test", Headers([("CSeq", "1")]))
FAKE: dict[type, RtspEvent] = {
    DescribeRequested: DescribeRequested(_REQUEST, "live/test"),
    AnnounceRequested: AnnounceRequested(_REQUEST, "live/test", None, (VIDEO,)),  # type: ignore[arg-type]
    PlayRequested: PlayRequested(_REQUEST, "live/test", None),
    RecordRequested: RecordRequested(_REQUEST, "live/test"),
}

RTSP_SERVER_CALLS: dict[str, tuple[type | None, Callable[[rtsp.ServerConnection, Any], object]]] = {
    "accept_describe": (DescribeRequested, lambda s, e: s.accept_describe(e, [VIDEO])),
    "accept_announce": (AnnounceRequested, lambda s, e: s.accept_announce(e)),
    "accept_play": (PlayRequested, lambda s, e: s.accept_play(e)),
    "accept_record": (RecordRequested, lambda s, e: s.accept_record(e)),
    "reject": (None, lambda s, e: s.reject(e, 404)),
    "send_frame": (None, lambda s, e: s.send_frame(FRAME, 0.0)),
}

_ACCEPT_INPUT = {PlayRequested: rtsp_states.ServerInput.PLAY, RecordRequested: rtsp_states.ServerInput.RECORD}


def _rtsp_server_allows(s: rtsp.ServerConnection, call: str, event: RtspEvent | None) -> bool:
    """The contract: an answer needs the very request that is pending (of the call's kind) and a
    transition in the table; send_frame needs PLAYING."""
    if s.closed or s.broken:
        return False
    kind, _ = RTSP_SERVER_CALLS[call]
    table = rtsp_states.SERVER_TRANSITIONS[s.state]
    if call == "send_frame":
        return rtsp_states.ServerInput.SEND_MEDIA in table
    if s.pending is None or event != s.pending or (kind is not None and not isinstance(event, kind)):
        return False
    needed = _ACCEPT_INPUT.get(type(event)) if call != "reject" else None
    return needed is None or needed in table


@pytest.mark.parametrize("state", RTSP_SERVER_STATES)
@pytest.mark.parametrize("call", list(RTSP_SERVER_CALLS))
@pytest.mark.parametrize("which", ["shown", "made up"])
def test_rtsp_server_every_state_and_call(state: str, call: str, which: str) -> None:
    s, shown = _rtsp_server(state)
    kind, fn = RTSP_SERVER_CALLS[call]
    event = shown if which == "shown" else FAKE.get(kind or PlayRequested)
    if which == "shown" and event is None:
        event = FAKE.get(kind or PlayRequested)
    allowed = _rtsp_server_allows(s, call, event)
    before = s.state, s.pending
    if allowed:
        fn(s, event)
        assert s.pending is None or call == "send_frame"
    else:
        with pytest.raises(LocalProtocolError):
            fn(s, event)
        assert (s.state, s.pending) == before


def test_rtsp_server_matrix_reaches_every_state() -> None:
    assert {_rtsp_server(st)[0].state for st in RTSP_SERVER_STATES} == set(RtspServerState)


def test_rtsp_accept_play_without_a_session_raises() -> None:
    """Issue 12: ``ServerConnection().accept_play(event)`` moved to PLAYING and answered 200."""
    s = rtsp.ServerConnection()
    with pytest.raises(LocalProtocolError):
        s.accept_play(FAKE[PlayRequested])  # type: ignore[arg-type]
    assert s.state is RtspServerState.INIT and s.data_to_send() == b""
    for call in ("accept_describe", "accept_announce", "accept_record", "reject"):
        with pytest.raises(LocalProtocolError):
            RTSP_SERVER_CALLS[call][1](s, FAKE[RTSP_SERVER_CALLS[call][0] or DescribeRequested])
    assert s.data_to_send() == b""


def test_rtsp_accept_of_another_kind_raises() -> None:
    s, describe = _rtsp_server("play:describe?")
    with pytest.raises(LocalProtocolError):
        s.accept_play(describe)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        s.accept_announce(describe)  # type: ignore[arg-type]
    s.accept_describe(describe, [VIDEO])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):  # answered once only
        s.accept_describe(describe, [VIDEO])  # type: ignore[arg-type]
    s2, play = _rtsp_server("play:play?")
    s2.reject(play, 403)  # type: ignore[arg-type]
    assert s2.state is RtspServerState.READY
    with pytest.raises(LocalProtocolError):
        s2.accept_play(play)  # type: ignore[arg-type]


def test_rtsp_server_holds_requests_behind_a_pending_one() -> None:
    """PLAY then TEARDOWN in one read: the TEARDOWN waits until PLAY is answered, so the answer
    is never refused for a session that ended behind the application's back."""
    s, _ = _rtsp_server("play:ready")
    sid = s.session_id or ""
    both = b"".join(bytes(Request(m, "rtsp://h/live/test", Headers([("CSeq", str(c)), ("Session", sid)])))
                    for c, m in ((10, "PLAY"), (11, "TEARDOWN")))
    [play] = s.receive_data(both, 50.0)
    assert isinstance(play, PlayRequested) and s.pending == play
    assert s.next_timer() == 110.0  # the session timeout only: nothing can be handled yet
    s.accept_play(play)
    assert s.next_timer() == 50.0  # the held TEARDOWN can be handled now
    ended = s.handle_timer(50.0)
    assert [type(e).__name__ for e in ended] == ["SessionEnded"] and s.state is RtspServerState.INIT
    answers = s.data_to_send()
    assert answers.index(b"CSeq: 10") < answers.index(b"CSeq: 11")


# -- RTSP client: every state x every call ------------------------------------------------------------

def _rtsp_client(state: str) -> rtsp.ClientConnection:
    record = state.startswith("record")
    server = rtsp.ServerConnection(rtsp.ServerConfiguration(rng=random.Random(1)))
    mode = "record" if record else "play"
    client = rtsp.ClientConnection("rtsp://h/live/test", mode=mode, tracks=(VIDEO,) if record else (),
                                   configuration=rtsp.ClientConfiguration(rng=random.Random(2)))
    stop = state.split(":")[-1]
    if stop == "init":
        return client
    client.start(0.0)
    if stop == "options":
        return client
    answer: dict[str, Any] = {"describe": True, "announce": True, "play": True, "record": True}
    if stop in ("describe", "announce"):
        answer[stop] = None  # leave it pending
    if stop == "ready":
        answer["play" if not record else "record"] = None
    if stop == "failed":
        answer["describe"] = False
    pump = Pump(client, server, tracks=(VIDEO,))

    def reply(event: Event) -> None:
        key = type(event).__name__.replace("Requested", "").lower()
        if answer.get(key) is None:
            return
        if answer[key] is False:
            server.reject(event, 404)  # type: ignore[arg-type]
        else:
            Pump._answer(pump, event)  # type: ignore[arg-type]

    pump._answer = reply  # type: ignore[method-assign]
    pump.run()
    if stop == "paused":
        client.pause()
        pump.run()
    elif stop == "teardown":
        client.teardown()
    elif stop == "closed":
        client.receive_data(b"", 1.0)
    return client


RTSP_CLIENT_STATES = ["play:init", "play:options", "play:describe", "play:ready", "play:playing", "play:paused",
                      "play:failed", "play:teardown", "play:closed", "record:announce", "record:ready",
                      "record:recording"]

RTSP_CLIENT_CALLS: dict[str, tuple[Callable[[rtsp.ClientConnection], object], rtsp_states.ClientInput]] = {
    "start": (lambda c: c.start(5.0), rtsp_states.ClientInput.START),
    "play": (lambda c: c.play(), rtsp_states.ClientInput.SEND_PLAY),
    "pause": (lambda c: c.pause(), rtsp_states.ClientInput.SEND_PAUSE),
    "teardown": (lambda c: c.teardown(), rtsp_states.ClientInput.TEARDOWN),
    "send_frame": (lambda c: c.send_frame(FRAME, 0.0), rtsp_states.ClientInput.SEND_MEDIA),
}


@pytest.mark.parametrize("state", RTSP_CLIENT_STATES)
@pytest.mark.parametrize("call", list(RTSP_CLIENT_CALLS))
def test_rtsp_client_every_state_and_call(state: str, call: str) -> None:
    c = _rtsp_client(state)
    fn, what = RTSP_CLIENT_CALLS[call]
    allowed = not c.closed and what in rtsp_states.CLIENT_TRANSITIONS[c.state]
    if allowed:
        fn(c)
        assert c.state is rtsp_states.CLIENT_TRANSITIONS[_rtsp_client(state).state][what]
    else:
        before = c.state
        with pytest.raises(LocalProtocolError):
            fn(c)
        assert c.state is before


def test_rtsp_client_matrix_reaches_its_states() -> None:
    seen = {_rtsp_client(st).state for st in RTSP_CLIENT_STATES}
    # REDIRECTED and SETUP are transient here (covered in tests/rtsp); every other state is reached
    assert seen == set(RtspClientState) - {RtspClientState.REDIRECTED, RtspClientState.SETUP}


def test_rtsp_client_start_needs_now_and_runs_once() -> None:
    c = rtsp.ClientConnection("rtsp://h/live/test")
    with pytest.raises(TypeError):
        c.start()  # type: ignore[call-arg]
    c.start(3.0)
    with pytest.raises(LocalProtocolError):
        c.start(4.0)


# -- hypothesis: random peer steps and calls, the same oracle ----------------------------------------

class RtmpServerMachine(RuleBasedStateMachine):
    """Our client's requests and raw commands against a server; random (mis)uses of its API."""

    def __init__(self) -> None:
        super().__init__()
        self.p = Pair(auto=False)
        self.shown: list[Event] = []
        self.enc = ChunkEncoder(4096)
        self.connected = False

    def _feed(self, data: bytes) -> None:
        self.p.now += 1.0
        self.shown += self.p.s.receive_data(data, self.p.now)
        while (due := self.p.s.next_timer()) is not None and due <= self.p.now:
            self.shown += self.p.s.handle_timer(self.p.now)

    @rule()
    def handshake_and_connect(self) -> None:
        if not self.connected:
            self.connected = True
            sev, _ = self.p.pump()
            self.shown += sev

    @rule(name=st.sampled_from(["createStream", "publish", "play", "deleteStream", "closeStream", "FCUnpublish"]))
    def command(self, name: str) -> None:
        if self.p.s.state is not ServerState.HANDSHAKE:
            args: list[object] = ["k"] if name in ("publish", "play", "FCUnpublish") else []
            if name == "deleteStream":
                args = [1.0]
            self._feed(self.enc.encode(msg.command(name, 3, None, *args, stream_id=0 if name == "createStream" else 1)))

    @rule(call=st.sampled_from(list(RTMP_SERVER_CALLS)))
    def call(self, call: str) -> None:
        fn, what = RTMP_SERVER_CALLS[call]
        allowed = _rtmp_server_allows(self.p.s, what)
        if allowed:
            fn(self.p.s)
        else:
            with pytest.raises(LocalProtocolError):
                fn(self.p.s)
        self.p.s.data_to_send()

    @invariant()
    def states_are_in_the_tables(self) -> None:
        assert self.p.s.state in ServerState
        assert self.p.s.stream_state(1) in (*StreamState, None)


class RtspServerMachine(RuleBasedStateMachine):
    """Raw requests in any order against a server; random (mis)uses of its API."""

    def __init__(self) -> None:
        super().__init__()
        self.s = rtsp.ServerConnection(rtsp.ServerConfiguration(rng=random.Random(1)))
        self.r = RtspRequests(self.s)
        self.shown: list[Event] = [FAKE[PlayRequested]]

    def _collect(self, events: list[Event]) -> None:
        self.shown += events
        while (due := self.s.next_timer()) is not None and due <= self.r.now:
            new = self.s.handle_timer(self.r.now)
            if not new and self.s.next_timer() == due:
                break
            self.shown += new

    @rule(method=st.sampled_from(["DESCRIBE", "ANNOUNCE", "SETUP", "SETUP-REC", "PLAY", "RECORD", "PAUSE",
                                  "TEARDOWN", "OPTIONS"]))
    def request(self, method: str) -> None:
        if method == "ANNOUNCE":
            events = self.r.send(method, headers=(("Content-Type", "application/sdp"),), body=SDP)
        elif method.startswith("SETUP"):
            events = self.r.setup(method == "SETUP-REC")
        else:
            events = self.r.send(method)
        self._collect(events)

    @rule(call=st.sampled_from(list(RTSP_SERVER_CALLS)), pick=st.integers(0, 3))
    def call(self, call: str, pick: int) -> None:
        candidates = [e for e in self.shown if isinstance(e, RtspEvent)]
        event = candidates[-1 - pick % len(candidates)]
        allowed = _rtsp_server_allows(self.s, call, event)
        fn = RTSP_SERVER_CALLS[call][1]
        if allowed:
            fn(self.s, event)
        else:
            with pytest.raises(LocalProtocolError):
                fn(self.s, event)
        self._collect([])
        self.s.data_to_send()

    @invariant()
    def pending_is_a_request(self) -> None:
        assert self.s.pending is None or isinstance(self.s.pending, tuple(FAKE))


_settings = settings(max_examples=60, stateful_step_count=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
TestRtmpServerMachine = RtmpServerMachine.TestCase
TestRtmpServerMachine.settings = _settings
TestRtspServerMachine = RtspServerMachine.TestCase
TestRtspServerMachine.settings = _settings
