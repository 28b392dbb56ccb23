"""RTP payload formats: :class:`~mediaproto.media.Frame` values to RTP packets and back.

=============  ===========  =====================================  =======================================
format         RFC          packetizer                             depacketizer
=============  ===========  =====================================  =======================================
H.264          6184         :class:`.H264Packetizer`               :class:`.H264Depacketizer`
H.265          7798         :class:`.H265Packetizer`               :class:`.H265Depacketizer`
AAC            3640         :class:`.AacPacketizer`                :class:`.AacDepacketizer`
AAC (LATM)     6416         :class:`.LatmPacketizer`               :class:`.LatmDepacketizer`
Opus           7587         :class:`.OpusPacketizer`               :class:`.OpusDepacketizer`
PCMU / PCMA    3551         :class:`.G711Packetizer`               :class:`.G711Depacketizer`
MPEG-TS        2250         :class:`.Mp2tPacketizer`               :class:`.Mp2tDepacketizer`
=============  ===========  =====================================  =======================================

Every packetizer has ``packetize(frame) -> list[RtpPacket]`` and every depacketizer
``feed(packet) -> list[Frame]``; see :mod:`.base` for what they share.
:func:`.packetizer_for` and :func:`.depacketizer_for` pick the right one for a
:class:`~mediaproto.media.Track`.
"""

from .aac import AacDepacketizer, AacPacketizer
from .base import Depacketizer, Packetizer
from .factory import depacketizer_for, packetizer_for
from .g711 import PCMA, PCMU, G711Depacketizer, G711Packetizer
from .h264 import H264Depacketizer, H264Packetizer
from .h265 import H265Depacketizer, H265Packetizer
from .latm import LatmDepacketizer, LatmPacketizer
from .mp2t import MP2T, Mp2tDepacketizer, Mp2tPacketizer
from .opus import OPUS_CLOCK_RATE, OpusDepacketizer, OpusPacketizer

__all__ = [
    "Packetizer",
    "Depacketizer",
    "packetizer_for",
    "depacketizer_for",
    "H264Packetizer",
    "H264Depacketizer",
    "H265Packetizer",
    "H265Depacketizer",
    "AacPacketizer",
    "AacDepacketizer",
    "LatmPacketizer",
    "LatmDepacketizer",
    "OpusPacketizer",
    "OpusDepacketizer",
    "OPUS_CLOCK_RATE",
    "G711Packetizer",
    "G711Depacketizer",
    "PCMU",
    "PCMA",
    "Mp2tPacketizer",
    "Mp2tDepacketizer",
    "MP2T",
]
