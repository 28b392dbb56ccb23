"""Message types: control messages, user control events, commands, data, shared objects, aggregates."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproto.errors import ProtocolError
from mediaproto.rtmp import message as msg
from mediaproto.rtmp.chunk import ChunkDecoder, Message


def _stream(vectors: Path, name: str) -> list[Message]:
    return ChunkDecoder().feed((vectors / name).read_bytes()[3073:])


def test_ffmpeg_server_control_messages(vectors: Path) -> None:
    ms = _stream(vectors, "rtmp-ffmpeg-publish.s2c.bin")
    assert ms[0].type_id == msg.WINDOW_ACK_SIZE and msg.read_u32(ms[0]) == 2500000
    assert ms[1].type_id == msg.SET_PEER_BANDWIDTH and ms[1].payload == struct.pack(">IB", 2500000, 2)
    assert msg.parse_user_control(ms[2]) == msg.StreamBegin(0)
    assert ms[3].type_id == msg.SET_CHUNK_SIZE and msg.read_u32(ms[3]) == 128
    result = msg.parse_command(ms[4])
    assert result.name == "_result" and result.transaction_id == 1.0
    assert result.command_object["fmsVer"] == "FMS/3,0,1,123"
    assert result.arguments[0]["code"] == "NetConnection.Connect.Success"
    begin = [m for m in ms if m.type_id == msg.USER_CONTROL][-1]
    assert msg.parse_user_control(begin) == msg.StreamBegin(1)
    status = msg.parse_command(ms[-1])
    assert status.name == "onStatus" and status.command_object is None
    assert status.arguments[0]["code"] == "NetStream.Publish.Start"


def test_ffmpeg_client_commands(vectors: Path) -> None:
    ms = _stream(vectors, "rtmp-ffmpeg-publish.c2s.bin")
    cmds = [msg.parse_command(m) for m in ms if m.type_id == msg.COMMAND_AMF0]
    assert [c.name for c in cmds] == ["connect", "releaseStream", "FCPublish", "createStream", "_checkbw",
                                      "publish", "FCUnpublish", "deleteStream"]
    assert [c.transaction_id for c in cmds] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert cmds[0].command_object["tcUrl"] == "rtmp://127.0.0.1:19350/live"
    assert cmds[5].arguments == ("test", "live")
    data = [msg.parse_data(m) for m in ms if m.type_id == msg.DATA_AMF0]
    assert data[0][:2] == ["@setDataFrame", "onMetaData"] and data[0][2]["width"] == 320.0


def test_command_roundtrip_and_bytes() -> None:
    m = msg.command("createStream", 4, None)
    # AMF0: string "createStream", number 4.0, null
    assert m.payload == b"\x02\x00\x0ccreateStream" + b"\x00" + struct.pack(">d", 4.0) + b"\x05"
    assert m.chunk_stream_id == 3 and m.type_id == 20
    assert msg.parse_command(m) == msg.Command("createStream", 4.0, None, ())


def test_amf3_command_has_one_leading_byte() -> None:
    body = b"\x00" + msg.command("play", 0, None, "stream").payload
    c = msg.parse_command(Message(3, msg.COMMAND_AMF3, 1, 0, body))
    assert c == msg.Command("play", 0.0, None, ("stream",))


@pytest.mark.parametrize("event,payload", [
    (msg.StreamBegin(1), b"\x00\x00\x00\x00\x00\x01"),
    (msg.StreamEOF(2), b"\x00\x01\x00\x00\x00\x02"),
    (msg.StreamDry(3), b"\x00\x02\x00\x00\x00\x03"),
    (msg.SetBufferLength(1, 3000), b"\x00\x03\x00\x00\x00\x01\x00\x00\x0b\xb8"),
    (msg.StreamIsRecorded(1), b"\x00\x04\x00\x00\x00\x01"),
    (msg.PingRequest(123456), b"\x00\x06\x00\x01\xe2\x40"),
    (msg.PingResponse(123456), b"\x00\x07\x00\x01\xe2\x40"),
    (msg.UnknownUserControl(31, b"\x00\x00\x00\x01"), b"\x00\x1f\x00\x00\x00\x01"),
])
def test_user_control_table(event: msg.UserControlEvent, payload: bytes) -> None:
    m = msg.user_control(event)
    assert (m.chunk_stream_id, m.type_id, m.stream_id, m.payload) == (2, 4, 0, payload)
    assert msg.parse_user_control(m) == event


def test_control_builders() -> None:
    assert msg.set_chunk_size(4096).payload == b"\x00\x00\x10\x00"
    assert msg.abort(6).payload == b"\x00\x00\x00\x06"
    assert msg.acknowledgement(2**32 + 5).payload == b"\x00\x00\x00\x05"
    assert msg.window_ack_size(2500000).payload == b"\x00\x26\x25\xa0"
    assert msg.set_peer_bandwidth(2500000, msg.LIMIT_DYNAMIC).payload == b"\x00\x26\x25\xa0\x02"


def _sub(t: int, ts: int, body: bytes) -> bytes:
    return (bytes((t,)) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big") + bytes((ts >> 24,))
            + b"\x00\x00\x00" + body + struct.pack(">I", 11 + len(body)))


def test_aggregate_split_with_corrected_timestamps() -> None:
    payload = _sub(9, 5000, b"v1") + _sub(8, 5010, b"a1") + _sub(9, 5040, b"v2")
    agg = Message(5, msg.AGGREGATE, 1, 100, payload)
    assert msg.split_aggregate(agg) == [Message(5, 9, 1, 100, b"v1"), Message(5, 8, 1, 110, b"a1"),
                                        Message(5, 9, 1, 140, b"v2")]
    # extended timestamp byte
    agg2 = Message(5, msg.AGGREGATE, 1, 0x01000000, _sub(9, 0x01000000, b"x") + _sub(9, 0x01000028, b"y"))
    assert [m.timestamp for m in msg.split_aggregate(agg2)] == [0x01000000, 0x01000028]


def test_shared_object_parse() -> None:
    name = b"chat"
    body = struct.pack(">H", 4) + name + struct.pack(">II", 7, 2) + b"\x00" * 4 + b"\x01" + struct.pack(">I", 0) \
        + b"\x04" + struct.pack(">I", 3) + b"abc"
    so = msg.parse_shared_object(Message(3, msg.SHARED_OBJECT_AMF0, 0, 0, body))
    assert so == msg.SharedObjectMessage("chat", 7, True, (msg.SharedObjectEvent(1, b""), msg.SharedObjectEvent(4, b"abc")))


@given(st.sampled_from([4, 17, 18, 19, 20, 22, 15, 16, 1, 3]), st.binary(max_size=300))
def test_random_payloads_raise_only_protocol_errors(type_id: int, payload: bytes) -> None:
    m = Message(3, type_id, 0, 0, payload)
    for fn in (msg.parse_user_control, msg.parse_command, msg.parse_data, msg.parse_shared_object,
               msg.split_aggregate, msg.read_u32):
        try:
            fn(m)  # type: ignore[operator]
        except ProtocolError:
            pass
