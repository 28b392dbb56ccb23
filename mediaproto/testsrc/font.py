"""A 5x7 bitmap font for the burned-in clock of the test picture.

Each glyph is seven rows of five cells (``#`` set, ``.`` clear). The font covers what the clock and
its labels need: digits, ``:``, ``.``, ``/``, ``-``, space and the capital letters A-Z.
"""

from __future__ import annotations

__all__ = ["GLYPH_WIDTH", "GLYPH_HEIGHT", "glyph_rows", "render_text"]

#: Width of a glyph in font cells (not counting the one-cell gap between glyphs).
GLYPH_WIDTH = 5
#: Height of a glyph in font cells.
GLYPH_HEIGHT = 7

_GLYPHS: dict[str, str] = {
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    ":": "..... ..#.. ..#.. ..... ..#.. ..#.. .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    "/": "....# ....# ...#. ..#.. .#... #.... #....",
    "-": "..... ..... ..... .###. ..... ..... .....",
    " ": "..... ..... ..... ..... ..... ..... .....",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
}

_ROWS: dict[str, tuple[str, ...]] = {ch: tuple(g.split()) for ch, g in _GLYPHS.items()}


def glyph_rows(char: str) -> tuple[str, ...]:
    """The seven rows of ``char`` (``#`` set); unknown characters render as a blank cell."""
    return _ROWS.get(char.upper(), _ROWS[" "])


def render_text(text: str, scale: int, on: int, off: int) -> tuple[int, int, list[bytes]]:
    """Rasterise ``text`` as 8-bit samples, each font cell ``scale`` x ``scale`` samples.

    Glyphs are separated by one blank cell. Returns ``(width, height, rows)``: ``rows`` holds
    ``height`` byte strings of ``width`` samples, ``on`` where a cell is set and ``off`` elsewhere.
    """
    on_cell = bytes([on]) * scale
    off_cell = bytes([off]) * scale
    rows: list[bytes] = []
    for r in range(GLYPH_HEIGHT):
        cells = []
        for i, ch in enumerate(text):
            if i:
                cells.append(off_cell)
            pattern = glyph_rows(ch)[r]
            cells.extend(on_cell if c == "#" else off_cell for c in pattern)
        line = b"".join(cells)
        rows.extend([line] * scale)
    width = len(rows[0]) if rows else 0
    return width, len(rows), rows
