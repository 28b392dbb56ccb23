// mediaproto's HLS player: our fMP4 playlists through Media Source Extensions, native HLS where the
// browser has it. No third-party code, nothing loaded from the internet.
//
//   MediaprotoPlayer.attach(video)   plays video.dataset.src (an fMP4 playlist, e.g. /live/x/fmp4.m3u8)
//
// The page parameter ?player=mse forces the MSE player where the browser plays HLS natively
// (Safari, and Debian's Chromium); ?player=native forces the browser's own. What the player reads:
// EXT-X-MAP (the init segment), EXTINF segments, EXT-X-PART parts with EXT-X-PART-INF and
// EXT-X-SERVER-CONTROL (LL-HLS: blocking playlist reload with _HLS_msn/_HLS_part), EXT-X-MEDIA-SEQUENCE,
// EXT-X-DISCONTINUITY and EXT-X-ENDLIST. Codecs come from the init segment (avcC, hvcC, esds, dOps).
// When it cannot play, it says why in a <p class="player-error"> after the video.
(function (global) {
  'use strict';

  // ---------------------------------------------------------------------------------- playlists
  function parseAttributes(text) {
    const out = {};
    const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
    let m;
    while ((m = re.exec(text)) !== null) {
      let v = m[2];
      if (v.startsWith('"')) v = v.slice(1, -1);
      out[m[1]] = v;
    }
    return out;
  }

  function parsePlaylist(text, base) {
    const lines = text.split(/\r?\n/);
    if (lines[0].trim() !== '#EXTM3U') throw new Error('not an m3u8 playlist');
    const pl = { targetDuration: 0, mediaSequence: 0, segments: [], partTarget: 0, canBlock: false,
                 partHoldBack: 0, holdBack: 0, endList: false, variants: [], preloadHint: null };
    let pending = { parts: [], discontinuity: false, map: null, duration: 0 };
    let map = null;
    let msn = null;
    for (const raw of lines) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('#EXT-X-TARGETDURATION:')) pl.targetDuration = parseFloat(line.slice(22));
      else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) pl.mediaSequence = parseInt(line.slice(22), 10);
      else if (line.startsWith('#EXT-X-PART-INF:')) pl.partTarget = parseFloat(parseAttributes(line.slice(16))['PART-TARGET']);
      else if (line.startsWith('#EXT-X-SERVER-CONTROL:')) {
        const a = parseAttributes(line.slice(22));
        pl.canBlock = a['CAN-BLOCK-RELOAD'] === 'YES';
        pl.partHoldBack = parseFloat(a['PART-HOLD-BACK'] || '0');
        pl.holdBack = parseFloat(a['HOLD-BACK'] || '0');
      } else if (line.startsWith('#EXT-X-MAP:')) {
        map = new URL(parseAttributes(line.slice(11)).URI, base).href;
        pending.map = map;
      } else if (line.startsWith('#EXT-X-DISCONTINUITY') && !line.startsWith('#EXT-X-DISCONTINUITY-SEQUENCE')) {
        pending.discontinuity = true;
      } else if (line.startsWith('#EXT-X-PART:')) {
        const a = parseAttributes(line.slice(12));
        pending.parts.push({ uri: new URL(a.URI, base).href, duration: parseFloat(a.DURATION),
                             independent: a.INDEPENDENT === 'YES' });
      } else if (line.startsWith('#EXTINF:')) {
        pending.duration = parseFloat(line.slice(8));
      } else if (line.startsWith('#EXT-X-PRELOAD-HINT:')) {
        pl.preloadHint = parseAttributes(line.slice(20));
      } else if (line.startsWith('#EXT-X-ENDLIST')) {
        pl.endList = true;
      } else if (line.startsWith('#EXT-X-STREAM-INF:')) {
        pl.variants.push(null);
      } else if (!line.startsWith('#')) {
        if (pl.variants.length && pl.variants[pl.variants.length - 1] === null) {
          pl.variants[pl.variants.length - 1] = new URL(line, base).href;
          continue;
        }
        if (msn === null) msn = pl.mediaSequence;
        pl.segments.push({ msn: msn++, uri: new URL(line, base).href, duration: pending.duration,
                           parts: pending.parts, discontinuity: pending.discontinuity, map: map });
        pending = { parts: [], discontinuity: false, map: null, duration: 0 };
      }
    }
    if (msn === null) msn = pl.mediaSequence;
    // The segment in progress (LL-HLS): its parts so far.
    pl.partial = pending.parts.length ? { msn: msn, parts: pending.parts, discontinuity: pending.discontinuity, map: map } : null;
    pl.nextMsn = msn;
    pl.map = map;
    return pl;
  }

  // ---------------------------------------------------------------------------- ISO BMFF boxes
  function boxes(view, start, end) {
    const out = [];
    let pos = start;
    while (pos + 8 <= end) {
      let size = view.getUint32(pos);
      const type = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5), view.getUint8(pos + 6), view.getUint8(pos + 7));
      let header = 8;
      if (size === 1) { size = Number(view.getBigUint64(pos + 8)); header = 16; } else if (size === 0) size = end - pos;
      if (size < header || pos + size > end) break;
      out.push({ type: type, start: pos + header, end: pos + size });
      pos += size;
    }
    return out;
  }

  function child(view, box, type, skip) {
    return boxes(view, box.start + (skip || 0), box.end).find(b => b.type === type) || null;
  }

  function hex2(n) { return (n < 16 ? '0' : '') + n.toString(16).toUpperCase(); }

  function descriptor(view, pos) {  // MPEG-4 descriptor: tag, size (1-4 bytes of 7 bits)
    const tag = view.getUint8(pos++);
    let size = 0;
    for (let i = 0; i < 4; i++) {
      const b = view.getUint8(pos++);
      size = (size << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return { tag: tag, start: pos, end: pos + size };
  }

  function mp4aCodec(view, esds) {
    let d = descriptor(view, esds.start + 4);  // ES_Descriptor
    if (d.tag !== 3) return 'mp4a.40.2';
    let pos = d.start + 2;
    const flags = view.getUint8(pos++);
    if (flags & 0x80) pos += 2;
    if (flags & 0x40) pos += 1 + view.getUint8(pos);
    if (flags & 0x20) pos += 2;
    d = descriptor(view, pos);  // DecoderConfigDescriptor
    if (d.tag !== 4) return 'mp4a.40.2';
    const oti = view.getUint8(d.start);
    const dsi = descriptor(view, d.start + 13);
    if (dsi.tag !== 5 || oti !== 0x40) return 'mp4a.' + oti.toString(16);
    let aot = view.getUint8(dsi.start) >> 3;
    if (aot === 31) aot = 32 + (((view.getUint8(dsi.start) & 7) << 3) | (view.getUint8(dsi.start + 1) >> 5));
    return 'mp4a.40.' + aot;
  }

  function hevcCodec(type, view, hvcc) {
    const p = hvcc.start;
    const b1 = view.getUint8(p + 1);
    const space = ['', 'A', 'B', 'C'][b1 >> 6];
    const tier = (b1 >> 5) & 1 ? 'H' : 'L';
    let compat = view.getUint32(p + 2);
    let reversed = 0;
    for (let i = 0; i < 32; i++) { reversed = (reversed << 1) | (compat & 1); compat >>>= 1; }
    const constraints = [];
    for (let i = 0; i < 6; i++) constraints.push(view.getUint8(p + 6 + i));
    while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
    let codec = type + '.' + space + (b1 & 0x1f) + '.' + (reversed >>> 0).toString(16).toUpperCase() + '.' + tier + view.getUint8(p + 12);
    for (const c of constraints) codec += '.' + c.toString(16).toUpperCase();
    return codec;
  }

  // The RFC 6381 codecs of an init segment, e.g. ['avc1.42C01E', 'mp4a.40.2'].
  function initCodecs(buffer) {
    const view = new DataView(buffer);
    const moov = boxes(view, 0, view.byteLength).find(b => b.type === 'moov');
    if (!moov) throw new Error('the init segment has no moov box');
    const codecs = [];
    for (const trak of boxes(view, moov.start, moov.end).filter(b => b.type === 'trak')) {
      const mdia = child(view, trak, 'mdia');
      const minf = mdia && child(view, mdia, 'minf');
      const stbl = minf && child(view, minf, 'stbl');
      const stsd = stbl && child(view, stbl, 'stsd');
      if (!stsd) continue;
      const entry = boxes(view, stsd.start + 8, stsd.end)[0];
      if (!entry) continue;
      if (entry.type === 'avc1' || entry.type === 'avc3') {
        const avcc = child(view, entry, 'avcC', 78);
        if (avcc) codecs.push(entry.type + '.' + hex2(view.getUint8(avcc.start + 1)) + hex2(view.getUint8(avcc.start + 2)) + hex2(view.getUint8(avcc.start + 3)));
      } else if (entry.type === 'hvc1' || entry.type === 'hev1') {
        const hvcc = child(view, entry, 'hvcC', 78);
        if (hvcc) codecs.push(hevcCodec(entry.type, view, hvcc));
      } else if (entry.type === 'mp4a') {
        const esds = child(view, entry, 'esds', 28);
        codecs.push(esds ? mp4aCodec(view, esds) : 'mp4a.40.2');
      } else if (entry.type === 'Opus') {
        codecs.push('opus');
      } else {
        codecs.push(entry.type);
      }
    }
    return codecs;
  }

  // The earliest decode time (seconds) in a fragment, from its tfdt boxes and the init's timescales.
  function fragmentStart(buffer, timescales) {
    const view = new DataView(buffer);
    let first = Infinity;
    for (const moof of boxes(view, 0, view.byteLength).filter(b => b.type === 'moof')) {
      for (const traf of boxes(view, moof.start, moof.end).filter(b => b.type === 'traf')) {
        const tfhd = child(view, traf, 'tfhd');
        const tfdt = child(view, traf, 'tfdt');
        if (!tfhd || !tfdt) continue;
        const id = view.getUint32(tfhd.start + 4);
        const t = view.getUint8(tfdt.start) === 1 ? Number(view.getBigUint64(tfdt.start + 4)) : view.getUint32(tfdt.start + 4);
        if (timescales[id]) first = Math.min(first, t / timescales[id]);
      }
    }
    return first;
  }

  function initTimescales(buffer) {
    const view = new DataView(buffer);
    const out = {};
    const moov = boxes(view, 0, view.byteLength).find(b => b.type === 'moov');
    if (!moov) return out;
    for (const trak of boxes(view, moov.start, moov.end).filter(b => b.type === 'trak')) {
      const tkhd = child(view, trak, 'tkhd');
      const mdia = child(view, trak, 'mdia');
      const mdhd = mdia && child(view, mdia, 'mdhd');
      if (!tkhd || !mdhd) continue;
      const id = view.getUint32(tkhd.start + (view.getUint8(tkhd.start) === 1 ? 20 : 12));
      out[id] = view.getUint32(mdhd.start + (view.getUint8(mdhd.start) === 1 ? 20 : 12));
    }
    return out;
  }

  // ------------------------------------------------------------------------------------ player
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

  class MsePlayer {
    constructor(video, url, report) {
      this.video = video;
      this.url = new URL(url, location.href).href;
      this.report = report;
      this.stopped = false;
      this.sourceBuffer = null;
      this.initUri = null;
      this.timescales = {};
      this.resync = true;     // the next fragment starts a new timeline (first one, discontinuity)
      this.next = null;       // LL-HLS: {msn, part} to load next; else {msn}
      this.lag = 1.5;         // seconds kept behind the buffered live edge
      this.queue = Promise.resolve();
    }

    async fetchBytes(uri) {
      const r = await fetch(uri, { cache: 'no-store' });
      if (!r.ok) { const e = new Error(r.status + ' ' + r.statusText + ' for ' + uri); e.status = r.status; throw e; }
      return r.arrayBuffer();
    }

    async fetchPlaylist(query) {
      const u = new URL(this.url);
      for (const [k, v] of Object.entries(query || {})) u.searchParams.set(k, v);
      const r = await fetch(u.href, { cache: 'no-store' });
      if (!r.ok) { const e = new Error(r.status + ' ' + r.statusText + ' for ' + u.pathname); e.status = r.status; throw e; }
      const pl = parsePlaylist(await r.text(), u.href);
      if (pl.variants.length) {  // a multivariant playlist: take its first variant
        this.url = pl.variants[0];
        return this.fetchPlaylist(query);
      }
      return pl;
    }

    async start() {
      const ms = new MediaSource();
      this.mediaSource = ms;
      this.video.src = URL.createObjectURL(ms);
      await new Promise(resolve => ms.addEventListener('sourceopen', resolve, { once: true }));
      let pl;
      for (;;) {
        try { pl = await this.fetchPlaylist(); break; } catch (e) {
          if (e.status !== 404 && e.status !== 503) throw e;
          this.report('waiting for the stream: ' + e.message, false);
          await sleep(1000);
        }
      }
      this.report('', false);
      this.ll = pl.partTarget > 0 && pl.canBlock;
      this.lag = this.ll ? Math.max(pl.partHoldBack || 3 * pl.partTarget, 0.5) : 1.5 * pl.targetDuration;
      this.video.addEventListener('waiting', () => this.unstall());
      setInterval(() => this.keepUp(), 250);
      for (;;) {
        try {
          if (this.ll) await this.runLowLatency(pl); else await this.runSegments(pl);
          return;
        } catch (e) {
          // HTTP errors and lost connections (a segment that left the window, a server restart):
          // start again from a fresh playlist. Anything else (a codec, MSE itself) is fatal.
          if (this.stopped || !(e.status || e instanceof TypeError)) throw e;
          this.report('reconnecting: ' + e.message, false);
          await sleep(1000);
          try { pl = await this.fetchPlaylist(); } catch (e2) { continue; }
          this.report('', false);
        }
      }
    }

    // Append one buffer to the SourceBuffer, one at a time (after a remove() still running).
    async append(data) {
      const sb = this.sourceBuffer;
      while (sb.updating) await new Promise(resolve => sb.addEventListener('updateend', resolve, { once: true }));
      return new Promise((resolve, reject) => {
        const done = () => { sb.removeEventListener('updateend', done); sb.removeEventListener('error', fail); resolve(); };
        const fail = () => { sb.removeEventListener('updateend', done); sb.removeEventListener('error', fail); reject(new Error('the browser refused a fragment')); };
        sb.addEventListener('updateend', done);
        sb.addEventListener('error', fail);
        try { sb.appendBuffer(data); } catch (e) { sb.removeEventListener('updateend', done); sb.removeEventListener('error', fail); reject(e); }
      });
    }

    async setInit(uri) {
      if (uri === this.initUri) return;
      const init = await this.fetchBytes(uri);
      const codecs = initCodecs(init);
      const mime = 'video/mp4; codecs="' + codecs.join(',') + '"';
      if (!MediaSource.isTypeSupported(mime)) throw new Error('this browser cannot play ' + mime);
      if (!this.sourceBuffer) {
        this.sourceBuffer = this.mediaSource.addSourceBuffer(mime);
      } else if (this.sourceBuffer.changeType) {
        this.sourceBuffer.changeType(mime);
      }
      this.timescales = initTimescales(init);
      this.initUri = uri;
      this.resync = true;
      await this.append(init);
    }

    async appendFragment(data) {
      const start = fragmentStart(data, this.timescales);
      const sb = this.sourceBuffer;
      const b = sb.buffered;
      // A new timeline (the first fragment, a discontinuity, a new init segment, or timestamps
      // that jump by more than 5 s, as when the server restarted): place it right after what is buffered.
      if (b.length && isFinite(start) &&
          (this.resync || Math.abs(start + sb.timestampOffset - b.end(b.length - 1)) > 5)) {
        while (sb.updating) await new Promise(resolve => sb.addEventListener('updateend', resolve, { once: true }));
        sb.timestampOffset = b.end(b.length - 1) - start;
      }
      this.resync = false;
      await this.append(data);
      this.trim();
      this.maybeStart();
    }

    // Start (or restart after a gap) once the backlog up to the live edge is loaded and `lag`
    // seconds are buffered (a stream that just began has less): playback starts `lag` behind the edge.
    maybeStart() {
      const b = this.video.buffered;
      if (!b.length || this.backlog) return;
      const ready = b.end(b.length - 1) - b.start(0) >= this.lag;
      if ((!this.started && ready) || (this.started && this.video.currentTime < b.start(0))) {
        this.started = true;
        this.video.currentTime = Math.max(b.start(0), b.end(b.length - 1) - this.lag);
        const p = this.video.play();
        if (p) p.catch(() => {});
      }
    }

    trim() {  // keep memory bounded: drop what lies more than 30 s behind the playhead
      const b = this.sourceBuffer.buffered;
      const until = this.video.currentTime - 30;
      if (b.length && b.start(0) < until && !this.sourceBuffer.updating) {
        try { this.sourceBuffer.remove(0, until); } catch (e) { /* retried at the next fragment */ }
      }
    }

    keepUp() {  // live: stay `lag` behind the edge (a little faster when behind, a seek when far), skip holes
      const v = this.video;
      const b = v.buffered;
      if (!b.length || !this.started) return;
      const behind = b.end(b.length - 1) - v.currentTime - this.lag;
      if (behind > 2.5) v.currentTime = b.end(b.length - 1) - this.lag;
      else if (behind > 0.3) v.playbackRate = 1.1;
      else if (behind < 0.1) v.playbackRate = 1.0;
      this.unstall();
    }

    unstall() {
      const v = this.video;
      const b = v.buffered;
      for (let i = 0; i < b.length; i++) {
        if (b.start(i) > v.currentTime && b.start(i) - v.currentTime < 1.0 &&
            (i === 0 || b.end(i - 1) - v.currentTime < 0.05)) {
          v.currentTime = b.start(i) + 0.01;
          return;
        }
      }
    }

    async loadSegment(seg) {
      if (seg.discontinuity) this.resync = true;
      await this.setInit(seg.map);
      await this.appendFragment(await this.fetchBytes(seg.uri));
    }

    // Plain HLS: reload the playlist, load the segments not loaded yet.
    async runSegments(pl) {
      const segs = pl.segments;
      let total = 0;
      let first = segs.length - 1;
      while (first > 0 && total + segs[first].duration < this.lag + 0.5) total += segs[first--].duration;
      let nextMsn = segs.length ? segs[Math.max(0, first)].msn : pl.mediaSequence;
      this.backlog = true;
      while (!this.stopped) {
        let loaded = false;
        for (const seg of pl.segments) {
          if (seg.msn < nextMsn) continue;
          await this.loadSegment(seg);
          nextMsn = seg.msn + 1;
          loaded = true;
        }
        this.backlog = false;
        this.maybeStart();
        if (pl.endList) { await this.endOfStream(); return; }
        await sleep(1000 * pl.targetDuration / (loaded ? 2 : 4));
        pl = await this.reload();
        if (pl.segments.length && nextMsn < pl.segments[0].msn) nextMsn = pl.segments[0].msn;  // fell behind
      }
    }

    async reload(query) {
      for (let tries = 0; ; tries++) {
        try { return await this.fetchPlaylist(query); } catch (e) {
          if (tries >= 5) throw e;
          await sleep(500);
        }
      }
    }

    // LL-HLS: parts, then a blocking reload for the next one.
    async runLowLatency(pl) {
      const all = this.partList(pl);
      // Start at the last independent part at least PART-HOLD-BACK before the live edge.
      let edge = 0;
      for (const p of all) edge += p.duration;
      let t = 0;
      let start = -1;
      for (let i = 0; i < all.length; i++) {
        if (all[i].independent && edge - t >= this.lag) start = i;
        t += all[i].duration;
      }
      if (start < 0) start = all.findIndex(p => p.independent);
      if (start < 0) { await sleep(200); return this.runLowLatency(await this.reload()); }
      this.next = { msn: all[start].msn, part: all[start].part };
      this.backlog = true;
      while (!this.stopped) {
        const parts = this.partList(pl);
        const i = parts.findIndex(p => p.msn === this.next.msn && p.part === this.next.part);
        if (i >= 0) {
          for (const p of parts.slice(i)) {
            if (p.discontinuity) this.resync = true;
            await this.setInit(p.map);
            await this.appendFragment(await this.fetchBytes(p.uri));
            this.next = { msn: p.msn, part: p.part + 1 };
          }
        } else {
          const seg = pl.segments.find(s => s.msn === this.next.msn);
          if (seg && this.next.part >= seg.parts.length) { this.next = { msn: this.next.msn + 1, part: 0 }; continue; }
          if (pl.segments.length && this.next.msn < pl.segments[0].msn) {  // fell out of the window
            return this.runLowLatency(pl);
          }
          if (seg && !seg.parts.length) {  // the parts are gone from the playlist: take the segment
            await this.loadSegment(seg);
            this.next = { msn: seg.msn + 1, part: 0 };
            continue;
          }
        }
        this.backlog = false;
        this.maybeStart();
        if (pl.endList) { await this.endOfStream(); return; }
        pl = await this.reload({ _HLS_msn: String(this.next.msn), _HLS_part: String(this.next.part) });
      }
    }

    partList(pl) {
      const out = [];
      const add = (seg) => seg.parts.forEach((p, j) => out.push({ msn: seg.msn, part: j, uri: p.uri, duration: p.duration,
        independent: p.independent, map: seg.map, discontinuity: j === 0 && seg.discontinuity }));
      pl.segments.forEach(add);
      if (pl.partial) add(pl.partial);
      return out;
    }

    async endOfStream() {
      const sb = this.sourceBuffer;
      if (sb && this.mediaSource.readyState === 'open' && !sb.updating) this.mediaSource.endOfStream();
    }
  }

  function report(video) {
    return function (message, isError) {
      let p = video.nextElementSibling;
      if (!p || !p.classList.contains('player-error')) {
        p = document.createElement('p');
        p.className = 'player-error';
        video.insertAdjacentElement('afterend', p);
      }
      p.textContent = message;
      p.hidden = !message;
      if (isError) video.dataset.playerError = message;
    };
  }

  // Play video.dataset.src with native HLS or our MSE player; returns which one ('native', 'mse', or '').
  function attach(video, options) {
    const opts = options || {};
    const forced = opts.player || new URLSearchParams(location.search).get('player') || '';
    const src = opts.src || video.dataset.src;
    const say = report(video);
    video.muted = true;
    const native = video.canPlayType('application/vnd.apple.mpegurl') !== '';
    const MS = global.MediaSource;
    if ((native && forced !== 'mse') || (forced === 'native' && native)) {
      video.dataset.player = 'native';
      video.src = src;
      video.play().catch(() => {});
      return 'native';
    }
    if (!MS || !MS.isTypeSupported) {
      video.dataset.player = '';
      say(forced === 'mse'
        ? 'This browser has no Media Source Extensions: the MSE player (?player=mse) cannot run here.'
        : 'This browser plays neither HLS (natively) nor Media Source Extensions: use the URLs above with ffplay or VLC.', true);
      return '';
    }
    video.dataset.player = 'mse';
    const player = new MsePlayer(video, src, say);
    video.mediaprotoPlayer = player;
    player.start().catch(e => { player.stopped = true; say('The player stopped: ' + e.message, true); });
    return 'mse';
  }

  global.MediaprotoPlayer = { attach: attach, parsePlaylist: parsePlaylist, initCodecs: initCodecs };
})(window);
