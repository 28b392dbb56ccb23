"""The long fuzz run: ``python -m tests.fuzz --minutes N [--target NAME ...] [--inputs N] [--jobs J]``.

``--minutes`` is the whole run's time, shared evenly by the targets chosen (all by default);
``--inputs`` stops each target at that many inputs first. Each target runs in a process of its own
(``--jobs`` at a time). Each new failure is minimized and saved as
``tests/fuzz/regressions/<target>-<hash>.bin``, which ``tests/fuzz/test_fuzz.py`` replays. At the end
a table gives per target the inputs run, inputs per second, the slowest input, the worst memory
peak against its bound, and the findings.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time

from .engine import Stats, fuzz, minimize, save_regression
from .targets import all_targets


_share: dict[str, object] = {}


def _budget(seconds: float | None) -> float | None:
    """With a deadline for the whole run, a target gets the time left shared by the slots and the
    targets not yet started (what the fast targets leave over goes to the later ones)."""
    end, counter, total, jobs = (_share.get(k) for k in ("end", "counter", "total", "jobs"))
    if end is None or counter is None:
        return seconds
    with counter.get_lock():  # type: ignore[attr-defined]
        started = counter.value  # type: ignore[attr-defined]
        counter.value += 1  # type: ignore[attr-defined]
    rounds = -(-(int(total) - started) // int(jobs))  # type: ignore[call-overload]
    return max(5.0, (float(end) - time.time()) / max(1, rounds))  # type: ignore[arg-type]


def _one(args: tuple[str, float | None, int | None, int]) -> tuple[Stats, list[str]]:
    name, seconds, inputs, seed = args
    seconds = _budget(seconds)
    target = all_targets()[name]
    saved: list[str] = []

    def on_finding(finding: object) -> None:
        from .engine import Finding
        assert isinstance(finding, Finding)
        data = minimize(target, finding)
        path = save_regression(finding, data)
        line = f"{name}: {finding.kind} {finding.key} ({len(finding.data)} -> {len(data)} bytes)"
        if path is not None:
            line += f" saved {path.name}"
        print(line + "\n" + finding.detail, file=sys.stderr, flush=True)
        saved.append(line)

    stats = fuzz(target, rng=random.Random(seed), inputs=inputs, seconds=seconds, on_finding=on_finding)
    for f in stats.findings.values():
        object.__setattr__(f, "data", f.data[:0])  # keep the result small across processes
    return stats, saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=None, help="time for the whole run")
    parser.add_argument("--inputs", type=int, default=None, help="stop each target after this many inputs")
    parser.add_argument("--target", action="append", default=[], help="a target (repeatable; default all)")
    parser.add_argument("--jobs", type=int, default=1, help="targets run at once (processes)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--list", action="store_true", help="list the targets")
    args = parser.parse_args(argv)
    targets = all_targets()
    if args.list:
        print("\n".join(targets))
        return 0
    names = args.target or list(targets)
    unknown = [n for n in names if n not in targets]
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    if args.minutes is None and args.inputs is None:
        parser.error("give --minutes or --inputs")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    per_target = args.minutes * 60 * max(1, args.jobs) / len(names) if args.minutes is not None else None
    print(f"fuzz seed {seed}: {len(names)} targets, {per_target or 0:.0f} s each, {args.jobs} at a time",
          flush=True)
    work = [(n, per_target, args.inputs, seed + i) for i, n in enumerate(names)]
    start = time.time()
    if args.minutes is not None:
        _share.update(end=start + args.minutes * 60, counter=multiprocessing.Value("i", 0), total=len(names),
                      jobs=max(1, args.jobs))
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs, maxtasksperchild=1) as pool:
            results = []
            for stats, _ in pool.imap_unordered(_one, work):
                print(f"  {stats.target}: {stats.inputs} inputs, {stats.rate:.0f}/s, "
                      f"{len(stats.findings)} findings", flush=True)
                results.append(stats)
    else:
        results = []
        for w in work:
            stats, _ = _one(w)
            print(f"  {stats.target}: {stats.inputs} inputs, {stats.rate:.0f}/s, {len(stats.findings)} findings",
                  flush=True)
            results.append(stats)
    results.sort(key=lambda s: names.index(s.target))
    print(f"\n{'target':32} {'inputs':>10} {'inputs/s':>9} {'slowest s':>9} {'mem/bound':>9} findings")
    for s in results:
        kinds = ", ".join(sorted(f.key for f in s.findings.values())) or "0"
        print(f"{s.target:32} {s.inputs:>10} {s.rate:>9.0f} {s.slowest:>9.3f} {s.worst_memory_ratio:>9.2f} {kinds}")
    print(f"total {sum(s.inputs for s in results)} inputs in {time.time() - start:.0f} s (seed {seed})")
    return 1 if any(s.findings for s in results) else 0


if __name__ == "__main__":
    sys.exit(main())
