"""``mediaproto-server --loop``: uvloop (the ``mediaproto[fast]`` extra) when installed, asyncio's
loop otherwise, and a log line that says which; the server plays the same on both."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mediaproto.server.cli import UsageError, loop_factory

from .test_cli import hls_segment, running

try:
    import uvloop
except ImportError:  # pragma: no cover - the [fast] extra is not installed
    uvloop = None

needs_uvloop = pytest.mark.skipif(uvloop is None, reason="uvloop not installed (pip install mediaproto[fast])")


def test_asyncio_when_asked() -> None:
    assert loop_factory("asyncio") == ("asyncio", None)


@needs_uvloop
def test_auto_takes_uvloop_when_installed() -> None:
    name, factory = loop_factory("auto")
    assert name.startswith("uvloop ") and factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_auto_without_uvloop_is_asyncio_and_uvloop_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    assert loop_factory("auto") == ("asyncio", None)
    with pytest.raises(UsageError, match="uvloop is not installed"):
        loop_factory("uvloop")


@pytest.mark.parametrize("loop", ["asyncio", pytest.param("uvloop", marks=needs_uvloop)])
def test_the_log_names_the_loop_and_hls_plays(loop: str) -> None:
    with running("--loop", loop) as (proc, ports, _banner):
        data = hls_segment(ports["http"])
        assert data[0] == 0x47 and len(data) % 188 == 0
    assert proc.stderr is not None
    log = proc.stderr.read()
    assert f"event loop: {loop}" in log, log


@pytest.mark.interop
@pytest.mark.parametrize("loop", ["asyncio", pytest.param("uvloop", marks=needs_uvloop)])
def test_ffprobe_reads_rtmp_and_rtsp_on_each_loop(ffprobe: str, loop: str) -> None:
    with running("--loop", loop) as (_, ports, _banner):
        for url, extra in ((f"rtsp://127.0.0.1:{ports['rtsp']}/live/test", ["-rtsp_transport", "tcp"]),
                           (f"rtsp://127.0.0.1:{ports['rtsp']}/live/test", ["-rtsp_transport", "udp"]),
                           (f"rtmp://127.0.0.1:{ports['rtmp']}/live/test", [])):
            out = subprocess.run([ffprobe, "-v", "error", *extra, "-show_entries", "stream=codec_name",
                                  "-of", "csv=p=0", url], capture_output=True, text=True, timeout=30,
                                 env={**os.environ})
            assert sorted(out.stdout.split()) == ["aac", "h264"], (url, out.stderr)
