/**
 * Streaming parser for valgrind lackey traces (`valgrind --tool=lackey --trace-mem=yes`):
 *
 *   I  0400d7d4,8        instruction fetch ('I' in column 0, two spaces)
 *    S 7ff0001b8,8       store (space, letter, space); L = load, M = modify
 *
 * It works on bytes, never strings: a trace has hundreds of millions of lines and string
 * decoding, split or regexes would cost more than the replay itself. Addresses are read as
 * two 32-bit halves, so every 64-bit value is exact without BigInt.
 */
import { MAX_ACCESS_SIZE, TraceKind, type TraceChunk } from './trace-record.js';
import { TraceFormatError } from './trace-error.js';

/** Options shared by the trace decoders. */
export interface TraceDecoderOptions {
  /** Name used in error messages (file name, or '<stream>'). */
  source?: string;
  /** Throw on the first malformed record instead of skipping it. */
  strict?: boolean;
  /** Records per chunk (default 65536). */
  chunkRecords?: number;
  /** Called for each skipped record in non-strict mode. */
  onSkip?: (err: TraceFormatError) => void;
}

/** Default records per chunk: 512 KiB of words, large enough to amortise per-chunk calls. */
export const DEFAULT_CHUNK_RECORDS = 65536;

/** Validates a chunkRecords option (a positive integer). */
export function checkChunkRecords(n: number | undefined): number {
  if (n === undefined) return DEFAULT_CHUNK_RECORDS;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 26) throw new RangeError(`chunkRecords must be an integer in [1, 2^26], got ${String(n)}`);
  return n;
}

const NL = 10;
const CR = 13;
const SP = 32;
const COMMA = 44;
/**
 * Longest record line, trailing blanks aside. Partial lines kept across feeds need no more,
 * so a pathological input without newlines cannot grow memory.
 */
const MAX_CARRY = 4096;

/** Hex digit values by byte; -1 for anything else (so '\n' stops every scan). */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

/** Incremental lackey parser: feed it Buffers split anywhere, collect the chunks it yields. */
export class LackeyParser {
  /** Name used in error messages. */
  readonly source: string;
  /** True when malformed records throw. */
  readonly strict: boolean;
  private readonly onSkip: ((err: TraceFormatError) => void) | undefined;
  private readonly words: Uint32Array;
  private readonly cap: number;
  private count = 0;
  private nLines = 0;
  private nRecords = 0;
  private nSkipped = 0;
  private nIgnored = 0;
  private nBytes = 0;
  // The partial last line of the previous feed (+1 byte for the '\n' added when it completes).
  private readonly carry = Buffer.alloc(MAX_CARRY + 1);
  private carryLen = 0;
  private carryOverflow = false;
  private overflowDirty = false;
  private finished = false;

  constructor(options: TraceDecoderOptions = {}) {
    this.source = options.source ?? '<stream>';
    this.strict = options.strict ?? false;
    this.onSkip = options.onSkip;
    this.cap = checkChunkRecords(options.chunkRecords);
    this.words = new Uint32Array(this.cap * 2);
  }

  /** Lines seen (the final line counts even without a newline). */
  get lines(): number { return this.nLines; }
  /** Records produced. */
  get records(): number { return this.nRecords; }
  /** Malformed record lines skipped (non-strict mode). */
  get skipped(): number { return this.nSkipped; }
  /** Lines that are not records (valgrind `==` messages, blank lines, anything else). */
  get ignoredLines(): number { return this.nIgnored; }
  /** Bytes fed so far. */
  get bytes(): number { return this.nBytes; }

  /**
   * Parses `data` and yields each chunk as it fills. The chunk's buffer is reused once the
   * generator resumes, so consume it first; run every generator to completion before the next feed.
   */
  *feed(data: Uint8Array): Generator<TraceChunk, void, undefined> {
    if (this.finished) throw new Error('LackeyParser: feed() after finish()');
    this.nBytes += data.length;
    const n = data.length;
    let pos = 0;
    if (this.carryLen > 0 || this.carryOverflow) {
      const nl = data.indexOf(NL);
      if (nl < 0) {
        this.appendCarry(data, 0, n);
        return;
      }
      this.appendCarry(data, 0, nl);
      yield* this.flushCarry();
      pos = nl + 1;
    }
    // Complete lines only: every scan below stops at a '\n' before `end`, so no bounds checks.
    const end = data.lastIndexOf(NL) + 1;
    while (pos < end) {
      pos = this.parseLines(data, pos, end);
      if (this.count === this.cap) {
        yield { words: this.words, count: this.count };
        this.count = 0;
      }
    }
    if (pos < n) this.appendCarry(data, pos, n);
  }

  /** Parses the final line (which may lack a newline) and yields the last partial chunk. */
  *finish(): Generator<TraceChunk, void, undefined> {
    if (this.finished) return;
    this.finished = true;
    if (this.carryLen > 0 || this.carryOverflow) yield* this.flushCarry();
    if (this.count > 0) {
      yield { words: this.words, count: this.count };
      this.count = 0;
    }
  }

  /** The hot loop: parses whole lines of buf[p, end) (end just past a '\n') until the chunk is full. */
  private parseLines(buf: Uint8Array, p: number, end: number): number {
    const words = this.words;
    const cap = this.cap;
    let count = this.count;
    let lines = this.nLines;
    let records = this.nRecords;
    let ignored = this.nIgnored;
    while (p < end && count < cap) {
      const start = p;
      let c = buf[p]!;
      let kind = -1;
      // Each read below is guarded by the previous byte not being '\n', so it stays in the line.
      if (c === 73) {
        if (buf[p + 1] === SP && buf[p + 2] === SP) kind = TraceKind.INSTR;
      } else if (c === SP) {
        c = buf[p + 1]!;
        kind = c === 76 ? TraceKind.LOAD : c === 83 ? TraceKind.STORE : c === 77 ? TraceKind.MODIFY : -1;
        if (kind >= 0 && buf[p + 2] !== SP) kind = -1;
      }
      lines++;
      if (kind < 0) {
        ignored++;
        p = buf.indexOf(NL, p) + 1;
        continue;
      }
      let q = p + 3;
      const hexStart = q;
      let hi = 0;
      let lo = 0;
      let d = HEX[buf[q]!]!;
      while (d >= 0) {
        hi = (hi << 4) | (lo >>> 28);
        lo = (lo << 4) | d;
        d = HEX[buf[++q]!]!;
      }
      const digits = q - hexStart;
      const top = hi >> 15; // bits 47..63 as a signed value: 0 or -1 when canonical
      c = buf[q]!;
      if (c === COMMA && digits > 0 && digits <= 16 && (top === 0 || top === -1)) {
        c = buf[++q]!;
        const sizeStart = q;
        let size = 0;
        while (c >= 48 && c <= 57) {
          if (size <= MAX_ACCESS_SIZE) size = size * 10 + (c - 48);
          c = buf[++q]!;
        }
        // The length limit keeps the verdict independent of feed boundaries (see flushCarry).
        if (q > sizeStart && size >= 1 && size <= MAX_ACCESS_SIZE && q - start <= MAX_CARRY) {
          while (c === SP || c === CR) c = buf[++q]!;
          if (c === NL) {
            words[2 * count] = lo;
            words[2 * count + 1] = (hi & 0xffff) | (kind << 16) | ((size - 1) << 18);
            count++;
            records++;
            p = q + 1;
            continue;
          }
        }
      }
      // Cold path: a malformed record line. Save state first (reject may throw or call out).
      this.count = count;
      this.nLines = lines;
      this.nRecords = records;
      this.nIgnored = ignored;
      const lineEnd = buf.indexOf(NL, start);
      this.reject(buf, start, lineEnd, lines);
      p = lineEnd + 1;
    }
    this.count = count;
    this.nLines = lines;
    this.nRecords = records;
    this.nIgnored = ignored;
    return p;
  }

  private appendCarry(data: Uint8Array, from: number, to: number): void {
    const take = Math.min(MAX_CARRY - this.carryLen, to - from);
    if (take > 0) {
      this.carry.set(data.subarray(from, from + take), this.carryLen);
      this.carryLen += take;
    }
    if (from + take < to) {
      // Past MAX_CARRY only whether the rest is blank matters (see flushCarry).
      this.carryOverflow = true;
      for (let i = from + take; i < to && !this.overflowDirty; i++) {
        if (data[i] !== SP && data[i] !== CR) this.overflowDirty = true;
      }
    }
  }

  private *flushCarry(): Generator<TraceChunk, void, undefined> {
    const buf = this.carry;
    const len = this.carryLen;
    buf[len] = NL;
    if (this.carryOverflow && this.overflowDirty) {
      // Over 4 KiB with non-blank bytes beyond: parseLines rejects such lines as too long too.
      this.nLines++;
      if (startsLikeRecord(buf)) this.reject(buf, 0, len, this.nLines, 'line too long');
      else this.nIgnored++;
    } else {
      this.parseLines(buf, 0, len + 1);
    }
    this.carryLen = 0;
    this.carryOverflow = false;
    this.overflowDirty = false;
    if (this.count === this.cap) {
      yield { words: this.words, count: this.count };
      this.count = 0;
    }
  }

  private reject(buf: Uint8Array, start: number, lineEnd: number, line: number, reason?: string): void {
    if (!this.strict && !this.onSkip) {
      this.nSkipped++;
      return;
    }
    const err = new TraceFormatError(this.source, { line }, reason ?? diagnose(buf, start, lineEnd));
    if (this.strict) throw err;
    this.nSkipped++;
    this.onSkip!(err);
  }
}

function startsLikeRecord(b: Uint8Array): boolean {
  if (b[0] === 73) return b[1] === SP && b[2] === SP;
  return b[0] === SP && (b[1] === 76 || b[1] === 83 || b[1] === 77) && b[2] === SP;
}

/** Explains why a record line was rejected (cold path, so strings are fine here). */
function diagnose(buf: Uint8Array, start: number, lineEnd: number): string {
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, lineEnd - start).toString('latin1').replace(/[ \r]+$/, '');
  if (text.length > MAX_CARRY) return 'line too long';
  const rest = text.slice(3);
  const comma = rest.indexOf(',');
  if (comma < 0) {
    const field = rest.replace(/[ \r]+$/, '');
    return /^[0-9a-fA-F]{1,16}$/.test(field) ? `missing comma after address ${quote(field)}` : `bad address ${quote(field)}`;
  }
  const addr = rest.slice(0, comma);
  if (!/^[0-9a-fA-F]+$/.test(addr)) return `bad address ${quote(addr)}`;
  if (addr.length > 16) return `address ${quote(addr)} has more than 16 hex digits`;
  const v = BigInt('0x' + addr) >> 47n;
  if (v !== 0n && v !== (1n << 17n) - 1n) return `non-canonical address ${quote(addr)}`;
  const after = rest.slice(comma + 1);
  const m = /^[0-9]+/.exec(after);
  if (!m) return `bad size ${quote(after.replace(/[ \r]+$/, ''))}`;
  const size = Number(m[0]);
  if (size < 1 || size > MAX_ACCESS_SIZE) return `size ${m[0]} out of range 1..${MAX_ACCESS_SIZE}`;
  const tail = after.slice(m[0].length);
  if (!/^[ \r]*$/.test(tail)) return `trailing garbage ${quote(tail)}`;
  return 'malformed record';
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}
