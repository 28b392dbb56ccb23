"""A Sans-IO transport stream muxer: :class:`~mediaproto.media.Frame` in, TS packets out.

:class:`Muxer` writes one program: PAT, PMT (and a DVB SDT naming the service) at the start, before
every video keyframe and every ``psi_interval``; one PES per frame; continuity counters; stuffing in
the adaptation field; ``random_access_indicator`` on keyframes; and a PCR with every PES of the PCR
PID (the first video track, else the first track), ``pcr_lead`` before that PES's DTS, as FFmpeg and
mediacommon do (so an audio-only program has a PCR on every PES). When another stream's frames show
that the PCR PID's next PES would come more than ``pcr_interval`` after the last PCR (slow video),
a PCR-only packet is inserted. PCRs never go backwards and never below zero: while ``DTS -
pcr_lead`` is negative at the start they stay at 0 (pass ``timestamp_offset`` to avoid it).

Codec mapping:

* H.264 (stream type 0x1B) and H.265 (0x24): Annex B with 4-byte start codes; an access unit
  delimiter is inserted when the frame has none, and the parameter sets (from the track, or the
  latest seen in-band) before every IDR/IRAP frame that lacks them. Video PES have length 0.
* AAC (0x0F): each frame wrapped in ADTS from the track's AudioSpecificConfig.
* Opus (0x06): registration descriptor ``Opus``, the DVB extension descriptor with the channel
  count, and a control header before each packet, as FFmpeg writes them.
* MP3 (0x03, or 0x04 below 32 kHz), AC-3 (0x81), E-AC-3 (0x87): the frame as it is.

Frame timestamps are in their track's ``clock_rate``; the muxer rescales them to 90 kHz
(:func:`~mediaproto.clock.rescale`), adds ``timestamp_offset`` and wraps them at 2**33.

:meth:`Muxer.mux` returns the bytes of each frame; :meth:`Muxer.drain` returns what the muxer held
back (audio frames grouped into one PES) at the end or before a segment cut.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ..clock import rescale
from ..codecs.aac import AudioSpecificConfig, adts_wrap
from ..codecs.h264 import START_CODE, join_annexb
from ..errors import LocalProtocolError, ProtocolError
from ..media import Codec, Frame, Track
from .psi import PAT_PID, SDT_PID, Descriptor, Pat, PatProgram, Pmt, PmtStream, Sdt, SdtService, \
    packetize_section, service_descriptor
from .streams import (
    STREAM_TYPE_AAC_ADTS,
    STREAM_TYPE_AC3,
    STREAM_TYPE_EAC3,
    STREAM_TYPE_H264,
    STREAM_TYPE_H265,
    STREAM_TYPE_MPEG1_AUDIO,
    STREAM_TYPE_MPEG2_AUDIO,
    STREAM_TYPE_PRIVATE_PES,
    opus_control_header,
    opus_descriptors,
)

__all__ = ["Muxer"]

_WRAP = 1 << 33
_MASK = _WRAP - 1
_AUD_H264 = b"\x09\xf0"
_AUD_H265 = b"\x46\x01\x50"
#: A PES header's fixed part: start code and stream id, PES_packet_length, '10' and no flags, the
#: PTS_DTS_flags, PES_header_data_length (the form build_pes_header writes).
_PES_FIXED = struct.Struct(">IHBBB")
#: The marker bits of a 5-byte PES timestamp, as a 40-bit number.
_TS_MARKERS = 0x100010001


#: Codec kinds, for the muxer's per-frame dispatch.
_H26X, _ADTS, _OTHER = 0, 1, 2
#: How many full packets one ``struct`` call cuts (frames above 94 KB are cut in blocks of this).
_BLOCK = 512
#: ``Struct("184s" * k)``: the k full packets' payloads of a PES in one call, made when first needed.
_FULL: list[struct.Struct | None] = [None] * (_BLOCK + 1)


def _full(k: int) -> struct.Struct:
    s = _FULL[k]
    if s is None:
        s = _FULL[k] = struct.Struct("184s" * k)
    return s


class _Stream:
    __slots__ = ("track", "pid", "stream_type", "stream_id", "cc", "headers", "headers_af", "headers_start",
                 "headers_af_start", "descriptors",
                 "asc", "parameter_sets", "is_video", "last_dts",
                 "pending", "pending_times",
                 "rate", "kind", "is_pcr", "seq", "ra_start", "pcr_start", "pes_same", "pes_both", "adts",
                 "nal_class", "aud_start")

    def __init__(self, track: Track, pid: int, stream_type: int, stream_id: int,
                 descriptors: tuple[Descriptor, ...]) -> None:
        self.track = track
        self.pid = pid
        self.stream_type = stream_type
        self.stream_id = stream_id
        self.descriptors = descriptors
        self.cc = 0
        hi, lo = pid >> 8, pid & 0xFF
        self.headers = [bytes((0x47, hi, lo, 0x10 | c)) for c in range(16)]
        self.headers_af = [bytes((0x47, hi, lo, 0x30 | c)) for c in range(16)]
        # the first packet of a PES: payload_unit_start_indicator set
        self.headers_start = [bytes((0x47, 0x40 | hi, lo, 0x10 | c)) for c in range(16)]
        self.headers_af_start = [bytes((0x47, 0x40 | hi, lo, 0x30 | c)) for c in range(16)]
        self.asc: AudioSpecificConfig | None = None
        self.parameter_sets: dict[int, bytes] = {}
        self.is_video = track.codec.is_video
        self.last_dts: int | None = None
        self.pending: list[bytes] = []
        self.pending_times = (0, 0)
        # -- precomputed for the per-frame path --
        self.rate = track.clock_rate
        codec = track.codec
        self.kind = _H26X if codec is Codec.H264 or codec is Codec.H265 else _ADTS if codec is Codec.AAC else _OTHER
        self.is_pcr = False
        #: the middle packets' headers from any counter on: seq[cc:cc + k]
        self.seq = self.headers * (_BLOCK // 16 + 2)
        #: a first packet's header and adaptation field with only random_access_indicator (no stuffing)
        self.ra_start = [h + b"\x01\x40" for h in self.headers_af_start]
        #: a first packet's header, adaptation_field_length 7 (flags and PCR), as a 96-bit number
        self.pcr_start = [(int.from_bytes(h, "big") << 64) | (7 << 56) for h in self.headers_af_start]
        #: the PES header as a number, less its length and timestamps: PTS only (14 bytes), PTS and DTS (19)
        self.pes_same = ((0x100 | stream_id) << 80) | (0x808005 << 40) | (2 << 36) | _TS_MARKERS
        self.pes_both = ((0x100 | stream_id) << 120) | (0x80C00A << 80) | (((3 << 36) | _TS_MARKERS) << 40) \
            | (1 << 36) | _TS_MARKERS
        self.adts: int | None = None  # the ADTS header less its frame length, once the config allows ADTS
        #: H.264/H.265 NAL header's first byte -> 1: an access unit delimiter, 2: a parameter set or
        #: IDR/IRAP slice (the full path), 0: anything else
        if codec is Codec.H264:
            self.nal_class = bytes(1 if b & 0x1F == 9 else 2 if b & 0x1F in (5, 7, 8) else 0 for b in range(256))
            self.aud_start = START_CODE + _AUD_H264 + START_CODE
        else:
            self.nal_class = bytes(1 if (b >> 1) & 0x3F == 35 else 2 if (b >> 1) & 0x3F in (16, 17, 18, 19, 20, 21,
                                   22, 23, 32, 33, 34) else 0 for b in range(256))
            self.aud_start = START_CODE + _AUD_H265 + START_CODE


def _stuffing(size: int) -> bytes:
    """An adaptation field of exactly ``size`` bytes with no flags (only stuffing)."""
    if size == 1:
        return b"\x00"
    return bytes((size - 1, 0)) + b"\xff" * (size - 2)


#: The stuffing after the PCR of a PCR-only packet.
_PCR_STUFFING = b"\xff" * 176
#: _stuffing(n) for n = 1..184 (index 0 unused).
_STUFFING = [b""] + [_stuffing(n) for n in range(1, 185)]


def _timestamp40(prefix: int, ts: int) -> int:
    """:func:`~mediaproto.mpegts.packet.encode_timestamp` as a 40-bit number (``ts`` below 2**33)."""
    return (prefix << 36) | ((ts >> 30) << 33) | (((ts >> 15) & 0x7FFF) << 17) | ((ts & 0x7FFF) << 1) | _TS_MARKERS


class Muxer:
    """Mux frames of ``tracks`` into one MPEG-TS program (see the module docs).

    :param tracks: the tracks; each gets a PID, ``first_pid`` onwards in order.
    :param pmt_pid: the PMT's PID.
    :param first_pid: the first elementary PID.
    :param program_number: the program's number in PAT and PMT.
    :param transport_stream_id: the PAT's ``transport_stream_id``.
    :param psi_interval: seconds between PAT/PMT repetitions (FFmpeg's default 0.1 s).
    :param sdt_interval: seconds between SDT repetitions; ``None`` writes no SDT.
    :param pcr_interval: the longest gap between two PCRs, in seconds (40 ms, the MPEG-2 maximum
        is 100 ms).
    :param pcr_lead: how far the PCR runs before the DTS of the PES it rides with, in seconds.
    :param timestamp_offset: 90 kHz ticks added to every PTS, DTS and PCR.
    :param service_name: the SDT service name.
    :param service_provider_name: the SDT provider name.
    :param audio_frames_per_pes: audio frames gathered into one PES (FFmpeg puts several ADTS
        frames in one PES, which saves most of the per-PES packet overhead of small audio frames);
        with more than 1, :meth:`mux` returns nothing for the frames it keeps and
        :meth:`drain` writes what is left.
    """

    def __init__(self, tracks: Sequence[Track], *, pmt_pid: int = 0x1000, first_pid: int = 0x100,
                 program_number: int = 1, transport_stream_id: int = 1, psi_interval: float = 0.1,
                 sdt_interval: float | None = 0.5, pcr_interval: float = 0.04, pcr_lead: float = 0.1,
                 timestamp_offset: int = 0, service_name: str = "Service01",
                 service_provider_name: str = "mediaproto", audio_frames_per_pes: int = 1) -> None:
        if not tracks:
            raise LocalProtocolError("a Muxer needs at least one track")
        if not 0x10 <= pmt_pid < 0x1FFF or not 0x10 <= first_pid or first_pid + len(tracks) > 0x1FFF:
            raise LocalProtocolError("PIDs must lie in 0x0010-0x1FFE")
        self._streams: dict[int, _Stream] = {}
        video = audio = 0
        for i, track in enumerate(tracks):
            if track.id in self._streams:
                raise LocalProtocolError(f"duplicate track id {track.id}")
            pid = first_pid + i
            if pid == pmt_pid or pid == SDT_PID:
                raise LocalProtocolError(f"elementary PID 0x{pid:x} collides with a PSI PID")
            stream_type, descriptors = self._stream_type(track)
            if track.codec.is_video:
                stream_id = 0xE0 + video
                video += 1
            elif track.codec is Codec.OPUS or track.codec in (Codec.AC3, Codec.EAC3):
                stream_id = 0xBD
            else:
                stream_id = 0xC0 + audio
                audio += 1
            st = _Stream(track, pid, stream_type, stream_id, descriptors)
            if track.codec is Codec.AAC:
                if not track.config:
                    raise LocalProtocolError(f"AAC track {track.id} needs its AudioSpecificConfig as config")
                try:
                    st.asc = asc = AudioSpecificConfig.parse(track.config)
                except ProtocolError as exc:
                    raise LocalProtocolError(f"AAC track {track.id}: bad AudioSpecificConfig: {exc}") from None
                if 1 <= asc.object_type <= 4 and asc.sampling_frequency_index <= 12 \
                        and 0 <= asc.channel_configuration <= 7:  # else adts_wrap raises on each frame
                    st.adts = (0xFFF << 44) | (1 << 40) | ((asc.object_type - 1) << 38) \
                        | (asc.sampling_frequency_index << 34) | (asc.channel_configuration << 30) | (0x7FF << 2)
            for nal in track.parameter_sets:
                if nal:
                    st.parameter_sets[self._nal_type(track.codec, nal)] = nal
            self._streams[track.id] = st
        streams = list(self._streams.values())
        pcr_stream = next((s for s in streams if s.is_video), streams[0])
        self._pcr_stream = pcr_stream
        pcr_stream.is_pcr = True
        self._audio_only = not any(s.is_video for s in streams)
        self.pmt_pid = pmt_pid
        self.pcr_pid = pcr_stream.pid
        self.pat = Pat(transport_stream_id, (PatProgram(program_number, pmt_pid),))
        self.pmt = Pmt(program_number, pcr_stream.pid,
                       tuple(PmtStream(s.stream_type, s.pid, s.descriptors) for s in streams))
        self.sdt = None if sdt_interval is None else Sdt(transport_stream_id, 0xFF01, (
            SdtService(program_number, (service_descriptor(service_provider_name, service_name),)),))
        self._pat_section = self.pat.to_bytes()
        self._pmt_section = self.pmt.to_bytes()
        self._sdt_section = self.sdt.to_bytes() if self.sdt is not None else b""
        self._cc = {PAT_PID: 0, pmt_pid: 0, SDT_PID: 0}
        # each table's packets and the next counter, for each continuity counter it may start at
        self._pat_packets = [packetize_section(PAT_PID, self._pat_section, c) for c in range(16)]
        self._pmt_packets = [packetize_section(pmt_pid, self._pmt_section, c) for c in range(16)]
        self._sdt_packets = [packetize_section(SDT_PID, self._sdt_section, c) for c in range(16)]
        self._psi_ticks = round(psi_interval * 90000)
        self._sdt_ticks = None if sdt_interval is None else round(sdt_interval * 90000)
        self._pcr_ticks = round(pcr_interval * 90000)
        self._pcr_lead = round(pcr_lead * 90000)
        self.timestamp_offset = timestamp_offset
        if audio_frames_per_pes < 1:
            raise LocalProtocolError("audio_frames_per_pes must be at least 1")
        self._audio_frames_per_pes = audio_frames_per_pes
        self._last_psi: int | None = None
        self._last_sdt: int | None = None
        self._last_pcr: int | None = None  # unwrapped 90 kHz of the last PCR written
        self._now = 0  # the highest DTS muxed (unwrapped 90 kHz)
        self._psi_fresh = False

    @property
    def pids(self) -> dict[int, int]:
        """Track id -> elementary PID."""
        return {tid: st.pid for tid, st in self._streams.items()}

    @staticmethod
    def _nal_type(codec: Codec, nal: bytes) -> int:
        return nal[0] & 0x1F if codec is Codec.H264 else (nal[0] >> 1) & 0x3F

    @staticmethod
    def _stream_type(track: Track) -> tuple[int, tuple[Descriptor, ...]]:
        codec = track.codec
        if codec is Codec.H264:
            return STREAM_TYPE_H264, ()
        if codec is Codec.H265:
            return STREAM_TYPE_H265, ()
        if codec is Codec.AAC:
            return STREAM_TYPE_AAC_ADTS, ()
        if codec is Codec.MP3:
            low = 0 < track.sample_rate < 32000
            return (STREAM_TYPE_MPEG2_AUDIO if low else STREAM_TYPE_MPEG1_AUDIO), ()
        if codec is Codec.OPUS:
            channels = track.channels or (track.config[9] if len(track.config) > 9 else 2)
            return STREAM_TYPE_PRIVATE_PES, opus_descriptors(channels)
        if codec is Codec.AC3:
            return STREAM_TYPE_AC3, ()
        if codec is Codec.EAC3:
            return STREAM_TYPE_EAC3, ()
        raise LocalProtocolError(f"MPEG-TS muxing of {codec.value} is not supported")

    # -- PSI ------------------------------------------------------------------------------------

    def psi(self) -> bytes:
        """PAT and PMT packets (and the SDT when enabled) to write now, e.g. at a segment start."""
        cc = self._cc
        pat, cc[PAT_PID] = self._pat_packets[cc[PAT_PID]]
        pmt, cc[self.pmt_pid] = self._pmt_packets[cc[self.pmt_pid]]
        self._last_psi = self._now
        self._psi_fresh = True
        if self._sdt_section:
            sdt, cc[SDT_PID] = self._sdt_packets[cc[SDT_PID]]
            self._last_sdt = self._now
            return sdt + pat + pmt
        return pat + pmt

    # -- frames ---------------------------------------------------------------------------------

    def mux(self, frame: Frame) -> bytes:
        """The TS packets carrying ``frame`` (one PES), preceded by PSI and PCR packets when due."""
        st = self._streams.get(frame.track_id)
        if st is None:
            raise LocalProtocolError(f"no track with id {frame.track_id}")
        # rescale to 90 kHz (clock.rescale, inlined: rates are positive, a Track checks)
        dts = frame.dts
        pts = frame.pts
        rate = st.rate
        if pts == dts:
            if rate != 90000:
                dts = (180000 * dts + rate) // (2 * rate)
            pts = dts = dts + self.timestamp_offset
        else:
            if rate != 90000:
                dts = (180000 * dts + rate) // (2 * rate)
                pts = (180000 * pts + rate) // (2 * rate)
            dts += self.timestamp_offset
            pts += self.timestamp_offset
        now = self._now
        if dts > now or self._last_psi is None:
            self._now = now = dts
        psi = b""
        if self._psi_fresh:  # psi() was just called: its tables count from this frame's time
            self._psi_fresh = False
            self._last_psi = now
            if self._sdt_section:
                self._last_sdt = now
        elif (self._last_psi is None or now - self._last_psi >= self._psi_ticks
                or (frame.keyframe and st.is_video)):
            sdt_due = self._sdt_ticks is not None and (
                self._last_sdt is None or now - self._last_sdt >= self._sdt_ticks)
            if sdt_due:
                psi = self.psi()
            else:
                sdt, self._sdt_section = self._sdt_section, b""
                psi = self.psi()
                self._sdt_section = sdt
            self._psi_fresh = False
        # the elementary stream bytes: the common forms here, the rest in _elementary
        kind = st.kind
        lead = b""  # the start code (and AUD) or ADTS header before es, apart to spare a copy of the frame
        if kind == _ADTS:
            data = frame.data
            payload = data if isinstance(data, bytes) else bytes(frame.payload)
            if st.adts is None or len(payload) > 0x1FF8:
                es = self._elementary(st, frame)  # raises
            else:  # the ADTS header as the lead
                lead = (st.adts | ((len(payload) + 7) << 13)).to_bytes(7, "big")
                es = payload
        elif kind == _H26X:
            data = frame.data
            nals: Sequence[bytes] = data if isinstance(data, tuple) else (data,)
            nal_class = st.nal_class
            for n in nals:
                if not n or nal_class[n[0]] == 2:  # parameter sets, IDR/IRAP, empty NAL units
                    nals = self._annexb(st, frame)
                    lead = START_CODE
                    break
            else:
                if not nals:
                    nals = self._annexb(st, frame)
                    lead = START_CODE
                elif nal_class[nals[0][0]] == 1:
                    lead = START_CODE
                else:
                    lead = st.aud_start
            es = START_CODE.join(nals)
        else:
            es = self._elementary(st, frame)
        if self._audio_frames_per_pes > 1 and not st.is_video:
            if not st.pending:
                st.pending_times = (pts, dts)
            st.pending.append(lead + es)
            lead = b""
            if len(st.pending) < self._audio_frames_per_pes:
                return psi
            es = b"".join(st.pending)
            pts, dts = st.pending_times
            st.pending = []
        if psi:
            return psi + self._emit(st, es, pts, dts, frame.keyframe, lead)
        return self._emit(st, es, pts, dts, frame.keyframe, lead)

    def drain(self) -> bytes:
        """The audio frames still waiting to fill a PES (with ``audio_frames_per_pes`` above 1), as
        packets; ``b""`` when nothing waits. Call it at the end, and before cutting a segment.

        (An encoder's verbs name what it makes and return it: :meth:`mux` and :meth:`drain` return
        bytes. ``flush`` is the verb of incremental parsers, and always returns a list.)"""
        out: list[bytes] = []
        for st in self._streams.values():
            if st.pending:
                es = b"".join(st.pending)
                st.pending = []
                out.append(self._emit(st, es, st.pending_times[0], st.pending_times[1], True))
        return b"".join(out)

    def _emit(self, st: _Stream, es: bytes, pts: int, dts: int, keyframe: bool, lead: bytes = b"") -> bytes:
        """The packets of the PES of ``lead + es`` (and a PCR-only packet before them when due)."""
        pcr_only = b""
        target = dts - self._pcr_lead
        last = st.last_dts
        spacing = dts - last if last is not None and dts > last else 0
        st.last_dts = dts
        if st.is_pcr:  # _next_pcr, inlined
            pcr: int | None = target
            last = self._last_pcr
            if last is not None:
                if target < last:
                    pcr = last
            elif target < 0:
                pcr = 0
            self._last_pcr = pcr
        else:
            pcr = None
            if self._last_pcr is not None and target - self._last_pcr >= self._pcr_ticks - spacing:
                # the PCR PID's next PES may come too late: a PCR-only packet now
                pcr_only = self._pcr_packet(self._next_pcr(target))
        # the PES header (build_pes_header's form; video PES have length 0), as one number
        size = len(lead) + len(es)
        pts &= _MASK
        if pts == dts & _MASK:
            length = 0 if st.is_video or size > 0xFFF7 else size + 8
            header = (st.pes_same | (length << 64) | ((pts >> 30) << 33) | (((pts >> 15) & 0x7FFF) << 17)
                      | ((pts & 0x7FFF) << 1)).to_bytes(14, "big")
            n = size + 14
        else:
            dts &= _MASK
            length = 0 if st.is_video or size > 0xFFF2 else size + 13
            header = (st.pes_both | (length << 104) | ((pts >> 30) << 73) | (((pts >> 15) & 0x7FFF) << 57)
                      | ((pts & 0x7FFF) << 41) | ((dts >> 30) << 33) | (((dts >> 15) & 0x7FFF) << 17)
                      | ((dts & 0x7FFF) << 1)).to_bytes(19, "big")
            n = size + 19
        # the first packet's header and adaptation field (PCR, random_access_indicator, stuffing)
        cc = st.cc
        if pcr is None:
            if keyframe:
                if n >= 182:
                    first = st.ra_start[cc]
                    take = 182
                else:
                    first = st.headers_af_start[cc] + bytes((183 - n, 0x40)) + b"\xff" * (182 - n)
                    take = n
            elif n >= 184:
                first = st.headers_start[cc]
                take = 184
            else:
                first = st.headers_af_start[cc] + _STUFFING[184 - n]
                take = n
        else:
            flags = 0x50 if keyframe else 0x10
            if n >= 176:
                first = (st.pcr_start[cc] | (flags << 48) | ((pcr & _MASK) << 15) | 0x7E00).to_bytes(12, "big")
                take = 176
            else:
                first = st.headers_af_start[cc] + bytes((183 - n, flags)) \
                    + (((pcr & _MASK) << 15) | 0x7E00).to_bytes(6, "big") + b"\xff" * (176 - n)
                take = n
        rest = n - take
        if not rest:
            st.cc = (cc + 1) & 0x0F
            return b"".join((pcr_only, first, header, lead, es))
        pos = take - (n - len(es))  # where the second packet starts in es
        parts = [pcr_only, first, header, lead, es[:pos]]
        cc += 1
        full, rest = divmod(rest, 184)
        while full:  # the full packets: one struct call cuts their payloads, the headers go between
            k = full if full <= _BLOCK else _BLOCK
            c = cc & 0x0F
            middle = [b""] * (2 * k)
            middle[::2] = st.seq[c:c + k]
            middle[1::2] = (_FULL[k] or _full(k)).unpack_from(es, pos)
            parts += middle
            pos += 184 * k
            cc += k
            full -= k
        if rest:
            parts += (st.headers_af[cc & 0x0F], _STUFFING[184 - rest], es[pos:])
            cc += 1
        st.cc = cc & 0x0F
        return b"".join(parts)

    def _next_pcr(self, target: int) -> int:
        last = self._last_pcr
        if last is not None and target < last:
            target = last
        if target < 0 and last is None:
            target = 0
        self._last_pcr = target
        return target

    def _pcr_packet(self, pcr: int) -> bytes:
        """A packet of the PCR PID with only an adaptation field: the PCR, then stuffing. It has no
        payload, so its continuity counter repeats the previous packet's."""
        st = self._pcr_stream
        # header, adaptation_field_length 183, PCR_flag, PCR (encode_pcr's form: base, extension 0)
        return ((((0x470000 | st.pid) << 8 | 0x20 | ((st.cc - 1) & 0x0F)) << 64 | 0xB710_0000_0000_7E00
                 | (pcr & _MASK) << 15).to_bytes(12, "big") + _PCR_STUFFING)

    def _elementary(self, st: _Stream, frame: Frame) -> bytes:
        codec = st.track.codec
        if codec is Codec.H264 or codec is Codec.H265:
            return join_annexb(self._annexb(st, frame))
        payload = frame.payload
        if codec is Codec.AAC:
            assert st.asc is not None
            return adts_wrap(payload, st.asc)
        if codec is Codec.OPUS:
            return opus_control_header(len(payload)) + payload
        return payload

    def _annexb(self, st: _Stream, frame: Frame) -> list[bytes]:
        """The NAL units to write: an AUD first, the parameter sets before an IDR/IRAP frame."""
        codec = st.track.codec
        nals = [n for n in frame.nal_units if n]
        param_types: tuple[int, ...]
        if codec is Codec.H264:
            types = [n[0] & 0x1F for n in nals]
            aud, param_types, irap = _AUD_H264, (7, 8), 5 in types
        else:
            types = [(n[0] >> 1) & 0x3F for n in nals]
            aud, param_types, irap = _AUD_H265, (32, 33, 34), any(16 <= t <= 23 for t in types)
        aud_type = 9 if codec is Codec.H264 else 35
        known = st.parameter_sets
        for t, n in zip(types, nals):
            if t in param_types:
                known[t] = n
        insert: list[bytes] = []
        if irap:
            insert = [known[t] for t in param_types if t not in types and t in known]
        if not types or types[0] != aud_type:
            nals = [aud] + insert + nals
        elif insert:
            nals = nals[:1] + insert + nals[1:]
        return nals
