"""mediaproto.aio.rtmp: connect() against serve_rtmp() on 127.0.0.1, both ways, with the test source.

RTMP carries times in milliseconds: the frames that come back are the test source's frames with
their times rescaled from 90 kHz / 48 kHz to 1 kHz (whole milliseconds, FLV's tag timestamps).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from mediaproto.aio import rtmp
from mediaproto.clock import rescale
from mediaproto.media import Frame, Track
from mediaproto.testsrc import TestSource

BOUND = 10.0


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 30))


def in_ms(frame: Frame, rate: int) -> tuple[int, int, int, object, bool]:
    return (frame.track_id, rescale(frame.pts, rate, 1000), rescale(frame.dts, rate, 1000), frame.data, frame.keyframe)


def test_publish_to_serve_rtmp_delivers_every_frame() -> None:
    source = TestSource()
    frames = source.frames_until(2.0)
    rates = {t.id: t.clock_rate for t in source.tracks}

    async def main() -> None:
        got: list[Track | Frame] = []
        names: list[tuple[str, str, str]] = []
        done = asyncio.Event()

        async def on_publish(publishing: rtmp.Publishing) -> None:
            names.append((publishing.app, publishing.name, publishing.query))
            async for item in publishing.media():
                got.append(item)
            done.set()

        server = await rtmp.serve_rtmp(on_publish=on_publish, host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        client = await rtmp.connect(f"rtmp://127.0.0.1:{port}/live/key?token=t")
        await client.publish(source.tracks)
        for frame in frames:
            await client.send_frame(frame)
        await client.close()
        await asyncio.wait_for(done.wait(), BOUND)
        server.close()
        await server.wait_closed()

        assert names == [("live", "key", "token=t")]
        tracks = [t for t in got if isinstance(t, Track)]
        assert [(t.id, t.codec, t.width, t.height) for t in tracks] == [
            (t.id, t.codec, w, h) for t, w, h in zip(source.tracks, (320, 0), (240, 0))]
        assert tracks[0].parameter_sets == source.tracks[0].parameter_sets
        assert tracks[1].config == source.tracks[1].config
        received = [f for f in got if isinstance(f, Frame)]
        assert len(received) == len(frames) == 50 + 94
        assert [in_ms(f, 1000) for f in received] == [in_ms(f, rates[f.track_id]) for f in frames]

    run(main)


def test_play_from_serve_rtmp_receives_every_frame() -> None:
    source = TestSource()
    frames = source.frames_until(2.0)
    rates = {t.id: t.clock_rate for t in source.tracks}

    async def main() -> None:
        async def on_play(playing: rtmp.Playing) -> None:
            assert playing.name == "test"
            await playing.send_tracks(source.tracks)
            for frame in frames:
                await playing.send_frame(frame)
            await playing.end()

        server = await rtmp.serve_rtmp(on_play=on_play, host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        client = await rtmp.connect(f"rtmp://127.0.0.1:{port}/live/test")
        await client.play()
        got = [item async for item in client.media()]  # ends at UnpublishNotify
        await client.close()
        server.close()
        await server.wait_closed()

        assert [t.codec for t in got if isinstance(t, Track)] == [t.codec for t in source.tracks]
        received = [f for f in got if isinstance(f, Frame)]
        assert [in_ms(f, 1000) for f in received] == [in_ms(f, rates[f.track_id]) for f in frames]

    run(main)


def test_publish_then_play_back_through_a_relay() -> None:
    """on_publish feeds what arrives to the players of the same name: the frames a player gets
    are the frames published."""
    source = TestSource()
    frames = source.frames_until(1.0)

    async def main() -> None:
        queues: dict[str, asyncio.Queue[Track | Frame | None]] = {}
        ready = asyncio.Event()

        async def on_publish(publishing: rtmp.Publishing) -> None:
            queue = queues.setdefault(publishing.name, asyncio.Queue())
            async for item in publishing.media():
                await queue.put(item)
            await queue.put(None)

        async def on_play(playing: rtmp.Playing) -> None:
            queue = queues.setdefault(playing.name, asyncio.Queue())
            ready.set()
            tracks: list[Track] = []
            while (item := await queue.get()) is not None:
                if isinstance(item, Track):
                    tracks.append(item)
                    if len(tracks) == 2:
                        await playing.send_tracks(tracks)
                else:
                    await playing.send_frame(item)
            await playing.end()

        server = await rtmp.serve_rtmp(on_publish, on_play, host="127.0.0.1", port=0)
        url = f"rtmp://127.0.0.1:{server.sockets[0].getsockname()[1]}/live/relay"
        player = await rtmp.connect(url)
        await player.play()
        await asyncio.wait_for(ready.wait(), BOUND)
        publisher = await rtmp.connect(url)
        await publisher.publish(source.tracks)
        for frame in frames:
            await publisher.send_frame(frame)
        await publisher.close()
        got = [item async for item in player.media()]
        await player.close()
        server.close()
        await server.wait_closed()
        rates = {t.id: t.clock_rate for t in source.tracks}
        assert [in_ms(f, 1000) for f in got if isinstance(f, Frame)] == [in_ms(f, rates[f.track_id]) for f in frames]

    run(main)


def test_refused_publish_raises_session_error() -> None:
    async def main() -> None:
        server = await rtmp.serve_rtmp(on_play=None, on_publish=None, host="127.0.0.1", port=0)
        client = await rtmp.connect(f"rtmp://127.0.0.1:{server.sockets[0].getsockname()[1]}/live/x")
        with pytest.raises(rtmp.SessionError, match="Publishing is not allowed"):
            await client.publish(TestSource().tracks)
        await client.close()
        server.close()

    run(main)


def test_connect_to_a_closed_port_raises() -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(OSError):
            await rtmp.connect(f"rtmp://127.0.0.1:{port}/live/x", timeout=BOUND)

    run(main)


def test_not_an_rtmp_url() -> None:
    from mediaproto.errors import LocalProtocolError

    with pytest.raises(LocalProtocolError):
        rtmp.split_url("http://host/live/x")
    assert rtmp.split_url("rtmp://h/app/key?a=1") == ("h", 1935, "app", "key?a=1", "rtmp://h:1935/app")


def test_player_that_leaves_ends_on_play_with_session_error() -> None:
    source = TestSource()

    async def main() -> None:
        outcome: list[str] = []
        started = asyncio.Event()

        async def on_play(playing: rtmp.Playing) -> None:
            await playing.send_tracks(source.tracks)
            started.set()
            t = 0.0
            try:
                while True:  # an endless stream, until the player goes
                    for frame in source.frames_until(t := t + 0.04):
                        await playing.send_frame(frame)
                    await asyncio.sleep(0.005)
            except rtmp.SessionError:
                outcome.append("left")

        server = await rtmp.serve_rtmp(on_play=on_play, host="127.0.0.1", port=0)
        client = await rtmp.connect(f"rtmp://127.0.0.1:{server.sockets[0].getsockname()[1]}/live/x")
        await client.play()
        await asyncio.wait_for(started.wait(), BOUND)
        await client.close()
        for _ in range(500):
            if outcome:
                break
            await asyncio.sleep(0.01)
        assert outcome == ["left"]
        server.close()

    run(main)
