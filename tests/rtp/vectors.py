"""Readers for the shared FFmpeg captures (see /work/shared/vectors/README.md)."""

from __future__ import annotations

import struct
from pathlib import Path


def udp_records(path: Path) -> list[tuple[int, bytes]]:
    """The (destination port, datagram) records of a ``.udp`` capture: 2-byte port, 4-byte length,
    payload, repeated."""
    data = path.read_bytes()
    out = []
    pos = 0
    while pos < len(data):
        port, length = struct.unpack_from(">HI", data, pos)
        pos += 6
        out.append((port, data[pos : pos + length]))
        pos += length
    return out


def interleaved_frames(path: Path) -> list[tuple[int, bytes]]:
    """The (channel, payload) ``$``-interleaved frames after RECORD in an RTSP TCP capture."""
    data = path.read_bytes()
    start = data.find(b"RECORD")
    pos = data.find(b"\r\n\r\n", start) + 4
    out = []
    while pos + 4 <= len(data) and data[pos] == 0x24:
        channel = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        out.append((channel, data[pos + 4 : pos + 4 + length]))
        pos += 4 + length
    return out
