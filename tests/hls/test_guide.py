"""The examples of docs/guide/hls.rst run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mediaproto import hls

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "hls.rst"


def _blocks(text: str) -> list[str]:
    blocks = []
    for m in re.finditer(r"::\n\n((?:    .*\n|\n)+)", text):
        lines = [ln[4:] for ln in m.group(1).splitlines()]
        blocks.append("\n".join(lines).strip() + "\n")
    return blocks


def test_guide_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if not GUIDE.is_file():
        pytest.skip("docs not present")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    blocks = _blocks(GUIDE.read_text())
    exec(compile(blocks[0], str(GUIDE), "exec"), namespace)  # noqa: S102 - our own documentation
    # What the first section wrote: a finished VOD-like playlist of 20 s in 6 segments, no temp file
    # left (later sections reuse the names for their own live examples).
    live = tmp_path / "live"
    pl = hls.parse((live / "index.m3u8").read_text())
    assert isinstance(pl, hls.MediaPlaylist) and pl.endlist and len(pl.segments) == 6
    assert all((live / s.uri).is_file() for s in pl.segments)
    assert not list(live.glob("*.tmp"))
    for block in blocks[1:]:
        exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert 'URI="https://keys.example.com/2"' in printed and "https://cdn.example.com/seg1.ts" in printed
    assert printed.rstrip().endswith("#EXT-X-ENDLIST")
