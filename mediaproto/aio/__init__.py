"""The asyncio layer: where sockets and the event loop meet the Sans-IO core.

- :class:`~mediaproto.aio.driver.StreamDriver` runs any stream endpoint (RTMP or RTSP, client or
  server) over an asyncio transport; :mod:`mediaproto.aio.udp` reads RTP/RTCP socket pairs and
  routes their datagrams to the endpoints.
- :mod:`mediaproto.aio.rtmp` and :mod:`mediaproto.aio.rtsp`: ``connect(url)`` to publish or play,
  ``serve_rtmp`` / ``serve_rtsp`` to accept sessions with callbacks.
"""

from .driver import Handler, StreamDriver

__all__ = ["Handler", "StreamDriver"]
