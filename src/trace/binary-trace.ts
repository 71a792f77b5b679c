/**
 * The binary trace file: a 16-byte header ("VMSTRACE", uint32 LE version, uint32 LE record
 * size 8) followed by packed records exactly as they sit in memory (two LE uint32 words), so
 * reading one is a memory copy rather than a parse. Version 2 adds event records among them
 * (trace-events.ts): an 8-byte header whose second word has bits 30-31 set, then its payload.
 */
import { RECORD_BYTES, RECORD_RESERVED_BITS, type TraceChunk } from './trace-record.js';

// A module constant, read in the per-record loops: an imported binding in the CommonJS build is a getter call each time.
const RESERVED = RECORD_RESERVED_BITS;
import { TraceFormatError } from './trace-error.js';
import { checkChunkRecords, type TraceDecoderOptions } from './lackey-parser.js';
import { decodeEvent, encodeEvent, type NewTraceEvent, type TraceEvent } from './trace-events.js';

/** The 8 ASCII bytes a binary trace starts with. */
export const TRACE_MAGIC = 'VMSTRACE';
/** The format version of a trace of accesses only (what version-1 readers read too). */
export const TRACE_VERSION = 1;
/** The format version of a trace with event records (trace-events.ts). */
export const TRACE_EVENTS_VERSION = 2;
/** Header size in bytes. */
export const TRACE_HEADER_BYTES = 16;

// Typed arrays use the host byte order; the file is little-endian.
const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 16-byte file header (version 1, or 2 for a trace that may hold events). */
export function encodeHeader(version: 1 | 2 = TRACE_VERSION): Uint8Array {
  const h = new Uint8Array(TRACE_HEADER_BYTES);
  for (let i = 0; i < 8; i++) h[i] = TRACE_MAGIC.charCodeAt(i);
  const v = new DataView(h.buffer);
  v.setUint32(8, version, true);
  v.setUint32(12, RECORD_BYTES, true);
  return h;
}

/** True when `bytes` starts with the binary trace magic (needs at least 8 bytes). */
export function hasTraceMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== TRACE_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** The version a trace header announces (0 when it is not a vmsim trace header). */
export function headerVersion(bytes: Uint8Array): number {
  if (bytes.length < 12 || !hasTraceMagic(bytes)) return 0;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(8, true);
}

/** A fresh little-endian copy of a chunk's records (a copy because chunk buffers are reused); its events are not included. */
export function encodeRecords(chunk: TraceChunk): Uint8Array {
  return recordBytes(chunk.words, 0, chunk.count);
}

/** Little-endian bytes of records [from, to) of `words`, copied. */
function recordBytes(words: Uint32Array, from: number, to: number): Uint8Array {
  if (HOST_LE) return new Uint8Array(words.buffer, words.byteOffset + from * 8, (to - from) * 8).slice();
  const out = new Uint8Array((to - from) * 8);
  const v = new DataView(out.buffer);
  for (let i = 2 * from; i < 2 * to; i++) v.setUint32((i - 2 * from) * 4, words[i]!, true);
  return out;
}

/** A chunk's records with its events in place, as a version-2 trace holds them (one buffer per run of records and per event). */
export function encodeChunk(chunk: TraceChunk): Uint8Array[] {
  const evs = chunk.events;
  if (!evs || evs.length === 0) return chunk.count > 0 ? [encodeRecords(chunk)] : [];
  const out: Uint8Array[] = [];
  let from = 0;
  for (const e of evs) {
    if (e.at > from) out.push(recordBytes(chunk.words, from, e.at));
    from = Math.max(from, e.at);
    out.push(encodeEvent(e as NewTraceEvent));
  }
  if (chunk.count > from) out.push(recordBytes(chunk.words, from, chunk.count));
  return out;
}

/** An event whose payload is still arriving. */
interface PartialEvent {
  lo: number;
  hi: number;
  byteOffset: number;
  payload: Uint8Array;
  have: number;
}

/** Incremental binary trace decoder: feed it Buffers split anywhere, collect the chunks it yields. */
export class BinaryTraceDecoder {
  /** Name used in error messages. */
  readonly source: string;
  /** True when malformed records throw (header and event errors always throw). */
  readonly strict: boolean;
  private readonly onSkip: ((err: TraceFormatError) => void) | undefined;
  private readonly words: Uint32Array;
  private readonly wordBytes: Uint8Array;
  private readonly cap: number;
  private count = 0;
  private readonly header = new Uint8Array(TRACE_HEADER_BYTES);
  private headerLen = 0;
  private fileVersion = 0;
  private readonly pending = new Uint8Array(RECORD_BYTES);
  private pendingLen = 0;
  private partial: PartialEvent | undefined;
  private events: TraceEvent[] | undefined;
  private nRecords = 0;
  private nSkipped = 0;
  private nEvents = 0;
  private nUnknown = 0;
  private nBytes = 0;
  private finished = false;

  constructor(options: TraceDecoderOptions = {}) {
    this.source = options.source ?? '<stream>';
    this.strict = options.strict ?? false;
    this.onSkip = options.onSkip;
    this.cap = checkChunkRecords(options.chunkRecords);
    this.words = new Uint32Array(this.cap * 2);
    this.wordBytes = new Uint8Array(this.words.buffer);
  }

  /** Records produced. */
  get records(): number { return this.nRecords; }
  /** Malformed or truncated records skipped (non-strict mode). */
  get skipped(): number { return this.nSkipped; }
  /** Bytes fed so far. */
  get bytes(): number { return this.nBytes; }
  /** Event records decoded (version 2). */
  get eventCount(): number { return this.nEvents; }
  /** Event records of a type this version does not know, skipped by their length. */
  get unknownEvents(): number { return this.nUnknown; }
  /** The header's version (1 or 2), or 0 before the header is complete. */
  get version(): number { return this.fileVersion; }

  /**
   * Decodes `data` and yields each chunk as it fills. The chunk's buffer is reused once the
   * generator resumes, so consume it first; run every generator to completion before the next feed.
   */
  *feed(data: Uint8Array): Generator<TraceChunk, void, undefined> {
    if (this.finished) throw new Error('BinaryTraceDecoder: feed() after finish()');
    const base = this.nBytes; // absolute offset of data[0]
    this.nBytes += data.length;
    const n = data.length;
    let pos = 0;
    if (this.headerLen < TRACE_HEADER_BYTES) {
      pos = Math.min(TRACE_HEADER_BYTES - this.headerLen, n);
      this.header.set(data.subarray(0, pos), this.headerLen);
      this.headerLen += pos;
      if (this.headerLen < TRACE_HEADER_BYTES) return;
      this.checkHeader();
    }
    while (pos < n) {
      if (this.partial) {
        pos = this.continueEvent(data, pos);
        continue;
      }
      if (this.pendingLen > 0) {
        // Complete the record split across the previous feed.
        const take = Math.min(RECORD_BYTES - this.pendingLen, n - pos);
        this.pending.set(data.subarray(pos, pos + take), this.pendingLen);
        this.pendingLen += take;
        pos += take;
        if (this.pendingLen < RECORD_BYTES) return;
        this.pendingLen = 0;
        this.copyIn(this.pending, 0, 1);
        this.accept(1, base + pos - RECORD_BYTES);
      } else if (n - pos >= RECORD_BYTES) {
        const k = Math.min(this.cap - this.count, Math.floor((n - pos) / RECORD_BYTES));
        this.copyIn(data, pos, k);
        pos += k * RECORD_BYTES;
        // An event whose payload runs past these records takes the bytes after them: back up to where they end.
        pos -= this.accept(k, base + pos - k * RECORD_BYTES) * RECORD_BYTES;
      } else {
        this.pending.set(data.subarray(pos), 0);
        this.pendingLen = n - pos;
        pos = n;
      }
      if (this.count === this.cap) yield this.take();
    }
  }

  /** Reports a truncated header, record or event and yields the last partial chunk. */
  *finish(): Generator<TraceChunk, void, undefined> {
    if (this.finished) return;
    this.finished = true;
    if (this.nBytes > 0 && this.headerLen < TRACE_HEADER_BYTES) {
      const got = latin1(this.header.subarray(0, Math.min(8, this.headerLen)));
      if (!TRACE_MAGIC.startsWith(got)) throw this.badMagic(got);
      throw new TraceFormatError(this.source, { byteOffset: 0 }, `bad binary trace header: truncated (${this.headerLen} of ${TRACE_HEADER_BYTES} bytes)`);
    }
    const p = this.partial;
    if (p) {
      throw new TraceFormatError(this.source, { byteOffset: p.byteOffset }, `truncated event record (${8 + p.have} of ${8 + p.payload.length} bytes; type ${(p.hi >>> 16) & 0xff})`);
    }
    if (this.pendingLen > 0) {
      const len = this.pendingLen;
      this.pendingLen = 0;
      this.reject(this.nBytes - len, `truncated record (${len} of ${RECORD_BYTES} bytes)`);
    }
    if (this.count > 0 || this.events) yield this.take();
  }

  /** The current chunk (with its events), and a fresh one started. */
  private take(): TraceChunk {
    const chunk: TraceChunk = this.events ? { words: this.words, count: this.count, events: this.events } : { words: this.words, count: this.count };
    this.count = 0;
    this.events = undefined;
    return chunk;
  }

  private checkHeader(): void {
    const h = this.header;
    if (!hasTraceMagic(h)) throw this.badMagic(latin1(h.subarray(0, 8)));
    const v = new DataView(h.buffer, h.byteOffset, h.length);
    const version = v.getUint32(8, true);
    if (version !== TRACE_VERSION && version !== TRACE_EVENTS_VERSION) {
      throw new TraceFormatError(this.source, { byteOffset: 8 }, `bad binary trace header: unsupported version ${version} (expected ${TRACE_VERSION} or ${TRACE_EVENTS_VERSION}; written by a newer vmsim?)`);
    }
    const recordBytes = v.getUint32(12, true);
    if (recordBytes !== RECORD_BYTES) {
      throw new TraceFormatError(this.source, { byteOffset: 12 }, `bad binary trace header: unsupported record size ${recordBytes} (expected ${RECORD_BYTES})`);
    }
    this.fileVersion = version;
  }

  private badMagic(got: string): TraceFormatError {
    return new TraceFormatError(this.source, { byteOffset: 0 }, `bad binary trace header: bad magic ${JSON.stringify(got)} (expected "${TRACE_MAGIC}")`);
  }

  /** Copies k records from src[pos..] to the end of the chunk: one typed-array set, no loop. */
  private copyIn(src: Uint8Array, pos: number, k: number): void {
    const at = this.count * 2;
    if (!HOST_LE) {
      const v = new DataView(src.buffer, src.byteOffset + pos, k * RECORD_BYTES);
      for (let i = 0; i < 2 * k; i++) this.words[at + i] = v.getUint32(i * 4, true);
    } else if (((src.byteOffset + pos) & 3) === 0) {
      this.words.set(new Uint32Array(src.buffer, src.byteOffset + pos, 2 * k), at);
    } else {
      this.wordBytes.set(src.subarray(pos, pos + k * RECORD_BYTES), at * 4);
    }
  }

  /**
   * Takes the k records just copied to the end of the chunk (the first at trace byte `offset`):
   * keeps the valid ones, decodes the events among them, skips (or throws for) malformed ones.
   * Returns how many of the k copied records belong to an event whose payload runs past them
   * (their bytes are read again as the event's payload).
   */
  private accept(k: number, offset: number): number {
    const r = this.keepValid(this.words, this.count, this.count + k, offset, true);
    this.count = r.end;
    return r.unread;
  }

  /**
   * Takes `count` records a caller read straight into `words` (a file read into the chunk,
   * no copy), the first at byte `byteOffset` of the trace: checks them as feed() does
   * (skipping or, in strict mode, throwing) and compacts them in place. Returns how many remain.
   * Version 1 only (a version-2 trace's events are decoded by feed()).
   */
  acceptRecords(words: Uint32Array, count: number, byteOffset: number): number {
    this.checkInPlace('acceptRecords');
    this.nBytes += count * RECORD_BYTES;
    return this.keepValid(words, 0, count, byteOffset, false).end;
  }

  /**
   * acceptRecords() without the check, for a consumer that scans the records itself: counts
   * them as accepted and returns what undoes that and checks them after all (see TraceChunk.recheck).
   */
  deferRecords(words: Uint32Array, count: number, byteOffset: number): () => number {
    this.checkInPlace('deferRecords');
    this.nBytes += count * RECORD_BYTES;
    this.nRecords += count;
    return () => {
      this.nRecords -= count;
      return this.keepValid(words, 0, count, byteOffset, false).end;
    };
  }

  private checkInPlace(what: string): void {
    if (this.headerLen < TRACE_HEADER_BYTES || this.pendingLen > 0 || this.finished || this.partial) throw new Error(`BinaryTraceDecoder: ${what}() needs the header fed and no partial record pending`);
    if (this.fileVersion !== TRACE_VERSION) throw new Error(`BinaryTraceDecoder: ${what}() reads version ${TRACE_VERSION} traces only`);
  }

  /**
   * Keeps the records of words[from, to) without reserved bits, compacted from `from`, and
   * (version 2, `events`) decodes the event records among them. Returns the new end and how
   * many of the records at the end are the start of an event still incomplete.
   */
  private keepValid(w: Uint32Array, from: number, to: number, offset: number, events: boolean): { end: number; unread: number } {
    if ((highWordBits(w, from, to) & RESERVED) === 0) {
      this.nRecords += to - from;
      return { end: to, unread: 0 };
    }
    const v2 = events && this.fileVersion >= TRACE_EVENTS_VERSION;
    let out = from;
    let i = from;
    while (i < to) {
      // The clean run up to the next marked record moves down in one copy.
      const j = nextMarked(w, i, to);
      if (j > i) {
        if (out !== i) w.copyWithin(2 * out, 2 * i, 2 * j);
        out += j - i;
        this.nRecords += j - i;
        i = j;
        if (i === to) break;
      }
      const hi = w[2 * i + 1]!;
      const at = offset + (i - from) * RECORD_BYTES;
      if (w === this.words) this.count = out; // state stays consistent if reject throws or a callback looks
      if (v2 && hi >>> 30 === 3) {
        const n = hi & 0xffff;
        const lo = w[2 * i]!;
        if (i + 1 + n <= to) {
          this.addEvent(lo, hi, recordBytes(w, i + 1, i + 1 + n), out, at);
          i += 1 + n;
          continue;
        }
        // The payload runs past these records: gather it, from the bytes after the header.
        this.partial = { lo, hi, byteOffset: at, payload: new Uint8Array(n * 8), have: 0 };
        return { end: out, unread: to - i - 1 };
      }
      this.reject(at, `malformed record (high word 0x${hi.toString(16).padStart(8, '0')} has bits 30-31 set)`);
      i++;
    }
    return { end: out, unread: 0 };
  }

  /** Adds payload bytes from data[pos..] to the event being gathered; returns the new pos. */
  private continueEvent(data: Uint8Array, pos: number): number {
    const p = this.partial!;
    const take = Math.min(p.payload.length - p.have, data.length - pos);
    p.payload.set(data.subarray(pos, pos + take), p.have);
    p.have += take;
    if (p.have === p.payload.length) {
      this.partial = undefined;
      this.addEvent(p.lo, p.hi, p.payload, this.count, p.byteOffset);
    }
    return pos + take;
  }

  private addEvent(lo: number, hi: number, payload: Uint8Array, at: number, byteOffset: number): void {
    const e = decodeEvent(lo, hi, payload, at, byteOffset, this.source);
    if (!e) {
      this.nUnknown++;
      return;
    }
    this.nEvents++;
    (this.events ??= []).push(e);
  }

  private reject(byteOffset: number, reason: string): void {
    const err = this.strict || this.onSkip ? new TraceFormatError(this.source, { byteOffset }, reason) : undefined;
    if (this.strict) throw err;
    this.nSkipped++;
    if (err) this.onSkip!(err);
  }
}

/** The first record of [i, to) with bits 30-31 set (to when none): eight records a test, then one by one. */
function nextMarked(w: Uint32Array, i: number, to: number): number {
  for (; i + 8 <= to; i += 8) {
    const k = 2 * i + 1;
    if (((w[k]! | w[k + 2]! | w[k + 4]! | w[k + 6]! | w[k + 8]! | w[k + 10]! | w[k + 12]! | w[k + 14]!) & RESERVED) !== 0) break;
  }
  for (; i < to; i++) if ((w[2 * i + 1]! & RESERVED) !== 0) return i;
  return to;
}

/**
 * The OR of the high words of records [from, to): four independent accumulators, so the loop
 * is bound by loads rather than by one dependency chain (~0.7 instead of ~1 ns a record here).
 */
function highWordBits(w: Uint32Array, from: number, to: number): number {
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let b3 = 0;
  let i = 2 * from + 1;
  const end = 2 * to;
  for (; i + 6 < end; i += 8) {
    b0 |= w[i]!;
    b1 |= w[i + 2]!;
    b2 |= w[i + 4]!;
    b3 |= w[i + 6]!;
  }
  for (; i < end; i += 2) b0 |= w[i]!;
  return b0 | b1 | b2 | b3;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}
