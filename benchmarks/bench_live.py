"""The live server under load, on one core: RTMP players and HLS clients per stream, latency.

The server (:mod:`mediaproto.server`) runs in its own process pinned to CPU 0; the load (one
real-time RTMP publisher of a 4 Mbit/s 1280x720 H.264 + AAC stream made by ffmpeg, and raw-socket
RTMP players or HTTP HLS pollers, see ``live_load.py``) runs in another process pinned to CPU 1.

* ``live.rtmp players``: the largest number of RTMP players (from a ramp) that all receive every
  frame published, in order, with the 99th percentile publish -> player latency under 1 s; the
  note gives the server's CPU share at each step and per player.
* ``live.hls clients``: the same for HLS pollers (playlist every half segment, every new segment).
* ``live.latency``: publish -> RTMP player (target under 200 ms), publish of a segment's first
  frame -> segment available (target one segment + 0.5 s) and -> LL-HLS part available (target one
  part + 0.5 s).

``--quick`` runs each once, tiny: a few clients for a few seconds on the built-in test source.
The figures of a full run are recorded in docs/guide/live_server.rst ("Measured").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import Bench

HERE = Path(__file__).resolve().parent
LOAD = str(HERE / "live_load.py")

SECONDS = 8.0
SEGMENT = 1.0
PART = 0.2
RTMP_RAMP = [1, 50, 100, 200, 400, 800, 1200, 1600, 2000, 2400]
HLS_RAMP = [1, 50, 100, 200, 400, 800, 1200, 1600, 2000, 2400]
RESULTS: dict[str, Any] = {}


def source() -> str:
    """A 10 s 1280x720 25 fps H.264 (~4 Mbit/s, CBR, 1 s GOP) + AAC FLV made once by ffmpeg."""
    path = Path(tempfile.gettempdir()) / "mediaproto-bench-live-720p-4M.flv"
    if path.exists() and path.stat().st_size > 4_000_000:
        return str(path)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return "testsrc"
    tmp = path.with_suffix(".tmp.flv")
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=10",
         "-f", "lavfi", "-i", "anoisesrc=sample_rate=48000:amplitude=0.2:seed=7:duration=10",
         "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p", "-b:v", "4M", "-maxrate", "4M",
         "-minrate", "4M", "-bufsize", "1M", "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
         "-f", "flv", str(tmp)],
        check=True, timeout=300)
    tmp.replace(path)
    return str(path)


class Server:
    """``live_load.py serve`` in a child process pinned to CPU 0."""

    def __init__(self, ll_hls: bool = False, extra: tuple[str, ...] = ()) -> None:
        args = [sys.executable, LOAD, "serve", "--cpu", "0", "--segment", str(SEGMENT), "--part", str(PART), *extra]
        self.proc = subprocess.Popen(args + (["--ll-hls"] if ll_hls else []), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.pid: int = info["pid"]
        self.ports: dict[str, int] = info["ports"]
        self.trials = 0

    def load(self, src: str, seconds: float, *, rtmp: int = 0, hls: int = 0, probe: bool = False,
             ll: bool = False, decode: int = 20) -> dict[str, Any]:
        self.trials += 1
        args = [sys.executable, LOAD, "load", "--cpu", "1", "--ports", json.dumps(self.ports),
                "--server-pid", str(self.pid), "--source", src, "--name", f"live/bench{self.trials}",
                "--seconds", str(seconds), "--rtmp", str(rtmp), "--hls", str(hls), "--segment", str(SEGMENT), "--decode", str(decode)]
        out = subprocess.run(args + (["--probe"] if probe else []) + (["--ll"] if ll else []),
                             capture_output=True, text=True, timeout=seconds + 60)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(10)
        finally:
            self.proc.kill()


def ok(r: dict[str, Any]) -> bool:
    """Every client got everything, in real time."""
    return (r["rtmp_players_with_drops"] == 0 and r["hls_clients_with_misses"] == 0
            and not r.get("server_frames_skipped") and not r.get("server_players_dropped")
            and (r["steady_latency_p99"] is None or r["steady_latency_p99"] < 1.0))


def ramp(kind: str, steps: list[int], seconds: float, src: str) -> None:
    server = Server()
    rows = []
    try:
        base = server.load(src, seconds)
        rows.append(base)
        for n in steps:
            r = server.load(src, seconds, **{kind: n})
            rows.append(r)
            if not ok(r):
                break
    finally:
        server.close()
    passed = [r for r in rows[1:] if ok(r)]
    RESULTS[kind] = {"rows": rows, "seconds": seconds, "max": max((r[f"{kind}_players" if kind == "rtmp" else "hls_clients"] for r in passed), default=0)}


def _fmt_row(kind: str, r: dict[str, Any], base: float) -> str:
    n = r["rtmp_players"] if kind == "rtmp" else r["hls_clients"]
    per = (r["server_cpu"] - base) / n * 100 if n else 0.0
    lat = (f", latency p50 {_ms(r['steady_latency_p50'])} p99 {_ms(r['steady_latency_p99'])} ms"
           if kind == "rtmp" and r["steady_latency_p99"] is not None else "")
    return (f"{n}: cpu {r['server_cpu'] * 100:.1f}% ({per:.2f}%/client over idle{lat}, load cpu "
            f"{r['load_cpu'] * 100:.0f}%){'' if ok(r) else ' FAILED: ' + _why(r)}")


def _why(r: dict[str, Any]) -> str:
    why = [f"{r[k]} {label}" for k, label in (
        ("rtmp_players_with_drops", "players missed frames"), ("hls_clients_with_misses", "HLS clients missed segments"),
        ("server_frames_skipped", "frames skipped by the server"), ("server_players_dropped", "players dropped"),
        ("rtmp_players_late", "players not playing 10 s after connecting")) if r.get(k)]
    if (r.get("steady_latency_p99") or 0) >= 1.0:
        why.append("p99 latency over 1 s")
    return ", ".join(why)


def note(kind: str) -> str:
    res = RESULTS.get(kind)
    if not res:
        return ""
    rows = res["rows"]
    base = rows[0]["server_cpu"]
    mbit = rows[0]["bytes_published"] * 8 / res["seconds"] / 1e6
    fast = [r["rtmp_players"] for r in rows[1:] if ok(r) and (r["steady_latency_p99"] or 0) < 0.2]
    extra = f"max players with p99 < 200 ms: {max(fast, default=0)}; " if kind == "rtmp" else ""
    return (f"{mbit:.1f} Mbit/s stream; {extra}idle (publisher only) cpu {base * 100:.1f}%; "
            + "; ".join(_fmt_row(kind, r, base) for r in rows[1:]))


def latency(seconds: float, src: str, players: int) -> None:
    res: dict[str, Any] = {}
    server = Server()
    try:
        res["rtmp1"] = server.load(src, seconds, rtmp=1, probe=True)
        if players > 1:
            res["rtmpN"] = server.load(src, seconds, rtmp=players)
    finally:
        server.close()
    server = Server(ll_hls=True)
    try:
        res["ll"] = server.load(src, seconds, rtmp=1, probe=True, ll=True)
    finally:
        server.close()
    res["players"] = players
    RESULTS["latency"] = res


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f}"


def latency_note() -> str:
    res = RESULTS.get("latency")
    if not res:
        return ""
    r1 = res["rtmp1"]
    parts = [f"RTMP 1 player p50 {_ms(r1['steady_latency_p50'])} / p99 {_ms(r1['steady_latency_p99'])} / "
             f"max {_ms(r1['steady_latency_max'])} ms"]
    if "rtmpN" in res:
        rn = res["rtmpN"]
        parts.append(f"{res['players']} players p50 {_ms(rn['steady_latency_p50'])} / p99 {_ms(rn['steady_latency_p99'])}"
                     f" / max {_ms(rn['steady_latency_max'])} ms")
    for key, label, target in (("rtmp1", "HLS segment", SEGMENT + 0.5), ("ll", "LL-HLS part", PART + 0.5)):
        av = sorted(res[key]["availability"])
        if av:
            parts.append(f"{label} available after median {_ms(av[len(av) // 2])} / max {_ms(av[-1])} ms "
                         f"(target {target * 1000:.0f}, {len(av)} samples)")
    return "; ".join(parts)


def latency_score() -> float:
    res = RESULTS.get("latency") or {}
    return 1000 * ((res.get("rtmpN") or res.get("rtmp1") or {}).get("steady_latency_p99") or 0.0)


def _full(kind: str) -> None:
    ramp(kind, RTMP_RAMP if kind == "rtmp" else HLS_RAMP, SECONDS, source())


def _quick() -> None:
    """One tiny trial for every row: 2 RTMP players, 2 HLS pollers and a probe for 2 s."""
    if "quick" in RESULTS:
        return
    server = Server()
    try:
        r = server.load("testsrc", 2.0, rtmp=2, hls=2, probe=True)
    finally:
        server.close()
    RESULTS["quick"] = r
    base = dict(r, rtmp_players=0, hls_clients=0)
    RESULTS["rtmp"] = {"rows": [base, r], "max": r["rtmp_players"] if ok(r) else 0, "seconds": 2.0}
    RESULTS["hls"] = {"rows": [base, dict(r, rtmp_players=0)], "max": r["hls_clients"] if ok(r) else 0, "seconds": 2.0}
    RESULTS["latency"] = {"rtmp1": r, "ll": dict(r, availability=[]), "players": 2}


BENCHMARKS = [
    Bench("live.rtmp players (4 Mbit/s, 1 core)", lambda: _full("rtmp"), unit="players", once=True,
          quick_run=_quick, score=lambda: RESULTS["rtmp"]["max"],
          note=lambda: "target 50; " + note("rtmp")),
    Bench("live.hls clients (4 Mbit/s, 1 core)", lambda: _full("hls"), unit="clients", once=True,
          quick_run=_quick, score=lambda: RESULTS["hls"]["max"], note=lambda: note("hls")),
    Bench("live.latency RTMP p99 (ms)", lambda: latency(SECONDS, source(), 50), unit="ms", once=True,
          quick_run=_quick, score=latency_score, note=latency_note),
]

if os.environ.get("MEDIAPROTO_BENCH_LIVE") == "0":  # pragma: no cover - opt out on tiny machines
    BENCHMARKS = []
