"""Messages cut out of the FFmpeg RTMP capture (shared vectors) for the AMF tests.

The capture's first messages use the default chunk size 128; a message longer than that continues
after a one-byte type-3 chunk header, which these helpers drop.
"""

from __future__ import annotations

from pathlib import Path

HANDSHAKE = 1 + 1536 + 1536


def dechunk(stream: bytes, header_at: int, header_size: int = 12, chunk_size: int = 128) -> bytes:
    """The body of the message whose type-0 chunk header starts at ``header_at``."""
    length = int.from_bytes(stream[header_at + 4 : header_at + 7], "big")
    pos = header_at + header_size
    body = b""
    while len(body) < length:
        take = min(chunk_size, length - len(body))
        body += stream[pos : pos + take]
        pos += take + 1  # skip the type-3 header of the next chunk
    return body


def connect_body(vectors: Path) -> bytes:
    c2s = (vectors / "rtmp-ffmpeg-publish.c2s.bin").read_bytes()
    return dechunk(c2s, HANDSHAKE)


def result_body(vectors: Path) -> bytes:
    s2c = (vectors / "rtmp-ffmpeg-publish.s2c.bin").read_bytes()
    at = s2c.find(b"\x02\x00\x07_result") - 12
    return dechunk(s2c, at)


def metadata_body(vectors: Path) -> bytes:
    c2s = (vectors / "rtmp-ffmpeg-publish.c2s.bin").read_bytes()
    at = c2s.find(b"\x02\x00\x0d@setDataFrame") - 12
    return dechunk(c2s, at)
