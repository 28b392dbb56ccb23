"""Fan-out writes coalesced per event-loop turn: one write per player per batch of frames.

A frame published to a stream reaches every player in the same loop turn (``Stream.push`` calls
every output's ``on_frame``). Writing each frame to each player at once costs one ``send`` system
call per frame and player, and the Python of a transport write around it. Instead a player
*owes* its bytes: ``on_frame`` appends the shared bytes of the frame (prepared once per output
form, see :mod:`mediaproto.server.rtmp` and :mod:`mediaproto.server.rtsp`) to the player's list
and marks it in the loop's :class:`TurnFlusher`; one callback per loop turn (``loop.call_soon``,
scheduled by the first player marked in the turn) then writes what each marked player owes in one
``transport.write``. Everything a publisher's read brought in (one frame, or several when the
server is busy and reads fall behind) goes out in one write per player: the busier the server,
the larger the batches, as in nginx-rtmp, whose subscribers' queues are sent by one posted write
event per connection.

Per frame and player the Python work is then an append (and the backpressure check of
:class:`~mediaproto.server.hub.Gate`, which reads the write-buffer size noted at the player's last
write instead of asking the transport each time).

With a ``delay`` (the server's ``Limits.write_coalesce``, 20 ms by default) the flush comes that
long after the first frame owed instead of at the end of the turn: the frames of the next
``delay`` seconds join the same write (SRS's merged writes, ``mw_latency``, do the same with
350 ms). At 600 kbit/s that is one write per player for about one video and one audio frame
instead of one for each, which halves the server's system calls and its CPU per player-second,
for at most ``delay`` of added latency.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol
from weakref import WeakKeyDictionary

__all__ = ["Owing", "TurnFlusher", "flusher_for"]

log = logging.getLogger("mediaproto.server")


class Owing(Protocol):
    """A player that owes bytes to its connection until the end of the loop turn."""

    def flush_owed(self) -> None:
        """Write what is owed (one write); called once per loop turn in which it was marked."""


class TurnFlusher:
    """The players of one event loop that owe bytes, written at the end of the current turn (or
    ``delay`` seconds after the first of them was marked)."""

    __slots__ = ("loop", "delay", "dirty", "turns", "writes")

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float = 0.0) -> None:
        self.loop = loop
        #: Seconds from the first player marked to the flush (0: the end of the loop turn).
        self.delay = delay
        self.dirty: list[Owing] = []
        #: Loop turns that flushed, and player writes made (for benchmarks and tests).
        self.turns = 0
        self.writes = 0

    def mark(self, player: Owing) -> None:
        """``player`` owes bytes (call once per flush: when its list of owed bytes was empty)."""
        dirty = self.dirty
        if not dirty:
            if self.delay > 0:
                self.loop.call_later(self.delay, self.flush)
            else:
                self.loop.call_soon(self.flush)
        dirty.append(player)

    def flush(self) -> None:
        """Write what every marked player owes (the loop calls this once per turn or delay)."""
        dirty, self.dirty = self.dirty, []
        self.turns += 1
        self.writes += len(dirty)
        for player in dirty:
            try:
                player.flush_owed()
            except Exception:  # noqa: BLE001 - one player's failure must not keep the others' bytes
                log.exception("fan-out: writing to a player failed")


_FLUSHERS: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, TurnFlusher]] = WeakKeyDictionary()


def flusher_for(loop: asyncio.AbstractEventLoop, delay: float = 0.0) -> TurnFlusher:
    """The :class:`TurnFlusher` of ``loop`` with ``delay`` (one per loop and delay, made on first
    use)."""
    by_delay = _FLUSHERS.get(loop)
    if by_delay is None:
        by_delay = _FLUSHERS[loop] = {}
    flusher = by_delay.get(delay)
    if flusher is None:
        flusher = by_delay[delay] = TurnFlusher(loop, delay)
    return flusher
