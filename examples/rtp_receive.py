"""Receive an RTP stream described by an SDP file over UDP with :mod:`mediaproto.aio.udp`; print frames and loss.

    python examples/rtp_send.py --sdp stream.sdp &        # or any sender, e.g. ffmpeg -f rtp
    python examples/rtp_receive.py stream.sdp --seconds 10

For each ``m=`` line it binds the RTP port and the next one for RTCP (on the ``c=`` address) with
:func:`mediaproto.aio.udp.open_udp_pair`, which reads the sockets dry whenever they are readable,
XX it prints each track's counters: packets
lost, units dropped because of that loss, late or duplicated packets. (Over a network that
reorders packets, put a jitter buffer in front of the depacketizer; on one host, packets arrive in
order.)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediaproto import sdp  # noqa: E402
from mediaproto.aio.udp import UdpPair, open_udp_pair  # noqa: E402
from mediaproto.errors import MediaProtoError, ProtocolError  # noqa: E402
from mediaproto.media import Frame  # noqa: E402
from mediaproto.rtp.packet import RtpPacket, is_rtcp  # noqa: E402
from mediaproto.rtp.payload import Depacketizer, depacketizer_for  # noqa: E402
from mediaproto.rtp.rtcp import SenderReport, parse_compound  # noqa: E402
from mediaproto.rtp.receiver import RtpReceiver as RtpStatistics  # noqa: E402
from mediaproto.rtp.sync import AlignmentBuffer, TrackSynchronizer  # noqa: E402


class RtpReceiver:
    """One media stream: datagrams in (from :class:`~mediaproto.aio.udp.UdpPair`), frames printed."""

    def __init__(self, name: str, track_id: int, payload_type: int, depacketizer: Depacketizer,
                 align: AlignmentBuffer) -> None:
        self.name, self.track_id, self.payload_type = name, track_id, payload_type
        self.depacketizer = depacketizer
        self.align = align
        align.sync.add_track(track_id, depacketizer.clock_rate)
        self.statistics = RtpStatistics(depacketizer.clock_rate, local_ssrc=0, rng=random.Random())
        self.packets = 0
        self.frames = 0

    def receive_datagram(self, data: bytes, source_port: int, destination_port: int) -> None:
        now = asyncio.get_running_loop().time()
        try:
            if is_rtcp(data):  # sender reports, on the RTCP port (or muxed): they align the tracks
                for report in parse_compound(data, sdes_without_end=True):
                    if isinstance(report, SenderReport):
                        self.align.sync.on_sender_report(self.track_id, report.ntp_timestamp, report.rtp_timestamp)
                show(self.align.check())
                return
            packet = RtpPacket.parse(data)
            if packet.payload_type != self.payload_type:
                return
            self.packets += 1
            self.statistics.on_packet(packet, now)
            frames = self.depacketizer.feed(packet)
        except ProtocolError as exc:
            print(f"{self.name}: dropped a bad packet: {exc}", file=sys.stderr)
            return
        for frame in frames:
            show(self.align.feed(frame, now))

    def report(self) -> str:
        d, s = self.depacketizer, self.statistics.statistics
        jitter = f", jitter {1000 * s.jitter / d.clock_rate:.1f} ms" if s is not None else ""
        return (f"{self.name}: {self.packets} packets, {self.frames} frames, lost {d.lost_packets} packets "
                f"({d.lost_units} units dropped), {d.late_packets} late, {d.malformed_packets} malformed{jitter}")


#: The receivers by track id (a report that aligns the tracks releases frames of every track).
RECEIVERS: dict[int, RtpReceiver] = {}


def show(frames: list[Frame]) -> None:
    """Print frames on the stream's timeline (seconds since its first packet)."""
    for frame in frames:
        receiver = RECEIVERS[frame.track_id]
        receiver.frames += 1
        seconds = frame.pts / receiver.depacketizer.clock_rate
        kind = "key" if frame.keyframe else "   "
        print(f"{receiver.name:<6} {kind} pts={seconds:12.4f}s {frame.size:7d} bytes")


def _always(receiver: RtpReceiver) -> Callable[[tuple[str, int]], RtpReceiver]:
    """A route that sends every datagram of a pair to ``receiver``, whoever sent it."""
    return lambda source: receiver


async def receive(session: sdp.SessionDescription, seconds: float) -> None:
    receivers: list[RtpReceiver] = []
    pairs: list[UdpPair] = []
    align = AlignmentBuffer(TrackSynchronizer(), wait=1.0)
    for index, media in enumerate(session.media):
        formats = media.formats()
        if not formats:
            continue
        fmt = formats[0]
        try:
            track = sdp.track_from_media(media, index, fmt)
            depacketizer = depacketizer_for(track, fmt.clock_rate, dict(fmt.parameters), encoding_name=fmt.encoding_name)
        except MediaProtoError as exc:  # a format mediaproto has no depacketizer for
            print(f"skipping m={media.media} {fmt.encoding_name}: {exc}", file=sys.stderr)
            continue
        connection = (media.connections or [session.connection or sdp.Connection()])[0]
        receiver = RECEIVERS[index] = RtpReceiver(f"{media.media}{index}", index, fmt.payload_type, depacketizer,
                                                  align)
        pairs.append(await open_udp_pair(_always(receiver), connection.address, media.port))
        receivers.append(receiver)
        print(f"listening on {connection.address}:{media.port} for {fmt.encoding_name}/{fmt.clock_rate}",
              file=sys.stderr)
    try:
        await asyncio.sleep(seconds)
    finally:
        for pair in pairs:
            pair.close()
        now = asyncio.get_running_loop().time()
        for receiver in receivers:
            show([f for frame in receiver.depacketizer.flush() for f in align.feed(frame, now)])
        show(align.release())
        for receiver in receivers:
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
