"""``sdp.Limits``: size, line count, line length and media count, each refused with LimitExceeded
naming the line where the bound was passed. The expected line numbers come from how each test
builds its text, not from the parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto import sdp
from mediaproto.errors import LimitExceeded, LocalProtocolError, ProtocolError

HEAD = ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=test", "t=0 0"]
MEDIA = ["m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000", "a=control:trackID={n}"]


def build(media: int = 1, extra_attributes: int = 0) -> list[str]:
    lines = list(HEAD)
    lines += [f"a=x-{i}:{i}" for i in range(extra_attributes)]
    for n in range(media):
        lines += [line.format(n=n) for line in MEDIA]
    return lines


def text(lines: list[str], ending: str = "\r\n") -> str:
    return ending.join(lines) + ending


def test_defaults_are_the_documented_ones() -> None:
    limits = sdp.Limits()
    assert (limits.max_bytes, limits.max_lines, limits.max_line_length, limits.max_media) == (65536, 4096, 16384, 64)
    assert sdp.parse(text(build(media=2))).media[1].control == "trackID=1"


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_max_lines(ending: str) -> None:
    lines = build(media=1)  # 7 lines
    assert len(sdp.parse(text(lines, ending), limits=sdp.Limits(max_lines=7)).media) == 1
    with pytest.raises(LimitExceeded, match="max_lines=6") as info:
        sdp.parse(text(lines, ending), limits=sdp.Limits(max_lines=6))
    assert info.value.line == 7


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_max_line_length_counts_the_line_without_its_ending(ending: str) -> None:
    lines = build()
    lines[5] = "a=fmtp:96 " + "x" * 90  # 100 characters, line 6
    assert sdp.parse(text(lines, ending), limits=sdp.Limits(max_line_length=100)).media[0].attributes[0].value
    with pytest.raises(LimitExceeded, match="max_line_length=99") as info:
        sdp.parse(text(lines, ending), limits=sdp.Limits(max_line_length=99))
    assert info.value.line == 6


def test_max_line_length_is_checked_before_the_line_is_read() -> None:
    """An over-long line is refused as too long even when it would not parse: the bound comes first."""
    lines = build()
    lines[2] = "\x00" * 200  # line 3: garbage
    with pytest.raises(LimitExceeded) as info:
        sdp.parse(text(lines), limits=sdp.Limits(max_line_length=100))
    assert info.value.line == 3


def test_max_media_names_the_first_m_line_over_the_bound() -> None:
    lines = build(media=3)
    third_m = [i for i, line in enumerate(lines, start=1) if line.startswith("m=")][2]
    assert third_m == len(HEAD) + 2 * len(MEDIA) + 1
    assert len(sdp.parse(text(lines), limits=sdp.Limits(max_media=3)).media) == 3
    with pytest.raises(LimitExceeded, match="max_media=2") as info:
        sdp.parse(text(lines), limits=sdp.Limits(max_media=2))
    assert info.value.line == third_m


def test_max_bytes_for_text_and_bytes() -> None:
    body = text(build(media=2))
    size = len(body)
    assert sdp.parse(body, limits=sdp.Limits(max_bytes=size)).media
    assert sdp.parse(body.encode(), limits=sdp.Limits(max_bytes=size)).media
    for value in (body, body.encode()):
        with pytest.raises(LimitExceeded, match=f"max_bytes={size - 1}"):
            sdp.parse(value, limits=sdp.Limits(max_bytes=size - 1))


def test_the_default_bounds_apply_without_limits() -> None:
    with pytest.raises(LimitExceeded) as info:
        sdp.parse(text(build(media=65)))
    assert info.value.line == len(HEAD) + 64 * len(MEDIA) + 1
    with pytest.raises(LimitExceeded) as info:
        sdp.parse(text(HEAD + ["a=" + "y" * 16383]))
    assert info.value.line == 5
    with pytest.raises(LimitExceeded):
        sdp.parse(text(HEAD + ["a=z"] * 4093))  # 4097 lines


@pytest.mark.parametrize("field", ["max_bytes", "max_lines", "max_line_length", "max_media"])
def test_invalid_bounds_are_refused(field: str) -> None:
    with pytest.raises(LocalProtocolError, match=field):
        sdp.Limits(**{field: 0})


@given(
    media=st.integers(0, 6),
    extra=st.integers(0, 6),
    long_at=st.none() | st.integers(0, 40),
    long_len=st.integers(1, 80),
    max_lines=st.integers(1, 40),
    max_line_length=st.integers(20, 60),
    max_media=st.integers(1, 6),
)
def test_exactly_the_first_bound_passed_is_reported(
    media: int, extra: int, long_at: int | None, long_len: int, max_lines: int, max_line_length: int, max_media: int
) -> None:
    """Which bound bites, and on which line, follows from the text: line count first (before
    reading), then line by line the length and the m= count."""
    lines = build(media=media, extra_attributes=extra)
    if long_at is not None and long_at < len(lines) and lines[long_at].startswith("a="):
        lines[long_at] = "a=" + "L" * long_len
    limits = sdp.Limits(max_lines=max_lines, max_line_length=max_line_length, max_media=max_media)
    expected: int | None = None
    if len(lines) > max_lines:
        expected = max_lines + 1
    else:
        seen_media = 0
        for number, line in enumerate(lines, start=1):
            if len(line) > max_line_length:
                expected = number
                break
            if line.startswith("m="):
                seen_media += 1
                if seen_media > max_media:
                    expected = number
                    break
    if expected is None:
        assert len(sdp.parse(text(lines), limits=limits).media) == media
    else:
        with pytest.raises(LimitExceeded) as info:
            sdp.parse(text(lines), limits=limits)
        assert info.value.line == expected


@given(st.binary(max_size=600), st.integers(1, 50), st.integers(1, 80), st.integers(1, 4))
def test_random_input_with_small_limits_raises_only_protocol_errors(
    data: bytes, max_lines: int, max_line_length: int, max_media: int
) -> None:
    limits = sdp.Limits(max_bytes=400, max_lines=max_lines, max_line_length=max_line_length, max_media=max_media)
    try:
        sdp.parse(data, limits=limits, lenient=True)
    except ProtocolError:
        pass
