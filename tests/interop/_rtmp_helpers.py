"""Shared helpers of the RTMP interop tests: the example server in a thread, blocking socket pumps."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import socket
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
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


class ServerThread:
    """examples/rtmp_server.py running on its own event loop in a thread, on a free port."""

    def __init__(self) -> None:
        self.mod = load_example("rtmp_server")
        self.hub = self.mod.Hub()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server = await self.mod.serve(self.hub, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop and return its result."""
        fut: Any = asyncio.run_coroutine_threadsafe(_wrap(fn), self.loop)
        return fut.result(10)

    def __exit__(self, *exc: object) -> None:
        def stop() -> None:
            self.server.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self._thread.join(10)


async def _wrap(fn: Callable[[], Any]) -> Any:
    return fn()


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()
