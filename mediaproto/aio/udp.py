"""The datagram driver: UDP RTP/RTCP socket pairs, read until empty whenever they are readable.

asyncio's datagram transport reads one datagram per event-loop turn; a publisher's backlog of RTP
would then lose the race against its TEARDOWN on the TCP connection, and a 10 Mbit/s stream would
overflow the socket between turns. These sockets are read dry instead (and a server drains them
before a UDP session's request is handled), with receive buffers sized for such a stream.

Datagrams are routed by their source (address, port) through ``route``: a server maps each RTSP
session's client ports to its :class:`~mediaproto.aio.driver.StreamDriver` (a ``Routes`` dict's
``get``); a client sends everything its pair receives to its one driver. A route leads to an object
with ``receive_datagram(data, source_port, destination_port)``, which hands the datagram to the
endpoint's ``receive_datagram`` with the loop's clock.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Callable, Protocol

from ..endpoint import Datagram

log = logging.getLogger("mediaproto.aio.udp")


#: Receive buffer asked of the kernel for each socket: two seconds of a 10 Mbit/s stream (the
#: kernel caps it at net.core.rmem_max; what it grants is logged at debug level).
RECEIVE_BUFFER = 4 * 1024 * 1024


class DatagramReceiver(Protocol):
    """What a route leads to: an RTSP session's driver."""

    def receive_datagram(self, data: bytes, source_port: int, destination_port: int) -> None:
        """A datagram from the peer's ``source_port`` to our ``destination_port``."""


Routes = dict[tuple[str, int], DatagramReceiver]
Route = Callable[[tuple[str, int]], "DatagramReceiver | None"]


class UdpSocket:
    """One of the two shared sockets (RTP or RTCP)."""

    MAX_BATCH = 1024

    def __init__(self, route: Route, sock: socket.socket) -> None:
        self.route = route
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        #: Datagrams that could not be read in time are lost in the kernel; these count what the
        #: sockets saw: received, and dropped for having no route.
        self.received = 0
        self.unrouted = 0
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError as exc:  # pragma: no cover - platform dependent
            log.debug("UDP port %d: receive buffer not set: %s", self.port, exc)
        asyncio.get_running_loop().add_reader(sock.fileno(), self.drain)

    def drain(self) -> None:
        """Read and route every datagram waiting (at most MAX_BATCH, then let the loop run)."""
        route = self.route
        for _ in range(self.MAX_BATCH):
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP port unreachable from a player that left
                log.debug("UDP error on port %d: %s", self.port, exc)
                continue
            self.received += 1
            receiver = route((addr[0], addr[1]))
            if receiver is not None:
                receiver.receive_datagram(data, addr[1], self.port)
            else:
                self.unrouted += 1

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

    def send_datagram(self, datagram: Datagram, host: str) -> None:
        """A datagram an endpoint queued (a driver's ``datagram_sink``)."""
        self.send(datagram.source_port, datagram.data, (host, datagram.destination_port))

    def drain(self) -> None:
        self.rtp.drain()
        self.rtcp.drain()

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


async def open_udp_pair(route: Route, host: str, rtp_port: int = 0, rtcp_port: int | None = None) -> UdpPair:
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
        return UdpPair(UdpSocket(route, rtp), UdpSocket(route, rtcp))
    raise OSError("no free UDP port pair")
