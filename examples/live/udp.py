"""The RTSP servers' shared UDP RTP/RTCP socket pair, read until empty whenever it is readable.

asyncio's datagram transport reads one datagram per event-loop turn; a publisher's backlog of RTP
would then lose the race against its TEARDOWN on the TCP connection. Reading the socket dry (and
draining it before a UDP session's request is handled) keeps the order.

Datagrams are routed by their source (address, port) to whatever the ``routes`` dict maps it to:
an object with ``datagram_received(data, source_port, destination_port)``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Protocol

log = logging.getLogger("live.udp")


class DatagramReceiver(Protocol):
    """What a route leads to: an RTSP session."""

    def datagram_received(self, data: bytes, source_port: int, destination_port: int) -> None:
        """A datagram from the peer's ``source_port`` to our ``destination_port``."""


Routes = dict[tuple[str, int], DatagramReceiver]


class UdpSocket:
    """One of the two shared sockets (RTP or RTCP)."""

    MAX_BATCH = 1024

    def __init__(self, routes: Routes, sock: socket.socket) -> None:
        self.routes = routes
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        sock.setblocking(False)
        asyncio.get_running_loop().add_reader(sock.fileno(), self.drain)

    def drain(self) -> None:
        """Read and route every datagram waiting (at most MAX_BATCH, then let the loop run)."""
        routes = self.routes
        for _ in range(self.MAX_BATCH):
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP port unreachable from a player that left
                log.debug("UDP error on port %d: %s", self.port, exc)
                continue
            receiver = routes.get((addr[0], addr[1]))
            if receiver is not None:
                receiver.datagram_received(data, addr[1], self.port)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send, dropping the datagram when the socket buffer is full (as the network would)."""
        try:
            self.sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            log.debug("UDP send to %s failed: %s", addr, exc)

    def close(self) -> None:
        try:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        except RuntimeError:
            pass
        self.sock.close()


class UdpPair:
    """The shared RTP and RTCP sockets."""

    def __init__(self, rtp: UdpSocket, rtcp: UdpSocket) -> None:
        self.rtp, self.rtcp = rtp, rtcp

    @property
    def ports(self) -> tuple[int, int]:
        return self.rtp.port, self.rtcp.port

    def send(self, source_port: int, data: bytes, addr: tuple[str, int]) -> None:
        (self.rtp if source_port == self.rtp.port else self.rtcp).sendto(data, addr)

    def drain(self) -> None:
        self.rtp.drain()
        self.rtcp.drain()

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


async def open_udp_pair(routes: Routes, host: str, rtp_port: int, rtcp_port: int | None = None) -> UdpPair:
    """Bind RTP on ``rtp_port`` and RTCP on ``rtcp_port`` (default the next port); with port 0, any
    free pair with RTP on an even port (RFC 3550 section 11)."""
    for _ in range(50):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((host, rtp_port))
        port = rtp.getsockname()[1]
        if port % 2 and not rtp_port:
            rtp.close()
            continue
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtcp.bind((host, rtcp_port if rtcp_port else port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            if rtp_port:
                raise
            continue
        return UdpPair(UdpSocket(routes, rtp), UdpSocket(routes, rtcp))
    raise OSError("no free UDP port pair")
