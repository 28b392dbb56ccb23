"""Helpers of the RTSP interop tests: examples/rtsp_server.py's test source on serve_rtsp in a
thread, the live server with a tap on its hub and a count of what its RTSP players were sent,
free ports, waiting, ffprobe's packets."""

from __future__ import annotations

import csv
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mediaproto.aio import rtsp
from mediaproto.media import Frame
from mediaproto.rtsp import ServerConfiguration
from mediaproto.server import LiveServer, Stream
from mediaproto.server.rtsp import RtspPlayer

from tests.server._live import free_config, live_server_thread

from ._rtmp_helpers import ROOT, LoopThread, free_port, load_example, wait_for

__all__ = ["ROOT", "free_port", "load_example", "wait_for", "source_packets", "TestSourceServer", "LiveRtsp",
           "live_rtsp"]


def source_packets(vectors: Path) -> dict[str, list[tuple[int, int, int]]]:
    """ffprobe's packets of ref.flv (ref.flv.packets.csv): (pts ms, dts ms, size) per stream."""
    out: dict[str, list[tuple[int, int, int]]] = {"video": [], "audio": []}
    for row in csv.reader((vectors / "ref.flv.packets.csv").read_text().splitlines()):
        out["video" if row[0] == "0" else "audio"].append((int(row[1]), int(row[2]), int(row[3])))
    return out


class TestSourceServer(LoopThread):
    """examples/rtsp_server.py's ``describe`` and ``play_test_source`` on
    :func:`mediaproto.aio.rtsp.serve_rtsp`, on free ports: ``seconds`` of the test source per
    player, then RTCP BYE. ``ended`` holds each :class:`~mediaproto.aio.rtsp.RtspPlaying` once its
    stream is over (``frames_sent`` per track, ``rtcp`` what the player reported)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, seconds: float | None = None, configuration: ServerConfiguration | None = None) -> None:
        super().__init__()
        self.seconds = seconds
        self.configuration = configuration
        self.ended: list[rtsp.RtspPlaying] = []
        self.port = 0

    def __enter__(self) -> TestSourceServer:
        super().__enter__()
        example = load_example("rtsp_server")

        async def on_play(playing: rtsp.RtspPlaying) -> None:
            await example.play_test_source(playing, self.seconds)
            self.ended.append(playing)

        async def start() -> None:
            self.server, self.udp = await rtsp.serve_rtsp(example.describe, on_play, host="127.0.0.1", port=0,
                                                          configuration=self.configuration)
            self.port = self.server.sockets[0].getsockname()[1]

        self.run(start())
        return self

    def __exit__(self, *exc: object) -> None:
        def stop() -> None:
            self.server.close()
            self.udp.close()

        self.loop.call_soon_threadsafe(stop)
        super().__exit__(*exc)


class LiveRtsp:
    """The live server (:mod:`mediaproto.server`) seen from a test: ``frames[path]`` are the frames
    its hub got from the publisher (on the server's timeline), ``ended`` the paths whose publisher
    left, ``players`` its RTSP players with ``sent[player]`` the frames each was sent per track."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.port = live.ports["rtsp"]
        self.frames: dict[str, list[Frame]] = defaultdict(list)
        self.ended: set[str] = set()
        self.players: list[RtspPlayer] = []
        self.sent: dict[int, Counter[int]] = defaultdict(Counter)
        self.passive = True  # a hub output that does not keep a stream alive

    def counted(self, player: RtspPlayer) -> Counter[int]:
        return self.sent[id(player)]

    def player_done(self) -> bool:
        """Whether a player came and its connection closed."""
        return bool(self.players) and all(p.session.driver.closed for p in self.players)

    # -- a hub output on every stream ------------------------------------------------------------
    def attach(self, stream: Stream) -> None:
        stream.subscribe(self)

    def on_tracks(self, stream: Stream) -> None:
        pass

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        self.frames[stream.name].append(frame)

    def on_end(self, stream: Stream) -> None:
        self.ended.add(stream.name)


@contextmanager
def live_rtsp(monkeypatch: pytest.MonkeyPatch, **config: Any) -> Iterator[LiveRtsp]:
    """Run the live server (no test source) with a :class:`LiveRtsp` tap on it."""
    original = RtspPlayer.on_frame
    taps: list[LiveRtsp] = []

    def counting(player: RtspPlayer, stream: Stream, frame: Frame) -> None:
        before = player.frames_sent
        original(player, stream, frame)
        if taps and player.frames_sent > before:
            if player not in taps[0].players:
                taps[0].players.append(player)
            taps[0].counted(player)[frame.track_id] += 1

    monkeypatch.setattr(RtspPlayer, "on_frame", counting)
    with live_server_thread(free_config(test_source=False, **config)) as (live, loop):
        tap = LiveRtsp(live)
        taps.append(tap)
        ready = threading.Event()

        def install() -> None:
            live.hub.on_stream.append(tap.attach)
            ready.set()

        loop.call_soon_threadsafe(install)
        assert ready.wait(10)
        yield tap
