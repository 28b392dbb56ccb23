"""The one endpoint contract (mediaproto.endpoint): signatures, events, states and misuse.

- RTMP and RTSP, client and server, have the same signatures for the contract's methods, conform
  to the Protocols, and expose ``closed``/``broken``.
- Every event class of the core derives from ``mediaproto.endpoint.Event``, and a name means one
  class (``FrameReceived``, ``ConnectionClosed``).
- Every endpoint takes one documented configuration dataclass.

``tests/test_endpoint_states.py`` tries every call in every state of the four endpoints.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from dataclasses import FrozenInstanceError, fields, is_dataclass
from typing import Any

import pytest

import mediaproto
from mediaproto import endpoint, mpegts, rtmp, rtsp
from mediaproto.endpoint import DatagramEndpoint, Event, FrameReceived, StateMachine, StreamEndpoint
from mediaproto.errors import LocalProtocolError
from mediaproto.media import Frame
from mediaproto.rtmp.states import SERVER_STREAM_TRANSITIONS, StreamInput, StreamState

ENDPOINTS = [rtmp.ServerConnection, rtmp.ClientConnection, rtsp.ServerConnection, rtsp.ClientConnection]
CONTRACT = ["receive_data", "data_to_send", "next_timer", "handle_timer"]


def _make(cls: type) -> Any:
    if cls is rtmp.ClientConnection:
        return cls("live")
    if cls is rtsp.ClientConnection:
        return cls("rtsp://h/live/test")
    return cls()


# -- signatures and Protocols ---------------------------------------------------------------------

@pytest.mark.parametrize("name", CONTRACT)
def test_contract_methods_have_one_signature(name: str) -> None:
    want = inspect.signature(getattr(StreamEndpoint, name))
    for cls in ENDPOINTS:
        assert inspect.signature(getattr(cls, name)) == want, (cls.__module__, name)


@pytest.mark.parametrize("name", ["receive_datagram", "datagrams_to_send"])
def test_datagram_methods_have_one_signature(name: str) -> None:
    want = inspect.signature(getattr(DatagramEndpoint, name))
    for cls in (rtsp.ServerConnection, rtsp.ClientConnection):
        assert inspect.signature(getattr(cls, name)) == want


def test_now_is_required_everywhere() -> None:
    for cls in ENDPOINTS:
        for name in ("receive_data", "handle_timer"):
            now = inspect.signature(getattr(cls, name)).parameters["now"]
            assert now.default is inspect.Parameter.empty, (cls, name)
    for cls in (rtsp.ServerConnection, rtsp.ClientConnection):
        assert inspect.signature(cls.receive_datagram).parameters["now"].default is inspect.Parameter.empty
    assert inspect.signature(rtsp.ClientConnection.start).parameters["now"].default is inspect.Parameter.empty
    for cls in (rtmp.ServerConnection, rtmp.ClientConnection):  # the ping timer starts from the first now
        assert "now" not in inspect.signature(cls).parameters


@pytest.mark.parametrize("cls", ENDPOINTS)
def test_endpoints_conform_to_the_protocols(cls: type) -> None:
    conn = _make(cls)
    assert isinstance(conn, StreamEndpoint)
    assert isinstance(conn, DatagramEndpoint) == cls.__module__.startswith("mediaproto.rtsp")
    for name in ("closed", "broken"):
        assert isinstance(getattr(cls, name), property)
        assert getattr(conn, name) is False
    assert conn.receive_data(b"", 1.0) == [endpoint.ConnectionClosed()]
    assert conn.closed and not conn.broken and conn.next_timer() is None
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x", 2.0)


def test_configuration_is_one_dataclass_per_endpoint() -> None:
    for cls, config in ((rtmp.ServerConnection, rtmp.ServerConfiguration),
                        (rtmp.ClientConnection, rtmp.ClientConfiguration),
                        (rtsp.ServerConnection, rtsp.ServerConfiguration),
                        (rtsp.ClientConnection, rtsp.ClientConfiguration)):
        assert is_dataclass(config)
        params = inspect.signature(cls).parameters
        assert "configuration" in params and params["configuration"].default is None
        assert len(params) <= 4  # the per-session values and the configuration, nothing else
        conn = _make(cls)
        assert isinstance(conn.configuration, config)
        source = inspect.getsource(config).splitlines()
        for f in fields(config):
            at = next(i for i, line in enumerate(source) if line.strip().startswith(f.name + ":"))
            start = at
            while source[start - 1].strip().startswith("#:"):
                start -= 1
            doc = " ".join(source[start:at])
            assert doc, f"{config.__name__}.{f.name} is not documented"
            assert "default" in doc, f"{config.__name__}.{f.name}: the documentation names no default"


# -- one event base, one name per event ---------------------------------------------------------------

def _core_modules() -> list[types.ModuleType]:
    mods = []
    for info in pkgutil.walk_packages(mediaproto.__path__, "mediaproto."):
        if info.name.startswith(("mediaproto.aio", "mediaproto.server")):
            continue  # the I/O layer (another package's work); the core is what returns events
        mods.append(importlib.import_module(info.name))
    return mods


#: Unions named ``...Event`` that are not events: the RTSP parser's output (messages).
NOT_EVENTS = {("mediaproto.rtsp.message", "Event")}


def _event_classes() -> set[type]:
    found: set[type] = set()
    for mod in _core_modules():
        for name, value in vars(mod).items():
            if mod.__name__.endswith(".events") and isinstance(value, type) and value.__module__ == mod.__name__:
                found.add(value)
            if isinstance(value, types.UnionType) and name.endswith("Event") and (mod.__name__, name) not in NOT_EVENTS:
                found.update(a for a in value.__args__ if isinstance(a, type))
    return found


def test_every_event_derives_from_the_one_base() -> None:
    classes = _event_classes()
    names = {c.__name__ for c in classes}
    # the walk really finds the events of every protocol
    assert {"ConnectRequested", "PlayStarted", "DescribeRequested", "SessionEnded", "SegmentReady", "SyncLost",
            "FrameReceived", "TracksChanged"} <= names
    bad = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, Event))
    assert bad == []
    for c in classes:
        assert is_dataclass(c) and c.__dataclass_params__.frozen, c  # type: ignore[attr-defined]
        assert "__slots__" in vars(c), c
    assert issubclass(rtmp.Event, Event) and issubclass(rtsp.RtspEvent, Event)


def test_a_name_means_one_class() -> None:
    """No two classes of the core share an event's name (FrameReceived existed three times)."""
    by_name: dict[str, set[type]] = {}
    for mod in _core_modules():
        for value in vars(mod).values():
            if isinstance(value, type) and issubclass(value, Event):
                by_name.setdefault(value.__name__, set()).add(value)
    for name in ("FrameReceived", "ConnectionClosed"):
        assert by_name[name] == {getattr(endpoint, name)}
    assert rtmp.FrameReceived is rtsp.FrameReceived is mpegts.FrameReceived is FrameReceived
    assert rtmp.ConnectionClosed is rtsp.ConnectionClosed is endpoint.ConnectionClosed
    assert rtsp.Datagram is endpoint.Datagram


def test_frame_received_fields() -> None:
    f = Frame(1, 0, 0, b"x", True)
    e = FrameReceived(f)
    assert (e.frame, e.stream_id, e.size, e.sequence_number) == (f, 0, 0, 0)
    with pytest.raises(FrozenInstanceError):
        e.stream_id = 3  # type: ignore[misc]


def test_state_machine_helper() -> None:
    m = StateMachine("m", SERVER_STREAM_TRANSITIONS, StreamState.CREATED)
    assert m.allows(StreamInput.PLAY) and not m.allows(StreamInput.ACCEPT_PLAY)
    with pytest.raises(LocalProtocolError, match="ACCEPT_PLAY is not allowed in state CREATED"):
        m.fire(StreamInput.ACCEPT_PLAY)
    assert m.state is StreamState.CREATED  # a refused input does not move the machine
    assert m.fire(StreamInput.PLAY) is StreamState.PLAY_REQUESTED
