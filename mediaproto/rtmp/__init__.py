"""RTMP: handshake, chunk stream, messages and sessions, with AMF0/AMF3 and FLV.

The AMF codecs are modules of their own (both have ``dumps``/``loads``): use
:mod:`mediaproto.rtmp.amf0` and :mod:`mediaproto.rtmp.amf3`.
"""

from . import amf0, amf3
from .amftypes import UNDEFINED, UNSUPPORTED, EcmaArray, TypedObject, Xml, XmlDocument
from .amftypes import Limits as AmfLimits

__all__ = [
    "amf0",
    "amf3",
    "AmfLimits",
    "UNDEFINED",
    "UNSUPPORTED",
    "EcmaArray",
    "TypedObject",
    "Xml",
    "XmlDocument",
]
