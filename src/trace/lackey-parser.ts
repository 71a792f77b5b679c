/**
 * Streaming parser for valgrind lackey traces (`valgrind --tool=lackey --trace-mem=yes`):
 *
 *   I  0400d7d4,8        instruction fetch ('I' in column 0, two spaces)
 *    S 7ff0001b8,8       store (space, letter, space); L = load, M = modify
 *
 * and, with the same grammar, the traces of the university cache and VM simulators (CMU
 * cachelab's ` L 10,1`, or `L 10` without a size): blanks before and after the letter, an
 * optional 0x, and an optional `,size` (1 byte when absent). Lines starting with `=`
 * (valgrind's messages) and every other non-record line are counted and skipped.
 *
 * It works on bytes, never strings: a trace has hundreds of millions of lines and string
 * decoding, split or regexes would cost more than the replay itself. Addresses are read as
 * two 32-bit halves, so every 64-bit value is exact without BigInt.
 */
import { MAX_ACCESS_SIZE, TraceKind, type TraceChunk } from './trace-record.js';
import { TraceFormatError } from './trace-error.js';
import { nativeLackeyScan, type LackeyScanFn } from '../core/native-core.js';

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

/** Options of LackeyParser: the decoders' own, and a hook for the lines that are not records. */
export interface LackeyParserOptions extends TraceDecoderOptions {
  /**
   * Called with each line that is not a record (valgrind's messages, its system-call and
   * scheduler lines), without its newline, while `pending` records of the current chunk come
   * before it. Returning true ends the chunk after this line (it is yielded at once, however
   * few records it has). The recorder reads valgrind's log this way.
   */
  onOtherLine?: (buf: Uint8Array, start: number, end: number) => boolean | void;
  /**
   * @internal Parse lackey's own line shapes with the native scanner when the addon is loaded
   * (default true; the results are the same, test/trace/lackey-scan.test.ts checks it).
   */
  native?: boolean;
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
const TAB = 9;
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
  private readonly onOtherLine: LackeyParserOptions['onOtherLine'];
  private readonly words: Uint32Array;
  private readonly cap: number;
  private count = 0;
  private cut = false;
  /** The native scanner for the common line shapes, when the addon is loaded. */
  private readonly scan: LackeyScanFn | undefined;
  private readonly scanOut = new Float64Array(1);
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

  constructor(options: LackeyParserOptions = {}) {
    this.source = options.source ?? '<stream>';
    this.strict = options.strict ?? false;
    this.onSkip = options.onSkip;
    this.onOtherLine = options.onOtherLine;
    this.cap = checkChunkRecords(options.chunkRecords);
    this.words = new Uint32Array(this.cap * 2);
    this.scan = options.native === false ? undefined : nativeLackeyScan();
  }

  /** Records of the current chunk so far (where an onOtherLine line sits among them). */
  get pending(): number { return this.count; }

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
      if (this.count === this.cap || this.cut) {
        this.cut = false;
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

  /**
   * Parses whole lines of buf[p, end) (end just past a '\n') until the chunk is full: the
   * native scanner takes the runs of lackey's own line shapes, this parser every other line.
   */
  private parseLines(buf: Uint8Array, p: number, end: number): number {
    const scan = this.scan;
    if (!scan) return this.parseSlow(buf, p, end, Infinity);
    while (p < end && this.count < this.cap && !this.cut) {
      const q = scan(buf, p, end, this.words, this.count, this.cap, this.scanOut);
      const n = this.scanOut[0]! - this.count;
      this.count += n;
      this.nRecords += n;
      this.nLines += n;
      p = q;
      if (p < end && this.count < this.cap) p = this.parseSlow(buf, p, end, 1);
    }
    return p;
  }

  /** The TypeScript parser (the whole grammar, and every message): up to `maxLines` whole lines of buf[p, end). */
  private parseSlow(buf: Uint8Array, p: number, end: number, maxLines: number): number {
    const words = this.words;
    const cap = this.cap;
    let count = this.count;
    let lines = this.nLines;
    let records = this.nRecords;
    let ignored = this.nIgnored;
    const lastLine = lines + maxLines;
    while (p < end && count < cap && !this.cut && lines < lastLine) {
      const start = p;
      // Each read below is guarded by the previous byte not being '\n', so it stays in the line.
      let q = p + 3;
      let c = buf[p]!;
      let kind = -1;
      // lackey's own two shapes first ("I  a,s" and " L a,s"); then the general grammar.
      if (c === 73 && buf[p + 1] === SP && buf[p + 2] === SP) kind = TraceKind.INSTR;
      else if (c === SP && buf[p + 2] === SP) {
        c = buf[p + 1]!;
        kind = c === 76 ? TraceKind.LOAD : c === 83 ? TraceKind.STORE : c === 77 ? TraceKind.MODIFY : -1;
      }
      c = buf[q]!;
      if (kind < 0 || c === SP || c === TAB) {
        q = p;
        c = buf[q]!;
        while (c === SP || c === TAB) c = buf[++q]!;
        kind = c === 73 ? TraceKind.INSTR : c === 76 ? TraceKind.LOAD : c === 83 ? TraceKind.STORE : c === 77 ? TraceKind.MODIFY : -1;
        if (kind >= 0) {
          c = buf[++q]!;
          if (c !== SP && c !== TAB) kind = -1;
          else while (c === SP || c === TAB) c = buf[++q]!;
        }
      }
      lines++;
      if (kind < 0) {
        ignored++;
        const nl = buf.indexOf(NL, p);
        if (this.onOtherLine) {
          this.count = count;
          this.nLines = lines;
          this.nRecords = records;
          this.nIgnored = ignored;
          if (this.onOtherLine(buf, p, nl > p && buf[nl - 1] === CR ? nl - 1 : nl) === true) this.cut = true;
        }
        p = nl + 1;
        continue;
      }
      if (c === 48 && (buf[q + 1] === 120 || buf[q + 1] === 88)) q += 2; // 0x
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
      if (digits > 0 && digits <= 16 && (top === 0 || top === -1) && (c === COMMA || c === SP || c === TAB || c === CR || c === NL)) {
        let size = 1; // no ",size": one byte, as the course simulators take it
        let sized = true;
        if (c === COMMA) {
          c = buf[++q]!;
          const sizeStart = q;
          size = 0;
          while (c >= 48 && c <= 57) {
            if (size <= MAX_ACCESS_SIZE) size = size * 10 + (c - 48);
            c = buf[++q]!;
          }
          sized = q > sizeStart;
        }
        // The length limit keeps the verdict independent of feed boundaries (see flushCarry).
        if (sized && size >= 1 && size <= MAX_ACCESS_SIZE && q - start <= MAX_CARRY) {
          while (c === SP || c === CR || c === TAB) c = buf[++q]!;
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
    if (this.count === this.cap || this.cut) {
      this.cut = false;
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

/** Blanks, one of I L S M, a blank: the start of a record line (the parser's own test, for the cold paths). */
const RECORD_START = /^[ \t]*[ILSM][ \t]/;

function startsLikeRecord(b: Uint8Array): boolean {
  const n = Math.min(b.length, 64);
  return RECORD_START.test(Buffer.from(b.buffer, b.byteOffset, n).toString('latin1'));
}

/** Explains why a record line was rejected (cold path, so strings are fine here). */
function diagnose(buf: Uint8Array, start: number, lineEnd: number): string {
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, lineEnd - start).toString('latin1').replace(/[ \t\r]+$/, '');
  if (text.length > MAX_CARRY) return 'line too long';
  const rest = text.replace(RECORD_START, '').replace(/^[ \t]+/, '');
  const comma = rest.indexOf(',');
  if (comma < 0) {
    const field = rest.replace(/[ \t\r]+$/, '');
    const m = /^((?:0[xX])?[0-9a-fA-F]+)[ \t]+(.*)$/.exec(field);
    if (m) return addressProblem(m[1]!) ?? `trailing garbage ${quote(m[2]!)}`;
    return addressProblem(field) ?? 'malformed record';
  }
  const bad = addressProblem(rest.slice(0, comma));
  if (bad) return bad;
  return sizeProblem(rest.slice(comma + 1));
}

/** Why an address field (as written, 0x allowed) is refused, or undefined when it is fine. */
function addressProblem(field: string): string | undefined {
  const addr = field.replace(/^0[xX](?=.)/, '');
  if (!/^[0-9a-fA-F]+$/.test(addr)) return `bad address ${quote(field)}`;
  if (addr.length > 16) return `address ${quote(addr)} has more than 16 hex digits`;
  const v = BigInt('0x' + addr) >> 47n;
  if (v !== 0n && v !== (1n << 17n) - 1n) return `non-canonical address ${quote(addr)}`;
  return undefined;
}

/** Why the text after the comma is refused. */
function sizeProblem(after: string): string {
  const m = /^[0-9]+/.exec(after);
  if (!m) return `bad size ${quote(after.replace(/[ \r]+$/, ''))}`;
  const size = Number(m[0]);
  if (size < 1 || size > MAX_ACCESS_SIZE) return `size ${m[0]} out of range 1..${MAX_ACCESS_SIZE}`;
  const tail = after.slice(m[0].length);
  if (!/^[ \t\r]*$/.test(tail)) return `trailing garbage ${quote(tail)}`;
  return 'malformed record';
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}
