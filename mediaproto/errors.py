"""The exception hierarchy shared by every layer of mediaproto.

::

    MediaProtoError
     ├─ ProtocolError          the peer (or the file) sent something invalid
     │   ├─ ParseError         malformed bytes or text
     │   └─ LimitExceeded      valid, but over a configured limit (size, count, rate)
     └─ LocalProtocolError     the caller used the API wrongly (wrong state, bad argument)

Untrusted input never escapes a parser as ``IndexError``, ``struct.error``, ``KeyError``,
``ValueError``, ``UnicodeDecodeError``, ``AssertionError`` or ``RecursionError``: only as a
:class:`ProtocolError` subclass. Where the position of the fault is known, the error carries it as
:attr:`ProtocolError.offset` (a byte offset into the input) or :attr:`ProtocolError.line` (a 1-based
line number in text input), and both appear in the message.

:class:`Limits` is the base of every package's bounds on untrusted input (``rtmp.Limits``,
``rtp.Limits``, ``sdp.Limits``, ``rtsp.Limits``, ``mpegts.Limits``, ``hls.Limits``): going past one
raises :class:`LimitExceeded`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = [
    "MediaProtoError",
    "ProtocolError",
    "ParseError",
    "LimitExceeded",
    "LocalProtocolError",
    "Limits",
]


class MediaProtoError(Exception):
    """Base class of every exception mediaproto raises on purpose."""


class ProtocolError(MediaProtoError):
    """The peer, or the file, sent something this library will not accept.

    :param message: what was wrong, in words a user can act on.
    :param offset: byte offset into the input where the fault was found, if known.
    :param line: 1-based line number in text input where the fault was found, if known.
    """

    def __init__(self, message: str, *, offset: int | None = None, line: int | None = None) -> None:
        self.message = message
        self.offset = offset
        self.line = line
        where = []
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{message} (at {', '.join(where)})" if where else message)


class ParseError(ProtocolError):
    """Malformed bytes or text: the input does not follow the format."""


class LimitExceeded(ProtocolError):
    """Well-formed input that goes past a configured limit (size, count, nesting, rate)."""


class LocalProtocolError(MediaProtoError):
    """The caller used the API wrongly: a call in the wrong state, or an invalid argument.

    A connection that has raised a :class:`ProtocolError` is broken; every later call on it raises
    this.
    """


@dataclass(frozen=True, slots=True)
class Limits:
    """The base of every package's ``Limits``: bounds on what untrusted input can make a parser hold.

    Each protocol package has exactly one subclass, named ``Limits`` (``mediaproto.rtmp.Limits``,
    ``mediaproto.rtp.Limits``, ...), and every parser, decoder and session of that package takes it
    as ``limits=`` (``None`` meaning the defaults). Every subclass promises:

    - it is a frozen dataclass: a value can be shared by any number of parsers and changed only
      with :func:`dataclasses.replace`;
    - every field has a safe default, so the defaults alone bound memory and work whatever a peer
      or a file sends (the numbers follow what FFmpeg, gortsplib and mediacommon use);
    - every bound is a field named ``max_...`` holding a positive ``int``; a value that is not
      raises :class:`LocalProtocolError` when the ``Limits`` is made;
    - input that goes past a bound raises :class:`LimitExceeded` naming the bound and carrying the
      offset (bytes) or line (text) where it was found, never a silent truncation.
    """

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.startswith("max_"):
                value = getattr(self, f.name)
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise LocalProtocolError(
                        f"{type(self).__qualname__}.{f.name} must be a positive int, got {value!r}"
                    )
