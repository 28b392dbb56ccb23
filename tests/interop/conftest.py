"""Interop tests run real peers (ffmpeg, ffprobe) against our code over files and 127.0.0.1.

They skip when the tools are missing, unless ``MEDIAPROTO_REQUIRE_INTEROP=1`` (as ``.ci/run``
sets), in which case a missing tool is a failure. ``modern_ffmpeg`` is an FFmpeg of 6.1 or later
(the system one, else imageio-ffmpeg's static binary) for the Enhanced RTMP/FLV HEVC cells.
"""

from __future__ import annotations

import os
import shutil

import pytest

from . import _ffmpeg


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("MEDIAPROTO_REQUIRE_INTEROP") == "1":
            pytest.fail(f"{tool} is required (MEDIAPROTO_REQUIRE_INTEROP=1) but not installed")
        pytest.skip(f"{tool} not installed")
    return path


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """Path of the ffmpeg binary."""
    return _require("ffmpeg")


@pytest.fixture(scope="session")
def ffprobe() -> str:
    """Path of the ffprobe binary."""
    return _require("ffprobe")


@pytest.fixture(scope="session")
def gst_launch() -> str:
    """Path of gst-launch-1.0."""
    return _require("gst-launch-1.0")


#: The Python that has PyGObject (Debian's python3-gi): GStreamer scripts run in it, in a subprocess.
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="session")
def gst_python(gst_launch: str) -> str:
    """A Python with PyGObject, GStreamer and GstRtspServer (for tests/interop/_gst_*.py scripts)."""
    import subprocess

    probe = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import Gst, GstRtspServer")
    ok = os.path.exists(SYSTEM_PYTHON) and subprocess.run(
        [SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=60).returncode == 0
    if not ok:
        if os.environ.get("MEDIAPROTO_REQUIRE_INTEROP") == "1":
            pytest.fail(f"{SYSTEM_PYTHON} with python3-gi and gir1.2-gst-rtsp-server-1.0 is required")
        pytest.skip(f"{SYSTEM_PYTHON} has no python3-gi / GstRtspServer")
    return SYSTEM_PYTHON


@pytest.fixture(scope="session")
def modern_ffmpeg() -> str:
    """Path of an ffmpeg >= 6.1, which reads and writes Enhanced FLV/RTMP (HEVC ``hvc1``)."""
    path, why = _ffmpeg.find_modern()
    if path is None:
        _ffmpeg.missing(f"no ffmpeg >= 6.1: {why}")
    assert path is not None
    return path
