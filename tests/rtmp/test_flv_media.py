"""FLV tag bodies: legacy and Enhanced RTMP audio/video headers, script data.

Vectors: bytes laid out by hand from the FLV specification (v10, annex E) and the Enhanced RTMP v2
specification; the AAC/AVC bodies of FFmpeg's ref.flv; and the head of testsrc.flv from the
Enhanced RTMP project's e-rtmp-lab (written by FFmpeg 8, Lavf62: AV1 + Opus with FourCC headers),
see vectors/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import LocalProtocolError, ParseError, ProtocolError
from mediaproto.rtmp import amf0
from mediaproto.rtmp.flv import TAG_AUDIO, TAG_VIDEO, read_flv
from mediaproto.rtmp.flvmedia import (
    AudioData,
    AudioFourCC,
    AudioPacketType,
    AvMultitrackType,
    SoundFormat,
    VideoData,
    VideoFourCC,
    VideoPacketType,
    build_audio,
    build_video,
    parse_audio,
    parse_video,
)
from mediaproto.rtmp.flvscript import ScriptData, build_script, parse_script

HERE = Path(__file__).parent / "vectors"

AUDIO_CASES: list[tuple[str, bytes, AudioData]] = [
    # 0xAF = AAC(10) << 4 | 44 kHz(3) << 2 | 16 bit << 1 | stereo; AACPacketType 0; ASC 0x1190 (LC 48k 2ch)
    ("aac sequence header", b"\xaf\x00\x11\x90", AudioData(10, 0, b"\x11\x90", 3, 1, 1)),
    ("aac raw", b"\xaf\x01\x21\x00", AudioData(10, 1, b"\x21\x00", 3, 1, 1)),
    # 0x2E = 0010 1110: MP3(2), rate 3 (44 kHz), 16 bit, mono
    ("mp3 mono", b"\x2e\xff\xfb", AudioData(2, 1, b"\xff\xfb", 3, 1, 0)),
    # 0x72 = G.711 A-law(7), 5.5 kHz, 16 bit, mono; 0x82 = mu-law
    ("g711 a-law", b"\x72\xd5\xd5", AudioData(7, 1, b"\xd5\xd5", 0, 1, 0)),
    ("g711 mu-law", b"\x82\xff", AudioData(8, 1, b"\xff", 0, 1, 0)),
    # ExHeader: 0x90 = 9 << 4 | SequenceStart, FourCC, OpusHead
    ("opus sequence start", b"\x90Opus" + b"OpusHead\x01\x02", AudioData(9, 0, b"OpusHead\x01\x02", 0, 0, 0, b"Opus")),
    ("opus coded frames", b"\x91Opus\xfc\x00", AudioData(9, 1, b"\xfc\x00", 0, 0, 0, b"Opus")),
    ("ac-3 coded", b"\x91ac-3\x0b\x77", AudioData(9, 1, b"\x0b\x77", 0, 0, 0, AudioFourCC.AC3)),
    ("e-ac-3 coded", b"\x91ec-3\x0b\x77", AudioData(9, 1, b"\x0b\x77", 0, 0, 0, AudioFourCC.EAC3)),
    ("flac start", b"\x90fLaC" + b"fLaC\x80", AudioData(9, 0, b"fLaC\x80", 0, 0, 0, AudioFourCC.FLAC)),
    ("mp3 ex", b"\x91.mp3\xff\xfb", AudioData(9, 1, b"\xff\xfb", 0, 0, 0, AudioFourCC.MP3)),
    ("mp4a sequence end", b"\x92mp4a", AudioData(9, 2, b"", 0, 0, 0, AudioFourCC.AAC)),
    # ModEx (7): size-1 = 2 -> 3 bytes of TimestampOffsetNano 0x0003E8, then ModExType 0 | CodedFrames
    ("modex nano offset", b"\x97\x02\x00\x03\xe8\x01Opus\xaa", AudioData(9, 1, b"\xaa", 0, 0, 0, b"Opus", timestamp_offset_nano=1000)),
]


@pytest.mark.parametrize("name,raw,value", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_audio_table(name: str, raw: bytes, value: AudioData) -> None:
    assert AudioData.parse(raw) == value
    assert value.to_bytes() == raw


def test_audio_multitrack_many_tracks() -> None:
    # 0x95 = ExHeader | Multitrack; 0x11 = ManyTracks << 4 | CodedFrames; FourCC; then per track:
    # trackId, UI24 size, data
    raw = b"\x95\x11Opus" + b"\x00\x00\x00\x02ab" + b"\x01\x00\x00\x01c"
    tracks = parse_audio(raw)
    assert [(t.track_id, t.data, t.fourcc, t.multitrack_type) for t in tracks] == [
        (0, b"ab", b"Opus", 1),
        (1, b"c", b"Opus", 1),
    ]
    assert build_audio(tracks) == raw


def test_audio_multitrack_many_codecs_and_one_track() -> None:
    raw = b"\x95\x21" + b"Opus\x00\x00\x00\x01a" + b"mp4a\x01\x00\x00\x01b"
    tracks = parse_audio(raw)
    assert [(t.fourcc, t.track_id, t.data) for t in tracks] == [(b"Opus", 0, b"a"), (b"mp4a", 1, b"b")]
    assert tracks[0].multitrack_type == AvMultitrackType.MANY_TRACKS_MANY_CODECS
    assert build_audio(tracks) == raw
    one = b"\x95\x01Opus\x05rest"  # OneTrack: trackId then the data to the end
    (track,) = parse_audio(one)
    assert (track.track_id, track.data, track.multitrack_type) == (5, b"rest", 0)
    assert build_audio([track]) == one


VIDEO_CASES: list[tuple[str, bytes, VideoData]] = [
    # 0x17 = key frame(1) << 4 | AVC(7); AVCPacketType 0; CompositionTime 0
    ("avc sequence header", b"\x17\x00\x00\x00\x00\x01\x42", VideoData(1, 7, 0, b"\x01\x42")),
    # 0x27 = inter frame | AVC; NALU; CompositionTime -40 = 0xFFFFD8 (SI24)
    ("avc nalu negative cts", b"\x27\x01\xff\xff\xd8\x00\x00\x00\x01\x41", VideoData(2, 7, 1, b"\x00\x00\x00\x01\x41", -40)),
    ("avc end of sequence", b"\x17\x02\x00\x00\x00", VideoData(1, 7, 2, b"")),
    ("legacy hevc 12", b"\x1c\x01\x00\x00\x50\xaa", VideoData(1, 12, 1, b"\xaa", 80)),
    ("legacy av1 13", b"\x1d\x00\x00\x00\x00\x81", VideoData(1, 13, 0, b"\x81")),
    ("sorenson", b"\x22\x00\x00\x84", VideoData(2, 2, 1, b"\x00\x00\x84")),
    ("command frame", b"\x57\x00", VideoData(5, 7, 1, b"", command=0)),
    # Enhanced: 0x90 = IsExHeader | key frame << 4 | SequenceStart; FourCC; record
    ("hvc1 sequence start", b"\x90hvc1\x01\x02", VideoData(1, 0, 0, b"\x01\x02", 0, b"hvc1")),
    # CodedFrames carries SI24 CompositionTime for hvc1/avc1
    ("hvc1 coded frames", b"\x91hvc1\x00\x00\x28\x00\x00\x00\x01\x26", VideoData(1, 0, 1, b"\x00\x00\x00\x01\x26", 40, b"hvc1")),
    # CodedFramesX: composition time 0, not written; 0xA3 = inter frame
    ("hvc1 coded frames x", b"\xa3hvc1\x00\x00\x00\x01\x02", VideoData(2, 0, 3, b"\x00\x00\x00\x01\x02", 0, b"hvc1")),
    ("avc1 coded frames", b"\x91avc1\x00\x00\x00\x65", VideoData(1, 0, 1, b"\x65", 0, b"avc1")),
    ("av01 coded frames (no cts)", b"\xa1av01\x12\x00", VideoData(2, 0, 1, b"\x12\x00", 0, b"av01")),
    ("vp09 sequence end", b"\x92vp09", VideoData(1, 0, 2, b"", 0, b"vp09")),
    ("av01 mpeg2ts sequence start", b"\x95av01\x80", VideoData(1, 0, 5, b"\x80", 0, b"av01")),
    # frame type 5 with Metadata: the AMF body follows the FourCC
    ("metadata", b"\xd4hvc1\x02\x00\x01x", VideoData(5, 0, 4, b"\x02\x00\x01x", 0, b"hvc1")),
    # command frame in ExHeader: VideoCommand byte, no FourCC
    ("ex command", b"\xd1\x01", VideoData(5, 0, 1, b"", command=1)),
    ("modex nano offset", b"\x97\x02\x00\x00\x01\x03hvc1\xee", VideoData(1, 0, 3, b"\xee", 0, b"hvc1", timestamp_offset_nano=1)),
]


@pytest.mark.parametrize("name,raw,value", VIDEO_CASES, ids=[c[0] for c in VIDEO_CASES])
def test_video_table(name: str, raw: bytes, value: VideoData) -> None:
    assert VideoData.parse(raw) == value
    assert value.to_bytes() == raw


def test_video_multitrack() -> None:
    # 0x96 = ExHeader | key frame | Multitrack; 0x13 = ManyTracks << 4 | CodedFramesX; FourCC
    raw = b"\x96\x13hvc1" + b"\x00\x00\x00\x02ab" + b"\x02\x00\x00\x01c"
    tracks = parse_video(raw)
    assert [(t.track_id, t.data, t.packet_type) for t in tracks] == [(0, b"ab", 3), (2, b"c", 3)]
    assert build_video(tracks) == raw
    # CodedFrames: each track's data starts with its composition time
    raw2 = b"\x96\x11avc1" + b"\x00\x00\x00\x04\x00\x00\x05z"
    (t,) = parse_video(raw2)
    assert (t.composition_time, t.data) == (5, b"z")
    assert build_video([t]) == raw2


def test_sequence_header_flags() -> None:
    assert VideoData.parse(b"\x17\x00\x00\x00\x00").is_sequence_header
    assert not VideoData.parse(b"\x17\x02\x00\x00\x00").is_coded_frame
    assert VideoData.parse(b"\x90hvc1").is_sequence_header
    assert VideoData.parse(b"\xa3hvc1x").is_coded_frame
    assert AudioData.parse(b"\xaf\x00\x11\x90").is_sequence_header
    assert AudioData.parse(b"\x90Opus").is_sequence_header
    assert not AudioData.parse(b"\x2e\xff").is_sequence_header


BAD: list[tuple[str, bytes, object]] = [
    ("empty video", b"", parse_video),
    ("avc without cts", b"\x17\x01\x00", parse_video),
    ("ex video without fourcc", b"\x91hv", parse_video),
    ("hvc1 coded without cts", b"\x91hvc1\x00", parse_video),
    ("video modex truncated", b"\x97\x05\x00", parse_video),
    ("video multitrack of multitrack", b"\x96\x16hvc1", parse_video),
    ("video multitrack bad type", b"\x96\x31hvc1", parse_video),
    ("video track size past end", b"\x96\x11hvc1\x00\x00\x00\x09ab", parse_video),
    ("empty audio", b"", parse_audio),
    ("aac without packet type", b"\xaf", parse_audio),
    ("ex audio without fourcc", b"\x91Op", parse_audio),
    ("audio multitrack without tracks", b"\x95\x11Opus", parse_audio),
]


@pytest.mark.parametrize("name,raw,fn", BAD, ids=[c[0] for c in BAD])
def test_bad_bodies(name: str, raw: bytes, fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError):
        fn(raw)


def test_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        build_video([VideoData(1, 7, 1, b"", 1 << 23)])
    with pytest.raises(LocalProtocolError):
        build_audio([])
    with pytest.raises(LocalProtocolError):
        build_audio([AudioData(9, 1, b"", fourcc=b"abc")])


def test_ffmpeg_ref_flv_bodies(vectors: Path) -> None:
    _, tags = read_flv((vectors / "ref.flv").read_bytes())
    video = [VideoData.parse(t.data) for t in tags if t.tag_type == TAG_VIDEO]
    audio = [AudioData.parse(t.data) for t in tags if t.tag_type == TAG_AUDIO]
    assert video[0].is_sequence_header and video[0].codec_id == 7 and video[0].data[0] == 1
    assert video[-1].packet_type == 2  # FFmpeg ends the stream with an AVC end of sequence
    assert sum(v.keyframe for v in video[1:-1]) == 2  # GOP 50 in 100 frames
    assert audio[0].is_sequence_header and audio[0].data == bytes.fromhex("119056e500")  # SDP: config=119056E500
    assert all(a.sound_format == SoundFormat.AAC and (a.sound_rate, a.sound_size, a.sound_type) == (3, 1, 1) for a in audio)
    for t in tags:
        if t.tag_type == TAG_VIDEO:
            assert VideoData.parse(t.data).to_bytes() == t.data
        elif t.tag_type == TAG_AUDIO:
            assert AudioData.parse(t.data).to_bytes() == t.data
        else:
            assert parse_script(t.data).to_bytes() == t.data


def test_ertmp_lab_av1_opus_file() -> None:
    _, tags = read_flv((HERE / "ertmp-av1-opus.flv").read_bytes())
    meta = parse_script(tags[0].data)
    assert meta.name == "onMetaData" and meta.value["encoder"] == "Lavf62.3.100"
    # FFmpeg writes the FourCC as the codec id number in onMetaData
    assert int(meta.value["videocodecid"]).to_bytes(4, "big") == VideoFourCC.AV1
    assert int(meta.value["audiocodecid"]).to_bytes(4, "big") == AudioFourCC.OPUS
    kinds = []
    for t in tags[1:]:
        item = VideoData.parse(t.data) if t.tag_type == TAG_VIDEO else AudioData.parse(t.data)
        kinds.append((t.tag_type, item.fourcc, item.packet_type))
        assert item.to_bytes() == t.data
    assert kinds[:6] == [
        (TAG_VIDEO, b"av01", VideoPacketType.SEQUENCE_START),
        (TAG_AUDIO, b"Opus", AudioPacketType.SEQUENCE_START),
        (TAG_AUDIO, b"Opus", AudioPacketType.MULTICHANNEL_CONFIG),
        (TAG_AUDIO, b"Opus", AudioPacketType.CODED_FRAMES),
        (TAG_VIDEO, b"av01", VideoPacketType.SEQUENCE_START),
        (TAG_VIDEO, b"av01", VideoPacketType.METADATA),
    ]
    colour = VideoData.parse(tags[6].data)
    assert colour.frame_type == 5 and amf0.loads_all(colour.data)[0] == "colorInfo"
    opus_head = AudioData.parse(tags[2].data).data
    assert opus_head.startswith(b"OpusHead") and opus_head[9] == 1  # mono, as onMetaData's stereo=false


def test_script_set_data_frame(vectors: Path) -> None:
    from ._amfcapture import metadata_body

    body = metadata_body(vectors)
    script = parse_script(body)
    assert script.set_data_frame and script.name == "onMetaData"
    assert script.value["width"] == 320.0
    assert build_script("onMetaData", script.value, set_data_frame=True) == body
    assert ScriptData("onMetaData", {"a": 1.0}).to_bytes() == amf0.dumps_all(["onMetaData", {"a": 1.0}])
    with pytest.raises(ParseError):
        parse_script(amf0.dumps(1.0))
    assert parse_script(amf0.dumps("onCuePoint")) == ScriptData("onCuePoint")


@given(st.binary(max_size=64))
def test_random_bodies_raise_only_protocol_errors(raw: bytes) -> None:
    for fn in (parse_audio, parse_video, parse_script):
        try:
            fn(raw)
        except ProtocolError:
            pass


_fourcc = st.sampled_from([b"hvc1", b"avc1", b"av01", b"vp09"])


@given(
    st.lists(
        st.builds(
            VideoData,
            st.integers(1, 4),
            st.just(0),
            st.sampled_from([0, 1, 2, 3, 5]),
            st.binary(max_size=20),
            st.just(0),
            _fourcc,
            st.integers(0, 255),
            st.just(AvMultitrackType.MANY_TRACKS),
        ),
        min_size=2,
        max_size=4,
    ),
    st.data(),
)
def test_video_multitrack_round_trip(items: list[VideoData], data: st.DataObject) -> None:
    packet = items[0].packet_type
    kind = AvMultitrackType.MANY_TRACKS if len({i.fourcc for i in items}) == 1 else AvMultitrackType.MANY_TRACKS_MANY_CODECS
    items = [
        VideoData(items[0].frame_type, 0, packet, i.data, 0, i.fourcc, i.track_id, kind) for i in items
    ]
    assert parse_video(build_video(items)) == items

