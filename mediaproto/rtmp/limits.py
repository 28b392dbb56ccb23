"""``rtmp.Limits``: the one set of bounds for everything in :mod:`mediaproto.rtmp`.

The chunk decoder, the sessions, the AMF0/AMF3 decoders and the FLV reader all take this one value
as ``limits=``; each reads the fields that concern it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits(errors.Limits):
    """Bounds on what an RTMP peer, an AMF value or an FLV file can make us hold.

    Chunk stream and sessions:

    :param max_message_size: largest message body accepted (10 MiB, as gortmplib).
    :param max_command_size: largest body of a message that carries no media, that is of any type
        but audio (8), video (9) and aggregate (22): commands (20, 17), data (18, 15), shared
        objects (19, 16) and protocol control (1 MiB; a ``connect`` or ``onMetaData`` is well under
        a few KiB). The chunk decoder refuses such a message from its header, before it buffers any
        of its body.
    :param max_chunk_streams: most chunk streams with state at once.
    :param max_buffered_bytes: most bytes of unfinished messages held across all chunk streams
        (and of messages a session holds back before the peer's stream exists).
    :param max_message_streams: most message streams a session lets the peer create.

    AMF0/AMF3 values (commands, data messages, FLV script tags):

    :param max_amf_depth: deepest nesting of objects and arrays (the top-level value is depth 1).
    :param max_amf_items: total entries (array elements, object properties, vector items) in one
        decoded value; every entry also costs at least one input byte, so no declared count can make
        the decoder allocate more than the input justifies.
    :param max_amf_string: longest string, XML document or byte array, in bytes.

    FLV:

    :param max_flv_tag_size: largest FLV tag body accepted (8 MiB, an access unit's bound in
        mediacommon; the format allows 2**24-1 bytes).
    """

    max_message_size: int = 10 * 1024 * 1024
    max_command_size: int = 1024 * 1024
    max_chunk_streams: int = 64
    max_buffered_bytes: int = 24 * 1024 * 1024
    max_message_streams: int = 16
    max_amf_depth: int = 64
    max_amf_items: int = 1_000_000
    max_amf_string: int = 16 * 1024 * 1024
    max_flv_tag_size: int = 8 * 1024 * 1024
