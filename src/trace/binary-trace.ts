/**
 * The binary trace file: a 16-byte header ("VMSTRACE", uint32 LE version 1, uint32 LE record
 * size 8) followed by packed records exactly as they sit in memory (two LE uint32 words), so
 * reading one is a memory copy rather than a parse.
 */
import { RECORD_BYTES, RECORD_RESERVED_BITS, type TraceChunk } from './trace-record.js';
import { TraceFormatError } from './trace-error.js';
import { checkChunkRecords, type TraceDecoderOptions } from './lackey-parser.js';

/** The 8 ASCII bytes a binary trace starts with. */
export const TRACE_MAGIC = 'VMSTRACE';
/** The format version this code reads and writes. */
export const TRACE_VERSION = 1;
/** Header size in bytes. */
export const TRACE_HEADER_BYTES = 16;

// Typed arrays use the host byte order; the file is little-endian.
const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 16-byte file header. */
export function encodeHeader(): Uint8Array {
  const h = new Uint8Array(TRACE_HEADER_BYTES);
  for (let i = 0; i < 8; i++) h[i] = TRACE_MAGIC.charCodeAt(i);
  const v = new DataView(h.buffer);
  v.setUint32(8, TRACE_VERSION, true);
  v.setUint32(12, RECORD_BYTES, true);
  return h;
}

/** True when `bytes` starts with the binary trace magic (needs at least 8 bytes). */
export function hasTraceMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== TRACE_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** A fresh little-endian copy of a chunk's records (a copy because chunk buffers are reused). */
export function encodeRecords(chunk: TraceChunk): Uint8Array {
  const n = chunk.count * 2;
  if (HOST_LE) return new Uint8Array(chunk.words.buffer, chunk.words.byteOffset, n * 4).slice();
  const out = new Uint8Array(n * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < n; i++) v.setUint32(i * 4, chunk.words[i]!, true);
  return out;
}

/** Incremental binary trace decoder: feed it Buffers split anywhere, collect the chunks it yields. */
export class BinaryTraceDecoder {
  /** Name used in error messages. */
  readonly source: string;
  /** True when malformed records throw (header errors always throw). */
  readonly strict: boolean;
  private readonly onSkip: ((err: TraceFormatError) => void) | undefined;
  private readonly words: Uint32Array;
  private readonly wordBytes: Uint8Array;
  private readonly cap: number;
  private count = 0;
  private readonly header = new Uint8Array(TRACE_HEADER_BYTES);
  private headerLen = 0;
  private readonly pending = new Uint8Array(RECORD_BYTES);
  private pendingLen = 0;
  private nRecords = 0;
  private nSkipped = 0;
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
      if (this.count === this.cap) {
        yield { words: this.words, count: this.count };
        this.count = 0;
      }
    }
    while (n - pos >= RECORD_BYTES) {
      const k = Math.min(this.cap - this.count, Math.floor((n - pos) / RECORD_BYTES));
      this.copyIn(data, pos, k);
      this.accept(k, base + pos);
      pos += k * RECORD_BYTES;
      if (this.count === this.cap) {
        yield { words: this.words, count: this.count };
        this.count = 0;
      }
    }
    if (pos < n) {
      this.pending.set(data.subarray(pos), 0);
      this.pendingLen = n - pos;
    }
  }

  /** Reports a truncated header or record and yields the last partial chunk. */
  *finish(): Generator<TraceChunk, void, undefined> {
    if (this.finished) return;
    this.finished = true;
    if (this.nBytes > 0 && this.headerLen < TRACE_HEADER_BYTES) {
      const got = latin1(this.header.subarray(0, Math.min(8, this.headerLen)));
      if (!TRACE_MAGIC.startsWith(got)) throw this.badMagic(got);
      throw new TraceFormatError(this.source, { byteOffset: 0 }, `bad binary trace header: truncated (${this.headerLen} of ${TRACE_HEADER_BYTES} bytes)`);
    }
    if (this.pendingLen > 0) {
      const len = this.pendingLen;
      this.pendingLen = 0;
      this.reject(this.nBytes - len, `truncated record (${len} of ${RECORD_BYTES} bytes)`);
    }
    if (this.count > 0) {
      yield { words: this.words, count: this.count };
      this.count = 0;
    }
  }

  private checkHeader(): void {
    const h = this.header;
    if (!hasTraceMagic(h)) throw this.badMagic(latin1(h.subarray(0, 8)));
    const v = new DataView(h.buffer, h.byteOffset, h.length);
    const version = v.getUint32(8, true);
    if (version !== TRACE_VERSION) {
      throw new TraceFormatError(this.source, { byteOffset: 8 }, `bad binary trace header: unsupported version ${version} (expected ${TRACE_VERSION}; written by a newer vmsim?)`);
    }
    const recordBytes = v.getUint32(12, true);
    if (recordBytes !== RECORD_BYTES) {
      throw new TraceFormatError(this.source, { byteOffset: 12 }, `bad binary trace header: unsupported record size ${recordBytes} (expected ${RECORD_BYTES})`);
    }
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
   * Checks the k records just copied (whose first is at byte `offset`) and keeps the valid
   * ones. Only bits 30-31 can be wrong: every kind (2 bits) and size (12 bits) value is legal.
   */
  private accept(k: number, offset: number): void {
    this.count = this.keepValid(this.words, this.count, this.count + k, offset);
  }

  /**
   * Takes `count` records a caller read straight into `words` (a file read into the chunk,
   * no copy), the first at byte `byteOffset` of the trace: checks them as feed() does
   * (skipping or, in strict mode, throwing) and compacts them in place. Returns how many remain.
   */
  acceptRecords(words: Uint32Array, count: number, byteOffset: number): number {
    if (this.headerLen < TRACE_HEADER_BYTES || this.pendingLen > 0 || this.finished) throw new Error('BinaryTraceDecoder: acceptRecords() needs the header fed and no partial record pending');
    this.nBytes += count * RECORD_BYTES;
    return this.keepValid(words, 0, count, byteOffset);
  }

  /**
   * acceptRecords() without the check, for a consumer that scans the records itself: counts
   * them as accepted and returns what undoes that and checks them after all (see TraceChunk.recheck).
   */
  deferRecords(words: Uint32Array, count: number, byteOffset: number): () => number {
    if (this.headerLen < TRACE_HEADER_BYTES || this.pendingLen > 0 || this.finished) throw new Error('BinaryTraceDecoder: deferRecords() needs the header fed and no partial record pending');
    this.nBytes += count * RECORD_BYTES;
    this.nRecords += count;
    return () => {
      this.nRecords -= count;
      return this.keepValid(words, 0, count, byteOffset);
    };
  }

  /** Keeps the records of words[from, to) without reserved bits, compacted from `from`; returns the new end. */
  private keepValid(w: Uint32Array, from: number, to: number, offset: number): number {
    if ((highWordBits(w, from, to) & RECORD_RESERVED_BITS) === 0) {
      this.nRecords += to - from;
      return to;
    }
    let out = from;
    for (let i = from; i < to; i++) {
      const hi = w[2 * i + 1]!;
      if ((hi & RECORD_RESERVED_BITS) !== 0) {
        if (w === this.words) this.count = out; // state stays consistent if reject throws or the callback looks
        this.reject(offset + (i - from) * RECORD_BYTES, `malformed record (high word 0x${hi.toString(16).padStart(8, '0')} has bits 30-31 set)`);
        continue;
      }
      w[2 * out] = w[2 * i]!;
      w[2 * out + 1] = hi;
      out++;
      this.nRecords++;
    }
    return out;
  }

  private reject(byteOffset: number, reason: string): void {
    const err = this.strict || this.onSkip ? new TraceFormatError(this.source, { byteOffset }, reason) : undefined;
    if (this.strict) throw err;
    this.nSkipped++;
    if (err) this.onSkip!(err);
  }
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
