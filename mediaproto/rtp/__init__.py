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

__all__ = [
    "RTP_VERSION",
    "ONE_BYTE_PROFILE",
    "TWO_BYTE_PROFILE",
    "RtpPacket",
    "HeaderExtension",
    "ExtensionMap",
    "is_rtcp",
]
