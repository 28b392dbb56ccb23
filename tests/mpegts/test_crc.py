"""MPEG-2 CRC-32: the catalogue check value, the table reference, and real sections."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mediaproto.mpegts.crc import CRC_TABLE, crc32_mpeg2, crc32_mpeg2_table

# CRC-32/MPEG-2 in the CRC RevEng catalogue: check value of "123456789" is 0x0376E6E7.
CHECK = 0x0376E6E7

# The PAT FFmpeg wrote in ref.ts (section bytes incl. its CRC_32 0x2AB104B2).
FFMPEG_PAT = bytes.fromhex("00b00d0001c100000001f0002ab104b2")


def test_check_value() -> None:
    assert crc32_mpeg2(b"123456789") == CHECK
    assert crc32_mpeg2_table(b"123456789") == CHECK


def test_empty_is_initial_register() -> None:
    assert crc32_mpeg2(b"") == 0xFFFFFFFF == crc32_mpeg2_table(b"")


def test_table_first_entries() -> None:
    assert CRC_TABLE[0] == 0 and CRC_TABLE[1] == 0x04C11DB7 and CRC_TABLE[255] == 0xB1F740B4


def test_real_section_checks_to_zero() -> None:
    assert crc32_mpeg2(FFMPEG_PAT) == 0
    assert crc32_mpeg2(FFMPEG_PAT[:-4]) == 0x2AB104B2


@given(st.binary(max_size=600))
def test_fast_equals_table(data: bytes) -> None:
    assert crc32_mpeg2(data) == crc32_mpeg2_table(data)
    assert crc32_mpeg2(data + crc32_mpeg2(data).to_bytes(4, "big")) == 0


def test_accepts_memoryview_and_bytearray() -> None:
    assert crc32_mpeg2(memoryview(b"123456789")) == CHECK == crc32_mpeg2(bytearray(b"123456789"))
