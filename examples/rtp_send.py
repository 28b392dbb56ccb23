"""Send H.264 + AAC over RTP/UDP with asyncio, and write the SDP file a player opens.

    python examples/rtp_send.py --sdp stream.sdp                      # the built-in test source
    python examples/rtp_send.py --input clip.flv --sdp stream.sdp     # the frames of an FLV file
    ffplay -protocol_whitelist file,udp,rtp -i stream.sdp             # or: vlc stream.sdp

Video goes to ``--port`` and audio to ``--port + 2`` on ``--host`` (RTCP would use the odd ports;
this example sends none). Frames are sent in real time, by their timestamps. The parameter sets
travel both in the SDP and in-band before every keyframe, so a player that starts late can decode.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediaproto.media import Frame, Track  # noqa: E402
from mediaproto.rtp.payload import packetizer_for  # noqa: E402
from mediaproto.sdp import Connection, SessionDescription, media_from_track  # noqa: E402


def load_flv(path: Path) -> tuple[list[Track], list[Frame]]:
    """The tracks and frames of an FLV file (H.264/AAC), with mediaproto's FLV reader."""
    from mediaproto.rtmp import MediaTagDecoder, read_flv

    decoder = MediaTagDecoder()
    frames: list[Frame] = []
    for tag in read_flv(path.read_bytes())[1]:
        frames += [x for x in decoder.feed(tag.tag_type, tag.timestamp, tag.data) if isinstance(x, Frame)]
    frames += [x for x in decoder.flush() if isinstance(x, Frame)]
    return list(decoder.tracks.values()), frames


def write_sdp(path: Path, host: str, tracks: list[Track], ports: dict[int, int], payload_types: dict[int, int]) -> None:
    session = SessionDescription(session_name="mediaproto rtp_send", connection=Connection(connection_address=host))
    for track in tracks:
        # the SDP names the RTP clock rate (90 kHz video, the sample rate for AAC), whatever the
        # clock of the frames (milliseconds for FLV)
        rtp_clock = 90000 if track.codec.is_video else track.sample_rate or track.clock_rate
        rtp_track = dataclasses.replace(track, clock_rate=rtp_clock)
        session.media.append(media_from_track(rtp_track, payload_types[track.id], port=ports[track.id]))
    path.write_text(session.dumps())


async def send(host: str, tracks: list[Track], frames: list[Frame], ports: dict[int, int],
               payload_types: dict[int, int], loop_forever: bool) -> None:
    loop = asyncio.get_running_loop()
    transports = {}
    packetizers = {}
    for track in tracks:
        transports[track.id], _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=(host, ports[track.id])
        )
        packetizers[track.id] = packetizer_for(
            track, payload_types[track.id], ssrc=random.getrandbits(32),
            initial_sequence=random.getrandbits(16), initial_timestamp=random.getrandbits(32),
        )
    rates = {track.id: track.clock_rate for track in tracks}
    start = loop.time()
    offset = 0.0  # seconds added per loop of a file
    sent = 0
    try:
        while True:
            for frame in frames:
                if frame.track_id not in packetizers:
                    continue
                at = start + offset + frame.dts / rates[frame.track_id]
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                shifted = Frame(frame.track_id, frame.pts + round(offset * rates[frame.track_id]),
                                frame.dts, frame.data, frame.keyframe)
                for packet in packetizers[frame.track_id].packetize(shifted):
                    transports[frame.track_id].sendto(bytes(packet))
                    sent += 1
            if not loop_forever:
                break
            offset += max(f.dts / rates[f.track_id] for f in frames if f.track_id in rates) + 0.04
    finally:
        for transport in transports.values():
            transport.close()
        print(f"sent {sent} packets", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="destination address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5004, help="video RTP port; audio uses port + 2")
    parser.add_argument("--sdp", type=Path, default=Path("stream.sdp"), help="where to write the SDP")
    parser.add_argument("--input", type=Path, help="an FLV file to send instead of the test source")
    parser.add_argument("--seconds", type=float, default=30.0, help="test source duration (default 30)")
    parser.add_argument("--loop", action="store_true", help="send the file again and again")
    args = parser.parse_args()

    if args.input:
        tracks, frames = load_flv(args.input)
    else:
        from mediaproto.testsrc import TestSource

        source = TestSource()
        tracks, frames = list(source.tracks), source.frames_until(args.seconds)
    tracks.sort(key=lambda t: not t.codec.is_video)
    ports = {track.id: args.port + 2 * i for i, track in enumerate(tracks)}
    payload_types = {track.id: 96 + i for i, track in enumerate(tracks)}
    write_sdp(args.sdp, args.host, tracks, ports, payload_types)
    print(f"wrote {args.sdp}; sending {len(frames)} frames to {args.host}", file=sys.stderr)
    try:
        asyncio.run(send(args.host, tracks, frames, ports, payload_types, args.loop))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
