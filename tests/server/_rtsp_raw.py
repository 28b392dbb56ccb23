"""A plain-socket RTSP 1.0 client over TCP interleaved (RFC 2326), read with our own
:class:`mediaproto.rtsp.message.MessageParser`: one request at a time; the interleaved frames
that arrive meanwhile are counted and kept per channel."""

from __future__ import annotations

import socket
import time

from mediaproto.rtsp.message import InterleavedFrame, MessageParser, Response


class RawRtspClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = MessageParser()
        self.cseq = 0
        self.session: str | None = None
        #: Interleaved frames received, and their data per channel.
        self.frames = 0
        self.packets: dict[int, list[bytes]] = {}

    def _take(self, data: bytes) -> Response | None:
        """Feed ``data``: keep its frames; the answer to the latest request, if it is in it."""
        answer = None
        for event in self.parser.feed(data):
            if isinstance(event, InterleavedFrame):
                self.frames += 1
                self.packets.setdefault(event.channel, []).append(event.data)
            elif isinstance(event, Response) and event.cseq == self.cseq:
                answer = event
        return answer

    def request(self, method: str, url: str, *headers: str) -> Response:
        """Send a request (with the session once there is one) and wait up to 5 s for its answer;
        frames that come before and with it count."""
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", *headers]
        if self.session:
            lines.append(f"Session: {self.session}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            answer = self._take(self.sock.recv(65536))
            if answer is not None:
                return answer
        raise AssertionError(f"no answer to {method} within 5 s")

    def read_for(self, seconds: float) -> int:
        """Interleaved frames received in the next ``seconds``."""
        before = self.frames
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            if not data:
                break
            self._take(data)
        self.sock.settimeout(5)
        return self.frames - before

    def close(self) -> None:
        self.sock.close()
