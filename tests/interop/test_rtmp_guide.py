"""The code of docs/guide/rtmp.rst runs: the chunk stream snippet, and "push to a service" against
mediaproto.aio.rtmp.serve_rtmp (on a free port)."""

from __future__ import annotations

import re
from pathlib import Path

from ._rtmp_helpers import ROOT, RtmpRecorder

GUIDE = ROOT / "docs" / "guide" / "rtmp.rst"


def _blocks() -> dict[str, str]:
    """Literal blocks of the guide by the title of their section."""
    text = GUIDE.read_text()
    out: dict[str, str] = {}
    for section in re.split(r"\n(?=[^\n]+\n-{3,}\n)", text):
        title = section.split("\n", 1)[0].strip()
        blocks = re.findall(r"::\n\n((?:    .*\n|\n)+)", section)
        out[title] = "\n".join("\n".join(line[4:] for line in b.splitlines()) for b in blocks)
    return out


def test_chunk_stream_snippet_runs() -> None:
    ns: dict[str, object] = {}
    exec(compile(_blocks()["The chunk stream alone"], str(GUIDE), "exec"), ns)
    messages = ns["messages"]
    assert isinstance(messages, list) and [m.type_id for m in messages] == [9, 1]


def test_push_snippet_runs_against_serve_rtmp(tmp_path: Path) -> None:
    code = _blocks()["Push to a service"]
    with RtmpRecorder() as srv:
        code = code.replace("1935", str(srv.port)).replace("frames_until(10.0)", "frames_until(2.0)")
        exec(compile(code, str(GUIDE), "exec"), {})
        assert srv.wait_ended("live/stream-key", 10)
        got = srv.frames["live/stream-key"]
    assert len(got) > 100 and sum(1 for f in got if f.track_id == 0) == 50
