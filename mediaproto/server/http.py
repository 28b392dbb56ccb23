"""A small HTTP/1.1 server for HLS, the index page and the statistics API.

    GET /                              the index: live streams, their tracks and readers, a player
    GET /player.js                     the index page's player (small, separate, nothing from the internet)
    GET /api/streams                   statistics as JSON (see mediaproto.server.api for /api/v1/...)
    GET /metrics                       Prometheus text format (mediaproto.server.metrics)
    GET /live/<name>/index.m3u8        the playlist of Config.hls_container (LL-HLS blocking reload:
                                       _HLS_msn, _HLS_part, _HLS_skip)
    GET /live/<name>/ts.m3u8           the MPEG-TS playlist, whatever the configuration
    GET /live/<name>/fmp4.m3u8         the fMP4 playlist (EXT-X-MAP init<K>.mp4, seg<N>.m4s, parts seg<N>.<P>.m4s)
    GET /live/<name>/<file>            a segment, part or init segment, from memory (.ts, .m4s, .mp4)
    GET /live/<name>/player.html       a page with the stream's player alone
    GET /static/player.js              the browser player (mediaproto.server.player)

Keep-alive, bounded request heads and bodies, an idle timeout, and every URI in a playlist carries
the client's own query parameters (a token, say) except the ``_HLS_*`` ones. A path with read
credentials needs them on every HLS request: HTTP Basic, or ``?user=&pass=`` / ``?token=`` in the
playlist URL (kept on its URIs); 401 without credentials, 403 with wrong ones. Each client address
reading a path is an HLS session (logged at its start and when it has been idle
``Limits.hls_session_timeout``).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import re
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode

from .api import Api
from .auth import Action
from .config import Limits
from .context import ServerContext
from .guard import HEAD_TOO_LARGE, NO_REQUEST, SLOW_MESSAGE
from .hls import PLAYLISTS, HlsOutput, content_type
from .metrics import CONTENT_TYPE as METRICS_TYPE
from .metrics import render as render_metrics
from .player import PLAYER_URL, player_page, player_script, player_video
from .prepared import BLOCKING_CACHE, NO_CACHE, SEGMENT_CACHE, playlist_cache, response_head
from .sessions import Session

log = logging.getLogger("mediaproto.server.http")

T = TypeVar("T")

_URI_ATTR = re.compile(r'URI="([^"]*)"')

#: The content type :meth:`HttpServer._route` gives a body that is a whole prepared response
#: (head and body, :mod:`mediaproto.server.prepared`): written as it is.
PREPARED = "prepared"

#: ``asyncio.timeout`` (Python 3.11): a deadline on the running task, without the task that
#: ``asyncio.wait_for`` makes around each read (three per request before).
_timeout: Any = getattr(asyncio, "timeout", None)


async def _within(awaitable: Awaitable[T], timeout: float) -> T:
    """``await awaitable`` or raise ``asyncio.TimeoutError`` after ``timeout`` seconds."""
    if _timeout is None:  # Python 3.10
        return await asyncio.wait_for(awaitable, timeout)
    async with _timeout(timeout):
        return await awaitable


class HttpServer:
    """Answers HTTP requests from the HLS outputs and the server's statistics."""

    def __init__(self, outputs: dict[str, HlsOutput], stats: Callable[[], dict[str, object]],
                 index: Callable[[str], str], limits: Limits | None = None, *,
                 context: ServerContext | None = None, api: Api | None = None) -> None:
        self.limits = limits or Limits()
        self.outputs = outputs
        self.stats = stats
        self.index = index
        self.context = context
        self.api = api
        self.clients: dict[str, float] = {}  # HLS client address -> last request (loop time)
        #: (path, client address) -> its HLS session and the time of its last request.
        self.hls_sessions: dict[tuple[str, str], tuple[Session, float]] = {}
        #: The tasks serving connections now (one per connection: :meth:`handle`).
        self.handlers: set[asyncio.Task[Any]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fast: Any = None) -> None:
        """Serve one connection (``fast``: its :class:`~mediaproto.server.httpfast.FastHttpProtocol`,
        which answers plain HLS requests while this waits for a next request)."""
        peer = writer.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) else "?"
        opened = _opened(writer)
        task = asyncio.current_task()
        if task is not None:
            self.handlers.add(task)
        try:
            first = True
            while True:
                try:
                    head = await self._read_head(reader, first, host, opened, fast)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    self._closing(host, HEAD_TOO_LARGE, f"request head over {self.limits.http_max_head} bytes "
                                  "(http_max_head)")
                    await self._send(writer, 431, b"request head too large\n", "text/plain", close=True)
                    return
                first = False
                keep_alive = await self._request(head, reader, writer, host)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            pass  # gone, or gone in the middle of a request's body
        except asyncio.TimeoutError:  # it does not read what we send: free its buffer now
            log.info("http: %s does not read its responses: closing", host)
            writer.transport.abort()
        except Exception:  # noqa: BLE001 - one broken client must not take the server down
            log.exception("http: request from %s failed", host)
        finally:
            if task is not None:
                self.handlers.discard(task)
            writer.close()

    async def close_connections(self, timeout: float = 2.0) -> None:
        """End every connection's task (the server stops: keep-alive clients would otherwise keep
        them waiting for a next request after the loop is gone)."""
        tasks = list(self.handlers)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _read_head(self, reader: asyncio.StreamReader, first: bool, host: str,
                         opened: float | None = None, fast: Any = None) -> bytes:
        """The next request head: the connection's first within ``handshake_timeout`` of
        ``opened`` (the loop time it was accepted; now when not known); a later one within
        ``http_idle_timeout`` of the last answer for its first byte, then ``head_timeout`` for the
        rest. A head too slow is logged (rate-limited) and raises ``TimeoutError``."""
        limits = self.limits
        start = b""
        if first:
            timeout, kind, what = limits.handshake_timeout, NO_REQUEST, "handshake_timeout"
            if opened is not None:
                timeout = max(0.0, opened + timeout - asyncio.get_running_loop().time())
        else:
            if fast is not None and _timeout is not None:  # the protocol may answer requests meanwhile
                async with _timeout(limits.http_idle_timeout) as idle:  # idle: no log line
                    fast.idle = idle
                    try:
                        start = await reader.readexactly(1)
                    finally:
                        fast.idle = None
            else:
                start = await _within(reader.readexactly(1), limits.http_idle_timeout)  # idle: no log line
            timeout, kind, what = limits.head_timeout, SLOW_MESSAGE, "head_timeout"
            # the usual case: the whole head came with its first byte, no deadline to set
            if b"\r\n\r\n" in getattr(reader, "_buffer", b""):
                return start + await reader.readuntil(b"\r\n\r\n")
        try:
            return start + await _within(reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.TimeoutError:
            allowed = limits.handshake_timeout if first else timeout
            self._closing(host, kind, f"no complete request head within {allowed:g} s ({what})")
            raise

    def _closing(self, host: str, kind: str, detail: str) -> None:
        """Log a connection closed for a limit (rate-limited by the server's guard)."""
        guard = self.context.guard if self.context is not None else None
        if guard is not None:
            guard.refuse("http", host, kind, detail)
        else:
            log.info("http %s: closing: %s", host, detail)

    async def _request(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       host: str) -> bool:
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
        except ValueError:
            await self._send(writer, 400, b"bad request\n", "text/plain", close=True)
            return False
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        length_text = headers.get("content-length", "0") or "0"
        if not length_text.isascii() or not length_text.isdigit() or len(length_text) > 12:
            await self._send(writer, 400, b"bad Content-Length\n", "text/plain", close=True)
            return False
        if int(length_text) > self.limits.http_max_body or "transfer-encoding" in headers:
            await self._send(writer, 413, b"request body too large\n", "text/plain", close=True)
            return False
        if int(length_text):
            await asyncio.wait_for(reader.readexactly(int(length_text)), self.limits.http_idle_timeout)
        path, _, query = target.partition("?")
        path = unquote(path)
        if method == "POST" and path.startswith("/api/v1/"):
            status, body, ctype, extra = self._api(path, query, headers, post=True)
        elif method not in ("GET", "HEAD"):
            await self._send(writer, 405, b"method not allowed\n", "text/plain", close=not keep_alive)
            return keep_alive
        else:
            status, body, ctype, extra = await self._route(path, query, host, headers,
                                                           prepared=keep_alive and method == "GET")
        if ctype is PREPARED:  # HLS: a response prepared once for every client
            writer.write(body)
            if writer.transport.get_write_buffer_size():
                await _within(writer.drain(), self.limits.http_idle_timeout)
            return keep_alive
        await self._send(writer, status, body, ctype, head_only=method == "HEAD", close=not keep_alive,
                         extra=extra)
        return keep_alive

    def _api(self, path: str, query: str, headers: dict[str, str],
             post: bool = False) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        context, api = self.context, self.api
        if context is None or api is None:
            return 404, b"no API\n", "text/plain", []
        token = context.config.api_token
        if token is not None:
            auth = headers.get("authorization", "")
            given = auth[7:].strip() if auth.lower().startswith("bearer ") else \
                dict(parse_qsl(query, keep_blank_values=True)).get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                context.refuse("http", headers.get("_peer", "?"), path, "wrong API token")
                return 401, b"API token needed\n", "text/plain", [("WWW-Authenticate", 'Bearer realm="mediaproto"')]
        if path == "/metrics":
            return 200, render_metrics(context).encode(), METRICS_TYPE, []
        if post:
            parts = path.strip("/").split("/")
            if len(parts) == 5 and parts[:3] == ["api", "v1", "sessions"] and parts[4] == "kick":
                status, answer = api.kick(parts[3])
                return status, json.dumps(answer).encode(), "application/json", []
            return 404, b"no such API call\n", "text/plain", []
        if path == "/api/v1/paths":
            return 200, json.dumps(api.paths(), indent=2).encode(), "application/json", []
        if path == "/api/v1/sessions":
            return 200, json.dumps(api.sessions(), indent=2).encode(), "application/json", []
        return 404, b"no such API call\n", "text/plain", []

    async def _route(self, path: str, query: str, host: str, headers: dict[str, str],
                     prepared: bool = False) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        """The answer to a GET or HEAD: (status, body, content type, extra headers); with
        ``prepared``, segments and playlists come as whole prepared responses (content type
        :data:`PREPARED`)."""
        if path in ("/", "/index.html"):
            return 200, self.index(host).encode(), "text/html; charset=utf-8", [("Cache-Control", "no-store")]
        if path == "/player.js":
            return 200, PLAYER_JS.encode(), "text/javascript; charset=utf-8", [("Cache-Control", "no-store")]
        if path == PLAYER_URL:
            return 200, player_script(), "text/javascript; charset=utf-8", [("Cache-Control", "no-cache")]
        if path == "/api/streams":
            return 200, json.dumps(self.stats(), indent=2).encode(), "application/json", []
        if path == "/metrics" or path.startswith("/api/v1/"):
            headers["_peer"] = host
            return self._api(path, query, headers)
        name, _, file = path.strip("/").rpartition("/")
        if self.context is not None and name:
            settings = self.context.path(name)
            if settings is None:
                self.context.refuse("hls", host, name, "path not configured")
                return 404, b"no such stream\n", "text/plain", []
            verdict = self.context.auth.check_http(settings, Action.READ, headers.get("authorization"), query)
            if not verdict.ok:
                self.context.refuse("hls", host, name, verdict.reason)
                if verdict.missing:
                    return 401, b"credentials needed\n", "text/plain", [("WWW-Authenticate", 'Basic realm="mediaproto"')]
                return 403, b"wrong credentials\n", "text/plain", []
            if settings.pulled and file.endswith(".m3u8"):
                await self._wait_for_source(name)
        output = self.outputs.get(name)
        if output is None or not file:
            return 404, b"no such stream\n", "text/plain", []
        if file == "player.html":
            return 200, player_page(name).encode(), "text/html; charset=utf-8", [("Cache-Control", "no-store")]
        extra: list[tuple[str, str]] = []
        if file == "index.m3u8" or file in PLAYLISTS:
            configured = self.context.config.hls_container if self.context is not None else "ts"
            status, body, ctype, extra = await self._playlist(output, query, PLAYLISTS.get(file, configured),
                                                              prepared)
        else:
            data = output.response(file) if prepared else output.file(file)
            if data is None:
                return 404, b"no such segment\n", "text/plain", []
            status, body, ctype = 200, data, PREPARED if prepared else content_type(file)
        if status == 200:
            self.note_client(name, host, len(body))
        return status, body, ctype, extra

    def note_client(self, name: str, host: str, sent: int) -> None:
        """An HLS client at ``host`` got ``sent`` bytes of stream ``name`` (statistics, sessions)."""
        now = asyncio.get_running_loop().time()
        self.clients[host] = now
        if len(self.clients) > self.limits.hls_max_clients:  # forget the clients gone for a while (bounded memory)
            self.clients = {h: t for h, t in self.clients.items() if now - t < 10}
        self._hls_session(name, host, now, sent)

    async def _wait_for_source(self, name: str) -> None:
        """An HLS player asks for a path with a pulled source: start it (on demand) and wait a
        little for its stream."""
        assert self.context is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while loop.time() < deadline:
            self.context.demand(name)
            output = self.outputs.get(name)
            if output is not None and output.stream.live:
                return
            await asyncio.sleep(0.1)

    def _hls_session(self, name: str, host: str, now: float, sent: int) -> None:
        if self.context is None:
            return
        key = (name, host)
        entry = self.hls_sessions.get(key)
        if entry is None:
            if len(self.hls_sessions) >= self.limits.hls_max_clients:
                self.sweep(now)
                if len(self.hls_sessions) >= self.limits.hls_max_clients:
                    return
            session = self.context.sessions.open("hls", "read", name, host)
        else:
            session = entry[0]
        session.bytes_out += sent
        self.hls_sessions[key] = (session, now)

    def sweep(self, now: float) -> None:
        """End the HLS sessions idle for ``Limits.hls_session_timeout``."""
        if self.context is None:
            return
        timeout = self.limits.hls_session_timeout
        for key, (session, last) in list(self.hls_sessions.items()):
            if now - last > timeout:
                del self.hls_sessions[key]
                self.context.sessions.close(session, "idle")

    def close_all(self) -> None:
        """End every HLS session (the server stops)."""
        if self.context is not None:
            for session, _ in self.hls_sessions.values():
                self.context.sessions.close(session, "server stopped")
        self.hls_sessions.clear()

    async def _playlist(self, output: HlsOutput, query: str, container: str = "ts",
                        prepared: bool = False) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        """A playlist, after waiting for a blocking reload's segment or part. Without client
        query parameters to add to its URIs (a token), a ``prepared`` playlist is the response
        made once per playlist version: the waiters of one blocking reload, woken together by the
        same part, all get the same bytes."""
        if not output.serves(container):
            why = output.unavailable.get(container, "not served")
            return 404, f"no {container} playlist for this stream: {why}\n".encode(), "text/plain", []
        params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        skip = params.get("_HLS_skip", "").upper() in ("YES", "V2")
        blocking = "_HLS_msn" in params
        if blocking:
            try:
                msn = int(params["_HLS_msn"])
                part = int(params["_HLS_part"]) if "_HLS_part" in params else None
            except ValueError:
                return 400, b"bad _HLS_msn or _HLS_part\n", "text/plain", []
            if output.too_far(msn, container):
                return 400, b"_HLS_msn too far in the future\n", "text/plain", []
            if not await output.wait_for(msn, part, self.limits.hls_blocking_timeout, container):
                return 503, b"timed out waiting for the segment\n", "text/plain", []
        elif "_HLS_part" in params:
            return 400, b"_HLS_part without _HLS_msn\n", "text/plain", []
        text = output.playlist(skip, container)
        if text is None and output.stream.live and await output.wait_until(
                lambda: output.playlist(False, container) is not None, self.limits.hls_blocking_timeout):
            text = output.playlist(skip, container)  # a new stream: wait for its first segment
        if text is None:
            return 404, b"stream has no segment yet\n", "text/plain", []
        kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                          if not k.startswith("_HLS_")]) if params else ""
        if prepared and not kept:
            response = output.playlist_response(skip, container, blocking)
            if response is not None:
                return 200, response, PREPARED, []
        if kept:
            text = _with_query(text, kept)
        cache = BLOCKING_CACHE if blocking else playlist_cache(output.target_duration)
        return 200, text.encode(), "application/vnd.apple.mpegurl", [("Cache-Control", cache)]

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str, *,
                    head_only: bool = False, close: bool = False, extra: list[tuple[str, str]] | None = None) -> None:
        extra = extra or []
        cache = next((v for k, v in extra if k == "Cache-Control"), None)
        if cache is None:
            cache = SEGMENT_CACHE if ctype.startswith("video/") and status == 200 else NO_CACHE
        head = response_head(status, len(body), ctype, cache, [(k, v) for k, v in extra if k != "Cache-Control"],
                             close)
        writer.write(head + (b"" if head_only else body))
        if writer.transport.get_write_buffer_size():
            await _within(writer.drain(), self.limits.http_idle_timeout)


def _opened(writer: asyncio.StreamWriter) -> float | None:
    """When the connection was accepted (the loop time the server's guard noted), if known: the
    first request's time runs from it."""
    try:
        started = getattr(writer.transport.get_protocol(), "started", None)
    except NotImplementedError:  # a transport without a protocol (tests)
        return None
    return started if isinstance(started, float) else None


def _with_query(text: str, query: str) -> str:
    """Append the client's query parameters to every URI of a playlist."""
    out = []
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            line = f"{line}{'&' if '?' in line else '?'}{query}"
        elif 'URI="' in line:
            line = _URI_ATTR.sub(lambda m: f'URI="{m[1]}{"&" if "?" in m[1] else "?"}{query}"', line)
        out.append(line)
    return "\n".join(out)


def index_page(streams: list[dict[str, object]], host: str, ports: dict[str, int]) -> str:
    """The index: each live stream with its URLs, tracks and readers (refreshed from
    ``/api/streams`` every two seconds by ``/player.js``), and a player per stream."""
    rows = []
    for s in streams:
        name = html.escape(str(s["name"]))
        hls_url = f"http://{host}:{ports['http']}/{name}/index.m3u8"
        rows.append(
            f"<section data-stream='{name}'><h2>{name}</h2><ul>"
            f"<li>HLS: <a href='/{name}/index.m3u8'>{hls_url}</a></li>"
            f"<li>RTSP: <code>rtsp://{host}:{ports['rtsp']}/{name}</code></li>"
            f"<li>RTMP: <code>rtmp://{host}:{ports['rtmp']}/{name}</code></li></ul>"
            f"<p class='tracks'>{html.escape(_tracks_text(s))}</p><p class='readers'>{html.escape(_readers_text(s))}</p>"
            f"{player_video(str(s['name']))}</section>"
        )
    body = "\n".join(rows) or "<p>No live stream. Publish one with<br><code>ffmpeg -re -i in.mp4 -c copy -f flv rtmp://HOST:1935/live/NAME</code></p>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mediaproto live server</title><link rel="icon" href="data:,">
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}code{{background:#eee;padding:0 .3em}}</style>
</head>
<body><h1>mediaproto live server</h1>
<p>API: <a href="/api/v1/paths">/api/v1/paths</a>, <a href="/api/v1/sessions">/api/v1/sessions</a>,
<a href="/metrics">/metrics</a>. Play with <code>ffplay URL</code>, or below: our player (fMP4 through Media
Source Extensions, or the browser's own HLS; <a href="?player=mse">?player=mse</a> forces ours).</p>
<main id="streams">{body}</main>
<script src="{PLAYER_URL}"></script><script src="/player.js"></script></body></html>
"""


def _tracks_text(stream: dict[str, object]) -> str:
    parts = []
    for t in stream.get("tracks", []):  # type: ignore[attr-defined]
        size = f" {t['width']}x{t['height']}" if t.get("width") else ""
        audio = f" {t['sample_rate']} Hz" if t.get("sample_rate") and not t.get("width") else ""
        parts.append(f"{t['codec']}{size}{audio} {round(t.get('bitrate', 0) / 1000)} kbit/s")
    return "Tracks: " + (", ".join(parts) or "none")


def _readers_text(stream: dict[str, object]) -> str:
    p = stream.get("players", {})
    return f"Readers: RTMP {p.get('rtmp', 0)}, RTSP {p.get('rtsp', 0)}, HLS {p.get('hls_clients', 0)}"  # type: ignore[attr-defined]


#: ``/player.js``: starts the players (native HLS) and refreshes each stream's tracks and readers
#: from ``/api/streams``; loads nothing from the internet.
PLAYER_JS = """
for (const v of document.querySelectorAll('video[data-src]')) MediaprotoPlayer.attach(v);
async function addStream(name) {  // a new stream: its section as the server renders it, and its player
  const r = await fetch('/', {cache: 'no-store'});
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  const fresh = doc.querySelector(`section[data-stream="${CSS.escape(name)}"]`);
  const main = document.getElementById('streams');
  if (!fresh || !main) return null;
  for (const p of main.querySelectorAll(':scope > p')) p.remove();
  const el = document.importNode(fresh, true);
  main.appendChild(el);
  for (const v of el.querySelectorAll('video[data-src]')) MediaprotoPlayer.attach(v);
  return el;
}
function tracksText(s) {
  const parts = s.tracks.map(t => t.codec + (t.width ? ' ' + t.width + 'x' + t.height : '') +
    (!t.width && t.sample_rate ? ' ' + t.sample_rate + ' Hz' : '') + ' ' + Math.round((t.bitrate || 0) / 1000) + ' kbit/s');
  return 'Tracks: ' + (parts.join(', ') || 'none');
}
async function refresh() {
  try {
    const r = await fetch('/api/streams', {cache: 'no-store'});
    const data = await r.json();
    const names = new Set(data.streams.map(s => s.name));
    for (const s of data.streams) {
      const el = document.querySelector(`section[data-stream="${CSS.escape(s.name)}"]`) || await addStream(s.name);
      if (!el) continue;
      el.querySelector('.tracks').textContent = tracksText(s);
      const p = s.players;
      el.querySelector('.readers').textContent = `Readers: RTMP ${p.rtmp}, RTSP ${p.rtsp}, HLS ${p.hls_clients}`;
    }
    for (const el of document.querySelectorAll('section[data-stream]'))
      if (!names.has(el.dataset.stream)) {
        for (const v of el.querySelectorAll('video')) if (v.mediaprotoPlayer) v.mediaprotoPlayer.stopped = true;
        el.remove();
      }
  } catch (e) { /* the server restarts: try again later */ }
}
setInterval(refresh, 2000);
"""
