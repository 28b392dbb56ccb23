"""RTP packets and RTCP compound packets against aiortc's codecs, same input, same run.

- ``rtp.parse`` / ``rtp.serialize``: a 1200-byte payload, no CSRC or extension.
- ``rtp.parse+ext`` / ``rtp.serialize+ext``: 2 CSRCs and an RFC 8285 one-byte extension with three
  elements (mid, abs-send-time, transport-wide sequence number), ``RtpPacket.parse`` and
  ``RtpPacket.serialize`` as they are: ours keeps the extension raw, aiortc decodes it into fields
  (with a configured extension map) and encodes them back.
- ``rtp.parse+ext+decode`` / ``rtp.build ext+serialize``: the same, but ours also decodes the
  elements (``HeaderExtension.elements()``) or builds the extension from elements
  (``HeaderExtension.from_elements``) every time: the work aiortc always does.
- ``rtcp.parse SR+SDES+NACK``: a compound of an SR with one report block, an SDES CNAME and a
  generic NACK with three PID+BLP pairs (7 lost sequence numbers), 128 bytes. Both sides decode
  every field of the three packets (aiortc: ``RtcpSrPacket`` with ``RtcpSenderInfo`` and one
  ``RtcpReceiverInfo``, ``RtcpSdesPacket`` with one ``RtcpSourceInfo`` and its item bytes,
  ``RtcpRtpfbPacket`` with ``lost`` expanded inside ``parse``; ours: ``SenderReport`` with one
  ``ReportBlock``, ``SourceDescription`` with one ``SdesChunk``, ``GenericNack`` with its pairs)
  and then run the same consumer loop: walk the packets and read the NACK's lost sequence numbers
  (ours expands them there, in ``GenericNack.lost``, wrapping at 65536). Both check the version,
  lengths and padding; ours also requires the SDES END item and rejects non-null bytes after the
  chunks, which aiortc does not.
"""

from __future__ import annotations

from harness import Bench

from mediaproto.rtp import (
    GenericNack,
    HeaderExtension,
    ReportBlock,
    RtpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
    parse_compound,
    serialize_compound,
)

N = 1000
PAYLOAD = bytes(range(256)) * 4 + bytes(176)  # 1200 bytes
EXT = [(1, b"0"), (3, b"\x12\x34\x56"), (5, b"\x01\x02")]

PLAIN = RtpPacket(96, 4321, 123456789, 0x11223344, PAYLOAD, True)
PLAIN_BYTES = bytes(PLAIN)
WITH_EXT = RtpPacket(96, 4321, 123456789, 0x11223344, PAYLOAD, True, (0xAAAA, 0xBBBB),
                     HeaderExtension.from_elements(EXT))
EXT_BYTES = bytes(WITH_EXT)
# what each side's loop does, checked once: the same fields back from the same bytes
assert RtpPacket.parse(PLAIN_BYTES) == PLAIN and RtpPacket.parse(EXT_BYTES) == WITH_EXT

RTCP_BYTES = serialize_compound([
    SenderReport(0x11223344, 0xEEB0E7500C8B4395, 123456789, 1000, 1_200_000,
                 (ReportBlock(0x55667788, 12, 34, 70000, 55, 0xE7500C8B, 65536),)),
    SourceDescription((SdesChunk(0x11223344, ((1, b"{a3b2c1d0-1234-5678-9abc-def012345678}"),)),)),
    GenericNack.from_lost(0x11223344, 0x55667788, [100, 101, 105, 130, 131, 200, 216]),
])


def _parse() -> None:
    for _ in range(N):
        RtpPacket.parse(PLAIN_BYTES)


def _serialize() -> None:
    for _ in range(N):
        PLAIN.serialize()


def _parse_ext() -> None:
    for _ in range(N):
        RtpPacket.parse(EXT_BYTES)


def _serialize_ext() -> None:
    for _ in range(N):
        WITH_EXT.serialize()


def _parse_ext_decode() -> None:
    for _ in range(N):
        p = RtpPacket.parse(EXT_BYTES)
        p.extension.elements()  # type: ignore[union-attr]


def _build_ext_serialize() -> None:
    for _ in range(N):
        WITH_EXT.extension = HeaderExtension.from_elements(EXT)
        WITH_EXT.serialize()


def _rtcp_parse() -> None:
    for _ in range(N):
        for p in parse_compound(RTCP_BYTES):
            if isinstance(p, GenericNack):
                p.lost


peer_parse = peer_serialize = peer_parse_ext = peer_serialize_ext = peer_rtcp = None
try:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtcpPacket, RtcpRtpfbPacket
    from aiortc.rtp import RtpPacket as AiortcRtpPacket

    _ext_map = HeaderExtensionsMap()
    _ext_map.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
        RTCRtpHeaderExtensionParameters(id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
        RTCRtpHeaderExtensionParameters(
            id=5, uri="http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
    ]))
    _a_plain = AiortcRtpPacket.parse(PLAIN_BYTES)
    assert (_a_plain.payload_type, _a_plain.sequence_number, _a_plain.timestamp, _a_plain.ssrc, _a_plain.marker,
            _a_plain.payload) == (96, 4321, 123456789, 0x11223344, 1, PAYLOAD)
    assert _a_plain.serialize() == PLAIN_BYTES
    _a_ext = AiortcRtpPacket.parse(EXT_BYTES, _ext_map)
    assert _a_ext.extensions.mid == "0" and _a_ext.extensions.transport_sequence_number == 0x0102

    def peer_parse() -> None:  # type: ignore[misc]
        for _ in range(N):
            AiortcRtpPacket.parse(PLAIN_BYTES)

    def peer_serialize() -> None:  # type: ignore[misc]
        for _ in range(N):
            _a_plain.serialize()

    def peer_parse_ext() -> None:  # type: ignore[misc]
        for _ in range(N):
            AiortcRtpPacket.parse(EXT_BYTES, _ext_map)

    def peer_serialize_ext() -> None:  # type: ignore[misc]
        for _ in range(N):
            _a_ext.serialize(_ext_map)

    _lost = [100, 101, 105, 130, 131, 200, 216]
    assert [p.lost for p in RtcpPacket.parse(RTCP_BYTES) if isinstance(p, RtcpRtpfbPacket)] == [_lost]
    assert [p.lost for p in parse_compound(RTCP_BYTES) if isinstance(p, GenericNack)] == [_lost]

    def peer_rtcp() -> None:  # type: ignore[misc]
        for _ in range(N):
            for p in RtcpPacket.parse(RTCP_BYTES):
                if isinstance(p, RtcpRtpfbPacket):
                    p.lost

except ImportError:  # aiortc is in the "bench" extra
    pass


BENCHMARKS = [
    Bench("rtp.parse 1200B", _parse, work=N, peer="aiortc", peer_run=peer_parse, target=3.0),
    Bench("rtp.serialize 1200B", _serialize, work=N, peer="aiortc", peer_run=peer_serialize, target=2.0),
    Bench("rtp.parse+ext 1200B csrc", _parse_ext, work=N, peer="aiortc", peer_run=peer_parse_ext, target=2.0),
    Bench("rtp.serialize+ext 1200B csrc", _serialize_ext, work=N, peer="aiortc", peer_run=peer_serialize_ext,
          target=2.0),
    Bench("rtp.parse+ext+decode 1200B csrc", _parse_ext_decode, work=N, peer="aiortc", peer_run=peer_parse_ext,
          target=2.0),
    Bench("rtp.build ext+serialize 1200B csrc", _build_ext_serialize, work=N, peer="aiortc",
          peer_run=peer_serialize_ext, target=2.0),
    Bench("rtcp.parse SR+SDES+NACK", _rtcp_parse, work=N, peer="aiortc", peer_run=peer_rtcp, target=3.0),
]
