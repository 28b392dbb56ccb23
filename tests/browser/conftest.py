"""The browser tests use the interop tests' peers (ffmpeg: required in CI)."""

from tests.interop.conftest import ffmpeg  # noqa: F401 (fixture)
