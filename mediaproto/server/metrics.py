"""``GET /metrics``: the server's state in the Prometheus text exposition format (version 0.0.4).

=============================================  =======  =============================================
metric                                         type     labels
=============================================  =======  =============================================
``mediaproto_streams``                         gauge    (paths being published or pulled)
``mediaproto_readers``                         gauge    ``path``, ``protocol`` (rtmp, rtsp, hls)
``mediaproto_publishers``                      gauge    ``path``, ``protocol`` (rtmp, rtsp, source)
``mediaproto_bytes_received_total``            counter  ``path``, ``protocol``
``mediaproto_bytes_sent_total``                counter  ``path``, ``protocol``
``mediaproto_frames_received_total``           counter  ``path`` (the current publishing session)
``mediaproto_frames_skipped_total``            counter  ``path`` (frames slow players did not get)
``mediaproto_players_dropped_total``           counter  ``path`` (players closed for being behind)
``mediaproto_sessions_started_total``          counter  ``protocol``, ``role``
``mediaproto_sessions_refused_total``          counter  ``protocol``, ``reason``
=============================================  =======  =============================================
"""

from __future__ import annotations

from collections.abc import Sequence

from .context import ServerContext

__all__ = ["render", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}" if labels else ""


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Sequence[tuple[dict[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            number = int(value) if float(value).is_integer() else value
            self.lines.append(f"{name}{_labels(**labels)} {number}")


def render(context: ServerContext) -> str:
    """The text of ``/metrics``."""
    out = _Out()
    hub, sessions = context.hub, context.sessions
    live = [s for s in hub.streams.values() if s.live]
    out.metric("mediaproto_streams", "gauge", "Paths being published or pulled.", [({}, len(live))])
    counts = sessions.count()
    readers = [({"path": p, "protocol": proto}, n) for (p, proto, role), n in sorted(counts.items()) if role == "read"]
    publishers = [({"path": p, "protocol": proto}, n) for (p, proto, role), n in sorted(counts.items())
                  if role == "publish"]
    out.metric("mediaproto_readers", "gauge", "Open reading sessions.", readers)
    out.metric("mediaproto_publishers", "gauge", "Open publishing sessions (and pulled sources).", publishers)
    totals: dict[tuple[str, str], list[int]] = {k: list(v) for k, v in sessions.totals.items()}
    for s in sessions.open_sessions.values():
        b_in, b_out, dropped = s.stats()
        t = totals.setdefault((s.path, s.protocol), [0, 0, 0])
        t[0] += b_in
        t[1] += b_out
        t[2] += dropped
    keys = sorted(totals)
    out.metric("mediaproto_bytes_received_total", "counter", "Bytes received from peers.",
               [({"path": p, "protocol": proto}, totals[(p, proto)][0]) for p, proto in keys])
    out.metric("mediaproto_bytes_sent_total", "counter", "Bytes sent to peers.",
               [({"path": p, "protocol": proto}, totals[(p, proto)][1]) for p, proto in keys])
    streams = sorted(hub.streams.values(), key=lambda s: s.name)
    out.metric("mediaproto_frames_received_total", "counter", "Frames received in the current publishing session.",
               [({"path": s.name}, s.frames_in) for s in streams])
    out.metric("mediaproto_frames_skipped_total", "counter", "Frames not sent to players past their high-water mark.",
               [({"path": s.name}, s.frames_skipped) for s in streams])
    out.metric("mediaproto_players_dropped_total", "counter", "Players closed for falling behind.",
               [({"path": s.name}, s.players_dropped) for s in streams])
    out.metric("mediaproto_sessions_started_total", "counter", "Sessions started.",
               [({"protocol": proto, "role": role}, n) for (proto, role), n in sorted(sessions.started.items())])
    refused = context.auth.refusals.counts
    out.metric("mediaproto_sessions_refused_total", "counter", "Requests refused (credentials, unknown paths...).",
               [({"protocol": proto, "reason": reason}, n) for (proto, reason), n in sorted(refused.items())])
    return "\n".join(out.lines) + "\n"
