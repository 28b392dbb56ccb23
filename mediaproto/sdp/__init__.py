"""SDP, the Session Description Protocol (RFC 8866): parse, build and serialize.

:func:`parse` turns SDP text into a :class:`SessionDescription`; :meth:`SessionDescription.dumps`
turns it back into text. Every line type (``v o s i u e p c b t r z k a m``) is kept, attributes in
their order, unknown attributes as they were, so ``parse(text).dumps() == text`` for well-formed
input (the line ending of the input is remembered).

On top of the generic model sit the typed helpers RTSP and RTP need: :meth:`MediaDescription.formats`
(``rtpmap`` and ``fmtp`` per payload type, with the static payload types of RFC 3551),
:func:`track_from_media` / :func:`media_from_track` (H.264, H.265, AAC as mpeg4-generic and
MP4A-LATM, Opus, PCMU/PCMA), control URLs, ``a=range`` and ``a=extmap``.

Strict by default. ``parse(text, lenient=True)`` accepts what real peers write (see QUIRKS): no
``v=`` line, ``o=-0``, ``c=IN 1.2.3.4`` without an address type, ``t=now-``, ``IP`` for ``IN``,
spaces after ``;`` in ``fmtp`` (always accepted), a non-numeric payload type in ``m=``.

Untrusted text is bounded by :class:`Limits` (``parse(text, limits=Limits(...))``): its size, its
number of lines, the length of each line and the number of media descriptions.
"""

from .description import (
    Attribute,
    Bandwidth,
    Connection,
    ExtMap,
    MediaDescription,
    Origin,
    RtpFormat,
    SessionDescription,
    TimeDescription,
    Timing,
    format_fmtp,
    parse,
    parse_fmtp,
)
from .limits import Limits
from .tracks import media_from_track, track_from_media

__all__ = [
    "Origin",
    "Connection",
    "Bandwidth",
    "Timing",
    "TimeDescription",
    "Attribute",
    "MediaDescription",
    "SessionDescription",
    "RtpFormat",
    "ExtMap",
    "Limits",
    "parse",
    "parse_fmtp",
    "format_fmtp",
    "track_from_media",
    "media_from_track",
]
