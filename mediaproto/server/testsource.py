"""The built-in test source, published as a stream of the hub (``live/test``).

A timer asks :meth:`mediaproto.testsrc.TestSource.frames_until` for the frames due by now (the
stream's time is the loop's clock since the start) and pushes them into the stream, so the source
runs in real time with nothing else installed.
"""

from __future__ import annotations

import asyncio
import logging
from fractions import Fraction

from ..testsrc import TestSource

from .hub import Hub

log = logging.getLogger("mediaproto.server.testsrc")


async def publish_test_source(hub: Hub, name: str = "live/test", *, width: int = 320, height: int = 240,
                              frame_rate: Fraction = Fraction(25), interval: float = 0.01,
                              start_time: float = 0.0) -> None:
    """Publish the test source as ``name`` until cancelled."""
    loop = asyncio.get_running_loop()
    source = TestSource(width=width, height=height, frame_rate=frame_rate, start_time=start_time)
    stream = hub.stream(name)
    t0 = loop.time()
    if not stream.start("test source", t0):
        log.error("%s is already published: the test source stays off", name)
        return
    stream.set_tracks(source.tracks)
    try:
        while True:
            now = loop.time()
            for frame in source.frames_until(now - t0):
                stream.push(frame, now)
            await asyncio.sleep(interval)
    finally:
        stream.end()
