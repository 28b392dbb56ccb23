"""Tag <-> Frame conversion: MediaTagDecoder and MediaTagEncoder against FFmpeg's ref.flv (expected
timestamps from ffprobe's packet list), an x265 stream (ffprobe: 64x48, 5 frames), and the Enhanced
RTMP AV1 + Opus file of the e-rtmp-lab."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.codecs import h265
from mediaproto.codecs.h264 import join_annexb, split_annexb
from mediaproto.errors import LocalProtocolError, ProtocolError
from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp.flv import (
    TAG_AUDIO,
    TAG_VIDEO,
    MediaTagDecoder,
    MediaTagEncoder,
    read_flv,
)
from mediaproto.rtmp.flvframes import opus_head
from mediaproto.rtmp.flvmedia import VideoData, VideoFourCC

HERE = Path(__file__).parent / "vectors"


def _decode_all(tags: list[tuple[int, int, bytes]]) -> tuple[MediaTagDecoder, list[Track], list[Frame]]:
    dec = MediaTagDecoder()
    out: list[Track | Frame] = []
    for tag_type, ts, body in tags:
        out += dec.feed(tag_type, ts, body)
    return dec, [x for x in out if isinstance(x, Track)], [x for x in out if isinstance(x, Frame)]


@pytest.fixture(scope="module")
def ref_tags(vectors: Path) -> list[tuple[int, int, bytes]]:
    _, tags = read_flv((vectors / "ref.flv").read_bytes())
    return [(t.tag_type, t.timestamp, t.data) for t in tags]


def test_ref_flv_tracks(ref_tags: list[tuple[int, int, bytes]]) -> None:
    _, tracks, _ = _decode_all(ref_tags)
    video, audio = tracks
    # README of the vectors: H.264 320x240, AAC-LC 48 kHz stereo (SDP config=119056E500)
    assert (video.id, video.codec, video.clock_rate, video.width, video.height) == (0, Codec.H264, 1000, 320, 240)
    assert [p[0] & 0x1F for p in video.parameter_sets] == [7, 8]
    assert (audio.id, audio.codec, audio.sample_rate, audio.channels) == (1, Codec.AAC, 48000, 2)
    assert audio.config == bytes.fromhex("119056e500")


def test_ref_flv_frames_match_ffprobe(ref_tags: list[tuple[int, int, bytes]], vectors: Path) -> None:
    dec, _, frames = _decode_all(ref_tags)
    rows = list(csv.reader((vectors / "ref.flv.packets.csv").open()))
    expected = sorted((int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4].startswith("K")) for r in rows)
    got = sorted(
        # ffprobe's size of a video packet is the AVCC payload: NAL units plus 4-byte lengths
        (f.track_id, f.pts, f.dts, f.size + 4 * len(f.nal_units) if f.track_id == 0 else f.size, f.keyframe)
        for f in frames
    )
    assert got == expected
    assert sum(f.track_id == 0 for f in frames) == 100 and sum(f.track_id == 1 for f in frames) == 189
    assert dec.dropped == 0


def test_ref_flv_reencodes_identically(ref_tags: list[tuple[int, int, bytes]]) -> None:
    _, tracks, frames = _decode_all(ref_tags)
    enc = MediaTagEncoder(tracks)
    headers = enc.sequence_headers()
    assert headers == [t for t in ref_tags if t[2][:2] in (b"\x17\x00", b"\xaf\x00")]
    media = [t for t in ref_tags if t[0] in (TAG_AUDIO, TAG_VIDEO) and t[2][1] == 1]
    assert [enc.encode(f) for f in frames] == media


def test_frames_before_sequence_header_are_dropped_and_counted(ref_tags: list[tuple[int, int, bytes]]) -> None:
    no_headers = [t for t in ref_tags if t[2][:2] not in (b"\x17\x00", b"\xaf\x00")]
    dec, tracks, frames = _decode_all(no_headers)
    assert tracks == [] and frames == [] and dec.dropped == 289
    assert dec.tracks == {}


def test_sequence_header_repeated_or_changed(ref_tags: list[tuple[int, int, bytes]]) -> None:
    dec = MediaTagDecoder()
    header = ref_tags[1]
    assert len(dec.feed(*header)) == 1
    assert dec.feed(*header) == []  # same configuration: no new track
    record = bytearray(VideoData.parse(header[2]).data)
    record[4] = 0xFD  # lengthSizeMinusOne 1: same parameter sets, so the same track
    assert dec.feed(TAG_VIDEO, 0, VideoData(1, 7, 0, bytes(record)).to_bytes()) == []
    frame = dec.feed(TAG_VIDEO, 40, VideoData(1, 7, 1, b"\x00\x02\x65\x88").to_bytes())
    assert isinstance(frame[0], Frame) and frame[0].data == (b"\x65\x88",)
    record[-1] ^= 0xFF  # a different PPS: a new track
    (track,) = dec.feed(TAG_VIDEO, 80, VideoData(1, 7, 0, bytes(record)).to_bytes())
    assert isinstance(track, Track) and track.parameter_sets[1][-1] == record[-1]
    assert dec.tracks[0] is track


def test_annexb_payload_is_accepted(ref_tags: list[tuple[int, int, bytes]]) -> None:
    # QUIRKS: H.264 in RTMP is sometimes Annex B instead of AVCC
    dec, _, frames = _decode_all(ref_tags[:5])
    first = frames[0] if frames[0].track_id == 0 else frames[1]
    body = VideoData(1, 7, 1, join_annexb(first.nal_units), 0).to_bytes()
    out = dec.feed(TAG_VIDEO, first.dts, body)
    assert isinstance(out[0], Frame) and out[0].data == first.data


def test_rescaled_timestamps() -> None:
    track = Track(0, Codec.H264, 90000, parameter_sets=())
    enc = MediaTagEncoder([track])
    tag_type, ts, body = enc.encode(Frame(0, 90000 * 3 + 3600, 90000 * 3, (b"\x65\x00",), True))
    assert (tag_type, ts) == (TAG_VIDEO, 3000)
    assert VideoData.parse(body).composition_time == 40


@pytest.fixture(scope="module")
def hevc_units() -> list[list[bytes]]:
    nals = split_annexb((HERE / "x265-64x48.hevc").read_bytes())
    return h265.split_access_units(nals)


def _hevc_track_and_frames(units: list[list[bytes]]) -> tuple[Track, list[Frame]]:
    params = tuple(n for n in units[0] if h265.nal_type(n) in (32, 33, 34))
    track = Track(0, Codec.H265, 90000, parameter_sets=params)
    frames = []
    for i, unit in enumerate(units):
        vcl = tuple(n for n in unit if h265.nal_type(n) not in (32, 33, 34))
        frames.append(Frame(0, i * 9000, i * 9000, vcl, h265.is_keyframe(vcl)))
    return track, frames


@pytest.mark.parametrize("mode", ["hvc1", "legacy12"])
def test_hevc_round_trip(hevc_units: list[list[bytes]], mode: str) -> None:
    track, frames = _hevc_track_and_frames(hevc_units)
    assert len(frames) == 5  # ffprobe -count_frames: 5
    enc = MediaTagEncoder([track], legacy_hevc=mode == "legacy12")
    (header,) = enc.sequence_headers()
    parsed = VideoData.parse(header[2])
    if mode == "hvc1":
        assert parsed.fourcc == VideoFourCC.HEVC and parsed.packet_type == 0
    else:
        assert parsed.codec_id == 12
    dec, tracks, out = _decode_all([header] + [enc.encode(f) for f in frames])
    (got,) = tracks
    assert (got.codec, got.width, got.height) == (Codec.H265, 64, 48)  # ffprobe: 64x48
    assert got.parameter_sets == track.parameter_sets
    assert [f.data for f in out] == [f.data for f in frames]
    assert [f.keyframe for f in out] == [True, False, False, False, False]
    assert [f.dts for f in out] == [0, 100, 200, 300, 400]


def test_hevc_as_codec_id_7_old_obs(hevc_units: list[list[bytes]]) -> None:
    # QUIRKS: old OBS sends HEVC with the AVC CodecID 7; recognised by the HEVC record
    track, frames = _hevc_track_and_frames(hevc_units)
    record = VideoData.parse(MediaTagEncoder([track]).sequence_headers()[0][2]).data
    tags = [(TAG_VIDEO, 0, VideoData(1, 7, 0, record).to_bytes())]
    tags += [(TAG_VIDEO, 100 * i, VideoData(1 if f.keyframe else 2, 7, 1, b"".join(len(n).to_bytes(4, "big") + n for n in f.nal_units)).to_bytes()) for i, f in enumerate(frames)]
    dec, tracks, out = _decode_all(tags)
    assert tracks[0].codec is Codec.H265 and len(out) == 5 and dec.dropped == 0


def test_enhanced_h264(ref_tags: list[tuple[int, int, bytes]]) -> None:
    _, tracks, frames = _decode_all(ref_tags)
    enc = MediaTagEncoder(tracks, enhanced=True)
    headers = enc.sequence_headers()
    assert VideoData.parse(headers[0][2]).fourcc == b"avc1"
    assert headers[1][2][:5] == b"\x90mp4a"
    _, tracks2, frames2 = _decode_all(headers + [enc.encode(f) for f in frames])
    assert tracks2 == tracks and frames2 == frames


def test_opus_track() -> None:
    head = opus_head(1)
    track = Track(1, Codec.OPUS, 48000, config=head, sample_rate=48000, channels=1)
    enc = MediaTagEncoder([track])
    headers = enc.sequence_headers()
    assert headers == [(TAG_AUDIO, 0, b"\x90Opus" + head)]
    tag = enc.encode(Frame(1, 960, 960, b"\xfc\xff\xfe", True))
    assert tag == (TAG_AUDIO, 20, b"\x91Opus\xfc\xff\xfe")
    _, tracks, frames = _decode_all(headers + [tag])
    assert tracks == [Track(1, Codec.OPUS, 1000, config=head, sample_rate=48000, channels=1)]
    assert frames == [Frame(1, 20, 20, b"\xfc\xff\xfe", True)]
    # without config, a mapping-family-0 OpusHead is made up from the channel count
    assert MediaTagEncoder([Track(1, Codec.OPUS, 48000, channels=2)]).sequence_headers()[0][2][14] == 2


@pytest.mark.parametrize(
    "codec,first_byte", [(Codec.PCMA, 0x72), (Codec.PCMU, 0x82), (Codec.MP3, 0x2F)]
)
def test_codecs_without_sequence_header(codec: Codec, first_byte: int) -> None:
    track = Track(1, codec, 8000 if codec is not Codec.MP3 else 44100, sample_rate=44100 if codec is Codec.MP3 else 8000,
                  channels=1 if codec is not Codec.MP3 else 2)
    enc = MediaTagEncoder([track])
    assert enc.sequence_headers() == []
    tag = enc.encode(Frame(1, 0, 0, b"\x01\x02", True))
    assert tag[2][0] == first_byte
    _, tracks, frames = _decode_all([tag])
    assert tracks[0].codec is codec and frames[0].data == b"\x01\x02"


def test_ertmp_lab_av1_opus() -> None:
    _, tags = read_flv((HERE / "ertmp-av1-opus.flv").read_bytes())
    dec, tracks, frames = _decode_all([(t.tag_type, t.timestamp, t.data) for t in tags])
    assert {(t.id, t.codec) for t in tracks} == {(0, Codec.AV1), (1, Codec.OPUS)}
    assert dec.tracks[1].channels == 1 and dec.tracks[1].sample_rate == 48000
    assert dec.tracks[0].config[:1] == b"\x81"  # AV1CodecConfigurationRecord marker/version
    assert sum(f.track_id == 0 for f in frames) == 3 and sum(f.track_id == 1 for f in frames) == 4
    assert frames[0].keyframe or frames[0].track_id == 1


def test_encoder_errors() -> None:
    with pytest.raises(LocalProtocolError):
        MediaTagEncoder([Track(0, Codec.H264, 1000), Track(1, Codec.H265, 1000)])
    with pytest.raises(LocalProtocolError):
        MediaTagEncoder([Track(1, Codec.L16, 1000)])
    with pytest.raises(LocalProtocolError):
        MediaTagEncoder([Track(0, Codec.H264, 1000)]).sequence_headers()
    with pytest.raises(LocalProtocolError):
        MediaTagEncoder([]).encode(Frame(3, 0, 0, b""))


@given(st.sampled_from([TAG_AUDIO, TAG_VIDEO, 18]), st.integers(0, 2**32 - 1), st.binary(max_size=60))
def test_random_tags_raise_only_protocol_errors(tag_type: int, ts: int, body: bytes) -> None:
    dec = MediaTagDecoder()
    for b in (b"\x17\x00\x00\x00\x00" + body, b"\xaf\x00" + body, body):
        try:
            dec.feed(tag_type, ts, b)
        except ProtocolError:
            pass


_nal = st.binary(min_size=1, max_size=30).map(lambda b: bytes([0x41]) + b)  # non-IDR slice NAL header


@given(
    st.lists(
        st.tuples(st.lists(_nal, min_size=1, max_size=4), st.integers(0, 2**30), st.integers(-1000, 1000), st.booleans()),
        max_size=10,
    ),
    st.booleans(),
)
def test_h264_frames_round_trip(items: list[tuple[list[bytes], int, int, bool]], enhanced: bool) -> None:
    # SPS/PPS of ref.flv (FFmpeg/libx264), so that the record can be built
    sps = bytes.fromhex("6742c00dd90141fb0110000003001000000303 20f142a480".replace(" ", ""))
    track = Track(0, Codec.H264, 1000, parameter_sets=(sps, bytes.fromhex("68cb8cb2")))
    enc = MediaTagEncoder([track], enhanced=enhanced)
    frames = [Frame(0, dts + cts, dts, tuple(nals), key) for nals, dts, cts, key in items]
    dec, tracks, out = _decode_all(enc.sequence_headers() + [enc.encode(f) for f in frames])
    assert tracks[0].parameter_sets == track.parameter_sets
    assert out == frames
