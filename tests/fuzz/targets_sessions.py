"""Fuzz targets of the session state machines: RTMP and RTSP, server and client, built with their
configuration dataclasses and driven through the endpoint contract (``receive_data``,
``receive_datagram``, ``handle_timer``), the way an application drives them: every request event is
accepted, the timer is served, the peer closes at the end.

The seeds are real conversations: FFmpeg's captured RTMP and RTSP publish sessions, and play
sessions recorded between our own client and server.
"""

from __future__ import annotations

import functools
import inspect
import random

from mediaproto import rtmp, rtsp
from mediaproto.endpoint import Event

from . import seeds
from .engine import Target, chunks
from .targets_parsers import TEXT_TOKENS


def _zeros(n: int) -> bytes:
    return bytes(n)


def _rtsp_tracks() -> tuple[object, ...]:
    t = seeds.tracks()
    return (t["h264"], t["aac"])


# -- RTMP -------------------------------------------------------------------------------------------

def _rtmp_server_answer(conn: rtmp.ServerConnection, event: Event) -> None:
    if isinstance(event, rtmp.ConnectRequested):
        conn.accept_connect(event)
    elif isinstance(event, rtmp.PublishRequested):
        conn.accept_publish(event)
    elif isinstance(event, rtmp.PlayRequested):
        conn.accept_play(event, tracks=_rtsp_tracks())  # type: ignore[arg-type]


def _serve_rtmp(conn: rtmp.ServerConnection, events: list[Event], now: float, kinds: set[str]) -> bytes:
    """Answer ``events`` and the timer while it is due; the bytes the server wrote."""
    out = bytearray()
    for _ in range(100):
        for event in events:
            kinds.add(type(event).__name__)
            _rtmp_server_answer(conn, event)
        out += conn.data_to_send()
        due = conn.next_timer()
        if due is None or due > now:
            break
        events = conn.handle_timer(now)
        if not events:
            out += conn.data_to_send()
            break
    return bytes(out)


def run_rtmp_server(data: bytes) -> object:
    conn = rtmp.ServerConnection(rtmp.ServerConfiguration(random_bytes=_zeros, ping_interval=2.0))
    kinds: set[str] = set()
    now = 0.0
    for piece in chunks(data):
        now += 0.25
        _serve_rtmp(conn, conn.receive_data(piece, now), now, kinds)
    conn.receive_data(b"", now + 1)
    return tuple(sorted(kinds))


def run_rtmp_client(data: bytes) -> object:
    """A client publishing (first byte even) or playing, fed the server's side."""
    play = bool(data[:1]) and data[0] & 1 == 1
    conn = rtmp.ClientConnection("live", "rtmp://127.0.0.1/live",
                                 configuration=rtmp.ClientConfiguration(random_bytes=_zeros, ping_interval=2.0))
    conn.data_to_send()
    kinds: set[str] = set()
    now = 0.0
    body = data[1:]
    # Small pieces first: the answer to our connect must come out (and be answered with publish
    # or play) before the answers to what follows it are read.
    pieces = [body[i:i + 64] for i in range(0, min(len(body), 8192), 64)] + chunks(body[8192:])
    for piece in pieces:
        now += 0.25
        for event in conn.receive_data(piece, now):
            kinds.add(type(event).__name__)
            if isinstance(event, rtmp.Connected):
                conn.play("test") if play else conn.publish("test")
        conn.data_to_send()
        due = conn.next_timer()
        if due is not None and due <= now:
            conn.handle_timer(now)
            conn.data_to_send()
    conn.receive_data(b"", now + 1)
    return tuple(sorted(kinds))


@functools.cache
def rtmp_play_conversation() -> tuple[bytes, bytes]:
    """(client->server, server->client) bytes of our client playing from our server, with frames."""
    server = rtmp.ServerConnection(rtmp.ServerConfiguration(random_bytes=_zeros))
    client = rtmp.ClientConnection("live", "rtmp://127.0.0.1/live",
                                   configuration=rtmp.ClientConfiguration(random_bytes=_zeros))
    c2s, s2c = bytearray(), bytearray()
    play_id = None
    sent = False
    for _ in range(50):
        out = client.data_to_send()
        c2s += out
        events = server.receive_data(out, 0.0) if out else []
        play_id = next((e.stream_id for e in events if isinstance(e, rtmp.PlayRequested)), play_id)
        back = _serve_rtmp(server, events, 0.0, set())
        if play_id is not None and not sent:
            for frame in seeds.video_frames()[:3] + seeds.audio_frames()[:3]:
                server.send_frame(play_id, frame)
            sent = True
        back += server.data_to_send()
        s2c += back
        for event in client.receive_data(back, 0.0) if back else []:
            if isinstance(event, rtmp.Connected):
                client.play("test")
        if not out and not back:
            break
    return bytes(c2s), bytes(s2c)


def _rtmp_server_seeds() -> list[bytes]:
    c2s = seeds.rtmp_c2s()
    return [c2s[:seeds.HANDSHAKE + 700], c2s[:seeds.HANDSHAKE + 4000], rtmp_play_conversation()[0][:8000]]


def _rtmp_client_seeds() -> list[bytes]:
    return [b"\x00" + seeds.rtmp_s2c()[:8000], b"\x01" + rtmp_play_conversation()[1][:8000]]


# -- RTSP -------------------------------------------------------------------------------------------

def _rtsp_server_answer(conn: rtsp.ServerConnection, event: Event) -> None:
    if isinstance(event, rtsp.DescribeRequested):
        conn.accept_describe(event, _rtsp_tracks())  # type: ignore[arg-type]
    elif isinstance(event, rtsp.PlayRequested):
        conn.accept_play(event, start_pts={0: 0, 1: 0})
    elif isinstance(event, rtsp.AnnounceRequested):
        conn.accept_announce(event)
    elif isinstance(event, rtsp.RecordRequested):
        conn.accept_record(event)


def _rtsp_server() -> rtsp.ServerConnection:
    return rtsp.ServerConnection(rtsp.ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001),
                                                          jitter_latency=0.2))


def _serve(conn: rtsp.ServerConnection, events: list[Event], now: float, kinds: set[str] | None = None) -> bytes:
    """Answer ``events`` and the timer while it is due; the bytes the server wrote."""
    out = bytearray()
    for _ in range(100):
        for event in events:
            if kinds is not None:
                kinds.add(type(event).__name__)
            _rtsp_server_answer(conn, event)
        out += conn.data_to_send()
        conn.datagrams_to_send()
        due = conn.next_timer()
        if due is None or due > now:
            break
        events = conn.handle_timer(now)
        if not events:
            out += conn.data_to_send()
            break
    return bytes(out)


def run_rtsp_server(data: bytes) -> object:
    conn = _rtsp_server()
    kinds: set[str] = set()
    now = 0.0
    for piece in chunks(data):
        now += 0.1
        _serve(conn, conn.receive_data(piece, now), now, kinds)
    kinds.add(conn.state.name)
    _serve(conn, conn.handle_timer(now + 100), now + 100)
    conn.receive_data(b"", now + 101)
    return tuple(sorted(kinds))


@functools.cache
def rtsp_play_conversation(transport: str = "tcp") -> tuple[bytes, bytes]:
    """(client->server, server->client) bytes of our client playing from our server, with frames."""
    server = _rtsp_server()
    client = rtsp.ClientConnection("rtsp://127.0.0.1:8554/live/test", configuration=rtsp.ClientConfiguration(
        rng=random.Random(2), transport=transport, udp_ports=[(5000, 5001), (5002, 5003)]))
    client.start(0.0)
    c2s, s2c = bytearray(), bytearray()
    sent = False
    for _ in range(50):
        out = client.data_to_send()
        client.datagrams_to_send()
        c2s += out
        back = _serve(server, server.receive_data(out, 0.0), 0.0) if out else b""
        if server.state is rtsp.ServerState.PLAYING and not sent:
            takes_now = "now" in inspect.signature(server.send_frame).parameters
            for frame in seeds.video_frames()[:3] + seeds.audio_frames()[:3]:
                server.send_frame(frame, 0.0) if takes_now else server.send_frame(frame)  # type: ignore[call-arg]
            sent = True
        back += server.data_to_send()
        server.datagrams_to_send()
        s2c += back
        if back:
            client.receive_data(back, 0.0)
        if not out and not back:
            break
    return bytes(c2s), bytes(s2c)


def _rtsp_server_seeds() -> list[bytes]:
    c2s = seeds.rtsp_c2s()
    probe = _rtsp_server()  # the session id our seeded server gives, in place of FFmpeg's server's
    _serve(probe, probe.receive_data(c2s[:c2s.index(b"SETUP rtsp://127.0.0.1:8554/live.sdp/streamid=1")], 0.0), 0.0)
    c2s = c2s.replace(b"Session: 151170465", b"Session: " + str(probe.session_id).encode())
    return [c2s[:1200], c2s[:4000], rtsp_play_conversation("tcp")[0], rtsp_play_conversation("udp")[0]]


def run_rtsp_client(data: bytes) -> object:
    """A client playing over TCP (first byte 0), over UDP (1) or publishing (2), fed the server's side."""
    mode = data[0] % 3 if data else 0
    config = rtsp.ClientConfiguration(rng=random.Random(2), transport="udp" if mode == 1 else "tcp",
                                      udp_ports=[(5000, 5001), (5002, 5003)], jitter_latency=0.2 if mode else None)
    if mode == 2:
        conn = rtsp.ClientConnection("rtsp://127.0.0.1:8554/live.sdp", mode="record",
                                     tracks=_rtsp_tracks(), configuration=config)  # type: ignore[arg-type]
    else:
        conn = rtsp.ClientConnection("rtsp://127.0.0.1:8554/live/test", configuration=config)
    conn.start(0.0)
    kinds: set[str] = set()
    now = 0.0
    for piece in chunks(data[1:]):
        now += 0.1
        conn.data_to_send()
        conn.datagrams_to_send()
        kinds.update(type(e).__name__ for e in conn.receive_data(piece, now))
        due = conn.next_timer()
        if due is not None and due <= now:
            kinds.update(type(e).__name__ for e in conn.handle_timer(now))
    conn.handle_timer(now + 100)
    conn.receive_data(b"", now + 101)
    return tuple(sorted(kinds))


def _rtsp_client_seeds() -> list[bytes]:
    return [b"\x00" + rtsp_play_conversation("tcp")[1][:8000], b"\x01" + rtsp_play_conversation("udp")[1],
            b"\x02" + seeds.rtsp_s2c()]


# -- RTSP datagrams ----------------------------------------------------------------------------------

_UDP_RECORD = (
    b"ANNOUNCE rtsp://127.0.0.1:8554/live.sdp RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
    b"Content-Length: %d\r\n\r\n%s"
    b"SETUP rtsp://127.0.0.1:8554/live.sdp/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n"
    b"Transport: RTP/AVP/UDP;unicast;client_port=5000-5001;mode=record\r\n\r\n"
)


@functools.cache
def _announce_sdp() -> bytes:
    c2s = seeds.rtsp_c2s()
    start = c2s.index(b"v=0")
    length = int(c2s[c2s.index(b"Content-Length: ") + 16:c2s.index(b"\r\n", c2s.index(b"Content-Length: "))])
    return c2s[start:start + length]


def _recording_server(mode: int) -> rtsp.ServerConnection:
    """A server recording over UDP (mode 0), or playing to a UDP client (mode 1)."""
    conn = _rtsp_server()
    if mode == 0:
        body = _announce_sdp()
        head = _UDP_RECORD % (len(body), body)
        _serve(conn, conn.receive_data(head, 0.0), 0.0)
        session = conn.session_id
        rest = (b"SETUP rtsp://127.0.0.1:8554/live.sdp/streamid=1 RTSP/1.0\r\nCSeq: 3\r\nSession: %s\r\n"
                b"Transport: RTP/AVP/UDP;unicast;client_port=5002-5003;mode=record\r\n\r\n"
                b"RECORD rtsp://127.0.0.1:8554/live.sdp RTSP/1.0\r\nCSeq: 4\r\nSession: %s\r\n\r\n"
                % (str(session).encode(), str(session).encode()))
        _serve(conn, conn.receive_data(rest, 0.0), 0.0)
    else:
        _serve(conn, conn.receive_data(rtsp_play_conversation("udp")[0], 0.0), 0.0)
    return conn


def run_rtsp_datagrams(data: bytes) -> object:
    """Datagrams as records; the first byte of each picks the client port it came from (5000-5003)
    and ours it went to (8000, 8001)."""
    mode = data[0] & 1 if data else 0
    conn = _recording_server(mode)
    now, count = 0.0, 0
    for record in seeds.split_records(data[1:]):
        if not record:
            continue
        now += 0.01
        source, destination = 5000 + record[0] % 4, 8000 + (record[0] >> 2) % 2
        events = conn.receive_datagram(record[1:], source, destination, now)
        count += len(events)
        _serve(conn, conn.handle_timer(now) if (conn.next_timer() or 1e9) <= now else [], now)
    _serve(conn, conn.handle_timer(now + 10), now + 10)
    return min(count, 8)


def _rtsp_datagram_seeds() -> list[bytes]:
    grams = seeds.rtp_datagrams()
    ports = {5004: 0, 5005: 1 | 4, 5006: 2, 5007: 3 | 4}
    records = [bytes([ports[p]]) + d for p, d in grams[:20] if len(d) < 1500]
    return [b"\x00" + seeds.records(records[i:i + 6]) for i in range(0, 18, 6)] + [b"\x01" + seeds.records(records[:3])]


def targets() -> list[Target]:
    return [
        Target("rtmp_server_connection", run_rtmp_server, _rtmp_server_seeds, max_size=12000,
               mem_base=512 * 1024),
        Target("rtmp_client_connection", run_rtmp_client, _rtmp_client_seeds, max_size=12000,
               mem_base=512 * 1024),
        Target("rtsp_server_connection", run_rtsp_server, _rtsp_server_seeds,
               TEXT_TOKENS + (b"$\x00", b"Session: ", b"Transport: ", b"interleaved=", b"client_port=",
                              b"SETUP ", b"PLAY ", b"TEARDOWN ", b"Content-Length: "),
               max_size=8192, mem_base=512 * 1024),
        Target("rtsp_client_connection", run_rtsp_client, _rtsp_client_seeds,
               TEXT_TOKENS + (b"$\x00", b"Session: ", b"Transport: ", b"RTP-Info: ", b"seq=", b"rtptime=",
                              b"WWW-Authenticate: Digest ", b"RTSP/1.0 401 ", b"m=video "),
               max_size=8192, mem_base=512 * 1024),
        Target("rtsp_server_datagrams", run_rtsp_datagrams, _rtsp_datagram_seeds, max_size=8192,
               mem_base=512 * 1024),
    ]

