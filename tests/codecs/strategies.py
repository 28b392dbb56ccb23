"""Shared hypothesis helpers for the codec tests: random bytes and mutations of known-good inputs."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A known-good input with random byte flips, truncation, insertion or extension."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.integers(0, 3))
        if op == 0 and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == 1 and data:
            data = data[:draw(st.integers(0, len(data)))]
        elif op == 2:
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            data += draw(st.binary(max_size=8))
    return bytes(data)


def fuzz_input(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes or a mutated seed."""
    return st.one_of(st.binary(max_size=64), mutated(seeds))
