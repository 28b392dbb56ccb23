"""The live server under misbehaving clients: memory stays bounded and the others are served.

The server runs in-process on its own asyncio loop in a thread, on free ports. A "flood" stream
is published in-process (large frames at 25 fps), read by one RTMP player that keeps up and one
that stops reading; players also ask for many names nobody publishes. Clients are raw sockets
driven by :class:`mediaproto.rtmp.client.ClientConnection`.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediaproto.media import Frame
from mediaproto.rtmp.client import ClientConnection
from mediaproto.rtmp.events import Connected, FrameReceived, PlayStarted, StatusReceived
from mediaproto.testsrc import TestSource

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]

import mediaproto.server.rtmp as live_rtmp  # noqa: E402
from ._live import Config, LiveServer, live_server_thread  # noqa: E402


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[LiveServer, asyncio.AbstractEventLoop]]:
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, test_source=False,
                    rtmp_play_wait=1.0)
    with live_server_thread(config) as running:
        yield running


class RawPlayer:
    """A blocking RTMP player on a raw socket."""

    def __init__(self, port: int, name: str, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.conn = ClientConnection("live", f"rtmp://127.0.0.1:{port}/live")
        self.name = name
        self.frames: list[Frame] = []
        self.playing = False
        self.refused: str | None = None  # the code of an error onStatus (StreamNotFound)
        self.closed = False
        self.sock.sendall(self.conn.data_to_send())

    def pump(self, until: float) -> None:
        """Read and handle until ``until`` (monotonic) or the server closes."""
        while time.monotonic() < until and not self.closed:
            self.sock.settimeout(max(0.01, min(0.2, until - time.monotonic())))
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionError:
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            for ev in self.conn.receive_data(data, time.monotonic()):
                if isinstance(ev, Connected):
                    self.conn.play(self.name)
                elif isinstance(ev, PlayStarted):
                    self.playing = True
                elif isinstance(ev, StatusReceived) and ev.level == "error":
                    self.refused = ev.code
                elif isinstance(ev, FrameReceived):
                    self.frames.append(ev.frame)
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)

    def start(self) -> None:
        deadline = time.monotonic() + 10
        while not self.playing and self.refused is None:
            assert time.monotonic() < deadline, "play never answered"
            self.pump(time.monotonic() + 0.1)

    def close(self) -> None:
        self.sock.close()


def test_names_nobody_published_are_forgotten(running: tuple[LiveServer, asyncio.AbstractEventLoop]) -> None:
    live, _ = running
    before = set(live.hub.streams)
    for i in range(30):
        p = RawPlayer(live.ports["rtmp"], f"nobody-{i}")
        if i < 5:  # waits config.rtmp_play_wait (1 s) for a publisher, then is told there is none
            p.start()
            assert p.refused == "NetStream.Play.StreamNotFound" and not p.playing
        else:  # leaves while it waits
            p.pump(time.monotonic() + 0.2)
            assert not p.playing and p.refused is None
        p.close()
    deadline = time.monotonic() + 5
    while any(n.startswith("live/nobody-") for n in list(live.hub.streams) + list(live.hls)):
        assert time.monotonic() < deadline, sorted(set(live.hub.streams) - before)
        time.sleep(0.05)


async def _flood(live: LiveServer, name: str, seconds: float, size: int, lead: float = 0.0) -> None:
    """Publish ``seconds`` of 25 fps video frames of ``size`` bytes, an IDR frame every second,
    ``lead`` seconds after the stream went live (for players to join)."""
    video = TestSource().tracks[0]
    stream = live.hub.stream(name)
    loop = asyncio.get_running_loop()
    assert stream.start("flood", loop.time())
    stream.set_tracks([video])
    await asyncio.sleep(lead)
    t0 = loop.time()
    try:
        for i in range(int(seconds * 25)):
            key = i % 25 == 0
            nal = (b"\x65" if key else b"\x41") + i.to_bytes(4, "big") + bytes(size)
            stream.push(Frame(video.id, i * 3600, i * 3600, (nal,), key), loop.time())
            await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.04 - loop.time()))
    finally:
        stream.end()


def test_a_stalled_player_is_skipped_then_dropped_and_the_other_gets_everything(
        running: tuple[LiveServer, asyncio.AbstractEventLoop], monkeypatch: pytest.MonkeyPatch) -> None:
    live, loop = running
    monkeypatch.setattr(live.config.limits, "slow_timeout", 1.5)
    name = "live/flood"
    seconds = 6.0
    # the stream goes live first (a play of a stream nobody publishes is refused after a while)
    future = asyncio.run_coroutine_threadsafe(_flood(live, name, seconds, 200_000, lead=2.0), loop)
    while name not in live.hub.streams or not live.hub.streams[name].live:
        time.sleep(0.01)
    fast = RawPlayer(live.ports["rtmp"], "flood")
    stalled = RawPlayer(live.ports["rtmp"], "flood", rcvbuf=32 * 1024)
    fast.start()
    stalled.start()  # then it never reads again
    try:
        fast.pump(time.monotonic() + seconds + 2)
        future.result(5)
        stream = live.hub.streams[name]
        # The fast player got every frame, in order, with nothing skipped.
        counters = [int.from_bytes(f.data[0][1:5], "big") for f in fast.frames]  # type: ignore[index]
        assert counters == list(range(int(seconds * 25))), counters[:10]
        # The stalled one was skipped past its high-water mark, then disconnected; the server
        # never held more than the high-water mark plus a frame for it.
        assert stream.frames_skipped > 0
        assert stream.players_dropped == 1
        sessions = [o for o in stream.outputs if isinstance(o, live_rtmp.RtmpPlayer)]
        assert len(sessions) == 1  # the fast one waits for the next publisher; the stalled one is gone
        assert not sessions[0].session.driver.closed
    finally:
        fast.close()
        stalled.close()


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (what it sent is read away)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(1 << 20):
                return True
        except socket.timeout:
            return False
        except ConnectionError:
            return True
    return False


def test_silent_connections_are_closed(running: tuple[LiveServer, asyncio.AbstractEventLoop],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    live, _ = running
    monkeypatch.setattr(live.config.limits, "handshake_timeout", 0.5)
    monkeypatch.setattr(live_rtmp, "IDLE_CHECK", 0.2)
    with socket.create_connection(("127.0.0.1", live.ports["rtmp"]), timeout=5) as silent, \
            socket.create_connection(("127.0.0.1", live.ports["rtmp"]), timeout=5) as partial:
        partial.sendall(b"\x03" + bytes(100))  # C0 and a piece of C1, then nothing
        assert _closed_by_server(silent, 3.0)
        assert _closed_by_server(partial, 3.0)


class RawPublisher(RawPlayer):
    def pump(self, until: float) -> None:
        while time.monotonic() < until and not self.playing:
            self.sock.settimeout(0.2)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            for ev in self.conn.receive_data(data, time.monotonic()):
                if isinstance(ev, Connected):
                    self.conn.publish(self.name)
                elif type(ev).__name__ == "PublishStarted":
                    self.playing = True
            self.sock.sendall(self.conn.data_to_send())


def test_a_hung_publisher_ends_its_stream(running: tuple[LiveServer, asyncio.AbstractEventLoop],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    live, _ = running
    monkeypatch.setattr(live.config.limits, "rtmp_idle_timeout", 1.0)
    monkeypatch.setattr(live_rtmp, "IDLE_CHECK", 0.2)
    source = TestSource()
    hung = RawPublisher(live.ports["rtmp"], "hung")
    try:
        hung.start()
        hung.conn.send_tracks(source.tracks)
        for frame in source.frames_until(1.0):
            hung.conn.send_frame(frame)
        hung.sock.sendall(hung.conn.data_to_send())
        stream = live.hub.streams["live/hung"]
        deadline = time.monotonic() + 5
        while stream.frames_in < 20:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert stream.live
        # Then it hangs (its socket stays open, it sends nothing): the stream ends ...
        while stream.live:
            assert time.monotonic() < deadline, "a silent publisher kept its stream"
            time.sleep(0.05)
        # ... and another publisher can take the name.
        again = RawPublisher(live.ports["rtmp"], "hung")
        again.start()
        again.close()
    finally:
        hung.close()


def test_an_http_client_that_does_not_read_is_closed(running: tuple[LiveServer, asyncio.AbstractEventLoop],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    live, loop = running
    monkeypatch.setattr(live.config.limits, "http_idle_timeout", 1.0)
    asyncio.run_coroutine_threadsafe(_flood(live, "live/big", 2.2, 100_000), loop).result(10)
    output = live.hls["live/big"]
    name, segment = max(((n, d) for n, d in output.files.items() if n.count(".") == 1), key=lambda x: len(x[1]))
    assert len(segment) > 1_000_000
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.connect(("127.0.0.1", live.ports["http"]))
    try:
        request = f"GET /live/big/{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        sock.sendall(request * 20)  # 20 pipelined requests, and no reading
        time.sleep(2.5)
        got = 0
        sock.settimeout(5)
        try:
            while chunk := sock.recv(1 << 20):
                got += len(chunk)
        except ConnectionError:
            pass
        assert got < 20 * len(segment), "the server kept sending to a client that did not read"
    finally:
        sock.close()
