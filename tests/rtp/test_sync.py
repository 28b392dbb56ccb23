"""The track synchroniser: one timeline from RTP timestamps, RTP-Info and sender reports.

Expected values are worked out here from the definitions (RFC 3550 6.4.1: an SR pairs an RTP
timestamp with the sender's NTP time of the same instant; RFC 2326 12.33: every track's RTP-Info
``rtptime`` stands for the same instant), never read back from the synchroniser.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.clock import unix_to_ntp
from mediaproto.errors import LocalProtocolError
from mediaproto.media import Frame
from mediaproto.rtp.sync import ARRIVAL, RTP_INFO, SENDER_REPORT, TrackSynchronizer

V, A = 0, 1
M32 = 0xFFFFFFFF


def two_tracks(**kw: float) -> TrackSynchronizer:
    s = TrackSynchronizer(**kw)
    s.add_track(V, 90000)
    s.add_track(A, 48000)
    return s


def test_first_packet_is_zero_and_arrival_places_the_others() -> None:
    s = two_tracks()
    assert s.map(V, 123456, 50.0) == 0
    assert s.epoch == 50.0
    # Audio arrives 0.25 s later: 12000 ticks at 48 kHz on the timeline.
    assert s.map(A, 777, 50.25) == 12000
    assert s.map(A, 777 + 1024, 50.5) == 12000 + 1024  # then it follows its own timestamps
    assert s.map(V, 123456 + 3000, 99.0) == 3000  # the arrival of later packets does not matter
    assert s.source(V) == ARRIVAL


def test_rtp_info_aligns_tracks_not_arrival() -> None:
    s = two_tracks()
    s.set_rtp_info(V, 1_000_000)
    s.set_rtp_info(A, 20_000)
    assert s.map(V, 1_000_000 + 9000, 10.0) == 0  # 0.1 s after the RTP-Info instant
    # Audio 0.05 s after the RTP-Info instant, arriving 0.3 s later: placed by RTP-Info, i.e.
    # 0.05 s before the first video packet: -0.05 * 48000 = -2400.
    assert s.map(A, 20_000 + 2400, 10.3) == -2400
    assert s.source(A) == RTP_INFO


def test_rtp_info_across_the_wrap() -> None:
    s = two_tracks()
    s.set_rtp_info(V, M32 - 999)  # 1000 ticks before the wrap
    s.set_rtp_info(A, 5)
    assert s.map(V, 2000, 0.0) == 0  # 3000 ticks (1/30 s) after the RTP-Info instant
    assert s.map(A, 5 + 1600, 0.7) == 0  # audio 1/30 s after the instant too
    assert s.map(V, 5000, 0.1) == 3000


@pytest.mark.parametrize("ntp_base", [0.0001, 3 * 3600.0, 1_700_000_000.0, 1_700_000_000.0 - 5 * 3600])
def test_sender_reports_align_whatever_the_ntp_clock(ntp_base: float) -> None:
    """NTP running time from (almost) zero, hours, Unix time, hours off: the same output."""
    s = two_tracks()
    s.on_sender_report(V, unix_to_ntp(ntp_base + 10.0), 500_000)
    s.on_sender_report(A, unix_to_ntp(ntp_base + 10.5), 80_000)
    # Video 500000 + 9000 is sender time 10.1; audio 80000 - 19200 is sender time 10.1 too.
    assert s.map(V, 509_000, 1.0) == 0
    assert s.map(A, 80_000 - 19_200, 1.4) == 0
    assert s.map(A, 80_000 - 19_200 + 4800, 1.5) == 4800
    assert s.source(A) == SENDER_REPORT


def test_ntp_zero_is_ignored() -> None:
    s = two_tracks()
    s.on_sender_report(V, 0, 500_000)
    s.on_sender_report(A, 0, 80_000)
    assert s.map(V, 509_000, 1.0) == 0
    assert s.map(A, 4321, 1.5) == 24000  # arrival: nothing aligned it
    assert s.source(A) == ARRIVAL


def test_late_report_slews_without_going_back() -> None:
    s = two_tracks(slew_rate=0.1)
    assert s.map(V, 0, 0.0) == 0
    assert s.map(A, 0, 0.5) == 24000  # by arrival: 0.5 s
    # The SRs say audio timestamp 0 and video timestamp 0 are the same instant: audio must move
    # back by 24000 ticks, at most 0.1 tick per tick of media, never stalling.
    s.on_sender_report(V, unix_to_ntp(100.0), 0)
    s.on_sender_report(A, unix_to_ntp(100.0), 0)
    outs = [s.map(A, 1024 * i, 0.5 + i * 1024 / 48000) for i in range(1, 400)]
    steps = [b - a for a, b in zip([24000] + outs, outs)]
    assert all(1024 - 103 <= d <= 1024 for d in steps)  # at most ceil(102.4) + carry per frame
    assert s.offset(A) == s.target(A) == 0
    assert outs[-1] == 1024 * 399  # converged: audio 0 = video 0
    assert s.map(V, 3000, 0.1) == 3000  # video (the first aligned track) never moved


def test_report_moving_a_track_forward_also_slews() -> None:
    s = two_tracks(slew_rate=0.5)
    s.map(V, 0, 0.0)
    s.map(A, 0, 0.0)
    s.on_sender_report(V, unix_to_ntp(1.0), 0)
    s.on_sender_report(A, unix_to_ntp(1.1), 0)  # audio 0 is 0.1 s after video 0: +4800
    outs = [s.map(A, 960 * i, i * 0.02) for i in range(1, 30)]
    steps = [b - a for a, b in zip([0] + outs, outs)]
    assert max(steps) <= 960 + 481 and s.offset(A) == 4800


def test_drift_between_tracks_followed_by_reports() -> None:
    """Audio's RTP clock runs 0.1% fast against the sender's NTP clock; successive SRs show it,
    and the audio offset follows, staying monotonic."""
    s = two_tracks(slew_rate=0.05)
    last_a = -1
    for k in range(40):  # 40 s, an SR per track per second
        t = float(k)
        s.on_sender_report(V, unix_to_ntp(1000 + t), round(t * 90000))
        s.on_sender_report(A, unix_to_ntp(1000 + t), round(t * 48048))
        for i in range(50):
            tt = t + i / 50
            s.map(V, round(tt * 90000), tt)
            out = s.map(A, round(tt * 48048), tt)
            assert out > last_a
            last_a = out
    # The last SR (sender time 39) maps audio at the nominal 48 kHz: its timestamp of sender time
    # 39.98 reads as 39 + 0.98 * 48048 / 48000 s (the drift since the last report, 0.98 ms).
    assert last_a / 48000 == pytest.approx(39 + 0.98 * 1.001, abs=2 / 48000)
    assert s.offset(A) == s.target(A)


def test_frame_keeps_pts_dts_difference_with_b_frames() -> None:
    s = two_tracks()
    # Decode order I P B B with pts - dts = 6000 for I/P and 0 for B (90 kHz, 30 fps).
    frames = [(3000, 0), (12000, 3000), (6000, 6000), (9000, 9000), (24000, 12000)]
    out = [s.frame(Frame(V, 0x7FFF0000 + p, 0x7FFF0000 + d, (b"x",)), 5.0 + i / 30) for i, (p, d) in enumerate(frames)]
    assert [f.dts for f in out] == [0, 3000, 6000, 9000, 12000]
    assert [f.pts for f in out] == [3000, 12000, 6000, 9000, 24000]


def test_depacketizer_frames_already_unwrapped() -> None:
    s = two_tracks()
    base = M32 - 1500  # a depacketizer's frames go past 2**32 without wrapping
    got = [s.frame(Frame(A, base + 1024 * i, base + 1024 * i, b"a"), i * 0.02).pts for i in range(4)]
    assert got == [0, 1024, 2048, 3072]


def test_late_packet_and_duplicate_keep_the_offset() -> None:
    s = two_tracks()
    assert [s.map(V, t, 0) for t in (0, 6000, 3000, 6000, 9000)] == [0, 6000, 3000, 6000, 9000]


def test_restart_after_a_jump() -> None:
    s = two_tracks(max_gap=10.0)
    s.map(V, 1000, 0.0)
    assert s.map(V, 1000 + 90000, 1.0) == 90000
    # The sender restarted with fresh random timestamps (a jump of hours): placed by arrival.
    assert s.map(V, 2_000_000_000, 1.5) == 135000
    assert s.map(V, 2_000_003_000, 1.5) == 138000
    # Restarted into the past (arrival before the last output): just after the last output.
    assert s.map(V, 5, 1.0) == 138001


def test_reports_too_far_off_are_not_believed() -> None:
    s = two_tracks(max_gap=10.0)
    s.on_sender_report(V, unix_to_ntp(100.0), 0)
    s.on_sender_report(A, unix_to_ntp(100.0 + 3600), 0)  # audio an hour after video: bogus
    assert s.map(V, 0, 0.0) == 0
    assert s.map(A, 0, 0.2) == 9600  # arrival, not an hour away
    assert s.map(A, 960, 0.22) == 9600 + 960
    s.on_sender_report(A, unix_to_ntp(100.0 + 0.1), 0)  # a believable report: 0.1 s
    for i in range(2, 200):
        s.map(A, 960 * i, 0.2 + i * 0.02)
    assert s.offset(A) == 4800


def test_api_misuse() -> None:
    s = two_tracks()
    with pytest.raises(LocalProtocolError):
        s.map(7, 0, 0.0)
    with pytest.raises(LocalProtocolError):
        s.add_track(V, 90000)
    with pytest.raises(LocalProtocolError):
        s.add_track(9, 0)
    with pytest.raises(LocalProtocolError):
        TrackSynchronizer(slew_rate=1.0)
    with pytest.raises(LocalProtocolError):
        TrackSynchronizer(max_gap=0)


# -- properties ------------------------------------------------------------------------------

RATES = (90000, 48000, 44100, 8000)
FRAME = {90000: 3000, 48000: 1024, 44100: 1024, 8000: 160}

base_ts = st.one_of(st.integers(0, M32), st.integers(M32 - 400_000, M32))
ntp_offset = st.sampled_from([0.001, 12.5, 3600.0 * 7, 1_700_000_000.0, 1_700_000_000.0 - 18_000, 3_900_000_000.0])


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(2, 3))
    tracks = []
    for _ in range(n):
        rate = draw(st.sampled_from(RATES))
        tracks.append({
            "rate": rate,
            "base": draw(base_ts),
            "drift": draw(st.sampled_from([0.0, 1e-4, -1e-4, 5e-4])),
            "latency": draw(st.floats(0.0, 0.4)),
            "start": draw(st.floats(0.0, 0.5)),
        })
    mode = draw(st.sampled_from(["sr", "sr+info", "info", "late-sr", "partial-sr", "none"]))
    return {
        "tracks": tracks,
        "mode": mode,
        "ntp": draw(ntp_offset),
        "slew": draw(st.sampled_from([0.05, 0.2, 0.5])),
        "sr_times": draw(st.lists(st.floats(0.0, 2.0), min_size=1, max_size=4)),
        "jitter": draw(st.lists(st.floats(0.0, 0.03), min_size=5, max_size=5)),
    }


def rtp_of(track: dict[str, float], t: float) -> int:
    """The track's RTP timestamp of sender time ``t`` (its clock may drift from nominal)."""
    return (int(track["base"]) + round(t * track["rate"] * (1 + track["drift"]))) & M32


@settings(deadline=None)
@given(scenarios())
def test_monotonic_and_aligned(sc: dict[str, object]) -> None:
    tracks: list[dict[str, float]] = sc["tracks"]  # type: ignore[assignment]
    mode = sc["mode"]
    ntp: float = sc["ntp"]  # type: ignore[assignment]
    jitter: list[float] = sc["jitter"]  # type: ignore[assignment]
    s = TrackSynchronizer(slew_rate=sc["slew"])  # type: ignore[arg-type]
    late = 5.0 if mode == "late-sr" else 0.0
    last_sr = max(sc["sr_times"]) + late  # type: ignore[call-overload]
    # Long enough after the last report for a slew of up to 1.6 s of misplacement.
    duration = last_sr + 0.5 + 1.6 / sc["slew"]  # type: ignore[operator]
    events: list[tuple[float, int, str, float]] = []  # (arrival, order, kind, sender time)
    for i, tr in enumerate(tracks):
        s.add_track(i, int(tr["rate"]))
        step = FRAME[int(tr["rate"])] / tr["rate"]
        k = 0
        arrival_floor = 0.0
        while tr["start"] + k * step < duration:
            t = tr["start"] + k * step
            arrival = max(arrival_floor, t + tr["latency"] + jitter[k % 5])  # in order per track
            arrival_floor = arrival
            events.append((arrival, i, "rtp", t))
            k += 1
        with_sr = mode in ("sr", "sr+info", "late-sr") or (mode == "partial-sr" and i == 0)
        if with_sr:
            for t_sr in sc["sr_times"]:  # type: ignore[attr-defined]
                at = t_sr + late
                events.append((at + tr["latency"], i, "sr", at))
    if mode in ("info", "sr+info"):
        for i, tr in enumerate(tracks):
            s.set_rtp_info(i, rtp_of(tr, 0.0))
    events.sort()
    outs: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(tracks))}
    for arrival, i, kind, t in events:
        tr = tracks[i]
        if kind == "sr":
            s.on_sender_report(i, unix_to_ntp(ntp + t), rtp_of(tr, t))
            continue
        out = s.map(i, rtp_of(tr, t), arrival)
        if outs[i]:
            assert out > outs[i][-1][0], "output must strictly increase with the input"
        outs[i].append((out, t))
    first = min(e for e in events if e[2] == "rtp")
    assert outs[first[1]][0][0] == 0  # the stream starts at zero

    # Alignment at the end: every track against track 0, at the last packet of each.
    def aligned_error(i: int) -> float:
        (o0, t0), (oi, ti) = outs[0][-1], outs[i][-1]
        r0, ri = tracks[0]["rate"], tracks[i]["rate"]
        return (oi / ri - o0 / r0) - (ti - t0)

    for i in range(1, len(tracks)):
        tick = 1 / tracks[0]["rate"] + 1 / tracks[i]["rate"]
        if mode in ("sr", "sr+info", "late-sr"):
            # SRs at nominal rate: a drifting clock is off by drift x time since its last SR.
            bound = tick + sum(abs(tracks[j]["drift"]) for j in (0, i)) * (duration - last_sr + 0.5) + 1e-6
            assert abs(aligned_error(i)) <= bound
        elif mode == "info":
            # RTP-Info gives no drift information: exact at the start, off by the drift later.
            bound = tick + sum(abs(tracks[j]["drift"]) for j in (0, i)) * (duration + 0.5) + 1e-6
            assert abs(aligned_error(i)) <= bound


@settings(deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 9000), st.integers(-6000, 6000)), min_size=1, max_size=80),
    base_ts,
    st.lists(st.tuples(st.integers(0, 79), st.integers(0, M32), st.floats(0, 10)), max_size=4),
)
def test_b_frames_any_reports(steps: list[tuple[int, int]], base: int, reports: list[tuple[int, int, float]]) -> None:
    """Decode order in, any pts - dts, reports at any point: dts strictly increases, pts - dts is
    kept exactly."""
    s = two_tracks(slew_rate=0.3)
    s.map(A, 0, 0.0)
    dts = base
    last = None
    for k, (step, shift) in enumerate(steps):
        for at, rtp, ntp_s in reports:
            if at == k:
                s.on_sender_report(V, unix_to_ntp(1000 + ntp_s), rtp)
                s.on_sender_report(A, unix_to_ntp(1000), 0)
        dts += step
        f = s.frame(Frame(V, dts + shift, dts, (b"v",)), k / 30)
        assert f.pts - f.dts == shift
        assert last is None or f.dts > last
        last = f.dts
