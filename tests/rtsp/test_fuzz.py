"""Property tests: any split parses the same; random and mutated input raises only ProtocolError,
at the parser and at both state machines; hostile peers stay within the limits."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mediaproto.endpoint import Event
from mediaproto.errors import LimitExceeded, LocalProtocolError, ProtocolError
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtsp.client import ClientConnection
from mediaproto.rtsp.configuration import ClientConfiguration, ServerConfiguration
from mediaproto.rtsp.events import AnnounceRequested, FrameReceived, RecordRequested
from mediaproto.rtsp.message import Headers, InterleavedFrame, Limits, MessageParser, Request, Response
from mediaproto.rtsp.server import ServerConnection
from mediaproto.rtsp.states import ClientState
from mediaproto.rtsp.streams import make_depacketizer, tracks_from_sdp

from .test_sessions import AUDIO, VIDEO, Pump

_token = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
_headers = st.lists(st.tuples(_token.filter(lambda n: n.lower() != "content-length"), _value), max_size=6)
_requests = st.builds(
    lambda method, uri, headers, body, version: Request(method, "rtsp://h/" + uri, Headers(headers), body, version),
    st.sampled_from(["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "ANNOUNCE", "GET_PARAMETER", "X-CUSTOM"]),
    _token, _headers, st.binary(max_size=64), st.sampled_from(["RTSP/1.0", "RTSP/2.0"]),
)
_responses = st.builds(
    lambda code, reason, headers, body: Response(code, reason, Headers(headers), body),
    st.integers(100, 599), _token, _headers, st.binary(max_size=64),
)
_frames = st.builds(InterleavedFrame, st.integers(0, 255), st.binary(max_size=300))
_messages = st.lists(st.one_of(_requests, _responses, _frames), min_size=1, max_size=8)


def _normalized(message: Request | Response | InterleavedFrame) -> object:
    """What the parser returns for a message we serialized (with the Content-Length we added)."""
    return MessageParser().feed(bytes(message))[0]


@given(_messages, st.lists(st.integers(1, 400), max_size=20))
def test_generated_streams_parse_the_same_in_any_split(messages: list[Request | Response | InterleavedFrame],
                                                       cuts: list[int]) -> None:
    stream = b"".join(bytes(m) for m in messages)
    expected = [_normalized(m) for m in messages]
    for m, e in zip(messages, expected):
        if isinstance(m, InterleavedFrame):
            assert e == m
        else:
            assert bytes(e) == bytes(m)  # type: ignore[call-overload]
    parser = MessageParser()
    got: list[object] = []
    pos = 0
    for cut in cuts:
        got += parser.feed(stream[pos:pos + cut])
        pos += cut
    got += parser.feed(stream[pos:])
    assert got == expected and parser.buffered == 0


def test_every_byte_boundary_of_a_real_session(vectors: Path) -> None:
    """FFmpeg's RECORD session (messages, SDP body, interleaved RTP/RTCP) cut at every byte of its
    first 3000 bytes, and fed one byte at a time."""
    stream = (vectors / "rtsp-ffmpeg-record-tcp.c2s.bin").read_bytes()[:6000]
    expected = MessageParser().feed(stream)
    tail = MessageParser()
    tail.feed(stream)
    for cut in range(1, 3000):
        p = MessageParser()
        assert p.feed(stream[:cut]) + p.feed(stream[cut:]) == expected
    p = MessageParser()
    got = []
    for i in range(len(stream)):
        got += p.feed(stream[i:i + 1])
    assert got == expected and p.buffered == tail.buffered


def test_ffmpeg_record_capture_depacketizes_every_frame(vectors: Path) -> None:
    """The H.264 access units of FFmpeg's RECORD session (the first is an SEI single NAL unit and
    an FU-A IDR) all come out; AAC has the 187 frames FFmpeg put on the wire (see the interop test)."""
    events = MessageParser().feed((vectors / "rtsp-ffmpeg-record-tcp.c2s.bin").read_bytes())
    announce = next(e for e in events if isinstance(e, Request) and e.method == "ANNOUNCE")
    _, media = tracks_from_sdp(announce.body)
    video, audio = make_depacketizer(media[0]), make_depacketizer(media[1])
    frames: dict[int, list[object]] = {0: [], 2: []}
    for e in events:
        if isinstance(e, InterleavedFrame) and e.channel in frames:
            d = video if e.channel == 0 else audio
            frames[e.channel] += d.feed(RtpPacket.parse(e.data))
    frames[0] += video.flush()
    frames[2] += audio.flush()
    assert len(frames[0]) == 100 and video.lost_units == 0  # ffprobe: 100 video frames in ref.flv
    assert len(frames[2]) == 187 and audio.lost_units == 0


# -- the state machines under random input ----------------------------------------------------------

def _playing_pair(transport: str = "tcp") -> tuple[ClientConnection, ServerConnection, Pump]:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001)))
    client = ClientConnection("rtsp://h/live/test",
                              configuration=ClientConfiguration(transport=transport, udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    assert client.state is ClientState.PLAYING
    return client, server, pump


def _feed_only_protocol_errors(conn: ServerConnection | ClientConnection, data: bytes) -> None:
    try:
        events = conn.receive_data(data, 1.0)
    except ProtocolError:
        with pytest.raises(LocalProtocolError):  # broken from now on
            conn.receive_data(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 2.0)
        return
    _answer_everything(conn, events)
    conn.data_to_send()
    conn.handle_timer(1000.0)


def _answer_everything(conn: ServerConnection | ClientConnection, events: list[Event]) -> None:
    if not isinstance(conn, ServerConnection):
        return
    for event in events:
        try:
            if isinstance(event, AnnounceRequested):
                conn.accept_announce(event)
            elif isinstance(event, RecordRequested):
                conn.accept_record(event)
        except LocalProtocolError:
            pass


_PREFIXES = [
    b"",
    b"OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\n\r\n",
    b"ANNOUNCE rtsp://h/live/pub RTSP/1.0\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: ",
    b"SETUP rtsp://h/live/test/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;interleaved=",
    b"$\x00\x00\x10\x80\x60",
]


@settings(max_examples=150)
@given(st.sampled_from(_PREFIXES), st.binary(max_size=200))
def test_server_takes_random_bytes_after_a_valid_prefix(prefix: bytes, junk: bytes) -> None:
    _, server, _ = _playing_pair()
    _feed_only_protocol_errors(server, prefix + junk)


@settings(max_examples=150)
@given(st.binary(max_size=200), st.sampled_from(["tcp", "udp"]))
def test_client_takes_random_bytes_while_playing(junk: bytes, transport: str) -> None:
    client, _, _ = _playing_pair(transport)
    _feed_only_protocol_errors(client, junk)
    if not client._broken:
        client.receive_datagram(junk, 8000, 5000, 3.0)
        client.receive_datagram(junk, 8001, 5001, 3.0)


def _recorded_server_bytes() -> tuple[bytes, list[bytes]]:
    """What our server sends to our client in a whole play session (responses, then RTP)."""
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/test", configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server)
    chunks: list[bytes] = []
    original = server.data_to_send

    def recording() -> bytes:
        data = original()
        if data:
            chunks.append(data)
        return data

    server.data_to_send = recording  # type: ignore[method-assign]
    client.start(0.0)
    pump.run()
    from .test_sessions import frames

    for f in frames(3):
        server.send_frame(f, 0.0)
    pump.run()
    return b"".join(chunks), chunks


_SERVER_BYTES, _ = _recorded_server_bytes()


@settings(max_examples=200)
@given(st.data())
def test_client_takes_a_mutated_server(data: st.DataObject) -> None:
    stream = _SERVER_BYTES
    pos = data.draw(st.integers(0, len(stream) - 1))
    mutated = stream[:pos] + data.draw(st.binary(max_size=8)) + stream[pos + data.draw(st.integers(0, 8)):]
    client = ClientConnection("rtsp://h/live/test", configuration=ClientConfiguration(rng=random.Random(2)))
    client.start(0.0)
    client.data_to_send()
    _feed_only_protocol_errors(client, mutated)


def _recorded_client_bytes() -> bytes:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(VIDEO, AUDIO),
                              configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub")
    chunks: list[bytes] = []
    original = client.data_to_send

    def recording() -> bytes:
        data = original()
        if data:
            chunks.append(data)
        return data

    client.data_to_send = recording  # type: ignore[method-assign]
    client.start(0.0)
    pump.run()
    from .test_sessions import frames

    for f in frames(3):
        client.send_frame(f, 0.0)
    pump.run()
    return b"".join(chunks)


_CLIENT_BYTES = _recorded_client_bytes()


@settings(max_examples=200)
@given(st.data())
def test_server_takes_a_mutated_publisher(data: st.DataObject) -> None:
    stream = _CLIENT_BYTES
    pos = data.draw(st.integers(0, len(stream) - 1))
    mutated = stream[:pos] + data.draw(st.binary(max_size=8)) + stream[pos + data.draw(st.integers(0, 8)):]
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    _feed_only_protocol_errors(server, mutated)


def test_recorded_publisher_is_valid() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    events = server.receive_data(_CLIENT_BYTES[:_CLIENT_BYTES.index(b"\r\n\r\n") + 4], 0.0)
    assert events == []  # OPTIONS is answered here
    assert server.data_to_send().startswith(b"RTSP/1.0 200")


# -- hostile peers ------------------------------------------------------------------------------------

def test_hostile_client_cannot_grow_server_memory() -> None:
    limits = Limits(max_head_bytes=4096, max_body_bytes=8192)
    # An endless header line.
    server = ServerConnection(ServerConfiguration(limits=limits))
    with pytest.raises(LimitExceeded):
        for _ in range(100):
            server.receive_data(b"a" * 100, 0.0)
    assert server._parser.buffered <= 4096 + 100
    # A huge Content-Length is refused at once, before any body arrives.
    server = ServerConnection(ServerConfiguration(limits=limits))
    with pytest.raises(LimitExceeded):
        server.receive_data(b"ANNOUNCE rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 100000000\r\n\r\n", 0.0)
    # Endless interleaved frames on channels nobody set up: dropped as they come.
    _, server, _ = _playing_pair()
    junk = bytes(InterleavedFrame(77, bytes(60000)))
    for _ in range(100):
        assert server.receive_data(junk, 1.0) == []
    assert server._parser.buffered == 0 and len(server._parser._buf) < 3 * 65536
    # Endless frames of a publisher's track with no marker bit: the depacketizer's unit limit holds.
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(VIDEO,),
                              configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub")
    client.start(0.0)
    pump.run()
    frames_out: list[Event] = []
    depacketizer = server.tracks[0].depacketizer
    assert depacketizer is not None
    tracemalloc.start()
    try:
        for seq in range(12000):  # 12000 x 1400 bytes of one FU-A NAL unit that never ends: 16.8 MB
            fu_header = b"\x85" if seq == 0 else b"\x05"
            packet = RtpPacket(96, seq, 0, 1, b"\x7c" + fu_header + bytes(1400))
            frames_out += server.receive_data(bytes(InterleavedFrame(0, bytes(packet))), 1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024  # the 8 MiB access-unit limit, plus change
    assert not any(isinstance(e, FrameReceived) for e in frames_out)
    assert server._parser.buffered == 0 and depacketizer.lost_units >= 1


# -- every state x every method -------------------------------------------------------------------

_METHODS = ["OPTIONS", "DESCRIBE", "ANNOUNCE", "SETUP0", "SETUP1", "SETUP-UDP", "PLAY", "PAUSE", "RECORD",
            "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER", "FLY"]
_ALLOWED = {  # RFC 2326 A.2 and the status codes of section 11
    "OPTIONS": {200}, "DESCRIBE": {200}, "ANNOUNCE": {200, 455}, "GET_PARAMETER": {200, 454},
    "SET_PARAMETER": {200, 451, 454}, "FLY": {501}, "TEARDOWN": {200, 454},
    "SETUP": {200, 404, 454, 455, 461}, "PLAY": {200, 454, 455}, "PAUSE": {200, 454, 455},
    "RECORD": {200, 454, 455},
}


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(_METHODS), st.booleans()), max_size=25))
@example([("DESCRIBE", False), ("SETUP0", False), ("SETUP1", True), ("PLAY", True), ("PAUSE", True),
          ("PLAY", True), ("SETUP0", True), ("TEARDOWN", True), ("PLAY", True)])
@example([("ANNOUNCE", False), ("SETUP-UDP", False), ("RECORD", True), ("PLAY", True), ("TEARDOWN", True)])
def test_every_request_in_any_state_gets_one_answer(steps: list[tuple[str, bool]]) -> None:
    """Requests in any order, with or without the session id: each gets exactly one response
    with its CSeq and an allowed status, and the state only moves along RFC 2326 A.2."""
    from mediaproto.rtsp.events import DescribeRequested, PlayRequested
    from mediaproto.rtsp.server import ServerState

    from .test_sessions import AUDIO as A
    from .test_sessions import VIDEO as V

    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001)))
    sdp_text = b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n"
    for cseq, (method, with_session) in enumerate(steps, 1):
        name = method.split("-")[0].rstrip("01")
        headers = [("CSeq", str(cseq))]
        if with_session and server.session_id:
            headers.append(("Session", server.session_id))
        body = b""
        uri = "rtsp://h/live/test"
        if name == "SETUP":
            uri += "/trackID=" + ("1" if method == "SETUP1" else "0")
            transport = "RTP/AVP;unicast;client_port=5000-5001" if method == "SETUP-UDP" else \
                "RTP/AVP/TCP;unicast;interleaved=" + ("2-3" if method == "SETUP1" else "0-1")
            headers.append(("Transport", transport + (";mode=record" if server._recording else "")))
        if name == "ANNOUNCE":
            headers.append(("Content-Type", "application/sdp"))
            body = sdp_text
        before = server.state
        events = server.receive_data(bytes(Request(name, uri, Headers(headers), body)), float(cseq))
        for event in events:
            if isinstance(event, DescribeRequested):
                server.accept_describe(event, (V, A))
            elif isinstance(event, PlayRequested):
                server.accept_play(event)
            elif isinstance(event, AnnounceRequested):
                server.accept_announce(event)
            elif isinstance(event, RecordRequested):
                server.accept_record(event)
        responses = MessageParser().feed(server.data_to_send())
        assert len(responses) == 1
        [response] = responses
        assert isinstance(response, Response) and response.cseq == cseq
        assert response.status_code in _ALLOWED[name], (method, before, response.status_code)
        after = server.state
        moves = {
            (ServerState.INIT, ServerState.READY): name == "SETUP",
            (ServerState.READY, ServerState.PLAYING): name == "PLAY",
            (ServerState.READY, ServerState.RECORDING): name == "RECORD",
            (ServerState.PLAYING, ServerState.READY): name == "PAUSE",
        }
        if after != before:
            assert moves.get((before, after)) or name == "TEARDOWN" and after is ServerState.INIT, (method, before, after)
        if after is not ServerState.INIT:
            assert server.session_id is not None and server.tracks
