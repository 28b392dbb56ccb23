"""HLS: m3u8 playlists (RFC 8216 and its successor draft, LL-HLS included) and a live segmenter.

::

    from mediaproto import hls
    playlist = hls.parse(text)          # MediaPlaylist or MultivariantPlaylist
    assert playlist.dumps() == text     # byte-exact for well-formed input

See :mod:`mediaproto.hls.playlist`, :mod:`mediaproto.hls.multivariant`, :mod:`mediaproto.hls.tags`
and :mod:`mediaproto.hls.segmenter`.
"""

from .attributes import Enumerated, Resolution
from .lines import Limits
from .multivariant import MultivariantPlaylist, Variant
from .delta import merge_delta
from .playlist import MediaPlaylist, Segment, parse, parse_media
from .segmenter import PartReady, PlaylistChanged, SegmentReady, Segmenter, SegmenterEvent, SegmentRemoved
from .tags import (
    ByteRange,
    ContentSteering,
    DateRange,
    Define,
    IFrameStreamInf,
    Key,
    Map,
    Media,
    PartialSegment,
    PartInf,
    PreloadHint,
    RenditionReport,
    ServerControl,
    SessionData,
    SessionKey,
    Skip,
    Start,
    StreamInf,
)

__all__ = [
    "parse",
    "parse_media",
    "merge_delta",
    "Limits",
    "Segmenter",
    "SegmenterEvent",
    "SegmentReady",
    "PartReady",
    "SegmentRemoved",
    "PlaylistChanged",
    "MediaPlaylist",
    "MultivariantPlaylist",
    "Segment",
    "Variant",
    "StreamInf",
    "IFrameStreamInf",
    "Media",
    "SessionData",
    "SessionKey",
    "ContentSteering",
    "Key",
    "Map",
    "DateRange",
    "ByteRange",
    "PartialSegment",
    "PartInf",
    "ServerControl",
    "PreloadHint",
    "RenditionReport",
    "Skip",
    "Start",
    "Define",
    "Resolution",
    "Enumerated",
]
