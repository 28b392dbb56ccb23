"""m3u8 parse and dump: spec examples, ffmpeg vectors, every tag, edits, errors."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mediaproto import hls
from mediaproto.errors import LimitExceeded, ParseError, ProtocolError
from mediaproto.hls import Enumerated, Resolution

from . import cases

ALL_CASES = {
    name: getattr(cases, name)
    for name in dir(cases)
    if name.isupper() and isinstance(getattr(cases, name), str)
}


@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_round_trip_byte_exact(name: str) -> None:
    text = ALL_CASES[name]
    pl = hls.parse(text, query_params={"token": "T"})
    assert pl.dumps() == text
    # and the bytes form, and without the final newline
    assert hls.parse(text.encode(), query_params={"token": "T"}).dumps() == text
    assert hls.parse(text.rstrip("\n"), query_params={"token": "T"}).dumps() == text.rstrip("\n")


@pytest.mark.parametrize("folder", ["hls-ts", "hls-fmp4"])
def test_ffmpeg_vectors(vectors: Path, folder: str) -> None:
    text = (vectors / folder / "index.m3u8").read_text()
    pl = hls.parse(text)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.dumps() == text
    assert [s.uri for s in pl.segments] == sorted(p.name for p in (vectors / folder).glob("index*.*s"))
    assert [s.duration for s in pl.segments] == [2.0, 2.0]
    assert pl.target_duration == 2 and pl.media_sequence == 0 and pl.playlist_type == "VOD" and pl.endlist
    if folder == "hls-fmp4":
        assert pl.version == 7 and pl.segments[0].map == hls.Map("init.mp4")


def test_rfc_simple_values() -> None:
    pl = hls.parse(cases.RFC_SIMPLE)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.target_duration == 10 and pl.version == 3 and pl.endlist
    assert [(s.uri.rsplit("/", 1)[1], s.duration) for s in pl.segments] == [
        ("first.ts", 9.009),
        ("second.ts", 9.009),
        ("third.ts", 3.003),
    ]
    assert pl.duration == pytest.approx(21.021)


def test_rfc_encrypted_keys_belong_to_their_segment() -> None:
    pl = hls.parse(cases.RFC_ENCRYPTED)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl.segments[0].keys == [hls.Key("AES-128", "https://priv.example.com/key.php?r=52")]
    assert pl.segments[1].keys == [] and pl.segments[2].keys == []
    assert pl.segments[3].keys[0].uri.endswith("r=53")
    assert pl.segments[0].duration == 2.833 and pl.segments[1].duration == 15.0


def test_multivariant_values() -> None:
    pl = hls.parse(cases.RFC_IFRAMES)
    assert isinstance(pl, hls.MultivariantPlaylist)
    assert [v.uri for v in pl.variants] == [
        "low/audio-video.m3u8",
        "mid/audio-video.m3u8",
        "hi/audio-video.m3u8",
        "audio-only.m3u8",
    ]
    assert pl.variants[3].stream_inf.codecs == "mp4a.40.5"
    assert [i.bandwidth for i in pl.i_frame_variants] == [86000, 150000, 550000]
    audio = hls.parse(cases.RFC_AUDIO)
    assert isinstance(audio, hls.MultivariantPlaylist)
    assert audio.media[0] == hls.Media(
        type="AUDIO", group_id="aac", name="English", default=True, autoselect=True, language="en",
        uri="main/english-audio.m3u8",
    )  # fmt: skip
    assert audio.media[1].default is False and audio.variants[0].stream_inf.audio == "aac"


def test_every_tag_media_typed() -> None:
    pl = hls.parse(cases.EVERY_TAG_MEDIA)
    assert isinstance(pl, hls.MediaPlaylist)
    assert pl._cr == "\r"
    assert (pl.version, pl.target_duration, pl.media_sequence, pl.discontinuity_sequence) == (10, 6, 10, 2)
    assert pl.playlist_type == "EVENT" and pl.i_frames_only and pl.independent_segments
    assert pl.start == hls.Start(-12.5, True)
    assert pl.server_control == hls.ServerControl(True, 36.0, True, 18.0, 1.5)
    assert pl.part_inf == hls.PartInf(0.5)
    assert pl.defines == [hls.Define(name="host", value="cdn.example.com")]
    assert pl.extra == ["#EXT-X-ALLOW-CACHE:NO"]
    s0, s1 = pl.segments
    key = s0.keys[0]
    assert key.uri == "https://cdn.example.com/key"  # variable substituted
    assert key.iv == bytes.fromhex("0123456789abcdef0123456789abcdef")
    assert (key.keyformat, key.keyformatversions) == ("identity", "1")
    assert s0.map == hls.Map("init.mp4", hls.ByteRange(720, 0))
    tz = timezone(timedelta(hours=1))
    assert s0.program_date_time == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=tz)
    dr = s0.dateranges[0]
    assert (dr.id, dr.class_, dr.duration, dr.planned_duration) == ("ad-1", "com.example.ad", 30.0, 30.0)
    assert dr.scte35_out == bytes.fromhex("FC302000")
    assert dr.client_attributes == (("X-COM-EXAMPLE-ID", "a b"), ("X-NUM", -1.5), ("X-HEX", b"\xab"))
    assert s0.bitrate == 1500 and s0.extra == ["#EXT-X-CUE-OUT:30"]
    assert (s0.duration, s0.title, s0.byterange) == (5.005, "title with, comma", hls.ByteRange(1000, 720))
    assert s0.uri == "https://cdn.example.com/main.mp4"
    assert s1.discontinuity and s1.gap and s1.byterange == hls.ByteRange(2000) and s1.duration == 6.0
    part = pl.partial_segment
    assert part is not None and part.parts == [
        hls.PartialSegment(0.5, "p.mp4", True, hls.ByteRange(100, 0), True, (("X-UNKNOWN", '"kept"'),))
    ]
    assert pl.preload_hints == [hls.PreloadHint("PART", "p.mp4", 100, 100)]
    assert pl.rendition_reports == [hls.RenditionReport("../b/index.m3u8", 11, 0)]


def test_every_tag_multivariant_typed() -> None:
    pl = hls.parse(cases.EVERY_TAG_MULTIVARIANT, query_params={"token": "T"})
    assert isinstance(pl, hls.MultivariantPlaylist)
    assert pl.version == 12 and pl.independent_segments and pl.start == hls.Start(2.0)
    assert pl.content_steering == hls.ContentSteering("https://steer.example.com/s.json", "CDN-A")
    assert pl.session_data[1] == hls.SessionData("com.example.meta", uri="meta.json", format="JSON")
    assert pl.session_keys[0].method == "SAMPLE-AES"
    assert pl.media[0].uri == "a/en.m3u8?t=T" and pl.media[0].sample_rate == 48000
    assert pl.media[1].instream_id == "CC1"
    v0, v1 = pl.variants
    assert v0.uri == "v/720.m3u8?t=T" and v0.lines_between == ("# between",)
    assert v0.stream_inf.resolution == Resolution(1280, 720) and v0.stream_inf.frame_rate == 29.97
    assert v0.stream_inf.codecs == "avc1.64001f,mp4a.40.2" and v0.stream_inf.closed_captions == "cc"
    assert isinstance(v1.stream_inf.closed_captions, Enumerated) and v1.stream_inf.closed_captions == "NONE"
    assert v1.stream_inf.program_id == 1
    assert pl.i_frame_variants[0].uri == "v/720-iframes.m3u8"
    assert pl.extra == ["# a comment between the lines of a variant follows"]


def test_unresolved_queryparam_left_as_written() -> None:
    pl = hls.parse(cases.EVERY_TAG_MULTIVARIANT)
    assert isinstance(pl, hls.MultivariantPlaylist)
    assert pl.variants[0].uri == "v/720.m3u8?t={$token}"
    assert pl.dumps() == cases.EVERY_TAG_MULTIVARIANT


def test_import_variable() -> None:
    text = '#EXTM3U\n#EXT-X-DEFINE:IMPORT="base"\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n{$base}/a.ts\n'
    pl = hls.parse(text, imports={"base": "https://x"})
    assert isinstance(pl, hls.MediaPlaylist) and pl.segments[0].uri == "https://x/a.ts"
    with pytest.raises(ParseError) as exc:
        hls.parse(text, imports={})
    assert exc.value.line == 2


def test_undefined_variable_is_an_error() -> None:
    text = '#EXTM3U\n#EXT-X-DEFINE:NAME="a",VALUE="1"\n#EXTINF:2,\n{$b}.ts\n'
    with pytest.raises(ParseError) as exc:
        hls.parse(text)
    assert exc.value.line == 4


def test_expansion_bomb_is_limited() -> None:
    value = "x" * 4000
    refs = "{$v}" * 4000
    text = f'#EXTM3U\n#EXT-X-DEFINE:NAME="v",VALUE="{value}"\n' + f"#EXTINF:1,\n{refs}\n" * 100
    with pytest.raises(LimitExceeded):
        hls.parse(text)


def test_edits_change_only_their_lines() -> None:
    pl = hls.parse(cases.LL_HLS)
    assert isinstance(pl, hls.MediaPlaylist)
    pl.segments[1].uri = "renamed.mp4"
    pl.segments[2].duration = 3.5
    assert pl.server_control is not None and pl.partial_segment is not None
    pl.server_control = dataclasses.replace(pl.server_control, hold_back=12.0)
    pl.preload_hints[0] = dataclasses.replace(pl.preload_hints[0], uri="next.mp4")
    pl.partial_segment.parts[0] = dataclasses.replace(pl.partial_segment.parts[0], independent=False)
    expected = (
        cases.LL_HLS.replace("fileSequence267.mp4", "renamed.mp4")
        .replace("#EXTINF:4.00008,\nfileSequence268", "#EXTINF:3.500,\nfileSequence268")
        .replace("CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0",
                 "CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,HOLD-BACK=12.0,PART-HOLD-BACK=1.0")
        .replace('URI="filePart273.3.mp4"', 'URI="next.mp4"')
        .replace('URI="filePart273.0.mp4",INDEPENDENT=YES', 'URI="filePart273.0.mp4"')
    )  # fmt: skip
    assert pl.dumps() == expected


def test_removals_and_additions() -> None:
    pl = hls.parse(cases.RFC_LIVE)
    assert isinstance(pl, hls.MediaPlaylist)
    del pl.segments[0]
    pl.media_sequence = 2681
    pl.segments.append(hls.Segment("https://priv.example.com/fileSequence2683.ts", 8.0))
    pl.independent_segments = True
    pl.endlist = True
    assert pl.dumps() == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:2681\n\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXTINF:7.941,\nhttps://priv.example.com/fileSequence2681.ts\n"
        "#EXTINF:7.975,\nhttps://priv.example.com/fileSequence2682.ts\n"
        "#EXTINF:8.000,\nhttps://priv.example.com/fileSequence2683.ts\n#EXT-X-ENDLIST\n"
    )


def test_built_from_scratch_is_canonical() -> None:
    pl = hls.MediaPlaylist(
        version=3, target_duration=2, media_sequence=5,
        segments=[
            hls.Segment("a.ts", 2.0, program_date_time=datetime(2024, 5, 6, 7, 8, 9, 10000, tzinfo=timezone.utc)),
            hls.Segment("b.ts", 1.234, discontinuity=True),
        ],
        endlist=True,
    )  # fmt: skip
    text = pl.dumps()
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n"
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-06T07:08:09.010Z\n#EXTINF:2.000,\na.ts\n"
        "#EXT-X-DISCONTINUITY\n#EXTINF:1.234,\nb.ts\n#EXT-X-ENDLIST\n"
    )
    assert hls.parse(text) == pl
    mv = hls.MultivariantPlaylist(
        variants=[hls.Variant(hls.StreamInf(1000, resolution=Resolution(2, 4), closed_captions=Enumerated("NONE")), "x")],
        media=[hls.Media("AUDIO", "a", "en", default=True)],
    )  # fmt: skip
    assert mv.dumps() == (
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",DEFAULT=YES\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=2x4,CLOSED-CAPTIONS=NONE\nx\n"
    )
    assert hls.parse(mv.dumps()) == mv


def test_merge_delta() -> None:
    full = hls.parse(cases.LL_HLS)
    delta = hls.parse(cases.LL_HLS_DELTA)
    assert isinstance(full, hls.MediaPlaylist) and isinstance(delta, hls.MediaPlaylist)
    assert delta.skip == hls.Skip(3)
    merged = hls.merge_delta(full, delta)
    assert merged.skip is None
    assert [s.uri for s in merged.segments] == [f"fileSequence{n}.mp4" for n in range(266, 273)]
    assert merged.segments[0].map == hls.Map("init.mp4")
    assert merged.partial_segment is not None and len(merged.partial_segment.parts) == 4
    assert hls.parse(merged.dumps()) == merged
    short = hls.parse(cases.LL_HLS.replace("#EXT-X-MEDIA-SEQUENCE:266", "#EXT-X-MEDIA-SEQUENCE:268"))
    assert isinstance(short, hls.MediaPlaylist)
    with pytest.raises(ProtocolError):
        hls.merge_delta(short, delta)


BAD = [
    ("not a playlist\n", 1),
    ("#EXTM3U\n#EXT-X-TARGETDURATION:x\n", 2),
    ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-TARGETDURATION:2\n", 3),
    ("#EXTM3U\n#EXTINF:2,\n#EXTINF:2,\na.ts\n", 3),
    ("#EXTM3U\na.ts\n", 2),
    ("#EXTM3U\n#EXTINF:abc,\na.ts\n", 2),
    ('#EXTM3U\n#EXT-X-KEY:URI="k"\n', 2),
    ("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,METHOD=NONE\n", 2),
    ('#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,IV=0xZZ\n', 2),
    ('#EXTM3U\n#EXT-X-MAP:URI=unquoted\n', 2),
    ("#EXTM3U\n#EXT-X-ENDLIST:YES\n", 2),
    ("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE\n", 2),
    ("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2024-13-01T00:00:00Z\n", 2),
    ("#EXTM3U\n#EXT-X-BYTERANGE:1@x\n", 2),
    ('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXTINF:1,\n', 3),
    ('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n', 2),
    ('#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\nx\n', 2),
    ('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="b",DEFAULT=MAYBE\n', 2),
    ('#EXTM3U\n#EXT-X-DEFINE:NAME="a b",VALUE="x"\n', 2),
    ('#EXTM3U\n#EXT-X-DEFINE:NAME="a",VALUE="x"\n#EXT-X-DEFINE:NAME="a",VALUE="y"\n', 3),
]


@pytest.mark.parametrize("text,line", BAD)
def test_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(ParseError) as exc:
        hls.parse(text)
    assert exc.value.line == line


def test_limits() -> None:
    with pytest.raises(LimitExceeded):
        hls.parse("#EXTM3U\n" + "#EXTINF:1,\na.ts\n" * 10, limits=hls.Limits(max_lines=5))
    with pytest.raises(LimitExceeded):
        hls.parse("#EXTM3U\n#" + "x" * 100 + "\n", limits=hls.Limits(max_line_length=50))
    with pytest.raises(ParseError):
        hls.parse(b"#EXTM3U\n\xff\n")


def test_merge_delta_carries_map_key_and_dateranges() -> None:
    previous = hls.parse(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-VERSION:9\n#EXT-X-MEDIA-SEQUENCE:10\n"
        '#EXT-X-MAP:URI="init.mp4"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery"\n'
        + "".join(f"#EXTINF:4,\ns{n}.mp4\n" for n in range(10, 16))
        + '#EXT-X-DATERANGE:ID="ad",START-DATE="2024-01-01T00:00:00Z"\n#EXTINF:4,\ns16.mp4\n'
    )
    delta = hls.parse(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-VERSION:9\n#EXT-X-MEDIA-SEQUENCE:12\n"
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXTINF:4,\ns15.mp4\n#EXTINF:4,\ns16.mp4\n#EXTINF:4,\ns17.mp4\n"
    )
    assert isinstance(previous, hls.MediaPlaylist) and isinstance(delta, hls.MediaPlaylist)
    merged = hls.merge_delta(previous, delta)
    assert [s.uri for s in merged.segments] == [f"s{n}.mp4" for n in range(12, 18)]
    assert merged.segments[0].map == hls.Map("init.mp4")
    assert merged.segments[0].keys[0].uri == "skd://k"
    assert [d.id for d in merged.segments[4].dateranges] == ["ad"]
