"""What the strict m3u8 parser enforces beyond the grammar, and what the lenient one forgives.

Strict (the default) follows RFC 8216bis (draft-pantos-hls-rfc8216bis) and names the tag and the
rule in every refusal:

- EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE appear before the first media segment
  (section 4.4.3.2 and 4.4.3.3);
- EXT-X-SKIP comes before every media segment: it stands for the segments a delta update leaves out
  (section 4.4.5.2);
- a variable reference ``{$name}`` names a variable that an EXT-X-DEFINE before it defined
  (section 4.3: "If a Variable Reference ... is not defined, the parser MUST fail"), also when the
  EXT-X-DEFINE comes later in the playlist;
- multivariant-only tags (EXT-X-SESSION-KEY, EXT-X-STREAM-INF, ...) are refused in a media
  playlist by their own name.

Lenient (``hls.parse(text, lenient=True)``) accepts what hls.js and AVPlayer play: a second
``#EXTM3U`` (kept as an unknown line), spaces around the duration of ``#EXTINF: 5,`` and around a
decimal-integer tag value, and spaces around the commas and ``=`` of attribute lists. The text of
each line is kept, so ``parse(text, lenient=True).dumps() == text``.
"""

from __future__ import annotations

import re

from ..errors import ParseError

__all__ = ["despace_attributes", "check_no_early_reference", "named"]

_QUOTED_OR_OTHER = re.compile(r'("[^"]*")|([^"]+)')
_SPACE_AROUND = re.compile(r"\s*([,=])\s*")
_REF = re.compile(r"\{\$([A-Za-z0-9_-]+)\}")


def despace_attributes(text: str) -> str:
    """An attribute list without the spaces around its ``,`` and ``=`` (outside quoted strings)
    and at its ends: ``PROGRAM-ID=1, BANDWIDTH=200000`` -> ``PROGRAM-ID=1,BANDWIDTH=200000``."""
    if " " not in text and "\t" not in text:
        return text
    out = []
    for quoted, other in _QUOTED_OR_OTHER.findall(text):
        out.append(quoted or _SPACE_AROUND.sub(r"\1", other))
    return "".join(out).strip()


def check_no_early_reference(line: str, lineno: int) -> None:
    """Refuse a ``{$name}`` reference met before any EXT-X-DEFINE of a playlist that has one."""
    m = _REF.search(line)
    if m is not None:
        raise ParseError(
            f"variable {{${m.group(1)}}} used before its EXT-X-DEFINE (RFC 8216bis 4.3: a reference "
            "to a variable not defined before it is an error)",
            line=lineno,
        )


def named(tag: str, exc: ParseError, lineno: int) -> ParseError:
    """``exc`` with the tag it was raised for in front of its message (if it does not name it)."""
    name = tag.lstrip("#")
    if name and name in exc.message:
        return exc
    return ParseError(f"{name}: {exc.message}", line=exc.line if exc.line is not None else lineno)
