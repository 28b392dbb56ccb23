"""The configuration of RTSP connections: one documented dataclass per endpoint (as aioquic's
``QuicConfiguration``).

::

    server = rtsp.ServerConnection(rtsp.ServerConfiguration(udp_ports=(8000, 8001), session_timeout=30))
    client = rtsp.ClientConnection("rtsp://cam/stream",
                                   configuration=rtsp.ClientConfiguration(transport="udp",
                                                                          udp_ports=[(5000, 5001)]))

What belongs to one session and not to the configuration (the client's URL, its mode and the
tracks it publishes) stays an argument of the connection. A configuration may be shared by many
connections: they only read it (``rng``, when given, is shared too).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .auth import DigestAuthenticator
from .message import Limits

__all__ = ["ServerConfiguration", "ClientConfiguration"]


@dataclass(kw_only=True)
class ServerConfiguration:
    """How a :class:`~mediaproto.rtsp.ServerConnection` behaves."""

    #: Bounds on what the client can make the parser hold (head, headers, body sizes; default
    #: ``Limits()``).
    limits: Limits = field(default_factory=Limits)
    #: Accept bare LF line endings from clients (default ``False``: CRLF only).
    lenient: bool = False
    #: Seconds of silence after which the session ends, also sent in the Session header
    #: (default 60).
    session_timeout: int = 60
    #: The ``Server`` header of our responses (default ``"mediaproto"``).
    server_name: str = "mediaproto"
    #: When set, every request but OPTIONS needs valid credentials (default ``None``: no
    #: authentication).
    authenticator: DigestAuthenticator | None = None
    #: User name -> password, for the authenticator (default empty).
    passwords: Mapping[str, str] = field(default_factory=dict)
    #: The server's (RTP, RTCP) UDP ports; without them (the default) UDP transport gets 461.
    udp_ports: tuple[int, int] | None = None
    #: The largest RTP packet sent, in bytes (default 1400).
    mtu: int = 1400
    #: The random source of session ids, SSRCs and initial sequence numbers (default ``None``: a
    #: ``random.SystemRandom``; inject a seeded ``random.Random`` in tests).
    rng: random.Random | None = None
    #: Reorder a publisher's UDP packets in a jitter buffer that waits this many seconds for a gap
    #: to fill (frames then also come out of ``handle_timer``); default ``None``: no reordering.
    jitter_latency: float | None = None
    #: Seconds the first received frames wait for the sender reports (or RTP-Info) that align
    #: the tracks before they are placed by arrival (default 5: RFC 3550's first report interval
    #: is up to 3.75 s; FFmpeg sends its first SR with its first packet).
    sync_wait: float = 5.0
    #: Seconds added to the caller's ``now`` for the wall-clock time written into our RTCP NTP
    #: fields (default 0: the caller's monotonic clock; peers only compare differences). A caller
    #: that wants Unix time passes ``time.time() - now`` once.
    wallclock_offset: float = 0.0


@dataclass(kw_only=True)
class ClientConfiguration:
    """How a :class:`~mediaproto.rtsp.ClientConnection` behaves."""

    #: Bounds on what the server can make the parser hold (head, headers, body sizes; default
    #: ``Limits()``).
    limits: Limits = field(default_factory=Limits)
    #: Accept bare LF line endings from servers (default ``True``: some cameras send them).
    lenient: bool = True
    #: ``"tcp"`` (interleaved on the RTSP connection, the default) or ``"udp"``.
    transport: str = "tcp"
    #: With UDP, the caller's bound (RTP, RTCP) port pair for each track (default none).
    udp_ports: Sequence[tuple[int, int]] = ()
    #: The user name for Basic/Digest authentication (default ``None``: the URL's, if any).
    username: str | None = None
    #: The password (default ``None``: the URL's, if any).
    password: str | None = None
    #: The ``User-Agent`` header of our requests (default ``"mediaproto"``).
    user_agent: str = "mediaproto"
    #: The ``Scale`` to ask for in PLAY (default ``None``: none).
    scale: float | None = None
    #: The largest RTP packet sent when publishing, in bytes (default 1400).
    mtu: int = 1400
    #: The random source of SSRCs, sequence numbers and cnonces (default ``None``: a
    #: ``random.SystemRandom``; inject a seeded ``random.Random`` in tests).
    rng: random.Random | None = None
    #: With UDP, reorder packets in a jitter buffer that waits this many seconds for a gap to fill
    #: (frames then also come out of ``handle_timer``); default ``None``: no reordering.
    jitter_latency: float | None = None
    #: Seconds the first received frames wait for the sender reports (or RTP-Info) that align
    #: the tracks before they are placed by arrival (default 5: RFC 3550's first report interval
    #: is up to 3.75 s; FFmpeg sends its first SR with its first packet).
    sync_wait: float = 5.0
    #: Seconds added to the caller's ``now`` for the wall-clock time written into our RTCP NTP
    #: fields (default 0: the caller's monotonic clock; peers only compare differences). A caller
    #: that wants Unix time passes ``time.time() - now`` once.
    wallclock_offset: float = 0.0
