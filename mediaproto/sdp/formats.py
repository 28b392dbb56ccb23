"""RTP payload formats in SDP: ``a=rtpmap`` and ``a=fmtp`` per payload type, RFC 3551's static types.

A broken ``rtpmap`` (``a=rtpmap:98 MetaData``: no clock rate, or a rate or channel count that is
not ASCII digits) is reported for its own payload type; the other formats still come out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import ParseError
from ..text import is_uint, parse_uint

__all__ = ["RtpFormat", "STATIC_PAYLOAD_TYPES", "parse_rtpmaps", "rtp_formats", "parse_fmtp", "format_fmtp"]


@dataclass(frozen=True)
class RtpFormat:
    """One RTP payload format of a media description: its ``rtpmap`` and ``fmtp``."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    encoding_parameters: int | None = None
    parameters: tuple[tuple[str, str], ...] = ()

    def parameter(self, name: str) -> str | None:
        """An ``fmtp`` parameter by name (case-insensitive), or None."""
        low = name.lower()
        for key, value in self.parameters:
            if key.lower() == low:
                return value
        return None


# RFC 3551 section 6: static payload types.
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, int | None]] = {
    0: ("PCMU", 8000, 1), 3: ("GSM", 8000, 1), 4: ("G723", 8000, 1), 5: ("DVI4", 8000, 1),
    6: ("DVI4", 16000, 1), 7: ("LPC", 8000, 1), 8: ("PCMA", 8000, 1), 9: ("G722", 8000, 1),
    10: ("L16", 44100, 2), 11: ("L16", 44100, 1), 12: ("QCELP", 8000, 1), 13: ("CN", 8000, 1),
    14: ("MPA", 90000, None), 15: ("G728", 8000, 1), 16: ("DVI4", 11025, 1), 17: ("DVI4", 22050, 1),
    18: ("G729", 8000, 1), 25: ("CelB", 90000, None), 26: ("JPEG", 90000, None), 28: ("nv", 90000, None),
    31: ("H261", 90000, None), 32: ("MPV", 90000, None), 33: ("MP2T", 90000, None), 34: ("H263", 90000, None),
}


def parse_rtpmaps(values: Sequence[str]) -> tuple[dict[str, tuple[str, int, int | None]], dict[str, ParseError]]:
    """The ``a=rtpmap`` values by payload type: ``(encoding name, clock rate, channels)``, and the
    payload types whose rtpmap is broken, each with its error."""
    rtpmaps: dict[str, tuple[str, int, int | None]] = {}
    errors: dict[str, ParseError] = {}
    for value in values:
        pt, _, rest = value.strip().partition(" ")
        parts = rest.strip().split("/")
        try:
            if len(parts) < 2:
                raise ParseError(f"malformed rtpmap {value[:80]!r}: no clock rate")
            rate = parse_uint(parts[1].strip(), f"rtpmap {pt[:10]} clock rate", max_digits=10)
            if rate == 0:  # no track has a clock that does not tick
                raise ParseError(f"rtpmap {pt[:10]}: clock rate 0")
            channels = parts[2].strip() if len(parts) > 2 else ""
            enc = parse_uint(channels, f"rtpmap {pt[:10]} channels", max_digits=5) if channels else None
        except ParseError as exc:
            errors[pt] = exc
            rtpmaps.pop(pt, None)
            continue
        if pt not in errors:
            rtpmaps[pt] = (parts[0], rate, enc)
    return rtpmaps, errors


def rtp_formats(fmts: Sequence[str], rtpmap_values: Sequence[str], fmtp_values: Sequence[str]) -> list[RtpFormat]:
    """The formats of an ``m=`` line in its order, from rtpmap/fmtp values or the static table;
    payload types with a broken rtpmap are left out (see :func:`parse_rtpmaps`)."""
    rtpmaps, errors = parse_rtpmaps(rtpmap_values)
    fmtps: dict[str, tuple[tuple[str, str], ...]] = {}
    for value in fmtp_values:
        pt, _, params = value.strip().partition(" ")
        fmtps[pt] = tuple(parse_fmtp(params).items())
    out = []
    for fmt in fmts:
        if fmt in errors:
            continue
        mapped = rtpmaps.get(fmt)
        number = int(fmt) if is_uint(fmt, 3) else -1
        if mapped is None and number in STATIC_PAYLOAD_TYPES:
            mapped = STATIC_PAYLOAD_TYPES[number]
        if mapped is None:
            continue
        out.append(RtpFormat(number, mapped[0], mapped[1], mapped[2], fmtps.get(fmt, ())))
    return out


def parse_fmtp(params: str) -> dict[str, str]:
    """Parse ``fmtp`` parameters ``a=b; c=d`` into an ordered dict; spaces after ``;`` are
    accepted (FFmpeg writes them). A parameter without ``=`` maps to ``""``."""
    out: dict[str, str] = {}
    for item in params.split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def format_fmtp(params: dict[str, str]) -> str:
    """Format ``fmtp`` parameters the canonical way, ``a=b;c=d``."""
    return ";".join(f"{k}={v}" if v != "" else k for k, v in params.items())
