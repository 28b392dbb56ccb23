"""FFmpeg against mediaproto.aio's servers, on 127.0.0.1 with bounded waits: ffmpeg publishes
ref.flv to serve_rtmp (every packet ffprobe lists arrives, at its time), and plays the test source
from serve_rtsp over TCP and UDP (every frame sent is decoded)."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from pathlib import Path

import pytest

from mediaproto.aio import rtmp, rtsp
from mediaproto.clock import rescale
from mediaproto.media import Frame, Track
from mediaproto.testsrc import TestSource

pytestmark = pytest.mark.interop


async def run_ffmpeg(*args: str, timeout: float = 60.0) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out, err


def test_ffmpeg_publishes_to_serve_rtmp(ffmpeg: str, vectors: Path) -> None:
    want: dict[str, list[tuple[int, int]]] = {"video": [], "audio": []}
    for row in csv.reader((vectors / "ref.flv.packets.csv").read_text().splitlines()):
        want["video" if row[0] == "0" else "audio"].append((int(row[1]), int(row[2])))

    async def main() -> None:
        tracks: dict[int, Track] = {}
        frames: list[Frame] = []
        done = asyncio.Event()

        async def on_publish(publishing: rtmp.Publishing) -> None:
            async for item in publishing.media():
                if isinstance(item, Track):
                    tracks[item.id] = item
                else:
                    frames.append(item)
            done.set()

        server = await rtmp.serve_rtmp(on_publish=on_publish, host="127.0.0.1", port=0)
        url = f"rtmp://127.0.0.1:{server.sockets[0].getsockname()[1]}/live/ff"
        code, _, err = await run_ffmpeg(ffmpeg, "-v", "error", "-i", str(vectors / "ref.flv"), "-c", "copy",
                                        "-f", "flv", url)
        assert code == 0, err.decode(errors="replace")
        await asyncio.wait_for(done.wait(), 10)
        server.close()
        await server.wait_closed()

        def ms(f: Frame) -> tuple[int, int]:
            rate = tracks[f.track_id].clock_rate
            return rescale(f.pts, rate, 1000), rescale(f.dts, rate, 1000)

        assert [t.codec.value for t in tracks.values()] == ["h264", "aac"]
        assert [ms(f) for f in frames if tracks[f.track_id].codec.is_video] == want["video"]  # 100 packets
        assert [ms(f) for f in frames if not tracks[f.track_id].codec.is_video] == want["audio"]  # 189

    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_ffmpeg_plays_from_serve_rtsp(ffmpeg: str, transport: str) -> None:
    async def main() -> None:
        players: list[rtsp.RtspPlaying] = []
        source = TestSource()

        async def on_play(playing: rtsp.RtspPlaying) -> None:
            loop = asyncio.get_running_loop()
            mine, start, t = TestSource(), loop.time(), 0.0
            while t < 2.0:  # 2 s of the test source in real time, then BYE
                t = min(2.0, loop.time() - start + 0.02)
                for frame in mine.frames_until(t):
                    await playing.send_frame(frame)
                await asyncio.sleep(0.02)
            await playing.end()
            players.append(playing)

        server, udp = await rtsp.serve_rtsp(lambda path: source.tracks, on_play, host="127.0.0.1", port=0)
        url = f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/test"
        code, out, err = await run_ffmpeg(ffmpeg, "-v", "error", "-rtsp_transport", transport, "-i", url,
                                          "-map", "0", "-f", "framecrc", "-")
        server.close()
        udp.close()
        assert code == 0 and err == b"", err.decode(errors="replace")
        decoded = Counter(int(line.split(",", 1)[0]) for line in out.decode().splitlines()
                          if line and not line.startswith("#"))
        assert players and players[0].frames_sent == Counter({0: 50, 1: 94})  # 2 s: 25 fps, 48000/1024 per s
        assert decoded == players[0].frames_sent

    asyncio.run(asyncio.wait_for(main(), 90))
