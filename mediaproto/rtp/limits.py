"""``rtp.Limits``: the one set of bounds for :mod:`mediaproto.rtp` (payload formats, jitter buffer)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on what a depacketizer or a jitter buffer holds for one RTP source.

    :param max_unit_size: bytes of media in one access unit (8 MiB, as mediacommon uses).
    :param max_nal_units: NAL units in one access unit (50, as mediacommon uses).
    :param max_jitter_packets: packets a :class:`~mediaproto.rtp.JitterBuffer` holds, and the
        largest gap it tracks (1024: 2 s of a 5 Mbit/s stream in 1200-byte packets); a packet further
        ahead restarts the sequence.
    """

    max_unit_size: int = 8 * 1024 * 1024
    max_nal_units: int = 50
    max_jitter_packets: int = 1024
