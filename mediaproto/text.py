"""Numbers read from untrusted text: the one digit rule every text parser follows.

``str.isdigit()`` is true for characters such as ``'³'``, ``'¹'`` and ``'٣'`` (superscripts and
other scripts' digits), and ``int()``/``float()`` accept some of them (``int('٣') == 3``), reject
others with ``ValueError`` (``int('³')``), and also take ``'+1'``, ``' 1 '``, ``'1_000'``,
``'1e3'``, ``'inf'`` and ``'nan'``. None of that belongs in a protocol number. So every parser of
RTSP, SDP, HLS and URL text reads its numbers here:

- only the ASCII digits ``0-9`` (and, where asked for, one ``-`` and one ``.``);
- at most ``max_digits`` characters (20 by default: a 64-bit number), so a peer cannot make the
  parser convert a 100,000-digit string (``int()`` is quadratic in the length, and Python refuses
  over 4300 digits with ``ValueError``);
- an optional ``maximum``;
- anything else raises :class:`~mediaproto.errors.ParseError` naming what was being read (and the
  line or byte offset when the caller gives it).
"""

from __future__ import annotations

import re

from .errors import ParseError

__all__ = ["MAX_DIGITS", "is_uint", "parse_uint", "parse_int", "parse_decimal"]

MAX_DIGITS = 20
"""Default bound on the characters of one number (20 digits hold any unsigned 64-bit value)."""

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def _fail(text: str, what: str, expected: str, line: int | None, offset: int | None) -> ParseError:
    return ParseError(f"bad {what}: expected {expected}, got {text[:40]!r}", line=line, offset=offset)


def is_uint(text: str, max_digits: int = MAX_DIGITS) -> bool:
    """True when ``text`` is 1 to ``max_digits`` ASCII digits (no sign, no space)."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def parse_uint(text: str, what: str, *, max_digits: int = MAX_DIGITS, maximum: int | None = None,
               line: int | None = None, offset: int | None = None) -> int:
    """Read an unsigned decimal integer: 1 to ``max_digits`` ASCII digits, at most ``maximum``.

    :param what: what is being read, for the error message (``"RTP-Info seq"``, ``"m= port"``).
    :raises ParseError: on anything else; the message names ``what``.
    """
    if not is_uint(text, max_digits):
        raise _fail(text, what, f"1 to {max_digits} ASCII digits", line, offset)
    value = int(text)
    if maximum is not None and value > maximum:
        raise ParseError(f"bad {what}: {value} is over {maximum}", line=line, offset=offset)
    return value


def parse_int(text: str, what: str, *, max_digits: int = MAX_DIGITS, minimum: int | None = None,
              maximum: int | None = None, line: int | None = None, offset: int | None = None) -> int:
    """Read a decimal integer with an optional leading ``-`` (ASCII digits only), within bounds."""
    digits = text[1:] if text[:1] == "-" else text
    if not is_uint(digits, max_digits):
        raise _fail(text, what, f"an integer of 1 to {max_digits} ASCII digits", line, offset)
    value = int(text)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParseError(f"bad {what}: {value} is out of range", line=line, offset=offset)
    return value


def parse_decimal(text: str, what: str, *, signed: bool = False, max_chars: int = 2 * MAX_DIGITS,
                  line: int | None = None, offset: int | None = None) -> float:
    """Read a decimal number ``digits[.digits]`` (ASCII only; no exponent, ``inf`` or ``nan``).

    ``signed`` allows one leading ``-``. At most ``max_chars`` characters.
    """
    body = text[1:] if signed and text[:1] == "-" else text
    if len(text) > max_chars or not body.isascii() or not _DECIMAL.fullmatch(body):
        raise _fail(text, what, "a decimal number of ASCII digits", line, offset)
    return float(text)
