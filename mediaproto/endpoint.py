"""The one Sans-IO endpoint contract every session of mediaproto follows.

An *endpoint* is one side of one connection (an RTMP client or server session, an RTSP client or
server connection). It does no I/O and reads no clock: the caller owns the socket, the event loop
and the clock, and drives the endpoint with these calls (the way aioquic's ``QuicConnection`` is
driven)::

    conn = rtmp.ServerConnection(configuration)   # one documented configuration dataclass
    events = conn.receive_data(data, now)          # bytes from the peer -> list[Event]
    conn.accept_publish(event)                     # actions queue bytes (and datagrams)
    transport.write(conn.data_to_send())           # drain the queued bytes
    deadline = conn.next_timer()                   # float | None, in the caller's clock
    events = conn.handle_timer(now)                # at or after the deadline -> list[Event]
    conn.closed, conn.broken                       # public state

Receiving
    :meth:`StreamEndpoint.receive_data` takes the bytes that arrived and the caller's ``now``
    (seconds of its monotonic clock, required: there is no default that silently means "time
    zero"); ``b""`` means the peer closed its side. It returns the events the bytes caused, in
    order. Datagram endpoints (RTSP, whose media may travel over UDP) also take
    :meth:`DatagramEndpoint.receive_datagram`.

Sending
    Every method that makes the endpoint talk (an ``accept_*``, a ``send_*``, and
    ``receive_data``/``handle_timer`` themselves, which answer what needs no decision) only
    *queues*. After each call the caller drains :meth:`StreamEndpoint.data_to_send` (and
    :meth:`DatagramEndpoint.datagrams_to_send`) and writes the result.

Time
    After every call the caller asks :meth:`StreamEndpoint.next_timer` for the next deadline (or
    ``None``) and re-arms its timer whenever the answer changes; when the deadline passes it calls
    :meth:`StreamEndpoint.handle_timer` with its ``now``, which returns events like
    ``receive_data`` does (frames released by a jitter buffer, a session that timed out). The same
    clock feeds ``receive_data``, ``handle_timer`` and the deadlines.

Events
    Every event of every protocol derives from :class:`Event` and is a frozen, slotted dataclass
    whose name says what happened. A name means one thing across the package:
    :class:`FrameReceived` (one class, re-exported by ``rtmp``, ``rtsp``, ``mpegts`` and ``mp4``) and
    :class:`ConnectionClosed` are defined here once.

State and misuse
    ``closed`` is true once the peer closed (``receive_data(b"")``); ``broken`` is true once the
    peer's input raised a :class:`~mediaproto.errors.ProtocolError`. Each endpoint keeps its
    states in enums with their transitions in one table (a :class:`StateMachine`). A call that the
    current state does not allow raises :class:`~mediaproto.errors.LocalProtocolError`: an
    ``accept_*`` with no pending request of that kind, a ``send_*`` before the session can carry
    media, any call but ``data_to_send`` on a broken endpoint, input after the peer closed.
    What the *peer* does in the wrong state is answered on the wire (an RTSP 455, an RTMP error
    ``onStatus``), never raised as a local error.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from .errors import LocalProtocolError
from .media import Frame

__all__ = [
    "Event",
    "FrameReceived",
    "ConnectionClosed",
    "Datagram",
    "StreamEndpoint",
    "DatagramEndpoint",
    "StateMachine",
]


@dataclass(frozen=True, slots=True)
class Event:
    """The base class of every event in mediaproto (RTMP, RTSP, MPEG-TS demuxing, HLS segmenting).

    Per-protocol bases derive from it (:class:`mediaproto.rtmp.Event`,
    :class:`mediaproto.rtsp.RtspEvent`), so ``isinstance(e, mediaproto.endpoint.Event)`` holds
    for every event the package returns.
    """


@dataclass(frozen=True, slots=True)
class FrameReceived(Event):
    """A complete frame arrived: the one frame event of the package.

    Every field but ``frame`` says where the frame came from, where a protocol has such a thing,
    and is ``0`` where it has not:

    :param frame: the frame; ``frame.track_id`` names its track (the RTSP track id, the RTMP
        track learned from the sequence headers, the MPEG-TS PID, the MP4 ``track_ID``), timestamps
        in the track's clock rate.
    :param stream_id: RTMP: the message stream the frame came on (one connection can carry several).
    :param size: containers: the bytes the frame took in the container, what ``ffprobe
        -show_packets`` calls its size (MPEG-TS: the elementary stream data of the PES, for video
        the whole PES payload, for AAC the ADTS frame with its header; fragmented MP4: the sample's
        bytes in the ``mdat``).
    :param sequence_number: fragmented MP4: the ``mfhd`` sequence number of the sample's fragment.
    """

    frame: Frame
    stream_id: int = 0
    size: int = 0
    sequence_number: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The peer closed the connection (``receive_data(b"")``)."""


@dataclass(frozen=True, slots=True)
class Datagram:
    """A UDP datagram to send: from our ``source_port`` to the peer's ``destination_port``."""

    source_port: int
    destination_port: int
    data: bytes


@runtime_checkable
class StreamEndpoint(Protocol):
    """One side of a byte-stream connection (TCP), driven by the caller. See the module text."""

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer (``b""``: the peer closed) at the caller's ``now``; returns the
        events they caused, in order. Raises :class:`~mediaproto.errors.ProtocolError` on invalid
        input (the endpoint is broken afterwards)."""
        ...

    def data_to_send(self) -> bytes:
        """Drain the bytes queued for the peer (``b""`` when there are none)."""
        ...

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` wants to be called, in the caller's clock, or ``None``."""
        ...

    def handle_timer(self, now: float) -> list[Event]:
        """Do what is due at ``now`` (at or after :meth:`next_timer`); returns events."""
        ...

    @property
    def closed(self) -> bool:
        """Whether the peer closed the connection."""
        ...

    @property
    def broken(self) -> bool:
        """Whether a protocol error from the peer made the endpoint unusable."""
        ...


@runtime_checkable
class DatagramEndpoint(StreamEndpoint, Protocol):
    """A stream endpoint whose media may also travel as UDP datagrams on ports the caller owns."""

    def receive_datagram(self, data: bytes, source_port: int, destination_port: int, now: float) -> list[Event]:
        """Feed a datagram that came from the peer's ``source_port`` to our ``destination_port``."""
        ...

    def datagrams_to_send(self) -> list[Datagram]:
        """Drain the datagrams queued for the peer."""
        ...


S = TypeVar("S", bound=enum.Enum)
I = TypeVar("I", bound=enum.Enum)  # noqa: E741 (the input alphabet)


class StateMachine(Generic[S, I]):
    """A finite state machine whose transitions are one table, as h11's ``_state.py``.

    ``table[state][input]`` is the state that ``input`` leads to from ``state``; an input missing
    from a state's row is not allowed there. Endpoints ask :meth:`allows` before acting on what the
    peer sent (and answer a refusal on the wire), and call :meth:`fire` for what the local
    application asks, which raises :class:`~mediaproto.errors.LocalProtocolError` when the table
    has no such transition.

    :param name: what the machine is (in error messages).
    :param table: state -> input -> next state.
    :param initial: the state it starts in.
    """

    __slots__ = ("name", "table", "state")

    def __init__(self, name: str, table: Mapping[S, Mapping[I, S]], initial: S) -> None:
        self.name = name
        self.table = table
        self.state = initial

    def allows(self, event: I) -> bool:
        """Whether ``event`` has a transition from the current state."""
        return event in self.table.get(self.state, {})

    def fire(self, event: I) -> S:
        """Take the transition of ``event``; raises :class:`LocalProtocolError` if there is none."""
        row = self.table.get(self.state, {})
        if event not in row:
            raise LocalProtocolError(f"{self.name}: {event.name} is not allowed in state {self.state.name}")
        self.state = row[event]
        return self.state
