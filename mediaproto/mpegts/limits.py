"""``mpegts.Limits``: the one set of bounds for :mod:`mediaproto.mpegts`."""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on what the demuxer (and its PSI section assemblers) buffers.

    :param max_pes_size: bytes of one PES packet (8 MiB, an access unit's limit in mediacommon).
    :param max_pids: elementary streams followed; further PMT entries are ignored (reported once).
    :param max_section_size: bytes of one PSI section (4096, the largest ISO/IEC 13818-1 allows
        for private sections; PAT and PMT stop at 1024).
    :param max_nal_units: NAL units in one access unit (50, as mediacommon).
    """

    max_pes_size: int = 8 << 20
    max_pids: int = 32
    max_section_size: int = 4096
    max_nal_units: int = 50
