from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ProtocolError
from mediaproto.rtsp.auth import (
    Challenge,
    DigestAuthenticator,
    authorization,
    basic_authorization,
    choose_challenge,
    parse_auth_params,
    parse_challenges,
)

# RFC 7616 section 3.9.1.
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    "algorithm,response",
    [("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
     ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")],
)
def test_rfc7616_example(algorithm: str, response: str) -> None:
    [challenge] = parse_challenges([
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'])
    value = authorization(challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce=RFC_CNONCE, nc=1)
    params = parse_auth_params(value.partition(" ")[2])
    assert params["response"] == response and params["nc"] == "00000001" and params["opaque"] == RFC_OPAQUE


def test_rfc7617_basic() -> None:
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_choose_prefers_sha256_then_md5_then_basic() -> None:
    cs = [Challenge("Basic", "r"), Challenge("Digest", "r", "n", "MD5"), Challenge("Digest", "r", "n", "SHA-256")]
    assert choose_challenge(cs) == cs[2]
    assert choose_challenge(cs[:2]) == cs[1]
    assert choose_challenge(cs[:1]) == cs[0]
    assert choose_challenge([]) is None


def test_server_round_trip_stale_and_forgery() -> None:
    auth = DigestAuthenticator("mediaproto", b"secret", algorithms=("SHA-256", "MD5"), nonce_lifetime=60)
    values = auth.challenges(now=1000.0)
    assert any("algorithm=MD5" in v for v in values)  # FFmpeg only answers MD5
    for i, challenge in enumerate(parse_challenges(values)):
        # both challenges share one nonce: the second answer counts on (nc=2)
        header = authorization(challenge, "DESCRIBE", "rtsp://h/live/test", "alice", "pw", nc=i + 1)
        assert auth.verify("DESCRIBE", header, {"alice": "pw"}, now=1010.0).ok
        assert not auth.verify("DESCRIBE", header, {"alice": "other"}, now=1010.0).ok
        assert not auth.verify("PLAY", header, {"alice": "pw"}, now=1010.0).ok  # method is signed
        late = auth.verify("DESCRIBE", header, {"alice": "pw"}, now=1100.0)
        assert not late.ok and late.stale
        forged = header.replace(challenge.nonce, "1000.000000:" + "0" * 32)
        assert not auth.verify("DESCRIBE", forged, {"alice": "pw"}, now=1010.0).ok
    assert not auth.verify("DESCRIBE", basic_authorization("alice", "pw"), {"alice": "pw"}, now=0).ok
    basic = DigestAuthenticator("r", b"k", allow_basic=True)
    assert basic.verify("DESCRIBE", basic_authorization("alice", "pw"), {"alice": "pw"}, now=0).ok


@given(st.text(max_size=200))
def test_verify_never_raises_and_parsers_raise_only_protocol_errors(text: str) -> None:
    auth = DigestAuthenticator("r", b"k", allow_basic=True)
    auth.verify("DESCRIBE", "Digest " + text, {"a": "b"}, now=0)
    auth.verify("DESCRIBE", "Basic " + text, {"a": "b"}, now=0)
    try:
        parse_challenges(["Digest " + text, "Basic " + text])
    except ProtocolError:
        pass


def _answer(auth: DigestAuthenticator, now: float, nc: int, user: str = "alice", password: str = "pw",
            method: str = "DESCRIBE") -> str:
    challenge = next(c for c in parse_challenges(auth.challenges(now)) if c.algorithm == "MD5")
    return authorization(challenge, method, "rtsp://h/live/test", user, password, nc=nc, cnonce="c0ffee")


def test_a_replayed_nonce_count_is_refused() -> None:
    # RFC 7616 section 3.4 / 5.12: the server remembers the nonce count and refuses one it saw.
    auth = DigestAuthenticator("mediaproto", b"secret", nonce_lifetime=60)
    first = _answer(auth, 1000.0, nc=1)
    assert auth.verify("DESCRIBE", first, {"alice": "pw"}, now=1001.0).ok
    replay = auth.verify("DESCRIBE", first, {"alice": "pw"}, now=1002.0)
    assert not replay.ok and replay.replayed and not replay.stale
    nonce = parse_challenges(auth.challenges(1000.0))[0].nonce
    challenge = next(c for c in parse_challenges(auth.challenges(1000.0)) if c.nonce == nonce)
    for nc, ok in ((3, True), (2, False), (3, False), (4, True)):
        header = authorization(challenge, "DESCRIBE", "rtsp://h/live/test", "alice", "pw", nc=nc, cnonce="c0ffee")
        assert auth.verify("DESCRIBE", header, {"alice": "pw"}, now=1003.0).ok is ok, nc


def test_forgotten_nonces_are_stale_not_open_to_replay() -> None:
    auth = DigestAuthenticator("mediaproto", b"secret", nonce_lifetime=60, max_nonces=2)
    headers = [_answer(auth, 1000.0 + i, nc=1) for i in range(3)]
    for h in headers:
        assert auth.verify("DESCRIBE", h, {"alice": "pw"}, now=1005.0).ok
    # the first nonce was forgotten to make room: its replay is stale (a fresh nonce follows)
    again = auth.verify("DESCRIBE", headers[0], {"alice": "pw"}, now=1006.0)
    assert not again.ok and again.stale
    assert auth.verify("DESCRIBE", headers[2], {"alice": "pw"}, now=1006.0).replayed


def test_without_qop_only_when_allowed() -> None:
    auth = DigestAuthenticator("mediaproto", b"secret")
    nonce = parse_challenges(auth.challenges(0.0))[0].nonce
    legacy = authorization(Challenge("Digest", "mediaproto", nonce, "MD5"), "DESCRIBE", "rtsp://h/x", "alice", "pw")
    assert "nc=" not in legacy
    assert auth.verify("DESCRIBE", legacy, {"alice": "pw"}, now=1.0).ok
    strict = DigestAuthenticator("mediaproto", b"secret", require_qop=True)
    assert not strict.verify("DESCRIBE", legacy, {"alice": "pw"}, now=1.0).ok


def test_an_unknown_user_does_the_same_work_as_a_known_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import mediaproto.rtsp.auth as auth_module

    calls: list[str] = []
    real = auth_module._digest_response

    def counting(*args: object) -> str:
        calls.append(str(args[1]))
        return real(*args)  # type: ignore[arg-type]

    auth = DigestAuthenticator("mediaproto", b"secret")
    unknown, wrong = _answer(auth, 0.0, 1, user="mallory"), _answer(auth, 0.0, 2, password="guess")
    monkeypatch.setattr(auth_module, "_digest_response", counting)
    assert not auth.verify("DESCRIBE", unknown, {"alice": "pw"}, now=1.0).ok
    assert not auth.verify("DESCRIBE", wrong, {"alice": "pw"}, now=1.0).ok
    assert calls == ["mallory", "alice"]  # the response was computed for the unknown user too
