"""The server's configuration file: TOML, read with the standard library's :mod:`tomllib`.

Top-level keys are the fields of :class:`~mediaproto.server.config.Config` (``host``,
``rtmp_port``, ``hls_segment``, ...); ``[limits]`` holds those of
:class:`~mediaproto.server.config.Limits`; ``[path_defaults]`` the settings every path starts from;
and ``[paths."NAME"]`` the settings of the paths ``NAME`` matches (an exact path, ``~REGEX``, or
``all_others``), each a :class:`~mediaproto.server.config.PathConfig` field::

    rtmp_port = 1935

    [paths."live/secret"]
    read_user = "viewer"
    read_pass = "letmein"

    [paths."~^cams/"]
    source = "rtsp://admin:admin@192.168.1.20/stream1"
    source_on_demand = true

A file with a mistake raises :class:`ConfigError`, whose message names the key and the line
(``server.toml:7: paths."live/cam".source_transport: expected "tcp" or "udp", got 'sctp'``);
:func:`dumps` writes a configuration back as TOML (``mediaproto-server --print-config``).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import fields
from typing import Any

from .config import CATCH_ALL, Config, Limits, PathConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib: the file needs 3.11
    tomllib = None

__all__ = ["ConfigError", "load", "loads", "dumps"]

#: Top-level keys that are not settings of the file (the command line sets them).
_NOT_IN_FILE = {"limits", "paths", "config_file"}
_CHOICES = {"source_transport": ("tcp", "udp"), "hls_container": ("ts", "fmp4")}


class ConfigError(ValueError):
    """A configuration file that cannot be used: ``str()`` is one line naming file, line and key."""

    def __init__(self, message: str, *, filename: str = "<config>", line: int | None = None,
                 key: str | None = None) -> None:
        where = f"{filename}:{line}" if line is not None else filename
        text = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        super().__init__(text)
        self.filename = filename
        self.line = line
        self.key = key


def load(filename: str) -> Config:
    """Read the configuration file ``filename`` (:class:`ConfigError` when it cannot be used)."""
    try:
        with open(filename, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file: {exc.strerror or exc}", filename=filename) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", filename=filename, line=line) from exc
    config = loads(text, filename=filename)
    config.config_file = filename
    return config


def loads(text: str, *, filename: str = "<config>") -> Config:
    """The :class:`Config` of TOML ``text`` (``filename`` only names it in errors)."""
    if tomllib is None:  # pragma: no cover
        raise ConfigError("reading TOML needs Python 3.11 (tomllib)", filename=filename)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        msg = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ConfigError(f"not valid TOML: {msg}", filename=filename, line=int(m[1]) if m else None) from exc
    locate = _Locator(text)

    def fail(keys: tuple[str, ...], message: str) -> ConfigError:
        return ConfigError(message, filename=filename, line=locate(keys), key=_dotted(keys))

    config = Config()
    top = {f.name: f for f in fields(Config)}
    for key, value in doc.items():
        if key == "limits":
            config.limits = _dataclass_from(Limits, value, ("limits",), fail)
        elif key == "paths":
            if not isinstance(value, dict):
                raise fail(("paths",), "expected a table of paths")
            for name, settings in value.items():
                _check_path_name(name, ("paths", name), fail)
                config.paths[name] = settings  # resolved below, over path_defaults
        elif key == "path_defaults":
            pass
        elif key in top and key not in _NOT_IN_FILE:
            setattr(config, key, _value(key, value, getattr(config, key), (key,), fail))
        else:
            raise fail((key,), "unknown setting")
    defaults = _dataclass_from(PathConfig, doc.get("path_defaults", {}), ("path_defaults",), fail)
    config.paths = {name: _dataclass_from(PathConfig, settings, ("paths", name), fail, base=defaults)
                    for name, settings in config.paths.items()}
    if "path_defaults" in doc and not config.paths:
        config.paths = {"all_others": defaults}
    return config


def _check_path_name(name: str, keys: tuple[str, ...], fail: Any) -> None:
    if name.startswith("~"):
        try:
            re.compile(name[1:])
        except re.error as exc:
            raise fail(keys, f"not a regular expression: {exc}") from exc
    elif not name or name.startswith("/") or name.endswith("/") or "//" in name or "?" in name:
        raise fail(keys, "a path is NAME or APP/NAME, without a leading or trailing slash or a query")


def _dataclass_from(cls: Any, table: Any, keys: tuple[str, ...], fail: Any, base: Any = None) -> Any:
    if not isinstance(table, dict):
        raise fail(keys, "expected a table")
    obj = cls() if base is None else _copy(base)
    known = {f.name for f in fields(cls)}
    for key, value in table.items():
        if key not in known:
            raise fail(keys + (key,), "unknown setting")
        setattr(obj, key, _value(key, value, getattr(cls(), key), keys + (key,), fail))
    if cls is PathConfig:
        _check_path(obj, keys, fail)
    return obj


def _copy(obj: Any) -> Any:
    return type(obj)(**{f.name: getattr(obj, f.name) for f in fields(obj)})


def _check_path(p: PathConfig, keys: tuple[str, ...], fail: Any) -> None:
    if p.source != "publisher" and not re.match(r"(rtsp|rtmp)://[^/\s]+", p.source):
        raise fail(keys + ("source",), f'expected "publisher", an rtsp:// or an rtmp:// URL, got {p.source!r}')
    for who in ("publish", "read"):
        if (getattr(p, f"{who}_user") is None) != (getattr(p, f"{who}_pass") is None):
            raise fail(keys + (f"{who}_user",), f"{who}_user and {who}_pass go together")
    if p.source_retry <= 0 or p.source_retry_max < p.source_retry:
        raise fail(keys + ("source_retry",), "expected 0 < source_retry <= source_retry_max")
    if p.record_segment <= 0:
        raise fail(keys + ("record_segment",), "expected a positive number of seconds")
    if "%path" not in p.record_path and p.record and keys[-1] not in CATCH_ALL and keys[-1].startswith("~"):
        raise fail(keys + ("record_path",), "a pattern's record_path needs %path (paths would share files)")


def _value(key: str, value: Any, default: Any, keys: tuple[str, ...], fail: Any) -> Any:
    """``value`` checked against the type of the field's ``default``."""
    if key in _CHOICES and value not in _CHOICES[key]:
        expected = " or ".join(f'"{c}"' for c in _CHOICES[key])
        raise fail(keys, f"expected {expected}, got {value!r}")
    if key == "test_size":
        if (not isinstance(value, list) or len(value) != 2 or not all(type(v) is int and v > 0 for v in value)):
            raise fail(keys, "expected [WIDTH, HEIGHT]")
        return (value[0], value[1])
    if isinstance(default, bool) or key in ("ll_hls", "test_source", "verbose"):
        if not isinstance(value, bool):
            raise fail(keys, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool) or key.endswith("_port"):
        if type(value) is not int:
            raise fail(keys, f"expected a whole number, got {value!r}")
        if value < 0 or (key.endswith("_port") and value > 65535):
            raise fail(keys, f"out of range: {value}")
        return value
    if isinstance(default, float):
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            raise fail(keys, f"expected a number of seconds >= 0, got {value!r}")
        return float(value)
    if isinstance(default, str) or default is None:
        if not isinstance(value, str):
            raise fail(keys, f"expected a string, got {value!r}")
        return value
    raise fail(keys, "cannot be set in the file")  # pragma: no cover


def _dotted(keys: tuple[str, ...]) -> str:
    return ".".join(k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else f'"{k}"' for k in keys)


class _Locator:
    """Finds the line of a key in TOML text (tomllib gives values, not positions)."""

    _HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
    _KEY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_-]+)\s*=')

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    @staticmethod
    def _split(header: str) -> tuple[str, ...]:
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', header)
        return tuple(a or b or c for a, b, c in parts)

    def __call__(self, keys: tuple[str, ...]) -> int | None:
        table: tuple[str, ...] = ()
        header_line = None
        for number, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if m:
                table = self._split(m[1])
                if table == keys:
                    header_line = number
                continue
            k = self._KEY.match(line)
            if k and table + (k[1].strip('"'),) == keys:
                return number
        return header_line


#: Settings whose values --print-config does not show (it says they are set).
SECRETS = frozenset({"token", "rtsp_password", "api_token", "publish_pass", "publish_token", "read_pass",
                     "read_token"})


def _setting(name: str, value: Any, show_secrets: bool) -> str:
    if value is None:
        return f"# {name} is not set"
    if name in SECRETS and not show_secrets:
        return f'{name} = "********"  # set (--print-config --show-secrets shows it)'
    return f"{name} = {_toml(value)}"


def dumps(config: Config, *, show_secrets: bool = False) -> str:
    """``config`` as the TOML of a configuration file (what ``--print-config`` shows); passwords
    and tokens are masked unless ``show_secrets``."""
    out = ["# mediaproto-server: the effective configuration"]
    for f in fields(Config):
        if f.name in _NOT_IN_FILE:
            continue
        out.append(_setting(f.name, getattr(config, f.name), show_secrets))
    out += ["", "[limits]"]
    out += [f"{f.name} = {_toml(getattr(config.limits, f.name))}" for f in fields(Limits)]
    paths = config.paths or {"all_others": PathConfig()}
    for name, p in paths.items():
        out += ["", f"[paths.{_toml(name)}]"]
        for f in fields(PathConfig):
            out.append(_setting(f.name, getattr(p, f.name), show_secrets))
    return "\n".join(out) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
