"""The configuration of RTMP sessions: one documented dataclass per endpoint (as aioquic's
``QuicConfiguration``).

::

    conn = rtmp.ServerConnection(rtmp.ServerConfiguration(chunk_size=60000, ping_interval=30.0))
    client = rtmp.ClientConnection("live", "rtmp://host/live",
                                   configuration=rtmp.ClientConfiguration(digest_handshake=False))

What belongs to one session and not to the configuration (the client's ``app`` and ``tc_url``)
stays an argument of the connection. A configuration may be shared by many connections: they
only read it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from .limits import Limits

__all__ = ["ServerConfiguration", "ClientConfiguration", "DEFAULT_WINDOW"]

#: The acknowledgement window and peer bandwidth we announce (as FFmpeg and nginx-rtmp).
DEFAULT_WINDOW = 2500000


@dataclass(kw_only=True)
class ServerConfiguration:
    """How a :class:`~mediaproto.rtmp.ServerConnection` behaves."""

    #: Bounds on what the peer can make us buffer (chunk streams, message size, AMF, streams;
    #: default ``Limits()``).
    limits: Limits = field(default_factory=Limits)
    #: Our outgoing chunk size, announced when the connect is accepted (1 .. 2**31-1; default 4096).
    chunk_size: int = 4096
    #: Seconds between our Ping Requests, counted from the first ``now`` the connection sees;
    #: ``None`` (the default) for no pings.
    ping_interval: float | None = None
    #: The random source of the handshake (default :func:`os.urandom`; inject one in tests).
    random_bytes: Callable[[int], bytes] = os.urandom
    #: The acknowledgement window and peer bandwidth we announce (default 2,500,000 bytes).
    window_ack_size: int = DEFAULT_WINDOW


@dataclass(kw_only=True)
class ClientConfiguration:
    """How a :class:`~mediaproto.rtmp.ClientConnection` behaves."""

    #: Bounds on what the peer can make us buffer (chunk streams, message size, AMF, streams;
    #: default ``Limits()``).
    limits: Limits = field(default_factory=Limits)
    #: Our outgoing chunk size, announced after the handshake (1 .. 2**31-1; default 4096).
    chunk_size: int = 4096
    #: Seconds between our Ping Requests, counted from the first ``now`` the connection sees;
    #: ``None`` (the default) for no pings.
    ping_interval: float | None = None
    #: The random source of the handshake (default :func:`os.urandom`; inject one in tests).
    random_bytes: Callable[[int], bytes] = os.urandom
    #: The ``flashVer`` property of ``connect`` (default ``"FMLE/3.0 (compatible; mediaproto)"``,
    #: which servers treat as an encoder).
    flash_ver: str = "FMLE/3.0 (compatible; mediaproto)"
    #: Use the digest (Flash Player 9) handshake (default ``True``); ``False`` for the simple one.
    digest_handshake: bool = True
    #: Extra properties of the connect command object (default none).
    connect_properties: dict[str, Any] = field(default_factory=dict)
    #: The buffer length in milliseconds we announce when playing (default 3000).
    buffer_length: int = 3000
