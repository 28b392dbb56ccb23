"""A Sans-IO fragmented MP4 demuxer: bytes in, tracks and frames out.

:class:`Demuxer` takes the bytes of an fMP4 stream (init segment then fragments, in any split:
:meth:`Demuxer.feed`) and returns events as each top-level box completes:

* :class:`TracksChanged` when a ``moov`` arrives (the supported tracks: H.264, H.265, AAC, Opus;
  track ids are the MP4 ``track_ID``, clock rates the media timescales);
* :class:`FrameReceived` (:class:`mediaproto.endpoint.FrameReceived`: ``size`` is the sample's
  bytes in the ``mdat``, ``sequence_number`` its fragment's ``mfhd`` number) for every sample of
  a fragment once its ``mdat`` has arrived, in decode time order across the fragment's tracks.
  Video samples become tuples of NAL units (length prefixes removed), audio samples raw frames.
  ``dts`` is the ``tfdt`` ``baseMediaDecodeTime`` (or, without ``tfdt``, the end of the track's
  previous fragment) plus the durations before it; ``pts`` adds the composition offset;
  ``keyframe`` is ``not sample_is_non_sync_sample``.

Sample fields come from the ``trun``, else the ``tfhd`` defaults, else the ``trex`` defaults. The
base data offset is the ``tfhd`` ``base_data_offset`` (an offset from the first byte fed), else the
``moof`` (``default-base-is-moof``, and for the first ``traf`` of a fragment without either), else
the end of the previous ``traf``'s data; samples must lie in the ``mdat`` that follows the ``moof``.
``styp``, ``sidx``, ``prft``, ``free`` and unknown top-level boxes are skipped. A track's edit
list shifts its timestamps as FFmpeg applies it (:func:`~mediaproto.mp4.init.edit_offset`: a
leading empty edit delays, the first edit's ``media_time`` advances) unless ``apply_edit_lists`` is
false. Samples of a non-fragmented movie (its ``stbl`` tables) are not read.

Memory is bounded by :class:`~mediaproto.mp4.box.Limits` (``max_box_size``: the demuxer holds at
most one top-level box). Malformed input raises :class:`~mediaproto.errors.ParseError` or
:class:`~mediaproto.errors.LimitExceeded` with the offset from the first byte fed; after that the
demuxer is broken and every call raises :class:`~mediaproto.errors.LocalProtocolError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..codecs.h264 import split_avcc
from ..endpoint import Event, FrameReceived
from ..errors import LimitExceeded, LocalProtocolError, ParseError, ProtocolError
from ..media import Frame, Track
from .box import ContainerBox, Limits, parse_box
from .fragment import (
    TFHD_BASE_DATA_OFFSET,
    TFHD_DEFAULT_BASE_IS_MOOF,
    TrackFragmentBaseMediaDecodeTimeBox,
    TrackFragmentHeaderBox,
    TrackRunBox,
)
from .init import Mp4Track, read_tracks

__all__ = ["Demuxer", "TracksChanged", "FrameReceived", "DemuxEvent"]

_HDR = struct.Struct(">I4s")
_U64 = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class TracksChanged(Event):
    """The tracks of the ``moov`` just read."""

    tracks: tuple[Track, ...]


DemuxEvent = TracksChanged | FrameReceived


class Demuxer:
    """Demux fragmented MP4 (see the module docs).

    :param limits: bounds on the input.
    :param apply_edit_lists: shift timestamps by each track's edit list, as FFmpeg does.
    """

    def __init__(self, limits: Limits | None = None, *, apply_edit_lists: bool = True) -> None:
        self.limits = limits if limits is not None else Limits()
        self.apply_edit_lists = apply_edit_lists
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]
        self._tracks: dict[int, Mp4Track] = {}
        self._next_dts: dict[int, int] = {}
        self._moof: ContainerBox | None = None
        self._moof_offset = 0
        self._broken = False

    @property
    def tracks(self) -> tuple[Track, ...]:
        """The tracks of the last ``moov``."""
        return tuple(t.track for t in self._tracks.values())

    @property
    def broken(self) -> bool:
        """Whether a :class:`~mediaproto.errors.ProtocolError` was raised."""
        return self._broken

    def feed(self, data: bytes | bytearray | memoryview) -> list[DemuxEvent]:
        """Take more bytes; return the events of the boxes they completed."""
        if self._broken:
            raise LocalProtocolError("the demuxer is broken by an earlier error")
        self._buf += data
        try:
            return self._run(final=False)
        except ProtocolError:
            self._broken = True
            raise

    def flush(self) -> list[DemuxEvent]:
        """End of input: a last box of size 0 (to the end) is read; a partial box is an error."""
        if self._broken:
            raise LocalProtocolError("the demuxer is broken by an earlier error")
        try:
            events = self._run(final=True)
            if self._buf:
                raise ParseError(f"truncated box: {len(self._buf)} bytes left at the end", offset=self._offset)
            return events
        except ProtocolError:
            self._broken = True
            raise

    def _box_size(self, final: bool) -> int | None:
        buf = self._buf
        if len(buf) < 8:
            return None
        size, box_type = _HDR.unpack_from(buf, 0)
        if size == 1:
            if len(buf) < 16:
                return None
            size = _U64.unpack_from(buf, 8)[0]
        elif size == 0:
            return len(buf) if final else None
        if size > self.limits.max_box_size:
            raise LimitExceeded(f"box {bytes(box_type)!r} of {size} bytes exceeds the limit of "
                                f"{self.limits.max_box_size}", offset=self._offset)
        if size < 8:
            raise ParseError(f"box size {size} is smaller than its header", offset=self._offset)
        return size if len(buf) >= size else None

    def _run(self, final: bool) -> list[DemuxEvent]:
        events: list[DemuxEvent] = []
        while True:
            if not final and len(self._buf) > self.limits.max_box_size + 16 and _HDR.unpack_from(self._buf)[0] == 0:
                raise LimitExceeded("box to the end of the stream exceeds the limit", offset=self._offset)
            size = self._box_size(final)
            if size is None:
                return events
            raw = bytes(self._buf[:size])
            start = self._offset
            del self._buf[:size]
            self._offset += size
            box_type = raw[4:8]
            if box_type == b"mdat":
                events += self._mdat(raw, start)
            elif box_type in (b"moov", b"moof"):
                box, _ = parse_box(raw, 0, size, base=start, limits=self.limits)
                if not isinstance(box, ContainerBox):  # pragma: no cover - moov/moof are containers
                    continue
                if box_type == b"moov":
                    self._moof = None
                    self._tracks = {t.track.id: t for t in read_tracks(box, self.limits)}
                    self._next_dts = {}
                    events.append(TracksChanged(self.tracks))
                else:
                    self._moof = box
                    self._moof_offset = start

    def _mdat(self, raw: bytes, start: int) -> list[DemuxEvent]:
        moof = self._moof
        if moof is None:
            return []
        self._moof = None
        header = 16 if _HDR.unpack_from(raw)[0] == 1 else 8
        seq_box = moof.children[0] if moof.children else None
        sequence_number = getattr(seq_box, "sequence_number", 0)
        out: list[tuple[float, int, FrameReceived]] = []
        data_end = self._moof_offset
        for n, traf in enumerate(moof.containers(b"traf")):
            data_end = self._traf(traf, n, raw, start, header, data_end, sequence_number, out)
        out.sort(key=lambda item: (item[0], item[1]))
        return [item[2] for item in out]

    def _traf(self, traf: ContainerBox, n: int, raw: bytes, mdat_start: int, header: int, data_end: int,
              sequence_number: int, out: list[tuple[float, int, FrameReceived]]) -> int:
        tfhd = traf.first(TrackFragmentHeaderBox)
        if tfhd is None:
            raise ParseError("traf without tfhd", offset=self._moof_offset)
        mp4 = self._tracks.get(tfhd.track_ID)
        if mp4 is None:
            return data_end
        track = mp4.track
        trex = mp4.trex
        if tfhd.flags & TFHD_BASE_DATA_OFFSET and tfhd.base_data_offset is not None:
            base = tfhd.base_data_offset
        elif tfhd.flags & TFHD_DEFAULT_BASE_IS_MOOF or n == 0:
            base = self._moof_offset
        else:
            base = data_end
        default_duration = tfhd.default_sample_duration
        if default_duration is None:
            default_duration = trex.default_sample_duration if trex else 0
        default_size = tfhd.default_sample_size
        if default_size is None:
            default_size = trex.default_sample_size if trex else 0
        default_flags = tfhd.default_sample_flags
        if default_flags is None:
            default_flags = trex.default_sample_flags if trex else 0
        tfdt = traf.first(TrackFragmentBaseMediaDecodeTimeBox)
        dts = tfdt.base_media_decode_time if tfdt is not None else self._next_dts.get(track.id, 0)
        video = track.codec.is_video
        limits = self.limits
        mdat_data_start = mdat_start + header
        mdat_end = mdat_start + len(raw)
        rate = track.clock_rate
        shift = mp4.time_offset if self.apply_edit_lists else 0
        pos = base
        for trun in traf.all(TrackRunBox):
            if trun.data_offset is not None:
                pos = base + trun.data_offset
            first_flags = trun.first_sample_flags
            for i, s in enumerate(trun.samples):
                duration = default_duration if s.sample_duration is None else s.sample_duration
                size = default_size if s.sample_size is None else s.sample_size
                if s.sample_flags is not None:
                    flags = s.sample_flags
                elif i == 0 and first_flags is not None:
                    flags = first_flags
                else:
                    flags = default_flags
                cto = s.sample_composition_time_offset or 0
                if size > limits.max_sample_size:
                    raise LimitExceeded(f"sample of {size} bytes exceeds the limit", offset=self._moof_offset)
                if pos < mdat_data_start or pos + size > mdat_end:
                    raise ParseError(f"track {track.id}: sample at {pos} of {size} bytes is outside the mdat "
                                     f"({mdat_data_start}-{mdat_end})", offset=self._moof_offset)
                sample = raw[pos - mdat_start:pos - mdat_start + size]
                data: tuple[bytes, ...] | bytes
                if video:
                    try:
                        data = tuple(split_avcc(sample, mp4.length_size))
                    except ProtocolError as exc:
                        raise ParseError(f"track {track.id}: {exc.message}", offset=pos + (exc.offset or 0)) from None
                    if len(data) > limits.max_nal_units:
                        raise LimitExceeded(f"{len(data)} NAL units in one sample exceed the limit of "
                                            f"{limits.max_nal_units}", offset=pos)
                else:
                    data = sample
                frame = Frame(track.id, dts + cto + shift, dts + shift, data, not flags & 0x00010000)
                event = FrameReceived(frame, size=size, sequence_number=sequence_number)
                out.append(((dts + shift) / rate, len(out), event))
                pos += size
                dts += duration
        self._next_dts[track.id] = dts
        return pos
