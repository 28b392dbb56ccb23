"""A TCP proxy for one RTSP peer and our server that records what passes, parsed by our own parser.

Every byte is forwarded unchanged both ways; a copy of each direction goes through
:class:`mediaproto.rtsp.message.MessageParser`, and the proxy keeps, with the monotonic time it saw
them: the requests (method, CSeq), the responses (status, CSeq, and the method of the request they
answer), and the interleaved frames: RTP counted per channel, RTCP parsed with
:func:`mediaproto.rtp.parse_compound`. Over UDP transport only the RTSP requests and responses pass
here (the media goes between the peers directly).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from mediaproto.errors import MediaProtoError
from mediaproto.rtp import parse_compound
from mediaproto.rtsp.message import InterleavedFrame, MessageParser, Request, Response

TO_SERVER, TO_CLIENT = "to_server", "to_client"


@dataclass
class Seen:
    """One thing that passed: ``kind`` is request, response, rtp, rtcp or error."""

    time: float
    direction: str
    kind: str
    method: str = ""
    status: int = 0
    cseq: int | None = None
    channel: int = -1
    packets: list[object] = field(default_factory=list)
    size: int = 0
    #: An RTP packet's timestamp (bytes 4-7), when it has a whole header.
    rtp_timestamp: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


class RtspProxy:
    """Listen on 127.0.0.1 (``self.port``) and forward each connection to ``127.0.0.1:target``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port: int = self.listener.getsockname()[1]
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self._closing = False
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self._closing = True
        for s in [self.listener, *self._sockets]:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self) -> RtspProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what passed ----------------------------------------------------------------------------
    def of(self, kind: str, direction: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.kind == kind and (direction is None or s.direction == direction)]

    def responses(self, method: str) -> list[int]:
        """Status codes of the responses to ``method`` requests."""
        return [s.status for s in self.of("response") if s.method == method]

    def wait_answered(self, method: str, timeout: float = 3.0) -> None:
        """Wait (at most ``timeout`` s) until every ``method`` request seen has its response: a
        peer may send a request and exit without waiting for the answer (FFmpeg's TEARDOWN is
        sent asynchronously), and the answer then passes here just after the peer is gone."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            asked = sum(1 for s in self.of("request") if s.method == method)
            if len(self.responses(method)) >= asked:
                return
            time.sleep(0.02)

    def request_time(self, method: str) -> float | None:
        got = [s.time for s in self.of("request") if s.method == method]
        return got[0] if got else None

    def response_time(self, method: str) -> float | None:
        got = [s.time for s in self.of("response") if s.method == method]
        return got[0] if got else None

    # -- forwarding -----------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._sockets += [client, server]
            methods: dict[int | None, str] = {}
            for src, dst, direction in ((client, server, TO_SERVER), (server, client, TO_CLIENT)):
                t = threading.Thread(target=self._pump, args=(src, dst, direction, methods), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str, methods: dict[int | None, str]) -> None:
        parser = MessageParser()
        broken = False
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            now = time.monotonic()
            if not broken:
                try:
                    events = parser.feed(data)
                except MediaProtoError as exc:
                    broken = True
                    events = []
                    self._add(Seen(now, direction, "error", method=str(exc)))
                for event in events:
                    self._record(event, now, direction, methods)
            try:
                dst.sendall(data)
            except OSError:
                return

    def _record(self, event: object, now: float, direction: str, methods: dict[int | None, str]) -> None:
        if isinstance(event, Request):
            methods[event.cseq] = event.method
            self._add(Seen(now, direction, "request", method=event.method, cseq=event.cseq,
                           headers={k.lower(): v for k, v in event.headers}))
        elif isinstance(event, Response):
            self._add(Seen(now, direction, "response", status=event.status_code, cseq=event.cseq,
                           method=methods.get(event.cseq, "?"), headers={k.lower(): v for k, v in event.headers}))
        elif isinstance(event, InterleavedFrame):
            if event.channel % 2 == 0:
                ts = int.from_bytes(event.data[4:8], "big") if len(event.data) >= 12 else None
                self._add(Seen(now, direction, "rtp", channel=event.channel, size=len(event.data), rtp_timestamp=ts))
            else:
                try:
                    packets: list[object] = list(parse_compound(event.data))
                except MediaProtoError as exc:
                    self._add(Seen(now, direction, "error", channel=event.channel, method=str(exc)))
                    return
                self._add(Seen(now, direction, "rtcp", channel=event.channel, packets=packets, size=len(event.data)))

    def _add(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)
