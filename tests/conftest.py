"""Shared test configuration: hypothesis profiles, the shared vectors, and the interop gate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: The byte streams and files captured from FFmpeg (see their README), beside the checkout.
VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder of shared vectors; tests that need it skip where it is absent."""
    if not VECTORS.is_dir():
        pytest.skip(f"shared vectors not found at {VECTORS}")
    return VECTORS
