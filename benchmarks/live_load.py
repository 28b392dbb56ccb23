"""Load generator for the live server benchmark (``bench_live.py``), and the server under test.

Two subcommands, each meant to run in its own process pinned to its own core::

    python3 benchmarks/live_load.py serve --cpu 0 [--ll-hls]       # prints {"pid":..,"ports":{..}}
    python3 benchmarks/live_load.py load --cpu 1 --ports '{"rtmp":..,"http":..}' --source FILE \\
        --name live/b1 --seconds 8 --rtmp 50 --hls 0 [--probe]      # prints one JSON result

``load`` runs, on one asyncio loop: an RTMP publisher that replays the pre-demuxed frames of an FLV
file in real time (looping it, timestamps kept increasing) and notes when it pushed each frame;
``--rtmp`` raw-socket RTMP players (:class:`mediaproto.rtmp.ClientConnection`) that note when each
frame came out of their chunk decoder; ``--hls`` HTTP/1.1 keep-alive pollers that fetch the playlist
every half target duration and every new segment; with ``--probe``, one client that waits for each
new segment (``_HLS_msn``) or LL-HLS part (``_HLS_msn`` + ``_HLS_part``) with blocking playlist
reloads and notes when it became available. Both processes use ``time.monotonic`` (one clock for
the whole machine), so a frame's latency is the player's time minus the publisher's.

A player *dropped* frames when what it received is not exactly the publisher's sequence from its
first frame on (the server skips a slow player to the next keyframe, or disconnects it). The
server's CPU time comes from ``/proc/PID/stat`` over the measurement window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtmp.client import ClientConnection  # noqa: E402
from mediaproto.rtmp.states import StreamState  # noqa: E402
from mediaproto.rtmp.events import Connected, FrameReceived, PlayStarted, PublishStarted  # noqa: E402
from mediaproto.rtmp.flv import FlvReader, MediaTagDecoder  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the source ---------------------------------------------------------------------------------

def read_flv(path: str) -> tuple[list[Track], list[Frame]]:
    """The tracks and frames of an FLV file (ms timestamps)."""
    reader, decoder = FlvReader(), MediaTagDecoder()
    tracks: dict[int, Track] = {}
    frames: list[Frame] = []
    data = Path(path).read_bytes()
    for tag in reader.feed(data):
        for item in decoder.feed(tag.tag_type, tag.timestamp, tag.data):
            if isinstance(item, Track):
                tracks[item.id] = item
            else:
                frames.append(item)
    return [tracks[k] for k in sorted(tracks)], frames


def test_source(seconds: float) -> tuple[list[Track], list[Frame]]:
    """The built-in test source (no ffmpeg needed), in ms like an FLV file."""
    from mediaproto.testsrc import TestSource

    src = TestSource(width=160, height=120)
    out = []
    for f in src.frames_until(seconds):
        rate = next(t.clock_rate for t in src.tracks if t.id == f.track_id)
        out.append(replace(f, pts=f.pts * 1000 // rate, dts=f.dts * 1000 // rate))
    return [replace(t, clock_rate=1000) for t in src.tracks], out


def schedule(frames: list[Frame], seconds: float) -> list[Frame]:
    """The frames looped to last ``seconds``, starting at a video keyframe, dts increasing."""
    first = next(i for i, f in enumerate(frames) if f.keyframe and isinstance(f.data, tuple))
    frames = frames[first:]
    base = frames[0].dts
    frames = [replace(f, pts=f.pts - base, dts=f.dts - base) for f in frames]
    period = max(f.dts for f in frames) + 40
    out: list[Frame] = []
    loop = 0
    while True:
        for f in frames:
            dts = f.dts + loop * period
            if dts >= seconds * 1000:
                return out
            out.append(replace(f, pts=f.pts + loop * period, dts=dts) if loop else f)
        loop += 1


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# -- RTMP ---------------------------------------------------------------------------------------

class Publisher(asyncio.Protocol):
    def __init__(self, port: int, name: str, tracks: list[Track]) -> None:
        app, _, self.key = name.partition("/")
        self.conn = ClientConnection(app, f"rtmp://127.0.0.1:{port}/{app}")
        self.tracks = tracks
        self.started = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.max_buffered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        for ev in self.conn.receive_data(data, time.monotonic()):
            if isinstance(ev, Connected):
                self.conn.publish(self.key)
            elif isinstance(ev, PublishStarted):
                self.conn.send_tracks(self.tracks)
                if not self.started.done():
                    self.started.set_result(None)
        self.flush()

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)
            self.max_buffered = max(self.max_buffered, self.transport.get_write_buffer_size())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.started.done():
            self.started.set_exception(ConnectionError("publisher lost"))


class Player(asyncio.Protocol):
    """An RTMP player. A *sink* (``decode=False``) only counts bytes once playing: it loads the
    server exactly as a decoding player does, for a fraction of the load generator's CPU."""

    def __init__(self, port: int, name: str, decode: bool = True) -> None:
        app, _, self.key = name.partition("/")
        self.conn = ClientConnection(app, f"rtmp://127.0.0.1:{port}/{app}")
        self.received: list[tuple[int, int, float]] = []  # (track, dts, monotonic time)
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.decode = decode
        self.sink = False
        self.bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        self.bytes += len(data)
        if self.sink:
            return
        now = time.monotonic()
        append = self.received.append
        for ev in self.conn.receive_data(data, time.monotonic()):
            if isinstance(ev, FrameReceived):
                append((ev.frame.track_id, ev.frame.dts, now))
            elif isinstance(ev, Connected):
                self.conn.play(self.key)
            elif isinstance(ev, PlayStarted) and not self.decode:
                self.sink = True
        out = self.conn.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


# -- HTTP ---------------------------------------------------------------------------------------

class HttpClient:
    """A keep-alive HTTP/1.1 GET client on asyncio streams."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        body = await self.reader.readexactly(int(m[1])) if m else b""
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def playlist_segments(text: str) -> tuple[int, list[str]]:
    lines = text.splitlines()
    seq = next((int(x.split(":")[1]) for x in lines if x.startswith("#EXT-X-MEDIA-SEQUENCE:")), 0)
    return seq, [x for x in lines if x and not x.startswith("#")]


async def hls_poller(port: int, name: str, interval: float, stop: asyncio.Event, result: dict[str, object]) -> None:
    """A plain HLS client: playlist every ``interval``, then each new segment."""
    client = HttpClient(port)
    fetched: dict[int, tuple[int, float]] = {}  # msn -> (bytes, time)
    errors = 0
    requests: list[float] = []  # when each request was answered
    try:
        while not stop.is_set():
            status, body = await client.get(f"/{name}/index.m3u8")
            requests.append(time.monotonic())
            if status == 200:
                seq, uris = playlist_segments(body.decode())
                for i, uri in enumerate(uris):
                    msn = seq + i
                    if msn in fetched or (fetched and msn < min(fetched)):
                        continue
                    if not fetched and i < len(uris) - 1:
                        continue  # start at the live edge
                    s, data = await client.get(f"/{name}/{uri}")
                    requests.append(time.monotonic())
                    if s == 200:
                        fetched[msn] = (len(data), time.monotonic())
                    else:
                        errors += 1
            with_timeout = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait_for(asyncio.shield(with_timeout), interval)
            except asyncio.TimeoutError:
                pass
            with_timeout.cancel()
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        result["error"] = repr(exc)
    finally:
        client.close()
    result["fetched"] = fetched
    result["errors"] = errors
    result["requests"] = requests


def _timestamp(b: bytes) -> int:
    return ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def first_video_dts(ts: bytes) -> int | None:
    """The DTS (90 kHz) of the first video PES that starts in a TS segment or part.

    Read from the PES header itself: a demuxer may hold back the first frame of a part that has
    no PAT/PMT or parameter sets of its own.
    """
    for pos in range(0, len(ts) - 187, 188):
        pkt = ts[pos:pos + 188]
        if pkt[0] != 0x47 or not pkt[1] & 0x40:
            continue
        afc = pkt[3] >> 4 & 3
        start = 4 + (1 + pkt[4] if afc & 2 else 0)
        pes = pkt[start:]
        if len(pes) < 19 or pes[:3] != b"\x00\x00\x01" or not 0xE0 <= pes[3] <= 0xEF:
            continue
        flags = pes[7] >> 6
        if flags == 3:
            return _timestamp(pes[14:19])
        if flags == 2:
            return _timestamp(pes[9:14])
    return None


async def hls_probe(port: int, name: str, ll: bool, stop: asyncio.Event, out: list[tuple[str, float, int | None]]) -> None:
    """Blocking reloads for each next segment (or LL-HLS part); notes (name, available time, first video dts)."""
    client = HttpClient(port)
    try:
        status, body = await client.get(f"/{name}/index.m3u8")
        text = body.decode()
        while not stop.is_set():
            if ll:
                m = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg(\d+)\.(\d+)\.ts', text)
                if m is None:
                    break
                msn, part = int(m[1]), int(m[2])
                status, body = await client.get(f"/{name}/index.m3u8?_HLS_msn={msn}&_HLS_part={part}")
                now = time.monotonic()
                text = body.decode()
                if status != 200:
                    continue
                # The part asked for, or (the segment ended) part 0 of the next one.
                names = re.findall(r'URI="(seg\d+\.\d+\.ts)"', text)
                want = f"seg{msn}.{part}.ts" if f"seg{msn}.{part}.ts" in names else f"seg{msn + 1}.0.ts"
                s, data = await client.get(f"/{name}/{want}")
                out.append((want, now, first_video_dts(data) if s == 200 else None))
            else:
                seq, uris = playlist_segments(text)
                msn = seq + len(uris)
                status, body = await client.get(f"/{name}/index.m3u8?_HLS_msn={msn}")
                now = time.monotonic()
                text = body.decode()
                if status != 200:
                    continue
                s, data = await client.get(f"/{name}/seg{msn}.ts")
                out.append((f"seg{msn}.ts", now, first_video_dts(data) if s == 200 else None))
    except (ConnectionError, asyncio.IncompleteReadError, UnicodeDecodeError):
        pass
    finally:
        client.close()


# -- one trial ----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def trial(a: argparse.Namespace) -> dict[str, object]:
    ports = json.loads(a.ports)
    if a.source == "testsrc":
        tracks, frames = test_source(min(a.seconds, 4.0))
    else:
        tracks, frames = read_flv(a.source)
    plan = schedule(frames, a.seconds)
    loop = asyncio.get_running_loop()
    players: list[Player] = []
    every = max(1, a.rtmp // a.decode) if a.decode else 0
    for n in range(a.rtmp):
        decode = every > 0 and n % every == 0
        _, p = await loop.create_connection(lambda: Player(ports["rtmp"], a.name, decode), "127.0.0.1", ports["rtmp"])
        players.append(p)
    for _ in range(int(a.play_wait / 0.05)):  # every player is playing before the publisher starts
        if all(p.sink or _playing(p.conn) for p in players):
            break
        await asyncio.sleep(0.05)
    late = sum(not (p.sink or _playing(p.conn)) for p in players)
    _, pub = await loop.create_connection(lambda: Publisher(ports["rtmp"], a.name, tracks), "127.0.0.1", ports["rtmp"])
    await asyncio.wait_for(pub.started, 10)
    await asyncio.sleep(0.2)  # the players' play commands are in
    stop = asyncio.Event()
    polls: list[dict[str, object]] = [{} for _ in range(a.hls)]
    probe: list[tuple[str, float, int | None]] = []
    tasks = [asyncio.create_task(hls_poller(ports["http"], a.name, a.segment / 2, stop, r)) for r in polls]
    if a.probe:
        tasks.append(asyncio.create_task(hls_probe(ports["http"], a.name, a.ll, stop, probe)))
    sent: dict[tuple[int, int], float] = {}
    order: list[tuple[int, int]] = []
    t0 = loop.time()
    warm = min(2.0, a.seconds / 4)
    cpu0 = cpu1 = None
    wall0 = wall1 = 0.0
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    i = 0
    while i < len(plan):
        now = loop.time()
        if cpu0 is None and now - t0 >= warm:
            cpu0, wall0 = proc_cpu(a.server_pid), time.monotonic()
        while i < len(plan) and plan[i].dts / 1000 <= now - t0:
            f = plan[i]
            pub.conn.send_frame(f)
            key = (f.track_id, f.dts)
            sent[key] = time.monotonic()
            order.append(key)
            i += 1
        pub.flush()
        if i < len(plan):
            await asyncio.sleep(max(0.0, t0 + plan[i].dts / 1000 - loop.time()))
    cpu1, wall1 = proc_cpu(a.server_pid), time.monotonic()
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    # Let the players drain (bounded), then stop.
    deadline = time.monotonic() + 5.0
    decoders = [p for p in players if p.decode]
    while time.monotonic() < deadline and any(
            not p.lost and (not p.received or p.received[-1][:2] != order[-1]) for p in decoders):
        await asyncio.sleep(0.05)
    full = max((p.bytes for p in decoders), default=0)
    while time.monotonic() < deadline and any(not p.lost and p.bytes < full for p in players):
        await asyncio.sleep(0.05)
    stats = {}
    try:
        status, body = await HttpClient(ports["http"]).get("/api/streams")
        stats = next((s for s in json.loads(body)["streams"] if s["name"] == a.name), {})
    except (OSError, ValueError, asyncio.IncompleteReadError):
        pass
    await asyncio.sleep(a.segment + 0.3 if a.hls else 0.0)
    stop.set()
    if a.probe:
        tasks.pop().cancel()  # it may be blocked in a reload
    if tasks:
        await asyncio.wait(tasks, timeout=5)
    for t in tasks:
        t.cancel()
    # RTMP: drops and latency.
    index = {k: n for n, k in enumerate(order)}
    dropped_players = 0
    latencies: list[float] = []
    steady: list[float] = []  # frames published in the measurement window (after the warm-up)
    for p in players:
        if not p.decode:
            # Every player got the same bytes from the same start: a skip would make it fewer.
            dropped_players += p.lost or p.bytes != full
            continue
        got = [(tr, d) for tr, d, _ in p.received]
        if not got or got[0] not in index or got != order[index[got[0]]:index[got[0]] + len(got)] or got[-1] != order[-1]:
            dropped_players += 1
        latencies.extend(t - sent[(tr, d)] for tr, d, t in p.received if (tr, d) in sent and t - sent[(tr, d)] >= -1)
        steady.extend(t - sent[(tr, d)] for tr, d, t in p.received if sent.get((tr, d), 0.0) >= wall0)
    for p in players:
        if p.transport is not None:
            p.transport.close()
    if pub.transport is not None:
        pub.transport.close()
    # HLS pollers: every segment from the first on, none failed.
    hls_missed = 0
    hls_errors = 0
    for r in polls:
        fetched = r.get("fetched") or {}
        assert isinstance(fetched, dict)
        if "error" in r or not fetched or len(fetched) != max(fetched) - min(fetched) + 1 or r.get("errors"):
            hls_missed += 1
        hls_errors += int(r.get("errors", 0) or 0) + ("error" in r)
    # Probe: availability latency = when available - when its first video frame was pushed.
    video = next(t.id for t in tracks if t.codec.is_video)
    availability = []
    for fname, when, dts90 in probe:
        if dts90 is None:
            continue
        pushed = sent.get((video, dts90 // 90))
        if pushed is not None:
            availability.append(when - pushed)
    wall = max(wall1 - wall0, 1e-9)
    vid_lat = [x for x in latencies]
    return {
        "rtmp_players": a.rtmp,
        "hls_clients": a.hls,
        "frames_published": len(order),
        "bytes_published": sum(plan[n].size for n in range(len(order))),
        "rtmp_players_with_drops": dropped_players,
        "rtmp_frames_received_min": min((len(p.received) for p in players if p.decode), default=0),
        "rtmp_decoding_players": sum(p.decode for p in players),
        "rtmp_players_late": late,
        "rtmp_bytes_min": min((p.bytes for p in players), default=0),
        "rtmp_bytes_max": max((p.bytes for p in players), default=0),
        "server_frames_skipped": stats.get("frames_skipped"),
        "server_players_dropped": stats.get("players_dropped"),
        "hls_clients_with_misses": hls_missed,
        "hls_errors": hls_errors,
        # HTTP requests answered in the measured window (the pollers' pace is the load tool's too)
        "hls_requests": sum(1 for r in polls for t in r.get("requests") or () if wall0 <= t <= wall1),  # type: ignore[attr-defined]
        "hls_segments_min": min((len(r.get("fetched") or {}) for r in polls), default=0),  # type: ignore[arg-type]
        "server_cpu": (cpu1 - (cpu0 or 0.0)) / wall,
        "window": wall,
        "load_cpu": (self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime) / max(wall1 - t0, 1e-9),
        "publisher_max_buffered": pub.max_buffered,
        "latency_p50": percentile(vid_lat, 0.5),
        "latency_p99": percentile(vid_lat, 0.99),
        "latency_max": max(vid_lat) if vid_lat else None,
        "steady_latency_p50": percentile(steady, 0.5),
        "steady_latency_p99": percentile(steady, 0.99),
        "steady_latency_max": max(steady) if steady else None,
        "availability": availability,
    }


def _playing(conn: ClientConnection) -> bool:
    """Whether the client plays a stream (its play was answered)."""
    return any(conn.stream_state(sid) is StreamState.PLAYING for sid in range(1, 8))


# -- the server -----------------------------------------------------------------------------------

async def serve(a: argparse.Namespace) -> None:
    from mediaproto.server import Config, Limits, LiveServer

    # Players connect before the publisher starts: they wait for it (not StreamNotFound). Thousands
    # of players come from one address: the connection limits are lifted for the benchmark.
    config = Config(rtmp_port=0, http_port=0, rtsp_port=0, rtp_port=0, rtcp_port=0, test_source=False, rtmp_play_wait=120.0,
                    hls_segment=a.segment, ll_hls=a.ll_hls, part_target=a.part,
                    limits=Limits(max_connections=100_000, max_connections_per_address=100_000))
    if a.write_coalesce is not None:
        config.limits.write_coalesce = a.write_coalesce
    server = LiveServer(config)
    await server.start()
    print(json.dumps({"pid": os.getpid(), "ports": server.ports}), flush=True)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: done.done() or (not os.read(sys.stdin.fileno(), 4096) and done.set_result(None)))
    await done
    await server.stop()


def pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--cpu", type=int)
    s.add_argument("--ll-hls", action="store_true")
    s.add_argument("--segment", type=float, default=1.0)
    s.add_argument("--part", type=float, default=0.2)
    s.add_argument("--profile", metavar="FILE", help="cProfile the server, written to FILE (pstats) when it stops")
    s.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the server's event loop")
    s.add_argument("--write-coalesce", type=float, default=None,
                   help="the server's Limits.write_coalesce in seconds (default: the server's, 0.02)")
    t = sub.add_parser("load")
    t.add_argument("--cpu", type=int)
    t.add_argument("--ports", required=True)
    t.add_argument("--server-pid", type=int, required=True)
    t.add_argument("--source", required=True, help="an FLV file, or 'testsrc'")
    t.add_argument("--name", default="live/bench")
    t.add_argument("--seconds", type=float, default=8.0)
    t.add_argument("--rtmp", type=int, default=0)
    t.add_argument("--hls", type=int, default=0)
    t.add_argument("--decode", type=int, default=1000000,
                   help="how many RTMP players decode every frame (spread evenly); the others are sinks")
    t.add_argument("--segment", type=float, default=1.0)
    t.add_argument("--play-wait", type=float, default=10.0,
                   help="seconds to wait for every player's play to be answered before publishing (nginx-rtmp "
                        "answers a play only once the stream is published: give it a moment, not 10 s)")
    t.add_argument("--probe", action="store_true")
    t.add_argument("--ll", action="store_true")
    a = p.parse_args(argv)
    pin(a.cpu)
    if a.cmd == "serve":
        profile = None
        if a.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        if a.loop == "uvloop":
            import uvloop

            uvloop.run(serve(a))
        else:
            asyncio.run(serve(a))
        if profile is not None:
            profile.disable()
            profile.dump_stats(a.profile)
    else:
        print(json.dumps(asyncio.run(trial(a))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
