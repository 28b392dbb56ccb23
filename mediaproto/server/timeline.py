"""Put an RTSP publisher's tracks on one timeline.

RTP timestamps start at a random value per track, so two tracks cannot be aligned from their
timestamps alone; the publisher's RTCP sender reports map each track's RTP clock to wall-clock
time. A track's first frame is placed at its sender-report wall-clock time (or, before any report,
its arrival time) relative to the stream's epoch; later frames follow by their RTP timestamps.
"""

from __future__ import annotations

import time

from ..clock import RtpClockMap, ntp_to_unix
from ..media import Frame
from ..rtp.rtcp import SenderReport


class TrackTimeline:
    """One track of a publisher: its RTP clock, and the offset onto the stream's timeline."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.clock = RtpClockMap(rate)
        self.offset: int | None = None

    def add_report(self, report: SenderReport) -> None:
        """A sender report of this track."""
        self.clock.add_report(ntp_to_unix(report.ntp_timestamp), report.rtp_timestamp)

    def pts(self, frame_pts: int, epoch: float) -> int:
        """``frame_pts`` (the unwrapped RTP timestamp) on the timeline whose zero is ``epoch``."""
        if self.offset is None:
            wall = self.clock.wallclock(frame_pts & 0xFFFFFFFF) if self.clock.has_report else None
            if wall is None:
                wall = time.time()
            self.offset = round((wall - epoch) * self.rate) - frame_pts
        return frame_pts + self.offset

    def frame(self, frame: Frame, epoch: float) -> Frame:
        """``frame`` moved onto the timeline (pts and dts by the same offset)."""
        pts = self.pts(frame.pts, epoch)
        return Frame(frame.track_id, pts, pts + (frame.dts - frame.pts), frame.data, frame.keyframe)
