"""mediaproto.aio.rtsp: connect() against serve_rtsp() on 127.0.0.1, playing and recording, over
TCP (interleaved) and UDP, with the test source.

RTSP keeps the clocks of the tracks (90 kHz video, 48 kHz audio) and puts them on one timeline
that starts at the first packet, aligned by RTP-Info and the sender reports (a report carries each
track's instant in whole ticks: within a tick); the test source starts both tracks at 0, so the
frames come back equal to a tick.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from mediaproto.aio import rtsp
from mediaproto.media import Frame
from mediaproto.rtp.rtcp import SenderReport
from mediaproto.rtsp import DigestAuthenticator, ServerConfiguration
from mediaproto.testsrc import TestSource

BOUND = 10.0
TRANSPORTS = ["tcp", "udp"]


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 30))


def same(a: list[Frame], b: list[Frame], ticks: int = 0) -> None:
    """The same frames; timestamps equal, or within ``ticks`` (sender reports carry the instant
    of each track in whole ticks of its clock: aligning two tracks by them rounds by up to one)."""
    assert len(a) == len(b)
    assert [(f.track_id, f.data, f.keyframe) for f in a] == [(f.track_id, f.data, f.keyframe) for f in b]
    assert all(abs(x.pts - y.pts) <= ticks and abs(x.dts - y.dts) <= ticks and x.pts - x.dts == y.pts - y.dts
               for x, y in zip(a, b)), [(x.track_id, x.pts, y.pts) for x, y in zip(a, b) if x.pts != y.pts][:5]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_play_from_serve_rtsp(transport: str) -> None:
    source = TestSource()
    frames = source.frames_until(2.0)

    async def main() -> None:
        players: list[rtsp.RtspPlaying] = []

        async def on_play(playing: rtsp.RtspPlaying) -> None:
            players.append(playing)
            for frame in frames:
                await playing.send_frame(frame)
                await asyncio.sleep(0.001)  # UDP: let the receiver read
            await playing.end()

        server, udp = await rtsp.serve_rtsp(lambda path: source.tracks if path == "test" else None, on_play,
                                            host="127.0.0.1", port=0)
        client = await rtsp.connect(f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/test",
                                    transport=transport)
        assert [(t.id, t.codec, t.clock_rate) for t in client.tracks] == \
            [(t.id, t.codec, t.clock_rate) for t in source.tracks]
        got = [f async for f in client.frames()]  # ends at the server's RTCP BYE on both tracks
        await client.close()
        server.close()
        udp.close()
        for track in source.tracks:  # RTP-Info places them exactly; the sender reports that follow, within a tick
            same([f for f in got if f.track_id == track.id], [f for f in frames if f.track_id == track.id], ticks=1)
        assert players[0].frames_sent == Counter({0: 50, 1: 94})

    run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_record_to_serve_rtsp(transport: str) -> None:
    source = TestSource()
    frames = source.frames_until(2.0)

    async def main() -> None:
        got: list[Frame] = []
        paths: list[str] = []
        recordings: list[rtsp.RtspRecording] = []
        done = asyncio.Event()

        async def on_record(recording: rtsp.RtspRecording) -> None:
            paths.append(recording.path)
            recordings.append(recording)
            async for frame in recording.frames():
                got.append(frame)
            done.set()

        server, udp = await rtsp.serve_rtsp(on_record=on_record, host="127.0.0.1", port=0)
        client = await rtsp.connect(f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/live/pub",
                                    mode="record", tracks=source.tracks, transport=transport)
        for frame in frames:
            await client.send_frame(frame)
            await asyncio.sleep(0.001)
        await client.close()
        await asyncio.wait_for(done.wait(), BOUND)
        server.close()
        udp.close()
        assert paths == ["live/pub"]
        assert [t.codec for t in recordings[0].tracks] == [t.codec for t in source.tracks]
        same(got, frames, ticks=1)  # placed by the client's sender reports
        # our client's sender reports arrived (one per track, with the first frame)
        assert sum(isinstance(p, SenderReport) for p in recordings[0].rtcp) >= 2

    run(main)


def test_digest_auth_and_unknown_path() -> None:
    source = TestSource()

    async def main() -> None:
        async def on_play(playing: rtsp.RtspPlaying) -> None:
            for frame in source.frames_until(0.5):
                await playing.send_frame(frame)
            await playing.end()

        config = ServerConfiguration(authenticator=DigestAuthenticator("test", b"key"), passwords={"alice": "pw"})
        server, udp = await rtsp.serve_rtsp(lambda path: source.tracks if path == "test" else None, on_play,
                                            host="127.0.0.1", port=0, configuration=config)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(rtsp.SessionError, match="401"):
            await rtsp.connect(f"rtsp://alice:wrong@127.0.0.1:{port}/test", timeout=BOUND)
        with pytest.raises(rtsp.SessionError, match="404"):
            await rtsp.connect(f"rtsp://alice:pw@127.0.0.1:{port}/nothing", timeout=BOUND)
        client = await rtsp.connect(f"rtsp://alice:pw@127.0.0.1:{port}/test", timeout=BOUND)
        got = [f async for f in client.frames()]
        await client.close()
        assert Counter(f.track_id for f in got) == Counter({0: 13, 1: 24})  # 0.5 s: 13 pictures, 24 AAC frames
        server.close()
        udp.close()

    run(main)


def test_record_is_refused_without_on_record() -> None:
    source = TestSource()

    async def main() -> None:
        server, udp = await rtsp.serve_rtsp(lambda path: source.tracks, host="127.0.0.1", port=0)
        with pytest.raises(rtsp.SessionError, match="405"):
            await rtsp.connect(f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/x", mode="record",
                               tracks=source.tracks, timeout=BOUND)
        server.close()
        udp.close()

    run(main)


def test_on_play_sees_the_player_leave() -> None:
    source = TestSource()

    async def main() -> None:
        outcome: list[str] = []
        started = asyncio.Event()

        async def on_play(playing: rtsp.RtspPlaying) -> None:
            t = 0.0
            try:
                while True:
                    for frame in source.frames_until(t := t + 0.04):
                        await playing.send_frame(frame)
                    started.set()
                    await asyncio.sleep(0.005)
            except rtsp.SessionError:
                outcome.append("left")

        server, udp = await rtsp.serve_rtsp(lambda path: source.tracks, on_play, host="127.0.0.1", port=0)
        client = await rtsp.connect(f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/x")
        await asyncio.wait_for(started.wait(), BOUND)
        await client.close()  # TEARDOWN
        for _ in range(500):
            if outcome:
                break
            await asyncio.sleep(0.01)
        assert outcome == ["left"]
        server.close()
        udp.close()

    run(main)
