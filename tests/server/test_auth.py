"""The server's credential checks, protocol by protocol, without a network (the interop tests in
test_live_access.py run the same rules against FFmpeg)."""

from __future__ import annotations

import base64
import logging

import pytest

from mediaproto.rtsp.auth import authorization, parse_challenges
from mediaproto.server.auth import Action, Authorizer, RateLimitedLog
from mediaproto.server.config import PathConfig

PATH = PathConfig(read_user="viewer", read_pass="letmein", publish_token="s3cret")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("query, ok, missing", [
    ("", False, True),
    ("user=viewer&pass=letmein", True, False),
    ("user=viewer&pass=letmeout", False, False),
    ("user=someone&pass=letmein", False, False),
    ("token=s3cret", False, False),  # the publish token does not open reading
    ("user=viewer", False, False),
])
def test_query_credentials_for_reading(query: str, ok: bool, missing: bool) -> None:
    verdict = Authorizer().check_query(PATH, Action.READ, query)
    assert (verdict.ok, verdict.missing) == (ok, missing), verdict


def test_publishing_needs_the_token_and_open_directions_need_nothing() -> None:
    auth = Authorizer()
    assert auth.check_query(PATH, Action.PUBLISH, "token=s3cret").ok
    assert not auth.check_query(PATH, Action.PUBLISH, "token=s3cre").ok
    assert not auth.check_query(PATH, Action.PUBLISH, "user=viewer&pass=letmein").ok
    assert auth.check_query(PathConfig(), Action.PUBLISH, "").ok
    assert auth.check_query(PathConfig(), Action.READ, "token=anything").ok


def test_http_basic_bearer_and_query() -> None:
    auth = Authorizer()
    assert auth.check_http(PATH, Action.READ, _basic("viewer", "letmein"), "").ok
    wrong = auth.check_http(PATH, Action.READ, _basic("viewer", "x"), "")
    assert not wrong.ok and not wrong.missing  # 403
    assert auth.check_http(PATH, Action.READ, None, "user=viewer&pass=letmein").ok
    none = auth.check_http(PATH, Action.READ, None, "")
    assert not none.ok and none.missing  # 401
    assert not auth.check_http(PATH, Action.READ, "Basic !!!", "").ok
    token_path = PathConfig(read_token="tok")
    assert auth.check_http(token_path, Action.READ, "Bearer tok", "").ok
    assert not auth.check_http(token_path, Action.READ, "Bearer no", "").ok


def test_rtsp_digest_basic_and_token() -> None:
    auth = Authorizer(secret=b"k")
    verdict, challenges = auth.check_rtsp(PATH, Action.READ, "DESCRIBE", None, "", now=100.0)
    assert not verdict.ok and verdict.missing
    # SHA-256 first, MD5 last (FFmpeg keeps the last Digest challenge and only answers MD5), then Basic
    assert [c.split()[0] for c in challenges] == ["Digest", "Digest", "Basic"]
    parsed = parse_challenges(challenges)
    assert [c.algorithm for c in parsed[:2]] == ["SHA-256", "MD5"]
    for nc, challenge in enumerate(parsed[:2], 1):
        header = authorization(challenge, "DESCRIBE", "rtsp://h/live/x", "viewer", "letmein", nc=nc)
        assert auth.check_rtsp(PATH, Action.READ, "DESCRIBE", header, "", now=101.0)[0].ok
        replay, again = auth.check_rtsp(PATH, Action.READ, "DESCRIBE", header, "", now=102.0)
        assert not replay.ok and replay.reason == "replayed nonce count" and again
    assert auth.check_rtsp(PATH, Action.READ, "PLAY", _basic("viewer", "letmein"), "", now=1.0)[0].ok
    assert not auth.check_rtsp(PATH, Action.READ, "PLAY", _basic("viewer", "nope"), "", now=1.0)[0].ok
    stale_header = authorization(parsed[1], "DESCRIBE", "rtsp://h/live/x", "viewer", "letmein", nc=9)
    stale, fresh = auth.check_rtsp(PATH, Action.READ, "DESCRIBE", stale_header, "", now=100.0 + 301)
    assert not stale.ok and stale.reason == "stale nonce" and "stale=true" in fresh[0]
    # the publish token travels in the URL's query
    assert auth.check_rtsp(PATH, Action.PUBLISH, "ANNOUNCE", None, "token=s3cret", now=1.0)[0].ok
    refused, none = auth.check_rtsp(PATH, Action.PUBLISH, "ANNOUNCE", None, "token=bad", now=1.0)
    assert not refused.ok and none == []  # 403: no challenge can help


def test_refusal_lines_are_rate_limited_per_address_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mediaproto.server.auth")
    log = RateLimitedLog(interval=10.0, capacity=2)
    for t in (0.0, 1.0, 2.0):
        log.refused("rtmp", "10.0.0.1", "live/x", "wrong credentials", t)
    log.refused("rtmp", "10.0.0.2", "live/x", "wrong credentials", 3.0)
    log.refused("rtmp", "10.0.0.1", "live/x", "wrong credentials", 11.0)
    assert [r.getMessage() for r in caplog.records] == [
        "rtmp 10.0.0.1: refused live/x: wrong credentials",
        "rtmp 10.0.0.2: refused live/x: wrong credentials",
        "rtmp 10.0.0.1: refused live/x: wrong credentials (2 more since the last line)",
    ]
    assert log.counts == {("rtmp", "wrong credentials"): 5}
    for i in range(10):  # bounded memory: at most `capacity` addresses remembered
        log.refused("hls", f"10.1.0.{i}", "p", "r", 20.0)
    assert len(log._seen) == 2
