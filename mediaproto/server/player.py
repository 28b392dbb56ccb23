"""The browser player of the index page: our own MSE player for our fMP4 playlists.

``static/player.js`` (package data, served at ``/static/player.js``) reads the fMP4 playlists of
:mod:`mediaproto.server.hls`: the init segment, then fragments, following the live edge, with
LL-HLS blocking playlist reloads (``_HLS_msn``/``_HLS_part``) when the stream has parts. Where the
browser plays HLS itself (Safari, Debian's Chromium) it hands the playlist to the browser, unless
the page's URL has ``?player=mse``; ``?player=native`` asks for the browser's own player. When
neither works it writes why under the video. It loads nothing from the internet.

Each stream also has a page of its own, ``/live/<name>/player.html``, with just its player.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources

__all__ = ["PLAYER_URL", "player_script", "player_video", "player_page"]

#: Where the HTTP server serves :func:`player_script`.
PLAYER_URL = "/static/player.js"


@lru_cache(maxsize=1)
def player_script() -> bytes:
    """The bytes of ``static/player.js``."""
    return resources.files("mediaproto.server").joinpath("static/player.js").read_bytes()


def player_video(name: str) -> str:
    """The ``<video>`` of stream ``name`` (``live/test``) that ``player.js`` attaches to."""
    src = html.escape(f"/{name}/fmp4.m3u8", quote=True)
    return (f"<video class='mediaproto-player' controls muted autoplay playsinline width='640' "
            f"data-src='{src}'></video>")


def player_page(name: str) -> str:
    """A page with the player of stream ``name`` alone (``/live/<name>/player.html``)."""
    title = html.escape(name)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">
<style>body{{font-family:sans-serif;margin:1em}}video{{max-width:100%;background:#000}}</style></head>
<body><h1>{title}</h1>
{player_video(name)}
<script src="{PLAYER_URL}"></script>
<script>for (const v of document.querySelectorAll('video.mediaproto-player')) MediaprotoPlayer.attach(v);</script>
</body></html>
"""
