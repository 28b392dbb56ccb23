"""AMF0 encode/decode of a ``connect`` command and an ``onMetaData`` object, AMF3 round trips, and
FLV tag reading (file layer, and tags to frames) in MB/s.

Peer for AMF: PyAMF, as the ``py3amf`` package (a Python 3 port of PyAMF, which imports as
``pyamf`` and ships the ``cpyamf`` C extension); the original ``pyamf`` 0.8 does not build on
Python 3.11. No Python 3 FLV reader to compare with (``flvlib`` is Python 2 only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import Bench

from mediaproto.rtmp import amf0, amf3
from mediaproto.rtmp.amftypes import EcmaArray
from mediaproto.rtmp.flv import FlvReader, FlvTag, FlvWriter, MediaTagDecoder

try:
    import pyamf
except ImportError:  # pragma: no cover - peer not installed
    pyamf = None

CONNECT: list[Any] = [
    "connect",
    1.0,
    {
        "app": "live",
        "type": "nonprivate",
        "flashVer": "FMLE/3.0 (compatible; Lavf59.27.100)",
        "tcUrl": "rtmp://127.0.0.1:19350/live",
        "fpad": False,
        "capabilities": 15.0,
        "audioCodecs": 4071.0,
        "videoCodecs": 252.0,
        "videoFunction": 1.0,
        "objectEncoding": 0.0,
    },
]
METADATA_PROPS: dict[str, Any] = {
    "duration": 0.0, "width": 1920.0, "height": 1080.0, "videodatarate": 6000.0, "framerate": 60.0,
    "videocodecid": 7.0, "audiodatarate": 160.0, "audiosamplerate": 48000.0, "audiosamplesize": 16.0,
    "stereo": True, "audiocodecid": 10.0, "encoder": "obs-output module (libobs version 30.0.0)",
    "filesize": 0.0,
}
METADATA: list[Any] = ["@setDataFrame", "onMetaData", EcmaArray(METADATA_PROPS)]
CONNECT_BYTES = amf0.dumps_all(CONNECT)
METADATA_BYTES = amf0.dumps_all(METADATA)
AMF3_VALUE: Any = {"items": [{"id": i, "name": f"item{i % 10}", "score": i * 0.5} for i in range(50)]}
AMF3_BYTES = amf3.dumps(AMF3_VALUE)

_REF = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "ref.flv"
if _REF.is_file():
    FLV = _REF.read_bytes()
else:  # a synthetic file of the same shape where the vectors are absent
    FLV = FlvWriter().write_all(FlvTag(9 if i % 3 else 8, i * 20, 0, b"\x27\x01\x00\x00\x00" + bytes(600)) for i in range(300))


def _flv_read() -> None:
    reader = FlvReader()
    view = memoryview(FLV)
    for i in range(0, len(FLV), 4096):
        reader.feed(view[i : i + 4096])


def _flv_frames() -> None:
    reader = FlvReader()
    dec = MediaTagDecoder()
    for tag in reader.feed(FLV):
        dec.feed(tag.tag_type, tag.timestamp, tag.data)


def _peer_encode(values: list[Any]) -> Any:
    if pyamf is None:
        return None
    converted = [pyamf.MixedArray(v) if isinstance(v, EcmaArray) else v for v in values]
    return lambda: pyamf.encode(*converted, encoding=pyamf.AMF0).getvalue()


def _peer_decode(data: bytes) -> Any:
    if pyamf is None:
        return None
    return lambda: list(pyamf.decode(data, encoding=pyamf.AMF0))


def _peer_amf3(fn: str) -> Any:
    if pyamf is None:
        return None
    if fn == "encode":
        return lambda: pyamf.encode(AMF3_VALUE, encoding=pyamf.AMF3).getvalue()
    return lambda: list(pyamf.decode(AMF3_BYTES, encoding=pyamf.AMF3))


BENCHMARKS = [
    Bench("rtmp.amf0 encode connect", lambda: amf0.dumps_all(CONNECT), peer="pyamf",
          peer_run=_peer_encode(CONNECT), target=1.0),
    Bench("rtmp.amf0 decode connect", lambda: amf0.loads_all(CONNECT_BYTES), peer="pyamf",
          peer_run=_peer_decode(CONNECT_BYTES), target=1.0),
    Bench("rtmp.amf0 encode onMetaData", lambda: amf0.dumps_all(METADATA), peer="pyamf",
          peer_run=_peer_encode(METADATA), target=1.0),
    Bench("rtmp.amf0 decode onMetaData", lambda: amf0.loads_all(METADATA_BYTES), peer="pyamf",
          peer_run=_peer_decode(METADATA_BYTES), target=1.0),
    Bench("rtmp.amf3 encode 50 objects", lambda: amf3.dumps(AMF3_VALUE), peer="pyamf",
          peer_run=_peer_amf3("encode"), target=1.0),
    Bench("rtmp.amf3 decode 50 objects", lambda: amf3.loads(AMF3_BYTES), peer="pyamf",
          peer_run=_peer_amf3("decode"), target=1.0),
    Bench("rtmp.flv read tags (4 KB feeds)", _flv_read, work=len(FLV), unit="MB/s"),
    Bench("rtmp.flv tags -> frames", _flv_frames, work=len(FLV), unit="MB/s"),
]
