"""The live server on its own asyncio loop in a thread, for the live-server tests."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from live_server import Config, LiveServer  # noqa: E402

__all__ = ["Config", "LiveServer", "live_server_thread"]


@contextlib.contextmanager
def live_server_thread(config: Config) -> Iterator[tuple[LiveServer, asyncio.AbstractEventLoop]]:
    """Start a :class:`LiveServer` (use port 0s in ``config``: free ports) and stop it on exit."""
    loop = asyncio.new_event_loop()
    live = LiveServer(config)
    started = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        await live.start()
        started.set()
        await stop.wait()
        await live.stop()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert started.wait(10), "the live server did not start"
    try:
        yield live, loop
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
