"""The short fuzz run in the normal test command, and the replay of every saved failure.

Each target gets ``MEDIAPROTO_FUZZ_INPUTS`` inputs (default 2,000) from a seed taken from
``MEDIAPROTO_FUZZ_SEED`` (default: random, printed in the failure message, so a failure can be run
again with the same seed). The long run is ``python -m tests.fuzz --minutes N`` (docs/testing.rst).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from mediaproto.errors import ParseError

from .engine import REGRESSIONS, Finding, Target, check, chunks, fuzz
from .targets import all_targets, target_of

INPUTS = int(os.environ.get("MEDIAPROTO_FUZZ_INPUTS", "2000"))
SEED = int(os.environ.get("MEDIAPROTO_FUZZ_SEED") or random.SystemRandom().randrange(2**32))


@pytest.mark.parametrize("name", sorted(all_targets()))
def test_short_fuzz(name: str) -> None:
    target = all_targets()[name]
    known = KNOWN_OPEN_KEYS.get(name, ())
    stats = fuzz(target, rng=random.Random(SEED), inputs=INPUTS, max_findings=1 + len(known))
    findings = [f for f in stats.findings.values() if f.key not in known]
    assert not findings, (f"MEDIAPROTO_FUZZ_SEED={SEED} {name}: {findings[0].key} on "
                          f"{findings[0].data[:200]!r}\n{findings[0].detail}")
    assert stats.inputs >= INPUTS
    assert stats.memory_checked > 0


#: Saved failures in code this harness does not own, still open: each is expected to fail (strict:
#: once fixed, the test says so, and the entry goes).
KNOWN_OPEN: dict[str, str] = {}


#: The same, as the finding keys the short run tolerates per target.
KNOWN_OPEN_KEYS = {
    "server_http": ("exception:ServerFault:http: request from #.#.#.# failed [IncompleteReadError(#)]",),
}


def _regressions() -> list[object]:
    out: list[object] = []
    for path in sorted(REGRESSIONS.glob("*.bin")):
        reason = KNOWN_OPEN.get(path.name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(path, id=path.name, marks=marks))
    return out


@pytest.mark.parametrize("path", _regressions())
def test_regression(path: Path) -> None:
    """A failure the fuzzer once found (minimized) now keeps the contract."""
    target = target_of(path.stem)
    finding = check(target, path.read_bytes(), measure=True)[0]
    assert finding is None, finding.detail


def test_every_regression_names_a_target() -> None:
    names = all_targets()
    for path in REGRESSIONS.glob("*.bin"):
        assert path.stem.rsplit("-", 1)[0] in names, path.name


# -- the engine itself: it must be able to fail ---------------------------------------------------

def _raises_value_error(data: bytes) -> object:
    if b"\xb3" in data:
        raise ValueError("a Unicode digit")
    if data[:1] == b"!":
        raise ParseError("bad", offset=0)
    return len(data)


def test_engine_finds_and_minimizes_a_non_protocol_error() -> None:
    from .engine import minimize
    target = Target("toy", _raises_value_error, lambda: [b"m=video 9 RTP/AVP 96"], (b"\xb3",))
    stats = fuzz(target, rng=random.Random(1), inputs=3000)
    assert len(stats.findings) == 1
    finding = next(iter(stats.findings.values()))
    assert finding.kind == "exception" and "ValueError" in finding.key
    assert minimize(target, finding) == b"\xb3"


def test_engine_holds_protocol_errors_to_be_fine() -> None:
    target = Target("toy", _raises_value_error, lambda: [b"!"])
    assert check(target, b"!")[0] is None


def test_engine_catches_memory_beyond_the_bound() -> None:
    def hungry(data: bytes) -> object:
        return bytearray(1 << 20)  # 1 MiB for any input: a length field believed
    target = Target("toy", hungry, lambda: [b"x"], mem_base=64 * 1024, mem_factor=64)
    finding = check(target, b"\x00\x10\x00\x00", measure=True)[0]
    assert isinstance(finding, Finding) and finding.kind == "memory"


def test_chunks_cover_the_input_and_replay_the_same() -> None:
    rng = random.Random(3)
    for size in (0, 1, 2, 47, 48, 49, 1000):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert b"".join(chunks(data)) == data
        assert chunks(data) == chunks(data)
        assert all(chunks(data))
