"""Shared test configuration: hypothesis profiles, the test vectors, and the interop gate.

Hypothesis profiles (``HYPOTHESIS_PROFILE``, see docs/testing.rst):

* ``default`` — 100 examples per property, random seed, the example database in ``.hypothesis/``.
* ``ci`` — what ``.ci/run`` uses: 200 examples, a random seed on every run (not derandomized, so
  each run explores new inputs) and the same example database, which replays every failure it
  has seen first; a failure prints the blob that reproduces it (``@reproduce_failure``).
* ``long`` — on demand: 10,000 examples per property, for a long hunt.

Every value is set here, not inherited: Hypothesis loads a derandomized profile without a
database of its own when it sees ``CI=true``, and a profile registered without a value takes it
from the profile loaded at that moment.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parents[1]
_DATABASE = DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples")


def _profile(name: str, max_examples: int, print_blob: bool) -> None:
    settings.register_profile(
        name, max_examples=max_examples, print_blob=print_blob, deadline=None,
        suppress_health_check=[HealthCheck.too_slow], derandomize=False, database=_DATABASE,
    )


_profile("default", 100, print_blob=False)
_profile("ci", 200, print_blob=True)
_profile("long", 10_000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: The byte streams and files captured from FFmpeg (see their README), kept in the repository.
VECTORS = Path(__file__).resolve().parent / "vectors"
#: Every vector with its SHA-256 (``tests/vectors/SHA256SUMS``).
_SUMS = VECTORS / "SHA256SUMS"


def _vector_problems() -> list[str]:
    if not _SUMS.is_file():
        return [f"{_SUMS} is missing"]
    problems = []
    for line in _SUMS.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = VECTORS / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{path} differs from its SHA-256 in SHA256SUMS")
    return problems


def pytest_configure(config: pytest.Config) -> None:
    """A missing or altered vector stops the session with an error: it never skips a test."""
    problems = _vector_problems()
    if problems:
        raise pytest.UsageError("test vectors are broken:\n  " + "\n  ".join(problems))


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder of test vectors (``tests/vectors``), checked complete at start-up."""
    return VECTORS
