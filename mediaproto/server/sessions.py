"""Every session of the server (a publisher, a player, an HLS reader, a pulled source), for the
log, the metrics and the API.

A protocol handler calls :meth:`Sessions.open` when a session starts on a path and
:meth:`Sessions.close` when it ends; each logs one line::

    session 3f2a: start rtmp read live/cam from 127.0.0.1:50312
    session 3f2a: end rtmp read live/cam from 127.0.0.1:50312 after 12.4 s: 41231 bytes in, 2310482 out, 0 frames dropped (closed by the peer)

Byte counts come from the connection's driver (``bytes_received``/``bytes_sent``) or, for HLS,
from what the HTTP server sent; the totals of closed sessions stay in :attr:`Sessions.totals`
(per path and protocol) for the counters of ``/metrics``. :meth:`Sessions.kick` closes a session.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Session", "Sessions"]

log = logging.getLogger("mediaproto.server.sessions")


@dataclass(eq=False)
class Session:
    """One session: ``role`` is ``"publish"`` (also a pulled source) or ``"read"``."""

    id: str
    protocol: str
    role: str
    path: str
    remote: str
    started: float
    started_wall: float
    #: Live counters of the connection (bytes in, bytes out, frames dropped).
    counters: Callable[[], tuple[int, int, int]] = lambda: (0, 0, 0)
    #: Closes the session (the API's kick); ``None`` when it cannot be closed from here.
    closer: Callable[[], None] | None = None
    #: Extra counts kept by the owner (HLS bytes sent).
    bytes_out: int = 0
    closed: bool = False
    reason: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def stats(self) -> tuple[int, int, int]:
        b_in, b_out, dropped = self.counters()
        return b_in, b_out + self.bytes_out, dropped

    def as_dict(self, now: float) -> dict[str, object]:
        b_in, b_out, dropped = self.stats()
        return {"id": self.id, "protocol": self.protocol, "role": self.role, "path": self.path,
                "remote": self.remote, "started": round(self.started_wall, 3),
                "duration": round(now - self.started, 3), "bytes_received": b_in, "bytes_sent": b_out,
                "frames_dropped": dropped, **self.extra}


class Sessions:
    """The open sessions by id, and the totals of the closed ones."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.open_sessions: dict[str, Session] = {}
        #: (path, protocol) -> [bytes received, bytes sent, frames dropped] of closed sessions.
        self.totals: dict[tuple[str, str], list[int]] = {}
        #: (protocol, role) -> sessions started since the server started.
        self.started: dict[tuple[str, str], int] = {}
        #: Called with the path whenever a session opens or closes there (on-demand sources).
        self.on_change: list[Callable[[str], None]] = []

    def open(self, protocol: str, role: str, path: str, remote: str, *,
             counters: Callable[[], tuple[int, int, int]] | None = None,
             closer: Callable[[], None] | None = None) -> Session:
        """Register a session and log its start."""
        sid = secrets.token_hex(4)
        while sid in self.open_sessions:
            sid = secrets.token_hex(4)
        session = Session(sid, protocol, role, path, remote, self.clock(), time.time(),
                          counters or (lambda: (0, 0, 0)), closer)
        self.open_sessions[sid] = session
        key = (protocol, role)
        self.started[key] = self.started.get(key, 0) + 1
        log.info("session %s: start %s %s %s from %s", sid, protocol, role, path, remote)
        self._changed(path)
        return session

    def close(self, session: Session, reason: str = "") -> None:
        """Log the end of ``session`` and add its counts to the totals (once)."""
        if session.closed:
            return
        session.closed = True
        self.open_sessions.pop(session.id, None)
        b_in, b_out, dropped = session.stats()
        total = self.totals.setdefault((session.path, session.protocol), [0, 0, 0])
        total[0] += b_in
        total[1] += b_out
        total[2] += dropped
        why = session.reason or reason  # "kicked" tells more than the close that followed
        log.info("session %s: end %s %s %s from %s after %.1f s: %d bytes in, %d out, %d frames dropped%s",
                 session.id, session.protocol, session.role, session.path, session.remote,
                 self.clock() - session.started, b_in, b_out, dropped, f" ({why})" if why else "")
        self._changed(session.path)

    def kick(self, sid: str) -> bool:
        """Close session ``sid``; False when there is none or it cannot be closed."""
        session = self.open_sessions.get(sid)
        if session is None or session.closer is None:
            return False
        session.reason = "kicked"
        log.info("session %s: kicked", sid)
        session.closer()
        return True

    def readers(self, path: str) -> int:
        """Open reading sessions of ``path``."""
        return sum(1 for s in self.open_sessions.values() if s.path == path and s.role == "read")

    def count(self) -> dict[tuple[str, str, str], int]:
        """(path, protocol, role) -> open sessions."""
        out: dict[tuple[str, str, str], int] = {}
        for s in self.open_sessions.values():
            key = (s.path, s.protocol, s.role)
            out[key] = out.get(key, 0) + 1
        return out

    def _changed(self, path: str) -> None:
        for callback in list(self.on_change):
            callback(path)
