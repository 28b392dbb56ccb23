"""A small HTTP/1.1 server for HLS, the index page and the statistics API.

    GET /                              the index: live streams, their URLs, a player
    GET /api/streams                   statistics as JSON
    GET /live/<name>/index.m3u8        the playlist (LL-HLS blocking reload: _HLS_msn, _HLS_part, _HLS_skip)
    GET /live/<name>/<file>.ts         a segment or a part, from memory

Keep-alive, bounded request heads, an idle timeout, and every URI in a playlist carries the
client's own query parameters (a token, say) except the ``_HLS_*`` ones.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from typing import Callable
from urllib.parse import parse_qsl, unquote, urlencode

from .config import Limits
from .hls import HlsOutput

log = logging.getLogger("mediaproto.server.http")

_URI_ATTR = re.compile(r'URI="([^"]*)"')


class HttpServer:
    """Answers HTTP requests from the HLS outputs and the server's statistics."""

    def __init__(self, outputs: dict[str, HlsOutput], stats: Callable[[], dict[str, object]],
                 index: Callable[[str], str], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.outputs = outputs
        self.stats = stats
        self.index = index
        self.clients: dict[str, float] = {}  # HLS client address -> last request (loop time)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) else "?"
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.limits.http_idle_timeout)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    await self._send(writer, 431, b"request head too large\n", "text/plain", close=True)
                    return
                keep_alive = await self._request(head, writer, host)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        except asyncio.TimeoutError:  # it does not read what we send: free its buffer now
            log.info("http: %s does not read its responses: closing", host)
            writer.transport.abort()
        except Exception:  # noqa: BLE001 - one broken client must not take the server down
            log.exception("http: request from %s failed", host)
        finally:
            writer.close()

    async def _request(self, head: bytes, writer: asyncio.StreamWriter, host: str) -> bool:
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
        if method not in ("GET", "HEAD"):
            await self._send(writer, 405, b"method not allowed\n", "text/plain", close=not keep_alive)
            return keep_alive
        path, _, query = target.partition("?")
        path = unquote(path)
        status, body, ctype = await self._route(path, query, host)
        await self._send(writer, status, body, ctype, head_only=method == "HEAD", close=not keep_alive)
        return keep_alive

    async def _route(self, path: str, query: str, host: str) -> tuple[int, bytes, str]:
        if path in ("/", "/index.html"):
            return 200, self.index(host).encode(), "text/html; charset=utf-8"
        if path == "/api/streams":
            return 200, json.dumps(self.stats(), indent=2).encode(), "application/json"
        name, _, file = path.strip("/").rpartition("/")
        output = self.outputs.get(name)
        if output is None or not file:
            return 404, b"no such stream\n", "text/plain"
        now = asyncio.get_running_loop().time()
        self.clients[host] = now
        if len(self.clients) > self.limits.hls_max_clients:  # forget the clients gone for a while (bounded memory)
            self.clients = {h: t for h, t in self.clients.items() if now - t < 10}
        if file == "index.m3u8":
            return await self._playlist(output, query)
        data = output.files.get(file)
        if data is None:
            return 404, b"no such segment\n", "text/plain"
        return 200, data, "video/mp2t"

    async def _playlist(self, output: HlsOutput, query: str) -> tuple[int, bytes, str]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        skip = params.get("_HLS_skip", "").upper() in ("YES", "V2")
        if "_HLS_msn" in params:
            try:
                msn = int(params["_HLS_msn"])
                part = int(params["_HLS_part"]) if "_HLS_part" in params else None
            except ValueError:
                return 400, b"bad _HLS_msn or _HLS_part\n", "text/plain"
            if output.too_far(msn):
                return 400, b"_HLS_msn too far in the future\n", "text/plain"
            if not await output.wait_for(msn, part, self.limits.hls_blocking_timeout):
                return 503, b"timed out waiting for the segment\n", "text/plain"
        elif "_HLS_part" in params:
            return 400, b"_HLS_part without _HLS_msn\n", "text/plain"
        text = output.playlist(skip=skip)
        if text is None and output.stream.live and await output.wait_until(
                lambda: output.playlist() is not None, self.limits.hls_blocking_timeout):
            text = output.playlist(skip=skip)  # a new stream: wait for its first segment
        if text is None:
            return 404, b"stream has no segment yet\n", "text/plain"
        kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not k.startswith("_HLS_")])
        if kept:
            text = _with_query(text, kept)
        return 200, text.encode(), "application/vnd.apple.mpegurl"

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str, *,
                    head_only: bool = False, close: bool = False) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  431: "Request Header Fields Too Large", 503: "Service Unavailable"}.get(status, "Error")
        headers = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            "Access-Control-Allow-Origin: *",
            "Cache-Control: no-cache" if ctype.startswith("application/vnd") or status != 200 else "Cache-Control: max-age=60",
        ]
        if close:
            headers.append("Connection: close")
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + (b"" if head_only else body))
        await asyncio.wait_for(writer.drain(), self.limits.http_idle_timeout)


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
    """The index: each live stream with its HLS, RTSP and RTMP URLs, and an HLS player."""
    rows = []
    for s in streams:
        name = html.escape(str(s["name"]))
        hls_url = f"http://{host}:{ports['http']}/{name}/index.m3u8"
        rows.append(
            f"<section><h2>{name}</h2><ul>"
            f"<li>HLS: <a href='/{name}/index.m3u8'>{hls_url}</a></li>"
            f"<li>RTSP: <code>rtsp://{host}:{ports['rtsp']}/{name}</code></li>"
            f"<li>RTMP: <code>rtmp://{host}:{ports['rtmp']}/{name}</code></li></ul>"
            f"<video controls muted autoplay playsinline width='640' data-src='/{name}/index.m3u8'></video></section>"
        )
    body = "\n".join(rows) or "<p>No live stream. Publish one with<br><code>ffmpeg -re -i in.mp4 -c copy -f flv rtmp://HOST:1935/live/NAME</code></p>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mediaproto live server</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}code{{background:#eee;padding:0 .3em}}</style>
<script src="https://cdn.jsdelivr.net/npm/hls.js@1/dist/hls.min.js"></script></head>
<body><h1>mediaproto live server</h1>
<p>Statistics: <a href="/api/streams">/api/streams</a>. Play with <code>ffplay URL</code>, VLC, or below
(Safari plays HLS natively; other browsers use hls.js when it loads).</p>
{body}
<script>
for (const v of document.querySelectorAll('video[data-src]')) {{
  const src = v.dataset.src;
  if (v.canPlayType('application/vnd.apple.mpegurl')) v.src = src;
  else if (window.Hls && Hls.isSupported()) {{ const h = new Hls(); h.loadSource(src); h.attachMedia(v); }}
}}
</script></body></html>
"""
