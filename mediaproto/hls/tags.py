"""The typed values of the tags that carry attribute lists (RFC 8216 section 4.4 and its successor).

Each is a frozen dataclass whose fields are the RFC's attribute names in snake_case; attributes a
table does not know are kept in ``extra_attributes``. ``Tag.parse(attribute_list)`` and
``value.dumps()`` convert one tag line's value (the text after the colon); the playlist module
handles whole lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, TypeVar

from ..errors import ParseError
from .attributes import (
    BOOL,
    ENUM,
    FLOAT,
    HEX,
    INT,
    QUOTED,
    QUOTED_OR_ENUM,
    RES,
    SFLOAT,
    Attr,
    Resolution,
    Schema,
    decode,
    encode,
    format_float,
)

__all__ = [
    "ByteRange",
    "Key",
    "SessionKey",
    "Map",
    "DateRange",
    "ServerControl",
    "PartInf",
    "PartialSegment",
    "PreloadHint",
    "RenditionReport",
    "Skip",
    "Start",
    "Define",
    "Media",
    "StreamInf",
    "IFrameStreamInf",
    "SessionData",
    "ContentSteering",
]

T = TypeVar("T", bound="_AttrTag")

#: format_float's answers for the part durations seen last (a playlist repeats a few of them).
_FLOATS: dict[float, str] = {}


def _float_text(value: float) -> str:
    text = _FLOATS.get(value)
    if text is None:
        text = format_float(value)
        if value > 0:
            if len(_FLOATS) >= 1024:
                _FLOATS.clear()
            _FLOATS[value] = text
    return text

Subst = Callable[[str, "int | None"], str]


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``<n>[@<o>]``: a sub-range of ``length`` bytes at ``offset`` (``None``: after the previous one)."""

    length: int
    offset: int | None = None

    @classmethod
    def parse(cls, text: str, line: int | None = None) -> ByteRange:
        """Parse ``n[@o]``."""
        n, at, o = text.partition("@")
        if not n.isdigit() or not n.isascii() or (at and (not o.isdigit() or not o.isascii())):
            raise ParseError(f"malformed byte range {text[:60]!r}", line=line)
        if len(n) > 20 or len(o) > 20:
            raise ParseError("byte range out of range", line=line)
        return cls(int(n), int(o) if at else None)

    def __str__(self) -> str:
        return str(self.length) if self.offset is None else f"{self.length}@{self.offset}"


class _AttrTag:
    """Shared parse/dumps of the attribute-list tags (mixed into the dataclasses below)."""

    __slots__ = ()
    TAG: ClassVar[str]
    SCHEMA: ClassVar[Schema]

    @classmethod
    def parse(cls: type[T], text: str, line: int | None = None, subst: Subst | None = None) -> T:
        """Parse the attribute list of this tag (the text after ``TAG:``)."""
        kwargs = decode(cls.SCHEMA, text, line, subst)
        return cls._build(kwargs, line)

    @classmethod
    def _build(cls: type[T], kwargs: dict[str, Any], line: int | None) -> T:
        for key in ("byterange", "map_byterange"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = ByteRange.parse(kwargs[key], line)
        return cls(**kwargs)

    def dumps(self) -> str:
        """The canonical tag line, ``#TAG:ATTR=...``."""
        return f"{self.TAG}:{encode(self.SCHEMA, self)}"


_KEY_ATTRS = [
    Attr("METHOD", "method", ENUM, True),
    Attr("URI", "uri", QUOTED),
    Attr("IV", "iv", HEX),
    Attr("KEYFORMAT", "keyformat", QUOTED),
    Attr("KEYFORMATVERSIONS", "keyformatversions", QUOTED),
]


@dataclass(frozen=True, slots=True)
class Key(_AttrTag):
    """EXT-X-KEY: how the following media segments are encrypted (``method`` NONE, AES-128, ...)."""

    TAG: ClassVar[str] = "#EXT-X-KEY"
    SCHEMA: ClassVar[Schema] = Schema("EXT-X-KEY", _KEY_ATTRS)
    method: str
    uri: str | None = None
    iv: bytes | None = None
    keyformat: str | None = None
    keyformatversions: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SessionKey(_AttrTag):
    """EXT-X-SESSION-KEY: a key of the variants, announced in the multivariant playlist."""

    TAG: ClassVar[str] = "#EXT-X-SESSION-KEY"
    SCHEMA: ClassVar[Schema] = Schema("EXT-X-SESSION-KEY", _KEY_ATTRS)
    method: str
    uri: str | None = None
    iv: bytes | None = None
    keyformat: str | None = None
    keyformatversions: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Map(_AttrTag):
    """EXT-X-MAP: the Media Initialization Section (e.g. an fMP4 ``init.mp4``)."""

    TAG: ClassVar[str] = "#EXT-X-MAP"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-MAP", [Attr("URI", "uri", QUOTED, True), Attr("BYTERANGE", "byterange", QUOTED)]
    )
    uri: str
    byterange: ByteRange | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class DateRange(_AttrTag):
    """EXT-X-DATERANGE: a range of time with attributes (ad breaks, SCTE-35, chapters)."""

    TAG: ClassVar[str] = "#EXT-X-DATERANGE"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-DATERANGE",
        [
            Attr("ID", "id", QUOTED, True),
            Attr("CLASS", "class_", QUOTED),
            Attr("START-DATE", "start_date", QUOTED),
            Attr("CUE", "cue", QUOTED),
            Attr("END-DATE", "end_date", QUOTED),
            Attr("DURATION", "duration", FLOAT),
            Attr("PLANNED-DURATION", "planned_duration", FLOAT),
            Attr("SCTE35-CMD", "scte35_cmd", HEX),
            Attr("SCTE35-OUT", "scte35_out", HEX),
            Attr("SCTE35-IN", "scte35_in", HEX),
            Attr("END-ON-NEXT", "end_on_next", BOOL),
        ],
        client=True,
    )
    id: str
    class_: str | None = None
    start_date: str | None = None
    cue: str | None = None
    end_date: str | None = None
    duration: float | None = None
    planned_duration: float | None = None
    scte35_cmd: bytes | None = None
    scte35_out: bytes | None = None
    scte35_in: bytes | None = None
    end_on_next: bool = False
    #: the ``X-<client-attribute>`` attributes, typed by their syntax (str, bytes or float)
    client_attributes: tuple[tuple[str, str | bytes | float], ...] = ()
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ServerControl(_AttrTag):
    """EXT-X-SERVER-CONTROL: what the server supports (blocking reload, delta updates, hold back)."""

    TAG: ClassVar[str] = "#EXT-X-SERVER-CONTROL"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-SERVER-CONTROL",
        [
            Attr("CAN-BLOCK-RELOAD", "can_block_reload", BOOL),
            Attr("CAN-SKIP-UNTIL", "can_skip_until", FLOAT),
            Attr("CAN-SKIP-DATERANGES", "can_skip_dateranges", BOOL),
            Attr("HOLD-BACK", "hold_back", FLOAT),
            Attr("PART-HOLD-BACK", "part_hold_back", FLOAT),
        ],
    )
    can_block_reload: bool = False
    can_skip_until: float | None = None
    can_skip_dateranges: bool = False
    hold_back: float | None = None
    part_hold_back: float | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PartInf(_AttrTag):
    """EXT-X-PART-INF: the Part Target Duration of an LL-HLS playlist."""

    TAG: ClassVar[str] = "#EXT-X-PART-INF"
    SCHEMA: ClassVar[Schema] = Schema("EXT-X-PART-INF", [Attr("PART-TARGET", "part_target", FLOAT, True)])
    part_target: float
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PartialSegment(_AttrTag):
    """EXT-X-PART: one Partial Segment of an LL-HLS playlist."""

    TAG: ClassVar[str] = "#EXT-X-PART"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-PART",
        [
            Attr("DURATION", "duration", FLOAT, True),
            Attr("URI", "uri", QUOTED, True),
            Attr("INDEPENDENT", "independent", BOOL),
            Attr("BYTERANGE", "byterange", QUOTED),
            Attr("GAP", "gap", BOOL),
        ],
    )
    duration: float
    uri: str
    independent: bool = False
    byterange: ByteRange | None = None
    gap: bool = False
    extra_attributes: tuple[tuple[str, str], ...] = ()

    def dumps(self) -> str:
        """The canonical tag line; the common part (duration, URI, maybe INDEPENDENT) written
        directly, the same text as the schema's encoding (the playlist writer's hot path)."""
        independent = self.independent
        if (self.byterange is None and self.gap is False and not self.extra_attributes
                and (independent is True or independent is False) and type(self.duration) is float):
            text = f'#EXT-X-PART:DURATION={_float_text(self.duration)},URI="{self.uri}"'
            return text + ",INDEPENDENT=YES" if independent else text
        return f"{self.TAG}:{encode(self.SCHEMA, self)}"


@dataclass(frozen=True, slots=True)
class PreloadHint(_AttrTag):
    """EXT-X-PRELOAD-HINT: a resource (``type`` PART or MAP) the client may request early."""

    TAG: ClassVar[str] = "#EXT-X-PRELOAD-HINT"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-PRELOAD-HINT",
        [
            Attr("TYPE", "type", ENUM, True),
            Attr("URI", "uri", QUOTED, True),
            Attr("BYTERANGE-START", "byterange_start", INT),
            Attr("BYTERANGE-LENGTH", "byterange_length", INT),
        ],
    )
    type: str
    uri: str
    byterange_start: int | None = None
    byterange_length: int | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RenditionReport(_AttrTag):
    """EXT-X-RENDITION-REPORT: the last segment and part of another rendition."""

    TAG: ClassVar[str] = "#EXT-X-RENDITION-REPORT"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-RENDITION-REPORT",
        [Attr("URI", "uri", QUOTED), Attr("LAST-MSN", "last_msn", INT), Attr("LAST-PART", "last_part", INT)],
    )
    uri: str | None = None
    last_msn: int | None = None
    last_part: int | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Skip(_AttrTag):
    """EXT-X-SKIP: a delta update left out ``skipped_segments`` segments (see ``merge_delta``)."""

    TAG: ClassVar[str] = "#EXT-X-SKIP"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-SKIP",
        [
            Attr("SKIPPED-SEGMENTS", "skipped_segments", INT, True),
            Attr("RECENTLY-REMOVED-DATERANGES", "recently_removed_dateranges", QUOTED),
        ],
    )
    skipped_segments: int
    #: the tab-separated IDs of EXT-X-DATERANGE tags removed since the last update
    recently_removed_dateranges: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Start(_AttrTag):
    """EXT-X-START: where to start playing (a negative ``time_offset`` counts from the end)."""

    TAG: ClassVar[str] = "#EXT-X-START"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-START", [Attr("TIME-OFFSET", "time_offset", SFLOAT, True), Attr("PRECISE", "precise", BOOL)]
    )
    time_offset: float
    precise: bool = False
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Define(_AttrTag):
    """EXT-X-DEFINE: a variable, by ``name``/``value``, ``import`` (from the multivariant playlist)
    or ``queryparam`` (from the playlist URI's query)."""

    TAG: ClassVar[str] = "#EXT-X-DEFINE"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-DEFINE",
        [
            Attr("NAME", "name", QUOTED),
            Attr("VALUE", "value", QUOTED),
            Attr("IMPORT", "import_", QUOTED),
            Attr("QUERYPARAM", "queryparam", QUOTED),
        ],
    )
    name: str | None = None
    value: str | None = None
    import_: str | None = None
    queryparam: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Media(_AttrTag):
    """EXT-X-MEDIA: an alternative rendition (audio, video, subtitles, closed captions)."""

    TAG: ClassVar[str] = "#EXT-X-MEDIA"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-MEDIA",
        [
            Attr("TYPE", "type", ENUM, True),
            Attr("URI", "uri", QUOTED),
            Attr("GROUP-ID", "group_id", QUOTED, True),
            Attr("LANGUAGE", "language", QUOTED),
            Attr("ASSOC-LANGUAGE", "assoc_language", QUOTED),
            Attr("NAME", "name", QUOTED, True),
            Attr("STABLE-RENDITION-ID", "stable_rendition_id", QUOTED),
            Attr("DEFAULT", "default", BOOL),
            Attr("AUTOSELECT", "autoselect", BOOL),
            Attr("FORCED", "forced", BOOL),
            Attr("INSTREAM-ID", "instream_id", QUOTED),
            Attr("BIT-DEPTH", "bit_depth", INT),
            Attr("SAMPLE-RATE", "sample_rate", INT),
            Attr("CHARACTERISTICS", "characteristics", QUOTED),
            Attr("CHANNELS", "channels", QUOTED),
        ],
    )
    type: str
    group_id: str
    name: str
    uri: str | None = None
    language: str | None = None
    assoc_language: str | None = None
    stable_rendition_id: str | None = None
    default: bool = False
    autoselect: bool = False
    forced: bool = False
    instream_id: str | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None
    characteristics: str | None = None
    channels: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


_VARIANT_ATTRS = [
    Attr("BANDWIDTH", "bandwidth", INT, True),
    Attr("AVERAGE-BANDWIDTH", "average_bandwidth", INT),
    Attr("SCORE", "score", FLOAT),
    Attr("CODECS", "codecs", QUOTED),
    Attr("SUPPLEMENTAL-CODECS", "supplemental_codecs", QUOTED),
    Attr("RESOLUTION", "resolution", RES),
    Attr("FRAME-RATE", "frame_rate", FLOAT),
    Attr("HDCP-LEVEL", "hdcp_level", ENUM),
    Attr("ALLOWED-CPC", "allowed_cpc", QUOTED),
    Attr("VIDEO-RANGE", "video_range", ENUM),
    Attr("REQ-VIDEO-LAYOUT", "req_video_layout", QUOTED),
    Attr("STABLE-VARIANT-ID", "stable_variant_id", QUOTED),
    Attr("PROGRAM-ID", "program_id", INT),
    Attr("AUDIO", "audio", QUOTED),
    Attr("VIDEO", "video", QUOTED),
    Attr("SUBTITLES", "subtitles", QUOTED),
    Attr("CLOSED-CAPTIONS", "closed_captions", QUOTED_OR_ENUM),
    Attr("PATHWAY-ID", "pathway_id", QUOTED),
]


@dataclass(frozen=True, slots=True)
class StreamInf(_AttrTag):
    """EXT-X-STREAM-INF: the attributes of a variant stream (its URI is the next line)."""

    TAG: ClassVar[str] = "#EXT-X-STREAM-INF"
    SCHEMA: ClassVar[Schema] = Schema("EXT-X-STREAM-INF", _VARIANT_ATTRS)
    bandwidth: int
    average_bandwidth: int | None = None
    score: float | None = None
    codecs: str | None = None
    supplemental_codecs: str | None = None
    resolution: Resolution | None = None
    frame_rate: float | None = None
    hdcp_level: str | None = None
    allowed_cpc: str | None = None
    video_range: str | None = None
    req_video_layout: str | None = None
    stable_variant_id: str | None = None
    program_id: int | None = None
    audio: str | None = None
    video: str | None = None
    subtitles: str | None = None
    #: a GROUP-ID, or ``Enumerated("NONE")``
    closed_captions: str | None = None
    pathway_id: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class IFrameStreamInf(_AttrTag):
    """EXT-X-I-FRAME-STREAM-INF: a playlist of I-frames (for trick play)."""

    TAG: ClassVar[str] = "#EXT-X-I-FRAME-STREAM-INF"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-I-FRAME-STREAM-INF",
        [Attr("URI", "uri", QUOTED, True)]
        + [a for a in _VARIANT_ATTRS if a.name not in ("FRAME-RATE", "AUDIO", "SUBTITLES", "CLOSED-CAPTIONS")],
    )
    uri: str
    bandwidth: int
    average_bandwidth: int | None = None
    score: float | None = None
    codecs: str | None = None
    supplemental_codecs: str | None = None
    resolution: Resolution | None = None
    hdcp_level: str | None = None
    allowed_cpc: str | None = None
    video_range: str | None = None
    req_video_layout: str | None = None
    stable_variant_id: str | None = None
    program_id: int | None = None
    video: str | None = None
    pathway_id: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SessionData(_AttrTag):
    """EXT-X-SESSION-DATA: arbitrary session data (a ``value`` or a JSON/RAW ``uri``)."""

    TAG: ClassVar[str] = "#EXT-X-SESSION-DATA"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-SESSION-DATA",
        [
            Attr("DATA-ID", "data_id", QUOTED, True),
            Attr("VALUE", "value", QUOTED),
            Attr("URI", "uri", QUOTED),
            Attr("FORMAT", "format", ENUM),
            Attr("LANGUAGE", "language", QUOTED),
        ],
    )
    data_id: str
    value: str | None = None
    uri: str | None = None
    format: str | None = None
    language: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ContentSteering(_AttrTag):
    """EXT-X-CONTENT-STEERING: the Content Steering server and the initial pathway."""

    TAG: ClassVar[str] = "#EXT-X-CONTENT-STEERING"
    SCHEMA: ClassVar[Schema] = Schema(
        "EXT-X-CONTENT-STEERING",
        [Attr("SERVER-URI", "server_uri", QUOTED, True), Attr("PATHWAY-ID", "pathway_id", QUOTED)],
    )
    server_uri: str
    pathway_id: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()
