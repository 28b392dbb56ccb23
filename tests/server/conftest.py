"""The live-server tests use the interop tests' peers (ffmpeg, ffprobe: required in CI)."""

from tests.interop.conftest import ffmpeg, ffprobe  # noqa: F401 (fixtures)
