"""HLS out: one segmenter per stream, segments and parts kept in memory, blocking reloads.

:class:`HlsOutput` subscribes to a stream like any player, cuts its frames with
:class:`mediaproto.hls.Segmenter` and keeps the segments (and LL-HLS parts) of the sliding window
in a dict the HTTP server reads. A blocking playlist request (``_HLS_msn``/``_HLS_part``) waits on
a future that every new part or segment resolves: no polling.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Sequence

from ..hls.segmenter import PartReady, PlaylistChanged, SegmentReady, SegmentRemoved, Segmenter
from ..media import Frame

from .hub import Stream

log = logging.getLogger("mediaproto.server.hls")


class HlsOutput:
    """The HLS rendition of one stream."""

    #: It follows every stream: it does not keep a never-published stream alive (see Hub.release).
    passive = True

    def __init__(self, stream: Stream, *, target_duration: float = 1.0, window: int = 6,
                 part_target: float | None = None, clock: "asyncio.AbstractEventLoop | None" = None) -> None:
        self.stream = stream
        self.target_duration = target_duration
        self.window = window
        self.part_target = part_target
        self.segmenter: Segmenter | None = None
        self.files: dict[str, bytes] = {}
        self.ready_at: dict[str, float] = {}  # when each file became available (loop time)
        self.playlist_text: str | None = None
        self._next_sequence = 0
        self._update: asyncio.Future[None] | None = None
        self._stale: set[str] = set()
        self._loop = clock

    # -- Output -------------------------------------------------------------------------------
    def on_tracks(self, stream: Stream) -> None:
        # A new publisher, or a track that appeared mid-stream: a new segmenter whose numbering
        # continues. The old files stay until its first segment is ready, for players mid-download.
        self._stale = set(self.files)
        self.segmenter = Segmenter(stream.track_list, target_duration=self.target_duration, window=self.window,
                                   part_target=self.part_target, first_sequence=self._next_sequence)
        self.playlist_text = None

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        if self.segmenter is not None:
            self._apply(self.segmenter.feed(frame))

    def on_end(self, stream: Stream) -> None:
        if self.segmenter is not None:
            self._apply(self.segmenter.flush())
            self.segmenter = None

    # -- segmenter events ---------------------------------------------------------------------
    def _now(self) -> float:
        return (self._loop or asyncio.get_event_loop()).time()

    def _apply(self, events: Sequence[object]) -> None:
        changed = False
        for event in events:
            if isinstance(event, SegmentReady):
                for name in self._stale:
                    self.files.pop(name, None)
                    self.ready_at.pop(name, None)
                self._stale = set()
                self.files[event.name] = event.data
                self.ready_at[event.name] = self._now()
                self._next_sequence = event.sequence + 1
                changed = True
            elif isinstance(event, PartReady):
                self.files[event.name] = event.data
                self.ready_at[event.name] = self._now()
                changed = True
            elif isinstance(event, SegmentRemoved):
                for name in (event.name, *event.part_names):
                    self.files.pop(name, None)
                    self.ready_at.pop(name, None)
            elif isinstance(event, PlaylistChanged):
                self.playlist_text = event.text
                changed = True
        if changed and self._update is not None and not self._update.done():
            self._update.set_result(None)
            self._update = None

    # -- what the HTTP server asks --------------------------------------------------------------
    async def wait_for(self, msn: int, part: int | None, timeout: float) -> bool:
        """Wait until segment ``msn`` (and part ``part``) is in the playlist; False on timeout."""

        def ready() -> bool:
            seg = self.segmenter
            if seg is None:
                return self.playlist_text is not None  # the stream ended: the final playlist answers
            return seg.has(msn, part)

        return await self.wait_until(ready, timeout)

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``ready()``, checking it whenever a part or segment is added; False on timeout."""
        deadline = self._now() + timeout
        while not ready():
            remaining = deadline - self._now()
            if remaining <= 0:
                return False
            if self._update is None:
                self._update = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._update), remaining)
            except asyncio.TimeoutError:
                return False
        return True

    def playlist(self, skip: bool = False) -> str | None:
        """The playlist to serve (the final one, with ENDLIST, after the publisher left)."""
        if self.segmenter is not None and (skip or self.playlist_text is None):
            return self.segmenter.playlist(skip=skip) if self.segmenter.latest is not None else None
        return self.playlist_text

    def too_far(self, msn: int) -> bool:
        """Whether ``_HLS_msn`` is more than two segments past the live edge (answer 400)."""
        seg = self.segmenter
        latest = seg.latest if seg is not None else None
        return latest is not None and msn > latest[0] + 2
