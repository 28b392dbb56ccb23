"""The configuration file: the sample in docs/ loads, paths match as documented, mistakes name the
key and the line, --print-config writes what loads back, flags override the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mediaproto.server.cli import parse_args
from mediaproto.server.config import Config, PathConfig
from mediaproto.server.configfile import ConfigError, dumps, load, loads
from mediaproto.server.context import stream_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "mediaproto-server.toml"
COMMAND = [sys.executable, "-m", "mediaproto.server"]


def test_the_sample_file_loads_and_matches_paths_as_documented() -> None:
    config = load(str(SAMPLE))
    assert config.rtmp_port == 1935 and config.limits.gop_frames == 1500
    private = config.path("live/private")
    assert private is not None and (private.read_user, private.read_pass) == ("viewer", "letmein")
    assert private.publish_user is None
    studio = config.path("live/studio")
    assert studio is not None and studio.record and studio.publish_token == "s3cret"
    # path_defaults reach every path
    assert studio.record_path == "recordings/%path/%Y-%m-%d_%H-%M-%S-%f"
    cam = config.path("cams/door")
    assert cam is not None and cam.pulled and cam.source_transport == "udp" and cam.source_on_demand
    # the pattern: every other live/ path is open; anything else is not configured
    other = config.path("live/anything")
    assert other is not None and other.read_user is None and not other.pulled
    assert config.path("elsewhere/x") is None


def test_without_a_file_every_path_is_open_and_the_token_guards_publishing() -> None:
    assert Config().path("any/thing") == PathConfig()
    guarded = Config(token="t").path("live/x")
    assert guarded is not None and guarded.publish_token == "t" and guarded.read_token is None


def test_exact_names_win_then_patterns_in_order_then_all_others() -> None:
    config = loads('[paths."live/a"]\nread_token = "exact"\n[paths."~^live/"]\nread_token = "first"\n'
                   '[paths."~a$"]\nread_token = "second"\n[paths.all_others]\nread_token = "rest"\n')
    assert [config.path(n).read_token for n in ("live/a", "live/b", "x/a", "y")] == \
        ["exact", "first", "second", "rest"]  # type: ignore[union-attr]


@pytest.mark.parametrize("text, line, key, words", [
    ('rtmp_port = 1935\n\nrtsp_port = "8554"\n', 3, "rtsp_port", "whole number"),
    ('host = "x"\n[paths."live/cam"]\nsource = "rtsp://cam/1"\nsource_transport = "sctp"\n', 4,
     'paths."live/cam".source_transport', '"tcp" or "udp"'),
    ('[limits]\ngop_frames = 10\nhigh_waters = 5\n', 3, "limits.high_waters", "unknown setting"),
    ('colour = "blue"\n', 1, "colour", "unknown setting"),
    ('[paths."live/x"]\nread_user = "a"\n', 2, 'paths."live/x".read_user', "go together"),
    ('[paths."~(unclosed"]\n', 1, 'paths."~(unclosed"', "regular expression"),
    ('[paths."live/x"]\nsource = "http://x/y"\n', 2, 'paths."live/x".source', "rtsp://"),
    ('rtmp_port = 99999\n', 1, "rtmp_port", "out of range"),
    ('hls_segment = -1\n', 1, "hls_segment", ">= 0"),
    ('ll_hls = true\nhls_container = "mkv"\n', 2, "hls_container", '"ts" or "fmp4"'),
])
def test_a_mistake_names_the_key_and_its_line(text: str, line: int, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(text, filename="server.toml")
    message = str(info.value)
    assert message.startswith(f"server.toml:{line}: {key}: "), message
    assert words in message and "\n" not in message


def test_invalid_toml_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        loads('host = "127.0.0.1"\nrtmp_port = = 3\n', filename="s.toml")
    assert str(info.value).startswith("s.toml:2: not valid TOML"), info.value


def test_print_config_loads_back_to_the_same_configuration() -> None:
    config = load(str(SAMPLE))
    again = loads(dumps(config, show_secrets=True))
    assert again.paths == config.paths and again.limits == config.limits
    assert (again.host, again.rtmp_port, again.rtmp_play_wait) == (config.host, config.rtmp_port, config.rtmp_play_wait)


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('rtmp_port = 2000\nhttp_port = 2001\n[limits]\ngop_frames = 7\n')
    config = parse_args(["--config", str(path), "--http-port", "3001"])
    assert (config.rtmp_port, config.http_port, config.limits.gop_frames) == (2000, 3001, 7)
    assert config.rtsp_port == Config().rtsp_port  # neither in the file nor a flag: the default


def test_the_command_prints_the_effective_configuration(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('rtmp_port = 2000\n[paths."live/x"]\nread_token = "t"\n')
    out = subprocess.run([*COMMAND, "--config", str(path), "--rtsp-port", "2002", "--print-config"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    printed = loads(out.stdout)
    assert (printed.rtmp_port, printed.rtsp_port) == (2000, 2002)
    assert printed.paths["live/x"].read_token == "********"  # secrets are masked ...
    out = subprocess.run([*COMMAND, "--config", str(path), "--print-config", "--show-secrets"],
                         capture_output=True, text=True, timeout=30)
    assert loads(out.stdout).paths["live/x"].read_token == "t"  # ... unless asked for


@pytest.mark.parametrize("content, expected", [
    ('rtmp_port = "x"\n', 'mediaproto-server: --config {f}:1: rtmp_port: expected a whole number, got \'x\''),
    (None, "mediaproto-server: --config {f}: cannot read the configuration file: No such file or directory"),
])
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "s.toml"
    if content is not None:
        path.write_text(content)
    out = subprocess.run([*COMMAND, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [expected.format(f=path)]


def test_a_recording_directory_without_permission_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:  # root may write anywhere but in sysfs (EPERM there)
        locked = Path("/sys/mediaproto-no-such-dir")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    path = tmp_path / "s.toml"
    path.write_text(f'[paths."live/x"]\nrecord = true\nrecord_path = "{locked}/%path/%H"\n')
    out = subprocess.run([*COMMAND, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "record_path" in lines[0], lines
    assert "permission denied" in lines[0] or "operation not permitted" in lines[0], lines


def test_a_recording_path_through_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = tmp_path / "s.toml"
    path.write_text(f'[paths."live/x"]\nrecord = true\nrecord_path = "{blocker}/sub/%H"\n')
    out = subprocess.run([*COMMAND, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a directory" in lines[0] and "paths.live/x.record_path" in lines[0], lines


@pytest.mark.parametrize("app, key, expected", [
    ("live", "cam", ("live/cam", "")),
    ("live", "cam?user=a&pass=b", ("live/cam", "user=a&pass=b")),
    ("mine", "", ("mine", "")),  # rtmp://host/mine publishes "mine", not "mine/"
    ("live?token=x", "cam", ("live/cam", "token=x")),
    ("a/b", "c/", ("a/b/c", "")),
])
def test_rtmp_paths(app: str, key: str, expected: tuple[str, str]) -> None:
    assert stream_path(app, key) == expected
