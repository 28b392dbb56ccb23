"""HLS out: MPEG-TS and fMP4 renditions of every stream, kept in memory, with blocking reloads.

:class:`HlsOutput` subscribes to a stream like any player and cuts its frames with two
:class:`mediaproto.hls.Segmenter` objects, one per container (:class:`Rendition`): MPEG-TS and
fragmented MP4 (``EXT-X-MAP`` init segment, ``.m4s`` segments and, with LL-HLS, ``.m4s`` parts).
Both keep the segments and parts of their sliding window in memory for the HTTP server. The HTTP
paths (relative URIs, so every playlist works from each of its URLs)::

    /live/<name>/index.m3u8     the container the configuration picks (Config.hls_container)
    /live/<name>/ts.m3u8        MPEG-TS segments (seg<N>.ts) and parts (seg<N>.<P>.ts)
    /live/<name>/fmp4.m3u8      fMP4: init<K>.mp4, segments seg<N>.m4s, parts seg<N>.<P>.m4s

A stream whose tracks fMP4 cannot carry (a codec other than H.264, H.265, AAC, Opus, or video
without parameter sets) has only the TS rendition; the reason is logged and kept in
:attr:`HlsOutput.unavailable`. A blocking playlist request (``_HLS_msn``/``_HLS_part``) waits on a
future that every new part or segment of any rendition resolves: no polling.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Sequence

from ..errors import LocalProtocolError
from ..hls.segmenter import PartReady, PlaylistChanged, SegmentReady, SegmentRemoved, Segmenter
from ..media import Frame

from .hub import Stream
from .prepared import BLOCKING_CACHE, PLAYLIST_TYPE, SEGMENT_CACHE, playlist_cache, prepared_response

__all__ = ["HlsOutput", "Rendition", "CONTAINERS", "PLAYLISTS", "content_type"]

log = logging.getLogger("mediaproto.server.hls")

#: The containers every stream is served in.
CONTAINERS = ("ts", "fmp4")
#: Playlist file name -> container (``index.m3u8`` is the configured one).
PLAYLISTS = {"ts.m3u8": "ts", "fmp4.m3u8": "fmp4"}

_TYPES = {"ts": "video/mp2t", "m4s": "video/iso.segment", "mp4": "video/mp4"}


def content_type(file: str) -> str:
    """The Content-Type of a segment, part or init segment file name."""
    return _TYPES.get(file.rpartition(".")[2], "application/octet-stream")


class Rendition:
    """One container's segmenter and the files of its window."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.segmenter: Segmenter | None = None
        self.files: dict[str, bytes] = {}
        self.ready_at: dict[str, float] = {}  # when each file became available (loop time)
        self.playlist_text: str | None = None
        self.next_sequence = 0
        self.stale: set[str] = set()
        #: Whole HTTP responses (head and body) prepared once per file and per playlist version
        #: (key: (skip, blocking)), for every client: see :mod:`mediaproto.server.prepared`.
        self.responses: dict[str, bytes] = {}
        self.playlist_responses: dict[tuple[bool, bool], tuple[str, bytes]] = {}

    def start(self, stream: Stream, target_duration: float, window: int, part_target: float | None) -> None:
        """A new segmenter for the stream's tracks (numbering goes on); raises
        :class:`~mediaproto.errors.LocalProtocolError` when this container cannot carry them."""
        # The old files stay until the new segmenter's first segment, for players mid-download.
        self.stale = set(self.files)
        self.segmenter = None
        self.playlist_text = None
        self.playlist_responses = {}
        first = self.next_sequence
        self.segmenter = Segmenter(stream.track_list, target_duration=target_duration, window=window,
                                   part_target=part_target, first_sequence=first, container=self.container,
                                   init_name=f"init{first}.mp4")
        init = self.segmenter.init_segment()
        if init is not None:
            self.files[self.segmenter.init_name] = init
            self.stale.discard(self.segmenter.init_name)

    def apply(self, events: Sequence[object], now: float) -> bool:
        """Keep what the segmenter produced; whether anything new is there to serve."""
        changed = False
        for event in events:
            if isinstance(event, SegmentReady):
                for name in self.stale:
                    self.files.pop(name, None)
                    self.ready_at.pop(name, None)
                    self.responses.pop(name, None)
                self.stale = set()
                self.files[event.name] = event.data
                self.ready_at[event.name] = now
                self.next_sequence = event.sequence + 1
                changed = True
            elif isinstance(event, PartReady):
                self.files[event.name] = event.data
                self.ready_at[event.name] = now
                changed = True
            elif isinstance(event, SegmentRemoved):
                for name in (event.name, *event.part_names):
                    self.files.pop(name, None)
                    self.ready_at.pop(name, None)
                    self.responses.pop(name, None)
            elif isinstance(event, PlaylistChanged):
                self.playlist_text = event.text
                self.playlist_responses = {}
                changed = True
        return changed

    def response(self, name: str) -> bytes | None:
        """The whole 200 response of file ``name`` (made at its first request), or ``None``."""
        response = self.responses.get(name)
        if response is None:
            data = self.files.get(name)
            if data is None:
                return None
            response = self.responses[name] = prepared_response(data, content_type(name), SEGMENT_CACHE)
        return response

    def playlist_response(self, skip: bool, blocking: bool, target_duration: float) -> bytes | None:
        """The whole 200 response of the playlist, made once per playlist version (every client,
        and every waiter of a blocking reload woken by the same change, gets the same bytes)."""
        version = self.playlist(False)  # the same str object until the playlist changes
        if version is None:
            return None
        key = (skip, blocking)
        cached = self.playlist_responses.get(key)
        if cached is not None and cached[0] is version:
            return cached[1]
        text = self.playlist(skip) if skip else version
        if text is None:
            return None
        cache = BLOCKING_CACHE if blocking else playlist_cache(target_duration)
        response = prepared_response(text.encode(), PLAYLIST_TYPE, cache)
        self.playlist_responses[key] = (version, response)
        return response

    def playlist(self, skip: bool = False) -> str | None:
        """The playlist to serve (the final one, with ENDLIST, after the publisher left)."""
        seg = self.segmenter
        if seg is not None and (skip or self.playlist_text is None):
            return seg.playlist(skip=skip) if seg.latest is not None else None
        return self.playlist_text


class HlsOutput:
    """The HLS renditions of one stream.

    :param containers: the containers to cut (both by default; ``("ts",)`` saves the fMP4 work).
    """

    #: It follows every stream: it does not keep a never-published stream alive (see Hub.release).
    passive = True

    def __init__(self, stream: Stream, *, target_duration: float = 1.0, window: int = 6,
                 part_target: float | None = None, clock: "asyncio.AbstractEventLoop | None" = None,
                 containers: Sequence[str] = CONTAINERS) -> None:
        for container in containers:
            if container not in CONTAINERS:
                raise ValueError(f"unknown HLS container {container!r}")
        self.stream = stream
        self.target_duration = target_duration
        self.window = window
        self.part_target = part_target
        self.renditions = {c: Rendition(c) for c in containers}
        #: container -> why it is not served for the current tracks.
        self.unavailable: dict[str, str] = {}
        self._update: asyncio.Future[None] | None = None
        self._loop = clock

    # -- compatibility with a single rendition -------------------------------------------------
    @property
    def segmenter(self) -> Segmenter | None:
        """The first rendition's segmenter (TS unless only fMP4 is cut)."""
        return next(iter(self.renditions.values())).segmenter

    @property
    def files(self) -> dict[str, bytes]:
        """Every file of every rendition, by name (a copy: use :meth:`file` to serve one)."""
        out: dict[str, bytes] = {}
        for r in self.renditions.values():
            out.update(r.files)
        return out

    def file(self, name: str) -> bytes | None:
        """The segment, part or init segment ``name``, or ``None``."""
        for r in self.renditions.values():
            data = r.files.get(name)
            if data is not None:
                return data
        return None

    def response(self, name: str) -> bytes | None:
        """The prepared 200 response (head and body) of segment, part or init segment ``name``."""
        for r in self.renditions.values():
            response = r.response(name)
            if response is not None:
                return response
        return None

    def playlist_response(self, skip: bool = False, container: str | None = None,
                          blocking: bool = False) -> bytes | None:
        """The prepared 200 response of the playlist of ``container`` (see :meth:`playlist`)."""
        rendition = self._rendition(container)
        return rendition.playlist_response(skip, blocking, self.target_duration) if rendition is not None else None

    # -- Output -------------------------------------------------------------------------------
    def on_tracks(self, stream: Stream) -> None:
        self.unavailable = {}
        for container, rendition in self.renditions.items():
            try:
                rendition.start(stream, self.target_duration, self.window, self.part_target)
            except LocalProtocolError as exc:
                rendition.segmenter = None
                self.unavailable[container] = str(exc)
                log.info("%s: no %s HLS for these tracks: %s", stream.name, container, exc)

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        changed = False
        for rendition in self.renditions.values():
            if rendition.segmenter is not None:
                changed |= rendition.apply(rendition.segmenter.feed(frame), self._now())
        if changed:
            self._wake()

    def on_end(self, stream: Stream) -> None:
        for rendition in self.renditions.values():
            if rendition.segmenter is not None:
                rendition.apply(rendition.segmenter.flush(), self._now())
                rendition.segmenter = None
        self._wake()

    # -- internals ----------------------------------------------------------------------------
    def _now(self) -> float:
        return (self._loop or asyncio.get_event_loop()).time()

    def _wake(self) -> None:
        if self._update is not None and not self._update.done():
            self._update.set_result(None)
        self._update = None

    def _rendition(self, container: str | None) -> Rendition | None:
        if container is None:
            return next(iter(self.renditions.values()))
        return self.renditions.get(container)

    # -- what the HTTP server asks --------------------------------------------------------------
    def serves(self, container: str) -> bool:
        """Whether ``container`` is cut for this stream (now or before its publisher left)."""
        r = self.renditions.get(container)
        return r is not None and (r.segmenter is not None or r.playlist_text is not None)

    async def wait_for(self, msn: int, part: int | None, timeout: float, container: str | None = None) -> bool:
        """Wait until segment ``msn`` (and part ``part``) is in the playlist; False on timeout."""
        rendition = self._rendition(container)
        if rendition is None:
            return False

        def ready() -> bool:
            seg = rendition.segmenter
            if seg is None:
                return rendition.playlist_text is not None  # the stream ended: the final playlist answers
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

    def playlist(self, skip: bool = False, container: str | None = None) -> str | None:
        """The playlist of ``container`` (the first rendition's by default) to serve."""
        rendition = self._rendition(container)
        return rendition.playlist(skip) if rendition is not None else None

    def too_far(self, msn: int, container: str | None = None) -> bool:
        """Whether ``_HLS_msn`` is more than two segments past the live edge (answer 400)."""
        rendition = self._rendition(container)
        seg = rendition.segmenter if rendition is not None else None
        latest = seg.latest if seg is not None else None
        return latest is not None and msn > latest[0] + 2
