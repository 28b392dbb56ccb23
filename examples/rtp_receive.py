"""Receive an RTP stream described by an SDP file over UDP with asyncio; print frames and loss.

    python examples/rtp_send.py --sdp stream.sdp &        # or any sender, e.g. ffmpeg -f rtp
    python examples/rtp_receive.py stream.sdp --seconds 10

For each ``m=`` line it binds the port (on the ``c=`` address), builds the depacketizer for the
format (:func:`mediaproto.rtp.payload.depacketizer_for`), and prints every frame the packets
complete. At the end, it prints each track's counters: packets lost, units dropped because of that
loss, late or duplicated packets. (Over a network that reorders packets, put a jitter buffer in
front of the depacketizer; on one host, packets arrive in order.)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediaproto import sdp  # noqa: E402
from mediaproto.errors import ProtocolError  # noqa: E402
from mediaproto.rtp.packet import RtpPacket, is_rtcp  # noqa: E402
from mediaproto.rtp.payload import Depacketizer, depacketizer_for  # noqa: E402


class RtpReceiver(asyncio.DatagramProtocol):
    """One media stream: datagrams in, frames printed."""

    def __init__(self, name: str, payload_type: int, depacketizer: Depacketizer) -> None:
        self.name = name
        self.payload_type = payload_type
        self.depacketizer = depacketizer
        self.packets = 0
        self.frames = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if is_rtcp(data):
            return
        try:
            packet = RtpPacket.parse(data)
            if packet.payload_type != self.payload_type:
                return
            self.packets += 1
            frames = self.depacketizer.push(packet)
        except ProtocolError as exc:
            print(f"{self.name}: dropped a bad packet: {exc}", file=sys.stderr)
            return
        for frame in frames:
            self.frames += 1
            seconds = frame.pts / self.depacketizer.clock_rate
            kind = "key" if frame.keyframe else "   "
            print(f"{self.name:<6} {kind} pts={seconds:12.4f}s {frame.size:7d} bytes")

    def report(self) -> str:
        d = self.depacketizer
        return (f"{self.name}: {self.packets} packets, {self.frames} frames, lost {d.lost_packets} packets "
                f"({d.lost_units} units dropped), {d.late_packets} late, {d.malformed_packets} malformed")


async def receive(session: sdp.SessionDescription, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    receivers = []
    transports = []
    for index, media in enumerate(session.media):
        formats = media.formats()
        if not formats:
            continue
        fmt = formats[0]
        try:
            track = sdp.track_from_media(media, index, fmt)
            depacketizer = depacketizer_for(track, fmt.clock_rate, dict(fmt.parameters), encoding_name=fmt.encoding_name)
        except Exception as exc:  # a format mediaproto has no depacketizer for
            print(f"skipping m={media.media} {fmt.encoding_name}: {exc}", file=sys.stderr)
            continue
        connection = (media.connections or [session.connection or sdp.Connection()])[0]
        receiver = RtpReceiver(f"{media.media}{index}", fmt.payload_type, depacketizer)
        transport, _ = await loop.create_datagram_endpoint(
            lambda r=receiver: r, local_addr=(connection.address, media.port)  # type: ignore[misc]
        )
        receivers.append(receiver)
        transports.append(transport)
        print(f"listening on {connection.address}:{media.port} for {fmt.encoding_name}/{fmt.clock_rate}",
              file=sys.stderr)
    try:
        await asyncio.sleep(seconds)
    finally:
        for transport in transports:
            transport.close()
        for receiver in receivers:
            receiver.depacketizer.flush()
            print(receiver.report(), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sdp", type=Path, help="the SDP file describing the stream")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to listen (default 30)")
    args = parser.parse_args()
    session = sdp.parse(args.sdp.read_text(), lenient=True)
    try:
        asyncio.run(receive(session, args.seconds))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
