"""The live server's limits against hostile clients (issue 16): connections per port and per
client address, the time allowed before the first request or handshake, the time of one request
head, head sizes, and the size of RTMP messages without media.

Unit level: :class:`~mediaproto.rtmp.chunk.ChunkDecoder` and
:class:`~mediaproto.server.guard.ConnectionGuard` alone, then a :class:`LiveServer` in a thread
with small limits, raw sockets as clients (from several loopback addresses: 127.0.0.0/8 is all
this machine's) and the log lines captured. Last, the attack of the issue on the server in its
own process with its default limits, its memory measured while ffmpeg plays (:mod:`._attack`):
smaller numbers in the normal run, the issue's (5,000 idle connections per port, 1,000 slowloris
clients on each of HTTP and RTSP, a 10 MB ``connect``) with ``MEDIAPROTO_ATTACK_FULL=1``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import re
import struct
import time
from collections.abc import Iterator

import pytest

from mediaproto.errors import LimitExceeded
from mediaproto.rtmp import Limits as RtmpLimits
from mediaproto.rtmp.chunk import ChunkDecoder
from mediaproto.server import Limits
from mediaproto.server.cli import parse_args
from mediaproto.server.guard import (
    HEAD_TOO_LARGE,
    NO_REQUEST,
    SLOW_MESSAGE,
    TOO_MANY,
    TOO_MANY_FROM_ADDRESS,
    ConnectionGuard,
)

from ._attack import FULL, SMALL, raise_fd_limit, run_attack
from ._live import LiveServer, free_config, live_server_thread

# -- RTMP chunk headers written from the Adobe RTMP specification (5.3.1) ----------------------


def fmt0_header(csid: int, length: int, type_id: int, stream_id: int = 0, timestamp: int = 0) -> bytes:
    """A type-0 chunk header: basic header (fmt 0, one byte for csid 2..63), 3-byte timestamp,
    3-byte message length, 1-byte type id, 4-byte little-endian message stream id."""
    assert 2 <= csid <= 63
    return bytes([csid]) + timestamp.to_bytes(3, "big") + length.to_bytes(3, "big") + bytes([type_id]) + \
        struct.pack("<I", stream_id)


def fmt1_header(csid: int, length: int, type_id: int, delta: int = 0) -> bytes:
    """A type-1 chunk header: basic header (fmt 1), 3-byte delta, 3-byte length, 1-byte type id."""
    return bytes([0x40 | csid]) + delta.to_bytes(3, "big") + length.to_bytes(3, "big") + bytes([type_id])


TEN_MB = 10_000_000  # under rtmp.Limits.max_message_size (10 MiB): only the command bound refuses it


@pytest.mark.parametrize("type_id", [20, 17, 18, 15, 19, 16, 4])
def test_a_large_message_without_media_is_refused_from_its_header(type_id: int) -> None:
    dec = ChunkDecoder(RtmpLimits(max_command_size=64 * 1024))
    with pytest.raises(LimitExceeded, match="limit of 65536") as err:
        dec.feed(fmt0_header(3, TEN_MB, type_id))  # the header alone: nothing of the body is needed
    assert err.value.offset == 0


@pytest.mark.parametrize("type_id", [8, 9, 22])
def test_audio_video_and_aggregate_keep_the_message_limit(type_id: int) -> None:
    dec = ChunkDecoder(RtmpLimits(max_command_size=64 * 1024))
    assert dec.feed(fmt0_header(4, TEN_MB, type_id) + bytes(128)) == []  # accepted, body awaited
    with pytest.raises(LimitExceeded, match="exceeds the limit of 10485760"):
        ChunkDecoder().feed(fmt0_header(4, 10 * 1024 * 1024 + 1, type_id))


def test_the_bound_is_inclusive_and_follows_a_type_change() -> None:
    limit = 1000
    dec = ChunkDecoder(RtmpLimits(max_command_size=limit))
    body = bytes(range(100)) * 10  # exactly the limit, sent as chunks of 128 (fmt 3 continuations)
    chunks = [body[i:i + 128] for i in range(0, limit, 128)]
    data = fmt0_header(3, limit, 20) + b"\xc3".join(chunks)
    [message] = dec.feed(data)
    assert (message.type_id, message.payload) == (20, body)
    # A type-1 header on the same chunk stream: a video message, then a data message one byte over.
    assert dec.feed(fmt1_header(3, 5000, 9) + bytes(128)) == []
    dec = ChunkDecoder(RtmpLimits(max_command_size=limit))
    dec.feed(fmt0_header(3, 10, 9) + bytes(10))
    with pytest.raises(LimitExceeded):
        dec.feed(fmt1_header(3, limit + 1, 18))


def test_the_default_command_bound_refuses_a_10_mb_connect() -> None:
    assert RtmpLimits().max_command_size == 1024 * 1024
    with pytest.raises(LimitExceeded):
        ChunkDecoder().feed(fmt0_header(3, TEN_MB, 20))


# -- the guard alone ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_guard_counts_per_port_and_per_address(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(max_connections=3, max_connections_per_address=2), clock, interval=10.0)
    with caplog.at_level(logging.INFO, logger="mediaproto.server.guard"):
        assert guard.admit("rtsp", "10.0.0.1") and guard.admit("http", "10.0.0.1")
        assert not guard.admit("rtmp", "10.0.0.1")  # the address's limit counts every port
        assert guard.admit("rtsp", "10.0.0.2") and guard.admit("rtsp", "10.0.0.3")
        assert not guard.admit("rtsp", "10.0.0.4")  # the port's limit
        assert guard.admit("http", "10.0.0.4")  # another port has its own
        guard.release("rtsp", "10.0.0.1")
        assert guard.admit("rtsp", "10.0.0.4")  # room again, on the port and for the address
    assert guard.open == {"rtsp": 3, "http": 2}
    assert guard.by_address == {"10.0.0.1": 1, "10.0.0.2": 1, "10.0.0.3": 1, "10.0.0.4": 2}
    assert guard.counts == {("rtmp", TOO_MANY_FROM_ADDRESS): 1, ("rtsp", TOO_MANY): 1}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("rtmp 10.0.0.1: refused: over 2 connections from one address "
                               "(max_connections_per_address)")
    assert lines[1].startswith("rtsp 10.0.0.4: refused: over 3 connections on the port (max_connections)")
    for host in list(guard.by_address):
        while guard.by_address.get(host):
            guard.release("rtsp", host)
    assert guard.by_address == {}


def test_guard_logs_one_line_per_kind_and_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(max_connections_per_address=1), clock, interval=10.0)
    with caplog.at_level(logging.INFO, logger="mediaproto.server.guard"):
        assert guard.admit("rtsp", "10.0.0.1")
        for i in range(1000):
            clock.now += 0.001
            assert not guard.admit("rtsp", "10.0.0.1")
        guard.refuse("rtsp", "10.0.0.9", NO_REQUEST, "no complete request within 10 s (handshake_timeout)")
        assert len(caplog.records) == 2  # the first of each kind at once
        clock.now += 10.0
        guard.flush()  # the 999 held back, in one line
        guard.flush()
        clock.now += 10.0
        guard.flush()  # nothing held back: nothing said
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[2].startswith("rtsp: refused 999 more: over 1 connections from one address")
    assert lines[2].endswith("the latest from 10.0.0.1")
    assert guard.counts[("rtsp", TOO_MANY_FROM_ADDRESS)] == 1000


# -- the live server with small limits ----------------------------------------------------------


@pytest.fixture()
def small() -> Iterator[tuple[LiveServer, asyncio.AbstractEventLoop]]:
    limits = Limits(max_connections=6, max_connections_per_address=3, handshake_timeout=1.0, head_timeout=0.6,
                    http_idle_timeout=5.0, rtsp_max_head=2048, http_max_head=2048, rtmp_max_command=64 * 1024)
    with live_server_thread(free_config(test_source=False, limits=limits, auth_log_interval=30.0)) as running:
        yield running


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.settimeout(5)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (what it sends is read and dropped), or None."""
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(1 << 16):
                return time.monotonic() - start
        except socket.timeout:
            return None
        except ConnectionError:
            return time.monotonic() - start
    return None


def wait_until(predicate: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def answered(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed without an answer; got {data!r}"
        data += chunk
    return data


OPTIONS = b"OPTIONS rtsp://127.0.0.1/live/x RTSP/1.0\r\nCSeq: 1\r\n\r\n"
GET = b"GET /api/streams HTTP/1.1\r\nHost: x\r\n\r\n"


def test_connections_over_the_limits_are_closed_at_once_and_logged(
        small: tuple[LiveServer, asyncio.AbstractEventLoop], caplog: pytest.LogCaptureFixture) -> None:
    live, _ = small
    ports = live.ports
    caplog.set_level(logging.INFO, logger="mediaproto.server.guard")
    held = [connect(ports["rtsp"]), connect(ports["http"]), connect(ports["rtmp"])]
    try:
        assert wait_until(lambda: live.guard.by_address.get("127.0.0.1") == 3)
        for port in ("rtsp", "http", "rtmp"):  # the address has its 3, on whatever port
            extra = connect(ports[port])
            assert closed_within(extra, 2.0) is not None, port
            extra.close()
        # The address's connections are still served.
        assert answered(held[0], OPTIONS).startswith(b"RTSP/1.0 200 OK")
        assert answered(held[1], GET).startswith(b"HTTP/1.1 200 OK")
        # Other addresses fill the port up to max_connections (6), then one more is refused.
        others = [connect(ports["rtsp"], f"127.0.0.{n}") for n in (2, 2, 3, 3, 4)]
        assert wait_until(lambda: live.guard.open.get("rtsp") == 6)
        late = connect(ports["rtsp"], "127.0.0.5")
        assert closed_within(late, 2.0) is not None
        late.close()
        for sock in others:
            assert answered(sock, OPTIONS).startswith(b"RTSP/1.0 200 OK")
            sock.close()
        # A connection that closes gives its place back.
        held.pop(0).close()
        assert wait_until(lambda: live.guard.by_address.get("127.0.0.1") == 2 and live.guard.open["rtsp"] == 0)
        again = connect(ports["rtsp"])
        held.append(again)
        assert answered(again, OPTIONS).startswith(b"RTSP/1.0 200 OK")
        # The refusals are in the metrics (Prometheus text format), asked on the held HTTP connection.
        metrics = held[0]
        metrics.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = b""
        while chunk := metrics.recv(65536):
            text += chunk
        assert b'mediaproto_sessions_refused_total{protocol="rtsp",reason="connection limit per address"} 1' in text
        assert b'mediaproto_sessions_refused_total{protocol="rtsp",reason="connection limit"} 1' in text
    finally:
        for sock in held:
            sock.close()
    counts = live.context.auth.refusals.counts
    assert counts[("rtsp", TOO_MANY_FROM_ADDRESS)] == 1 and counts[("http", TOO_MANY_FROM_ADDRESS)] == 1
    assert counts[("rtmp", TOO_MANY_FROM_ADDRESS)] == 1 and counts[("rtsp", TOO_MANY)] == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "mediaproto.server.guard"]
    assert len(lines) == 4, lines
    assert "rtsp 127.0.0.5: refused: over 6 connections on the port (max_connections)" in lines[3]
    assert all("127.0.0.1: refused: over 3 connections from one address" in line for line in lines[:3])


@pytest.mark.parametrize("port", ["rtsp", "http", "rtmp"])
def test_silent_and_slowloris_clients_are_closed_after_the_handshake_timeout(
        small: tuple[LiveServer, asyncio.AbstractEventLoop], caplog: pytest.LogCaptureFixture, port: str) -> None:
    live, _ = small
    caplog.set_level(logging.INFO, logger="mediaproto.server.guard")
    trickle = {"rtsp": OPTIONS, "http": GET, "rtmp": b"\x03" + bytes(1536)}[port]
    silent = connect(live.ports[port])
    slow = connect(live.ports[port], "127.0.0.2")
    late = connect(live.ports[port], "127.0.0.3")  # silent for 0.6 s, then slow: the time counts from its connect
    try:
        start = time.monotonic()
        closed_at = None
        for i in range(40):  # one byte every 0.1 s: the whole request would take 4 s or more
            try:
                if i >= 6:
                    late.sendall(trickle[i - 6:i - 5])
                slow.sendall(trickle[i:i + 1])
            except ConnectionError:
                closed_at = time.monotonic() - start
                break
            slow.settimeout(0.1)
            try:
                if not slow.recv(4096):
                    closed_at = time.monotonic() - start
                    break
            except socket.timeout:
                pass
            except ConnectionError:
                closed_at = time.monotonic() - start
                break
        assert closed_at is not None and 0.9 <= closed_at <= 2.5, closed_at
        assert closed_within(silent, 2.0) is not None
        assert closed_within(late, 0.5) is not None
    finally:
        silent.close()
        slow.close()
        late.close()
    assert wait_until(lambda: live.guard.open.get(port) == 0)
    assert live.context.auth.refusals.counts[(port, NO_REQUEST)] == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "mediaproto.server.guard"]
    assert len(lines) == 1 and "(handshake_timeout)" in lines[0], lines  # the second is held back


def test_a_slow_rtsp_message_after_the_first_request_is_closed(
        small: tuple[LiveServer, asyncio.AbstractEventLoop]) -> None:
    live, _ = small
    sock = connect(live.ports["rtsp"])
    steady = connect(live.ports["rtsp"], "127.0.0.2")
    try:
        assert answered(sock, OPTIONS).startswith(b"RTSP/1.0 200")
        assert answered(steady, OPTIONS).startswith(b"RTSP/1.0 200")
        # steady: idle for longer than head_timeout (0.6 s), then a request sent in two halves 0.3 s
        # apart: answered. slow: a request that never ends, a byte every 0.2 s: closed.
        time.sleep(1.5)
        head = OPTIONS.replace(b"CSeq: 1", b"CSeq: 2")
        steady.sendall(head[:20])
        time.sleep(0.3)
        assert answered(steady, head[20:]).startswith(b"RTSP/1.0 200")
        start = time.monotonic()
        closed = None
        sock.sendall(b"OPTIONS rtsp://127.0.0.1/live/x RTSP/1.0\r\nX-Pad: ")
        for i in range(60):
            try:
                sock.sendall(b"a")  # the head never ends
                sock.settimeout(0.2)
                if not sock.recv(4096):
                    closed = time.monotonic() - start
                    break
            except socket.timeout:
                continue
            except ConnectionError:
                closed = time.monotonic() - start
                break
        assert closed is not None and 0.5 <= closed <= 2.0, closed
        assert live.context.auth.refusals.counts[("rtsp", SLOW_MESSAGE)] == 1
        assert answered(steady, head.replace(b"CSeq: 2", b"CSeq: 3")).startswith(b"RTSP/1.0 200")
    finally:
        sock.close()
        steady.close()


def test_a_slow_http_head_on_a_kept_connection_is_closed(
        small: tuple[LiveServer, asyncio.AbstractEventLoop]) -> None:
    live, _ = small
    sock = connect(live.ports["http"])
    try:
        assert answered(sock, GET).startswith(b"HTTP/1.1 200")
        time.sleep(1.2)  # idle keep-alive: allowed up to http_idle_timeout (5 s)
        start = time.monotonic()
        closed = None
        for i in range(len(GET) - 1):
            try:
                sock.sendall(GET[i:i + 1])
                sock.settimeout(0.1)
                data = sock.recv(4096)
                if not data:
                    closed = time.monotonic() - start
                    break
            except socket.timeout:
                continue
            except ConnectionError:
                closed = time.monotonic() - start
                break
        assert closed is not None and 0.5 <= closed <= 1.5, closed
        assert live.context.auth.refusals.counts[("http", SLOW_MESSAGE)] == 1
    finally:
        sock.close()


def test_head_sizes(small: tuple[LiveServer, asyncio.AbstractEventLoop]) -> None:
    live, _ = small
    pad = b"X-Pad: " + b"a" * 1500 + b"\r\n"
    rtsp_ok = OPTIONS.replace(b"\r\n\r\n", b"\r\n" + pad + b"\r\n")  # under 2048
    rtsp_big = OPTIONS.replace(b"\r\n\r\n", b"\r\n" + pad * 2 + b"\r\n")
    with connect(live.ports["rtsp"]) as sock:
        assert answered(sock, rtsp_ok).startswith(b"RTSP/1.0 200")
        sock.sendall(rtsp_big)
        assert closed_within(sock, 2.0) is not None
    http_big = GET.replace(b"\r\n\r\n", b"\r\n" + pad * 2 + b"\r\n")
    with connect(live.ports["http"]) as sock:
        assert answered(sock, http_big).startswith(b"HTTP/1.1 431")
    assert live.context.auth.refusals.counts[("http", HEAD_TOO_LARGE)] == 1


def rtmp_handshake(sock: socket.socket) -> None:
    """The simple handshake of the RTMP specification (5.2): C0 = 3, C1 = time, 4 zero bytes and
    1528 bytes; read S0 S1 S2; C2 echoes S1."""
    sock.sendall(b"\x03" + bytes(8) + bytes(range(256)) * 5 + bytes(248))
    data = b""
    while len(data) < 1 + 2 * 1536:
        chunk = sock.recv(65536)
        assert chunk
        data += chunk
    assert data[0] == 3
    sock.sendall(data[1:1537])


def test_a_10_mb_rtmp_connect_is_refused_from_its_header(
        small: tuple[LiveServer, asyncio.AbstractEventLoop], caplog: pytest.LogCaptureFixture) -> None:
    live, _ = small
    caplog.set_level(logging.INFO, logger="mediaproto.aio")
    with connect(live.ports["rtmp"]) as sock:
        rtmp_handshake(sock)
        sent = 0
        body = b"\x02\x00\x07connect" + b"\x00" * 4096  # an AMF0 string, then filler
        try:
            sock.sendall(fmt0_header(3, TEN_MB, 20) + body[:128])
            sent = 128
            while sent < TEN_MB:
                sock.sendall(b"\xc3" + body[:128])  # fmt-3 continuation chunks of 128 bytes
                sent += 128
        except ConnectionError:
            pass
        assert closed_within(sock, 3.0) is not None or sent < TEN_MB
        # closed before the end (what was sent meanwhile sat in the kernel's socket buffers)
        assert sent < TEN_MB, "the server read the whole 10 MB connect"
    assert any("exceeds the limit of 65536" in r.getMessage() for r in caplog.records)


def test_every_limit_has_a_flag() -> None:
    config = parse_args(["--max-connections", "10", "--max-connections-per-address", "2", "--head-timeout", "3",
                         "--handshake-timeout", "4", "--http-max-head", "5000", "--rtsp-max-head", "6000",
                         "--rtmp-max-command", "7000"])
    lim = config.limits
    assert (lim.max_connections, lim.max_connections_per_address, lim.head_timeout, lim.handshake_timeout,
            lim.http_max_head, lim.rtsp_max_head, lim.rtmp_max_command) == (10, 2, 3.0, 4.0, 5000, 6000, 7000)
    default = parse_args([]).limits
    assert default == Limits()
    assert (default.max_connections, default.max_connections_per_address, default.rtmp_max_command) == \
        (2000, 256, 64 * 1024)


@pytest.mark.interop
def test_the_attack_of_issue_16_leaves_the_server_small_and_serving(ffmpeg: str, tmp_path: object) -> None:
    full = os.environ.get("MEDIAPROTO_ATTACK_FULL") == "1"
    case = FULL if full else SMALL
    needed = 3 * case["idle"] + 2 * case["slowloris"] + 200  # sockets this process holds at once, at most
    if raise_fd_limit() < needed:
        pytest.skip(f"the hard limit of open files is under the {needed:.0f} this attack needs")
    fig = run_attack(ffmpeg, case, tmp_path)  # type: ignore[arg-type]
    print(fig.as_dict())
    log = fig.log_lines
    assert not [line for line in log if "Traceback" in line or "Fatal error" in line or " ERROR " in line], log[-20:]
    # Memory: the peak of the server's resident set, sampled and as the kernel kept it.
    assert 0 < fig.rss_max_kb <= fig.hwm_kb + 1024
    assert fig.hwm_kb < 100 * 1024, f"peak RSS {fig.hwm_kb} kB"
    # The players kept playing: RTMP frame by frame, HLS a segment (1 s) at a time.
    seconds = fig.players["rtmp"]["seconds"]
    rtmp, hls = fig.players["rtmp"], fig.players["hls"]
    assert rtmp["alive"] and hls["alive"]
    assert rtmp["frames"] >= 0.8 * 25 * seconds and rtmp["longest_gap_s"] < 3.0, rtmp
    assert hls["frames"] >= 0.7 * 25 * (seconds - 4) and hls["longest_gap_s"] < 6.0, hls
    # Every idle connection was refused at once or closed by the handshake timeout; slowloris
    # clients are held no longer than the handshake timeout (10 s) and a second.
    assert fig.idle_connect_failed == 0
    assert fig.idle_refused_at_once + fig.idle_closed_later == fig.idle_opened == 2 * 3 * case["idle"]
    assert fig.idle_refused_at_once > 0 and fig.idle_closed_later > 0
    assert fig.slowloris_connections >= 2 * case["slowloris"] and 9.0 < fig.slowloris_longest_s < (15 if full else 13)
    # The 10 MB connect was refused from its header: the server closed before its end (what the
    # client sent meanwhile sat in the kernel's socket buffers, up to a few MB on loopback).
    assert 0 < fig.connect_bytes_sent < 10_000_000
    # The refusals are logged, one line per listener and kind and 10 s (plus one at the start).
    text = "\n".join(log)
    assert "exceeds the limit of 65536 for messages without media" in text
    limit = "over 2000 connections on the port" if full else "over 256 connections from one address"
    for proto in ("rtmp", "rtsp", "http"):
        assert re.search(rf"{proto} 127\.0\.[0-9.]+: refused: {limit}", text), proto
        assert re.search(rf"{proto} 127\.0\.[0-9.]+: refused: no .* within 10 s \(handshake_timeout\)", text), proto
    guard_lines = [line for line in log if "mediaproto.server.guard" in line]
    assert len(guard_lines) <= 3 * 5 * (seconds / 10 + 2), guard_lines
