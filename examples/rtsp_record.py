#!/usr/bin/env python3
"""Pull an RTSP stream with :class:`mediaproto.rtsp.ClientConnection` and write what arrives.

    python3 examples/rtsp_record.py rtsp://user:pass@camera/stream --seconds 10
    python3 examples/rtsp_record.py rtsp://127.0.0.1:8554/test --transport udp --format ts

Writes ``out.ts`` (MPEG-TS, with ``--format ts`` when :class:`mediaproto.mpegts.Muxer` is
available), or the raw elementary streams ``out.h264`` (Annex B) / ``out.h265`` and ``out.aac``
(ADTS), which any player opens. The client does everything RTSP needs (OPTIONS, DESCRIBE with a
Digest retry, SETUP of every track, PLAY, keepalives and receiver reports on its timer); this file
only moves bytes between it and the sockets: the TCP connection, and over UDP one RTP/RTCP socket
pair per track.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

OnDatagram = Callable[[bytes, tuple[str, int], int], None]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mediaproto.codecs.aac import AudioSpecificConfig  # noqa: E402
from mediaproto.codecs.adts import adts_wrap  # noqa: E402
from mediaproto.codecs.h264 import join_annexb  # noqa: E402
from mediaproto.errors import MediaProtoError  # noqa: E402
from mediaproto.media import Codec, Frame, Track  # noqa: E402
from mediaproto.rtsp import (  # noqa: E402
    ClientConnection,
    ConnectionClosed,
    DescribeCompleted,
    FrameReceived,
    PlayStarted,
    Redirected,
    RequestFailed,
    RtcpReceived,
    RtspEvent,
)
from mediaproto.rtp.rtcp import Goodbye  # noqa: E402

log = logging.getLogger("rtsp_record")
MAX_UDP_TRACKS = 4


class Writer:
    """Raw elementary streams: ``.h264``/``.h265`` in Annex B, ``.aac`` in ADTS."""

    def __init__(self, tracks: tuple[Track, ...], out_dir: Path, stem: str) -> None:
        self.tracks = {t.id: t for t in tracks}
        self.files: dict[int, BinaryIO] = {}
        self.paths: list[Path] = []
        self.configs: dict[int, AudioSpecificConfig] = {}
        for t in tracks:
            ext = {Codec.H264: "h264", Codec.H265: "h265", Codec.AAC: "aac"}.get(t.codec)
            if ext is None:
                log.warning("track %d (%s): not written", t.id, t.codec.name)
                continue
            if t.codec is Codec.AAC:
                self.configs[t.id] = AudioSpecificConfig.parse(t.config)
            path = out_dir / f"{stem}.{ext}"
            self.files[t.id] = path.open("wb")
            self.paths.append(path)

    def write(self, frame: Frame) -> None:
        f = self.files.get(frame.track_id)
        if f is None:
            return
        if isinstance(frame.data, tuple):
            f.write(join_annexb(frame.data))
        else:
            f.write(adts_wrap(frame.data, self.configs[frame.track_id]))

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class TsWriter:
    """One MPEG-TS file through :class:`mediaproto.mpegts.Muxer`."""

    def __init__(self, tracks: tuple[Track, ...], out_dir: Path, stem: str) -> None:
        from mediaproto.mpegts import Muxer

        self.muxer = Muxer(tracks)
        path = out_dir / f"{stem}.ts"
        self.file = path.open("wb")
        self.paths = [path]

    def write(self, frame: Frame) -> None:
        self.file.write(self.muxer.mux(frame))

    def close(self) -> None:
        self.file.close()


@dataclass
class PullResult:
    """What a pull received: the tracks, the frames (when kept) and the files written."""

    tracks: tuple[Track, ...] = ()
    frames: list[Frame] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    error: str | None = None


class UdpPort(asyncio.DatagramProtocol):
    """One of our UDP sockets: datagrams go to the client with both ports named."""

    def __init__(self, on_datagram: OnDatagram) -> None:
        self.on_datagram = on_datagram
        self.port = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data, addr, self.port)


async def bind_udp_pairs(host: str, count: int, on_datagram: OnDatagram) -> list[tuple[UdpPort, UdpPort]]:
    """``count`` (RTP, RTCP) socket pairs on consecutive ports, RTP even."""
    loop = asyncio.get_running_loop()
    pairs: list[tuple[UdpPort, UdpPort]] = []
    while len(pairs) < count:
        rtp = UdpPort(on_datagram)
        t1, _ = await loop.create_datagram_endpoint(lambda: rtp, local_addr=(host, 0))
        rtcp = UdpPort(on_datagram)
        if rtp.port % 2:
            t1.close()
            continue
        try:
            await loop.create_datagram_endpoint(lambda: rtcp, local_addr=(host, rtp.port + 1))
        except OSError:
            t1.close()
            continue
        pairs.append((rtp, rtcp))
    return pairs


async def pull(url: str, *, transport: str = "tcp", seconds: float | None = None, out_dir: Path = Path("."),
               stem: str = "out", fmt: str = "raw", keep_frames: bool = True,
               stop: asyncio.Event | None = None) -> PullResult:
    """Play ``url`` until ``seconds`` of media arrived (or ``stop`` is set, or the server ends),
    writing it to ``out_dir``; returns what arrived."""
    loop = asyncio.get_running_loop()
    host_port = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port_text = host_port.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port_text or 554))
    pairs: list[tuple[UdpPort, UdpPort]] = []
    result = PullResult()
    out: Writer | TsWriter | None = None
    first_pts: dict[int, int] = {}
    done = stop or asyncio.Event()
    timer: asyncio.TimerHandle | None = None
    ended: set[int] = set()

    def handle(events: list[RtspEvent]) -> None:
        nonlocal out
        for event in events:
            if isinstance(event, DescribeCompleted):
                result.tracks = event.tracks
                log.info("tracks: %s", ", ".join(f"{t.id}:{t.codec.name}" for t in event.tracks))
                out = TsWriter(event.tracks, out_dir, stem) if fmt == "ts" else Writer(event.tracks, out_dir, stem)
                result.paths = out.paths
            elif isinstance(event, PlayStarted):
                log.info("playing (%s)", client.transport)
            elif isinstance(event, FrameReceived):
                frame = event.frame
                rate = next((t.clock_rate for t in result.tracks if t.id == frame.track_id), 90000)
                start = first_pts.setdefault(frame.track_id, frame.pts)
                if seconds is not None and frame.pts - start >= seconds * rate:
                    done.set()
                    continue
                if done.is_set():
                    continue
                if keep_frames:
                    result.frames.append(frame)
                if out is not None:
                    out.write(frame)
            elif isinstance(event, RequestFailed):
                result.error = f"{event.method}: {event.response.status_code} {event.response.reason}"
                log.error("%s", result.error)
                done.set()
            elif isinstance(event, Redirected):
                result.error = f"redirected to {event.url}"
                done.set()
            elif isinstance(event, RtcpReceived):
                if any(isinstance(p, Goodbye) for p in event.packets):
                    ended.add(event.track_id)  # the server ended that track (RTCP BYE)
                    if result.tracks and ended >= {t.id for t in result.tracks}:
                        done.set()
            elif isinstance(event, ConnectionClosed):
                done.set()
        flush()

    def flush() -> None:
        nonlocal timer
        data = client.data_to_send()
        if data and not writer.is_closing():
            writer.write(data)
        for d in client.datagrams_to_send():
            for rtp, rtcp in pairs:
                sock = rtp if rtp.port == d.source_port else rtcp if rtcp.port == d.source_port else None
                if sock is not None and sock.transport is not None:
                    sock.transport.sendto(d.data, (host, d.destination_port))
        if timer is not None:
            timer.cancel()
        deadline = client.next_timer()
        timer = loop.call_at(deadline, on_timer) if deadline is not None else None

    def on_timer() -> None:
        try:
            handle(client.handle_timer(loop.time()))
        except MediaProtoError as exc:
            log.error("%s", exc)

    def on_datagram(data: bytes, addr: tuple[str, int], our_port: int) -> None:
        try:
            handle(client.receive_datagram(data, addr[1], our_port, loop.time()))
        except MediaProtoError as exc:
            log.error("%s", exc)

    if transport == "udp":
        pairs = await bind_udp_pairs("0.0.0.0" if host not in ("127.0.0.1", "localhost") else "127.0.0.1",
                                     MAX_UDP_TRACKS, on_datagram)
    client = ClientConnection(url, transport=transport, udp_ports=[(a.port, b.port) for a, b in pairs],
                              jitter_latency=0.2)  # over UDP, wait up to 200 ms for reordered packets

    async def read() -> None:
        while True:
            data = await reader.read(65536)
            try:
                handle(client.receive_data(data, loop.time()))
            except MediaProtoError as exc:
                result.error = str(exc)
                log.error("%s", exc)
                done.set()
                return
            if not data:
                return

    client.start(loop.time())
    flush()
    reading = loop.create_task(read())
    try:
        await done.wait()
        if client.session_id is not None and not writer.is_closing():
            try:
                client.teardown()
                flush()
                await writer.drain()
                await asyncio.wait_for(asyncio.shield(reading), 1.0)
            except (MediaProtoError, asyncio.TimeoutError, ConnectionError):
                pass
    finally:
        reading.cancel()
        if timer is not None:
            timer.cancel()
        writer.close()
        for a, b in pairs:
            for s in (a, b):
                if s.transport is not None:
                    s.transport.close()
        if out is not None:
            out.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="rtsp://[user:password@]host[:port]/path")
    parser.add_argument("--transport", choices=("tcp", "udp"), default="tcp")
    parser.add_argument("--seconds", type=float, help="stop after this much media (default: until Ctrl-C)")
    parser.add_argument("--format", choices=("raw", "ts"), default="raw", help="raw elementary streams or MPEG-TS")
    parser.add_argument("--out-dir", type=Path, default=Path("."))
    parser.add_argument("--stem", default="out", help="file name without extension (default out)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def run() -> PullResult:
        stop = asyncio.Event()
        task = asyncio.create_task(pull(args.url, transport=args.transport, seconds=args.seconds, out_dir=args.out_dir,
                                        stem=args.stem, fmt=args.format, keep_frames=False, stop=stop))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:  # Ctrl-C: TEARDOWN, close the files
            stop.set()
            return await task

    try:
        result = asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    for path in result.paths:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
