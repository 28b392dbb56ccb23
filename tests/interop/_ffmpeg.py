"""Which FFmpeg a test runs, by version, and the frames it decodes.

Enhanced RTMP / Enhanced FLV (FourCC ``hvc1``) is read and written by FFmpeg from 6.1 on
(libavformat 60.16). Debian 12's FFmpeg is 5.1, so the HEVC cells run against "a modern ffmpeg":
the system one when it is 6.1 or later, else the static binary of the ``imageio-ffmpeg`` package
(part of the ``test`` extra). It ships no ffprobe: frames are counted with ``-f framemd5``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The first release that reads and writes Enhanced FLV/RTMP with HEVC.
MODERN = (6, 1)
#: libavformat of FFmpeg 6.1, for builds that name no release (``ffmpeg version N-...``).
MODERN_LAVF = (60, 16)
TIMEOUT = 120


def required() -> bool:
    """``MEDIAPROTO_REQUIRE_INTEROP=1``: a missing peer or feature fails instead of skipping."""
    return os.environ.get("MEDIAPROTO_REQUIRE_INTEROP") == "1"


def missing(reason: str) -> None:
    """Skip the test for ``reason``, or fail it when interop is required."""
    if required():
        pytest.fail(f"{reason} (MEDIAPROTO_REQUIRE_INTEROP=1)")
    pytest.skip(reason)


def version(path: str) -> tuple[int, int] | None:
    """The release (major, minor) of the ffmpeg at ``path``; None when it does not say."""
    out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"^ffmpeg version n?(\d+)\.(\d+)", out, re.M)
    if m:
        return int(m.group(1)), int(m.group(2))
    lavf = re.search(r"^libavformat\s+(\d+)\.\s*(\d+)\.", out, re.M)
    if lavf and (int(lavf.group(1)), int(lavf.group(2))) >= MODERN_LAVF:
        return MODERN  # a git build at least as new as 6.1's libavformat
    return None


def is_modern(path: str) -> bool:
    v = version(path)
    return v is not None and v >= MODERN


def find_modern() -> tuple[str | None, str]:
    """The path of an ffmpeg >= 6.1 (system first, then imageio-ffmpeg's), and what was tried."""
    tried = []
    system = shutil.which("ffmpeg")
    if system is not None:
        if is_modern(system):
            return system, ""
        tried.append(f"system ffmpeg {version(system)} at {system} is older than {MODERN}")
    else:
        tried.append("no system ffmpeg")
    try:
        import imageio_ffmpeg
    except ImportError:
        tried.append("imageio-ffmpeg is not installed (pip install -e '.[test]')")
        return None, "; ".join(tried)
    bundled = imageio_ffmpeg.get_ffmpeg_exe()
    if is_modern(bundled):
        return bundled, ""
    tried.append(f"imageio-ffmpeg's ffmpeg {version(bundled)} at {bundled} is older than {MODERN}")
    return None, "; ".join(tried)


def has_encoder(ffmpeg: str, encoder: str) -> bool:
    out = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30).stdout
    return f" {encoder} " in out


@dataclass(frozen=True)
class Decoded:
    """What ``ffmpeg -f framemd5`` printed for one input: per stream, the (size, md5) of each frame."""

    returncode: int
    stderr: str
    dimensions: dict[int, str]
    frames: dict[int, list[tuple[int, str]]]


def parse_framemd5(stdout: str, returncode: int, stderr: str) -> Decoded:
    dims: dict[int, str] = {}
    frames: dict[int, list[tuple[int, str]]] = {}
    for line in stdout.splitlines():
        if line.startswith("#dimensions"):
            head, dim = line.split(":", 1)  # "#dimensions 0: 160x120"
            dims[int(head.split()[1])] = dim.strip()
        elif line and not line.startswith("#"):
            cols = [c.strip() for c in line.split(",")]
            frames.setdefault(int(cols[0]), []).append((int(cols[4]), cols[5]))
    return Decoded(returncode, stderr, dims, frames)


def decode(ffmpeg: str, source: str | Path, *before_input: str) -> Decoded:
    """Decode every frame of ``source`` (a file or URL) with ``-f framemd5``; errors are logged."""
    proc = subprocess.run(
        [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", *before_input, "-i", str(source), "-f", "framemd5", "-"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    return parse_framemd5(proc.stdout, proc.returncode, proc.stderr)


def encode_hevc(ffmpeg: str, out: Path, frames: int, keyint: int, size: str = "160x120", rate: int = 25) -> None:
    """An HEVC elementary stream of lavfi's testsrc made by libx265 (no B-frames)."""
    if not has_encoder(ffmpeg, "libx265"):
        missing(f"{ffmpeg} has no libx265")
    subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}",
         "-frames:v", str(frames), "-c:v", "libx265",
         "-x265-params", f"log-level=error:keyint={keyint}:min-keyint={keyint}:bframes=0",
         "-f", "hevc", str(out)],
        check=True, timeout=TIMEOUT, capture_output=True,
    )
