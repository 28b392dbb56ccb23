"""The test picture: colour bars and a burned-in clock, as 8-bit 4:2:0 planes and I_PCM macroblocks.

The upper two thirds of the picture hold the seven 75% colour bars (ITU-R BT.601 limited range,
the values of EBU/SMPTE 75% bars); the lower third is black with text lines in white, drawn with
the 5x7 font of :mod:`mediaproto.testsrc.font`. Text is luma only on a black (neutral chroma)
background, so the chroma planes never change and only the macroblock rows under the text are
rebuilt when the text changes.

The planes are kept at the coded size (whole macroblocks); :class:`Picture` is the visible,
cropped picture a decoder outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LocalProtocolError
from .font import GLYPH_HEIGHT, GLYPH_WIDTH, render_text

__all__ = ["Picture", "Canvas", "BARS", "BLACK", "TEXT_WHITE"]

#: The 75% colour bars, left to right, as ``(Y, Cb, Cr)`` in BT.601 limited range:
#: white, yellow, cyan, green, magenta, red, blue.
BARS: tuple[tuple[int, int, int], ...] = (
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
)
#: Black, ``(Y, Cb, Cr)``.
BLACK = (16, 128, 128)
#: The luma of the text (100% white).
TEXT_WHITE = 235

#: Characters per text line the layout is sized for ("hh:mm:ss.mmm", "FRAME 000000").
LINE_CHARS = 12


@dataclass(frozen=True, slots=True)
class Picture:
    """A visible picture in planar 4:2:0 (``yuv420p``): ``y`` is ``width * height`` samples,
    ``u`` and ``v`` are ``width/2 * height/2`` samples each, rows top to bottom."""

    width: int
    height: int
    y: bytes
    u: bytes
    v: bytes

    def yuv420p(self) -> bytes:
        """The three planes concatenated, as ``ffmpeg -f rawvideo -pix_fmt yuv420p`` writes them."""
        return self.y + self.u + self.v


class Canvas:
    """Draws the test picture at ``width`` x ``height`` (both even) and cuts it into macroblocks.

    The coded size is the visible size rounded up to whole 16x16 macroblocks; the padding repeats
    the last visible column and row.
    """

    __slots__ = (
        "width", "height", "mb_width", "mb_height", "stride", "scale", "text_origin",
        "_y", "_u", "_v", "_text_mb_rows", "_base_mbs",
    )

    def __init__(self, width: int, height: int) -> None:
        if width < 2 or height < 2 or width % 2 or height % 2:
            raise LocalProtocolError(f"picture size must be even and at least 2x2, got {width}x{height}")
        self.width = width
        self.height = height
        self.mb_width = (width + 15) // 16
        self.mb_height = (height + 15) // 16
        self.stride = self.mb_width * 16
        coded_h = self.mb_height * 16
        cstride = self.stride // 2

        # Colour bars over the top two thirds, black below; bar edges on even columns.
        bars_h = (height * 2 // 3) & ~1
        edges = [min(width, (round(i * width / len(BARS)) + 1) & ~1) for i in range(len(BARS) + 1)]
        edges[-1] = width
        y_bar = bytearray()
        u_bar = bytearray()
        v_bar = bytearray()
        for i, (yy, cb, cr) in enumerate(BARS):
            n = edges[i + 1] - edges[i]
            y_bar += bytes([yy]) * n
            u_bar += bytes([cb]) * (n // 2)
            v_bar += bytes([cr]) * (n // 2)
        y_black = bytes([BLACK[0]]) * width
        c_black = bytes([BLACK[1]]) * (width // 2)

        def pad(row: bytes | bytearray, size: int) -> bytes:
            return bytes(row) + bytes(row[-1:]) * (size - len(row))

        y_rows = [pad(y_bar if r < bars_h else y_black, self.stride) for r in range(height)]
        y_rows += [y_rows[-1]] * (coded_h - height)
        u_rows = [pad(u_bar if 2 * r < bars_h else c_black, cstride) for r in range(height // 2)]
        v_rows = [pad(v_bar if 2 * r < bars_h else c_black, cstride) for r in range(height // 2)]
        u_rows += [u_rows[-1]] * (coded_h // 2 - height // 2)
        v_rows += [v_rows[-1]] * (coded_h // 2 - height // 2)
        self._y = b"".join(y_rows)
        self._u = b"".join(u_rows)
        self._v = b"".join(v_rows)

        # Text layout: two lines in the black lower third, as large as fits.
        cells_w = LINE_CHARS * (GLYPH_WIDTH + 1) - 1
        lower = height - bars_h
        scale = min((width - 4) // cells_w, (lower - 4) // (2 * GLYPH_HEIGHT + 3))
        self.scale = max(1, scale)
        text_w = cells_w * self.scale
        text_h = (2 * GLYPH_HEIGHT + 3) * self.scale
        x0 = max(0, (width - text_w) // 2)
        y0 = bars_h + max(0, (lower - text_h) // 2)
        self.text_origin = (x0, y0)
        last_row = min(height, y0 + text_h) - 1
        self._text_mb_rows = range(y0 // 16, last_row // 16 + 1) if y0 < height else range(0)
        self._base_mbs = self._macroblocks(self._y, range(self.mb_height))

    def luma(self, lines: Sequence[str]) -> bytes:
        """The coded-size luma plane with ``lines`` of text drawn (clipped to the picture)."""
        if not self._text_mb_rows:
            return self._y
        y = bytearray(self._y)
        x0, y0 = self.text_origin
        stride = self.stride
        for n, line in enumerate(lines[:2]):
            w, h, rows = render_text(line, self.scale, TEXT_WHITE, BLACK[0])
            top = y0 + n * (GLYPH_HEIGHT + 3) * self.scale
            w = min(w, self.width - x0)
            for r in range(min(h, self.height - top)):
                pos = (top + r) * stride + x0
                y[pos:pos + w] = rows[r][:w]
        return bytes(y)

    def picture(self, lines: Sequence[str]) -> Picture:
        """The visible picture with ``lines`` of text, as a decoder outputs it (cropped)."""
        y = self.luma(lines)
        w, h, s = self.width, self.height, self.stride
        cw, cs = w // 2, s // 2
        return Picture(
            width=w,
            height=h,
            y=b"".join([y[r * s:r * s + w] for r in range(h)]),
            u=b"".join([self._u[r * cs:r * cs + cw] for r in range(h // 2)]),
            v=b"".join([self._v[r * cs:r * cs + cw] for r in range(h // 2)]),
        )

    def macroblocks(self, lines: Sequence[str]) -> list[bytes]:
        """The 384-byte I_PCM sample blocks (256 luma, 64 Cb, 64 Cr) of every macroblock in raster
        order, with ``lines`` of text drawn. Rows without text come from a cache."""
        if not self._text_mb_rows:
            return self._base_mbs
        fresh = self._macroblocks(self.luma(lines), self._text_mb_rows)
        first = self._text_mb_rows.start * self.mb_width
        return self._base_mbs[:first] + fresh + self._base_mbs[first + len(fresh):]

    def _macroblocks(self, y: bytes, mb_rows: range) -> list[bytes]:
        stride = self.stride
        cstride = stride // 2
        u, v = self._u, self._v
        out: list[bytes] = []
        for mby in mb_rows:
            ly = [y[(mby * 16 + i) * stride:(mby * 16 + i + 1) * stride] for i in range(16)]
            cu = [u[(mby * 8 + i) * cstride:(mby * 8 + i + 1) * cstride] for i in range(8)]
            cv = [v[(mby * 8 + i) * cstride:(mby * 8 + i + 1) * cstride] for i in range(8)]
            for mbx in range(self.mb_width):
                a, b = mbx * 16, mbx * 16 + 16
                c, d = mbx * 8, mbx * 8 + 8
                out.append(
                    b"".join([row[a:b] for row in ly])
                    + b"".join([row[c:d] for row in cu])
                    + b"".join([row[c:d] for row in cv])
                )
        return out
