"""Who may publish and who may read each path, for every protocol.

A path's :class:`~mediaproto.server.config.PathConfig` names the credentials of each direction
(``publish_user``/``publish_pass``/``publish_token``, ``read_...``); a request passes when it
carries the user and password, or the token, of its direction (a direction with neither is open).
How each protocol carries them:

- RTMP: query parameters on the stream key, ``rtmp://host/live/cam?user=U&pass=P`` or ``?token=T``;
- RTSP: ``Authorization`` Basic or Digest (RFC 7616, MD5 and SHA-256; nonces expire and a
  replayed ``nc`` is refused: :class:`mediaproto.rtsp.DigestAuthenticator`), or ``?token=T`` on the
  URL;
- HTTP (HLS): ``Authorization: Basic``, or ``?user=U&pass=P`` / ``?token=T`` on the playlist URL
  for players that cannot send headers (the playlist's URIs keep the query).

Secrets are compared with :func:`hmac.compare_digest`, and an unknown user costs the same work as
a known one. Refusals are logged with the client address, at most once per
``Config.auth_log_interval`` seconds per address and reason (the lines in between are counted).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qsl

from ..rtsp import DigestAuthenticator
from .config import PathConfig

__all__ = ["Action", "Verdict", "Authorizer", "RateLimitedLog", "query_params"]

log = logging.getLogger("mediaproto.server.auth")

_DUMMY = "\x00" * 16


class Action(Enum):
    """The two directions of a path."""

    PUBLISH = "publish"
    READ = "read"


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on: ``ok``; else ``missing`` (no credentials were given: ask for
    them, 401) or wrong ones (403, or 401 again for RTSP), and ``reason`` for the log."""

    ok: bool
    missing: bool = False
    reason: str = ""
    user: str | None = None


OK = Verdict(True)


def query_params(query: str) -> dict[str, str]:
    """The parameters of a URL query (the first of each name)."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        out.setdefault(k, v)
    return out


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class RateLimitedLog:
    """Warnings keyed by (address, reason), at most one per ``interval`` seconds each; the lines
    held back are counted in the next one. Remembers at most ``capacity`` keys."""

    def __init__(self, interval: float, capacity: int = 4096) -> None:
        self.interval = interval
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
        #: Refusals counted since the start (also those not logged), by (protocol, reason).
        self.counts: dict[tuple[str, str], int] = {}

    def refused(self, protocol: str, address: str, path: str, reason: str, now: float, *,
                level: int = logging.WARNING) -> None:
        """Count (and maybe log, at ``level``) a refusal."""
        self.counts[(protocol, reason)] = self.counts.get((protocol, reason), 0) + 1
        if not log.isEnabledFor(level):
            return
        key = (address, reason)
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.interval:
            self._seen[key] = (last[0], last[1] + 1)
            return
        held = last[1] if last is not None else 0
        self._seen[key] = (now, 0)
        self._seen.move_to_end(key)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        more = f" ({held} more since the last line)" if held else ""
        log.log(level, "%s %s: refused %s: %s%s", protocol, address, path, reason, more)


class Authorizer:
    """Checks credentials for every protocol (one per server)."""

    def __init__(self, *, log_interval: float = 10.0, nonce_lifetime: float = 300.0,
                 secret: bytes | None = None) -> None:
        # SHA-256 first, MD5 last: FFmpeg keeps the last Digest challenge it reads and answers only MD5
        self.digest = DigestAuthenticator("mediaproto", secret or secrets.token_bytes(32),
                                          algorithms=("SHA-256", "MD5"), nonce_lifetime=nonce_lifetime,
                                          allow_basic=True)
        self.refusals = RateLimitedLog(log_interval)

    @staticmethod
    def required(path: PathConfig, action: Action) -> bool:
        """Whether ``action`` on ``path`` needs credentials."""
        who = action.value
        return getattr(path, f"{who}_user") is not None or getattr(path, f"{who}_token") is not None

    @staticmethod
    def _expected(path: PathConfig, action: Action) -> tuple[str | None, str | None, str | None]:
        who = action.value
        return getattr(path, f"{who}_user"), getattr(path, f"{who}_pass"), getattr(path, f"{who}_token")

    def check_query(self, path: PathConfig, action: Action, query: str) -> Verdict:
        """RTMP and HTTP: ``user``/``pass`` or ``token`` among the query parameters."""
        if not self.required(path, action):
            return OK
        return self._check_params(path, action, query_params(query))

    def _check_params(self, path: PathConfig, action: Action, params: dict[str, str]) -> Verdict:
        user, password, token = self._expected(path, action)
        given_token, given_user = params.get("token"), params.get("user")
        if given_token is None and given_user is None:
            return Verdict(False, True, "no credentials")
        ok = False
        if given_token is not None:
            ok = _same(given_token, token if token is not None else _DUMMY) and token is not None
        if given_user is not None:
            ok_user = _same(given_user, user if user is not None else _DUMMY)
            ok_pass = _same(params.get("pass", ""), password if password is not None else _DUMMY)
            ok = ok or (ok_user and ok_pass and user is not None)
        return OK if ok else Verdict(False, False, "wrong credentials", given_user)

    def check_http(self, path: PathConfig, action: Action, authorization: str | None, query: str) -> Verdict:
        """HTTP: ``Authorization: Basic`` (or ``Bearer TOKEN``), else the query."""
        if not self.required(path, action):
            return OK
        if authorization:
            scheme, _, rest = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                return self._check_params(path, action, {"token": rest.strip()})
            if scheme.lower() == "basic":
                try:
                    user, sep, password = base64.b64decode(rest.strip(), validate=True).decode("utf-8").partition(":")
                except (binascii.Error, ValueError):
                    return Verdict(False, False, "malformed Basic credentials")
                if sep:
                    return self._check_params(path, action, {"user": user, "pass": password})
        return self.check_query(path, action, query)

    def check_rtsp(self, path: PathConfig, action: Action, method: str, authorization: str | None,
                   query: str, now: float) -> tuple[Verdict, list[str]]:
        """RTSP: a token in the URL's query, or Basic or Digest; on refusal, the
        ``WWW-Authenticate`` values to send with the 401 (``stale=true`` for an expired nonce)."""
        if not self.required(path, action):
            return OK, []
        user, password, _ = self._expected(path, action)
        if "token=" in query:
            verdict = self.check_query(path, action, query)
            if verdict.ok or user is None:
                return verdict, []
        if user is None:
            return Verdict(False, True, "no token"), []
        if not authorization:
            return Verdict(False, True, "no credentials"), self.digest.challenges(now)
        result = self.digest.verify(method, authorization, {user: password or ""}, now)
        if result.ok:
            return OK, []
        reason = "stale nonce" if result.stale else ("replayed nonce count" if result.replayed else "wrong credentials")
        return Verdict(False, result.stale, reason, result.username), self.digest.challenges(now, stale=result.stale)
