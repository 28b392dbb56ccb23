"""The live server (:mod:`mediaproto.server`) on its own asyncio loop in a thread, for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from mediaproto.server import Config, LiveServer

__all__ = ["Config", "LiveServer", "live_server_thread", "free_config"]


def free_config(**kw: object) -> Config:
    """A :class:`Config` on free ports (port 0 everywhere), with ``kw`` set."""
    ports: dict[str, object] = {"rtmp_port": 0, "http_port": 0, "rtsp_port": 0, "rtp_port": 0, "rtcp_port": 0}
    return Config(**{**ports, **kw})  # type: ignore[arg-type]


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
