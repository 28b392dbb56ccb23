"""The fuzz engine: a mutator, the contract each input is held to, a minimizer, regression files.

The contract, per input (:func:`check`):

* only :class:`~mediaproto.errors.ProtocolError` subclasses escape; any other exception (a
  ``ValueError``, an ``IndexError``, a ``LocalProtocolError`` out of a parser, a ``RecursionError``)
  is a finding;
* no input takes over :data:`TIME_LIMIT` seconds (a slow input is timed twice, and only the faster
  run counts, so a busy machine does not make findings); a watchdog stops an input after
  :data:`HANG_LIMIT` seconds;
* memory stays bounded: on a sample of inputs, :mod:`tracemalloc`'s peak during the call must stay
  under the target's bound (``mem_base + mem_factor * len(input)``), so a small input that claims
  a large length cannot make a parser allocate for it before the data arrives.

The mutator is pure Python: bit flips, random and "interesting" bytes and integers (8, 16, 32 bits,
both byte orders), inserts, deletes, duplicated ranges, splices of two corpus entries and the
target's dictionary tokens. An input whose outcome is new (a new error message shape, a new
result) joins the corpus, a cheap stand-in for coverage feedback.
"""

from __future__ import annotations

import hashlib
import random
import re
import signal
import struct
import threading
import time
import tracemalloc
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mediaproto.errors import ProtocolError

__all__ = ["Target", "Finding", "Stats", "Mutator", "check", "fuzz", "minimize", "chunks",
           "save_regression", "REGRESSIONS", "TIME_LIMIT"]

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
#: Seconds one input may take.
TIME_LIMIT = 1.0
#: Seconds after which the watchdog stops an input (a hang).
HANG_LIMIT = 10.0


@dataclass(frozen=True)
class Target:
    """One entry point that takes untrusted bytes or text.

    :param run: feeds one input; returns something small that describes the outcome (or None).
    :param seeds: the starting corpus.
    :param tokens: dictionary words the mutator inserts (protocol keywords, separators).
    :param max_size: inputs are cut to this many bytes.
    :param mem_base: bytes any input may allocate (the objects the target builds).
    :param mem_factor: bytes it may allocate per byte of input.
    """

    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    tokens: tuple[bytes, ...] = ()
    max_size: int = 8192
    mem_base: int = 64 * 1024
    mem_factor: int = 64

    def memory_bound(self, size: int) -> int:
        return self.mem_base + self.mem_factor * size


@dataclass(frozen=True)
class Finding:
    target: str
    kind: str  # "exception", "slow", "hang", "memory"
    key: str  # what makes two findings the same: kind, exception type, where it was raised
    detail: str
    data: bytes


@dataclass
class Stats:
    target: str
    inputs: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    memory_checked: int = 0
    worst_memory_ratio: float = 0.0  # peak / bound, over the sampled inputs
    corpus: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


class Hang(BaseException):
    """Raised by the watchdog inside an input that runs too long (a BaseException, so a target's
    ``except Exception`` does not swallow it)."""


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang()


_CAN_ALARM = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _where(exc: BaseException) -> str:
    """The innermost frame of mediaproto (else the innermost frame) that raised ``exc``."""
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if "/mediaproto/" in f.filename.replace("\\", "/")]
    f = (inside or frames or [None])[-1]
    if f is None:
        return "?"
    name = f.filename.replace("\\", "/")
    name = name[name.rfind("/mediaproto/") + 1:] if "/mediaproto/" in name else name.rsplit("/", 1)[-1]
    return f"{name}:{f.lineno}"


_DIGITS = re.compile(r"\d+|'[^']*'|\"[^\"]*\"")


def _once(target: Target, data: bytes, measure: bool) -> tuple[object, BaseException | None, float, int]:
    """Run one input: (result, exception, seconds, peak traced bytes or -1)."""
    peak = -1
    alarm = _CAN_ALARM and threading.current_thread() is threading.main_thread()
    if alarm:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
    if measure:
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    result: object = None
    error: BaseException | None = None
    try:
        result = target.run(data)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - every escape is judged below
        error = exc
    finally:
        elapsed = time.perf_counter() - start
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        if measure:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return result, error, elapsed, peak


def check(target: Target, data: bytes, *, measure: bool = False) -> tuple[Finding | None, object, float, int]:
    """Hold one input to the contract: (finding or None, outcome signature, seconds, peak bytes)."""
    result, error, elapsed, peak = _once(target, data, measure)
    if isinstance(error, Hang):
        return Finding(target.name, "hang", "hang", f"stopped after {HANG_LIMIT} s", data), "hang", elapsed, peak
    if error is not None and not isinstance(error, ProtocolError):
        where = getattr(error, "fuzz_key", None) or _where(error)
        detail = "".join(traceback.format_exception(error)[-6:])
        key = f"exception:{type(error).__name__}:{where}"
        return Finding(target.name, "exception", key, detail, data), key, elapsed, peak
    if elapsed > TIME_LIMIT:  # time it again: a busy machine is not a finding
        _, _, again, _ = _once(target, data, False)
        elapsed = min(elapsed, again)
        if elapsed > TIME_LIMIT:
            return (Finding(target.name, "slow", "slow", f"{elapsed:.2f} s for {len(data)} bytes", data),
                    "slow", elapsed, peak)
    if measure and peak > target.memory_bound(len(data)):
        return (Finding(target.name, "memory", "memory",
                        f"peak {peak} bytes for {len(data)} bytes of input (bound {target.memory_bound(len(data))})",
                        data), "memory", elapsed, peak)
    if error is not None:
        signature: object = (type(error).__name__, _DIGITS.sub("#", str(error))[:80])
    else:
        signature = result
    return None, signature, elapsed, peak


# -- mutation --------------------------------------------------------------------------------

_INTERESTING = (0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 511, 512, 1000,
                1023, 1024, 4095, 4096, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFF, 0xFFFFFF, 0x1000000,
                0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


class Mutator:
    """Turns corpus entries into new inputs."""

    def __init__(self, rng: random.Random, tokens: tuple[bytes, ...] = (), max_size: int = 8192) -> None:
        self.rng = rng
        self.tokens = tokens
        self.max_size = max_size

    def mutate(self, data: bytes, other: bytes) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        for _ in range(1 << rng.randrange(4)):
            op = rng.randrange(14 if self.tokens else 12)
            n = len(buf)
            if op == 0 and n:  # flip a bit
                buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
            elif op == 1 and n:  # a random byte
                buf[rng.randrange(n)] = rng.randrange(256)
            elif op == 2 and n:  # an interesting byte
                buf[rng.randrange(n)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x0A, 0x0D, 0x30, 0x39))
            elif op == 3 and n >= 2:  # an interesting integer, 16/32 bits, either byte order
                size = rng.choice((2, 4))
                value = rng.choice(_INTERESTING) & ((1 << 8 * size) - 1)
                pos = rng.randrange(max(1, n - size + 1))
                packed = struct.pack((">" if rng.random() < 0.7 else "<") + ("H" if size == 2 else "I"), value)
                buf[pos:pos + size] = packed
            elif op == 4 and n:  # add or subtract a little
                pos = rng.randrange(n)
                buf[pos] = (buf[pos] + rng.randint(-16, 16)) & 0xFF
            elif op == 5:  # insert random bytes
                pos = rng.randrange(n + 1)
                buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif op == 6:  # insert a run of one byte
                pos = rng.randrange(n + 1)
                buf[pos:pos] = bytes([rng.choice((0, 0xFF, rng.randrange(256)))]) * rng.choice((2, 16, 100, 1000))
            elif op == 7 and n:  # delete a range
                pos = rng.randrange(n)
                del buf[pos:pos + rng.choice((1, 2, 4, 16, 100, n))]
            elif op == 8 and n:  # duplicate a range somewhere else
                pos = rng.randrange(n)
                piece = buf[pos:pos + rng.choice((1, 4, 16, 64, 512))]
                at = rng.randrange(len(buf) + 1)
                buf[at:at] = piece
            elif op == 9 and other:  # splice: our head, the other's tail
                cut = rng.randrange(n + 1)
                buf = buf[:cut] + other[rng.randrange(len(other)):]
            elif op == 10 and n:  # truncate
                del buf[rng.randrange(n):]
            elif op == 11 and n:  # swap two bytes
                i, j = rng.randrange(n), rng.randrange(n)
                buf[i], buf[j] = buf[j], buf[i]
            elif op == 12:  # insert a token
                pos = rng.randrange(n + 1)
                buf[pos:pos] = rng.choice(self.tokens)
            elif op == 13 and n:  # overwrite with a token
                token = rng.choice(self.tokens)
                pos = rng.randrange(n)
                buf[pos:pos + len(token)] = token
        return bytes(buf[:self.max_size])


def chunks(data: bytes, limit: int = 4096) -> list[bytes]:
    """Cut ``data`` for feeding a stream parser piece by piece; the cuts are a function of the bytes
    (a saved input replays the same way): whole, a byte at a time at the start, random cuts, or
    fixed-size pieces."""
    if not data:
        return []  # an empty piece means "the peer closed" to an endpoint
    h = zlib.crc32(data)
    mode = h & 3
    if mode == 0 or len(data) < 2:
        return [data]
    if mode == 1:
        head = min(len(data), 48)
        return [data[i:i + 1] for i in range(head)] + ([data[head:]] if head < len(data) else [])
    if mode == 2:
        rng = random.Random(h)
        cuts = sorted(rng.randrange(1, len(data)) for _ in range(min(8, len(data) - 1)))
        bounds = [0, *cuts, len(data)]
        return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
    size = 1 + (h >> 2) % 200
    return [data[i:i + size] for i in range(0, len(data), size)][:limit]


# -- the run loop ---------------------------------------------------------------------------------

def fuzz(target: Target, *, rng: random.Random, inputs: int | None = None, seconds: float | None = None,
         memory_every: int = 50, on_finding: Callable[[Finding], None] | None = None,
         corpus_limit: int = 400, max_findings: int = 20) -> Stats:
    """Mutate ``target``'s seeds for ``inputs`` inputs or ``seconds`` seconds, whichever ends first."""
    stats = Stats(target.name)
    corpus = [s[:target.max_size] for s in target.seeds()]
    seen: set[object] = set()
    mutator = Mutator(rng, target.tokens, target.max_size)
    start = time.perf_counter()
    deadline = start + seconds if seconds is not None else None

    def judge(data: bytes, measure: bool) -> None:
        finding, signature, elapsed, peak = check(target, data, measure=measure)
        stats.inputs += 1
        stats.slowest = max(stats.slowest, elapsed)
        if measure and peak >= 0:
            stats.memory_checked += 1
            stats.worst_memory_ratio = max(stats.worst_memory_ratio, peak / target.memory_bound(len(data)))
        if finding is not None:
            if finding.key not in stats.findings:
                stats.findings[finding.key] = finding
                if on_finding is not None:
                    on_finding(finding)
            return
        try:
            new = signature not in seen
        except TypeError:  # unhashable outcome: not a signal
            return
        if new and len(seen) < 20000:
            seen.add(signature)
            if len(corpus) < corpus_limit:
                corpus.append(data)

    for seed in list(corpus):
        judge(seed, True)
    while True:
        if inputs is not None and stats.inputs >= inputs:
            break
        if deadline is not None and stats.inputs % 64 == 0 and time.perf_counter() >= deadline:
            break
        if len(stats.findings) >= max_findings:
            break
        data = mutator.mutate(rng.choice(corpus), rng.choice(corpus))
        judge(data, stats.inputs % memory_every == 0 and stats.inputs > 200)
    stats.seconds = time.perf_counter() - start
    stats.corpus = len(corpus)
    return stats


def minimize(target: Target, finding: Finding, budget: int = 3000) -> bytes:
    """The smallest input (by deleting ranges, then simplifying bytes) that keeps ``finding``."""
    if finding.kind in ("slow", "hang"):
        return finding.data  # each try would take seconds
    measure = finding.kind == "memory"

    def same(candidate: bytes) -> bool:
        nonlocal budget
        budget -= 1
        f = check(target, candidate, measure=measure)[0]
        return f is not None and f.key == finding.key

    data = finding.data
    size = max(1, len(data) // 2)
    while size >= 1 and budget > 0:
        i, changed = 0, False
        while i < len(data) and budget > 0:
            candidate = data[:i] + data[i + size:]
            if same(candidate):
                data, changed = candidate, True
            else:
                i += size
        if not changed:
            size //= 2
    return data


def save_regression(finding: Finding, data: bytes) -> Path | None:
    """Write ``data`` as ``regressions/<target>-<hash>.bin`` (None when that file exists)."""
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / f"{finding.target}-{hashlib.sha256(data).hexdigest()[:12]}.bin"
    if path.exists():
        return None
    path.write_bytes(data)
    return path
