"""CI's wheel check: the installed ``mediaproto-server`` (path in argv[1]) serves live/test over
HLS, RTSP and RTMP on free ports of 127.0.0.1, then stops on SIGINT. Exit status 0 when it does."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    command = sys.argv[1]
    rtmp, rtsp, http = free_port(), free_port(), free_port()
    rtp = free_port(socket.SOCK_DGRAM) & ~1
    proc = subprocess.Popen([command, "--rtmp-port", str(rtmp), "--rtsp-port", str(rtsp), "--http-port", str(http),
                             "--rtp-port", str(rtp)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/live/test/index.m3u8", timeout=5) as r:
                    if b"#EXTINF" in r.read():
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                print("the installed server did not serve live/test over HLS", file=sys.stderr)
                return 1
            time.sleep(0.3)
        ffprobe = shutil.which("ffprobe")
        if ffprobe:
            for url in (f"rtsp://127.0.0.1:{rtsp}/live/test", f"rtmp://127.0.0.1:{rtmp}/live/test"):
                out = subprocess.run([ffprobe, "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                                      url], capture_output=True, text=True, timeout=30)
                if sorted(out.stdout.split()) != ["aac", "h264"]:
                    print(f"ffprobe {url}: {out.stdout!r} {out.stderr[-500:]}", file=sys.stderr)
                    return 1
        print("wheel: the installed mediaproto-server serves live/test over HLS, RTSP and RTMP")
        return 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
