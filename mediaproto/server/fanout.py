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
    """The players of one event loop that owe bytes, written at the end of the current turn."""

    __slots__ = ("loop", "dirty", "turns", "writes")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.dirty: list[Owing] = []
        #: Loop turns that flushed, and player writes made (for benchmarks and tests).
        self.turns = 0
        self.writes = 0

    def mark(self, player: Owing) -> None:
        """``player`` owes bytes (call once per turn: when its list of owed bytes was empty)."""
        dirty = self.dirty
        if not dirty:
            self.loop.call_soon(self.flush)
        dirty.append(player)

    def flush(self) -> None:
        """Write what every marked player owes (the loop calls this once per turn)."""
        dirty, self.dirty = self.dirty, []
        self.turns += 1
        self.writes += len(dirty)
        for player in dirty:
            try:
                player.flush_owed()
            except Exception:  # noqa: BLE001 - one player's failure must not keep the others' bytes
                log.exception("fan-out: writing to a player failed")


_FLUSHERS: WeakKeyDictionary[asyncio.AbstractEventLoop, TurnFlusher] = WeakKeyDictionary()


def flusher_for(loop: asyncio.AbstractEventLoop) -> TurnFlusher:
    """The :class:`TurnFlusher` of ``loop`` (one per loop, made on first use)."""
    flusher = _FLUSHERS.get(loop)
    if flusher is None:
        flusher = _FLUSHERS[loop] = TurnFlusher(loop)
    return flusher
