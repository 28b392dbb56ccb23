"""The live server's configuration: one object, every option and every limit the server applies.

:class:`Config` is what ``mediaproto-server`` builds from its command line (``--help`` lists each
field); a program that embeds the server builds one itself and hands it to
:class:`~mediaproto.server.LiveServer`. :class:`Limits` gathers the bounds that protect the server
from slow or hostile peers; each one logs a line when it bites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace

__all__ = ["Config", "Limits", "PathConfig", "CATCH_ALL"]

#: Path names that match every path no other entry matched (MediaMTX's ``all_others``).
CATCH_ALL = ("all_others", "all")


@dataclass
class Limits:
    """Bounds the server applies to streams and peers (defaults in parentheses).

    - ``gop_frames`` (1500): frames the GOP cache of a stream keeps at most, so a stream without
      keyframes stays bounded (a late joiner starts at the last keyframe).
    - ``high_water`` (2 MiB): bytes waiting in a player's socket buffer past which it skips to the
      next keyframe;
    - ``drop_water`` (16 MiB): ... past which it is dropped;
    - ``slow_timeout`` (10 s): ... and so is a player that stays past ``high_water`` this long.
    - ``write_coalesce`` (0.02 s): how long an RTMP or RTSP player's frames may wait to be written
      together (merged writes, as SRS's ``mw_latency``): one write per player for the frames of
      that window instead of one per frame, about half the server's CPU per player; 0 writes at
      the end of every event-loop turn (lowest latency).
    - ``rtmp_idle_timeout`` (70 s): an RTMP connection silent this long is closed (a publisher that
      hangs without closing would hold its stream name forever; healthy peers answer our pings);
    - ``rtmp_ping_interval`` (30 s): seconds between our RTMP Ping Requests;
    - ``handshake_timeout`` (10 s): an RTMP connection that has not finished its handshake and its
      ``connect``, or an RTSP or HTTP connection that sent no complete request, after this long is
      closed (on every port, however slowly it keeps sending);
    - ``head_timeout`` (10 s): time allowed for one HTTP request head, or one RTSP message, from its
      first byte to its last, after the first request (a slowloris client is closed by
      ``handshake_timeout`` first, then by this);
    - ``http_idle_timeout`` (30 s): an HTTP keep-alive connection idle this long is closed, and so is
      a client that does not read its response this long;
    - ``http_max_head`` (16 KiB): the largest HTTP request head (431 past it);
    - ``rtsp_max_head`` (16 KiB): the largest RTSP message head (start line and headers; the
      connection is closed past it);
    - ``rtmp_max_command`` (64 KiB): the largest RTMP message without media (commands such as
      ``connect``, data such as ``onMetaData``, shared objects, control), refused from its chunk
      header before its body is buffered; audio and video keep the 10 MiB of ``rtmp.Limits``;
    - ``max_connections`` (2000): TCP connections held at once on each port (RTMP, RTSP, HTTP);
    - ``max_connections_per_address`` (256): TCP connections held at once from one client address,
      all ports together. A connection over either limit is closed as soon as it is accepted.
    - ``hls_blocking_timeout`` (10 s): how long an LL-HLS blocking playlist request waits;
    - ``hls_max_clients`` (10000): HLS client addresses remembered for the statistics.
    - ``hls_session_timeout`` (15 s): an HLS reader that requested nothing this long has left (its
      session's end is logged).
    - ``http_max_body`` (64 KiB): the largest request body (API calls), 413 past it.
    """

    gop_frames: int = 1500
    high_water: int = 2 * 1024 * 1024
    drop_water: int = 16 * 1024 * 1024
    slow_timeout: float = 10.0
    write_coalesce: float = 0.02
    rtmp_idle_timeout: float = 70.0
    rtmp_ping_interval: float = 30.0
    handshake_timeout: float = 10.0
    head_timeout: float = 10.0
    http_idle_timeout: float = 30.0
    http_max_head: int = 16 * 1024
    rtsp_max_head: int = 16 * 1024
    rtmp_max_command: int = 64 * 1024
    max_connections: int = 2000
    max_connections_per_address: int = 256
    hls_blocking_timeout: float = 10.0
    hls_max_clients: int = 10000
    hls_session_timeout: float = 15.0
    http_max_body: int = 64 * 1024


@dataclass
class PathConfig:
    """The settings of the paths one entry of ``[paths]`` matches (defaults in parentheses).

    An entry is named by the exact path (``live/cam``), by a regular expression after ``~``
    (``~^cams/``, searched in the path, as MediaMTX does), or ``all_others`` for every path no
    other entry matched. Exact names win, then expressions in the order of the file.

    - ``publish_user``, ``publish_pass``: credentials a publisher must give (RTMP: ``?user=U&pass=P``
      on the stream key; RTSP: Basic or Digest); ``publish_token``: or ``?token=T`` on the URL.
    - ``read_user``, ``read_pass``, ``read_token``: the same for players (RTMP, RTSP, HLS: HTTP
      Basic, or ``?user=U&pass=P`` / ``?token=T`` on the playlist URL for players that send no headers).
    - ``source`` (``"publisher"``): where the media comes from: a publisher, or an ``rtsp://`` or
      ``rtmp://`` URL pulled by the server (user and password may be in the URL);
      ``source_transport`` (``"tcp"``): ``"tcp"`` or ``"udp"`` for an RTSP source;
      ``source_on_demand`` (false): pull only while someone plays, starting with the first player and
      stopping ``source_on_demand_close_after`` (10 s) after the last one left;
      ``source_retry`` (1 s) .. ``source_retry_max`` (30 s): the reconnect backoff.
    - ``record`` (false): write the path to MPEG-TS files named by ``record_path`` (``%path`` is
      the path, then ``strftime`` fields; ``.ts`` is appended), ``record_segment`` (60 s) each;
      ``record_delete_after`` (86400 s; 0 keeps them) and ``record_max_bytes`` (0: no limit, else
      the newest files of the path that fit) bound what stays on disk.
    """

    publish_user: str | None = None
    publish_pass: str | None = None
    publish_token: str | None = None
    read_user: str | None = None
    read_pass: str | None = None
    read_token: str | None = None
    source: str = "publisher"
    source_transport: str = "tcp"
    source_on_demand: bool = False
    source_on_demand_close_after: float = 10.0
    source_retry: float = 1.0
    source_retry_max: float = 30.0
    record: bool = False
    record_path: str = "recordings/%path/%Y-%m-%d_%H-%M-%S-%f"
    record_segment: float = 60.0
    record_delete_after: float = 86400.0
    record_max_bytes: int = 0

    @property
    def pulled(self) -> bool:
        """Whether the server pulls the media from a URL (no publisher may take the path)."""
        return self.source != "publisher"


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
    #: The shared UDP port pair for RTSP over UDP (RTP even, RTCP the next one); with
    #: ``rtp_port=0`` any free pair (``rtcp_port`` is then ignored).
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
    #: What ``/live/<name>/index.m3u8`` serves: ``"ts"`` (MPEG-TS segments) or ``"fmp4"`` (fragmented
    #: MP4 with EXT-X-MAP); both are always at ``/live/<name>/ts.m3u8`` and ``/live/<name>/fmp4.m3u8``.
    hls_container: str = "ts"
    #: Publish the built-in test source as ``live/test``, at this size.
    test_source: bool = True
    test_size: tuple[int, int] = (320, 240)
    #: Log at debug level.
    verbose: bool = False
    limits: Limits = field(default_factory=Limits)
    #: Per-path settings by name or pattern (see :class:`PathConfig`); empty: every path is open,
    #: as if ``all_others`` had the defaults. When not empty, a path no entry matches is refused.
    paths: dict[str, PathConfig] = field(default_factory=dict)
    #: How long an RTMP ``play`` of a stream nobody publishes waits for a publisher before the
    #: player gets ``NetStream.Play.StreamNotFound`` (0: at once).
    rtmp_play_wait: float = 5.0
    #: Seconds between two log lines about refused credentials from the same address.
    auth_log_interval: float = 10.0
    #: When set, ``/api/v1/...`` and ``/metrics`` need ``Authorization: Bearer TOKEN`` or
    #: ``?token=TOKEN`` (the API can close sessions: set it when the HTTP port is reachable).
    api_token: str | None = None
    #: The configuration file this was read from, if any (for log lines).
    config_file: str | None = None

    def path(self, name: str) -> PathConfig | None:
        """The settings of path ``name`` (``None`` when the paths are listed and none matches),
        with the global ``token`` as the default ``publish_token``."""
        found = _match(self.paths, name) if self.paths else PathConfig()
        if found is not None and self.token is not None and found.publish_token is None:
            found = replace(found, publish_token=self.token)
        return found


def _match(paths: dict[str, PathConfig], name: str) -> PathConfig | None:
    exact = paths.get(name)
    if exact is not None and not name.startswith("~") and name not in CATCH_ALL:
        return exact
    for key, value in paths.items():
        if key.startswith("~") and _regex(key[1:]).search(name):
            return value
    for key in CATCH_ALL:
        if key in paths:
            return paths[key]
    return None


_REGEXES: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEXES.get(pattern)
    if compiled is None:
        if len(_REGEXES) > 1000:
            _REGEXES.clear()
        compiled = _REGEXES[pattern] = re.compile(pattern)
    return compiled


PATH_FIELDS = tuple(f.name for f in fields(PathConfig))
