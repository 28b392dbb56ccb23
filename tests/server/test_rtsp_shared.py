"""The live server's RTSP players share one RTP stream per track (``server.rtsp.SharedMedia``): the
same SSRC and sequence numbers for every player, a late joiner's RTP-Info naming the first packet
of its GOP-cache replay, and that replay continuing into the live packets without a gap."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

import pytest

from mediaproto import Codec, Frame, Track
from mediaproto.rtsp.headers import parse_rtp_info
from mediaproto.server.hub import Stream
from mediaproto.server.rtsp import SharedMedia

from . import _publishers as pub
from ._live import free_config, live_server_thread
from ._rtsp_raw import RawRtspClient


@pytest.fixture(scope="module")
def running() -> Iterator[pub.Running]:
    with live_server_thread(free_config(test_source=True)) as (live, loop):
        yield pub.Running(live, loop)


class Player(RawRtspClient):
    """DESCRIBE, SETUP each track on the given channels, PLAY; then RTP packets kept per channel."""

    def __init__(self, port: int, url: str, first_channel: int) -> None:
        super().__init__(port)
        describe = self.request("DESCRIBE", url, "Accept: application/sdp")
        base = (describe.headers.get("Content-Base") or url).rstrip("/")
        controls = re.findall(r"^a=control:(trackID=\d+)", describe.body.decode(), re.M)
        self.ssrc: dict[int, int] = {}
        for i, control in enumerate(controls):
            channel = first_channel + 2 * i
            setup = self.request("SETUP", f"{base}/{control}",
                                 f"Transport: RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}")
            self.session = (setup.headers.get("Session") or "").split(";")[0]
            ssrc = re.search(r"ssrc=([0-9A-Fa-f]+)", setup.headers.get("Transport") or "")
            assert ssrc is not None, setup
            self.ssrc[channel] = int(ssrc[1], 16)
        play = self.request("PLAY", url)
        assert play.status_code == 200, play
        infos = parse_rtp_info(play.headers.get("RTP-Info") or "")
        # per channel: the sequence number RTP-Info announces (the URLs end with each control)
        self.start = {first_channel + 2 * controls.index(info.url.rsplit("/", 1)[1]): info.seq for info in infos}


def test_players_share_the_stream_and_a_late_joiner_starts_where_rtp_info_says(running: pub.Running) -> None:
    url = running.url("rtsp", "live/test")
    port = running.server.ports["rtsp"]
    first = Player(port, url, 0)
    try:
        first.read_for(0.7)  # into the GOP (1 s at the test source's 25 fps)
        late = Player(port, url, 4)  # other channels: its own interleaved form of the same packets
        try:
            for client in (first, late):
                client.read_for(1.2)
        finally:
            late.sock.close()
    finally:
        first.sock.close()
    assert sorted(first.ssrc.values()) == sorted(late.ssrc.values())  # one SSRC per track for both
    by_seq: dict[tuple[int, int], bytes] = {}
    for player in (first, late):
        for channel, start in player.start.items():
            packets = player.packets.get(channel, [])
            assert len(packets) > 10, (channel, len(packets))
            seqs = [struct.unpack_from("!H", p, 2)[0] for p in packets]
            assert seqs[0] == start, f"channel {channel}: RTP-Info says {start}, the first packet is {seqs[0]}"
            assert seqs == [(start + i) & 0xFFFF for i in range(len(seqs))], f"channel {channel}: a gap"
            assert {struct.unpack_from("!I", p, 8)[0] for p in packets} == {player.ssrc[channel]}
            for seq, p in zip(seqs, packets):  # the same packet under the same number, for both
                assert by_seq.setdefault((player.ssrc[channel], seq), p) == p
    # the late joiner's replay carried packets the first player had got before it joined
    first_video = {struct.unpack_from("!H", p, 2)[0] for p in first.packets[0]}
    assert late.start[4] in first_video


VIDEO = Track(0, Codec.H264, 1000, parameter_sets=(bytes.fromhex("6742c00dd90141fb0110000003001000000303"
                                                                 "20f142a480"), bytes.fromhex("68cb8cb2")))
AUDIO = Track(1, Codec.AAC, 1000, config=bytes.fromhex("1190"), sample_rate=48000, channels=2)


def test_shared_media_keeps_the_gop_prepared_and_forgets_older_ones() -> None:
    stream = Stream("live/x")
    stream.start("test", 0.0)
    stream.set_tracks([VIDEO, AUDIO])
    media = SharedMedia(stream, 1400)
    pushed: list[Frame] = []
    for i in range(30):  # a keyframe every 10 video frames
        for frame in (Frame(0, i * 40, i * 40, ((b"\x65" if i % 10 == 0 else b"\x41") + bytes(500),), i % 10 == 0),
                      Frame(1, i * 40 + 1, i * 40 + 1, b"\x21" * 40, True)):
            stream.push(frame, i * 0.04)
            pushed.append(frame)
            media.prepare(frame)  # as the players ask for it
    assert stream.gop[0] is pushed[40]  # the last GOP began with the 21st video frame
    video, audio = media.sources[0], media.sources[1]
    assert all(video.find(f) is not None for f in stream.gop if f.track_id == 0)
    assert all(audio.find(f) is not None for f in stream.gop if f.track_id == 1)
    assert video.find(pushed[38]) is None and audio.find(pushed[39]) is None  # the GOP before: forgotten
    start = media.start_sequence(stream)
    assert start == {0: video.find(pushed[40]).first_sequence, 1: audio.find(pushed[41]).first_sequence}  # type: ignore[union-attr]
    # the next frames continue the numbering after the last prepared one
    last = media.prepare(pushed[-2])
    assert last is not None
    nxt = media.prepare(Frame(0, 1200, 1200, (b"\x41" + bytes(500),), False))
    assert nxt is not None and nxt.first_sequence == (last.first_sequence + len(last.packets)) & 0xFFFF
