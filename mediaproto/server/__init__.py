"""The mediaproto live server: RTMP and RTSP in; HLS, RTSP and RTMP out, through one hub of streams.

Run it as ``mediaproto-server`` (or ``python -m mediaproto.server``); embed it with
:class:`LiveServer` and a :class:`Config`. Built on :mod:`mediaproto.aio`; everything
protocol-specific is the Sans-IO core.
"""

from .app import ListenError, LiveServer
from .config import Config, Limits
from .hub import Gate, Hub, Stream

__all__ = ["Config", "Gate", "Hub", "Limits", "ListenError", "LiveServer", "Stream"]
