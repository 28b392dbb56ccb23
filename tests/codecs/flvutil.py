"""A tiny FLV tag reader for tests (no dependency on mediaproto.rtmp, which another area owns)."""

from __future__ import annotations


def flv_tags(data: bytes) -> list[tuple[int, int, bytes]]:
    """``(tag_type, timestamp_ms, body)`` of every tag in an FLV file."""
    assert data[:3] == b"FLV"
    pos = int.from_bytes(data[5:9], "big") + 4
    tags = []
    while pos + 11 <= len(data):
        tag_type = data[pos] & 0x1F
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        ts = int.from_bytes(data[pos + 4:pos + 7], "big") | data[pos + 7] << 24
        tags.append((tag_type, ts, data[pos + 11:pos + 11 + size]))
        pos += 11 + size + 4
    return tags


def avc_sequence_header(data: bytes) -> bytes:
    """The AVCDecoderConfigurationRecord of the first AVC sequence header tag."""
    for tag_type, _, body in flv_tags(data):
        if tag_type == 9 and body[0] & 0x0F == 7 and body[1] == 0:
            return body[5:]
    raise AssertionError("no AVC sequence header")


def avc_frames(data: bytes) -> list[tuple[bool, bytes]]:
    """``(flv keyframe flag, AVCC payload)`` of every AVC NALU tag."""
    return [((body[0] >> 4) == 1, body[5:]) for tag_type, _, body in flv_tags(data)
            if tag_type == 9 and body[0] & 0x0F == 7 and body[1] == 1]


def aac_sequence_header(data: bytes) -> bytes:
    """The AudioSpecificConfig of the first AAC sequence header tag."""
    for tag_type, _, body in flv_tags(data):
        if tag_type == 8 and body[0] >> 4 == 10 and body[1] == 0:
            return body[2:]
    raise AssertionError("no AAC sequence header")
