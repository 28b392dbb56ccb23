"""Recording: a path's frames to MPEG-TS segment files on disk.

A :class:`Recorder` follows one stream like a player. Each file starts on a video keyframe (the
first frame for audio-only streams) with PAT and PMT, so every file plays on its own from its
first frame to its last; a new file begins at the first keyframe ``record_segment`` seconds (of
stream time) after the start of the current one, and whenever the publisher or its tracks change.
File names come from ``record_path``: ``%path`` is the stream's path, then the :meth:`strftime
<datetime.datetime.strftime>` fields of the local time the file starts (``%f`` is microseconds),
then ``.ts``. After each new file the recordings of the path older than ``record_delete_after``
seconds are deleted, then the oldest until the rest fit in ``record_max_bytes``.

Timestamps run on across the files of one publishing session (the first frame is at 1 s), so
files can also be joined. A disk error (a missing permission, a full disk) stops the recording
of the path with one log line naming the file and the reason.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..clock import rescale
from ..errors import MediaProtoError
from ..media import Frame
from ..mpegts.mux import Muxer
from .config import PathConfig
from .hub import Stream

__all__ = ["Recorder", "record_root", "file_name"]

log = logging.getLogger("mediaproto.server.record")

#: Bytes gathered before a write to the file.
WRITE_BUFFER = 256 * 1024
_START = 90000  # the first frame's DTS in the files (90 kHz): room for the PCR's lead


def file_name(pattern: str, path: str, when: datetime.datetime) -> str:
    """The file name of a recording of ``path`` starting at ``when`` (``.ts`` appended)."""
    return when.strftime(pattern.replace("%path", path.replace("%", "%%"))) + ".ts"


def record_root(pattern: str, path: str) -> Path:
    """The directory that holds every recording of ``path`` (where retention looks)."""
    fixed = pattern.replace("%path", path.replace("%", "%%")).split("%", 1)[0]
    return Path(fixed) if fixed.endswith(("/", os.sep)) else Path(fixed).parent


class Recorder:
    """A hub output writing one stream to segment files."""

    passive = True

    def __init__(self, stream: Stream, settings: PathConfig,
                 now: Callable[[], datetime.datetime] = datetime.datetime.now) -> None:
        self.stream = stream
        self.settings = settings
        self.now = now
        self.muxer: Muxer | None = None
        self.file: BinaryIO | None = None
        self.current: Path | None = None
        self.files_written: list[Path] = []
        self.frames_written = 0
        self.failed = False
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._offset: int | None = None  # 90 kHz ticks added to every timestamp of the session
        self._segment_start: int | None = None  # 90 kHz DTS of the current file's first frame
        self.root = record_root(settings.record_path, stream.name)

    # -- Output -------------------------------------------------------------------------------
    def on_tracks(self, stream: Stream) -> None:
        self._close()
        self.muxer = None

    def on_frame(self, stream: Stream, frame: Frame) -> None:
        if self.failed:
            return
        track = stream.tracks.get(frame.track_id)
        if track is None:
            return
        dts = rescale(frame.dts, track.clock_rate, 90000)
        cut_point = stream.is_video_keyframe(frame) or not stream.has_video
        if self.file is None:
            if not cut_point:
                return  # a file starts on a keyframe
            self._open(stream, dts)
        elif cut_point and self._segment_start is not None and \
                dts - self._segment_start >= self.settings.record_segment * 90000:
            self._close()
            self._open(stream, dts)
        if self.muxer is None or self.file is None:
            return
        try:
            self._write(self.muxer.mux(frame))
        except MediaProtoError as exc:
            log.warning("%s: recording: frame not written: %s", stream.name, exc)
            return
        self.frames_written += 1

    def on_end(self, stream: Stream) -> None:
        self._close()
        self.muxer = None
        self._offset = None

    # -- files --------------------------------------------------------------------------------
    def _open(self, stream: Stream, dts: int) -> None:
        if self._offset is None:
            self._offset = _START - dts
        self.muxer = Muxer(stream.track_list, timestamp_offset=self._offset % (1 << 33))
        name = Path(file_name(self.settings.record_path, stream.name, self.now()))
        try:
            name.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(name, "xb")  # noqa: SIM115 - closed in _close
        except OSError as exc:
            self._fail(name, exc)
            return
        self.current = name
        self._segment_start = dts
        log.info("%s: recording to %s", stream.name, name)
        self._retention()

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= WRITE_BUFFER:
            self._flush()

    def _flush(self) -> None:
        if self.file is None or not self._buffer:
            return
        try:
            self.file.write(b"".join(self._buffer))
        except OSError as exc:
            self._fail(self.current, exc)
        self._buffer, self._buffered = [], 0

    def _close(self) -> None:
        if self.file is None:
            return
        if self.muxer is not None:
            try:
                self._write(self.muxer.drain())
            except MediaProtoError:
                pass
        self._flush()
        try:
            self.file.close()
        except OSError as exc:
            self._fail(self.current, exc)
        if self.current is not None:
            self.files_written.append(self.current)
        self.file = None
        self.current = None

    def _fail(self, name: Path | None, exc: OSError) -> None:
        log.error("%s: recording stopped: %s: %s", self.stream.name, name, exc.strerror or exc)
        self.failed = True
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None
        self._buffer, self._buffered = [], 0

    def _retention(self) -> None:
        """Delete the path's old recordings (never the current one)."""
        s = self.settings
        if not s.record_delete_after and not s.record_max_bytes:
            return
        try:
            files = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.rglob("*.ts")
                     if p.is_file() and p != self.current]
        except OSError:
            return
        files.sort()
        limit = datetime.datetime.now().timestamp() - s.record_delete_after
        kept = []
        for mtime, size, p in files:
            if s.record_delete_after and mtime < limit:
                self._delete(p, "older than record_delete_after")
            else:
                kept.append((mtime, size, p))
        if s.record_max_bytes:
            total = sum(size for _, size, _ in kept)
            for _, size, p in kept:
                if total <= s.record_max_bytes:
                    break
                self._delete(p, "over record_max_bytes")
                total -= size

    def _delete(self, p: Path, why: str) -> None:
        try:
            p.unlink()
            log.info("%s: deleted %s (%s)", self.stream.name, p, why)
        except OSError as exc:
            log.warning("%s: cannot delete %s: %s", self.stream.name, p, exc.strerror or exc)
