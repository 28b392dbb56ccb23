"""Every fuzz target, by name."""

from __future__ import annotations

import functools

from .engine import Target


@functools.cache
def all_targets() -> dict[str, Target]:
    from . import targets_parsers, targets_server, targets_sessions

    found = targets_parsers.targets() + targets_sessions.targets() + targets_server.targets()
    by_name = {t.name: t for t in found}
    assert len(by_name) == len(found), "two targets share a name"
    return by_name


def target_of(regression_name: str) -> Target:
    """The target of a regression file ``<target>-<hash>.bin``."""
    return all_targets()[regression_name.rsplit("-", 1)[0]]
