"""What every protocol handler of the server shares: the hub, the configuration, the
authorizer, the session registry and the on-demand hook of pulled sources."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from .auth import Authorizer
from .config import Config, PathConfig
from .guard import ConnectionGuard
from .hub import Hub
from .sessions import Sessions

__all__ = ["ServerContext", "stream_path"]


def stream_path(app: str, key: str) -> tuple[str, str]:
    """The path and query of an RTMP ``app`` and stream ``key``: ``("live", "cam?x=1")`` ->
    ``("live/cam", "x=1")``; ``rtmp://host/mine`` (key empty) is ``mine``, not ``mine/``."""
    app, _, app_query = app.partition("?")
    key, _, key_query = key.partition("?")
    path = "/".join(p for p in (*app.split("/"), *key.split("/")) if p)
    query = "&".join(q for q in (app_query, key_query) if q)
    return path, query


@dataclass
class ServerContext:
    """The server's shared state, handed to each session."""

    config: Config
    hub: Hub
    auth: Authorizer = field(default_factory=Authorizer)
    sessions: Sessions = field(default_factory=Sessions)
    #: Called with a path a reader asks for (starts an on-demand source).
    demand: Callable[[str], None] = lambda path: None
    clock: Callable[[], float] = time.monotonic
    #: The connection limits of every port (and the rate-limited log of their refusals).
    guard: ConnectionGuard | None = None

    def path(self, name: str) -> PathConfig | None:
        """The settings of path ``name`` (``None``: not configured)."""
        return self.config.path(name)

    def refuse(self, protocol: str, remote: str, path: str, reason: str, *, level: int = logging.WARNING) -> None:
        """Count and (rate-limited) log a refused request."""
        self.auth.refusals.refused(protocol, remote, path, reason, self.clock(), level=level)
