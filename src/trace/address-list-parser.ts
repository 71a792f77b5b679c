/**
 * Streaming parser for plain address traces, one access a line, as libCacheSim's text traces
 * and many course tools write them:
 *
 *   0x7ffd1234          a load (no access letter: a read)
 *   0x7ffd1238 W        a store; R (or r) marks a load
 *   W 0x601040          the letter may come first
 *
 * Addresses are hexadecimal with `0x`; a file whose first lines have no `0x`, no hex letter and
 * no leading zero holds decimal numbers (libCacheSim's object ids), else bare numbers are hex
 * (see sniffAddressList). Each access is one byte. Blank lines and lines starting with `#` are
 * ignored; anything else is a malformed line, skipped and counted (or, strict, an error).
 * It works on bytes, as the lackey parser does.
 */
import { TraceKind, type TraceChunk } from './trace-record.js';
import { TraceFormatError } from './trace-error.js';
import { checkChunkRecords, type TraceDecoderOptions } from './lackey-parser.js';

const NL = 10;
const CR = 13;
const SP = 32;
const TAB = 9;
const COMMA = 44;
const HASH = 35;
/** Longest line kept across feeds; longer ones are malformed. */
const MAX_LINE = 256;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

/** One line of the format (for sniffing and messages: the parser itself works on bytes). */
const LINE = /^[ \t]*(?:([RrWw])[ \t,]+)?(0[xX][0-9a-fA-F]+|[0-9a-fA-F]+)(?:[ \t,]+([RrWw]))?[ \t\r]*$/;

/**
 * Whether `head` (a trace's first bytes) is an address list: among its complete lines (comments
 * and blank lines aside), none starts like a lackey record or a valgrind message, and at least
 * nine in ten have the shape above (the others are malformed lines, skipped and counted).
 * Returns the radix of bare numbers.
 */
export function sniffAddressList(head: Uint8Array): { radix: 10 | 16 } | undefined {
  const text = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1');
  const complete = text.lastIndexOf('\n') >= 0 && head.length >= 4096 ? text.slice(0, text.lastIndexOf('\n')) : text;
  const lines = complete.split('\n').filter((l) => l.trim() !== '' && !/^[ \t]*#/.test(l));
  if (lines.length === 0) return undefined;
  let hex = false;
  let good = 0;
  for (const l of lines) {
    if (/^[ \t]*[ILSM][ \t]/.test(l) || l.startsWith('==')) return undefined;
    const m = LINE.exec(l);
    if (!m || (m[1] !== undefined && m[3] !== undefined)) continue;
    good++;
    if (/^0[xX]/.test(m[2]!) || /[a-fA-F]/.test(m[2]!) || (m[2]!.length > 1 && m[2]![0] === '0')) hex = true;
  }
  return good > 0 && good * 10 >= lines.length * 9 ? { radix: hex ? 16 : 10 } : undefined;
}

/** Incremental parser of address lists: feed it Buffers split anywhere, collect the chunks it yields. */
export class AddressListParser {
  readonly source: string;
  readonly strict: boolean;
  private readonly onSkip: ((err: TraceFormatError) => void) | undefined;
  private readonly words: Uint32Array;
  private readonly cap: number;
  private count = 0;
  private nLines = 0;
  private nRecords = 0;
  private nSkipped = 0;
  private nIgnored = 0;
  private carry = '';
  private finished = false;

  constructor(
    private readonly radix: 10 | 16,
    options: TraceDecoderOptions = {},
  ) {
    this.source = options.source ?? '<stream>';
    this.strict = options.strict ?? false;
    this.onSkip = options.onSkip;
    this.cap = checkChunkRecords(options.chunkRecords);
    this.words = new Uint32Array(this.cap * 2);
  }

  get lines(): number { return this.nLines; }
  get records(): number { return this.nRecords; }
  get skipped(): number { return this.nSkipped; }
  get ignoredLines(): number { return this.nIgnored; }

  /** Parses `data`, yielding each chunk as it fills (the buffer is reused: consume a chunk before resuming). */
  *feed(data: Uint8Array): Generator<TraceChunk, void, undefined> {
    if (this.finished) throw new Error('AddressListParser: feed() after finish()');
    let pos = 0;
    const n = data.length;
    if (this.carry !== '') {
      const nl = data.indexOf(NL);
      if (nl < 0) {
        this.keep(data, 0, n);
        return;
      }
      this.keep(data, 0, nl);
      const line = Buffer.from(this.carry + '\n', 'latin1');
      this.carry = '';
      this.parseLines(line, 0, line.length);
      if (this.count === this.cap) yield this.take();
      pos = nl + 1;
    }
    const end = data.lastIndexOf(NL) + 1;
    while (pos < end) {
      pos = this.parseLines(data, pos, end);
      if (this.count === this.cap) yield this.take();
    }
    if (end < n && pos < n) this.keep(data, Math.max(pos, end), n);
  }

  /** Parses a last line without a newline and yields the last chunk. */
  *finish(): Generator<TraceChunk, void, undefined> {
    if (this.finished) return;
    this.finished = true;
    if (this.carry !== '') {
      const line = Buffer.from(this.carry + '\n', 'latin1');
      this.carry = '';
      this.parseLines(line, 0, line.length);
    }
    if (this.count > 0) yield this.take();
  }

  private take(): TraceChunk {
    const c = { words: this.words, count: this.count };
    this.count = 0;
    return c;
  }

  private keep(data: Uint8Array, from: number, to: number): void {
    if (this.carry.length < MAX_LINE + 1) this.carry += Buffer.from(data.buffer, data.byteOffset + from, Math.min(to - from, MAX_LINE + 1)).toString('latin1');
  }

  /** Parses whole lines of buf[p, end) until the chunk is full; returns where it stopped. */
  private parseLines(buf: Uint8Array, p: number, end: number): number {
    const words = this.words;
    const radix = this.radix;
    while (p < end && this.count < this.cap) {
      const start = p;
      let c = buf[p]!;
      while (c === SP || c === TAB) c = buf[++p]!;
      this.nLines++;
      if (c === NL || c === CR || c === HASH) {
        this.nIgnored++;
        p = buf.indexOf(NL, p) + 1;
        continue;
      }
      let kind = -1;
      // A leading R/W needs a separator after it (a bare "a" is a hex digit, not a letter here).
      if ((c === 82 || c === 114 || c === 87 || c === 119) && (buf[p + 1] === SP || buf[p + 1] === TAB || buf[p + 1] === COMMA)) {
        kind = c === 87 || c === 119 ? TraceKind.STORE : TraceKind.LOAD;
        c = buf[++p]!;
        while (c === SP || c === TAB || c === COMMA) c = buf[++p]!;
      }
      let hex = radix === 16;
      if (c === 48 && (buf[p + 1] === 120 || buf[p + 1] === 88)) {
        hex = true;
        p += 2;
        c = buf[p]!;
      }
      const digitsStart = p;
      let hi = 0;
      let lo = 0;
      let value = 0;
      let ok = true;
      let d = HEX[c]!;
      while (d >= 0) {
        if (hex) {
          hi = (hi << 4) | (lo >>> 28);
          lo = ((lo << 4) | d) >>> 0;
        } else if (d < 10) value = value * 10 + d;
        else ok = false;
        d = HEX[buf[++p]!]!;
      }
      const digits = p - digitsStart;
      if (!hex) {
        hi = Math.floor(value / 2 ** 32);
        lo = value % 2 ** 32;
      }
      c = buf[p]!;
      if (kind < 0 && (c === SP || c === TAB || c === COMMA)) {
        while (c === SP || c === TAB || c === COMMA) c = buf[++p]!;
        if (c === 82 || c === 114) kind = TraceKind.LOAD;
        else if (c === 87 || c === 119) kind = TraceKind.STORE;
        if (kind >= 0) c = buf[++p]!;
      }
      while (c === SP || c === TAB || c === CR) c = buf[++p]!;
      // 48-bit user and kernel addresses only: hex up to 12 digits, or sign-extended 16; decimal below 2^48.
      const top = hi >> 15;
      if (ok && digits > 0 && c === NL && p - start <= MAX_LINE && (hex ? digits <= 16 && (top === 0 || top === -1) : value < 2 ** 48)) {
        const i = 2 * this.count;
        words[i] = lo;
        words[i + 1] = (hi & 0xffff) | ((kind < 0 ? TraceKind.LOAD : kind) << 16);
        this.count++;
        this.nRecords++;
        p++;
        continue;
      }
      const lineEnd = buf.indexOf(NL, start);
      this.reject(Buffer.from(buf.buffer, buf.byteOffset + start, lineEnd - start).toString('latin1'));
      p = lineEnd + 1;
    }
    return p;
  }

  private reject(line: string): void {
    this.nSkipped++;
    if (!this.strict && !this.onSkip) return;
    const text = line.replace(/[ \t\r]+$/, '');
    const err = new TraceFormatError(this.source, { line: this.nLines }, `not an address line ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)} (expected one address like 0x7ffd1234, optionally with R or W${this.radix === 10 ? '; this file\'s numbers are read as decimal' : ''})`);
    if (this.strict) {
      this.nSkipped--;
      throw err;
    }
    this.onSkip!(err);
  }
}
