"""Hypothesis drives ServerConnection through random client inputs and application answers.

Whatever the client sends (commands in any order, on any stream, media, data, control messages)
and however the application answers the requests it is shown, the server raises only
ProtocolError for the client's faults, never LocalProtocolError for legitimate answers, and its
stream states only move along the documented transitions.
"""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from mediaproto.errors import ProtocolError
from mediaproto.rtmp import events as E
from mediaproto.rtmp import message as msg
from mediaproto.rtmp.chunk import ChunkEncoder, Message
from mediaproto.rtmp.client import ClientConnection
from mediaproto.rtmp.configuration import ClientConfiguration, ServerConfiguration
from mediaproto.rtmp.server import ServerConnection, StreamState

NAMES = ["connect", "createStream", "releaseStream", "FCPublish", "publish", "play", "FCUnpublish", "deleteStream",
         "closeStream", "_checkbw", "getStreamLength", "pause", "whatever", "_result", "onStatus"]
ARGS = st.one_of(st.none(), st.text(max_size=5), st.floats(allow_nan=False, min_value=-3, max_value=5),
                 st.booleans(), st.dictionaries(st.sampled_from(["app", "tcUrl", "objectEncoding"]),
                                                st.one_of(st.text(max_size=5), st.floats(0, 3)), max_size=3))

inputs = st.one_of(
    st.tuples(st.just("cmd"), st.sampled_from(NAMES), st.integers(0, 5), st.integers(0, 3),
              st.lists(ARGS, max_size=4)),
    *[st.tuples(st.just("cmd"), st.sampled_from(["publish", "play"]), st.just(0), st.integers(1, 2),
                st.tuples(st.none(), st.sampled_from(["a", "b"])).map(list))] * 3,
    st.tuples(st.just("media"), st.sampled_from([8, 9]), st.integers(0, 3), st.binary(max_size=40)),
    st.tuples(st.just("data"), st.integers(0, 3), st.lists(ARGS, max_size=3)),
    st.tuples(st.just("control"), st.sampled_from([3, 4, 5, 6]), st.binary(min_size=4, max_size=10)),
)

ALLOWED = {
    None: {None, StreamState.CREATED},
    # a request and its answer happen within one step: CREATED -> PUBLISHING / PLAYING
    StreamState.CREATED: {StreamState.CREATED, StreamState.PUBLISH_REQUESTED, StreamState.PLAY_REQUESTED,
                          StreamState.PUBLISHING, StreamState.PLAYING, None},
    StreamState.PUBLISH_REQUESTED: {StreamState.PUBLISH_REQUESTED, StreamState.PUBLISHING, StreamState.CREATED, None},
    StreamState.PLAY_REQUESTED: {StreamState.PLAY_REQUESTED, StreamState.PLAYING, StreamState.CREATED, None},
    StreamState.PUBLISHING: {StreamState.PUBLISHING, StreamState.CREATED, None},
    StreamState.PLAYING: {StreamState.PLAYING, StreamState.CREATED, None},
}


def _handshaken() -> tuple[ServerConnection, ChunkEncoder]:
    s = ServerConnection(ServerConfiguration(random_bytes=bytes))
    c = ClientConnection("live", configuration=ClientConfiguration(random_bytes=bytes))
    s.receive_data(c.data_to_send(), 0.0)
    c.receive_data(s.data_to_send(), 0.0)
    hs = c.data_to_send()  # C2, Set Chunk Size 4096, connect (stripped below)
    s.receive_data(hs[:1536], 0.0)
    return s, ChunkEncoder()


PRELUDE = [("cmd", "connect", 1, 0, [{"app": "live"}]), ("cmd", "createStream", 2, 0, []),
           ("cmd", "createStream", 3, 0, [])]


@given(st.lists(inputs, max_size=30), st.lists(st.booleans(), min_size=33, max_size=33),
       st.sampled_from([0, 1, 2, 3, 3, 3]))
@settings(max_examples=200)
def test_random_sessions(steps: list[tuple[Any, ...]], answers: list[bool], prelude: int) -> None:
    steps = PRELUDE[:prelude] + steps
    s, enc = _handshaken()
    states = {sid: s.stream_state(sid) for sid in range(6)}
    for i, step in enumerate(steps):
        kind = step[0]
        if kind == "cmd":
            _, name, tid, sid, args = step
            m = msg.command(name, tid, args[0] if args else None, *args[1:], stream_id=sid)
        elif kind == "media":
            m = Message(6, step[1], step[2], i, step[3])
        elif kind == "data":
            m = msg.data_message(["@setDataFrame", "onMetaData", *step[2]], stream_id=step[1])
        else:
            m = Message(2, step[1], 0, 0, step[2])
        try:
            events = s.receive_data(enc.encode(m), float(i))
        except ProtocolError:
            assert s.broken
            return
        for e in events:
            accept = answers[i]
            if isinstance(e, E.ConnectRequested):
                s.accept_connect(e) if accept else s.reject_connect(e)
            elif isinstance(e, E.PublishRequested):
                s.accept_publish(e) if accept else s.reject_publish(e)
            elif isinstance(e, E.PlayRequested):
                s.accept_play(e) if accept else s.reject_play(e)
        for sid in range(6):
            new = s.stream_state(sid)
            assert new in ALLOWED[states[sid]], (states[sid], new)
            states[sid] = new
            if new is not None and new is not StreamState.CREATED:
                event(f"reached {new.value}")
        s.data_to_send()
