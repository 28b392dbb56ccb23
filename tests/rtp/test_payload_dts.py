"""Decode times of the frames that leave the H.264 and H.265 depacketizers (RTP carries the
presentation time only): hand-made streams with B-frames (tests/codecs/dts_build.py) packetized
by our packetizers, then depacketized; the expected decode times follow from the definition (frame
i gets the (i - N)-th smallest presentation time for reorder depth N). Real encoder output goes
the same way in tests/interop/test_dts.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproto.media import Codec, Frame, Track
from mediaproto.rtp.packet import RtpPacket
from mediaproto.rtp.payload import (H264Depacketizer, H264Packetizer, H265Depacketizer, H265Packetizer,
                                    depacketizer_for)

from ..codecs.dts_build import Picture, gops, h264_pps, h264_sps, h265_pps, h265_slice, h265_sps, reorder_depth
from ..codecs.test_dts import BASE, D, check_sound, expected, h264_units, h265_units

_IBBP = [Picture(0, True, True), Picture(3, False, True), Picture(1, False, False), Picture(2, False, False),
         Picture(6, False, True), Picture(4, False, False), Picture(5, False, False)]


def _packets(units: list[tuple[list[bytes], int]], *, hevc: bool = False, initial_timestamp: int = 0,
             mtu: int = 1200) -> list[RtpPacket]:
    cls = H265Packetizer if hevc else H264Packetizer
    p = cls(96, ssrc=7, mtu=mtu, initial_timestamp=initial_timestamp)
    return [RtpPacket.parse(bytes(x)) for n, pts in units for x in p.packetize(Frame(0, pts, pts, tuple(n)))]


def _feed(d: H264Depacketizer | H265Depacketizer, packets: list[RtpPacket]) -> list[Frame]:
    return [f for pkt in packets for f in d.feed(pkt)] + d.flush()


def test_h264_depacketizer_gives_decode_times() -> None:
    units = h264_units(_IBBP, h264_sps(reorder=1))
    frames = _feed(H264Depacketizer(0), _packets(units))
    assert [f.pts for f in frames] == [p for _, p in units]
    assert [f.dts for f in frames] == [BASE - D] + [BASE + i * D for i in range(6)]


def test_h264_depacketizer_opt_out() -> None:
    units = h264_units(_IBBP, h264_sps(reorder=1))
    frames = _feed(H264Depacketizer(0, decode_times=False), _packets(units))
    assert all(f.dts == f.pts for f in frames)


def test_h264_timestamps_wrap() -> None:
    # RTP timestamps wrap at 2^32 inside the stream: the depacketizer unwraps, the decode times go on.
    units = h264_units(_IBBP, h264_sps(reorder=1), base=0)
    start = 2**32 - 3 * D
    frames = _feed(H264Depacketizer(0), _packets(units, initial_timestamp=start))
    pts = [f.pts for f in frames]
    assert pts == [start + p for _, p in units]  # unwrapped: past 2^32, not back to 0
    assert [f.dts for f in frames] == expected(pts, 1)


def test_sprop_parameter_sets_through_the_factory() -> None:
    # The SDP's sprop-parameter-sets reach the depacketizer: no SPS in-band, still decode times.
    sps, pps = h264_sps(reorder=1), h264_pps()
    units = [([n for n in nals if n[0] & 0x1F not in (7, 8)], p) for nals, p in h264_units(_IBBP, sps)]
    d = depacketizer_for(Track(0, Codec.H264, 90000, parameter_sets=(sps, pps)))
    frames = _feed(d, _packets(units))  # type: ignore[arg-type]
    assert [f.dts for f in frames] == [BASE - D] + [BASE + i * D for i in range(6)]
    d = depacketizer_for(Track(0, Codec.H264, 90000))
    bare = _feed(d, _packets(units))  # type: ignore[arg-type]
    # No SPS anywhere: nothing to go by but the presentation times, kept increasing (the B-frames
    # get decode times after their presentation times: counted as conflicts).
    dts = [f.dts for f in bare]
    assert dts[:2] == [BASE, BASE + 3 * D] and all(b > a for a, b in zip(dts, dts[1:]))
    assert d.dts_extractor is not None and d.dts_extractor.timeline.conflicts > 0


@settings(max_examples=40)
@given(gops(max_minigops=20), st.booleans(), st.data())
def test_h264_loss_keeps_decode_times_sound(pictures: list[Picture], declared: bool, data: st.DataObject) -> None:
    """Packets lost anywhere (units dropped whole by the depacketizer): the frames that come out
    still have increasing decode times at most their presentation times."""
    depth = reorder_depth(pictures)
    units = h264_units(pictures, h264_sps(reorder=depth if declared else None))
    packets = _packets(units, mtu=60)
    kept = [p for i, p in enumerate(packets) if i == 0 or data.draw(st.integers(0, 9), label=f"p{i}") != 0]
    d = H264Depacketizer(0)
    frames = _feed(d, kept)
    dts = [f.dts for f in frames]
    assert all(b > a for a, b in zip(dts, dts[1:]))
    if declared:  # the depth is known: never after the presentation time either
        assert all(f.dts <= f.pts for f in frames)
    if len(kept) == len(packets):
        assert dts == expected([p for _, p in units], depth) if declared else True


@settings(max_examples=40)
@given(gops())
def test_h265_depacketizer_gives_decode_times(pictures: list[Picture]) -> None:
    depth = reorder_depth(pictures)
    units = h265_units(pictures, reorder=depth)
    d = H265Depacketizer(0)
    d.dts_extractor.timeline.frame_duration = D  # type: ignore[union-attr]
    frames = _feed(d, _packets(units, hevc=True))
    pts = [p for _, p in units]
    assert [f.pts for f in frames] == pts
    assert [f.dts for f in frames] == expected(pts, depth)
    check_sound(pts, [f.dts for f in frames])


def test_h265_joined_at_a_cra_drops_its_rasl_pictures() -> None:
    # CRA (POC 24) with RASL pictures 22 and 23 shown before it, then trailing pictures: a decoder
    # joining here cannot decode the RASL pictures; they are dropped and counted.
    sps, pps = h265_sps(reorder=2), h265_pps()
    units = [([sps, pps, h265_slice(21, 24)], BASE + 24 * D), ([h265_slice(8, 22)], BASE + 22 * D),
             ([h265_slice(8, 23)], BASE + 23 * D), ([h265_slice(1, 26)], BASE + 26 * D),
             ([h265_slice(0, 25)], BASE + 25 * D)]
    d = H265Depacketizer(0)
    frames = _feed(d, _packets(units, hevc=True))
    assert [f.pts for f in frames] == [BASE + 24 * D, BASE + 26 * D, BASE + 25 * D]
    assert d.lost_units == 2
    check_sound([f.pts for f in frames], [f.dts for f in frames])
