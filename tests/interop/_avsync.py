"""A/V sync measurement with real tools: a source with a white flash and a beep at known times, and
an analysis of anything ffmpeg can read (a file or a URL) that finds each flash and each beep.

The source (:func:`make_source`) is made by ffmpeg from lavfi: dark moving video (testsrc2 with its
luma divided by four, so x264 has motion to put B-frames on), where frame ``n`` with ``n % 50 == 25``
is filled white (at 25 fps: 1, 3, 5, 7, 9 s), and a 1 kHz sine that is on for 100 ms from each of
the same instants. Encoded as H.264 Main with B-frames (``-bf 2``) and AAC, a keyframe every second.
Its A/V offset is 0 by construction; :func:`analyse` on the file itself measures what the encoders
and decoders add (the expected value every output is compared with).

:func:`analyse` runs one ffmpeg that decodes the first video stream through
``scale=16:16,format=gray,showinfo`` (the mean luma and pts of every decoded frame) and the first
audio stream through ``aresample=async=1:first_pts=0`` to 16 kHz mono s16le (sample ``i`` is at
``i / 16000`` s on the same timeline as the video pts, gaps filled with silence). A flash is a frame
whose mean luma is above :data:`FLASH_LUMA`; a beep starts at the first millisecond whose RMS passes
:data:`BEEP_RMS` after at least :data:`QUIET_BEFORE` s of quiet. Each flash is paired with the
nearest beep within half a second; the offset is beep minus flash. ffmpeg runs with
``-loglevel level+info``, so decoder errors are the lines it tags ``[error]`` (or worse).
"""

from __future__ import annotations

import array
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SECONDS = 9.5
FPS = 25
RATE = 48000
#: Times of the flashes and of the beeps in the source (seconds).
EVENTS = (1.0, 3.0, 5.0, 7.0, 9.0)
#: Sample rate of the PCM the analysis reads.
PCM_RATE = 16000
#: Mean luma (0-255, of a 16x16 gray frame) above which a frame is a flash; the dark background
#: is about 18 and the flash 255.
FLASH_LUMA = 128
#: RMS (of s16 samples over 1 ms) above which the beep is on; the beep's is about 11,600.
BEEP_RMS = 2000.0
#: A beep only starts after this long below :data:`BEEP_RMS`.
QUIET_BEFORE = 0.2
#: A beep pairs with a flash only this close (seconds).
PAIR_WINDOW = 0.5

_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(-?[\d.]+).*?\bmean:\[(\d+)")
_LEVEL = re.compile(r"\[(panic|fatal|error|warning)\]")


def source_args(seconds: float = SECONDS, fps: int = FPS, rate: int = RATE) -> list[str]:
    """The ffmpeg input arguments of the flash/beep source (two lavfi inputs)."""
    period = 2 * fps  # a flash every 2 s, the first at 1 s
    video = (f"testsrc2=s=320x240:r={fps}:d={seconds},lutyuv=y=val/4,"
             f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(mod(n\\,{period})\\,{fps})'")
    audio = f"aevalsrc='0.5*sin(2*PI*1000*t)*gte(t\\,1)*lt(mod(t-1\\,2)\\,0.1)':s={rate}:d={seconds}"
    return ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio]


def make_source(ffmpeg: str, out: Path, *, seconds: float = SECONDS, fps: int = FPS, rate: int = RATE) -> Path:
    """Write the flash/beep source as H.264 Main with B-frames + AAC (mono) to ``out`` (.mp4, .mkv,
    .flv: ffmpeg picks the container by the name)."""
    subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-y", *source_args(seconds, fps, rate),
         "-c:v", "libx264", "-profile:v", "main", "-bf", "2", "-g", str(fps), "-keyint_min", str(fps),
         "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-b:v", "400k",
         "-c:a", "aac", "-b:a", "96k", "-ac", "1", str(out)],
        check=True, timeout=120, capture_output=True)
    return out


@dataclass
class Analysis:
    """What :func:`analyse` found in one input."""

    source: str
    returncode: int
    #: The ffmpeg was killed at the timeout (what it decoded until then is here).
    timed_out: bool = False
    #: pts (seconds) of every decoded video frame, in decoding output order.
    video_pts: list[float] = field(default_factory=list)
    #: Times (seconds) of the flashes and of the beep onsets.
    flashes: list[float] = field(default_factory=list)
    beeps: list[float] = field(default_factory=list)
    #: Seconds of audio decoded (silence filling gaps included, leading padding from 0 too).
    audio_seconds: float = 0.0
    #: Lines ffmpeg tagged [error]/[fatal]/[panic], and [warning].
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def video_frames(self) -> int:
        return len(self.video_pts)

    def pairs(self) -> list[tuple[float, float]]:
        """(flash time, beep minus flash) for each flash that has a beep within :data:`PAIR_WINDOW`."""
        out = []
        for flash in self.flashes:
            near = [b for b in self.beeps if abs(b - flash) <= PAIR_WINDOW]
            if near:
                beep = min(near, key=lambda b: abs(b - flash))
                out.append((flash, beep - flash))
        return out

    def offsets_ms(self) -> list[float]:
        return [round(off * 1000, 1) for _, off in self.pairs()]

    def frames_from(self, t: float) -> int:
        """Video frames with pts at or after ``t``."""
        return sum(1 for p in self.video_pts if p >= t - 1e-6)

    def summary(self) -> str:
        return (f"{self.source}: rc={self.returncode}{' TIMED OUT' if self.timed_out else ''} video={self.video_frames} frames "
                f"(pts {min(self.video_pts, default=0):.3f}..{max(self.video_pts, default=0):.3f}), "
                f"audio={self.audio_seconds:.3f} s, flashes={[round(f, 3) for f in self.flashes]}, "
                f"beeps={[round(b, 3) for b in self.beeps]}, offsets_ms={self.offsets_ms()}, "
                f"errors={len(self.errors)}")


def flashes(frames: list[tuple[float, int]]) -> list[float]:
    """The pts of each frame that starts a run of bright frames, in pts order."""
    out = []
    bright_before = False
    for pts, luma in sorted(frames):
        bright = luma > FLASH_LUMA
        if bright and not bright_before:
            out.append(pts)
        bright_before = bright
    return out


def beeps(pcm: bytes, rate: int = PCM_RATE) -> list[float]:
    """Onsets (seconds from sample 0) of the bursts in mono s16le ``pcm``, to 1 ms."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":  # pragma: no cover
        samples.byteswap()
    window = rate // 1000
    out: list[float] = []
    quiet = 0.0
    threshold = BEEP_RMS * BEEP_RMS * window
    for start in range(0, len(samples) - window + 1, window):
        energy = sum(s * s for s in samples[start:start + window])
        if energy > threshold:
            if quiet >= QUIET_BEFORE:
                # refine to the first sample of the window whose magnitude passes the threshold
                first = next((i for i in range(start, start + window) if abs(samples[i]) > BEEP_RMS), start)
                out.append(first / rate)
            quiet = 0.0
        else:
            quiet += window / rate
    return out


def analyse(ffmpeg: str, source: str | Path, *before_input: str, timeout: float = 60,
            workdir: Path | None = None) -> Analysis:
    """Decode ``source`` (a file or a URL; ``before_input`` goes before ``-i``, e.g.
    ``-rtsp_transport udp``) and measure it. Past ``timeout`` ffmpeg is killed and what it decoded
    until then is measured (``timed_out`` is set)."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        pcm_path = Path(tmp) / "audio.s16"
        proc = subprocess.Popen(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "level+info", *before_input, "-i", str(source),
             "-map", "0:v:0", "-vf", "scale=16:16,format=gray,showinfo", "-fps_mode", "passthrough", "-f", "null", "-",
             "-map", "0:a:0", "-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", str(PCM_RATE),
             "-f", "s16le", "-y", str(pcm_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        timed_out = False
        try:
            _, log = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, log = proc.communicate()
            timed_out = True
        pcm = pcm_path.read_bytes() if pcm_path.exists() else b""
    result = parse(str(source), proc.returncode, log, pcm)
    result.timed_out = timed_out
    return result


def parse(source: str, returncode: int, log: str, pcm: bytes) -> Analysis:
    """The :class:`Analysis` of one ffmpeg run's log and PCM output."""
    result = Analysis(source, returncode)
    frames = []
    for line in log.splitlines():
        m = _SHOWINFO.search(line)
        if m and "Parsed_showinfo" in line:
            frames.append((float(m.group(3)), int(m.group(4))))
            continue
        level = _LEVEL.search(line)
        if level:
            (result.warnings if level.group(1) == "warning" else result.errors).append(line)
    result.video_pts = [pts for pts, _ in frames]
    result.flashes = flashes(frames)
    result.beeps = beeps(pcm)
    result.audio_seconds = len(pcm) / 2 / PCM_RATE
    return result


def within(offsets_ms: list[float], reference_ms: float, tolerance_ms: float) -> bool:
    return all(abs(o - reference_ms) <= tolerance_ms for o in offsets_ms)
