"""Serve an MP4 (H.264 + AAC) over RTSP with gst-rtsp-server, for the tests.

Run with the system Python that has PyGObject and GstRtspServer (``/usr/bin/python3``)::

    /usr/bin/python3 tests/interop/_gst_rtsp_server.py source.mp4 --audio generic

serves ``rtsp://127.0.0.1:PORT/test`` (TCP and UDP, the factory default; every client gets its own pipeline from the
start of the file, played in real time) and prints ``PORT`` on its first line of output. AAC goes
out as ``mpeg4-generic`` (RFC 3640, ``rtpmp4gpay``) with ``--audio generic`` or as ``MP4A-LATM``
(RFC 6416, ``rtpmp4apay``) with ``--audio latm``. It stops after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--audio", choices=("generic", "latm"), default="generic")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")
    pay = "rtpmp4gpay" if args.audio == "generic" else "rtpmp4apay"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( filesrc location={args.path} ! qtdemux name=d "
        f"d.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 "
        f"d.audio_0 ! queue ! aacparse ! {pay} name=pay1 pt=97 )")
    factory.set_shared(False)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print("ERROR: could not attach the server", file=sys.stderr)
        return 1
    print(server.get_bound_port(), flush=True)
    loop = GLib.MainLoop()
    GLib.timeout_add(int(args.timeout * 1000), loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
