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
    for challenge in parse_challenges(values):
        header = authorization(challenge, "DESCRIBE", "rtsp://h/live/test", "alice", "pw")
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
