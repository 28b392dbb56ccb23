"""Our client against our server, in memory: every byte passes through both state machines."""

from __future__ import annotations

import random

import pytest

from mediaproto import Codec, Frame, Track
from mediaproto.endpoint import Event
from mediaproto.errors import LocalProtocolError, ProtocolError
from mediaproto.rtsp.auth import DigestAuthenticator
from mediaproto.rtsp.client import ClientConnection, split_credentials
from mediaproto.rtsp.configuration import ClientConfiguration, ServerConfiguration
from mediaproto.rtsp.events import (
    AnnounceRequested,
    DescribeCompleted,
    DescribeRequested,
    FrameReceived,
    PlayRequested,
    PlayStarted,
    RecordRequested,
    RecordStarted,
    RequestFailed,
    RtcpReceived,
    SessionEnded,
)
from mediaproto.rtsp.server import ServerConnection, ServerState
from mediaproto.rtsp.states import ClientState

SPS = bytes.fromhex("6742c00dd90141fb0110000003001000000303 20f142a480".replace(" ", ""))
PPS = bytes.fromhex("68cb8cb2")
VIDEO = Track(0, Codec.H264, 90000, parameter_sets=(SPS, PPS))
AUDIO = Track(1, Codec.AAC, 48000, config=bytes.fromhex("1190"), sample_rate=48000, channels=2)


def frames(n: int) -> list[Frame]:
    out = []
    for i in range(n):
        idr = i % 10 == 0
        nal = (b"\x65" if idr else b"\x41") + bytes([i % 251]) * (3000 if idr else 300)
        out.append(Frame(0, i * 3600, i * 3600, (nal,), idr))
        out.append(Frame(1, i * 1920, i * 1920, bytes([0x21, i % 256]) * 50, True))
    return out


class Pump:
    """Moves bytes between a client and a server until both are quiet, answering server events."""

    def __init__(self, client: ClientConnection, server: ServerConnection, *, path: str = "live/test",
                 tracks: tuple[Track, ...] = (VIDEO, AUDIO)) -> None:
        self.client, self.server, self.path, self.tracks = client, server, path, tracks
        self.client_events: list[Event] = []
        self.server_events: list[Event] = []
        self.now = 0.0

    def run(self) -> None:
        for _ in range(100):
            moved = False
            data = self.client.data_to_send()
            udp = self.client.datagrams_to_send()
            if data or udp:
                moved = True
                if data:
                    new = self.server.receive_data(data, self.now)
                    while True:
                        for event in new:
                            self.server_events.append(event)
                            self._answer(event)
                        due = self.server.next_timer()
                        if due is None or due > self.now:
                            break
                        new = self.server.handle_timer(self.now)  # input held back behind an answered request
                        if not new:
                            break
                for d in udp:
                    assert self.server.udp_ports is not None and d.destination_port in self.server.udp_ports
                    self.server_events += self.server.receive_datagram(d.data, d.source_port, d.destination_port, self.now)
            data = self.server.data_to_send()
            if data:
                moved = True
                self.client_events += self.client.receive_data(data, self.now)
            for d in self.server.datagrams_to_send():
                moved = True
                assert any(d.destination_port in pair for pair in self.client.udp_ports)
                self.client_events += self.client.receive_datagram(d.data, d.source_port, d.destination_port, self.now)
            moved = self._timers() or moved
            if not moved:
                return
        raise AssertionError("the session never settled")

    def _timers(self) -> bool:
        """Run what is due at ``now`` on both sides (sender reports, releases of held frames)."""
        moved = False
        for endpoint, events in ((self.client, self.client_events), (self.server, self.server_events)):
            if endpoint.closed or endpoint.broken:
                continue
            due = endpoint.next_timer()
            if due is not None and due <= self.now:
                new = endpoint.handle_timer(self.now)
                events += new
                moved = moved or bool(new)
                if endpoint is self.server:
                    for event in new:
                        self._answer(event)
        return moved

    def _answer(self, event: Event) -> None:
        if isinstance(event, DescribeRequested):
            if event.path == self.path:
                self.server.accept_describe(event, self.tracks)
            else:
                self.server.reject(event, 404)
        elif isinstance(event, PlayRequested):
            self.server.accept_play(event)
        elif isinstance(event, AnnounceRequested):
            self.server.accept_announce(event)
        elif isinstance(event, RecordRequested):
            self.server.accept_record(event)


def received(events: list[Event]) -> list[Frame]:
    return [e.frame for e in events if isinstance(e, FrameReceived)]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("auth", [False, True])
def test_client_plays_from_server(transport: str, auth: bool) -> None:
    authenticator = DigestAuthenticator("mediaproto", b"k") if auth else None
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001),
                                                  authenticator=authenticator, passwords={"alice": "secret"}))
    url = "rtsp://alice:secret@127.0.0.1:8554/live/test" if auth else "rtsp://127.0.0.1:8554/live/test"
    client = ClientConnection(url,
                              configuration=ClientConfiguration(transport=transport, udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    assert any(isinstance(e, DescribeCompleted) for e in pump.client_events)
    assert any(isinstance(e, PlayStarted) for e in pump.client_events)
    assert server.state is ServerState.PLAYING and client.state is ClientState.PLAYING
    sent = frames(30)
    for f in sent:
        server.send_frame(f, pump.now)
    pump.run()  # the server's first sender reports go with its first packets; they align the tracks
    got = received(pump.client_events)
    # Every frame arrives (the marker bit ends each unit); IDRs carry the SPS/PPS sent in-band.
    video = [f for f in got if f.track_id == 0]
    audio = [f for f in got if f.track_id == 1]
    assert [f.data for f in video] == [(SPS, PPS, *f.data) if f.keyframe else f.data for f in sent if f.track_id == 0]
    assert [f.data for f in audio] == [f.data for f in sent if f.track_id == 1]
    # Timestamps step as sent (RTP adds a random offset; differences are exact).
    assert [b.pts - a.pts for a, b in zip(video, video[1:])] == [3600] * 29
    assert [b.pts - a.pts for a, b in zip(audio, audio[1:])] == [1920] * 29
    # One timeline for the session, starting at 0: the sender reports lined the tracks up as sent.
    assert video[0].pts == 0 and audio[0].pts == 0
    # Keepalives and receiver reports follow the timer.
    deadline = client.next_timer()
    assert deadline is not None and deadline <= 5.0
    pump.now = deadline
    client.handle_timer(deadline)
    pump.run()
    assert any(isinstance(e, RtcpReceived) for e in pump.server_events)
    client.teardown()
    pump.run()
    assert any(isinstance(e, SessionEnded) and e.reason == "teardown" for e in pump.server_events)


def test_wrong_password_fails_once_not_forever() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1),
                                                  authenticator=DigestAuthenticator("r", b"k"), passwords={"alice": "secret"}))
    client = ClientConnection("rtsp://alice:wrong@h/live/test",
                              configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    failed = [e for e in pump.client_events if isinstance(e, RequestFailed)]
    assert len(failed) == 1 and failed[0].response.status_code == 401 and failed[0].method == "DESCRIBE"


def test_unknown_path_is_404() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/nothing", configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    [failed] = [e for e in pump.client_events if isinstance(e, RequestFailed)]
    assert failed.response.status_code == 404


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_client_publishes_to_server(transport: str) -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001)))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(VIDEO, AUDIO),
                              configuration=ClientConfiguration(transport=transport, udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub")
    client.start(0.0)
    pump.run()
    assert any(isinstance(e, RecordStarted) for e in pump.client_events)
    announce = [e for e in pump.server_events if isinstance(e, AnnounceRequested)]
    assert announce and announce[0].path == "live/pub" and [t.codec for t in announce[0].tracks] == [Codec.H264, Codec.AAC]
    assert announce[0].tracks[0].parameter_sets == (SPS, PPS)
    sent = frames(20)
    for f in sent:
        client.send_frame(f, pump.now)
    pump.run()
    got = received(pump.server_events)
    assert len([f for f in got if f.track_id == 0]) == 20
    assert len([f for f in got if f.track_id == 1]) == 20


def test_udp_461_falls_back_to_tcp() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))  # no UDP ports: UDP gets 461
    client = ClientConnection("rtsp://h/live/test",
                              configuration=ClientConfiguration(transport="udp", udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    assert client.transport == "tcp" and client.state is ClientState.PLAYING


def test_server_status_codes() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))

    def ask(text: str) -> bytes:
        server.receive_data(text.encode(), 0.0)
        return server.data_to_send()

    assert ask("FOO rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\n\r\n").startswith(b"RTSP/1.0 501")
    assert ask("PLAY rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\nSession: nope\r\n\r\n").startswith(b"RTSP/1.0 454")
    assert ask("SETUP rtsp://h/a/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n").startswith(b"RTSP/1.0 455")
    assert ask("OPTIONS * RTSP/1.0\r\n\r\n").startswith(b"RTSP/1.0 400")  # no CSeq
    assert b"Public: OPTIONS, DESCRIBE" in ask("OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n\r\n")
    [event] = server.receive_data(b"DESCRIBE rtsp://h/live/test RTSP/1.0\r\nCSeq: 5\r\n\r\n", 0.0)
    assert isinstance(event, DescribeRequested)
    server.accept_describe(event, (VIDEO, AUDIO))
    assert server.data_to_send().startswith(b"RTSP/1.0 200")
    multicast = "SETUP rtsp://h/live/test/trackID=0 RTSP/1.0\r\nCSeq: 6\r\nTransport: RTP/AVP;multicast\r\n\r\n"
    assert ask(multicast).startswith(b"RTSP/1.0 461")
    setup = "SETUP rtsp://h/live/test/trackID={} RTSP/1.0\r\nCSeq: 7\r\nTransport: RTP/AVP/TCP;interleaved={}-{}\r\n{}\r\n"
    ask(setup.format(0, 0, 1, ""))
    sid = server.session_id
    assert sid is not None
    ask(setup.format(1, 2, 3, f"Session: {sid}\r\n"))
    # PLAY on one track of a two-track session is an aggregate violation.
    assert ask(f"PLAY rtsp://h/live/test/trackID=0 RTSP/1.0\r\nCSeq: 8\r\nSession: {sid}\r\n\r\n").startswith(b"RTSP/1.0 459")
    assert ask(f"RECORD rtsp://h/live/test RTSP/1.0\r\nCSeq: 9\r\nSession: {sid}\r\n\r\n").startswith(b"RTSP/1.0 455")


def test_session_times_out_but_rtp_keeps_it_alive() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), session_timeout=60, udp_ports=(8000,
                                                  8001)))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(VIDEO,),
                              configuration=ClientConfiguration(transport="udp", udp_ports=[(5000, 5001)], rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub")
    client.start(0.0)
    pump.run()
    assert server.next_timer() == 60.0
    # FFmpeg publishing over UDP sends no keepalive: RTP datagrams count as activity.
    server.receive_datagram(b"\x80\x60\x00\x01" + bytes(8) + b"\x41\x00", 5000, 8000, 50.0)
    assert server.handle_timer(100.0) == []
    ended = server.handle_timer(110.0)
    assert ended and isinstance(ended[0], SessionEnded) and ended[0].reason == "timeout"


def test_split_credentials() -> None:
    assert split_credentials("rtsp://u:p@h:554/a") == ("rtsp://h:554/a", "u", "p")
    assert split_credentials("rtsp://h/a") == ("rtsp://h/a", None, None)


def test_broken_connection_stays_broken() -> None:
    server = ServerConnection()
    with pytest.raises(ProtocolError):
        server.receive_data(b"GARBAGE\r\n\r\n", 0.0)
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 0.0)


def test_play_start_pts_sets_rtp_info_rtptime_and_reports_line_up() -> None:
    """RTP-Info's rtptime is the RTP timestamp of the start instant (RFC 2326 12.33): the first
    packet of a frame at that instant carries it; sender reports pair a wallclock with the RTP
    time of the same instant and count what was sent (RFC 3550 6.4.1); BYE ends each source."""
    from mediaproto.clock import unix_to_ntp
    from mediaproto.rtp.rtcp import Goodbye, SenderReport

    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/test", configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server)
    start = {0: 90000 * 7, 1: 48000 * 7}  # both tracks start at 7 s of stream time
    pump._answer = lambda e: (server.accept_play(e, start_pts=start) if isinstance(e, PlayRequested)  # type: ignore[method-assign]
                              else Pump._answer(pump, e))
    client.start(0.0)
    pump.run()
    [started] = [e for e in pump.client_events if isinstance(e, PlayStarted)]
    rtptime = {info.url.rsplit("/", 1)[1]: info.rtptime for info in started.rtp_info}
    assert set(rtptime) == {"trackID=0", "trackID=1"} and None not in rtptime.values()
    server.send_frame(Frame(0, 90000 * 7, 90000 * 7, (b"\x65" + bytes(3000),), True), 0.0)
    server.send_frame(Frame(1, 48000 * 7, 48000 * 7, b"\x21" * 100, True), 0.0)
    # The first sender reports are due with the first packets (RFC 3550 A.7 runs after that).
    assert server.next_timer() == 0.0
    pump.run()
    got = received(pump.client_events)
    # RTP-Info placed both tracks on one timeline from their first packet (no report needed).
    assert [(f.track_id, f.pts) for f in got] == [(0, 0), (1, 0)]
    reports = [(e.track_id, p) for e in pump.client_events if isinstance(e, RtcpReceived)
               for p in e.packets if isinstance(p, SenderReport)]
    assert [t for t, _ in reports] == [0, 1]
    by_track = dict(reports)
    # Both report the same instant: the session's clock (plus wallclock_offset, 0 here) in NTP,
    # and each track's RTP timestamp of that instant, which is the RTP-Info rtptime (frames at 7 s
    # sent at now = 0).
    assert by_track[0].ntp_timestamp == by_track[1].ntp_timestamp == unix_to_ntp(0.0)
    assert by_track[0].rtp_timestamp == rtptime["trackID=0"]
    assert by_track[1].rtp_timestamp == rtptime["trackID=1"]
    # One second later, the next report (on the A.7 schedule, forced here) extrapolates the clock.
    later = {st.media.track.id: st.sender.sender_report(1.0, 1.0) for st in server.tracks if st.sender}
    assert later[0].rtp_timestamp == (rtptime["trackID=0"] + 90000) & 0xFFFFFFFF
    assert later[1].rtp_timestamp == (rtptime["trackID=1"] + 48000) & 0xFFFFFFFF
    # The IDR goes as a STAP-A of SPS and PPS (1 + 2 + 24 + 2 + 4 bytes) then its 3001 bytes in 3
    # FU-A packets (the NAL header becomes 2 bytes of FU indicator and header in each).
    assert by_track[0].packet_count == 4 and by_track[0].octet_count == 33 + 3000 + 3 * 2
    assert by_track[1].packet_count == 1
    assert by_track[1].octet_count == 4 + 100  # AU header section + one AU (RFC 3640)
    server.send_goodbye(1.0, b"done")
    pump.run()
    byes = [p for e in pump.client_events if isinstance(e, RtcpReceived) for p in e.packets if isinstance(p, Goodbye)]
    assert len(byes) == 2 and all(b.reason == b"done" for b in byes)


def test_receiver_reports_count_loss() -> None:
    """A packet lost in transit shows in the client's receiver report (RFC 3550 6.4.1, A.1, A.3:
    the first packet is the source's probation, so 19 of the 20 are expected)."""
    from mediaproto.rtp.rtcp import ReceiverReport
    from mediaproto.rtsp.message import InterleavedFrame, MessageParser

    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/test", configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    for i in range(20):
        server.send_frame(Frame(1, i * 1024, i * 1024, b"\x21" * 50, True), 0.0)
    wire = MessageParser().feed(server.data_to_send())
    assert len(wire) == 20
    del wire[9]
    for frame in wire:
        assert isinstance(frame, InterleavedFrame)
        client.receive_data(bytes(frame), 1.0)
    audio = next(st for st in server.tracks if st.media.track.id == 1)
    assert audio.packetizer is not None
    first_seq = (audio.packetizer.sequence_number - 20) & 0xFFFF
    client.handle_timer(10.0)
    pump.now = 10.0
    pump.run()
    reports = {e.track_id: p for e in pump.server_events if isinstance(e, RtcpReceived)
               for p in e.packets if isinstance(p, ReceiverReport)}
    assert reports[0].reports == ()  # nothing arrived on the video track
    [block] = reports[1].reports
    assert block.ssrc == audio.packetizer.ssrc
    assert block.packets_lost == 1 and block.fraction_lost == 256 // 19
    assert block.highest_sequence == first_seq + 19


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_send_packetized_puts_the_same_bytes_on_the_wire_as_send_frame(transport: str) -> None:
    """Fan-out: packetized once with a shared packetizer, then given each session's SSRC, sequence
    and timestamp offset, the packets equal what the session's own packetizer makes."""
    from mediaproto.rtsp.streams import make_packetizer

    def session() -> tuple[ServerConnection, ClientConnection, Pump]:
        server = ServerConnection(ServerConfiguration(rng=random.Random(7), udp_ports=(8000, 8001)))
        client = ClientConnection("rtsp://h/live/test",
                                  configuration=ClientConfiguration(transport=transport, udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(8)))
        pump = Pump(client, server)
        client.start(0.0)
        pump.run()
        return server, client, pump

    own, _, _ = session()
    shared_to, client, pump = session()
    shared = {st.media.track.id: make_packetizer(st.media, 0x12345678, mtu=shared_to.mtu) for st in shared_to.tracks}
    for f in frames(25):
        own.send_frame(f, 0.0)
        shared_to.send_packetized(f.track_id, [bytes(p) for p in shared[f.track_id].packetize(f)], 0.0)
    data, datagrams = own.data_to_send(), own.datagrams_to_send()
    assert len(data) + len(datagrams) > 50  # interleaved (tcp) or datagrams (udp)
    assert data == shared_to.data_to_send() and datagrams == shared_to.datagrams_to_send()
    assert [(st.packet_count, st.octet_count) for st in own.tracks] == \
        [(st.packet_count, st.octet_count) for st in shared_to.tracks]


def test_client_takes_udp_media_from_any_server_port() -> None:
    """Some servers send from ports other than the server_port they announced: a client goes by
    its own port (each track has its pair); the server, with one shared pair, needs both."""
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001)))
    client = ClientConnection("rtsp://h/live/test",
                              configuration=ClientConfiguration(transport="udp", udp_ports=[(5000, 5001), (5002, 5003)],
                                                                rng=random.Random(2), sync_wait=0.0))  # no hold for alignment
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    server.send_frame(Frame(1, 0, 0, b"\x21" * 40, True), 0.0)
    [d] = server.datagrams_to_send()
    assert (d.source_port, d.destination_port) == (8000, 5002)
    [event] = client.receive_datagram(d.data, 40000, 5002, 1.0)
    assert isinstance(event, FrameReceived) and event.frame.track_id == 1
    assert server.receive_datagram(b"\x80\x60\x00\x01" + bytes(8) + b"\x41\x00", 40000, 8000, 1.0) == []


@pytest.mark.parametrize("jitter_latency", [None, 0.1])
def test_udp_reordering_needs_the_jitter_buffer(jitter_latency: float | None) -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001)))
    client = ClientConnection("rtsp://h/live/test",
                              configuration=ClientConfiguration(transport="udp", udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(2), jitter_latency=jitter_latency,
                                                                sync_wait=0.0))  # this test is about the jitter buffer
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    sent = frames(10)
    for f in sent:
        server.send_frame(f, 0.0)
    datagrams = server.datagrams_to_send()
    # swap neighbours: every packet but a few arrives one place out of order
    for i in range(1, len(datagrams) - 1, 2):
        datagrams[i], datagrams[i + 1] = datagrams[i + 1], datagrams[i]
    events: list[Event] = []
    for n, d in enumerate(datagrams):
        events += client.receive_datagram(d.data, d.source_port, d.destination_port, 1.0 + n * 0.001)
    deadline = client.next_timer()
    assert deadline is not None
    events += client.handle_timer(max(deadline, 2.0))
    got = received(events)
    if jitter_latency is None:
        assert len(got) < len(sent)  # reordered packets cost their frames
    else:
        for track_id in (0, 1):  # each track complete and in order (the tracks come out per buffer)
            assert [f.data for f in got if f.track_id == track_id] == \
                [(SPS, PPS, *f.data) if f.keyframe and track_id == 0 else f.data for f in sent if f.track_id == track_id]


def test_teardown_releases_what_the_jitter_buffer_holds() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1), udp_ports=(8000, 8001),
                                                  jitter_latency=5.0))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(AUDIO,),
                              configuration=ClientConfiguration(transport="udp", udp_ports=[(5000, 5001)], rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub", tracks=(AUDIO,))
    client.start(0.0)
    pump.run()
    for i in range(6):
        client.send_frame(Frame(1, i * 1024, i * 1024, bytes([i]) * 30, True), 0.0)
    datagrams = client.datagrams_to_send()
    del datagrams[2]  # a gap: what follows waits in the jitter buffer
    events: list[Event] = []
    for d in datagrams:
        events += server.receive_datagram(d.data, d.source_port, d.destination_port, 1.0)
    assert len(received(events)) < 5
    client.teardown()
    events += server.receive_data(client.data_to_send(), 1.5)
    assert [f.data[0] for f in received(events)] == [0, 1, 3, 4, 5]
    assert isinstance(events[-1], SessionEnded)


def test_a_publishers_tracks_come_out_aligned_by_its_sender_reports() -> None:
    """RECORD: the client's own sender reports (sent by its timer, the first with its first
    packets) align the tracks on the server; the held frames come out once both tracks have one,
    on one timeline starting at 0, audio and video of the same instant at the same time."""
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(VIDEO, AUDIO),
                              configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub")
    client.start(0.0)
    pump.run()
    assert client.state is ClientState.RECORDING
    # The video encoder is late: video frames of stream time t are sent at t + 0.48 s.
    events_before = len(pump.server_events)
    for i in range(25):
        pump.now = i * 0.04
        client.send_frame(Frame(1, i * 1920, i * 1920, b"\x21" * 20, True), pump.now)
        j = i - 12
        if j >= 0:
            client.send_frame(Frame(0, j * 3600, j * 3600, (b"\x65" if j == 0 else b"\x41",), j == 0), pump.now)
        pump.run()
    got = received(pump.server_events[events_before:])
    video = [f for f in got if f.track_id == 0]
    audio = [f for f in got if f.track_id == 1]
    assert video and audio
    assert audio[0].pts == 0 and video[0].pts == 0  # the same instant (stream time 0) on both
    assert all(v.pts / 90000 == pytest.approx(j * 0.04, abs=1e-4) for j, v in enumerate(video))


def test_after_the_goodbye_the_players_session_lives_until_its_teardown() -> None:
    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/test", configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server)
    client.start(0.0)
    pump.run()
    server.send_frame(Frame(1, 0, 0, b"\x21" * 20, True), 0.0)
    server.send_goodbye(0.5, b"end of stream")
    pump.now = 0.5
    pump.run()
    assert server.state is ServerState.PLAYING  # the BYE ends the media, not the session
    assert server.next_timer() is not None  # no more sender reports, but the session's timeout
    client.teardown()
    pump.run()
    assert any(isinstance(e, SessionEnded) and e.reason == "teardown" for e in pump.server_events)
    assert not any(isinstance(e, RequestFailed) for e in pump.client_events)  # TEARDOWN got its 200


def test_a_recording_publisher_may_pause_before_its_teardown() -> None:
    """RFC 2326 A.2: PAUSE is valid while recording (Recording -> Ready); GStreamer's rtspclientsink
    sends one at its end, then TEARDOWN: both are answered 200."""
    from mediaproto.rtsp.message import MessageParser

    server = ServerConnection(ServerConfiguration(rng=random.Random(1)))
    client = ClientConnection("rtsp://h/live/pub", mode="record", tracks=(AUDIO,),
                              configuration=ClientConfiguration(rng=random.Random(2)))
    pump = Pump(client, server, path="live/pub", tracks=(AUDIO,))
    client.start(0.0)
    pump.run()
    assert server.state is ServerState.RECORDING
    session = client.session_id
    server.receive_data(f"PAUSE rtsp://h/live/pub RTSP/1.0\r\nCSeq: 90\r\nSession: {session}\r\n\r\n".encode(), 1.0)
    [paused] = MessageParser().feed(server.data_to_send())
    assert paused.status_code == 200 and server.state is ServerState.READY  # type: ignore[union-attr]
    events = server.receive_data(f"TEARDOWN rtsp://h/live/pub RTSP/1.0\r\nCSeq: 91\r\nSession: {session}\r\n\r\n".encode(), 1.1)
    [answer] = MessageParser().feed(server.data_to_send())
    assert answer.status_code == 200  # type: ignore[union-attr]
    assert any(isinstance(e, SessionEnded) and e.reason == "teardown" for e in events)
