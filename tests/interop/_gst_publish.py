"""Publish an MP4 (H.264 + AAC) with GStreamer: ``rtspclientsink`` (RTSP RECORD) or ``rtmp2sink``.

Run with the system Python that has PyGObject (``/usr/bin/python3``), not from the test process::

    /usr/bin/python3 tests/interop/gst_publish.py rtsp://127.0.0.1:8554/live/x source.mp4 \\
        --protocols tcp --ntp normal

``--ntp`` chooses the NTP clock the publisher puts in its RTCP sender reports (RTSP only):

- ``normal``: ``ntp-time-source=ntp`` (the real-time clock, NTP era): the default;
- ``hours``: ``ntp-time-source=clock-time`` with a pipeline clock that is the real-time clock moved
  to the NTP era and then ``--hours`` (default 3) ahead, so the reports say NTP = now + 3 h;
- ``running``: ``ntp-time-source=running-time``: the pipeline's running time (starts near 0);
- ``unix``: ``ntp-time-source=unix``: Unix time in the NTP field (70 years off).

The file is played in real time (``identity sync=true`` on each branch); the script exits 0 at
EOS after the sink has flushed, 1 on an error (printed), 2 on a timeout.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

NTP_ERA = 2208988800  # seconds from 1900 to 1970


def pipeline_text(url: str, path: str, protocols: str, ntp: str) -> str:
    if url.startswith("rtmp"):
        sink = f"flvmux name=s streamable=true ! rtmp2sink location={url}"
        return (f"filesrc location={path} ! qtdemux name=d "
                f"d.video_0 ! queue ! h264parse ! identity sync=true ! queue ! s. "
                f"d.audio_0 ! queue ! aacparse ! identity sync=true ! queue ! s. {sink}")
    source = {"normal": "ntp", "hours": "clock-time", "running": "running-time", "unix": "unix"}[ntp]
    sink = f"rtspclientsink name=s location={url} protocols={protocols} ntp-time-source={source} latency=0"
    return (f"filesrc location={path} ! qtdemux name=d "
            f"d.video_0 ! queue ! h264parse ! identity sync=true ! s.sink_0 "
            f"d.audio_0 ! queue ! aacparse ! identity sync=true ! s.sink_1 {sink}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--protocols", default="tcp", choices=("tcp", "udp"))
    parser.add_argument("--ntp", default="normal", choices=("normal", "hours", "running", "unix"))
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    Gst.init(None)
    pipeline = Gst.parse_launch(pipeline_text(args.url, args.path, args.protocols, args.ntp))
    if args.ntp == "hours":
        clock = Gst.SystemClock()
        clock.set_property("clock-type", Gst.ClockType.REALTIME)
        internal = clock.get_internal_time()
        clock.set_calibration(internal, internal + int((NTP_ERA + args.hours * 3600) * Gst.SECOND), 1, 1)
        pipeline.use_clock(clock)
    loop = GLib.MainLoop()
    result = {"code": 2}

    def on_message(_bus: Gst.Bus, message: Gst.Message) -> None:
        if message.type == Gst.MessageType.EOS:
            result["code"] = 0
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            print(f"ERROR: {err.message} ({debug})", file=sys.stderr)
            result["code"] = 1
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(int(args.timeout * 1000), loop.quit)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    finally:
        pipeline.set_state(Gst.State.NULL)
    print(f"exit {result['code']}", file=sys.stderr)
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())
