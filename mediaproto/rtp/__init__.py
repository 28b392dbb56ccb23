"""RTP and RTCP (RFC 3550 and friends): packets, feedback, statistics, jitter buffer, payload formats."""

from .packet import (
    ONE_BYTE_PROFILE,
    RTP_VERSION,
    TWO_BYTE_PROFILE,
    ExtensionMap,
    HeaderExtension,
    RtpPacket,
    is_rtcp,
)
from .rtcp import (
    ApplicationDefined,
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
    parse_compound,
    serialize_compound,
    validate_compound,
)
from .rtcp_base import RawRtcpPacket
from .rtcp_feedback import (
    FullIntraRequest,
    GenericNack,
    PictureLossIndication,
    ReceiverEstimatedMaxBitrate,
    SliceLossIndication,
    TransportWideFeedback,
)
from .rtcp_xr import DelaySinceLastRr, DlrrItem, ExtendedReport, RawXrBlock, ReceiverReferenceTime
from .stats import ReceiverStatistics, RtcpScheduler, SenderStatistics, round_trip_time, rtcp_interval
from .jitter import JitterBuffer, JitterBufferStats
from .limits import Limits

__all__ = [
    "RTP_VERSION",
    "ONE_BYTE_PROFILE",
    "TWO_BYTE_PROFILE",
    "RtpPacket",
    "HeaderExtension",
    "ExtensionMap",
    "is_rtcp",
    "RtcpPacket",
    "ReportBlock",
    "SenderReport",
    "ReceiverReport",
    "SdesChunk",
    "SourceDescription",
    "Goodbye",
    "ApplicationDefined",
    "RawRtcpPacket",
    "GenericNack",
    "TransportWideFeedback",
    "PictureLossIndication",
    "SliceLossIndication",
    "FullIntraRequest",
    "ReceiverEstimatedMaxBitrate",
    "ExtendedReport",
    "ReceiverReferenceTime",
    "DelaySinceLastRr",
    "DlrrItem",
    "RawXrBlock",
    "parse_compound",
    "serialize_compound",
    "validate_compound",
    "ReceiverStatistics",
    "SenderStatistics",
    "round_trip_time",
    "rtcp_interval",
    "RtcpScheduler",
    "JitterBuffer",
    "JitterBufferStats",
    "Limits",
]
