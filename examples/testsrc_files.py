"""Write N seconds of the built-in test source to out.h264 (Annex B) and out.aac (ADTS).

    python examples/testsrc_files.py 10
    python examples/testsrc_files.py 5 --size 1280x720 --rate 30000/1001 --sample-rate 44100 --mono

Then view and listen with the ffplay commands it prints. The files are the raw elementary streams,
no container: players guess the frame rate of a .h264 file from the SPS timing (we write VUI), and
the sample rate of a .aac file from the ADTS headers.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mediaproto.testsrc import TestSource, adts_stream, annexb_stream  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seconds", type=float, nargs="?", default=10.0, help="seconds of media (default 10)")
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT, both even (default 320x240)")
    parser.add_argument("--rate", default="25", help="frame rate, e.g. 25 or 30000/1001 (default 25)")
    parser.add_argument("--keyframe-interval", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument("--sample-rate", type=int, default=48000, choices=(44100, 48000))
    parser.add_argument("--mono", action="store_true", help="one audio channel instead of two")
    parser.add_argument("--start-time", type=float, default=0.0, help="seconds shown by the clock at 0")
    parser.add_argument("--out-dir", type=Path, default=Path("."), help="where to write (default .)")
    args = parser.parse_args(argv)

    width, height = (int(v) for v in args.size.lower().split("x"))
    src = TestSource(
        width=width, height=height, frame_rate=Fraction(args.rate), keyframe_interval=args.keyframe_interval,
        sample_rate=args.sample_rate, channels=1 if args.mono else 2, start_time=args.start_time,
    )
    frames = src.frames_until(args.seconds)
    video_path = args.out_dir / "out.h264"
    audio_path = args.out_dir / "out.aac"
    video_path.write_bytes(annexb_stream(frames))
    audio_path.write_bytes(adts_stream(frames, src.tracks[1].config))
    n_video, n_audio = src.frames_generated
    print(f"{video_path}: {n_video} frames, {width}x{height} at {src.frame_rate} fps, "
          f"H.264 Constrained Baseline level {src.level_idc / 10:g}, {video_path.stat().st_size} bytes")
    print(f"{audio_path}: {n_audio} AAC-LC frames, {args.sample_rate} Hz, "
          f"{'mono' if args.mono else 'stereo'}, {src.tone_frequency:g} Hz tone, {audio_path.stat().st_size} bytes")
    print("view:   ffplay -autoexit", video_path)
    print("listen: ffplay -autoexit -nodisp", audio_path)
    print(f"both:   ffmpeg -i {video_path} -i {audio_path} -c copy out.mp4 && ffplay -autoexit out.mp4")
    return 0


if __name__ == "__main__":
    sys.exit(main())
