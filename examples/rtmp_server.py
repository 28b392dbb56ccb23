#!/usr/bin/env python3
"""A small live RTMP server on asyncio, built on :class:`mediaproto.rtmp.ServerConnection`.

    python3 examples/rtmp_server.py --port 1935
    ffmpeg -re -i input.flv -c copy -f flv rtmp://127.0.0.1:1935/live/key     # publish
    ffplay rtmp://127.0.0.1:1935/live/key                                      # play

One :class:`LiveStream` per ``app/key``: its tracks, its metadata and the frames since the last
video keyframe (the GOP cache that gives late players a fast start). The publisher's frames go to
the stream; the stream writes them to every player. Fan-out serializes each frame once per
(message stream id, chunk size) with :func:`mediaproto.rtmp.connection.frame_chunks` and writes the
same bytes to every player in that group. A player whose socket buffer passes a high-water mark
skips frames until the next keyframe instead of growing memory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.errors import MediaProtoError  # noqa: E402
from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtmp.connection import frame_chunks  # noqa: E402
from mediaproto.rtmp.events import (ConnectionClosed, ConnectRequested, FrameReceived, MetadataReceived,  # noqa: E402
                                    PlayRequested, PublishRequested, StreamClosed, TrackReceived)
from mediaproto.rtmp.flv import MediaTagEncoder  # noqa: E402
from mediaproto.rtmp.server import ServerConnection  # noqa: E402

HIGH_WATER = 4 * 1024 * 1024


@dataclass
class Player:
    session: "RtmpSession"
    stream_id: int
    tracks_sent: tuple[Track, ...] = ()
    waiting_keyframe: bool = False


@dataclass
class LiveStream:
    """One live stream: tracks, metadata, the GOP cache and the players."""

    name: str
    publisher: "RtmpSession | None" = None
    tracks: dict[int, Track] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    gop: list[Frame] = field(default_factory=list)
    players: list[Player] = field(default_factory=list)
    encoder: MediaTagEncoder | None = None
    track_list: tuple[Track, ...] = ()
    had_keyframe: bool = False

    def set_track(self, track: Track) -> None:
        self.tracks[track.id] = track
        self.track_list = tuple(self.tracks[k] for k in sorted(self.tracks))
        self.encoder = MediaTagEncoder(list(self.track_list))

    def seconds(self, frame: Frame) -> float:
        track = self.tracks.get(frame.track_id)
        return frame.dts / track.clock_rate if track is not None else 0.0

    def is_video_keyframe(self, frame: Frame) -> bool:
        track = self.tracks.get(frame.track_id)
        return frame.keyframe and track is not None and track.codec.is_video

    def push(self, frame: Frame) -> None:
        if self.is_video_keyframe(frame):
            if self.had_keyframe:
                # a new GOP: keep only what is not older than the keyframe (audio sent just before it)
                at = self.seconds(frame)
                self.gop = [f for f in self.gop if self.seconds(f) >= at]
            self.had_keyframe = True
        self.gop.append(frame)
        if len(self.gop) > 2000:  # a stream without keyframes: keep memory bounded
            self.gop = self.gop[-1000:]
        self.fan_out(frame)

    def start_player(self, player: Player) -> None:
        """Tracks and the GOP cache for a new player."""
        if not self.track_list:
            return
        player.session.conn.send_tracks(player.stream_id, self.track_list)
        player.tracks_sent = self.track_list
        for frame in self.gop:
            player.session.conn.send_frame(player.stream_id, frame)
        player.session.flush()

    def fan_out(self, frame: Frame) -> None:
        if self.encoder is None:
            return
        keyframe = self.is_video_keyframe(frame)
        shared: dict[tuple[int, int], bytes] = {}
        for player in list(self.players):
            conn = player.session.conn
            if player.tracks_sent != self.track_list:
                conn.send_tracks(player.stream_id, self.track_list)
                player.tracks_sent = self.track_list
            if player.session.write_buffer_size() > HIGH_WATER:
                player.waiting_keyframe = True
                continue
            if player.waiting_keyframe:
                if not keyframe:
                    continue
                player.waiting_keyframe = False
            key = (player.stream_id, conn.outgoing_chunk_size)
            data = shared.get(key)
            if data is None:  # one serialization per group of players, not per player
                data = shared[key] = frame_chunks(self.encoder, frame, stream_id=key[0], chunk_size=key[1])
            conn.send_raw(data)
            player.session.flush()

    def end(self) -> None:
        for player in self.players:
            try:
                player.session.conn.end_play(player.stream_id)
                player.session.flush()
            except MediaProtoError:
                pass
            player.session.close_soon()
        self.players.clear()


class Hub:
    """The streams by name, plus optional observers (tests use them to see what arrived)."""

    def __init__(self) -> None:
        self.streams: dict[str, LiveStream] = {}
        self.on_frame: list[Callable[[str, Frame], None]] = []
        self.on_track: list[Callable[[str, Track], None]] = []
        self.on_metadata: list[Callable[[str, dict[str, Any]], None]] = []
        self.on_unpublish: list[Callable[[str], None]] = []


class RtmpSession(asyncio.Protocol):
    """One TCP connection: bytes in, events out, bytes back."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conn = ServerConnection(ping_interval=30.0, now=time.monotonic())
        self.transport: asyncio.Transport | None = None
        self.publishing: dict[int, LiveStream] = {}
        self.playing: dict[int, LiveStream] = {}
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport else 0

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.conn.next_timer()
        if deadline is None or self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + max(0.0, deadline - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self.conn.broken:
            self.conn.handle_timer(time.monotonic())
            self.flush()

    def close_soon(self) -> None:
        if self.transport is not None:
            asyncio.get_running_loop().call_later(0.5, self.transport.close)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except MediaProtoError as exc:
            print(f"rtmp: closing a connection: {exc}")
            self.flush()
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            self.handle(event)
        self.flush()

    def handle(self, event: object) -> None:
        hub = self.hub
        if isinstance(event, ConnectRequested):
            self.conn.accept_connect(event)
        elif isinstance(event, PublishRequested):
            name = f"{event.app}/{event.publishing_name.split('?')[0]}"
            stream = hub.streams.get(name)
            if stream is not None and stream.publisher is not None:
                self.conn.reject_publish(event, f"{name} is already being published")
                return
            if stream is None:
                stream = hub.streams[name] = LiveStream(name)
            stream.publisher = self
            self.publishing[event.stream_id] = stream
            self.conn.accept_publish(event)
        elif isinstance(event, TrackReceived):
            stream = self.publishing.get(event.stream_id)
            if stream is not None:
                stream.set_track(event.track)
                for cb in hub.on_track:
                    cb(stream.name, event.track)
        elif isinstance(event, FrameReceived):
            stream = self.publishing.get(event.stream_id)
            if stream is not None:
                for cbf in hub.on_frame:
                    cbf(stream.name, event.frame)
                stream.push(event.frame)
        elif isinstance(event, MetadataReceived):
            stream = self.publishing.get(event.stream_id)
            if stream is not None:
                stream.metadata = event.metadata
                for cbm in hub.on_metadata:
                    cbm(stream.name, event.metadata)
        elif isinstance(event, PlayRequested):
            name = f"{event.app}/{event.stream_name.split('?')[0]}"
            stream = hub.streams.get(name)
            if stream is None:
                stream = hub.streams[name] = LiveStream(name)  # wait for the publisher
            self.conn.accept_play(event, metadata=stream.metadata)
            player = Player(self, event.stream_id)
            stream.players.append(player)
            self.playing[event.stream_id] = stream
            stream.start_player(player)
        elif isinstance(event, StreamClosed):
            self._stop(event.stream_id)
        elif isinstance(event, ConnectionClosed):
            self.connection_lost(None)

    def _stop(self, stream_id: int) -> None:
        stream = self.publishing.pop(stream_id, None)
        if stream is not None and stream.publisher is self:
            stream.publisher = None
            for cb in self.hub.on_unpublish:
                cb(stream.name)
            stream.end()
            self.hub.streams.pop(stream.name, None)
        stream = self.playing.pop(stream_id, None)
        if stream is not None:
            stream.players = [p for p in stream.players if p.session is not self]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for sid in list(self.publishing) + list(self.playing):
            self._stop(sid)


async def serve(hub: Hub, host: str = "127.0.0.1", port: int = 1935) -> asyncio.Server:
    """Start listening; returns the server (its ``sockets[0].getsockname()`` gives the port)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: RtmpSession(hub), host, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1935)
    args = parser.parse_args()

    async def run() -> None:
        server = await serve(Hub(), args.host, args.port)
        print(f"listening on rtmp://{args.host}:{server.sockets[0].getsockname()[1]}/live/<key>", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
