"""Fan-out coalesced per loop turn (mediaproto.server.fanout): one write per player per batch.

The bytes a player gets are the same as when each frame was written on its own (the per-frame
chunks of :func:`mediaproto.rtmp.connection.frame_chunks`, concatenated in order); only the number
of writes changes. Backpressure still skips a player past the high-water mark to the next keyframe.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp.connection import frame_chunks
from mediaproto.rtmp.flv import MediaTagEncoder
from mediaproto.server.config import Limits
from mediaproto.server.fanout import TurnFlusher, flusher_for
from mediaproto.server.hub import Hub
from mediaproto.server.rtmp import RtmpPlayer, RtmpSession

SPS = bytes.fromhex("6742c01e95a0a0fd08")
PPS = bytes.fromhex("68ce3c80")
VIDEO = Track(id=0, codec=Codec.H264, clock_rate=1000, config=(SPS, PPS))
AUDIO = Track(id=1, codec=Codec.AAC, clock_rate=1000, config=bytes.fromhex("1190"), sample_rate=48000, channels=2)


def _loops() -> list[Any]:
    loops: list[Any] = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:
        loops.append(pytest.param(None, id="uvloop", marks=pytest.mark.skip(reason="uvloop not installed")))
    else:
        loops.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return loops


class FakeTransport:
    """Notes every write; its write buffer holds what ``buffered`` says."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffered = 0
        self.aborted = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5000) if name == "peername" else default

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.aborted = True


def frames(n: int, gop: int = 5) -> list[Frame]:
    """Video and audio frames alternating, a video keyframe every ``gop`` video frames."""
    out = []
    for i in range(n):
        if i % 2 == 0:
            v = i // 2
            nal = (b"\x65" if v % gop == 0 else b"\x41") + bytes([v & 0xFF]) * (300 + 7 * v)
            out.append(Frame(track_id=0, pts=40 * v, dts=40 * v, data=(nal,), keyframe=v % gop == 0))
        else:
            a = i // 2
            out.append(Frame(track_id=1, pts=21 * a, dts=21 * a, data=bytes([a & 0xFF]) * 200, keyframe=True))
    return out


def run(factory: Callable[[], asyncio.AbstractEventLoop], scenario: Callable[[], Any]) -> Any:
    loop = factory()
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


def _setup(players: int, limits: Limits | None = None) -> tuple[Any, list[tuple[RtmpPlayer, FakeTransport]]]:
    hub = Hub(limits or Limits(write_coalesce=0))  # per loop turn, unless a test asks for merged writes
    stream = hub.stream("live/fan")
    stream.start("test", 0.0)
    stream.set_tracks([VIDEO, AUDIO])
    made = []
    for _ in range(players):
        session = RtmpSession(hub)
        transport = FakeTransport()
        session.driver.connection_made(transport)  # type: ignore[arg-type]
        made.append((RtmpPlayer(session, 1), transport))
    return stream, made


def _close(made: list[tuple[RtmpPlayer, FakeTransport]]) -> None:
    for player, _ in made:
        player.session.driver.connection_lost(None)


@pytest.mark.parametrize("factory", _loops())
def test_one_write_per_player_per_turn_same_bytes(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    async def scenario() -> None:
        stream, made = _setup(3)
        chunk_size = made[0][0].session.conn.outgoing_chunk_size
        encoder = MediaTagEncoder([VIDEO, AUDIO])
        batch1, batch2 = frames(10)[:7], frames(10)[7:]
        expected1 = b"".join(frame_chunks(encoder, f, stream_id=1, chunk_size=chunk_size) for f in batch1)
        expected2 = b"".join(frame_chunks(encoder, f, stream_id=1, chunk_size=chunk_size) for f in batch2)
        flusher = flusher_for(asyncio.get_running_loop())
        turns0, writes0 = flusher.turns, flusher.writes
        for f in batch1:  # one publisher read with seven frames: one turn
            stream.push(f, 0.0)
            for player, _ in made:
                player.on_frame(stream, f)
        assert all(t.writes == [] for _, t in made)  # nothing written before the turn ends
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        for player, transport in made:
            assert transport.writes == [expected1]
            assert player.frames_sent == 7
        for f in batch2:
            for player, _ in made:
                player.on_frame(stream, f)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        for _, transport in made:
            assert transport.writes == [expected1, expected2]
        assert flusher.turns - turns0 == 2
        assert flusher.writes - writes0 == 6  # two turns, three players
        _close(made)

    run(factory, scenario)


@pytest.mark.parametrize("factory", _loops())
def test_past_high_water_skips_to_the_next_keyframe(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    async def scenario() -> None:
        limits = Limits(high_water=10_000, drop_water=1_000_000, write_coalesce=0)
        stream, made = _setup(2, limits)
        (fast, fast_t), (slow, slow_t) = made
        fs = frames(30, gop=5)  # video keyframes at frames 0, 10, 20
        for f in fs[:4]:
            for player, _ in made:
                player.on_frame(stream, f)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert fast.frames_sent == slow.frames_sent == 4
        slow_t.buffered = 50_000  # the slow player's socket is full
        for f in fs[4:]:
            for player, _ in made:
                player.on_frame(stream, f)
            if f.track_id == 0 and f.pts == 40 * 8:
                slow_t.buffered = 0  # it drains before the keyframe at frame 20
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert fast.frames_sent == 30
        # The slow player got frames 0-3, and frame 4 (the buffer size is read at each write: the
        # frame owed in the turn its socket filled still goes), then nothing until the keyframe of
        # frame 20 (the one of frame 10 came while it was still full), then every frame.
        assert slow.frames_sent == 5 + 10
        assert stream.frames_skipped == slow.gate.skipped > 0
        assert b"".join(slow_t.writes) != b"".join(fast_t.writes)
        assert not slow_t.aborted
        _close(made)

    run(factory, scenario)


@pytest.mark.parametrize("factory", _loops())
def test_merged_writes_join_the_frames_of_the_window(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """With ``write_coalesce``, frames owed over several loop turns go out in one write per player
    once the window after the first has passed, the same bytes in the same order; nothing is
    written before."""
    async def scenario() -> None:
        stream, made = _setup(2, Limits(write_coalesce=0.3))
        chunk_size = made[0][0].session.conn.outgoing_chunk_size
        encoder = MediaTagEncoder([VIDEO, AUDIO])
        fs = frames(6)
        expected = b"".join(frame_chunks(encoder, f, stream_id=1, chunk_size=chunk_size) for f in fs)
        loop = asyncio.get_running_loop()
        flusher = made[0][0].flusher
        assert flusher is flusher_for(loop, 0.3) and flusher is not flusher_for(loop)
        turns0 = flusher.turns
        start = loop.time()
        for f in fs:  # one frame per loop turn, as a publisher's reads bring them
            for player, _ in made:
                player.on_frame(stream, f)
            await asyncio.sleep(0)
        assert loop.time() - start < 0.3
        assert all(t.writes == [] for _, t in made)  # the window is still open
        while flusher.turns == turns0 and loop.time() - start < 2.0:
            await asyncio.sleep(0.01)
        assert loop.time() - start >= 0.3
        for player, transport in made:
            assert transport.writes == [expected]
            assert player.frames_sent == 6
        assert flusher.turns - turns0 == 1
        _close(made)

    run(factory, scenario)


def test_flusher_keeps_going_when_a_player_fails() -> None:
    async def scenario() -> None:
        flusher = TurnFlusher(asyncio.get_running_loop())
        done: list[str] = []

        class Broken:
            def flush_owed(self) -> None:
                raise RuntimeError("broken")

        class Good:
            def flush_owed(self) -> None:
                done.append("good")

        flusher.mark(Broken())
        flusher.mark(Good())
        await asyncio.sleep(0)
        assert done == ["good"] and flusher.dirty == [] and flusher.turns == 1

    run(asyncio.new_event_loop, scenario)
