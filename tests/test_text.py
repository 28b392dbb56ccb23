"""The digit rule (mediaproto.text): ASCII digits only, bounded length, ParseError naming the field."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ParseError
from mediaproto.text import is_uint, parse_decimal, parse_int, parse_uint

#: Every character str.isdigit() accepts that is not an ASCII digit ('²', '³', '¹', '٣', '౩', ...).
UNICODE_DIGITS = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isdigit() and not c.isascii()]


def test_the_unicode_digits_are_many_and_include_the_reported_ones() -> None:
    assert {"\u00b2", "\u00b3", "\u00b9", "\u0663"} <= set(UNICODE_DIGITS)
    assert len(UNICODE_DIGITS) > 500


@pytest.mark.parametrize("text", ["2\u00b30", "\u00b3", "\u0663", "1_000", "+1", " 1", "1 ", "", "-1", "0x1", "1e3"])
def test_parse_uint_refuses(text: str) -> None:
    with pytest.raises(ParseError, match="RTP-Info seq"):
        parse_uint(text, "RTP-Info seq")
    assert not is_uint(text)


def test_every_unicode_digit_is_refused_everywhere() -> None:
    for c in UNICODE_DIGITS:
        for f in (lambda t: parse_uint(t, "x"), lambda t: parse_int(t, "x"), lambda t: parse_decimal(t, "x")):
            for text in (c, "1" + c, c + ".5", "1." + c, "-" + c):
                with pytest.raises(ParseError):
                    f(text)


def test_bounds() -> None:
    assert parse_uint("9" * 20, "x") == 10**20 - 1
    with pytest.raises(ParseError, match="1 to 20 ASCII digits"):
        parse_uint("9" * 21, "x")
    with pytest.raises(ParseError, match="over 65535"):
        parse_uint("65536", "port", maximum=65535)
    with pytest.raises(ParseError) as exc:
        parse_uint("9" * 5000, "Content-Length", line=3)  # int() would raise ValueError past 4300 digits
    assert exc.value.line == 3
    assert parse_int("-12", "x") == -12
    with pytest.raises(ParseError):
        parse_int("-12", "x", minimum=0)
    assert parse_decimal("2.5", "x") == 2.5 and parse_decimal("5.", "x") == 5.0 and parse_decimal(".5", "x") == 0.5
    assert parse_decimal("-2.5", "x", signed=True) == -2.5
    for bad in ("inf", "nan", "1e3", "-2.5", "1.2.3", ".", "", " 1"):
        with pytest.raises(ParseError):
            parse_decimal(bad, "x")


@given(st.integers(0, 10**20 - 1))
def test_round_trip(n: int) -> None:
    assert parse_uint(str(n), "x") == n
    assert parse_int(str(-n), "x") == -n
    assert parse_decimal(f"{n}.25", "x") == float(f"{n}.25")


@given(st.text(max_size=30))
def test_only_parse_errors(text: str) -> None:
    for f in (parse_uint, parse_int, parse_decimal):
        try:
            f(text, "x")  # type: ignore[operator]
        except ParseError:
            pass
