"""Run mediaproto's benchmarks and print a table of throughput and ratios to peer libraries.

    python benchmarks/run.py            # every benchmark, timed with repeats (median)
    python benchmarks/run.py --quick    # each once: checks that they run, not their speed
    python benchmarks/run.py -k rtmp    # only names containing "rtmp"
    python benchmarks/run.py --cpu      # CPU seconds instead of wall-clock (a shared machine)

Benchmarks live in ``benchmarks/bench_*.py`` (see ``harness.py``). The ratio is ours / peer's
throughput in the same run; ``target`` is the ratio we aim for.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import harness  # noqa: E402
from harness import Bench, rate, time_call  # noqa: E402


def discover() -> list[Bench]:
    benches: list[Bench] = []
    # hls_edge.py: a load benchmark run by hand; here only its --quick wiring check.
    for path in sorted(HERE.glob("bench_*.py")) + [HERE / "hls_edge.py"]:
        module = importlib.import_module(path.stem)
        benches.extend(getattr(module, "BENCHMARKS"))
    return benches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="run each benchmark once (a smoke test)")
    parser.add_argument("-k", dest="keyword", default="", help="only benchmarks whose name contains this")
    parser.add_argument("--json", dest="json_path", help="also write the results to this JSON file")
    parser.add_argument("--cpu", action="store_true",
                        help="time in CPU seconds of the process (and of a peer process) instead of wall-clock "
                             "seconds: steadier ratios on a machine shared with other work")
    args = parser.parse_args(argv)
    harness.CPU_TIME = args.cpu

    rows = []
    header = f"{'benchmark':<40} {'ours':>14} {'peer':>10} {'peer rate':>14} {'ratio':>7} {'target':>7}  note"
    print(header)
    print("-" * len(header))
    benches = discover()
    # Every module's inputs are built now: move them out of the collector's sight, so a benchmark
    # that allocates pays for scanning its own garbage, not the other modules' data.
    gc.collect()
    gc.freeze()
    for bench in benches:
        if args.keyword not in bench.name:
            continue
        fn = bench.quick_run if args.quick and bench.quick_run is not None else bench.run
        ours = rate(time_call(fn, quick=args.quick or bench.once), bench.work, bench.unit)
        if bench.score is not None:
            ours = bench.score()
        peer_rate = None
        if bench.peer_run is not None or bench.peer_time is not None:
            peer_work = bench.peer_work if bench.peer_work is not None else bench.work
            seconds = (bench.peer_time(args.quick) if bench.peer_time is not None
                       else time_call(bench.peer_run, quick=args.quick))
            peer_rate = rate(seconds, peer_work, bench.unit)
        ratio = ours / peer_rate if peer_rate else None
        note = bench.note() if bench.note else ""
        if bench.peer and bench.peer_run is None and bench.peer_time is None:
            note = (note + f" ({bench.peer} not installed)").strip()
        met = ""
        if bench.target is not None and ratio is not None and not args.quick:
            met = "ok" if ratio >= bench.target else "MISS"
        print(
            f"{bench.name:<40} {ours:>10.1f} {bench.unit:<3} {bench.peer or '-':>10} "
            f"{(f'{peer_rate:.1f}' if peer_rate else '-'):>14} {(f'{ratio:.2f}' if ratio else '-'):>7} "
            f"{(f'{bench.target:.3g}x' if bench.target else '-'):>7}  {met} {note}".rstrip()
        )
        rows.append({"name": bench.name, "unit": bench.unit, "ours": ours, "peer": bench.peer,
                     "peer_rate": peer_rate, "ratio": ratio, "target": bench.target, "note": note})
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(rows, indent=2))
    if not rows:
        print("no benchmarks matched")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
