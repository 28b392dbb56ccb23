"""HTTP responses prepared once and written as they are: HLS at CDN scale.

A segment or part is the same bytes for every client, and so is a playlist until it changes: the
whole response (status line, headers, body) is built once, when the file is made or the playlist
first asked for after a change, and each request then costs a dictionary lookup and one write.

The ``Cache-Control`` headers are those a caching proxy in front of the server (an nginx
``proxy_cache`` edge, see the server guide's "Behind a CDN or nginx") needs to be right:

* segments, parts and init segments never change under their name while the server runs
  (numbering goes on across publishers): :data:`SEGMENT_CACHE` (``max-age=60``, about ten
  windows of 1 s segments; a restarted server may reuse a name a minute later at the earliest);
* a live playlist changes with every segment or part: :func:`playlist_cache` gives ``max-age``
  of half the target duration, rounded down, at least 1 s (a proxy collapses its clients'
  requests to about one per second per playlist);
* an LL-HLS blocking reload (``_HLS_msn``/``_HLS_part``) names a playlist version in its URL, so
  its answer can be kept: :data:`BLOCKING_CACHE`;
* anything else (errors, the index, the API) is ``no-cache``, which nginx does not store.
"""

from __future__ import annotations

__all__ = ["REASONS", "SEGMENT_CACHE", "BLOCKING_CACHE", "NO_CACHE", "playlist_cache", "response_head",
           "prepared_response"]

#: Reason phrases of the statuses the server sends.
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           431: "Request Header Fields Too Large", 503: "Service Unavailable"}

SEGMENT_CACHE = "public, max-age=60"
BLOCKING_CACHE = "public, max-age=60"
NO_CACHE = "no-cache"

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


def playlist_cache(target_duration: float) -> str:
    """The ``Cache-Control`` of a live playlist: half the target duration, at least 1 s."""
    return f"public, max-age={max(1, int(target_duration / 2))}"


def response_head(status: int, length: int, ctype: str, cache_control: str,
                  extra: list[tuple[str, str]] | None = None, close: bool = False) -> bytes:
    """The status line and headers of a response with a ``length``-byte body."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", f"Content-Type: {ctype}",
             f"Content-Length: {length}", "Access-Control-Allow-Origin: *", f"Cache-Control: {cache_control}"]
    lines += [f"{k}: {v}" for k, v in extra or ()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def prepared_response(body: bytes, ctype: str, cache_control: str) -> bytes:
    """A whole keep-alive 200 response: head and body in one ``bytes``."""
    return response_head(200, len(body), ctype, cache_control) + body
