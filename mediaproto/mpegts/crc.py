"""The MPEG-2 CRC-32 of PSI sections (ISO/IEC 13818-1 Annex A).

The CRC uses the polynomial 0x04C11DB7, an initial register of all ones, no reflection and no final
XOR: a section including its ``CRC_32`` field checks to zero.

:func:`crc32_mpeg2` computes it in C, with no Python loop per byte: :func:`zlib.crc32` is the same
polynomial in *reflected* form, so the input bytes are bit-reversed with :meth:`bytes.translate`,
run through ``zlib.crc32`` and the 32-bit result bit-reversed back. (``binascii.crc32`` is the same
function as ``zlib.crc32``.) :func:`crc32_mpeg2_table` is the classic 256-entry table version,
kept as the reference the fast one is tested against.
"""

from __future__ import annotations

import zlib

__all__ = ["crc32_mpeg2", "crc32_mpeg2_table", "CRC_TABLE"]

#: The byte whose bits are those of the index in reverse order.
_REVERSE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


#: The 256-entry table of the MSB-first CRC: ``CRC_TABLE[i]`` is the CRC register after shifting
#: byte ``i`` through a zero register.
CRC_TABLE = _make_table()


def crc32_mpeg2(data: bytes | bytearray | memoryview) -> int:
    """The MPEG-2 CRC-32 of ``data`` (0 when ``data`` ends with its own correct CRC).

    >>> hex(crc32_mpeg2(b"123456789"))
    '0x376e6e7'
    """
    # Reflected CRC of bit-reversed input == bit-reversed MSB-first CRC. zlib inverts the register
    # on the way in and out: passing 0 starts it at 0xFFFFFFFF; XOR-ing the result undoes the
    # final inversion.
    reg = zlib.crc32(bytes(data).translate(_REVERSE)) ^ 0xFFFFFFFF
    return int.from_bytes(reg.to_bytes(4, "little").translate(_REVERSE), "big")


def crc32_mpeg2_table(data: bytes | bytearray | memoryview) -> int:
    """The same CRC with a 256-entry table, one Python step per byte (the reference version)."""
    crc = 0xFFFFFFFF
    table = CRC_TABLE
    for b in bytes(data):
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ b]
    return crc
