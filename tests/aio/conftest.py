"""The interop tests of tests/aio use the peers of tests/interop (ffmpeg, ffprobe), with the same
gate: skipped when missing, a failure under ``MEDIAPROTO_REQUIRE_INTEROP=1``."""

from tests.interop.conftest import ffmpeg, ffprobe

__all__ = ["ffmpeg", "ffprobe"]
