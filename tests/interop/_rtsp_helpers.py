"""Helpers of the RTSP interop tests: loading an example, free ports, waiting, ffprobe's packets."""

from __future__ import annotations

import csv
import importlib.util
import socket
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (once)."""
    module_name = f"example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = mod
    spec.loader.exec_module(mod)
    return mod


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Callable[[], object], timeout: float) -> bool:
    """Poll ``cond`` every 20 ms until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def source_packets(vectors: Path) -> dict[str, list[tuple[int, int, int]]]:
    """ffprobe's packets of ref.flv (ref.flv.packets.csv): (pts ms, dts ms, size) per stream."""
    out: dict[str, list[tuple[int, int, int]]] = {"video": [], "audio": []}
    for row in csv.reader((vectors / "ref.flv.packets.csv").read_text().splitlines()):
        out["video" if row[0] == "0" else "audio"].append((int(row[1]), int(row[2]), int(row[3])))
    return out
