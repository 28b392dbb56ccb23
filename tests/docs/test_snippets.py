"""Every Python snippet of every page of docs/ runs as written (see snippets.py for what counts).

Each page runs in a fresh interpreter (its snippets in order, in one namespace), in a temporary
directory holding a copy of tests/vectors, with a bounded wait. The collector itself is tested on
small pages, so a snippet that fails makes the test fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .snippets import DOCS, ROOT, Snippet, extract, pages, run_page

#: The snippets allowed not to run (``# doc-skip: reason``), by page. Keep it short.
ALLOWED_SKIPS: dict[str, list[str]] = {}

#: A page's snippets start servers on 127.0.0.1 and talk to them; each stops what it starts.
PAGE_TIMEOUT = 300


def _page_id(page: Path) -> str:
    return str(page.relative_to(DOCS))


def _run(page: Path, workdir: Path) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("snippets.py")), "--json", "--workdir", str(workdir),
         str(page)],
        capture_output=True, text=True, timeout=PAGE_TIMEOUT, env=env, cwd=workdir,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{"page"')]
    assert lines, f"no summary (exit status {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    summary: dict[str, object] = json.loads(lines[-1])
    assert summary["error"] is None, f"{summary['error']}\n--- stderr ---\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    return summary


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_page_snippets_run(page: Path, tmp_path: Path) -> None:
    summary = _run(page, tmp_path)
    name = _page_id(page)
    skipped = [reason for _, reason in summary["skipped"]]  # type: ignore[union-attr]
    assert skipped == ALLOWED_SKIPS.get(name, []), f"unexpected doc-skip markers in {name}: {skipped}"
    python = [b for b in extract(page) if b.runs]
    assert summary["ran"] == len(python) - len(skipped), "every Python snippet of the page ran"
    print(f"{name}: {summary['ran']} snippets ran, skipped {skipped}, other blocks {summary['other']}")


def test_every_page_is_collected() -> None:
    names = {_page_id(p) for p in pages()}
    assert {"quickstart.rst", "design.rst", "guide/rtmp.rst", "guide/rtsp.rst", "guide/hls.rst"} <= names
    assert all(not n.startswith("api/") for n in names)


# The collector itself: it finds each kind of block, and a failing snippet fails the page.

_PAGE = """\
Title
=====

Text with a literal block::

    x = 1

.. code-block:: python
   :caption: a caption

    y = x + 1

.. code-block:: console

    python3 -m this is not python

>>> x + y
3

* a bullet with its own block::

      z = y * 10

::

    >>> z
    20
"""


def test_extract_finds_every_kind_of_block(tmp_path: Path) -> None:
    blocks = extract(tmp_path / "page.rst", _PAGE)
    assert [(b.kind, b.line) for b in blocks] == [
        ("python", 6), ("python", 11), ("console", 15), ("doctest", 17), ("python", 22), ("doctest", 26)]
    assert blocks[1].code == "y = x + 1\n"
    assert blocks[4].code == "z = y * 10\n"


def _page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.rst"
    path.write_text(text)
    return path


def test_a_page_runs_in_order_in_one_namespace(tmp_path: Path) -> None:
    page = _page(tmp_path, _PAGE)
    try:
        summary = run_page(page, tmp_path / "work")
    finally:
        page.unlink()
    assert summary["error"] is None and summary["ran"] == 5 and summary["other"] == ["console"]


@pytest.mark.parametrize("text,message", [
    ("Run it::\n\n    python3 examples/rtmp_push.py --seconds 1\n", "not Python"),
    (".. code-block:: python\n\n    undefined_name\n", "NameError"),
    (">>> 1 + 1\n3\n", "Expected:"),
    ("Reads::\n\n    open('no-such-file.flv', 'rb')\n", "FileNotFoundError"),
])
def test_a_failing_snippet_fails_the_page(tmp_path: Path, text: str, message: str) -> None:
    page = _page(tmp_path, text)
    try:
        summary = run_page(page, tmp_path / "work")
    finally:
        page.unlink()
    assert summary["ran"] == 0 and message in str(summary["error"])


def test_the_vectors_are_in_the_working_directory(tmp_path: Path) -> None:
    page = _page(tmp_path, "::\n\n    assert open('ref.flv', 'rb').read(3) == b'FLV'\n"
                           "    assert open('ref.ts', 'rb').read(1) == b'G'\n")
    try:
        summary = run_page(page, tmp_path / "work")
    finally:
        page.unlink()
    assert summary["error"] is None and summary["ran"] == 1


def test_skip_marker_is_counted(tmp_path: Path) -> None:
    snippet = Snippet(tmp_path / "p.rst", 1, "python", "# doc-skip: needs a camera\nconnect()\n")
    assert snippet.skip_reason == "needs a camera"
