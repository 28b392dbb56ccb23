"""The live server's configuration: one object, every option and every limit the server applies.

:class:`Config` is what ``mediaproto-server`` builds from its command line (``--help`` lists each
field); a program that embeds the server builds one itself and hands it to
:class:`~mediaproto.server.LiveServer`. :class:`Limits` gathers the bounds that protect the server
from slow or hostile peers; each one logs a line when it bites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Config", "Limits"]


@dataclass
class Limits:
    """Bounds the server applies to streams and peers (defaults in parentheses).

    - ``gop_frames`` (1500): frames the GOP cache of a stream keeps at most, so a stream without
      keyframes stays bounded (a late joiner starts at the last keyframe).
    - ``high_water`` (2 MiB): bytes waiting in a player's socket buffer past which it skips to the
      next keyframe;
    - ``drop_water`` (16 MiB): ... past which it is dropped;
    - ``slow_timeout`` (10 s): ... and so is a player that stays past ``high_water`` this long.
    - ``rtmp_idle_timeout`` (70 s): an RTMP connection silent this long is closed (a publisher that
      hangs without closing would hold its stream name forever; healthy peers answer our pings);
    - ``rtmp_ping_interval`` (30 s): seconds between our RTMP Ping Requests;
    - ``handshake_timeout`` (10 s): an RTMP connection that has not finished its handshake, or an
      RTSP or HTTP connection that sent no complete request, after this long is closed;
    - ``http_idle_timeout`` (30 s): an HTTP keep-alive connection idle this long is closed, and so is
      a client that does not read its response this long;
    - ``http_max_head`` (16 KiB): the largest HTTP request head (431 past it);
    - ``hls_blocking_timeout`` (10 s): how long an LL-HLS blocking playlist request waits;
    - ``hls_max_clients`` (10000): HLS client addresses remembered for the statistics.
    """

    gop_frames: int = 1500
    high_water: int = 2 * 1024 * 1024
    drop_water: int = 16 * 1024 * 1024
    slow_timeout: float = 10.0
    rtmp_idle_timeout: float = 70.0
    rtmp_ping_interval: float = 30.0
    handshake_timeout: float = 10.0
    http_idle_timeout: float = 30.0
    http_max_head: int = 16 * 1024
    hls_blocking_timeout: float = 10.0
    hls_max_clients: int = 10000


@dataclass
class Config:
    """What the server listens on and serves (``mediaproto-server --help`` names the same options).

    Ports of 0 mean any free port (tests); the ports taken are in ``LiveServer.ports``.
    """

    #: Address every listener binds.
    host: str = "127.0.0.1"
    rtmp_port: int = 1935
    http_port: int = 8080
    rtsp_port: int = 8554
    #: The shared UDP port pair for RTSP over UDP (RTP even, RTCP the next one).
    rtp_port: int = 8000
    rtcp_port: int = 8001
    #: Publishers must add ``?token=TOKEN`` to the stream key (RTMP) or the URL (RTSP).
    token: str | None = None
    #: RTSP Digest authentication for every RTSP request, with this user and password.
    rtsp_user: str | None = None
    rtsp_password: str | None = None
    #: HLS target segment duration (seconds) and number of segments in the live playlist.
    hls_segment: float = 1.0
    hls_window: int = 6
    #: Low-latency HLS: partial segments of ``part_target`` seconds and blocking playlist reloads.
    ll_hls: bool = False
    part_target: float = 0.2
    #: Publish the built-in test source as ``live/test``, at this size.
    test_source: bool = True
    test_size: tuple[int, int] = (320, 240)
    #: Log at debug level.
    verbose: bool = False
    limits: Limits = field(default_factory=Limits)
