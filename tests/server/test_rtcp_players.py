"""Issue 13, "Done when" 3 (the real-peer half): RTCP between the live server and RTSP players.

ffmpeg and GStreamer ``rtspsrc`` play ``live/test`` (the built-in H.264 + AAC test source) for
about 8 s over TCP and over UDP, each through its own :class:`tests.interop._rtsp_proxy.RtspProxy`
(which parses what passes with our own parser: requests, responses, interleaved RTP and RTCP).
What each player receives is taken from the proxy over TCP; over UDP the server's sends on its
shared RTCP socket are recorded (a wrapper on ``LiveServer.udp.send``, the only way out).

Checked: every RTP stream of every player gets a sender report within 1 s of the PLAY response,
then at least every 7.5 s (RFC 3550's 5 s minimum, randomized by up to 1.5x) until the player
leaves, and never two within 1 s; the receiver reports the players send back (seen by a wrapper on
``RtspSession.handle_event``, as the ``RtcpReceived`` events the server handles) parse, name our
SSRCs, and carry an LSR that is the middle 32 bits of an SR we sent and a DLSR that, with the times
we saw, leaves a round trip between -50 ms and 1 s (on loopback it is about 0).

FFmpeg sends receiver reports only over UDP: its RTSP demuxer calls
``ff_rtp_check_and_send_back_rr`` in the UDP branch of ``ff_rtsp_fetch_packet`` alone (libavformat
rtsp.c), so over TCP no RR is expected from it (the proxy confirms it sends no RTCP there).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mediaproto.rtp import ReceiverReport, SenderReport, parse_compound
from mediaproto.rtsp import RtcpReceived
from mediaproto.server.rtsp import RtspSession
from tests.interop._rtsp_proxy import TO_CLIENT, TO_SERVER, RtspProxy
from tests.interop.conftest import gst_launch  # noqa: F401 (fixture)

from . import _publishers as pub
from ._live import free_config, live_server_thread

pytestmark = pytest.mark.interop

PLAY_SECONDS = 8.0
#: RFC 3550 6.2/A.7: 5 s minimum interval, randomized to 0.5-1.5 times it.
MAX_GAP = 7.5
FIRST_WITHIN = 1.0
#: A.7's shortest interval: half the 5 s minimum, halved again for the first, over e - 3/2.
MIN_GAP = 1.0


@dataclass
class Hooks:
    """What the server received (RTCP events) and sent on its RTCP socket, with monotonic times."""

    rtcp_in: list[tuple[float, int, tuple[object, ...]]] = field(default_factory=list)
    udp_out: list[tuple[float, int, bytes]] = field(default_factory=list)


@pytest.fixture(scope="module")
def running() -> Iterator[pub.Running]:
    with live_server_thread(free_config(test_source=True)) as (live, loop):
        yield pub.Running(live, loop)


@pytest.fixture
def hooks(running: pub.Running, monkeypatch: pytest.MonkeyPatch) -> Hooks:
    seen = Hooks()
    original = RtspSession.handle_event

    def handle_event(self: RtspSession, event: Any) -> None:
        if isinstance(event, RtcpReceived):
            seen.rtcp_in.append((time.monotonic(), event.track_id, tuple(event.packets)))
        original(self, event)

    monkeypatch.setattr(RtspSession, "handle_event", handle_event)
    udp = running.server.udp
    assert udp is not None
    send = udp.send
    rtcp_port = udp.rtcp.port

    def send_hook(source_port: int, data: bytes, addr: tuple[str, int]) -> None:
        if source_port == rtcp_port:
            seen.udp_out.append((time.monotonic(), addr[1], data))
        send(source_port, data, addr)

    monkeypatch.setattr(udp, "send", send_hook)
    return seen


def player_command(player: str, transport: str, url: str, ffmpeg: str, gst: str) -> list[str]:
    if player == "ffmpeg":
        return [ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", transport, "-i", url, "-t", str(PLAY_SECONDS),
                "-map", "0", "-f", "null", "-"]
    return [gst, "-e", "rtspsrc", f"location={url}", f"protocols={transport}", "latency=200", "name=s",
            "s.", "!", "queue", "!", "decodebin", "!", "fakesink", "s.", "!", "queue", "!", "decodebin", "!", "fakesink"]


def sender_reports(proxy: RtspProxy, hooks: Hooks, transport: str) -> dict[str, list[tuple[float, SenderReport]]]:
    """Per RTP stream of the player (TCP: ``ch<N>``, UDP: ``port<N>``), the SRs it got, timed."""
    streams: dict[str, list[tuple[float, SenderReport]]] = {}
    if transport == "tcp":
        for channel in sorted({s.channel for s in proxy.of("rtp", TO_CLIENT)}):
            streams[f"ch{channel}"] = [(s.time, p) for s in proxy.of("rtcp", TO_CLIENT) if s.channel == channel + 1
                                      for p in s.packets if isinstance(p, SenderReport)]
        return streams
    ports = []
    for response in proxy.of("response"):
        m = re.search(r"client_port=(\d+)-(\d+)", response.headers.get("transport", ""))
        if response.method == "SETUP" and m:
            ports.append(int(m.group(2)))
    for port in ports:
        streams[f"port{port}"] = [(t, p) for t, dest, data in list(hooks.udp_out) if dest == port
                                  for p in parse_compound(data) if isinstance(p, SenderReport)]
    return streams


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("player", ["ffmpeg", "gstreamer"])
def test_sender_and_receiver_reports(request: pytest.FixtureRequest, ffmpeg: str, running: pub.Running, hooks: Hooks,
                                     player: str, transport: str) -> None:
    gst = request.getfixturevalue("gst_launch") if player == "gstreamer" else ""
    with RtspProxy(running.server.ports["rtsp"]) as proxy:
        proc = subprocess.Popen(player_command(player, transport, proxy.url("live/test"), ffmpeg, gst),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            if player == "gstreamer":
                time.sleep(PLAY_SECONDS + 1)
                proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=PLAY_SECONDS + 20)
        finally:
            proc.kill()
        left = time.monotonic()
        play = proxy.response_time("PLAY")
        assert play is not None, f"no PLAY response; {[(s.method, s.status) for s in proxy.of('response')]}\n{output}"
        streams = sender_reports(proxy, hooks, transport)
        sent_back = [type(p).__name__ for s in proxy.of("rtcp", TO_SERVER) for p in s.packets]
        left = min(left, proxy.request_time("TEARDOWN") or left)
    found = []
    lines = [f"{player} {transport}: PLAY at 0, left at {left - play:.2f} s"]
    ours: dict[int, list[tuple[float, int]]] = {}  # our SSRC -> (time, middle 32 bits of the SR's NTP)
    if not streams:
        found.append("no RTP stream seen")
    for name, reports in streams.items():
        times = [round(t - play, 3) for t, _ in reports]
        lines.append(f"  {name}: SRs at {times} s")
        for t, sr in reports:
            ours.setdefault(sr.ssrc, []).append((t, (sr.ntp_timestamp >> 16) & 0xFFFFFFFF))
        if not times:
            found.append(f"{name}: no sender report in {left - play:.1f} s of play")
            continue
        if times[0] > FIRST_WITHIN:
            found.append(f"{name}: first sender report {times[0]:.3f} s after PLAY")
        gaps = [b - a for a, b in zip([0.0, *times], [*times, left - play])]
        if max(gaps) > MAX_GAP:
            found.append(f"{name}: {max(gaps):.2f} s without a sender report (SRs at {times})")
        between = [b - a for a, b in zip(times, times[1:])]
        if between and min(between) < MIN_GAP:
            found.append(f"{name}: two sender reports {min(between):.2f} s apart (SRs at {times})")
    # Receiver reports about our streams.
    rtts = []
    blocks = 0
    for t, _track, packets in list(hooks.rtcp_in):
        for packet in packets:
            if not isinstance(packet, (ReceiverReport, SenderReport)):
                continue
            for block in packet.reports:
                if block.ssrc not in ours:
                    continue
                blocks += 1
                sent = [ts for ts, mid in ours[block.ssrc] if mid == block.lsr]
                if block.lsr == 0:
                    if any(ts < t - 0.1 for ts, _ in ours[block.ssrc]):
                        found.append(f"RR for {block.ssrc:08x} at {t - play:.2f} s has LSR 0 after an SR")
                    continue
                if not sent:
                    found.append(f"RR LSR {block.lsr:08x} is no SR we sent to {block.ssrc:08x}")
                    continue
                rtt = t - sent[-1] - block.dlsr / 65536
                rtts.append(round(rtt * 1000, 1))
                if not -0.05 <= rtt <= 1.0:
                    found.append(f"RR for {block.ssrc:08x}: DLSR {block.dlsr / 65536:.3f} s gives a round trip "
                                 f"of {rtt * 1000:.0f} ms")
    lines.append(f"  report blocks about our streams: {blocks}, round trips {rtts} ms; RTCP events in the server: "
                 f"{len(hooks.rtcp_in)}; RTCP packets the player sent over TCP: {sent_back}")
    if blocks == 0 and not (player == "ffmpeg" and transport == "tcp"):
        found.append("no receiver report about our streams reached the server")
    if proc.returncode != 0:
        found.append(f"player exited {proc.returncode}: {output[-500:]}")
    print("\n".join(lines))
    assert not found, "\n".join(found + lines)
