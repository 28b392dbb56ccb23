"""ffmpeg plays examples/rtsp_server.py's test source (on mediaproto.aio.serve_rtsp), publishes to the
live server (mediaproto.server) while a second ffmpeg plays it; our client (mediaproto.aio.rtsp,
examples/rtsp_record.py) pulls with Digest auth; the Sans-IO ClientConnection records to ffmpeg."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from mediaproto.clock import rescale
from mediaproto.media import Frame
from mediaproto.rtsp import DigestAuthenticator, ServerConfiguration

from ._rtsp_helpers import TestSourceServer, free_port, live_rtsp, load_example, source_packets, wait_for

pytestmark = pytest.mark.interop


def framecrc_counts(stdout: bytes) -> Counter[int]:
    """Decoded frames per output stream, from ``-f framecrc`` lines ``index, dts, pts, ...``."""
    counts: Counter[int] = Counter()
    for line in stdout.decode().splitlines():
        if line and not line.startswith("#"):
            counts[int(line.split(",", 1)[0])] += 1
    return counts


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def auth_config() -> ServerConfiguration:
    return ServerConfiguration(authenticator=DigestAuthenticator("mediaproto", b"interop"), passwords={"alice": "pw"})


#: The same user for the live server.
LIVE_AUTH = {"rtsp_user": "alice", "rtsp_password": "pw"}


@pytest.mark.parametrize("transport,auth", [("tcp", False), ("udp", True)])
def test_ffmpeg_decodes_every_frame_of_the_test_source(ffmpeg: str, transport: str, auth: bool) -> None:
    with TestSourceServer(seconds=3.0, configuration=auth_config() if auth else None) as srv:
        url = f"rtsp://{'alice:pw@' if auth else ''}127.0.0.1:{srv.port}/test"
        # No -t: the server stops after 3 s of media and sends RTCP BYE, which ends FFmpeg's input.
        proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", transport, "-i", url,
                               "-map", "0", "-f", "framecrc", "-"], capture_output=True, timeout=60)
        assert wait_for(lambda: bool(srv.ended), 5)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode(errors="replace")
    sent = srv.ended[0].frames_sent
    assert sent[0] == 75  # 3 s at 25 fps, from a keyframe
    assert abs(sent[1] - 3 * 48000 / 1024) <= 2
    assert framecrc_counts(proc.stdout) == Counter({0: sent[0], 1: sent[1]})


@pytest.mark.parametrize("transport,auth", [("tcp", False), ("udp", True)])
def test_ffmpeg_publishes_and_a_second_ffmpeg_plays(ffmpeg: str, vectors: Path, transport: str, auth: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    want = source_packets(vectors)
    with live_rtsp(monkeypatch, **(LIVE_AUTH if auth else {})) as srv:
        url = f"rtsp://{'alice:pw@' if auth else ''}127.0.0.1:{srv.port}/live/pub"
        pub = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-re", "-i", str(vectors / "ref.flv"), "-c", "copy",
                                "-f", "rtsp", "-rtsp_transport", transport, url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        play = None
        try:
            assert wait_for(lambda: bool(srv.frames["live/pub"]), 15)
            play = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", transport, "-i", url,
                                     "-map", "0", "-f", "framecrc", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            pub_err = pub.communicate(timeout=60)[1]
            play_out, play_err = play.communicate(timeout=30)
        finally:
            kill(pub)
            if play is not None:
                kill(play)
        assert wait_for(lambda: "live/pub" in srv.ended, 10), "the publisher never ended its session"
        assert wait_for(srv.player_done, 5)
        # The hub's frames are on the server's timeline: the publisher's tracks lined up by its
        # RTCP sender reports, each frame as the publisher sent it.
        got = pushed = srv.frames["live/pub"]
        sent = srv.counted(srv.players[0])
    assert pub.returncode == 0 and pub_err == b"", pub_err.decode(errors="replace")
    video = [f for f in got if f.track_id == 0]
    audio = [f for f in got if f.track_id == 1]

    def relative_ms(frames: list[Frame], rate: int) -> list[int]:
        return [rescale(f.pts - frames[0].pts, rate, 1000) for f in frames]

    # Video: every frame, and its time to the millisecond.
    assert len(video) == len(want["video"]) == 100
    assert relative_ms(video, 90000) == [p - want["video"][0][0] for p, _, _ in want["video"]]
    # and its bytes: FLV stores each NAL unit after a 4-byte length
    assert [sum(4 + len(nal) for nal in f.data) for f in video] == [size for _, _, size in want["video"]]
    assert [f.keyframe for f in video].count(True) == 2  # GOP 50
    # Audio: FFmpeg's RTP muxer (rtpenc_aac.c) packs 7-9 AAC frames per RTP packet and its
    # trailer frees, never sends, the frames still buffered: the last 2 of the 189 are never on
    # the wire (the capture rtsp-ffmpeg-record-tcp.c2s.bin holds 187 too). The 187 that come are
    # the first 187, byte for byte in size.
    assert len(want["audio"]) == 189 and len(audio) == 187
    assert [len(f.data) for f in audio] == [size for _, _, size in want["audio"][:187]]
    # One RTP timestamp per packet; each frame after the first in a packet is 1024 samples later
    # (RFC 3640 3.2.3.1). ffprobe's FLV times are whole milliseconds cut down (42.67 ms -> 42), so
    # the frames' times match to within 1 ms, not exactly.
    want_audio = [p - want["audio"][0][0] for p, _, _ in want["audio"][:187]]
    assert max(abs(g - w) for g, w in zip(relative_ms(audio, 48000), want_audio)) <= 1
    # On the server's timeline (lined up by the publisher's RTCP sender reports) video starts
    # 21 ms after audio, as in the file.
    first = {tid: next(f for f in pushed if f.track_id == tid) for tid in (0, 1)}
    offset_ms = first[0].pts / 90 - first[1].pts / 48
    assert abs(offset_ms - (want["video"][0][0] - want["audio"][0][0])) <= 2
    # The player joined late: it starts at a keyframe and decodes what it was sent, without errors.
    assert play.returncode == 0 and play_err == b"", play_err.decode(errors="replace")
    assert sent[0] > 0 and framecrc_counts(play_out) == Counter({0: sent[0], 1: sent[1]})


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_our_client_pulls_with_digest(transport: str, tmp_path: Path) -> None:
    record = load_example("rtsp_record")
    config = ServerConfiguration(authenticator=DigestAuthenticator("mediaproto", b"secret key"),
                                 passwords={"alice": "pw"})
    with TestSourceServer(configuration=config) as srv:
        url = f"rtsp://alice:pw@127.0.0.1:{srv.port}/test"
        result = asyncio.run(asyncio.wait_for(record.pull(url, transport=transport, seconds=2.0,
                                                          out_dir=tmp_path), 30))
    video = [f for f in result.frames if f.track_id == 0]
    audio = [f for f in result.frames if f.track_id == 1]
    assert 40 <= len(video) <= 60 and 80 <= len(audio) <= 110
    assert video[0].keyframe
    assert [b.pts - a.pts for a, b in zip(video, video[1:])] == [3600] * (len(video) - 1)
    assert [b.pts - a.pts for a, b in zip(audio, audio[1:])] == [1024] * (len(audio) - 1)


def test_ffmpeg_with_a_wrong_password_is_refused(ffmpeg: str) -> None:
    with TestSourceServer(configuration=auth_config()) as srv:
        url = f"rtsp://alice:wrong@127.0.0.1:{srv.port}/test"
        proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-t", "1",
                               "-f", "null", "-"], capture_output=True, timeout=30)
    assert proc.returncode != 0 and b"401" in proc.stderr


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_our_client_publishes_to_ffmpeg(ffmpeg: str, transport: str) -> None:
    """ClientConnection in record mode (ANNOUNCE, SETUP mode=record, RECORD) against FFmpeg's RTSP
    listen mode: FFmpeg decodes every frame we send."""
    import socket
    import time

    from mediaproto.rtsp import ClientConfiguration, ClientConnection, RecordStarted, RequestFailed
    from mediaproto.testsrc import TestSource

    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/live.sdp"
    ff = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-rtsp_flags", "listen", "-timeout", "20", "-i", url,
                           "-map", "0", "-f", "framecrc", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sockets: list[socket.socket] = []
    try:
        udp_ports = []
        if transport == "udp":
            while len(udp_ports) < 2:
                a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                a.bind(("127.0.0.1", 0))
                b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets += [a, b]
                try:
                    b.bind(("127.0.0.1", a.getsockname()[1] + 1))
                except OSError:
                    continue
                udp_ports.append((a.getsockname()[1], b.getsockname()[1]))
        by_port = {s.getsockname()[1]: s for s in sockets if s.getsockname()[1]}
        source = TestSource()
        client = ClientConnection(url, mode="record", tracks=source.tracks,
                                  configuration=ClientConfiguration(transport=transport, udp_ports=udp_ports))
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "ffmpeg never listened"
                time.sleep(0.1)
        sockets.append(sock)

        def flush() -> None:
            sock.sendall(client.data_to_send())
            for d in client.datagrams_to_send():
                by_port[d.source_port].sendto(d.data, ("127.0.0.1", d.destination_port))

        client.start(time.monotonic())
        flush()
        started = False
        while not started:
            data = sock.recv(65536)
            assert data, "ffmpeg closed the connection"
            for event in client.receive_data(data, time.monotonic()):
                assert not isinstance(event, RequestFailed), event
                started = started or isinstance(event, RecordStarted)
            flush()
        sent: Counter[int] = Counter()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            now = time.monotonic()
            for frame in source.frames_until(now - t0):
                client.send_frame(frame, now)
                sent[frame.track_id] += 1
            due = client.next_timer()
            if due is not None and due <= now:
                client.handle_timer(now)  # the sender reports (the first with the first packets)
            flush()
            time.sleep(0.01)
        client.send_goodbye(time.monotonic())
        client.teardown()
        flush()
        time.sleep(0.3)
        sock.close()
        out, err = ff.communicate(timeout=30)
    finally:
        kill(ff)
        for s in sockets:
            s.close()
    # FFmpeg's listen server logs a failed bind while it probes for free UDP ports of its own.
    errors = [line for line in err.decode(errors="replace").splitlines() if "bind failed" not in line]
    assert ff.returncode == 0 and errors == [], err.decode(errors="replace")
    assert sent == Counter({0: 50, 1: 94})  # 2 s: 50 frames at 25 fps, ceil(2 * 48000 / 1024) AAC frames
    assert framecrc_counts(out) == sent


def test_our_client_stops_at_the_servers_bye(tmp_path: Path) -> None:
    record = load_example("rtsp_record")
    with TestSourceServer(seconds=1.0) as srv:
        url = f"rtsp://127.0.0.1:{srv.port}/test"
        result = asyncio.run(asyncio.wait_for(record.pull(url, out_dir=tmp_path), 30))
        assert wait_for(lambda: bool(srv.ended), 5)
    got = Counter(f.track_id for f in result.frames)
    assert got == Counter(srv.ended[0].frames_sent) and got[0] == 25


@pytest.mark.parametrize("video,audio,transport", [("libx265", "libopus", "tcp"), ("libx264", "pcm_mulaw", "udp")])
def test_ffmpeg_publishes_other_codecs_and_a_second_ffmpeg_plays(ffmpeg: str, video: str, audio: str,
                                                                 transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """H.265 (sprop-vps/sps/pps, RFC 7798 fragmentation) with Opus (RFC 7587), and H.264 with
    G.711 mu-law (static payload type 0, 8 kHz), end to end."""
    encoders = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, timeout=30).stdout
    if video.encode() not in encoders or audio.encode() not in encoders:
        pytest.skip(f"this ffmpeg has no {video} or {audio}")
    rate = "8000" if audio == "pcm_mulaw" else "48000"
    with live_rtsp(monkeypatch) as srv:
        url = f"rtsp://127.0.0.1:{srv.port}/live/other"
        pub = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + rate, "-t", "4",
                                "-c:v", video, "-x265-params", "log-level=error", "-g", "25", "-c:a", audio, "-ac", "1",
                                "-f", "rtsp", "-rtsp_transport", transport, url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        play = None
        try:
            assert wait_for(lambda: bool(srv.frames["live/other"]), 15)
            play = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", transport, "-i", url,
                                     "-map", "0", "-f", "framecrc", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            pub_err = pub.communicate(timeout=60)[1]
            play_out, play_err = play.communicate(timeout=30)
        finally:
            kill(pub)
            if play is not None:
                kill(play)
        assert wait_for(lambda: "live/other" in srv.ended, 10) and wait_for(srv.player_done, 5)
        got, sent = srv.frames["live/other"], srv.counted(srv.players[0])
    assert pub.returncode == 0 and pub_err == b"", pub_err.decode(errors="replace")
    assert sum(f.track_id == 0 for f in got) == 100  # 4 s at 25 fps
    if audio == "libopus":
        assert abs(sum(f.track_id == 1 for f in got) - 200) <= 2  # 20 ms Opus frames
    assert play.returncode == 0 and play_err == b"", play_err.decode(errors="replace")
    assert sent[0] > 0 and framecrc_counts(play_out) == Counter({0: sent[0], 1: sent[1]})


def test_ffmpeg_receiver_reports_answer_our_sender_reports(ffmpeg: str) -> None:
    """FFmpeg playing over UDP sends receiver reports: we parse them, and their LSR/DLSR fields
    (filled only from a sender report FFmpeg parsed) show it accepted ours (RFC 3550 6.4.1)."""
    from mediaproto.rtp.rtcp import ReceiverReport, SourceDescription

    with TestSourceServer(seconds=7.0) as srv:
        proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", "udp", "-i",
                               f"rtsp://127.0.0.1:{srv.port}/test", "-f", "null", "-"], capture_output=True, timeout=60)
        assert wait_for(lambda: bool(srv.ended), 5)
        packets = list(srv.ended[0].rtcp)  # what the player sent back over RTCP
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode(errors="replace")
    blocks = [b for p in packets if isinstance(p, ReceiverReport) for b in p.reports]
    assert blocks, f"no receiver report with a report block among {[type(p).__name__ for p in packets]}"
    assert all(b.fraction_lost == 0 and b.packets_lost == 0 for b in blocks)  # loopback
    assert any(b.lsr != 0 and b.dlsr > 0 for b in blocks)
    assert any(isinstance(p, SourceDescription) and p.chunks and p.chunks[0].cname for p in packets)
