"""MPEG transport streams (ISO/IEC 13818-1): packets, PSI, PES, a muxer and a demuxer.

The layers, each usable alone:

* :mod:`~mediaproto.mpegts.packet` -- 188-byte packets and the adaptation field;
* :mod:`~mediaproto.mpegts.psi` -- sections, PAT, PMT, SDT and descriptors
  (:mod:`~mediaproto.mpegts.crc` has the MPEG-2 CRC-32);
* :mod:`~mediaproto.mpegts.pes` -- PES headers;
* :mod:`~mediaproto.mpegts.streams` -- stream types, codecs and the Opus framing;
* :mod:`~mediaproto.mpegts.mux` -- :class:`Muxer`, frames to packets;
* :mod:`~mediaproto.mpegts.demux` -- :class:`Demuxer`, bytes to tracks and frames.
"""

from .demux import (
    ContinuityError,
    DemuxEvent,
    Demuxer,
    Discontinuity,
    FrameReceived,
    Resynced,
    StreamError,
    SyncLost,
    TracksChanged,
)
from .limits import Limits
from .mux import Muxer
from .packet import PACKET_SIZE, AdaptationField, AdaptationFieldExtension, TsPacket
from .pes import PesHeader
from .psi import Descriptor, Pat, PatProgram, Pmt, PmtStream, Sdt, SdtService, SectionAssembler

__all__ = [
    "Muxer",
    "Demuxer",
    "Limits",
    "DemuxEvent",
    "TracksChanged",
    "FrameReceived",
    "ContinuityError",
    "Discontinuity",
    "SyncLost",
    "Resynced",
    "StreamError",
    "PACKET_SIZE",
    "TsPacket",
    "AdaptationField",
    "AdaptationFieldExtension",
    "PesHeader",
    "Descriptor",
    "Pat",
    "PatProgram",
    "Pmt",
    "PmtStream",
    "Sdt",
    "SdtService",
    "SectionAssembler",
]
