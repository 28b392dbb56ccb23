"""The fMP4 side of the HLS segmenter: the :class:`~mediaproto.mp4.Fragmenter` behind the face
of the TS muxer.

:class:`~mediaproto.hls.segmenter.Segmenter` writes through a small interface that
:class:`mediaproto.mpegts.Muxer` already has: ``psi()`` (what starts a segment), ``mux(frame)``
(bytes for one frame) and ``drain()`` (what is still held back, at a part or segment cut).
:class:`Fmp4Writer` gives the fragmenter that face: ``psi()`` is empty (the init segment is the
playlist's EXT-X-MAP, not part of any segment), ``mux`` queues the frame and returns nothing, and
``drain`` returns one movie fragment (``moof`` + ``mdat``) of everything queued. So an fMP4
segment is one fragment, an LL-HLS part is one fragment, and a segment cut into parts is the
concatenation of its parts' fragments, which is what RFC 8216bis section 4.4.4.9 asks (a
segment's parts, in order, are the segment).

Decode times must not be negative in a ``tfdt``; a stream whose first frame has a negative DTS is
moved forward, every track by the same time, by as much as that frame needs (frames still
negative after that, such as audio from before it, are left out). A new writer (after a
discontinuity) starts over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..clock import rescale
from ..media import Frame, Track
from ..mp4.fragmenter import Fragmenter

__all__ = ["Fmp4Writer"]

_HZ = 90000


class Fmp4Writer:
    """A :class:`~mediaproto.mp4.Fragmenter` with the TS muxer's ``psi``/``mux``/``drain`` face.

    :param tracks: the tracks (H.264, H.265, AAC, Opus, with their decoder configuration); other
        codecs, or video without parameter sets, raise
        :class:`~mediaproto.errors.LocalProtocolError`.
    :param first_sequence_number: the ``mfhd`` sequence number of the first fragment.
    :param options: keyword arguments for the :class:`~mediaproto.mp4.Fragmenter` (``styp=True``).
    """

    __slots__ = ("_fragmenter", "_rates", "_shift")

    def __init__(self, tracks: Sequence[Track], first_sequence_number: int = 1, **options: Any) -> None:
        self._fragmenter = Fragmenter(tracks, first_sequence_number=first_sequence_number, **options)
        self._rates = {t.id: t.clock_rate for t in tracks}
        self._shift: int | None = None  # 90 kHz ticks added to every timestamp

    @property
    def sequence_number(self) -> int:
        """The ``mfhd`` sequence number of the next fragment."""
        return self._fragmenter.sequence_number

    def init_segment(self) -> bytes:
        """The init segment (``ftyp`` + ``moov``)."""
        return self._fragmenter.init_segment()

    def psi(self) -> bytes:
        """Nothing: an fMP4 segment needs no header of its own (EXT-X-MAP carries the tracks)."""
        return b""

    def mux(self, frame: Frame) -> bytes:
        """Queue ``frame`` for the next fragment; returns ``b""``."""
        rate = self._rates[frame.track_id]
        if self._shift is None:
            self._shift = max(0, -rescale(frame.dts, rate, _HZ))
        if self._shift:
            shift = rescale(self._shift, _HZ, rate)
            frame = Frame(frame.track_id, frame.pts + shift, frame.dts + shift, frame.data, frame.keyframe)
        if frame.dts < 0:
            return b""
        self._fragmenter.add(frame)
        return b""

    def drain(self) -> bytes:
        """One fragment of every frame queued since the last call (``b""`` when none)."""
        return self._fragmenter.fragment()
