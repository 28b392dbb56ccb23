"""An RTSP player that PAUSEs while the stream goes on (what GStreamer ``rtspsrc`` does before its
TEARDOWN when it stops: ``gst-launch-1.0 -e`` on Ctrl-C, or at the stream's end).

Found with the RTCP interop test (tests/server/test_rtcp_players.py): after a GStreamer player left
``live/test``, the test source's task had died with ``LocalProtocolError: RTSP server session:
SEND_MEDIA is not allowed in state READY`` raised from the paused player's ``on_frame`` through
``Stream.push``, and the next DESCRIBE of ``live/test`` was answered 404. One player's PAUSE must
not end the stream for everyone.

The client here is a plain socket speaking RTSP 1.0 (RFC 2326) over TCP interleaved, read with our
own :class:`mediaproto.rtsp.message.MessageParser`: DESCRIBE, SETUP of each ``a=control``, PLAY,
PAUSE, a second of the stream going on, PLAY again (RFC 2326 10.5: it resumes), TEARDOWN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from mediaproto.rtsp.message import Response

from . import _publishers as pub
from ._live import free_config, live_server_thread
from ._rtsp_raw import RawRtspClient


@pytest.fixture(scope="module")
def running() -> Iterator[pub.Running]:
    with live_server_thread(free_config(test_source=True)) as (live, loop):
        yield pub.Running(live, loop)


def controls(url: str, describe: Response) -> list[str]:
    """The absolute control URL of each media section of the DESCRIBE's SDP."""
    base = describe.headers.get("Content-Base") or url
    out = []
    for section in describe.body.decode().split("\nm=")[1:]:
        m = re.search(r"^a=control:(\S+)", section, re.M)
        control = m.group(1) if m else ""
        out.append(control if control.startswith("rtsp://") else base.rstrip("/") + "/" + control)
    return out


def test_pause_then_resume_then_teardown_keeps_the_stream(running: pub.Running) -> None:
    url = running.url("rtsp", "live/test")
    client = RawRtspClient(running.server.ports["rtsp"])
    try:
        describe = client.request("DESCRIBE", url, "Accept: application/sdp")
        assert describe.status_code == 200
        tracks = controls(url, describe)
        assert len(tracks) == 2, describe.body
        for i, track in enumerate(tracks):
            setup = client.request("SETUP", track, f"Transport: RTP/AVP/TCP;unicast;interleaved={2 * i}-{2 * i + 1}")
            assert setup.status_code == 200, setup
            client.session = (setup.headers.get("Session") or "").split(";")[0]
        assert client.request("PLAY", url).status_code == 200
        assert client.read_for(1.0) > 0, "no media after PLAY"
        pause = client.request("PAUSE", url)
        client.read_for(0.3)  # what was in flight
        during = client.read_for(1.5)  # the stream goes on; this session is paused
        stream = running.server.hub.streams.get("live/test")
        still_live = stream is not None and stream.live
        other = RawRtspClient(running.server.ports["rtsp"])
        try:
            other_describe = other.request("DESCRIBE", url, "Accept: application/sdp").status_code
        finally:
            other.close()
        resume = client.request("PLAY", url)
        after = client.read_for(1.0)
        teardown = client.request("TEARDOWN", url)
    finally:
        client.close()
    report = (f"PAUSE {pause.status_code}, RTP/RTCP frames while paused {during}, live/test live {still_live}, "
              f"a new DESCRIBE {other_describe}, PLAY again {resume.status_code} then {after} frames, "
              f"TEARDOWN {teardown.status_code}")
    assert pause.status_code == 200, report
    assert still_live and other_describe == 200, report
    assert resume.status_code == 200 and after > 0, report
    assert teardown.status_code == 200, report
