"""The server's HTTP API (JSON)::

    GET  /api/v1/paths                    every configured or live path: source, tracks (codec,
                                          resolution, bitrate), readers per protocol, bytes
    GET  /api/v1/sessions                 every open session (protocol, role, path, remote
                                          address, duration, bytes in and out, frames dropped)
    POST /api/v1/sessions/<id>/kick       close a session (RTMP and RTSP; 404 when unknown)
    GET  /api/streams                     the live streams, as before (kept for old scripts:
                                          /api/v1/paths replaces it)

:class:`TrackMeter` follows every stream (like the HLS output) and measures each track's bitrate.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from ..media import Frame
from .context import ServerContext
from .hub import Stream

__all__ = ["TrackMeter", "Api", "WINDOW"]

#: Bitrates are averaged over this many seconds.
WINDOW = 5.0


class TrackMeter:
    """A passive output that measures the bitrate of each track of a stream."""

    passive = True

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.recent: dict[int, deque[tuple[float, int]]] = {}

    def on_tracks(self, stream: Stream) -> None:
        self.recent = {tid: self.recent.get(tid, deque()) for tid in stream.tracks}

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        now = self.clock()
        queue = self.recent.get(frame.track_id)
        if queue is None:
            queue = self.recent[frame.track_id] = deque()
        queue.append((now, frame.size))
        while queue and queue[0][0] < now - WINDOW:
            queue.popleft()

    def on_end(self, stream: Stream) -> None:
        self.recent = {}

    def bitrate(self, track_id: int) -> int:
        """Bits per second of ``track_id`` over the last :data:`WINDOW` seconds."""
        queue = self.recent.get(track_id)
        now = self.clock()
        if not queue:
            return 0
        span = min(WINDOW, max(now - queue[0][0], 1.0))
        return round(8 * sum(size for t, size in queue if t >= now - WINDOW) / span)


class Api:
    """Builds the API's answers from the server's state."""

    def __init__(self, context: ServerContext, meters: dict[str, TrackMeter]) -> None:
        self.context = context
        self.meters = meters

    def readers(self, path: str) -> dict[str, int]:
        out = {"rtmp": 0, "rtsp": 0, "hls": 0}
        for s in self.context.sessions.open_sessions.values():
            if s.path == path and s.role == "read":
                out[s.protocol] = out.get(s.protocol, 0) + 1
        return out

    def tracks(self, stream: Stream) -> list[dict[str, Any]]:
        meter = self.meters.get(stream.name)
        return [{"id": t.id, "codec": t.codec.value, "kind": "video" if t.codec.is_video else "audio",
                 "width": t.width, "height": t.height, "sample_rate": t.sample_rate, "channels": t.channels,
                 "bitrate": meter.bitrate(t.id) if meter is not None else 0} for t in stream.track_list]

    def paths(self) -> dict[str, Any]:
        """``/api/v1/paths``."""
        now = self.context.clock()
        items = []
        names = [n for n, s in self.context.hub.streams.items() if s.live or s.started_at is not None]
        names += [n for n in self.context.config.paths if not n.startswith("~") and n not in ("all", "all_others")
                  and n not in names]
        for name in sorted(names):
            stream = self.context.hub.streams.get(name)
            settings = self.context.path(name)
            sessions = [s for s in self.context.sessions.open_sessions.values() if s.path == name]
            b_in = sum(s.stats()[0] for s in sessions if s.role == "publish")
            b_out = sum(s.stats()[1] for s in sessions if s.role == "read")
            items.append({
                "name": name,
                "source": settings.source if settings is not None else None,
                "on_demand": settings.source_on_demand if settings is not None else False,
                "record": settings.record if settings is not None else False,
                "ready": bool(stream is not None and stream.live),
                "publisher": stream.publisher if stream is not None else None,
                "tracks": self.tracks(stream) if stream is not None and stream.live else [],
                "readers": self.readers(name),
                "bitrate": round(stream.bitrate(now)) if stream is not None and stream.live else 0,
                "frames": stream.frames_in if stream is not None else 0,
                "frames_skipped": stream.frames_skipped if stream is not None else 0,
                "bytes_received": b_in,
                "bytes_sent": b_out,
            })
        return {"paths": items}

    def sessions(self) -> dict[str, Any]:
        """``/api/v1/sessions``."""
        now = self.context.clock()
        return {"sessions": [s.as_dict(now) for s in self.context.sessions.open_sessions.values()]}

    def kick(self, sid: str) -> tuple[int, dict[str, Any]]:
        """``POST /api/v1/sessions/<id>/kick``."""
        session = self.context.sessions.open_sessions.get(sid)
        if session is None:
            return 404, {"error": f"no session {sid}"}
        if not self.context.sessions.kick(sid):
            return 409, {"error": f"a {session.protocol} session cannot be kicked"}
        return 200, {"kicked": sid}

    def streams(self, ports: dict[str, int]) -> dict[str, Any]:
        """``/api/streams`` (the old statistics; HLS readers counted per stream)."""
        now = self.context.clock()
        streams = []
        for stream in self.context.hub.streams.values():
            if not stream.live:
                continue
            readers = self.readers(stream.name)
            started = stream.started_at or now
            streams.append({
                "name": stream.name,
                "publisher": stream.publisher,
                "tracks": self.tracks(stream),
                "players": {"rtmp": readers["rtmp"], "rtsp": readers["rtsp"], "hls_clients": readers["hls"]},
                "bitrate": round(stream.bitrate(now)),
                "frames": stream.frames_in,
                "frames_skipped": stream.frames_skipped,
                "players_dropped": stream.players_dropped,
                "uptime": round(now - started, 3),
            })
        return {"streams": streams, "ports": ports}
