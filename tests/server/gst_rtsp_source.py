"""A camera for the tests: gst-rtsp-server serving H.264 + AAC at rtsp://127.0.0.1:PORT/cam with
Digest authentication (user ``cam``, password ``secret``).

Run with a Python that has GStreamer's introspection bindings (Debian's python3-gi and
gir1.2-gst-rtsp-server-1.0)::

    /usr/bin/python3 tests/server/gst_rtsp_source.py PORT

It prints ``ready`` once it listens and serves until killed.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

USER, PASSWORD = "cam", "secret"
PIPELINE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 "
    "! x264enc tune=zerolatency key-int-max=25 bitrate=500 ! rtph264pay name=pay0 pt=96 config-interval=1 "
    "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! avenc_aac "
    "! rtpmp4gpay name=pay1 pt=97 )"
)


def main() -> None:
    Gst.init(None)
    port = sys.argv[1]
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE)
    factory.set_shared(True)
    factory.add_role_from_structure(Gst.Structure.new_from_string(
        "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    auth.add_digest(USER, PASSWORD, token)
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    server.set_auth(auth)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("cannot listen", flush=True)
        sys.exit(2)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
