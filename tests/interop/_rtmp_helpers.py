"""Shared helpers of the RTMP interop tests: an asyncio loop in a thread, a recording
:func:`mediaproto.aio.rtmp.serve_rtmp` server on it, the examples as modules, ffprobe's packets."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, TypeVar

from mediaproto.aio import rtmp
from mediaproto.media import Frame, Track

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (once)."""
    module_name = f"example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = mod
    spec.loader.exec_module(mod)
    return mod


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def source_packets(vectors: Path) -> dict[str, list[tuple[int, int]]]:
    """ffprobe's packets of ref.flv: (pts, dts) in ms, per stream ("video", "audio")."""
    out: dict[str, list[tuple[int, int]]] = {"video": [], "audio": []}
    for row in csv.reader((vectors / "ref.flv.packets.csv").read_text().splitlines()):
        out["video" if row[0] == "0" else "audio"].append((int(row[1]), int(row[2])))
    return out


def wait_for(cond: Callable[[], object], timeout: float) -> bool:
    """Poll ``cond`` every 20 ms until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


class LoopThread:
    """An asyncio event loop running in a daemon thread; :meth:`run` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc: object) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class RtmpRecorder(LoopThread):
    """:func:`mediaproto.aio.rtmp.serve_rtmp` on a free port, keeping what each publisher sends:
    ``tracks[name]`` and ``frames[name]`` (``name`` is ``app/key``), ``ended[name]`` set when the
    publisher stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.tracks: dict[str, dict[int, Track]] = {}
        self.frames: dict[str, list[Frame]] = {}
        self.ended: dict[str, threading.Event] = {}
        self.port = 0

    def __enter__(self) -> RtmpRecorder:
        super().__enter__()

        async def on_publish(publishing: rtmp.Publishing) -> None:
            name = f"{publishing.app}/{publishing.name}"
            tracks, frames = self.tracks.setdefault(name, {}), self.frames.setdefault(name, [])
            self.ended.setdefault(name, threading.Event())
            async for item in publishing.media():
                if isinstance(item, Track):
                    tracks[item.id] = item
                else:
                    frames.append(item)
            self.ended[name].set()

        async def start() -> None:
            self.server = await rtmp.serve_rtmp(on_publish=on_publish, host="127.0.0.1", port=0)
            self.port = self.server.sockets[0].getsockname()[1]

        self.run(start())
        return self

    def wait_ended(self, name: str, timeout: float) -> bool:
        """Whether the publisher of ``name`` came and stopped within ``timeout`` seconds."""
        return wait_for(lambda: name in self.ended and self.ended[name].is_set(), timeout)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        super().__exit__(*exc)


class _Channel:
    """One stream name of :class:`RtmpRelay`: everything its publisher sent, in order."""

    def __init__(self) -> None:
        self.tracks: dict[int, Track] = {}
        self.frames: list[Frame] = []
        self.live = False
        self.ended = False
        self.changed = asyncio.Condition()


class RtmpRelay(RtmpRecorder):
    """:class:`RtmpRecorder` that also plays: a player of ``app/key`` gets the publisher's tracks
    and every frame from the publisher's first one (a whole short file, not a live edge), then
    ``UnpublishNotify`` when the publisher stops. Built on serve_rtmp's two callbacks."""

    def __enter__(self) -> RtmpRelay:
        LoopThread.__enter__(self)
        channels: dict[str, _Channel] = {}

        async def on_publish(publishing: rtmp.Publishing) -> None:
            name = f"{publishing.app}/{publishing.name}"
            channel = channels.setdefault(name, _Channel())
            self.tracks[name], self.frames[name] = channel.tracks, channel.frames
            self.ended.setdefault(name, threading.Event())
            channel.live = True
            async for item in publishing.media():
                async with channel.changed:
                    if isinstance(item, Track):
                        channel.tracks[item.id] = item
                    else:
                        channel.frames.append(item)
                    channel.changed.notify_all()
            async with channel.changed:
                channel.ended = True
                channel.changed.notify_all()
            self.ended[name].set()

        async def on_play(playing: rtmp.Playing) -> None:
            channel = channels.setdefault(f"{playing.app}/{playing.name}", _Channel())
            async with channel.changed:  # the tracks are known once the first frame came
                await channel.changed.wait_for(lambda: bool(channel.frames) or channel.ended)
            await playing.send_tracks(list(channel.tracks.values()))
            sent = 0
            while True:
                async with channel.changed:
                    await channel.changed.wait_for(lambda: len(channel.frames) > sent or channel.ended)
                    batch, done = channel.frames[sent:], channel.ended and len(channel.frames) == sent
                if done:
                    break
                for frame in batch:
                    await playing.send_frame(frame)
                sent += len(batch)
            await playing.end()

        async def start() -> None:
            self.server = await rtmp.serve_rtmp(on_publish, on_play, host="127.0.0.1", port=0)
            self.port = self.server.sockets[0].getsockname()[1]

        self.run(start())
        return self

    def live(self, name: str) -> bool:
        """Whether the publisher of ``name`` sent its first frame."""
        return bool(self.frames.get(name))
