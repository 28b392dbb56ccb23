"""A Sans-IO transport stream demuxer: bytes in, tracks and frames out.

:class:`Demuxer` takes bytes in any split (:meth:`Demuxer.feed`) and returns events:

* :class:`TracksChanged` when a PMT announces (or changes) the program's streams, and again when a
  track's configuration is learnt in-band (the first ADTS header; the first SPS/PPS, with the
  picture size read from the SPS) — always
  before the first :class:`FrameReceived` that needs it;
* :class:`FrameReceived` (the package's one frame event, :class:`mediaproto.endpoint.FrameReceived`,
  whose ``size`` is what ``ffprobe -show_packets`` calls the size) for every access unit:
  H.264/H.265 PES payloads become a tuple of NAL units (access unit delimiters removed), ADTS
  becomes one frame per raw AAC frame (the PTS advanced by each frame's samples), Opus one frame per packet, MPEG audio one frame per MP3/MP2 frame;
* :class:`ContinuityError`, :class:`Discontinuity`, :class:`SyncLost` / :class:`Resynced` and
  :class:`StreamError` report damage instead of failing: the damaged PES or section is dropped and
  demuxing goes on.

Track ids are the elementary PIDs; every frame counts in 90 kHz (the PES clock, ``clock_rate``
90000 for every track), unwrapped past the 33-bit wrap with one :class:`~mediaproto.clock.Unwrapper`
shared by the program. Memory is bounded by :class:`Limits`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from ..clock import Unwrapper, rescale
from ..codecs.aac import split_adts
from ..codecs.h264 import split_annexb
from ..codecs.h264_sps import parse_sps as parse_h264_sps
from ..codecs.h265_sps import parse_sps as parse_h265_sps
from ..endpoint import Event, FrameReceived
from ..errors import LocalProtocolError, ParseError, ProtocolError
from ..media import Codec, Frame, Track
from .limits import Limits
from .pes import _NO_OPTIONAL_HEADER, PesHeader
from .psi import PAT_PID, SDT_PID, Pat, Pmt, Sdt, SectionAssembler
from .streams import codec_of, opus_packet_samples, split_mpeg_audio, split_opus_payload, track_from_pmt

__all__ = [
    "TracksChanged",
    "FrameReceived",
    "ContinuityError",
    "Discontinuity",
    "SyncLost",
    "Resynced",
    "StreamError",
    "DemuxEvent",
    "Demuxer",
]


@dataclass(frozen=True, slots=True)
class TracksChanged(Event):
    """The program's tracks (ids are PIDs), from the PMT and what the streams told so far."""

    tracks: tuple[Track, ...]
    program_number: int
    pcr_pid: int


@dataclass(frozen=True, slots=True)
class ContinuityError(Event):
    """A packet's ``continuity_counter`` was not the expected one: packets were lost (the PES or
    section in progress is dropped)."""

    pid: int
    expected: int
    got: int
    offset: int


@dataclass(frozen=True, slots=True)
class Discontinuity(Event):
    """A packet with ``discontinuity_indicator`` set: the time base or counter restarts here."""

    pid: int
    offset: int


@dataclass(frozen=True, slots=True)
class SyncLost(Event):
    """No sync byte where a packet should start; bytes are skipped from ``offset``."""

    offset: int


@dataclass(frozen=True, slots=True)
class Resynced(Event):
    """Packets are in sync again from ``offset`` (two sync bytes 188 bytes apart)."""

    offset: int


@dataclass(frozen=True, slots=True)
class StreamError(Event):
    """A malformed or oversized PES or section on ``pid`` was dropped."""

    pid: int
    message: str
    offset: int


DemuxEvent = TracksChanged | FrameReceived | ContinuityError | Discontinuity | SyncLost | Resynced | StreamError

_AUD_H264 = 9
#: At most this many packets are taken as one run of middle packets (the lookahead of each run).
_RUN = 64
#: ``Struct("4x184s" * k)``: the payloads of k middle packets in one call, made when first needed.
_MIDDLE: list[struct.Struct | None] = [None] * (_RUN + 1)
#: byte 3 of the headers of payload-only packets, counter 0, 1, 2 ... (from any counter: [c:c + k])
_COUNTING = bytes(0x10 | (i & 0x0F) for i in range(_RUN + 16))


def _middle(k: int) -> struct.Struct:
    s = _MIDDLE[k]
    if s is None:
        s = _MIDDLE[k] = struct.Struct("4x184s" * k)
    return s

_AUD_H265 = 35


class _Pes:
    """Reassembly state of one elementary PID."""

    __slots__ = ("pid", "codec", "track", "chunks", "size", "expected", "offset", "random_access", "cc")

    def __init__(self, pid: int, codec: Codec, track: Track) -> None:
        self.pid = pid
        self.codec = codec
        self.track = track
        self.chunks: list[bytes] = []
        self.size = 0
        self.expected = 0
        self.offset = 0
        self.random_access = False
        self.cc = -1  # the last continuity_counter, -1 before the first packet


class _Psi:
    __slots__ = ("pid", "assembler", "kind", "cc")

    def __init__(self, pid: int, kind: str, limits: Limits) -> None:
        self.pid = pid
        self.cc = -1
        self.kind = kind
        self.assembler = SectionAssembler(limits)


def _advance(ts: int, samples: int, rate: int) -> int:
    """``ts`` (90 kHz) advanced by ``samples`` at ``rate`` Hz, for the 2nd, 3rd ... audio frame of a
    PES. Where the step is not a whole number of ticks this rounds as FFmpeg's ``av_add_stable``
    does (to the nearest point of the grid of whole frames counted from time 0, plus the offset
    of ``ts`` from that grid), so the timestamps equal ffprobe's to the tick. (For MP3 FFmpeg's
    parser instead adds a duration rounded to whole ticks; the demuxer does the same.)"""
    unit = 90000 * samples
    if unit % rate == 0:
        return ts + unit // rate
    frames = rescale(ts, unit, rate)
    return rescale(frames + 1, rate, unit) + ts - rescale(frames, rate, unit)


class Demuxer:
    """Demux one program of an MPEG transport stream (see the module docs).

    :param limits: memory bounds.
    :param program_number: the program to follow; by default the first one of the PAT.
    """

    def __init__(self, limits: Limits | None = None, *, program_number: int | None = None) -> None:
        self.limits = limits or Limits()
        self.program_number = program_number
        #: The latest PAT, PMT and SDT seen.
        self.pat: Pat | None = None
        self.pmt: Pmt | None = None
        self.sdt: Sdt | None = None
        self._rest = b""  # bytes after the last whole packet
        self._base = 0  # stream offset of the first byte not yet consumed
        self._synced = True
        self._pids: dict[int, _Pes | _Psi] = {
            PAT_PID: _Psi(PAT_PID, "pat", self.limits),
            SDT_PID: _Psi(SDT_PID, "sdt", self.limits),
        }
        self._unwrap = Unwrapper(33)
        self._pmt_pid: int | None = None
        self._pmt_section: bytes | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        """The current tracks."""
        return tuple(h.track for h in self._pids.values() if isinstance(h, _Pes))

    # -- input ----------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[DemuxEvent]:
        """Add bytes of the stream; return the events they complete."""
        events: list[DemuxEvent] = []
        buf = self._rest + bytes(data) if self._rest else bytes(data)
        n = len(buf)
        pos = 0
        pids = self._pids
        base = self._base
        max_pes = self.limits.max_pes_size
        while n - pos >= 188:
            if buf[pos] != 0x47:
                pos = self._resync(buf, pos, base, events)
                if pos < 0:  # need more data
                    pos = -pos
                    break
                continue
            b1 = buf[pos + 1]
            handler = pids.get(((b1 & 0x1F) << 8) | buf[pos + 2])
            if handler is not None:
                b3 = buf[pos + 3]
                # fast path: a PES packet with a payload, no transport error, the next counter, and
                # no discontinuity (what _packet and _pes_packet do then, inlined)
                if (b3 & 0x10 and not b1 & 0x80 and handler.__class__ is _Pes
                        and b3 & 0x0F == (handler.cc + 1) & 0x0F):
                    assert isinstance(handler, _Pes)
                    start = pos + 4
                    random_access = False
                    if b3 & 0x20:  # adaptation field
                        aflen = buf[start]
                        if aflen:
                            flags = buf[pos + 5]
                            if flags & 0x80 or aflen > 183:  # discontinuity, or too long: the full path
                                self._packet(buf, pos, base + pos, handler, events)
                                pos += 188
                                continue
                            random_access = flags & 0x40 != 0
                        start += 1 + aflen
                    if (b3 < 0x20 and not b1 & 0x40 and n - pos >= 752 and buf[pos + 567] == _COUNTING[b3 - 13]
                            and buf[pos + 379] == _COUNTING[b3 - 14] and buf[pos + 191] == _COUNTING[b3 - 15]
                            and handler.chunks):
                        # a run of middle packets of this PES (the same first 3 header bytes, the
                        # counter counting, no adaptation field): their payloads in one struct call
                        end = pos + 188 * (_RUN if n - pos >= 188 * _RUN else (n - pos) // 188)
                        col = buf[pos + 1:end:188]
                        run = len(col) - len(col.lstrip(col[:1]))
                        end = pos + 188 * run
                        col = buf[pos + 2:end:188]
                        run -= len(col.lstrip(col[:1]))
                        col = buf[pos:pos + 188 * run:188]
                        run -= len(col.lstrip(b"\x47"))
                        c = b3 & 0x0F
                        col = buf[pos + 3:pos + 188 * run:188]
                        if col != _COUNTING[c:c + run]:
                            run -= 1  # most often the PES's last packet, with stuffing
                            if col[:run] != _COUNTING[c:c + run]:
                                run = 0
                        size = handler.size
                        if handler.expected:  # stop before the packet that completes the PES
                            run = min(run, (handler.expected - size - 1) // 184)
                        run = min(run, (max_pes - size) // 184)
                        if run >= 4:
                            handler.chunks += (_MIDDLE[run] or _middle(run)).unpack_from(buf, pos)
                            handler.size = size + 184 * run
                            handler.cc = (c + run - 1) & 0x0F
                            pos += 188 * run
                            continue
                    handler.cc = b3 & 0x0F
                    if b1 & 0x40:  # payload_unit_start_indicator: a new PES
                        if handler.chunks:
                            self._finish(handler, events)
                        payload = buf[start:pos + 188]
                        handler.chunks = [payload]
                        handler.size = size = len(payload)
                        handler.offset = base + pos
                        handler.random_access = random_access
                        expected = 6 + ((payload[4] << 8) | payload[5]) if size >= 6 else 0
                        handler.expected = expected = 0 if expected == 6 else expected
                        if size > max_pes or (expected and size >= expected):
                            self._check_pes(handler, events)
                    elif handler.chunks:
                        handler.chunks.append(buf[start:pos + 188])
                        handler.size += pos + 188 - start
                        if handler.size > max_pes or (handler.expected and handler.size >= handler.expected):
                            self._check_pes(handler, events)
                else:
                    self._packet(buf, pos, base + pos, handler, events)
            pos += 188
        self._rest = buf[pos:]
        self._base = base + pos
        return events

    def _resync(self, buf: bytes, pos: int, base: int, events: list[DemuxEvent]) -> int:
        """Find the next pair of sync bytes; return the new position, or minus the position to
        keep from when more data is needed."""
        if self._synced:
            self._synced = False
            events.append(SyncLost(base + pos))
        n = len(buf)
        i = buf.find(b"\x47", pos + 1)
        while i >= 0:
            if i + 188 >= n:
                return -i
            if buf[i + 188] == 0x47:
                self._synced = True
                events.append(Resynced(base + i))
                return i
            i = buf.find(b"\x47", i + 1)
        return -n

    def _packet(self, buf: bytes, pos: int, offset: int, handler: _Pes | _Psi,
                events: list[DemuxEvent]) -> None:
        b1 = buf[pos + 1]
        b3 = buf[pos + 3]
        pid = handler.pid
        start = pos + 4
        discontinuity = random_access = False
        if b3 & 0x20:
            aflen = buf[start]
            if aflen:
                flags = buf[start + 1]
                discontinuity = bool(flags & 0x80)
                random_access = bool(flags & 0x40)
            start += 1 + aflen
            if start > pos + 188:
                events.append(StreamError(pid, f"adaptation_field_length {aflen} runs past the packet", offset))
                self._drop(handler)
                return
        if discontinuity:
            events.append(Discontinuity(pid, offset))
        if not b3 & 0x10:
            return  # no payload: the counter does not advance
        if b1 & 0x80:
            events.append(StreamError(pid, "transport_error_indicator set", offset))
            self._drop(handler)
            return
        cc = b3 & 0x0F
        last = handler.cc
        handler.cc = cc
        if last >= 0 and not discontinuity:
            if cc == last:
                return  # a duplicate packet (allowed once)
            expected = (last + 1) & 0x0F
            if cc != expected:
                events.append(ContinuityError(pid, expected, cc, offset))
                self._drop(handler)
        payload = buf[start:pos + 188]
        pusi = bool(b1 & 0x40)
        if isinstance(handler, _Pes):
            self._pes_packet(handler, payload, pusi, random_access, offset, events)
        else:
            try:
                sections = handler.assembler.feed(payload, pusi, offset)
            except ProtocolError as exc:
                events.append(StreamError(pid, str(exc), offset))
                return
            for section in sections:
                self._section(handler, section, offset, events)

    def _drop(self, handler: _Pes | _Psi) -> None:
        if isinstance(handler, _Pes):
            handler.chunks = []
            handler.size = 0
        else:
            handler.assembler.reset()

    # -- PES ------------------------------------------------------------------------------------

    def _pes_packet(self, st: _Pes, payload: bytes, pusi: bool, random_access: bool, offset: int,
                    events: list[DemuxEvent]) -> None:
        if pusi:
            if st.chunks:
                self._finish(st, events)
            st.chunks = [payload]
            st.size = len(payload)
            st.offset = offset
            st.random_access = random_access
            st.expected = 6 + ((payload[4] << 8) | payload[5]) if len(payload) >= 6 else 0
            if st.expected == 6:
                st.expected = 0
        elif st.chunks:
            st.chunks.append(payload)
            st.size += len(payload)
        else:
            return
        self._check_pes(st, events)

    def _check_pes(self, st: _Pes, events: list[DemuxEvent]) -> None:
        """Drop a PES over the size limit; finish one that has reached its PES_packet_length."""
        if st.size > self.limits.max_pes_size:
            events.append(StreamError(st.pid, f"PES larger than {self.limits.max_pes_size} bytes", st.offset))
            self._drop(st)
        elif st.expected and st.size >= st.expected:
            self._finish(st, events)

    def _finish(self, st: _Pes, events: list[DemuxEvent]) -> None:
        data = b"".join(st.chunks)
        st.chunks = []
        st.size = 0
        if st.expected and len(data) > st.expected:
            data = data[:st.expected]
        try:
            # the common header (a PTS, or PTS and DTS, and no other field) read here; the rest,
            # and every malformed one, by PesHeader.parse
            hlen = data[8] if len(data) >= 9 else 0
            f2 = data[7] if hlen else 0
            length = (data[4] << 8) | data[5] if hlen else 0
            if ((f2 == 0x80 and hlen >= 5) or (f2 == 0xC0 and hlen >= 10)) and data[6] & 0xC0 == 0x80 \
                    and len(data) >= 9 + hlen and (not length or length >= 3 + hlen) \
                    and data.startswith(b"\x00\x00\x01") and data[3] not in _NO_OPTIONAL_HEADER:
                v = int.from_bytes(data[9:14], "big")
                pts_raw = ((v >> 3) & 0x1C0000000) | ((v >> 2) & 0x3FFF8000) | ((v >> 1) & 0x7FFF)
                if f2 == 0xC0:
                    v = int.from_bytes(data[14:19], "big")
                    dts_raw = ((v >> 3) & 0x1C0000000) | ((v >> 2) & 0x3FFF8000) | ((v >> 1) & 0x7FFF)
                else:
                    dts_raw = pts_raw
                header_length = 9 + hlen
            else:
                header = PesHeader.parse(data, st.offset)
                if header.pts is None:
                    events.append(StreamError(st.pid, "PES without PTS", st.offset))
                    return
                pts_raw = header.pts
                dts_raw = header.dts if header.dts is not None else pts_raw
                header_length = header.header_length
            dts = self._unwrap.unwrap(dts_raw)
            pts = dts + ((pts_raw - dts_raw) & 0x1FFFFFFFF)
            if pts - dts >= 1 << 32:  # PTS before DTS: a broken stream, keep PTS as given
                pts -= 1 << 33
            if st.codec is Codec.AAC and st.track.config and len(data) - header_length >= 7:
                # one ADTS frame without CRC filling the PES (split_adts's checks, inlined)
                v = int.from_bytes(data[header_length:header_length + 7], "big")
                frame_length = (v >> 13) & 0x1FFF
                if v >> 40 & 0xFFF7 == 0xFFF1 and (v >> 34) & 0xF < 13 and frame_length == len(data) - header_length:
                    events.append(FrameReceived(Frame(st.pid, pts, dts, data[header_length + 7:], True),
                                                size=frame_length))
                    return
            self._payload(st, memoryview(data)[header_length:], pts, dts, events)
        except ProtocolError as exc:
            events.append(StreamError(st.pid, str(exc), st.offset))

    def _payload(self, st: _Pes, payload: memoryview, pts: int, dts: int, events: list[DemuxEvent]) -> None:
        codec = st.codec
        pid = st.pid
        if codec is Codec.H264 or codec is Codec.H265:
            nals = split_annexb(payload)
            if len(nals) > self.limits.max_nal_units:
                events.append(StreamError(pid, f"access unit of more than {self.limits.max_nal_units} NAL units",
                                          st.offset))
                return
            if codec is Codec.H264:
                nals = [n for n in nals if n[0] & 0x1F != _AUD_H264]
                types = {n[0] & 0x1F for n in nals}
                keyframe = 5 in types or st.random_access
                if 7 in types and 8 in types:
                    self._learn_parameter_sets(st, tuple(n for n in nals if n[0] & 0x1F in (7, 8)), events)
            else:
                nals = [n for n in nals if (n[0] >> 1) & 0x3F != _AUD_H265]
                types = {(n[0] >> 1) & 0x3F for n in nals}
                keyframe = any(16 <= t <= 23 for t in types) or st.random_access
                if {32, 33, 34} <= types:
                    self._learn_parameter_sets(st, tuple(n for n in nals if 32 <= (n[0] >> 1) & 0x3F <= 34), events)
            events.append(FrameReceived(Frame(pid, pts, dts, tuple(nals), keyframe), size=len(payload)))
        elif codec is Codec.AAC:
            frames = split_adts(payload)
            if not frames:
                return
            header0 = frames[0][0]
            if not st.track.config:
                config = header0.to_config()
                try:
                    asc = config.to_bytes()
                except LocalProtocolError as exc:  # channel configuration 0: no config without a PCE
                    raise ParseError(f"ADTS header gives no AudioSpecificConfig: {exc}") from None
                self._update_track(st, replace(st.track, config=asc, sample_rate=config.sample_rate,
                                               channels=config.channels), events)
            rate = header0.sample_rate
            step = 1024  # ADTS cannot signal 960-sample frames
            for i, (adts, raw) in enumerate(frames):
                if i:
                    pts, dts = _advance(pts, step, rate), _advance(dts, step, rate)
                events.append(FrameReceived(Frame(pid, pts, dts, raw, True), size=adts.frame_length))
        elif codec is Codec.OPUS:
            samples = 0
            count = 0
            for packet in split_opus_payload(bytes(payload), st.offset):
                if count:
                    pts, dts = _advance(pts, count, 48000), _advance(dts, count, 48000)
                events.append(FrameReceived(Frame(pid, pts, dts, packet, True), size=len(packet)))
                count = opus_packet_samples(packet)
        elif codec is Codec.MP3:
            raw = bytes(payload)
            split = split_mpeg_audio(raw)
            if split is None:
                events.append(FrameReceived(Frame(pid, pts, dts, raw, True), size=len(raw)))
                return
            if not st.track.sample_rate:
                self._update_track(st, replace(st.track, sample_rate=split[0][2]), events)
            count = 0
            for frame, samples, rate in split:
                if count:  # FFmpeg's MP3 parser: a duration rounded to whole ticks, then added
                    step = rescale(count, rate, 90000)
                    pts, dts = pts + step, dts + step
                events.append(FrameReceived(Frame(pid, pts, dts, frame, True), size=len(frame)))
                count = samples
        else:
            events.append(FrameReceived(Frame(pid, pts, dts, bytes(payload), True), size=len(payload)))

    def _learn_parameter_sets(self, st: _Pes, sets: tuple[bytes, ...], events: list[DemuxEvent]) -> None:
        if sets == st.track.parameter_sets:
            return
        width, height = st.track.width, st.track.height
        sps_type = 7 if st.codec is Codec.H264 else 33
        for nal in sets:
            if (nal[0] & 0x1F if st.codec is Codec.H264 else (nal[0] >> 1) & 0x3F) == sps_type:
                try:
                    info = parse_h264_sps(nal) if st.codec is Codec.H264 else parse_h265_sps(nal)
                    width, height = info.width, info.height
                except ProtocolError:
                    pass  # keep the frames flowing; the size stays unknown
                break
        self._update_track(st, replace(st.track, parameter_sets=sets, width=width, height=height), events)

    def _update_track(self, st: _Pes, track: Track, events: list[DemuxEvent]) -> None:
        st.track = track
        pmt = self.pmt
        events.append(TracksChanged(self.tracks, pmt.program_number if pmt else 0, pmt.pcr_pid if pmt else 0))

    # -- PSI ------------------------------------------------------------------------------------

    def _section(self, handler: _Psi, section: bytes, offset: int, events: list[DemuxEvent]) -> None:
        try:
            if handler.kind == "pat":
                if section[0] != 0x00:
                    return
                self._on_pat(Pat.parse(section, offset))
            elif handler.kind == "pmt":
                if section[0] != 0x02 or section == self._pmt_section:
                    return
                pmt = Pmt.parse(section, offset)
                if self.program_number is not None and pmt.program_number != self.program_number:
                    return
                self._pmt_section = section
                self._on_pmt(pmt, offset, events)
            elif section[0] == 0x42:
                self.sdt = Sdt.parse(section, offset)
        except ProtocolError as exc:
            events.append(StreamError(handler.pid, str(exc), offset))

    def _on_pat(self, pat: Pat) -> None:
        self.pat = pat
        programs = [p for p in pat.programs if p.program_number != 0]
        if self.program_number is not None:
            programs = [p for p in programs if p.program_number == self.program_number]
        if not programs:
            return
        pid = programs[0].pid
        if pid == self._pmt_pid:
            return
        if self._pmt_pid is not None:
            self._pids.pop(self._pmt_pid, None)
        self._pmt_pid = pid
        self._pmt_section = None
        existing = self._pids.get(pid)
        if existing is None or isinstance(existing, _Pes):
            self._pids[pid] = _Psi(pid, "pmt", self.limits)

    def _on_pmt(self, pmt: Pmt, offset: int, events: list[DemuxEvent]) -> None:
        self.pmt = pmt
        old = {pid: h for pid, h in self._pids.items() if isinstance(h, _Pes)}
        keep: dict[int, _Pes] = {}
        for stream in pmt.streams:
            codec = codec_of(stream)
            pid = stream.elementary_pid
            if codec is None or pid in (PAT_PID, SDT_PID, self._pmt_pid) or pid in keep:
                continue
            if len(keep) >= self.limits.max_pids:
                events.append(StreamError(pid, f"more than {self.limits.max_pids} streams; ignored", offset))
                break
            previous = old.get(pid)
            if previous is not None and previous.codec is codec:
                keep[pid] = previous
            else:
                keep[pid] = _Pes(pid, codec, track_from_pmt(pid, codec, stream))
        for pid in old:
            if pid not in keep:
                del self._pids[pid]
        self._pids.update(keep)
        events.append(TracksChanged(tuple(h.track for h in keep.values()), pmt.program_number, pmt.pcr_pid))

    # -- end ------------------------------------------------------------------------------------

    def flush(self) -> list[DemuxEvent]:
        """End of input: emit the PES packets still buffered (video PES have no length, so the last
        one of each PID completes only here)."""
        events: list[DemuxEvent] = []
        for h in list(self._pids.values()):
            if isinstance(h, _Pes) and h.chunks:
                self._finish(h, events)
        return events
