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
def modern_ffmpeg() -> str:
    """Path of an ffmpeg >= 6.1, which reads and writes Enhanced FLV/RTMP (HEVC ``hvc1``)."""
    path, why = _ffmpeg.find_modern()
    if path is None:
        _ffmpeg.missing(f"no ffmpeg >= 6.1: {why}")
    assert path is not None
    return path
