"""RTSP authentication: Basic (RFC 7617) and Digest (RFC 7616) for clients and servers.

Client side: parse the server's ``WWW-Authenticate`` challenges with :func:`parse_challenges`, pick
one with :func:`choose_challenge` (SHA-256 over MD5 over Basic) and answer with
:func:`authorization`. Server side: :class:`DigestAuthenticator` issues nonces that carry their own
time and an HMAC (so nothing is stored per client and a stale nonce is told from a forged one) and
verifies answers with a constant-time comparison.

Real peers: FFmpeg only answers MD5, so a server should never offer SHA-256 alone; digest ``uri``
values may be the base URL, lack a trailing slash, or be relative — the authenticator checks the
response against the ``uri`` the client put in its own header, as RFC 7616 section 3.4.6 allows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections import OrderedDict
from dataclasses import dataclass

from ..errors import LocalProtocolError, ParseError

__all__ = [
    "Challenge",
    "parse_challenges",
    "choose_challenge",
    "parse_auth_params",
    "authorization",
    "basic_authorization",
    "AuthResult",
    "DigestAuthenticator",
]

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')
_HASHES = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-256-SESS": hashlib.sha256}


def parse_auth_params(text: str) -> dict[str, str]:
    """Parse ``name=value, name="quoted, value"`` auth parameters (names lower-cased)."""
    params: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _PARAM.match(text, pos)
        if m is None or m.end() == pos:
            raise ParseError(f"malformed auth parameters {text[:80]!r}")
        value = m[2]
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[m[1].lower()] = value
        pos = m.end()
    return params


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: ``scheme`` is ``Basic`` or ``Digest``."""

    scheme: str
    realm: str = ""
    nonce: str = ""
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    def __str__(self) -> str:
        if self.scheme == "Basic":
            return f'Basic realm="{self.realm}"'
        text = f'Digest realm="{self.realm}", nonce="{self.nonce}", algorithm={self.algorithm}'
        if self.qop:
            text += f', qop="{",".join(self.qop)}"'
        if self.opaque is not None:
            text += f', opaque="{self.opaque}"'
        if self.stale:
            text += ", stale=true"
        return text


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Parse the ``WWW-Authenticate`` header values of a 401 response (one challenge each)."""
    out = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() == "basic":
            out.append(Challenge("Basic", parse_auth_params(rest).get("realm", "")))
        elif scheme.lower() == "digest":
            p = parse_auth_params(rest)
            if "nonce" not in p:
                raise ParseError("Digest challenge without a nonce")
            algorithm = p.get("algorithm", "MD5").upper()
            qop = tuple(q.strip() for q in p.get("qop", "").split(",") if q.strip())
            out.append(Challenge("Digest", p.get("realm", ""), p["nonce"], algorithm, qop, p.get("opaque"),
                                 p.get("stale", "").lower() == "true"))
    return out


def choose_challenge(challenges: list[Challenge]) -> Challenge | None:
    """The strongest challenge we can answer: Digest SHA-256, then Digest MD5, then Basic."""
    for wanted in ("SHA-256", "SHA-256-SESS", "MD5", "MD5-SESS"):
        for c in challenges:
            if c.scheme == "Digest" and c.algorithm == wanted:
                return c
    for c in challenges:
        if c.scheme == "Basic":
            return c
    return None


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


def _digest_response(algorithm: str, username: str, realm: str, password: str, method: str, uri: str,
                     nonce: str, qop: str | None, nc: str, cnonce: str) -> str:
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def basic_authorization(username: str, password: str) -> str:
    """An ``Authorization`` value for Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")


def authorization(challenge: Challenge, method: str, uri: str, username: str, password: str, *,
                  cnonce: str = "0a4f113b", nc: int = 1) -> str:
    """The ``Authorization`` header value answering ``challenge`` for a request.

    ``cnonce`` should be fresh random hex for each new nonce (the caller injects it: the core
    holds no random source); ``nc`` counts requests made with the same nonce.
    """
    if challenge.scheme == "Basic":
        return basic_authorization(username, password)
    if challenge.algorithm not in _HASHES:
        raise LocalProtocolError(f"unsupported digest algorithm {challenge.algorithm}")
    qop = "auth" if "auth" in challenge.qop else None
    if challenge.qop and qop is None:
        raise LocalProtocolError(f"server offers only qop {challenge.qop}, we support auth")
    nc_text = f"{nc:08x}"
    response = _digest_response(challenge.algorithm, username, challenge.realm, password, method, uri,
                                challenge.nonce, qop, nc_text, cnonce)
    parts = [f'username="{username}"', f'realm="{challenge.realm}"', f'nonce="{challenge.nonce}"',
             f'uri="{uri}"', f'response="{response}"', f"algorithm={challenge.algorithm}"]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)


@dataclass(frozen=True)
class AuthResult:
    """The outcome of checking an ``Authorization`` header.

    ``ok`` when accepted; ``stale`` when the answer was right but for an expired nonce (answer
    401 with ``stale=true`` so the client retries without asking its user); ``username`` as sent;
    ``replayed`` when the nonce count did not grow.
    """

    ok: bool
    username: str | None = None
    stale: bool = False
    #: The answer was right but its ``nc`` was not above the last one seen for its nonce (a
    #: captured request played again): refuse it.
    replayed: bool = False


class DigestAuthenticator:
    """Server side of Digest (and optionally Basic) authentication.

    :param realm: the protection space shown to users.
    :param secret: a key only this server knows (the caller makes it with ``secrets.token_bytes``);
        nonces are ``<time>:<HMAC(secret, time)>`` so they need no storage.
    :param algorithms: the digest algorithms offered, strongest first. Keep ``MD5`` in the list:
        FFmpeg answers nothing else.
    :param nonce_lifetime: seconds after which a nonce is stale.
    :param allow_basic: also offer and accept Basic (only sensible over TLS).
    :param max_nonces: nonces whose counts are remembered (see below).

    Replays: with ``qop=auth`` each answer carries a nonce count ``nc`` that must grow with every
    request made with the same nonce (RFC 7616 section 3.4); the authenticator remembers the highest
    count seen per nonce, for the ``max_nonces`` most recently used nonces. A nonce forgotten to make
    room is treated as stale from then on (the client gets ``stale=true`` and a new nonce), so a
    replay never passes for lack of memory. Answers without ``qop`` (RFC 2069 style, as GStreamer
    sends) cannot be told from replays while their nonce lives: ``require_qop=True`` refuses them.
    An unknown user name costs the same hashing and comparison as a known one.
    """

    def __init__(self, realm: str, secret: bytes, *, algorithms: tuple[str, ...] = ("MD5",),
                 nonce_lifetime: float = 300.0, allow_basic: bool = False, max_nonces: int = 4096,
                 require_qop: bool = False) -> None:
        for a in algorithms:
            if a not in _HASHES or a.endswith("-SESS"):
                raise LocalProtocolError(f"unsupported digest algorithm {a}")
        if not secret:
            raise LocalProtocolError("the nonce secret must not be empty")
        self.realm = realm
        self.algorithms = algorithms
        self.nonce_lifetime = nonce_lifetime
        self.allow_basic = allow_basic
        self.max_nonces = max_nonces
        self.require_qop = require_qop
        self._secret = secret
        #: nonce -> the highest nc seen, least recently used first (bounded by max_nonces).
        self._counts: OrderedDict[str, int] = OrderedDict()
        #: Nonces issued at or before this time were forgotten to make room: they are stale.
        self._forgotten_until = float("-inf")

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def nonce(self, now: float) -> str:
        """A fresh nonce for time ``now``."""
        stamp = f"{now:.6f}"
        return f"{stamp}:{self._sign(stamp)}"

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """The ``WWW-Authenticate`` values for a 401 response (one header each)."""
        nonce = self.nonce(now)
        out = [str(Challenge("Digest", self.realm, nonce, a, ("auth",), None, stale)) for a in self.algorithms]
        if self.allow_basic:
            out.append(str(Challenge("Basic", self.realm)))
        return out

    def verify(self, method: str, header: str | None, passwords: dict[str, str], now: float) -> AuthResult:
        """Check an ``Authorization`` header value against the known ``passwords`` (user -> password).

        Never raises for a bad header: anything malformed is simply not accepted.
        """
        if not header:
            return AuthResult(False)
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() == "basic":
            return self._verify_basic(rest, passwords)
        if scheme.lower() != "digest":
            return AuthResult(False)
        try:
            p = parse_auth_params(rest)
        except ParseError:
            return AuthResult(False)
        username = p.get("username")
        algorithm = p.get("algorithm", "MD5").upper()
        nonce, uri, response = p.get("nonce", ""), p.get("uri"), p.get("response", "")
        if username is None or uri is None or algorithm not in self.algorithms or p.get("realm") != self.realm:
            return AuthResult(False, username)
        stamp, _, signature = nonce.partition(":")
        if not hmac.compare_digest(signature.encode(), self._sign(stamp).encode()):
            return AuthResult(False, username)
        qop = p.get("qop")
        if (qop is not None and qop != "auth") or (qop is None and self.require_qop):
            return AuthResult(False, username)
        # An unknown user is hashed and compared like a known one (with a password no one has),
        # so the time of the answer does not tell which user names exist.
        known = username in passwords
        password = passwords.get(username, "\x00unknown\x00")
        nc_text = p.get("nc", "")
        expected = _digest_response(algorithm, username, self.realm, password, method, uri, nonce, qop,
                                    nc_text, p.get("cnonce", ""))
        matches = hmac.compare_digest(expected.encode(), response.lower().encode())
        if not (matches and known):
            return AuthResult(False, username)
        try:
            issued = float(stamp)
        except ValueError:
            return AuthResult(False, username)
        if not 0 <= now - issued <= self.nonce_lifetime or issued <= self._forgotten_until:
            return AuthResult(False, username, stale=True)
        if qop is not None:
            if len(nc_text) != 8 or not all(c in "0123456789abcdefABCDEF" for c in nc_text):
                return AuthResult(False, username)
            nc = int(nc_text, 16)
            if nc <= self._counts.get(nonce, 0):
                return AuthResult(False, username, replayed=True)
            self._counts[nonce] = nc
            self._counts.move_to_end(nonce)
            while len(self._counts) > self.max_nonces:
                old_nonce, _ = self._counts.popitem(last=False)
                self._forgotten_until = max(self._forgotten_until, float(old_nonce.partition(":")[0]))
        return AuthResult(True, username)

    def _verify_basic(self, token: str, passwords: dict[str, str]) -> AuthResult:
        if not self.allow_basic:
            return AuthResult(False)
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return AuthResult(False)
        username, sep, password = decoded.partition(":")
        expected = passwords.get(username)
        # compared also for an unknown user, so the answer takes as long
        ok = hmac.compare_digest(password.encode("utf-8"), (expected or "\x00unknown\x00").encode("utf-8"))
        return AuthResult(ok and bool(sep) and expected is not None, username or None)
