"""``sdp.Limits``: bounds on untrusted SDP text (an RTSP DESCRIBE answer, an ANNOUNCE body, a file)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on what :func:`mediaproto.sdp.parse` accepts and builds.

    Going past one raises :class:`~mediaproto.errors.LimitExceeded` naming the line where it
    happened (``max_bytes``: no line, the text is refused before it is split).

    :param max_bytes: longest SDP text, in characters (64 KiB; a camera's SDP is 0.5-2 KiB).
    :param max_lines: most lines (4096).
    :param max_line_length: longest line, in characters without its line ending (16384, the line
        buffer of FFmpeg's SDP parser; an H.265 ``sprop-*`` fmtp line is a few hundred).
    :param max_media: most media descriptions (``m=`` lines): 64, each of which becomes an RTSP
        SETUP and a track.
    """

    max_bytes: int = 64 * 1024
    max_lines: int = 4096
    max_line_length: int = 16384
    max_media: int = 64
