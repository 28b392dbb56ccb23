"""The benchmark harness: named benchmarks, timed with repeats, median reported, peer ratios.

A benchmark module ``benchmarks/bench_<area>.py`` defines ``BENCHMARKS``, a list of :class:`Bench`.
Each times our function and, when the peer library is installed, the peer's function doing the same
work on the same input in the same run; the table gives the ratio (ours / peer, higher is better for
us). Speed targets live here as ``target`` ratios and are reported, never asserted in unit tests.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Bench:
    """One benchmark.

    :param name: a short unique name, ``area.what``.
    :param run: does the work once.
    :param work: how much work one call is: bytes when ``unit`` is ``"MB/s"``, operations for ``"ops/s"``.
    :param unit: ``"ops/s"`` or ``"MB/s"``.
    :param peer: the peer's name (``"aiortc"``, ``"m3u8"``, ``"ffmpeg"``), or ``None``.
    :param peer_run: does the same work with the peer; ``None`` when the peer is not installed.
    :param target: the ratio to the peer we aim for (reported as met or not, never asserted).
    :param note: called once after timing; returns extra text for the report (a bitrate, a size).
    :param quick_run: runs instead of ``run`` under ``--quick`` (a tiny version of a long benchmark).
    :param once: time one call even without ``--quick`` (a load test that measures itself).
    :param score: when given, the table shows ``score()`` (in ``unit``, e.g. ``"players"``) after
        the run instead of a throughput.
    :param peer_time: when given, the peer measures itself: ``peer_time(quick)`` returns its
        seconds for ``peer_work`` (an external process whose start-up, or whose other stages, are
        subtracted), and ``peer_run`` is not timed.
    """

    name: str
    run: Callable[[], object]
    work: float = 1.0
    unit: str = "ops/s"
    peer: str | None = None
    peer_run: Callable[[], object] | None = None
    peer_work: float | None = None
    target: float | None = None
    note: Callable[[], str] | None = None
    quick_run: Callable[[], object] | None = None
    once: bool = False
    score: Callable[[], float] | None = None
    peer_time: Callable[[bool], float] | None = None
    results: dict[str, float] = field(default_factory=dict)


#: ``run.py --cpu`` sets this: rows are timed in CPU seconds of this process (``time.process_time``,
#: and a peer process's CPU seconds in ``peer_time``) rather than wall-clock seconds, so that other
#: work on a shared machine does not land in one side's time and not the other's.
CPU_TIME = False


def clock() -> float:
    """The timing clock: CPU seconds of this process under ``--cpu``, else wall-clock seconds."""
    return time.process_time() if CPU_TIME else time.perf_counter()


def time_call(fn: Callable[[], object], *, quick: bool, min_time: float = 0.2, repeats: int = 5) -> float:
    """Seconds per call of ``fn``: the median of ``repeats`` runs of a loop calibrated to ``min_time``.

    With ``quick`` the function runs once and that one time is returned.
    """
    if quick:
        t0 = clock()
        fn()
        return clock() - t0
    number = 1
    while True:
        t0 = clock()
        for _ in range(number):
            fn()
        elapsed = clock() - t0
        if elapsed >= min_time / 4 or number >= 1 << 20:
            break
        number *= 4 if elapsed < min_time / 40 else 2
    samples = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(number):
            fn()
        samples.append((clock() - t0) / number)
    return statistics.median(samples)


def rate(seconds: float, work: float, unit: str) -> float:
    """Throughput in ``unit`` for ``work`` done in ``seconds``."""
    if seconds <= 0:
        return float("inf")
    return work / seconds / (1e6 if unit == "MB/s" else 1.0)
