"""A Sans-IO fMP4 fragmenter: :class:`~mediaproto.media.Frame` in, init segment and fragments out.

:class:`Fragmenter` queues frames (:meth:`Fragmenter.add`) and writes everything queued as one
movie fragment when the caller says so (:meth:`Fragmenter.fragment`): the caller picks the
boundaries, so HLS segments (cut before a keyframe) and LL-HLS parts (cut every few hundred ms)
are built on the same object. A fragment is ``moof`` + ``mdat`` (after an ``styp`` when asked):
``mfhd`` with a sequence number counting from 1, then per track with queued frames a ``traf``
with ``tfhd`` (``default-base-is-moof``), ``tfdt`` (version 1: ``baseMediaDecodeTime`` is the
first queued frame's DTS) and one ``trun`` with per-sample duration, size, flags and, for video,
composition offsets (``pts - dts``; the ``trun`` is version 1, offsets signed, when one is
negative). The ``mdat`` holds the samples of the first track, then of the second, and so on.

Timestamps are the frames' own, in their track's ``clock_rate`` (the media timescale of the init
segment). A sample's duration is the DTS difference to the next frame of its track; the last
queued frame's duration is not known yet when the fragment is cut, so it is estimated (from the
codec for AAC and Opus, else the previous duration): the next fragment's ``tfdt`` carries the exact
DTS, so decode times stay exact and only that one duration is a guess.

Sample flags: video keyframes are sync samples that depend on no other
(:data:`~mediaproto.mp4.fragment.SYNC_SAMPLE_FLAGS`), other video frames non-sync samples that
depend on others (:data:`~mediaproto.mp4.fragment.NON_SYNC_SAMPLE_FLAGS`); audio frames are all sync
samples. Video samples are the frame's NAL units with 4-byte length prefixes, exactly as given (in-band
parameter sets and delimiters stay); audio samples are the raw frames.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ..clock import rescale
from ..codecs.aac_config import AudioSpecificConfig, frame_samples
from ..codecs.opus import packet_duration
from ..errors import LocalProtocolError, ProtocolError
from ..media import Codec, Frame, Track
from .box import ContainerBox, box_header
from .fragment import (
    NON_SYNC_SAMPLE_FLAGS,
    SYNC_SAMPLE_FLAGS,
    MovieFragmentHeaderBox,
    TrackFragmentBaseMediaDecodeTimeBox,
    TrackFragmentHeaderBox,
    TrackRunBox,
    TrunSample,
)
from .init import SUPPORTED_CODECS, build_init_segment
from .movie import SegmentTypeBox

__all__ = ["Fragmenter"]

_I32 = struct.Struct(">i")
_TRUN_DATA_OFFSET_AT = 16  # trun header (8) + version/flags (4) + sample_count (4)


class _TrackState:
    __slots__ = ("track", "mp4_id", "video", "frames", "last_dts", "last_duration", "audio_duration")

    def __init__(self, track: Track, mp4_id: int) -> None:
        self.track = track
        self.mp4_id = mp4_id
        self.video = track.codec.is_video
        self.frames: list[Frame] = []
        self.last_dts: int | None = None
        self.last_duration: int | None = None
        self.audio_duration: int | None = None
        if track.codec is Codec.AAC and track.config:
            try:
                asc = AudioSpecificConfig.parse(track.config)
                if asc.sample_rate:
                    self.audio_duration = rescale(frame_samples(asc), asc.sample_rate, track.clock_rate)
            except ProtocolError:
                pass


class Fragmenter:
    """Write ``tracks`` as fragmented MP4 (see the module docs).

    :param tracks: the tracks (H.264, H.265, AAC, Opus); MP4 track ids are 1, 2, ... in this order
        (:attr:`track_ids` maps :attr:`Track.id` to them).
    :param styp: write an ``styp`` box (major brand ``msdh``) before every fragment, as DASH and
        CMAF media segments start.
    :param first_sequence_number: the ``mfhd`` sequence number of the first fragment.
    """

    def __init__(self, tracks: Sequence[Track], *, styp: bool = False, first_sequence_number: int = 1) -> None:
        if not tracks:
            raise LocalProtocolError("a Fragmenter needs at least one track")
        self._tracks = tuple(tracks)
        self._states: dict[int, _TrackState] = {}
        for i, track in enumerate(self._tracks):
            if track.id in self._states:
                raise LocalProtocolError(f"duplicate track id {track.id}")
            if track.codec not in SUPPORTED_CODECS:
                raise LocalProtocolError(f"track {track.id}: codec {track.codec.value} is not supported")
            self._states[track.id] = _TrackState(track, i + 1)
        self._order = list(self._states.values())
        self._init = build_init_segment(self._tracks)
        self._styp = SegmentTypeBox(b"msdh", 0, (b"msdh", b"iso6")).to_bytes() if styp else b""
        self.sequence_number = first_sequence_number
        self._queued = 0

    @property
    def tracks(self) -> tuple[Track, ...]:
        """The tracks, in MP4 track id order."""
        return self._tracks

    @property
    def track_ids(self) -> dict[int, int]:
        """:attr:`Track.id` -> MP4 ``track_ID``."""
        return {tid: st.mp4_id for tid, st in self._states.items()}

    @property
    def queued(self) -> int:
        """Frames queued for the next fragment."""
        return self._queued

    def init_segment(self) -> bytes:
        """The init segment (``ftyp`` + ``moov``), the same bytes every call."""
        return self._init

    def add(self, frame: Frame) -> None:
        """Queue ``frame`` for the next fragment. Its DTS must be at least 0 and not below the
        previous frame's of its track."""
        st = self._states.get(frame.track_id)
        if st is None:
            raise LocalProtocolError(f"frame of unknown track {frame.track_id}")
        dts = frame.dts
        if st.last_dts is not None:
            if dts < st.last_dts:
                raise LocalProtocolError(f"track {frame.track_id}: DTS {dts} goes back from {st.last_dts}")
            st.last_duration = dts - st.last_dts
        elif dts < 0:
            raise LocalProtocolError(f"track {frame.track_id}: DTS {dts} is negative (offset the timestamps)")
        if st.video and not isinstance(frame.data, tuple):
            raise LocalProtocolError(f"track {frame.track_id}: video frame data must be a tuple of NAL units")
        st.last_dts = dts
        st.frames.append(frame)
        self._queued += 1

    def _estimate(self, st: _TrackState, last: Frame) -> int:
        if st.track.codec is Codec.OPUS:
            try:
                return rescale(packet_duration(last.payload), 48000, st.track.clock_rate)
            except ProtocolError:
                pass
        if st.audio_duration is not None:
            return st.audio_duration
        return st.last_duration if st.last_duration is not None else 0

    def _traf(self, st: _TrackState) -> tuple[bytes, list[bytes], int]:
        frames = st.frames
        n = len(frames)
        chunks: list[bytes] = []
        samples: list[TrunSample] = []
        append, add_sample = chunks.append, samples.append
        video = st.video
        has_cto = False
        for i, f in enumerate(frames):
            if video:
                nals = f.nal_units
                data = b"".join([b for nal in nals for b in (len(nal).to_bytes(4, "big"), nal)])
                cto: int | None = f.pts - f.dts
                if cto:
                    has_cto = True
                flags = SYNC_SAMPLE_FLAGS if f.keyframe else NON_SYNC_SAMPLE_FLAGS
            else:
                data = f.data if isinstance(f.data, bytes) else f.payload
                cto = None
                flags = SYNC_SAMPLE_FLAGS
            duration = frames[i + 1].dts - f.dts if i + 1 < n else self._estimate(st, f)
            append(data)
            add_sample(TrunSample(duration, len(data), flags, cto))
        if video and not has_cto:
            samples = [s._replace(sample_composition_time_offset=None) for s in samples]
        size = sum(map(len, chunks))
        tfhd = TrackFragmentHeaderBox.build(st.mp4_id)
        tfdt = TrackFragmentBaseMediaDecodeTimeBox(frames[0].dts)
        trun = TrackRunBox.build(tuple(samples), data_offset=0)
        traf = ContainerBox(b"traf", (tfhd, tfdt, trun)).to_bytes()
        return traf, chunks, size

    def fragment(self) -> bytes:
        """One fragment (``moof`` + ``mdat``) of every frame queued since the last one; ``b""``
        when nothing is queued."""
        if not self._queued:
            return b""
        trafs: list[bytes] = []
        payload: list[bytes] = []
        sizes: list[int] = []
        for st in self._order:
            if st.frames:
                traf, chunks, size = self._traf(st)
                trafs.append(traf)
                payload.extend(chunks)
                sizes.append(size)
                st.frames = []
        mfhd = MovieFragmentHeaderBox(self.sequence_number).to_bytes()
        body = bytearray(mfhd)
        patch_at: list[int] = []
        for traf in trafs:
            # data_offset sits after traf's header, tfhd (16 bytes) and tfdt (20 bytes)
            patch_at.append(8 + len(body) + 8 + 16 + 20 + _TRUN_DATA_OFFSET_AT)
            body += traf
        moof = bytearray(box_header(b"moof", len(body)))
        moof += body
        data_size = sum(sizes)
        mdat_header = box_header(b"mdat", data_size)
        offset = len(moof) + len(mdat_header)
        for at, size in zip(patch_at, sizes):
            _I32.pack_into(moof, at, offset)
            offset += size
        self.sequence_number += 1
        self._queued = 0
        return b"".join([self._styp, moof, mdat_header, *payload])

    def drain(self) -> bytes:
        """The last fragment: what :meth:`fragment` returns (``b""`` when nothing is queued)."""
        return self.fragment()
