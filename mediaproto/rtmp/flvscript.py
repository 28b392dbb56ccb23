"""FLV / RTMP script data bodies: ``onMetaData`` and the ``@setDataFrame`` wrapper.

>>> body = build_script("onMetaData", {"width": 320.0}, set_data_frame=True)
>>> parse_script(body)
ScriptData(name='onMetaData', value={'width': 320.0}, set_data_frame=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ParseError
from . import amf0
from .limits import Limits

__all__ = ["ScriptData", "parse_script", "build_script"]


@dataclass(frozen=True, slots=True)
class ScriptData:
    """A script data body: a name (``onMetaData``) and its value (an ECMA array or object).

    :param name: the handler name.
    :param value: the first value after the name (``None`` when there is none).
    :param set_data_frame: whether the body came wrapped in ``@setDataFrame`` (as RTMP publishers
        send metadata); the wrapper is removed from ``name``.
    """

    name: str
    value: Any = None
    set_data_frame: bool = False

    def to_bytes(self) -> bytes:
        """The body."""
        return build_script(self.name, self.value, set_data_frame=self.set_data_frame)


def parse_script(body: bytes | bytearray | memoryview, *, limits: Limits | None = None) -> ScriptData:
    """Parse a script data body (``[@setDataFrame,] name, value``).

    Do not trust what ``onMetaData`` announces (QUIRKS: ``videocodecid`` may be a string, missing,
    or name tracks that never come): tracks are detected from sequence headers.
    """
    values = amf0.loads_all(body, limits=limits or Limits())
    wrapped = False
    if values and values[0] == "@setDataFrame":
        wrapped = True
        values = values[1:]
    if not values or not isinstance(values[0], str):
        raise ParseError("script data without a name", offset=0)
    return ScriptData(values[0], values[1] if len(values) > 1 else None, wrapped)


def build_script(name: str, value: Any = None, *, set_data_frame: bool = False) -> bytes:
    """Write a script data body; with ``set_data_frame`` wrapped as ``@setDataFrame`` for RTMP."""
    values: list[Any] = ["@setDataFrame"] if set_data_frame else []
    values.append(name)
    if value is not None:
        values.append(value)
    return amf0.dumps_all(values)
