"""A tiny MPEG-TS reader for tests: the elementary stream bytes of one PID (no dependency on
mediaproto.mpegts, which another area owns). Enough for FFmpeg's well-formed output."""

from __future__ import annotations


def pes_payloads(ts: bytes, pid: int) -> list[bytes]:
    """The PES packet payloads (elementary stream data) of ``pid``, one per PES packet."""
    pes: list[bytearray] = []
    for i in range(0, len(ts) - 187, 188):
        p = ts[i:i + 188]
        assert p[0] == 0x47
        if ((p[1] & 0x1F) << 8) | p[2] != pid:
            continue
        afc = (p[3] >> 4) & 3
        pos = 4
        if afc & 2:
            pos += 1 + p[4]
        if not afc & 1:
            continue
        if p[1] & 0x40:  # payload_unit_start_indicator: a PES header
            pes.append(bytearray())
            header_data_length = p[pos + 8]
            pos += 9 + header_data_length
        if pes:
            pes[-1] += p[pos:]
    return [bytes(b) for b in pes]


def elementary_stream(ts: bytes, pid: int) -> bytes:
    """All of ``pid``'s elementary stream bytes, concatenated."""
    return b"".join(pes_payloads(ts, pid))
