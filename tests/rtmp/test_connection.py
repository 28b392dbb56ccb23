"""ServerConnection and ClientConnection: FFmpeg's bytes, each other, errors, pings, acks, fan-out."""

from __future__ import annotations

import csv
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.clock import rescale
from mediaproto.errors import LocalProtocolError, ProtocolError
from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp import events as E
from mediaproto.rtmp import message as msg
from mediaproto.rtmp.chunk import ChunkDecoder, ChunkEncoder, Message
from mediaproto.rtmp.client import ClientConnection, ClientState
from mediaproto.rtmp.configuration import ClientConfiguration, ServerConfiguration
from mediaproto.rtmp.connection import frame_chunks
from mediaproto.rtmp.flv import MediaTagDecoder, MediaTagEncoder, read_flv
from mediaproto.rtmp.server import ServerConnection, StreamState


def rnd(n: int) -> bytes:
    return bytes(i * 13 % 256 for i in range(n))


class Pair:
    """A client and a server wired together in memory; records what each side sent."""

    def __init__(self, server: ServerConnection | None = None, client: ClientConnection | None = None,
                 auto: bool = True, now: float = 0.0) -> None:
        self.s = server or ServerConnection(ServerConfiguration(random_bytes=rnd))
        self.c = client or ClientConnection("live", "rtmp://127.0.0.1/live",
                                            configuration=ClientConfiguration(random_bytes=rnd))
        self.auto = auto
        self.now = now
        self.c2s = bytearray()
        self.s2c = bytearray()

    def pump(self) -> tuple[list[E.Event], list[E.Event]]:
        sev: list[E.Event] = []
        cev: list[E.Event] = []
        for _ in range(50):
            a = self.c.data_to_send()
            self.c2s += a
            if a:
                new = self.s.receive_data(a, self.now)
                while True:
                    sev += new
                    if self.auto:
                        for e in new:
                            if isinstance(e, E.ConnectRequested):
                                self.s.accept_connect(e)
                            elif isinstance(e, E.PublishRequested):
                                self.s.accept_publish(e)
                    due = self.s.next_timer()
                    if due is None or due > self.now:
                        break
                    new = self.s.handle_timer(self.now)  # messages held back while a request waited
            b = self.s.data_to_send()
            self.s2c += b
            if b:
                cev += self.c.receive_data(b, self.now)
            if not a and not b:
                break
        return sev, cev


@pytest.fixture(scope="module")
def ref(vectors: Path) -> tuple[list[Track], list[Frame]]:
    _, tags = read_flv((vectors / "ref.flv").read_bytes())
    dec = MediaTagDecoder()
    items: list[Any] = []
    for t in tags:
        items += dec.feed(t.tag_type, t.timestamp, t.data)
    return [i for i in items if isinstance(i, Track)], [i for i in items if isinstance(i, Frame)]


def _csv(vectors: Path) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {"0": [], "1": []}
    for row in csv.reader((vectors / "ref.flv.packets.csv").read_text().splitlines()):
        out[row[0]].append((int(row[1]), int(row[2])))
    return out


def test_server_with_ffmpeg_publish_capture(vectors: Path) -> None:
    data = (vectors / "rtmp-ffmpeg-publish.c2s.bin").read_bytes()
    s = ServerConnection(ServerConfiguration(random_bytes=rnd))
    events: list[E.Event] = []
    out = bytearray()
    for i in range(0, len(data), 1000):
        new = s.receive_data(data[i:i + 1000], 0.0)
        for e in new:
            if isinstance(e, E.ConnectRequested):
                s.accept_connect(e)
            elif isinstance(e, E.PublishRequested):
                s.accept_publish(e)
        events += new
        out += s.data_to_send()
    conn = [e for e in events if isinstance(e, E.ConnectRequested)]
    assert len(conn) == 1 and conn[0].app == "live" and conn[0].tc_url == "rtmp://127.0.0.1:19350/live"
    pub = [e for e in events if isinstance(e, E.PublishRequested)]
    assert pub == [E.PublishRequested(1, "test", "live", "live", 6.0)]  # FFmpeg: publish is transaction 6
    meta = [e for e in events if isinstance(e, E.MetadataReceived)]
    assert meta[0].metadata["width"] == 320.0 and meta[0].metadata["audiosamplerate"] == 48000.0
    tracks = [e.track for e in events if isinstance(e, E.TrackReceived)]
    assert [t.codec for t in tracks] == [Codec.H264, Codec.AAC]
    assert (tracks[0].width, tracks[0].height, tracks[1].sample_rate, tracks[1].channels) == (320, 240, 48000, 2)
    frames = [e.frame for e in events if isinstance(e, E.FrameReceived)]
    rate = {t.id: t.clock_rate for t in tracks}
    want = _csv(vectors)

    def ms(f: Frame) -> tuple[int, int]:
        return rescale(f.pts, rate[f.track_id], 1000), rescale(f.dts, rate[f.track_id], 1000)

    assert [ms(f) for f in frames if f.track_id == tracks[0].id] == want["0"]
    assert [ms(f) for f in frames if f.track_id == tracks[1].id] == want["1"]
    assert [e for e in events if isinstance(e, E.StreamClosed)] == [E.StreamClosed(1, "FCUnpublish")]
    assert s.stream_state(1) is None  # deleteStream
    # what we answered, read back
    assert out[0] == 3 and len(out) > 3073
    replies = ChunkDecoder().feed(bytes(out[3073:]))
    assert msg.read_u32(replies[0]) == 2500000 and replies[0].type_id == msg.WINDOW_ACK_SIZE
    assert replies[1].type_id == msg.SET_PEER_BANDWIDTH
    assert replies[2].type_id == msg.SET_CHUNK_SIZE and msg.read_u32(replies[2]) == 4096
    cmds = [(m.stream_id, msg.parse_command(m)) for m in replies if m.type_id == msg.COMMAND_AMF0]
    result = cmds[0][1]
    assert result.name == "_result" and result.transaction_id == 1.0
    assert result.command_object["fmsVer"] and result.command_object["capabilities"] == 31.0
    assert result.arguments[0]["code"] == "NetConnection.Connect.Success"
    assert result.arguments[0]["objectEncoding"] == 0.0
    by_tid = {c.transaction_id: c for _, c in cmds if c.name == "_result"}
    assert by_tid[4.0].arguments == (1.0,)  # createStream
    assert 5.0 in by_tid  # _checkbw answered
    status = [(sid, c.arguments[0]["code"]) for sid, c in cmds if c.name == "onStatus"]
    assert status == [(1, "NetStream.Publish.Start")]


def test_publish_and_play_between_our_client_and_server(ref: tuple[list[Track], list[Frame]]) -> None:
    tracks, frames = ref
    p = Pair()
    sev, cev = p.pump()
    assert any(isinstance(e, E.Connected) for e in cev) and p.c.state is ClientState.CONNECTED
    p.c.publish("key?token=1")
    sev, cev = p.pump()
    assert [e for e in sev if isinstance(e, E.PublishRequested)][0].publishing_name == "key?token=1"
    assert E.PublishStarted(1) in cev
    p.c.send_metadata({"width": 320.0})
    p.c.send_tracks(tracks)
    for f in frames:
        p.c.send_frame(f)
    sev, _ = p.pump()
    assert [e.track for e in sev if isinstance(e, E.TrackReceived)] == tracks
    assert [e.frame for e in sev if isinstance(e, E.FrameReceived)] == frames
    assert [e.metadata for e in sev if isinstance(e, E.MetadataReceived)] == [{"width": 320.0}]
    p.c.close_stream()
    sev, _ = p.pump()
    assert E.StreamClosed(1, "FCUnpublish") in sev

    # a player: the server sends tracks and frames, the client turns them back into the same values
    q = Pair()
    q.pump()
    q.c.play("key")
    sev, cev = q.pump()
    req = [e for e in sev if isinstance(e, E.PlayRequested)][0]
    assert (req.stream_name, req.start, req.stream_id) == ("key", -2.0, 1)
    q.s.accept_play(req, tracks=tracks, metadata={"duration": 0.0})
    for f in frames:
        q.s.send_frame(1, f)
    q.s.end_play(1)
    _, cev = q.pump()
    codes = [e.code for e in cev if isinstance(e, E.StatusReceived)]
    assert codes == ["NetStream.Play.Reset", "NetStream.Play.Start", "NetStream.Play.UnpublishNotify"]
    assert E.PlayStarted(1) in cev
    assert [e.track for e in cev if isinstance(e, E.TrackReceived)] == tracks
    assert [e.frame for e in cev if isinstance(e, E.FrameReceived)] == frames
    assert [e.metadata for e in cev if isinstance(e, E.MetadataReceived)] == [{"duration": 0.0}]
    sample_access = [m for m in ChunkDecoder().feed(bytes(q.s2c[3073:])) if m.type_id == msg.DATA_AMF0]
    assert msg.parse_data(sample_access[0]) == ["|RtmpSampleAccess", True, True]


def test_fan_out_shares_bytes(ref: tuple[list[Track], list[Frame]]) -> None:
    tracks, frames = ref
    players = []
    for _ in range(3):
        q = Pair()
        q.pump()
        q.c.play("key")
        sev, _ = q.pump()
        q.s.accept_play([e for e in sev if isinstance(e, E.PlayRequested)][0], tracks=tracks)
        q.pump()
        players.append(q)
    enc = MediaTagEncoder(tracks)
    got: list[list[Frame]] = [[] for _ in players]
    for f in frames[:50]:
        data = frame_chunks(enc, f, stream_id=1, chunk_size=players[0].s.outgoing_chunk_size)
        for i, q in enumerate(players):
            q.s.send_raw(data)
            got[i] += [e.frame for e in q.pump()[1] if isinstance(e, E.FrameReceived)]
    assert got[0] == got[1] == got[2] == frames[:50]


def test_reject_publish_and_connect() -> None:
    p = Pair(auto=False)
    sev, _ = p.pump()
    p.s.accept_connect(sev[0])  # type: ignore[arg-type]
    p.pump()
    p.c.publish("taken")
    sev, _ = p.pump()
    p.s.reject_publish(sev[0], "busy")  # type: ignore[arg-type]
    _, cev = p.pump()
    st_ = [e for e in cev if isinstance(e, E.StatusReceived)]
    assert st_[0].level == "error" and st_[0].code == "NetStream.Publish.BadName" and st_[0].description == "busy"
    assert p.s.stream_state(1) is StreamState.CREATED
    with pytest.raises(LocalProtocolError):
        p.s.accept_publish(sev[0])  # type: ignore[arg-type]

    q = Pair(auto=False)
    sev, _ = q.pump()
    q.s.reject_connect(sev[0], "go away")  # type: ignore[arg-type]
    _, cev = q.pump()
    assert isinstance(cev[0], E.ConnectRejected) and cev[0].information["code"] == "NetConnection.Connect.Rejected"
    assert q.c.state is ClientState.REJECTED


def test_messages_wait_while_a_request_is_unanswered() -> None:
    p = Pair(auto=False)
    # the client pipelines createStream right behind connect here
    a = p.c.data_to_send()
    sev = p.s.receive_data(a, 0.0)
    p.s2c += p.s.data_to_send()
    cev = p.c.receive_data(bytes(p.s2c), 0.0)
    c2 = p.c.data_to_send()  # C2 + set chunk size + connect
    extra = ChunkEncoder(4096).encode(msg.command("createStream", 2, None))
    sev = p.s.receive_data(c2 + extra, 5.0)
    assert [type(e) for e in sev] == [E.ConnectRequested]
    assert p.s.stream_state(1) is None and p.s.next_timer() is None  # held back, waiting for the answer
    p.s.accept_connect(sev[0])  # type: ignore[arg-type]
    assert p.s.next_timer() == 5.0  # due at once: the held-back createStream can be handled now
    assert p.s.handle_timer(5.0) == []
    assert p.s.stream_state(1) is StreamState.CREATED  # createStream handled after the answer
    assert p.s.next_timer() is None
    del cev


def test_pings_and_acknowledgements() -> None:
    s = ServerConnection(ServerConfiguration(random_bytes=rnd, ping_interval=10.0, window_ack_size=1000))
    assert s.next_timer() is None  # the ping timer starts from the first now it is given
    p = Pair(server=s, now=100.0)
    p.pump()
    assert s.next_timer() == 110.0
    assert s.handle_timer(109.0) == []
    assert s.data_to_send() == b""
    assert s.handle_timer(110.5) == []
    sev, cev = p.pump()
    assert E.PingAnswered(110500) in sev
    assert s.next_timer() == 120.5
    # the client acknowledges every 1000 bytes the server sends it
    p.c.play("x")
    sev, _ = p.pump()
    s.accept_play([e for e in sev if isinstance(e, E.PlayRequested)][0])
    s.send_raw(ChunkEncoder(4096).encode(Message(6, 9, 1, 0, b"\x27\x02" + bytes(3000))))  # AVC end of sequence
    p.pump()
    sent = ChunkDecoder().feed(bytes(p.c2s[3073:]))
    acks = [msg.read_u32(m) for m in sent if m.type_id == msg.ACKNOWLEDGEMENT]
    assert acks and acks[0] >= 1000  # bytes of the chunk stream received so far


def test_client_answers_ping_request() -> None:
    p = Pair()
    p.pump()
    p.s.send_raw(ChunkEncoder(4096).encode(msg.user_control(msg.PingRequest(777))))
    p.pump()
    sent = ChunkDecoder().feed(bytes(p.c2s[3073:]))
    assert msg.PingResponse(777) in [msg.parse_user_control(m) for m in sent if m.type_id == msg.USER_CONTROL]


def _connected_server() -> tuple[ServerConnection, ChunkEncoder]:
    p = Pair()
    p.pump()
    p.c.publish("k")
    p.pump()
    return p.s, ChunkEncoder(4096)


def test_quirks_amf3_command_null_object_timecode_data() -> None:
    s, enc = _connected_server()
    # AMF3 command (type 17): one leading byte, then AMF0; transaction id 7
    body = b"\x00" + msg.command("createStream", 7, None).payload
    s.receive_data(enc.encode(Message(3, msg.COMMAND_AMF3, 0, 0, body)), 0.0)
    replies = s.data_to_send()
    assert replies  # answered
    # FFmpeg's 4-byte timecode data message: ignored, no error
    assert s.receive_data(enc.encode(Message(5, msg.DATA_AMF0, 1, 0, b"\x00\x00\x00\x01")), 0.0) == []
    # unknown commands are handed to the application
    ev = s.receive_data(enc.encode(msg.command("getMediaInfo", 9, None, "x")), 0.0)
    assert isinstance(ev[0], E.CommandReceived) and ev[0].command.name == "getMediaInfo"


def test_protocol_error_breaks_the_connection() -> None:
    s, _ = _connected_server()
    with pytest.raises(ProtocolError):
        s.receive_data(b"\xa8\x00\x00\x01" * 2, 0.0)  # a type-2 header on chunk stream 40, never seen
    assert s.broken
    with pytest.raises(LocalProtocolError):
        s.receive_data(b"\x00", 0.0)
    s.data_to_send()  # what was queued before the error may still be drained
    with pytest.raises(LocalProtocolError):
        s.handle_timer(0.0)
    with pytest.raises(LocalProtocolError):
        s.send_raw(b"x")


def test_api_misuse_is_local_protocol_error() -> None:
    s = ServerConnection()
    with pytest.raises(LocalProtocolError):
        s.send_frame(1, Frame(0, 0, 0, b""))
    c = ClientConnection("live")
    with pytest.raises(LocalProtocolError):
        c.publish("x")
    closed = ServerConnection()
    assert not closed.closed
    assert closed.receive_data(b"", 0.0) == [E.ConnectionClosed()]
    assert closed.closed and not closed.broken and closed.next_timer() is None
    with pytest.raises(LocalProtocolError):
        closed.receive_data(b"\x03", 1.0)  # input after the peer closed


@given(st.binary(max_size=2000))
@settings(max_examples=100)
def test_random_bytes_after_handshake_raise_only_protocol_errors(data: bytes) -> None:
    s, _ = _connected_server()
    try:
        s.receive_data(data, 0.0)
    except ProtocolError:
        pass


@given(st.data())
@settings(max_examples=60)
def test_mutated_ffmpeg_session_raises_only_protocol_errors(vectors: Path, data: st.DataObject) -> None:
    raw = bytearray((vectors / "rtmp-ffmpeg-publish.c2s.bin").read_bytes()[:12000])
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(3073, len(raw) - 1))] = data.draw(st.integers(0, 255))
    s = ServerConnection(ServerConfiguration(random_bytes=rnd))
    try:
        for i in range(0, len(raw), 2000):
            for e in s.receive_data(bytes(raw[i:i + 2000]), 0.0):
                if isinstance(e, E.ConnectRequested):
                    s.accept_connect(e)
                elif isinstance(e, E.PublishRequested):
                    s.accept_publish(e)
    except ProtocolError:
        pass


def test_u32_struct_helper_matches() -> None:
    assert struct.pack(">I", 5) == msg.acknowledgement(5).payload


def test_ffmpeg_listen_mode_media_on_stream_0(ref: tuple[list[Track], list[Frame]]) -> None:
    # QUIRKS (FFmpeg ``-listen 1 -f flv rtmp://``): media and onMetaData arrive on message stream 0
    tracks, frames = ref
    p = Pair()
    p.pump()
    p.c.play("x")
    sev, _ = p.pump()
    p.s.accept_play([e for e in sev if isinstance(e, E.PlayRequested)][0])
    enc = MediaTagEncoder(tracks)
    raw = b"".join(frame_chunks(enc, f, stream_id=0, chunk_size=p.s.outgoing_chunk_size) for f in frames[:5])
    head = ChunkEncoder(p.s.outgoing_chunk_size)
    cfg = b"".join(head.encode(Message(7 if t == 9 else 6, t, 0, ts, body)) for t, ts, body in enc.sequence_headers())
    p.s.send_raw(cfg + raw)
    _, cev = p.pump()
    assert [e.frame for e in cev if isinstance(e, E.FrameReceived)] == frames[:5]
    assert all(e.stream_id == 1 for e in cev if isinstance(e, (E.FrameReceived, E.TrackReceived)))


def test_message_stream_limit() -> None:
    from mediaproto.errors import LimitExceeded
    from mediaproto.rtmp import Limits

    p = Pair(server=ServerConnection(ServerConfiguration(limits=Limits(max_message_streams=2), random_bytes=rnd)))
    p.pump()
    enc = ChunkEncoder(4096)
    p.s.receive_data(enc.encode(msg.command("createStream", 2, None)) + enc.encode(msg.command("createStream", 3, None)), 0.0)
    with pytest.raises(LimitExceeded):
        p.s.receive_data(enc.encode(msg.command("createStream", 4, None)), 0.0)


@given(st.binary(max_size=2000))
@settings(max_examples=100)
def test_client_random_bytes_after_handshake_raise_only_protocol_errors(data: bytes) -> None:
    p = Pair()
    p.pump()
    try:
        p.c.receive_data(data, 0.0)
    except ProtocolError:
        assert p.c.broken


def test_simple_handshake_client_session() -> None:
    p = Pair(client=ClientConnection("live", "rtmp://h/live",
                                     configuration=ClientConfiguration(digest_handshake=False, random_bytes=rnd)))
    _, cev = p.pump()
    assert any(isinstance(e, E.Connected) for e in cev)
    assert p.s2c[1537:3073] == p.c2s[1:1537]  # S2 echoes the simple C1
    assert not p.c._handshake.server_digest
