#!/usr/bin/env python3
"""An RTSP server that plays the built-in test source, with :func:`mediaproto.aio.rtsp.serve_rtsp`.

    python3 examples/rtsp_server.py --port 8554
    ffplay -rtsp_transport tcp rtsp://127.0.0.1:8554/test
    python3 examples/rtsp_server.py --port 8554 --seconds 10 --user alice --password secret
    ffmpeg -rtsp_transport udp -i rtsp://alice:secret@127.0.0.1:8554/test -f null -

Every player of ``/test`` gets its own test source (H.264 colour bars with a clock, an AAC tone)
from the first keyframe, in real time, over TCP or UDP as it asks. With ``--seconds`` the stream
ends after that much media: an RTCP BYE on each track, then the player sends TEARDOWN. Publishing
is refused; the live server that relays publishers is ``mediaproto-server`` (:mod:`mediaproto.server`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mediaproto.aio import rtsp  # noqa: E402
from mediaproto.media import Track  # noqa: E402
from mediaproto.rtsp import DigestAuthenticator, ServerConfiguration  # noqa: E402
from mediaproto.testsrc import TestSource  # noqa: E402

#: The path the test source is served at.
PATH = "test"


def describe(path: str) -> tuple[Track, ...] | None:
    """The tracks of ``path`` (``None``: 404)."""
    return TestSource().tracks if path == PATH else None


async def play_test_source(playing: rtsp.RtspPlaying, seconds: float | None = None, step: float = 0.02) -> None:
    """Send the test source to ``playing`` in real time, ``seconds`` of it (or until the player
    leaves), then end the stream."""
    loop = asyncio.get_running_loop()
    source = TestSource()
    start, sent_until = loop.time(), 0.0
    try:
        while seconds is None or sent_until < seconds:
            sent_until = loop.time() - start + step
            if seconds is not None:
                sent_until = min(sent_until, seconds)
            for frame in source.frames_until(sent_until):  # the frames due by then
                await playing.send_frame(frame)
            await asyncio.sleep(step)
        await playing.end()  # RTCP BYE on every track
    except rtsp.SessionError:
        pass  # the player left (TEARDOWN or a closed connection)


async def serve(host: str, port: int, rtp_port: int, seconds: float | None,
                configuration: ServerConfiguration | None = None) -> None:
    async def on_play(playing: rtsp.RtspPlaying) -> None:
        await play_test_source(playing, seconds)
        print(f"{playing.path}: sent {dict(playing.frames_sent)} frames per track", flush=True)

    server, udp = await rtsp.serve_rtsp(describe, on_play, host=host, port=port, rtp_port=rtp_port,
                                        configuration=configuration)
    print(f"playing rtsp://{host}:{server.sockets[0].getsockname()[1]}/{PATH} (RTP/RTCP on UDP {udp.ports})",
          flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        udp.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8554, help="RTSP port (default 8554; 0: any free port)")
    parser.add_argument("--rtp-port", type=int, default=0, help="UDP RTP port, RTCP the next (default: any even port)")
    parser.add_argument("--seconds", type=float, help="end each stream after this much media (default: never)")
    parser.add_argument("--user", help="require Digest authentication with this user ...")
    parser.add_argument("--password", help="... and this password")
    args = parser.parse_args()
    config = None
    if args.user:
        config = ServerConfiguration(authenticator=DigestAuthenticator("mediaproto", b"example key"),
                                     passwords={args.user: args.password or ""})
    try:
        asyncio.run(serve(args.host, args.port, args.rtp_port, args.seconds, config))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
