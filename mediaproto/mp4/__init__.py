"""Fragmented MP4 (ISO/IEC 14496-12 ISO BMFF, CMAF): boxes, init segments, a fragmenter and a
demuxer.

The layers, each usable alone:

* :mod:`~mediaproto.mp4.box` -- the box codec: headers, :class:`Limits`, :class:`RawBox` (unknown
  boxes, written back byte for byte), :class:`ContainerBox` and :func:`parse_boxes`;
* :mod:`~mediaproto.mp4.movie` -- ``ftyp``/``styp``, ``mvhd``, ``tkhd``, ``mdhd``, ``hdlr``,
  ``vmhd``, ``smhd``, ``dref``, the sample tables, ``elst``, ``mehd``, ``trex``;
* :mod:`~mediaproto.mp4.sample_entry` -- ``stsd`` and the sample entries ``avc1``/``avcC``,
  ``hvc1``/``hvcC``, ``mp4a``/``esds``, ``Opus``/``dOps``;
* :mod:`~mediaproto.mp4.fragment` -- ``mfhd``, ``tfhd``, ``tfdt``, ``trun``, ``mdat``, ``sidx``,
  ``prft`` and the sample flags;
* :mod:`~mediaproto.mp4.init` -- init segments from tracks and tracks from a ``moov``;
* :mod:`~mediaproto.mp4.fragmenter` -- :class:`Fragmenter`, frames to fragments;
* :mod:`~mediaproto.mp4.demux` -- :class:`Demuxer`, bytes to tracks and frames.
"""

from .box import Box, ContainerBox, Limits, RawBox, parse_box, parse_boxes
from .demux import DemuxEvent, Demuxer, FrameReceived, TracksChanged
from .fragment import (
    NON_SYNC_SAMPLE_FLAGS,
    SYNC_SAMPLE_FLAGS,
    MediaDataBox,
    MovieFragmentHeaderBox,
    ProducerReferenceTimeBox,
    SegmentIndexBox,
    SidxReference,
    TrackFragmentBaseMediaDecodeTimeBox,
    TrackFragmentHeaderBox,
    TrackRunBox,
    TrunSample,
    is_sync_sample,
    sample_flags,
)
from .fragmenter import Fragmenter
from .init import Mp4Track, build_init_segment, build_moov, edit_offset, parse_init_segment, read_tracks, sample_entry
from .movie import (
    ChunkOffsetBox,
    DataEntryUrlBox,
    DataReferenceBox,
    EditListBox,
    FileTypeBox,
    HandlerBox,
    MediaHeaderBox,
    MovieExtendsHeaderBox,
    MovieHeaderBox,
    SampleSizeBox,
    SampleToChunkBox,
    SegmentTypeBox,
    SoundMediaHeaderBox,
    TimeToSampleBox,
    TrackExtendsBox,
    TrackHeaderBox,
    VideoMediaHeaderBox,
)
from .sample_entry import (
    AudioSampleEntry,
    AVCConfigurationBox,
    EsDescriptor,
    ESDBox,
    HEVCConfigurationBox,
    OpusSpecificBox,
    SampleDescriptionBox,
    VisualSampleEntry,
)

__all__ = [
    "Fragmenter", "Demuxer", "DemuxEvent", "TracksChanged", "FrameReceived", "Limits",
    "build_init_segment", "build_moov", "edit_offset", "parse_init_segment", "read_tracks", "sample_entry", "Mp4Track",
    "Box", "RawBox", "ContainerBox", "parse_box", "parse_boxes",
    "FileTypeBox", "SegmentTypeBox", "MovieHeaderBox", "TrackHeaderBox", "MediaHeaderBox", "HandlerBox",
    "VideoMediaHeaderBox", "SoundMediaHeaderBox", "DataReferenceBox", "DataEntryUrlBox", "TimeToSampleBox",
    "SampleToChunkBox", "SampleSizeBox", "ChunkOffsetBox", "EditListBox", "MovieExtendsHeaderBox",
    "TrackExtendsBox", "SampleDescriptionBox", "VisualSampleEntry", "AudioSampleEntry", "AVCConfigurationBox",
    "HEVCConfigurationBox", "ESDBox", "EsDescriptor", "OpusSpecificBox",
    "MovieFragmentHeaderBox", "TrackFragmentHeaderBox", "TrackFragmentBaseMediaDecodeTimeBox", "TrackRunBox",
    "TrunSample", "MediaDataBox", "SegmentIndexBox", "SidxReference", "ProducerReferenceTimeBox",
    "sample_flags", "is_sync_sample", "SYNC_SAMPLE_FLAGS", "NON_SYNC_SAMPLE_FLAGS",
]
