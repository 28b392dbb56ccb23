"""Every Python program of docs/guide/asyncio.rst runs as written (in a fresh interpreter, from the
checkout) and prints what the page says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide" / "asyncio.rst"


def programs() -> list[str]:
    text = GUIDE.read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return ["\n".join(line[4:] for line in block.splitlines()) for block in blocks]


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout


def test_the_page_has_its_five_programs() -> None:
    assert len(programs()) == 5


@pytest.mark.parametrize("index,expected", [
    (0, r"track 0 h264 320 240\ntrack 1 aac 0 0\nlive/key: 144 frames\n"),
    (1, r"72 frames, times in ms: \[0, 0, 21\]\n"),
    (2, r"tcp \['h264', 'aac'\] 72 frames\nudp \['h264', 'aac'\] 72 frames\n"),
    (3, r"72 frames recorded\n"),
    (4, r"72 frames\n"),
])
def test_program_runs_and_prints(index: int, expected: str) -> None:
    assert re.fullmatch(expected, run(programs()[index]))
