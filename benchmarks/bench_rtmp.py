"""RTMP chunk stream: decode and encode of 20 KB video messages at chunk sizes 128 and 4096.

The peer is pyrtmp (its asyncio chunk reader, fed from a ``StreamReader``, and its
``Chunk.to_raw_chunks`` writer). pyrtmp 0.3.1 pins ``bitstring<4.2`` while this project runs with
bitstring 5; when ``import pyrtmp`` fails for that reason, the benchmark loads pyrtmp and its own
bitstring from a side folder made with ``pip install --target DIR pyrtmp`` (``DIR`` from
``MEDIAPROTO_PYRTMP_PATH``, default ``/tmp/mediaproto-peers``) without disturbing the bitstring the
rest of the process uses.

Linearity: the ``x10`` benchmarks decode ten times as many messages; their MB/s should match the
1x ones.
"""

from __future__ import annotations

import asyncio
import os
import sys
from types import ModuleType
from typing import Any, Callable

from harness import Bench

from mediaproto.rtmp.chunk import ChunkDecoder, ChunkEncoder, Message

MESSAGE_SIZE = 20_000
COUNT = 100
READ_SIZE = 65536


def _messages(n: int) -> list[Message]:
    return [Message(6, 9, 1, i * 40, bytes([i % 251]) * MESSAGE_SIZE) for i in range(n)]


def _stream(chunk_size: int, n: int) -> bytes:
    enc = ChunkEncoder(chunk_size)
    return b"".join(enc.encode(m) for m in _messages(n))


def _load_pyrtmp() -> Any:
    try:
        import pyrtmp.session_manager as sm  # noqa: F401

        return sm
    except ImportError:
        pass
    path = os.environ.get("MEDIAPROTO_PYRTMP_PATH", "/tmp/mediaproto-peers")
    if not os.path.isdir(os.path.join(path, "pyrtmp")):
        return None

    def ours(name: str) -> bool:
        return name.split(".")[0] in ("bitstring", "bitarray", "pyrtmp")

    saved = {k: v for k, v in sys.modules.items() if ours(k)}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, path)
    try:
        import pyrtmp.messages as pm
        import pyrtmp.session_manager as sm

        mod: Any = ModuleType("pyrtmp_peer")
        mod.SessionManager = sm.SessionManager
        mod.Chunk = pm.Chunk
        return mod
    except Exception:
        return None
    finally:
        # Last on the path from now on: the peer's bitstring imports bitarray lazily, and only
        # the peers' folder has it (our own bitstring comes first).
        sys.path.remove(path)
        sys.path.append(path)
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


_PEER = _load_pyrtmp()


def _decode(data: bytes, chunk_size: int) -> Callable[[], object]:
    def run() -> int:
        dec = ChunkDecoder()
        dec.chunk_size = chunk_size
        n = 0
        for i in range(0, len(data), READ_SIZE):
            n += len(dec.feed(data[i : i + READ_SIZE]))
        assert n * MESSAGE_SIZE * 10 >= len(data) * 9
        return n

    return run


def _encode(chunk_size: int, n: int) -> Callable[[], object]:
    msgs = _messages(n)

    def run() -> int:
        enc = ChunkEncoder(chunk_size)
        return sum(len(enc.encode(m)) for m in msgs)

    return run


def _peer_decode(data: bytes, chunk_size: int, n: int) -> Callable[[], object] | None:
    if _PEER is None:
        return None

    async def read() -> int:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        session = _PEER.SessionManager(reader=reader, writer=None, reader_chunk_size=chunk_size)
        got = 0
        async for _chunk in session.read_chunks_from_stream():
            got += 1
            if got == n:
                break
        return got

    def run() -> int:
        return asyncio.run(read())

    return run


def _peer_encode(chunk_size: int, n: int) -> Callable[[], object] | None:
    if _PEER is None:
        return None
    chunks = [_PEER.Chunk(chunk_id=6, chunk_type=0, timestamp=m.timestamp, msg_length=len(m.payload), msg_type_id=9,
                          msg_stream_id=1, payload=m.payload) for m in _messages(n)]

    def run() -> int:
        total = 0
        for c in chunks:
            for raw in c.to_raw_chunks(chunk_size):
                total += len(raw.to_bytes())
        return total

    return run


def _benchmarks() -> list[Bench]:
    out = []
    for cs in (128, 4096):
        data = _stream(cs, COUNT)
        out.append(Bench(f"rtmp.chunk decode 20KB video @{cs}", _decode(data, cs), work=len(data), unit="MB/s",
                         peer="pyrtmp", peer_run=_peer_decode(data, cs, COUNT), target=30.0 if cs == 128 else None))
        big = _stream(cs, COUNT * 10)
        out.append(Bench(f"rtmp.chunk decode 20KB video @{cs} x10 input", _decode(big, cs), work=len(big),
                         unit="MB/s"))
        out.append(Bench(f"rtmp.chunk encode 20KB video @{cs}", _encode(cs, COUNT), work=len(data), unit="MB/s",
                         peer="pyrtmp", peer_run=_peer_encode(cs, COUNT)))
    capture = _capture()
    if capture:
        n = len(ChunkDecoder().feed(capture))
        out.append(Bench("rtmp.chunk decode FFmpeg publish capture @128", _decode_any(capture), work=len(capture),
                         unit="MB/s", peer="pyrtmp", peer_run=_peer_decode(capture, 128, n)))
    return out


def _capture() -> bytes:
    """FFmpeg publishing ref.flv (interleaved audio and video, chunk size 128), after the handshake."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "rtmp-ffmpeg-publish.c2s.bin"
    return path.read_bytes()[3073:] if path.is_file() else b""


def _decode_any(data: bytes) -> Callable[[], object]:
    def run() -> int:
        dec = ChunkDecoder()
        return sum(len(dec.feed(data[i : i + READ_SIZE])) for i in range(0, len(data), READ_SIZE))

    return run


BENCHMARKS = _benchmarks()
