"""The clock layer: rescaling and unwrapping, the per-frame time conversions of every bridge."""

from __future__ import annotations

from harness import Bench

from mediaproto.clock import Unwrapper, rescale

_VALUES = list(range(0, 2**33, 2**33 // 10_000))[:10_000]


def _rescale() -> None:
    for v in _VALUES:
        rescale(v, 90000, 1000)


def _unwrap() -> None:
    u = Unwrapper(32)
    for v in _VALUES:
        u.unwrap(v * 3000)


BENCHMARKS = [
    Bench("clock.rescale 90k->1k", _rescale, work=len(_VALUES)),
    Bench("clock.unwrap 32-bit", _unwrap, work=len(_VALUES)),
]
