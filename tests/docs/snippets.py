"""Find and run the code snippets of the documentation's pages.

A page of ``docs/`` is a tutorial: its Python blocks run in order in one namespace, so a later
block uses the names an earlier one made. What counts as Python:

* ``.. code-block:: python`` (also ``python3``, ``pycon``, ``py``, ``default``);
* every literal block introduced by ``::``: Sphinx highlights those as Python, so a shell command,
  a log line or a file listing must say what it is (``.. code-block:: console``, ``text``,
  ``toml``) or it fails here, because it does not compile;
* doctest blocks (a paragraph starting with ``>>>``), and any of the above whose first line starts
  with ``>>>``: they run through :mod:`doctest` (``ELLIPSIS``) in the same namespace, so their
  printed values are checked.

A Python block whose first line is ``# doc-skip: <reason>`` is not run; it is reported and
counted, and ``tests/docs/test_snippets.py`` holds the list of the allowed ones.

The snippets run with the working directory set to a fresh directory holding a copy of
``tests/vectors`` and ``tests/rtmp/vectors`` (``ref.flv``, ``ref.ts``, ``hls-ts/``,
``x265-64x48.hevc`` ...), the files the pages read.

Run one page by hand (what the test does for every page)::

    python3 tests/docs/snippets.py docs/guide/flv.rst
"""

from __future__ import annotations

import argparse
import doctest
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: The folders of files the pages read, copied into the working directory of their snippets.
VECTORS = (ROOT / "tests" / "vectors", ROOT / "tests" / "rtmp" / "vectors")

PYTHON_LANGUAGES = frozenset({"python", "python3", "py", "pycon", "default"})
SKIP_MARK = "# doc-skip:"

_DIRECTIVE = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(\S*)\s*$")


@dataclass(frozen=True)
class Snippet:
    """One block of a page: ``kind`` is ``python``, ``doctest`` or the language it was marked with."""

    page: Path
    line: int  # 1-based line of the block's first line in the page
    kind: str
    code: str

    @property
    def skip_reason(self) -> str | None:
        first = self.code.lstrip().split("\n", 1)[0].strip()
        return first[len(SKIP_MARK):].strip() if first.startswith(SKIP_MARK) else None

    @property
    def runs(self) -> bool:
        return self.kind in ("python", "doctest")

    @property
    def where(self) -> str:
        return f"{_name(self.page)}:{self.line}"


def _name(page: Path) -> str:
    """The page's path from the repository's root (or as given, for a page elsewhere)."""
    try:
        return str(page.relative_to(ROOT))
    except ValueError:
        return str(page)


def pages() -> list[Path]:
    """Every page of the documentation that a reader reads (the API pages are autodoc stubs)."""
    return sorted(DOCS.glob("*.rst")) + sorted((DOCS / "guide").glob("*.rst"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _take_indented(lines: list[str], i: int, indent: int) -> tuple[str, int, int]:
    """The block of lines indented deeper than ``indent`` from line ``i`` on (blank lines first
    skipped): its dedented text, the index of its first line and the index after it."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    start = i
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        i += 1
    end = i
    while end > start and not lines[end - 1].strip():
        end -= 1
    body = lines[start:end]
    depth = min((_indent(line) for line in body if line.strip()), default=0)
    return "\n".join(line[depth:] for line in body) + "\n", start, i


def _kind(language: str, code: str) -> str:
    if language in PYTHON_LANGUAGES:
        return "doctest" if code.lstrip().startswith(">>>") else "python"
    return language


def extract(page: Path, text: str | None = None) -> list[Snippet]:
    """The code blocks of a page, in order."""
    lines = (page.read_text() if text is None else text).splitlines()
    out: list[Snippet] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _DIRECTIVE.match(line)
        if match:
            indent = _indent(line)
            i += 1
            while i < len(lines) and lines[i].strip().startswith(":") and _indent(lines[i]) > indent:
                i += 1  # directive options (:caption:, :emphasize-lines: ...)
            code, start, i = _take_indented(lines, i, indent)
            language = match.group(2) or "default"
            if code.strip():
                out.append(Snippet(page, start + 1, _kind(language, code), code))
            continue
        stripped = line.rstrip()
        if stripped.endswith("::") and not stripped.lstrip().startswith(".."):
            code, start, i = _take_indented(lines, i + 1, _indent(line))
            if code.strip():
                out.append(Snippet(page, start + 1, _kind("default", code), code))
            continue
        if stripped.lstrip().startswith(">>>"):
            start = i
            while i < len(lines) and lines[i].strip():
                i += 1
            depth = _indent(lines[start])
            code = "\n".join(part[depth:] for part in lines[start:i]) + "\n"
            out.append(Snippet(page, start + 1, "doctest", code))
            continue
        i += 1
    return out


class SnippetFailed(Exception):
    """A snippet raised, or a doctest's output differed; the message says where and how."""


def run_snippet(snippet: Snippet, namespace: dict[str, object]) -> None:
    """Run one Python or doctest block in ``namespace`` (line numbers are the page's)."""
    if snippet.kind == "doctest":
        parser = doctest.DocTestParser()
        test = parser.get_doctest(snippet.code, {}, snippet.where, str(snippet.page), snippet.line - 1)
        test.globs = namespace  # the page's namespace itself, not a copy
        report: list[str] = []
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=report.append, clear_globs=False)
        if runner.failures:
            raise SnippetFailed("".join(report))
        return
    try:
        code = compile("\n" * (snippet.line - 1) + snippet.code, str(snippet.page), "exec")
    except SyntaxError as exc:
        raise SnippetFailed(
            f"{snippet.where}: not Python ({exc.msg}, line {exc.lineno}); a shell command or other"
            " text needs '.. code-block:: console' (or text, toml ...)") from exc
    try:
        exec(code, namespace)
    except BaseException as exc:  # noqa: B036 - SystemExit from a snippet is a failure too
        detail = "".join(traceback.format_exception(exc))
        raise SnippetFailed(f"{snippet.where}: {type(exc).__name__}: {exc}\n{detail}") from exc


def prepare_workdir(path: Path) -> None:
    """Copy the files the pages read (``tests/vectors``, ``tests/rtmp/vectors``) into ``path``."""
    for folder in VECTORS:
        shutil.copytree(folder, path, dirs_exist_ok=True)


def run_page(page: Path, workdir: Path) -> dict[str, object]:
    """Run every Python snippet of ``page`` in order, in ``workdir``; stop at the first failure.

    Returns a summary: ``ran`` (how many ran), ``skipped`` (``[where, reason]`` of each
    ``doc-skip``), ``other`` (languages of the blocks that are not Python) and ``error`` (the
    failure's message, or ``None``)."""
    prepare_workdir(workdir)
    namespace: dict[str, object] = {"__name__": "__doc_snippets__"}
    summary: dict[str, object] = {"page": _name(page), "ran": 0, "skipped": [],
                                  "other": [], "error": None, "seconds": []}
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        for snippet in extract(page):
            if not snippet.runs:
                summary["other"].append(snippet.kind)  # type: ignore[union-attr]
                continue
            reason = snippet.skip_reason
            if reason is not None:
                summary["skipped"].append([snippet.where, reason])  # type: ignore[union-attr]
                continue
            started = time.monotonic()
            try:
                run_snippet(snippet, namespace)
            except SnippetFailed as exc:
                summary["error"] = str(exc)
                break
            summary["ran"] += 1  # type: ignore[operator]
            summary["seconds"].append(round(time.monotonic() - started, 3))  # type: ignore[union-attr]
    finally:
        os.chdir(cwd)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages to run (default: every page)")
    parser.add_argument("--workdir", type=Path, help="run in this directory (default: a new temporary one)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line per page")
    args = parser.parse_args(argv)
    failed = False
    for page in [p.resolve() for p in args.pages] or pages():
        with tempfile.TemporaryDirectory(prefix="mediaproto-docs-") as tmp:
            workdir = args.workdir or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            summary = run_page(page, workdir)
        # A snippet's own output went to stdout before this line; the summary is the last line.
        sys.stdout.flush()
        if args.json:
            print(json.dumps(summary), flush=True)
        else:
            state = "FAILED" if summary["error"] else "ok"
            print(f"{summary['page']}: {summary['ran']} snippets ran, {len(summary['skipped'])} skipped"  # type: ignore[arg-type]
                  f" ({state})", flush=True)
            if summary["error"]:
                print(summary["error"], file=sys.stderr)
        failed = failed or bool(summary["error"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
