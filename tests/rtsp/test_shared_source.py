"""Shared RTP streams (fan-out): one SSRC, sequence and timestamp base per track for every session,
each frame prepared once (``SharedSource``, ``ServerConnection.send_prepared``)."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from mediaproto import Frame
from mediaproto.endpoint import Event
from mediaproto.errors import LocalProtocolError
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.rtcp import SenderReport, parse_compound
from mediaproto.rtsp.client import ClientConnection
from mediaproto.rtsp.configuration import ClientConfiguration, ServerConfiguration
from mediaproto.rtsp.events import DescribeRequested, PlayRequested, PlayStarted
from mediaproto.rtsp.message import InterleavedFrame, MessageParser
from mediaproto.rtsp.server import ServerConnection
from mediaproto.rtsp.streams import SharedSource, describe

from .test_sessions import AUDIO, PPS, SPS, VIDEO, Pump, frames, received


def contents(got: list[Frame]) -> dict[int, list[object]]:
    """What a player decoded per track (IDRs carry the SPS/PPS sent in-band)."""
    out: dict[int, list[object]] = {0: [], 1: []}
    for f in got:
        out[f.track_id].append(f.data)
    return out


def expected(sent: list[Frame]) -> dict[int, list[object]]:
    return contents([Frame(f.track_id, f.pts, f.dts, (SPS, PPS, *f.data) if f.track_id == 0 and f.keyframe else f.data,
                           f.keyframe) for f in sent])


def sources(mtu: int = 1400, ssrc: int = 0x5EED0000, history: int = 1500) -> dict[int, SharedSource]:
    _, media = describe((VIDEO, AUDIO))
    return {m.track.id: SharedSource(m, ssrc + m.track.id, mtu=mtu, initial_sequence=65530 - 40 * m.track.id,
                                     initial_timestamp=1000, history=history) for m in media}


class SharedPump(Pump):
    """A session answered with shared sources (and, for PLAY, the given start sequence numbers)."""

    def __init__(self, client: ClientConnection, server: ServerConnection, shared: Mapping[int, SharedSource],
                 start_sequence: Mapping[int, int] | None = None) -> None:
        super().__init__(client, server)
        self.shared, self.start_sequence = shared, start_sequence

    def _answer(self, event: Event) -> None:
        if isinstance(event, DescribeRequested):
            self.server.accept_describe(event, self.tracks, sources=self.shared)
        elif isinstance(event, PlayRequested):
            self.server.accept_play(event, start_pts={0: 0, 1: 0}, start_sequence=self.start_sequence)
        else:
            super()._answer(event)


def session(shared: Mapping[int, SharedSource], transport: str = "tcp", seed: int = 1, mtu: int = 1400,
            start_sequence: Mapping[int, int] | None = None) -> tuple[ServerConnection, ClientConnection, SharedPump]:
    server = ServerConnection(ServerConfiguration(rng=random.Random(seed), udp_ports=(8000, 8001), mtu=mtu))
    client = ClientConnection("rtsp://h/live/test", configuration=ClientConfiguration(
        transport=transport, udp_ports=[(5000, 5001), (5002, 5003)], rng=random.Random(seed + 100), sync_wait=0.0))
    pump = SharedPump(client, server, shared, start_sequence)
    client.start(0.0)
    pump.run()
    return server, client, pump


def rtp_of(data: bytes) -> list[tuple[int, RtpPacket]]:
    return [(m.channel, RtpPacket.parse(m.data)) for m in MessageParser().feed(data)
            if isinstance(m, InterleavedFrame) and m.channel % 2 == 0]


def test_sessions_send_the_sources_packets_and_play_them() -> None:
    shared = sources()
    sessions = [session(shared, seed=s) for s in (1, 2)]
    for server, _, _ in sessions:
        assert {st.media.track.id: st.transport.ssrc for st in server.tracks} == {0: 0x5EED0000, 1: 0x5EED0001}
    sent = frames(20)
    for f in sent:
        prepared = shared[f.track_id].prepare(f)
        for server, _, _ in sessions:
            server.send_prepared(prepared, 1.0)
    wires = [server.data_to_send() for server, _, _ in sessions]
    assert wires[0] == wires[1]  # the same bytes for every session on the same channels
    packets = rtp_of(wires[0])
    video_seqs = [p.sequence_number for ch, p in packets if ch == 0]
    assert video_seqs[0] == 65530 and video_seqs == [(65530 + i) & 0xFFFF for i in range(len(video_seqs))]
    assert {p.ssrc for ch, p in packets if ch == 2} == {0x5EED0001}
    assert [p.timestamp for ch, p in packets if ch == 2][:2] == [1000, 1000 + 1920]
    _, client, _ = sessions[0]
    assert contents(received(client.receive_data(wires[0], 1.0)) + received(client.handle_timer(60.0))) \
        == expected(sent)


def test_counts_reports_and_per_session_state() -> None:
    shared = sources()
    server, _, pump = session(shared)
    for f in frames(10):
        server.send_prepared(shared[f.track_id].prepare(f), 1.0)
    packets = rtp_of(server.data_to_send())
    video = next(st for st in server.tracks if st.media.track.id == 0)
    assert video.packet_count == sum(ch == 0 for ch, _ in packets)
    assert video.octet_count == sum(len(p.payload) for ch, p in packets if ch == 0)
    server.handle_timer(1.0)  # the first sender reports go right after the first packets
    reports = [parse_compound(m.data, sdes_without_end=True) for m in MessageParser().feed(server.data_to_send())
               if isinstance(m, InterleavedFrame) and m.channel % 2 == 1]
    srs = {p.ssrc: p for compound in reports for p in compound if isinstance(p, SenderReport)}
    assert set(srs) == {0x5EED0000, 0x5EED0001}
    assert srs[0x5EED0000].packet_count == video.packet_count


def test_late_joiner_rtp_info_gives_its_first_packet() -> None:
    shared = sources()
    early, _, _ = session(shared, seed=1)
    sent = frames(20)
    for f in sent[:10]:
        early.send_prepared(shared[f.track_id].prepare(f), 1.0)
    cached = sent[4:10]  # a GOP cache the late joiner gets first, then the rest live
    start = {tid: shared[tid].prepare(next(f for f in cached if f.track_id == tid)).first_sequence for tid in (0, 1)}
    late, client, pump = session(shared, seed=2, start_sequence=start)
    [play] = [e for e in pump.client_events if isinstance(e, PlayStarted)]
    assert {info.seq for info in play.rtp_info} == set(start.values())
    for f in sent[4:10]:  # the replay of the cache
        late.send_prepared(shared[f.track_id].prepare(f), 1.0)
    for f in sent[10:]:  # then live, to both
        for server in (early, late):
            server.send_prepared(shared[f.track_id].prepare(f), 1.0)
    packets = rtp_of(late.data_to_send())
    first = {ch // 2: next(p.sequence_number for c, p in packets if c == ch) for ch in (0, 2)}
    assert first == start
    for ch in (0, 2):  # no gap between the replayed frames and the live ones
        seqs = [p.sequence_number for c, p in packets if c == ch]
        assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]
    # Its sender reports carry the source's counts since the source started (as every session's
    # do), not the packets this session got.
    video = next(st for st in late.tracks if st.media.track.id == 0)
    assert video.packet_count == shared[0].packet_count > sum(c == 0 for c, _ in packets)
    late.handle_timer(1.0)
    srs = [p for m in MessageParser().feed(late.data_to_send()) if isinstance(m, InterleavedFrame) and m.channel == 1
           for p in parse_compound(m.data, sdes_without_end=True) if isinstance(p, SenderReport)]
    assert [sr.packet_count for sr in srs] == [shared[0].packet_count]


def test_send_frame_and_udp_use_the_source() -> None:
    shared = sources()
    tcp, _, _ = session(shared, seed=1)
    udp, client, _ = session(shared, transport="udp", seed=2)
    sent = frames(10)
    for f in sent:
        tcp.send_frame(f, 1.0)  # through the source: prepared once, found again below
        udp.send_prepared(shared[f.track_id].prepare(f), 1.0)
    datagrams = udp.datagrams_to_send()
    assert [d.data for d in datagrams] == [bytes(p) for _, p in rtp_of(tcp.data_to_send())]
    got: list[Frame] = []
    for d in datagrams:
        got += received(client.receive_datagram(d.data, d.source_port, d.destination_port, 1.0))
    assert contents(got + received(client.handle_timer(60.0))) == expected(sent)
    with pytest.raises(LocalProtocolError):
        tcp.send_packetized(0, [bytes(p) for p in shared[0].packetizer.packetize(sent[0])], 1.0)


def test_a_source_that_does_not_match_is_not_used() -> None:
    shared = sources(mtu=1000)
    server, client, _ = session(shared, mtu=1400)
    assert all(st.source is None and st.transport.ssrc not in (0x5EED0000, 0x5EED0001) for st in server.tracks)
    server.send_prepared(shared[0].prepare(frames(1)[0]), 1.0)  # not this session's source: nothing
    assert server.data_to_send() == b""
    server.send_frame(frames(1)[0], 1.0)
    assert contents(received(client.receive_data(server.data_to_send(), 1.0)) + received(client.handle_timer(60.0))) \
        == expected(frames(1)[:1])


def test_send_prepared_only_while_playing() -> None:
    shared = sources()
    server, client, pump = session(shared)
    prepared = shared[0].prepare(frames(1)[0])
    client.pause()
    pump.run()
    with pytest.raises(LocalProtocolError):
        server.send_prepared(prepared, 1.0)


def test_prepare_keeps_a_history_by_identity() -> None:
    [video, *_] = sources(history=3).values()
    sent = [f for f in frames(6) if f.track_id == 0]
    first = [video.prepare(f) for f in sent[:3]]
    assert video.prepare(sent[0]) is first[0]  # in the history: the same packets, same numbers
    converted = Frame(0, sent[3].pts, sent[3].dts, sent[3].data, sent[3].keyframe)
    assert video.prepare(converted, key=sent[3]) is video.prepare(sent[3])
    video.prepare(sent[4])
    again = video.prepare(sent[0])  # evicted: packetized anew, with new sequence numbers
    assert again is not first[0] and again.first_sequence != first[0].first_sequence
    assert first[1].first_sequence == (first[0].first_sequence + len(first[0].packets)) & 0xFFFF
    assert first[0].interleaved(4) == b"".join(b"$\x04" + len(p).to_bytes(2, "big") + p for p in first[0].packets)
