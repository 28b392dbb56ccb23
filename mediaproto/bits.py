"""Bit-level reading and writing, exp-Golomb codes, and NAL emulation prevention.

:class:`BitReader` and :class:`BitWriter` serve the cold-path bitstream syntax of H.264/H.265
parameter sets, slice headers and AAC configuration: fixed-width fields, flags, and the unsigned and
signed exp-Golomb codes ``ue(v)`` / ``se(v)`` of ITU-T H.264 section 9.1.

:func:`ebsp_to_rbsp` and :func:`rbsp_to_ebsp` remove and insert the ``emulation_prevention_three_byte``
of H.264 section 7.4.1 (H.265 section 7.4.2), using ``bytes`` operations rather than a Python loop
per byte.
"""

from __future__ import annotations

import re

from .errors import LocalProtocolError, ParseError

__all__ = ["BitReader", "BitWriter", "ebsp_to_rbsp", "rbsp_to_ebsp"]


class BitReader:
    """Read big-endian bit fields from ``data``, most significant bit first.

    Reading past the end raises :class:`~mediaproto.errors.ParseError` with the byte offset.
    """

    __slots__ = ("_value", "_total", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        raw = bytes(data)
        self._total = len(raw) * 8
        self._value = int.from_bytes(raw, "big")
        self._pos = 0

    @property
    def position(self) -> int:
        """Bits read so far."""
        return self._pos

    @property
    def bits_left(self) -> int:
        """Bits not yet read."""
        return self._total - self._pos

    @property
    def byte_aligned(self) -> bool:
        """Whether the next bit starts a byte."""
        return self._pos % 8 == 0

    def _need(self, n: int) -> None:
        if self._pos + n > self._total:
            raise ParseError(f"bitstream ends: needed {n} more bits", offset=self._pos // 8)

    def read(self, n: int) -> int:
        """Read ``n`` bits (``n >= 0``) as an unsigned integer."""
        if n == 0:
            return 0
        self._need(n)
        self._pos += n
        return (self._value >> (self._total - self._pos)) & ((1 << n) - 1)

    def peek(self, n: int) -> int:
        """Return the next ``n`` bits without consuming them."""
        self._need(n)
        return (self._value >> (self._total - self._pos - n)) & ((1 << n) - 1)

    def read_flag(self) -> bool:
        """Read one bit as a boolean."""
        return self.read(1) == 1

    def skip(self, n: int) -> None:
        """Skip ``n`` bits."""
        self._need(n)
        self._pos += n

    def align(self) -> None:
        """Skip to the next byte boundary."""
        self._pos = min(self._total, (self._pos + 7) & ~7)

    def read_ue(self) -> int:
        """Read an unsigned exp-Golomb code ``ue(v)``.

        Codes longer than 32 leading zeros are rejected as malformed (no conforming syntax element
        needs more).
        """
        remaining = self._total - self._pos
        if remaining <= 0:
            raise ParseError("bitstream ends inside an exp-Golomb code", offset=self._pos // 8)
        window = self._value & ((1 << remaining) - 1)
        zeros = remaining - window.bit_length()
        if zeros > 32 or zeros == remaining:
            raise ParseError("malformed exp-Golomb code", offset=self._pos // 8)
        self._pos += zeros
        return self.read(zeros + 1) - 1

    def read_se(self) -> int:
        """Read a signed exp-Golomb code ``se(v)``: 0, 1, -1, 2, -2, ..."""
        k = self.read_ue()
        return (k + 1) >> 1 if k & 1 else -(k >> 1)

    def more_rbsp_data(self) -> bool:
        """H.264 ``more_rbsp_data()``: whether anything but the stop bit and its zero trailing bits is left."""
        remaining = self._total - self._pos
        if remaining <= 0:
            return False
        window = self._value & ((1 << remaining) - 1)
        if window == 0:
            return False
        # The last set bit is the rbsp_stop_one_bit; more data iff a set bit comes before it.
        lowest = (window & -window).bit_length()  # 1-based position of the stop bit from the end
        return window.bit_length() > lowest


class BitWriter:
    """Write big-endian bit fields, most significant bit first; :meth:`getvalue` returns the bytes."""

    __slots__ = ("_buf", "_acc", "_nacc")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._acc = 0
        self._nacc = 0

    @property
    def bit_length(self) -> int:
        """Bits written so far."""
        return len(self._buf) * 8 + self._nacc

    @property
    def byte_aligned(self) -> bool:
        """Whether the next bit starts a byte."""
        return self._nacc % 8 == 0

    def write(self, value: int, n: int) -> None:
        """Write the low ``n`` bits of ``value`` (which must fit in ``n`` bits)."""
        if value < 0 or value >> n:
            raise LocalProtocolError(f"{value} does not fit in {n} bits")
        acc = (self._acc << n) | value
        nacc = self._nacc + n
        if nacc >= 64:
            whole = nacc >> 3
            rest = nacc & 7
            self._buf += (acc >> rest).to_bytes(whole, "big")
            acc &= (1 << rest) - 1
            nacc = rest
        self._acc = acc
        self._nacc = nacc

    def write_flag(self, flag: bool) -> None:
        """Write one bit."""
        self.write(1 if flag else 0, 1)

    def write_ue(self, value: int) -> None:
        """Write an unsigned exp-Golomb code ``ue(v)``."""
        if value < 0:
            raise LocalProtocolError(f"ue(v) cannot code {value}")
        v = value + 1
        self.write(v, 2 * v.bit_length() - 1)

    def write_se(self, value: int) -> None:
        """Write a signed exp-Golomb code ``se(v)``."""
        self.write_ue(2 * value - 1 if value > 0 else -2 * value)

    def _flush_whole_bytes(self) -> None:
        if self._nacc >= 8:
            whole = self._nacc >> 3
            rest = self._nacc & 7
            self._buf += (self._acc >> rest).to_bytes(whole, "big")
            self._acc &= (1 << rest) - 1
            self._nacc = rest

    def write_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Write whole bytes; fast when the writer is byte-aligned."""
        if self._nacc % 8 == 0:
            self._flush_whole_bytes()
            self._buf += data
        else:
            for b in bytes(data):
                self.write(b, 8)

    def align_zero(self) -> None:
        """Write zero bits up to the next byte boundary."""
        pad = -self._nacc % 8
        if pad:
            self.write(0, pad)

    def write_trailing_bits(self) -> None:
        """Write ``rbsp_trailing_bits()``: a one bit, then zero bits to the byte boundary."""
        self.write(1, 1)
        self.align_zero()

    def getvalue(self) -> bytes:
        """The bytes written so far; a partial last byte is padded with zero bits."""
        self._flush_whole_bytes()
        if self._nacc:
            return bytes(self._buf) + bytes([(self._acc << (8 - self._nacc)) & 0xFF])
        return bytes(self._buf)


_EMULATION = re.compile(b"\x00\x00\x03")
_NEEDS_PREVENTION = re.compile(b"\x00\x00(?=[\x00-\x03])")


def ebsp_to_rbsp(data: bytes | bytearray | memoryview) -> bytes:
    """Remove emulation-prevention bytes: every ``00 00 03`` becomes ``00 00``."""
    raw = bytes(data)
    if b"\x00\x00\x03" not in raw:
        return raw
    return _EMULATION.sub(b"\x00\x00", raw)


def rbsp_to_ebsp(data: bytes | bytearray | memoryview) -> bytes:
    """Insert emulation-prevention bytes so that no ``00 00 0x`` (x <= 3) occurs, and the NAL unit
    does not end in ``00`` (H.264 section 7.4.1)."""
    raw = bytes(data)
    if b"\x00\x00" not in raw:
        return raw
    out = _NEEDS_PREVENTION.sub(b"\x00\x00\x03", raw)
    if out.endswith(b"\x00\x00"):
        out += b"\x03"
    return out
