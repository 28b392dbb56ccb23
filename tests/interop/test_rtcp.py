"""RTCP against FFmpeg over 127.0.0.1.

1. ``ffmpeg -re ... -f rtp`` sends PCMU with its sender reports to RTP port + 1: every SR parses
   with our compound parser and round-trips; its packet and octet counts match the RTP packets we
   received before it, and the NTP/RTP pairs of two SRs agree with the 8 kHz clock.
2. FFmpeg reads an SDP we write and receives our RTP (L16 stereo, starting 36 packets before the
   sequence wrap) plus compound RTCP (SR + SDES every 0.5 s, built by ``SenderStatistics``); at the
   end we send SR + SDES + BYE. FFmpeg decodes every packet (the decoded size is exact) with no
   warning or error, and exits within 3 s of the BYE (it waits 10 s on a silent input otherwise):
   its RTCP parser walks a compound packet by the length fields and stops the input on a BYE, so a
   clean exit shows that it found the BYE after our SR and SDES.

What this does not show: FFmpeg 5.1's SDP input opens its RTP handle read-only and never sends
receiver reports (ffurl_write fails with EIO), so no RR from FFmpeg is checked here; our RR
encoding is covered by the RFC-layout tests in tests/rtp/.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from mediaproto.clock import ntp_to_unix
from mediaproto.rtp import (
    Goodbye,
    ReceiverStatistics,
    RtpPacket,
    SdesChunk,
    SenderReport,
    SenderStatistics,
    SourceDescription,
    parse_compound,
    serialize_compound,
)
from mediaproto.rtp.rtcp import SDES_CNAME

pytestmark = pytest.mark.interop


def _port_pair() -> tuple[socket.socket, socket.socket, int]:
    """Two UDP sockets bound to an even port and the next one on 127.0.0.1."""
    for _ in range(100):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                b.bind(("127.0.0.1", port + 1))
                return a, b, port
            except OSError:
                b.close()
        a.close()
    raise RuntimeError("no free UDP port pair")


def test_parse_ffmpeg_sender_reports(ffmpeg: str) -> None:
    rtp_sock, rtcp_sock, port = _port_pair()
    rtp_sock.settimeout(0.05)
    rtcp_sock.setblocking(False)
    proc = subprocess.Popen(
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
         "-i", "sine=frequency=440:sample_rate=8000:duration=6", "-c:a", "pcm_mulaw",
         "-f", "rtp", f"rtp://127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    packets: list[RtpPacket] = []
    reports: list[tuple[int, bytes]] = []  # (RTP packets received before, datagram)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                while True:
                    reports.append((len(packets), rtcp_sock.recv(4096)))
            except BlockingIOError:
                pass
            try:
                packets.append(RtpPacket.parse(rtp_sock.recv(65536)))
            except socket.timeout:
                if proc.poll() is not None:
                    break
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        rtp_sock.close()
        rtcp_sock.close()
    assert proc.returncode == 0, err.decode(errors="replace")
    # 6 s of 8 kHz mu-law in FFmpeg's 1024-byte packets.
    assert len(packets) == 47
    stats = ReceiverStatistics(packets[0].ssrc, 8000)
    for i, p in enumerate(packets):
        stats.update(p, i * 0.128)
    assert stats.lost == 0 and stats.received == 46  # the first packet is on probation

    srs = []
    for before, datagram in reports:
        parsed = parse_compound(datagram)
        assert serialize_compound(parsed) == datagram
        (sr,) = parsed  # FFmpeg sends a bare SR (no SDES)
        assert isinstance(sr, SenderReport) and sr.ssrc == packets[0].ssrc
        # The SR follows the packets it counts; the RTCP socket may be read a packet late.
        assert before - 1 <= sr.packet_count <= before
        assert sr.octet_count == sum(len(p.payload) for p in packets[: sr.packet_count])
        srs.append(sr)
    assert len(srs) >= 2  # one at the start, then every 5 s
    assert srs[0].packet_count == 0 and srs[0].rtp_timestamp == packets[0].timestamp
    first, last = srs[0], srs[-1]
    seconds = ntp_to_unix(last.ntp_timestamp) - ntp_to_unix(first.ntp_timestamp)
    ticks = (last.rtp_timestamp - first.rtp_timestamp) & 0xFFFFFFFF
    assert seconds > 4
    assert ticks / seconds == pytest.approx(8000, rel=0.02)


def test_ffmpeg_accepts_our_rtp_and_rtcp(ffmpeg: str, tmp_path: Path) -> None:
    probe_a, probe_b, ffmpeg_port = _port_pair()  # find ports for FFmpeg, then free them
    probe_a.close()
    probe_b.close()
    rtp_sock, rtcp_sock, _ = _port_pair()
    sdp = (
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=mediaproto\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {ffmpeg_port} RTP/AVP 10\r\na=rtpmap:10 L16/44100/2\r\n"
    )
    sdp_path = tmp_path / "stream.sdp"
    sdp_path.write_text(sdp)
    proc = subprocess.Popen(
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-protocol_whitelist", "file,udp,rtp",
         "-i", str(sdp_path), "-c:a", "pcm_s16le", "-f", "s16le", str(tmp_path / "out.raw")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    ssrc = 0x4D505254
    sdes = SourceDescription((SdesChunk(ssrc, ((SDES_CNAME, b"mediaproto@127.0.0.1"),)),))
    sender = SenderStatistics(ssrc, 44100)
    count = 200  # 4 s of 20 ms packets
    try:
        time.sleep(1.0)  # let FFmpeg open its ports
        start = time.monotonic()
        wall = time.time()
        for i in range(count):
            pkt = RtpPacket(10, (65500 + i) & 0xFFFF, (1000 + 882 * i) & 0xFFFFFFFF, ssrc, bytes(3528), i == 0)
            rtp_sock.sendto(bytes(pkt), ("127.0.0.1", ffmpeg_port))
            sender.on_packet_sent(pkt, wall + i * 0.02)
            if i % 25 == 5:
                compound = serialize_compound([sender.sender_report(time.time()), sdes])
                rtcp_sock.sendto(compound, ("127.0.0.1", ffmpeg_port + 1))
            time.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
        time.sleep(0.3)
        bye = serialize_compound([sender.sender_report(time.time()), sdes, Goodbye((ssrc,), b"end of test")])
        assert [type(p) for p in parse_compound(bye, strict=True)] == [SenderReport, SourceDescription, Goodbye]
        rtcp_sock.sendto(bye, ("127.0.0.1", ffmpeg_port + 1))
        bye_sent = time.monotonic()
        _, err = proc.communicate(timeout=10)
        # FFmpeg gives up on a silent UDP input only after 10 s: a quick exit is the BYE.
        assert time.monotonic() - bye_sent < 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        rtp_sock.close()
        rtcp_sock.close()
    log = err.decode(errors="replace")
    assert proc.returncode == 0, log
    assert log.strip() == "", log  # no warning or error at all
    assert sender.packet_count == count and sender.octet_count == count * 3528
    # Every packet decoded: 200 x 882 stereo 16-bit samples, across the sequence wrap.
    assert (tmp_path / "out.raw").stat().st_size == count * 3528
