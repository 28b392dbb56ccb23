"""RTSP: message parsing and interleaved-frame throughput, against aiortsp's parser.

Interleaved frames are measured two ways: fed in 64 KB reads (what a socket gives), and as one
10 MB buffer. Both must be linear: the parser keeps an offset into one buffer and compacts it now
and then, so the big buffer costs the same per byte. aiortsp copies the rest of its buffer for
every frame (``RTSPBinary.feed``), which is quadratic: it gets a 2 MB buffer here, and still falls
behind by far.

What per-byte gap remains between the 10 MB buffer and 64 KB reads is CPython's cyclic garbage
collector, not the parser: one ``feed`` of 10 MB returns ~7000 frame objects alive at once, which
the collector scans as they pile up (with ``gc.disable()`` the rates are the same, 1 MB to 30 MB).
"""

from __future__ import annotations

from harness import Bench

from mediaproto import Codec, Frame, Track
from mediaproto.rtsp.message import InterleavedFrame, MessageParser
from mediaproto.rtsp.server import ServerConnection
from mediaproto.rtsp.streams import SharedSource, describe

try:
    from aiortsp.rtsp.parser import RTSPParser
except ImportError:  # the peer is optional
    RTSPParser = None

REQUEST = (
    b"SETUP rtsp://192.168.0.10:554/Streaming/Channels/101/trackID=1 RTSP/1.0\r\n"
    b"CSeq: 4\r\n"
    b"User-Agent: Lavf59.27.100\r\n"
    b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
    b"Session: 1234567890ABCDEF\r\n"
    b"Authorization: Digest username=\"admin\", realm=\"IP Camera\", nonce=\"3b45c1d0a9e2\", "
    b"uri=\"rtsp://192.168.0.10:554/Streaming/Channels/101/\", response=\"6629fae49393a05397450978507c4ef1\"\r\n"
    b"\r\n"
)
SDP = (
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=tool:libavformat\r\n"
    b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1; "
    b"sprop-parameter-sets=Z0LADdkBQfsBEAAAAwAQAAADAyDxQqSA,aMuMsg==; profile-level-id=42C00D\r\n"
    b"a=control:streamid=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
    b"a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=119056E500\r\n"
    b"a=control:streamid=1\r\n"
)
RESPONSE = (
    b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nServer: mediaproto\r\nContent-Base: rtsp://127.0.0.1:8554/live/test/\r\n"
    b"Content-Type: application/sdp\r\nContent-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)
N_MESSAGES = 1000
REQUESTS = REQUEST * N_MESSAGES
RESPONSES = RESPONSE * N_MESSAGES

FRAME = bytes(InterleavedFrame(0, bytes(range(256)) * 5 + bytes(120)))  # a 1404-byte RTP packet
BURST = FRAME * (10_000_000 // len(FRAME))
PEER_BURST = FRAME * (2_000_000 // len(FRAME))
READ = 65536
STREAM = FRAME * (4_000_000 // len(FRAME))
READS = [STREAM[i:i + READ] for i in range(0, len(STREAM), READ)]


def _ours_messages(stream: bytes) -> None:
    # fed in 4 KB reads, as from a socket
    p = MessageParser()
    n = 0
    for i in range(0, len(stream), 4096):
        n += len(p.feed(stream[i:i + 4096]))
    assert n == N_MESSAGES


def _peer_messages(stream: bytes) -> None:
    p = RTSPParser()
    n = 0
    for i in range(0, len(stream), 4096):
        n += len(list(p.parse(stream[i:i + 4096])))
    assert n == N_MESSAGES


def _ours_reads() -> None:
    p = MessageParser()
    n = 0
    for chunk in READS:
        n += len(p.feed(chunk))
    assert n == len(STREAM) // len(FRAME)


def _peer_reads() -> None:
    p = RTSPParser()
    n = 0
    for chunk in READS:
        n += len(list(p.parse(chunk)))
    assert n == len(STREAM) // len(FRAME)


def _ours_burst() -> None:
    assert len(MessageParser().feed(BURST)) == len(BURST) // len(FRAME)


def _peer_burst() -> None:
    assert len(list(RTSPParser().parse(PEER_BURST))) == len(PEER_BURST) // len(FRAME)


_VIDEO = Track(0, Codec.H264, 90000, parameter_sets=(
    bytes.fromhex("6742c00dd90141fb0110000003001000000303 20f142a480".replace(" ", "")), b"\x68\xcb\x8c\xb2"))
#: One shared RTP stream of the video track (the live server's fan-out: every session sends it).
_SOURCE = SharedSource(describe([_VIDEO])[1][0], 0x1234ABCD)


def _make_sender(shared: bool = False) -> ServerConnection:
    """A server session PLAYING one H.264 track over TCP (DESCRIBE, SETUP, PLAY answered); with
    ``shared``, sending :data:`_SOURCE`."""
    import random

    from mediaproto.rtsp import ServerConfiguration

    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    [describe_event] = server.receive_data(b"DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n\r\n", 0.0)
    server.accept_describe(describe_event, (_VIDEO,), sources={0: _SOURCE} if shared else None)  # type: ignore[arg-type]
    server.receive_data(b"SETUP rtsp://h/x/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n", 0.0)
    session = server.session_id
    [play] = server.receive_data(f"PLAY rtsp://h/x RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n".encode(), 0.0)
    server.accept_play(play)  # type: ignore[arg-type]
    server.data_to_send()
    return server


_SENDER = _make_sender()
_FRAMES_OUT = 100


def _send_frames() -> None:
    from mediaproto.media import Frame

    for i in range(_FRAMES_OUT):
        _SENDER.send_frame(Frame(0, i * 3600, i * 3600, (b"\x41" + bytes(5000),), False), 0.0)
    _SENDER.data_to_send()


_SESSIONS = [_make_sender() for _ in range(100)]

def _fanout_frames() -> list[Frame]:
    return [Frame(0, i * 3600, i * 3600, (b"\x41" + bytes(5000),), False) for i in range(10)]


def _fanout_send_frame() -> None:
    for frame in _fanout_frames():
        for conn in _SESSIONS:
            conn.send_frame(frame, 0.0)
    for conn in _SESSIONS:
        conn.data_to_send()


_SHARED_SESSIONS = [_make_sender(shared=True) for _ in range(100)]
assert all(conn.tracks[0].source is _SOURCE for conn in _SHARED_SESSIONS)


def _fanout_prepared() -> None:
    for frame in _fanout_frames():
        prepared = _SOURCE.prepare(frame)
        for conn in _SHARED_SESSIONS:
            conn.send_prepared(prepared, 0.0)
    for conn in _SHARED_SESSIONS:
        conn.data_to_send()


def _fanout_packetized() -> None:
    from mediaproto.rtsp.streams import make_packetizer

    shared = make_packetizer(_SESSIONS[0].tracks[0].media, 0)
    for frame in _fanout_frames():
        packets = [bytes(p) for p in shared.packetize(frame)]
        for conn in _SESSIONS:
            conn.send_packetized(0, packets, 0.0)
    for conn in _SESSIONS:
        conn.data_to_send()


_peer = None if RTSPParser is None else "aiortsp"

BENCHMARKS = [
    Bench("rtsp.parse request", lambda: _ours_messages(REQUESTS), work=N_MESSAGES, peer=_peer,
          peer_run=None if RTSPParser is None else lambda: _peer_messages(REQUESTS), target=2.0),
    Bench("rtsp.parse response+SDP", lambda: _ours_messages(RESPONSES), work=N_MESSAGES, peer=_peer,
          peer_run=None if RTSPParser is None else lambda: _peer_messages(RESPONSES), target=2.0),
    Bench("rtsp.interleaved 64KB reads", _ours_reads, work=len(STREAM), unit="MB/s", peer=_peer,
          peer_run=None if RTSPParser is None else _peer_reads, target=3.0),
    Bench("rtsp.interleaved 10MB buffer", _ours_burst, work=len(BURST), unit="MB/s", peer=_peer,
          peer_run=None if RTSPParser is None else _peer_burst, peer_work=len(PEER_BURST), target=10.0,
          note=lambda: "peer given a 2 MB buffer (quadratic); gap to 64 KB reads is the GC"),
    Bench("rtsp.server send_frame 5 KB H.264 interleaved", _send_frames, work=_FRAMES_OUT),
    # frames x players per second, fanning a 5 KB frame out to 100 sessions
    Bench("rtsp.fan-out 100 sessions, send_frame each", _fanout_send_frame, work=10 * len(_SESSIONS)),
    Bench("rtsp.fan-out 100 sessions, send_packetized", _fanout_packetized, work=10 * len(_SESSIONS)),
    Bench("rtsp.fan-out 100 sessions, send_prepared (shared source)", _fanout_prepared,
          work=10 * len(_SHARED_SESSIONS)),
]
