"""One naming across the packages: one ``Limits`` per package from one base, and the same verbs
(``feed(x) -> list``, ``flush() -> list``) on every incremental parser (docs/design.rst, "Errors and
limits" and "Verbs")."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import mediaproto
from mediaproto import errors, hls, mp4, mpegts, rtmp, rtp, rtsp, sdp
from mediaproto.errors import LimitExceeded, LocalProtocolError, ParseError
from mediaproto.media import Codec, Frame, Track
from mediaproto.rtmp import amf0, amf3, flvscript
from mediaproto.rtmp import message as rtmp_message
from mediaproto.rtp.payload import Depacketizer, depacketizer_for, packetizer_for
from mediaproto.testsrc import TestSource

#: The protocol packages and the one Limits each must export.
PACKAGES: dict[str, ModuleType] = {
    "mediaproto.rtmp": rtmp,
    "mediaproto.rtp": rtp,
    "mediaproto.sdp": sdp,
    "mediaproto.rtsp": rtsp,
    "mediaproto.mpegts": mpegts,
    "mediaproto.hls": hls,
    "mediaproto.mp4": mp4,
}

#: The layer that may use sockets and clocks lives elsewhere (and another set of rules applies).
_IO = ("mediaproto.aio", "mediaproto.server")
#: Packages being written, not yet held to it (none now).
_PENDING: tuple[str, ...] = ()


def _core_modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(mediaproto.__path__, "mediaproto.")]
    return [importlib.import_module(n) for n in ["mediaproto", *names] if not n.startswith(_IO + _PENDING)]


CORE = _core_modules()


def _package_of(module_name: str) -> str:
    return ".".join(module_name.split(".")[:2])


def _all_subclasses(cls: type) -> set[type]:
    """The live subclasses of ``cls`` (``dataclass(slots=True)`` replaces the class it decorates:
    the replaced one, still in ``__subclasses__`` until collected, is left out)."""
    out: set[type] = set()
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out and getattr(sys.modules.get(sub.__module__), sub.__qualname__, None) is sub:
                out.add(sub)
                todo.append(sub)
    return out


# -- Limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_each_package_exports_one_limits_from_the_base(name: str) -> None:
    pkg = PACKAGES[name]
    limits = pkg.Limits
    assert "Limits" in pkg.__all__
    assert issubclass(limits, errors.Limits) and limits is not errors.Limits
    assert limits.__module__.startswith(name + ".")
    assert dataclasses.is_dataclass(limits) and limits.__dataclass_params__.frozen  # type: ignore[attr-defined]
    defined_here = {c for c in _all_subclasses(errors.Limits) if _package_of(c.__module__) == name}
    assert defined_here == {limits}


def test_limits_subclasses_are_only_the_packages_ones() -> None:
    subclasses = {c for c in _all_subclasses(errors.Limits) if c.__module__.startswith("mediaproto.")}
    # a package outside PACKAGES (mp4, codecs ...) may add its own one Limits; none may have two
    per_package: dict[str, list[type]] = {}
    for c in subclasses:
        per_package.setdefault(_package_of(c.__module__), []).append(c)
    assert all(len(v) == 1 and v[0].__name__ == "Limits" for v in per_package.values()), per_package
    assert {PACKAGES[n].Limits for n in PACKAGES} <= subclasses


def test_no_other_name_for_a_limits_remains() -> None:
    """No ``AmfLimits``/``FlvLimits``/``PayloadLimits`` and no alias: every module-level name that
    holds a Limits class is ``Limits`` and is its package's (or, in errors, the base)."""
    bad = []
    for module in CORE:
        for attr, value in vars(module).items():
            is_limits = inspect.isclass(value) and issubclass(value, errors.Limits)
            if attr.endswith("Limits") and attr != "Limits":
                bad.append(f"{module.__name__}.{attr}")
            elif is_limits and value is not errors.Limits:
                package = _package_of(module.__name__)
                own = getattr(importlib.import_module(package), "Limits", None)
                if attr != "Limits" or value is not own:
                    bad.append(f"{module.__name__}.{attr} -> {value.__module__}.{value.__qualname__}")
            elif attr == "Limits" and module.__name__ != "mediaproto.errors" and not is_limits:
                bad.append(f"{module.__name__}.Limits is not a Limits")
    assert bad == []


def test_no_limits_alias_in_the_sources() -> None:
    root = Path(mediaproto.__file__).parent
    alias = re.compile(r"^\s*\w*Limits\s*=\s*\w+", re.M)
    found = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("aio/", "server/", "mp4/")):
            continue
        found += [f"{rel}: {m.group(0).strip()}" for m in alias.finditer(path.read_text())]
    assert found == []


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_limits_bounds_are_positive_ints(name: str) -> None:
    limits = PACKAGES[name].Limits
    value = limits()
    fields = dataclasses.fields(value)
    assert fields and all(f.name.startswith("max_") for f in fields)
    for f in fields:
        default = getattr(value, f.name)
        assert type(default) is int and default > 0
        for wrong in (0, -1, True, 1.5):
            with pytest.raises(LocalProtocolError, match=f.name):
                limits(**{f.name: wrong})
        assert getattr(limits(**{f.name: 1}), f.name) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, fields[0].name, 5)


def _limits_annotation(func: Any) -> Any:
    hints = typing.get_type_hints(func)
    return hints["limits"]


#: Every public parser, decoder and codec function that takes ``limits=``, and its package.
TAKES_LIMITS: list[tuple[Any, str]] = [
    (rtmp.ChunkDecoder.__init__, "mediaproto.rtmp"),
    (rtmp.FlvReader.__init__, "mediaproto.rtmp"),
    (rtmp.read_flv, "mediaproto.rtmp"),
    (amf0.loads, "mediaproto.rtmp"),
    (amf0.loads_all, "mediaproto.rtmp"),
    (amf3.loads, "mediaproto.rtmp"),
    (amf3.loads_all, "mediaproto.rtmp"),
    (amf3.Decoder.__init__, "mediaproto.rtmp"),
    (flvscript.parse_script, "mediaproto.rtmp"),
    (rtmp_message.parse_command, "mediaproto.rtmp"),
    (rtmp_message.parse_data, "mediaproto.rtmp"),
    (rtp.JitterBuffer.__init__, "mediaproto.rtp"),
    (depacketizer_for, "mediaproto.rtp"),
    *[(cls.__init__, "mediaproto.rtp") for cls in sorted(_all_subclasses(Depacketizer), key=lambda c: c.__name__)],
    (sdp.parse, "mediaproto.sdp"),
    (rtsp.MessageParser.__init__, "mediaproto.rtsp"),
    (mpegts.Demuxer.__init__, "mediaproto.mpegts"),
    (mpegts.SectionAssembler.__init__, "mediaproto.mpegts"),
    (hls.parse, "mediaproto.hls"),
]


@pytest.mark.parametrize("func, package", TAKES_LIMITS, ids=lambda x: getattr(x, "__qualname__", str(x)))
def test_parsers_take_their_packages_limits(func: Any, package: str) -> None:
    assert "limits" in inspect.signature(func).parameters
    annotation = _limits_annotation(func)
    own = PACKAGES[package].Limits
    assert annotation in (own, own | None)


# -- verbs -------------------------------------------------------------------------------------


def _classes() -> list[type]:
    out = []
    for module in CORE:
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                out.append(value)
    return out


def _returns_list(func: Any) -> bool:
    ret = typing.get_type_hints(func).get("return")
    return ret is list or typing.get_origin(ret) is list


def test_every_feed_has_a_flush_and_both_return_lists() -> None:
    bad = []
    for cls in _classes():
        feed = getattr(cls, "feed", None)
        flush = getattr(cls, "flush", None)
        if feed is not None and flush is None:
            bad.append(f"{cls.__module__}.{cls.__qualname__} has feed() but no flush()")
        for name, method in (("feed", feed), ("flush", flush)):
            if method is not None and not _returns_list(method):
                bad.append(f"{cls.__module__}.{cls.__qualname__}.{name} does not return a list")
    assert bad == []


def test_no_other_verb_for_incremental_input() -> None:
    """``push`` is left only to the jitter buffer (a queue driven by time, with ``pop``); ``end``
    and a ``close`` on a parser are gone (``flush`` ends the input)."""
    bad = []
    for cls in _classes():
        for verb in ("push", "end", "close"):
            if inspect.isfunction(vars(cls).get(verb)) and cls is not rtp.JitterBuffer:
                bad.append(f"{cls.__module__}.{cls.__qualname__}.{verb}")
    assert bad == []
    assert callable(rtp.JitterBuffer.push) and callable(rtp.JitterBuffer.pop)


def test_encoders_do_not_flush_bytes() -> None:
    assert not hasattr(mpegts.Muxer, "flush")
    assert typing.get_type_hints(mpegts.Muxer.drain)["return"] is bytes
    assert typing.get_type_hints(mpegts.Muxer.mux)["return"] is bytes


# Each incremental parser, driven with real input: feed and flush return lists of what they make.

_SOURCE = TestSource()
_FRAMES = _SOURCE.frames_until(1.0)


def _flv_bytes() -> bytes:
    encoder = rtmp.MediaTagEncoder(_SOURCE.tracks)
    tags = [rtmp.FlvTag(t, ts, 0, body) for t, ts, body in encoder.sequence_headers()]
    for frame in _FRAMES:
        tag_type, ts, body = encoder.encode(frame)
        tags.append(rtmp.FlvTag(tag_type, ts, 0, body))
    return rtmp.FlvWriter().write_all(tags)


def test_flv_reader_and_tag_decoder() -> None:
    data = _flv_bytes()
    reader = rtmp.FlvReader()
    tags = reader.feed(data[:100]) + reader.feed(data[100:])
    rest = reader.flush()
    assert isinstance(rest, list) and rest == []
    assert tags and all(isinstance(t, rtmp.FlvTag) for t in tags)
    decoder = rtmp.MediaTagDecoder()
    items: list[Any] = []
    for t in tags:
        out = decoder.feed(t.tag_type, t.timestamp, t.data)
        assert isinstance(out, list)
        items += out
    assert decoder.flush() == []
    assert all(isinstance(i, (Track, Frame)) for i in items)


def test_flv_reader_flush_reports_a_cut() -> None:
    data = _flv_bytes()
    reader = rtmp.FlvReader()
    reader.feed(data[:-20])
    with pytest.raises(ParseError) as info:
        reader.flush()
    assert info.value.offset is not None


def test_chunk_decoder() -> None:
    message = rtmp.Message(4, 9, 1, 1000, bytes(range(256)) * 4)
    wire = rtmp.ChunkEncoder(128).encode(message)
    decoder = rtmp.ChunkDecoder()
    got = decoder.feed(wire[:7]) + decoder.feed(wire[7:])
    assert got == [message]
    assert decoder.flush() == []
    cut = rtmp.ChunkDecoder()
    assert cut.feed(wire[:-1]) == []
    with pytest.raises(ParseError):
        cut.flush()


def test_rtsp_message_parser() -> None:
    raw = b"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n$\x00\x00\x02ab"
    parser = rtsp.MessageParser()
    events = parser.feed(raw[:10]) + parser.feed(raw[10:])
    assert [type(e) for e in events] == [rtsp.Request, rtsp.InterleavedFrame]
    assert parser.flush() == []
    cut = rtsp.MessageParser()
    cut.feed(raw[:20])
    with pytest.raises(ParseError):
        cut.flush()


def test_depacketizers() -> None:
    assert {t.codec for t in _SOURCE.tracks} == {Codec.H264, Codec.AAC}
    for track in _SOURCE.tracks:
        packetizer = packetizer_for(track, 96, ssrc=1)
        depacketizer = depacketizer_for(track)
        frames: list[Frame] = []
        for frame in _FRAMES:
            if frame.track_id == track.id:
                for packet in packetizer.packetize(frame):
                    out = depacketizer.feed(packet)
                    assert isinstance(out, list)
                    frames += out
        rest = depacketizer.flush()
        assert isinstance(rest, list)
        assert all(isinstance(f, Frame) for f in frames + rest)
        assert len(frames + rest) == sum(1 for f in _FRAMES if f.track_id == track.id)


def test_demuxer_and_section_assembler() -> None:
    muxer = mpegts.Muxer(_SOURCE.tracks)
    ts = b"".join(muxer.mux(f) for f in _FRAMES) + muxer.drain()
    demuxer = mpegts.Demuxer()
    events = demuxer.feed(ts)
    rest = demuxer.flush()
    assert isinstance(events, list) and isinstance(rest, list)
    frames = [e for e in events + rest if isinstance(e, mpegts.FrameReceived)]
    assert len(frames) == len(_FRAMES)
    assembler = mpegts.SectionAssembler()
    assert assembler.flush() == []


def test_segmenter() -> None:
    segmenter = hls.Segmenter(_SOURCE.tracks, target_duration=0.5)
    events: list[Any] = []
    for frame in _FRAMES:
        out = segmenter.feed(frame)
        assert isinstance(out, list)
        events += out
    last = segmenter.flush()
    assert isinstance(last, list) and isinstance(last[-1], hls.PlaylistChanged)
    assert "#EXT-X-ENDLIST" in last[-1].text
    assert segmenter.flush() == []
    with pytest.raises(LocalProtocolError):
        segmenter.feed(_FRAMES[0])


def test_limits_bite_through_the_package_value() -> None:
    """The one value reaches every parser of its package: each bound is enforced where it belongs."""
    small = rtmp.Limits(max_amf_depth=3, max_flv_tag_size=10, max_message_size=10)
    with pytest.raises(LimitExceeded):
        amf0.loads(amf0.dumps([[[[1.0]]]]), limits=small)
    with pytest.raises(LimitExceeded):
        rtmp.FlvReader(small).feed(_flv_bytes())
    with pytest.raises(LimitExceeded):
        rtmp.ChunkDecoder(small).feed(rtmp.ChunkEncoder(128).encode(rtmp.Message(4, 9, 1, 0, b"x" * 11)))
