#!/usr/bin/env python3
"""Push a stream to an RTMP server with :class:`mediaproto.rtmp.ClientConnection` (blocking sockets).

    python3 examples/rtmp_push.py rtmp://127.0.0.1:1935/live/key --seconds 10

Without an input it sends the built-in test source (colour bars and a tone), in real time unless
``--fast``; ``--flv FILE`` sends the frames of an FLV file instead.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtmp import ClientConnection, Connected, ConnectRejected, PublishStarted, StatusReceived  # noqa: E402
from mediaproto.rtmp.events import Event  # noqa: E402


def split_url(url: str) -> tuple[str, int, str, str, str]:
    """``rtmp://host:port/app/key`` -> (host, port, app, key, tcUrl)."""
    parts = urlsplit(url)
    if parts.scheme != "rtmp" or not parts.hostname:
        raise ValueError(f"not an rtmp:// URL: {url}")
    path = parts.path.lstrip("/")
    app, _, key = path.partition("/")
    if parts.query:
        key += "?" + parts.query
    port = parts.port or 1935
    return parts.hostname, port, app, key, f"rtmp://{parts.hostname}:{port}/{app}"


class Session:
    """A blocking socket driving a :class:`ClientConnection`."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        host, port, app, self.key, tc_url = split_url(url)
        self.conn = ClientConnection(app, tc_url)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def wait_for(self, kind: type, timeout: float = 10.0) -> list[Event]:
        """Read until an event of ``kind`` arrives; returns every event read."""
        deadline = time.monotonic() + timeout
        seen: list[Event] = []
        while time.monotonic() < deadline:
            data = self.sock.recv(65536)
            events = self.conn.receive_data(data)
            self.flush()
            seen += events
            for e in events:
                if isinstance(e, kind):
                    return seen
                if isinstance(e, ConnectRejected) or isinstance(e, StatusReceived) and e.level == "error":
                    raise RuntimeError(f"server refused: {e}")
            if not data:
                break
        raise TimeoutError(f"no {kind.__name__} from the server")

    def close(self) -> None:
        self.sock.close()


def push(url: str, tracks: Sequence[Track], frames: Iterable[Frame], *, realtime: bool = False,
         metadata: dict[str, object] | None = None) -> int:
    """Publish ``frames`` to ``url``; returns how many frames were sent."""
    s = Session(url)
    try:
        s.wait_for(Connected)
        s.conn.publish(s.key)
        s.flush()
        s.wait_for(PublishStarted)
        if metadata:
            s.conn.send_metadata(metadata)
        s.conn.send_tracks(tracks)
        s.flush()
        rates = {t.id: t.clock_rate for t in tracks}
        start = time.monotonic()
        n = 0
        for frame in frames:
            if realtime:
                delay = frame.dts / rates[frame.track_id] - (time.monotonic() - start)
                if delay > 0:
                    time.sleep(delay)
            s.conn.send_frame(frame)
            s.flush()
            n += 1
        s.conn.close_stream()
        s.flush()
        return n
    finally:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flv", help="send the frames of this FLV file")
    parser.add_argument("--fast", action="store_true", help="do not pace in real time")
    args = parser.parse_args()
    if args.flv:
        from mediaproto.rtmp.flv import MediaTagDecoder, read_flv

        with open(args.flv, "rb") as f:
            _, tags = read_flv(f.read())
        dec = MediaTagDecoder()
        items = [i for t in tags for i in dec.push(t.tag_type, t.timestamp, t.data)]
        tracks = list(dec.tracks.values())
        frames = [i for i in items if isinstance(i, Frame)]
    else:
        from mediaproto.testsrc import TestSource

        src = TestSource()
        tracks = list(src.tracks)
        frames = src.frames_until(args.seconds)
    n = push(args.url, tracks, frames, realtime=not args.fast)
    print(f"sent {n} frames")


if __name__ == "__main__":
    main()
