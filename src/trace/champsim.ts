/**
 * ChampSim traces: the instruction records ChampSim reads (inc/trace_instruction.h), usually
 * xz-compressed. `input_instr` is 64 bytes, little-endian:
 *
 *   0  ip (8)   8 is_branch (1)   9 branch_taken (1)   10 destination_registers[2]
 *   12 source_registers[4]   16 destination_memory[2] (8 each)   32 source_memory[4] (8 each)
 *
 * and the CloudSuite variant, `cloudsuite_instr`, is 96 bytes: 4 destination registers, 4
 * destination memory slots at 24, 4 source slots at 56, and asid[2] at 88 (then padding).
 * A zero address is an unused slot. Each record becomes an instruction fetch at its ip, then
 * a load per source address, then a store per destination address, in slot order, as
 * ChampSim issues them; every access is 1 byte (ChampSim records no sizes: one translation
 * per memory operand). A CloudSuite record's fetch runs in address space asid[0] and its
 * loads and stores in asid[1]; where the address space changes, a THREAD event names it
 * (pid = ASID + 1, thread 1), so replay gives each ASID its own process.
 */
import { TraceFormatError } from './trace-error.js';
import { checkChunkRecords, type TraceDecoderOptions } from './lackey-parser.js';
import { TraceKind, type TraceChunk } from './trace-record.js';
import type { TraceEvent } from './trace-events.js';

/** The two ChampSim record layouts. */
export type ChampSimVariant = 'champsim' | 'champsim-cloudsuite';

/** Bytes per record of each layout. */
export const CHAMPSIM_RECORD_BYTES: Readonly<Record<ChampSimVariant, number>> = { champsim: 64, 'champsim-cloudsuite': 96 };

interface Layout {
  bytes: number;
  /** Byte offsets of the destination (store) and source (load) memory slots. */
  stores: readonly number[];
  loads: readonly number[];
  /** Byte offset of asid[2], if any. */
  asid?: number;
}

const LAYOUTS: Readonly<Record<ChampSimVariant, Layout>> = {
  champsim: { bytes: 64, stores: [16, 24], loads: [32, 40, 48, 56] },
  'champsim-cloudsuite': { bytes: 96, stores: [24, 32, 40, 48], loads: [56, 64, 72, 80], asid: 88 },
};

const SIZE1 = 0; // (size - 1) << 18 for 1-byte accesses
const INSTR_HI = TraceKind.INSTR << 16;
const LOAD_HI = TraceKind.LOAD << 16;
const STORE_HI = TraceKind.STORE << 16;

/**
 * Whether `head` (the first bytes of a decompressed input) reads as ChampSim records: every
 * whole record among them has a canonical non-zero ip, is_branch and branch_taken 0 or 1,
 * and canonical (or zero) addresses. The 64-byte layout is tried first. Undefined when neither fits.
 */
export function sniffChampSim(head: Uint8Array): ChampSimVariant | undefined {
  for (const v of ['champsim', 'champsim-cloudsuite'] as const) if (champsimHeadProblem(head, v) === undefined) return v;
  return undefined;
}

/** Records of the head that a forced layout must fit, as detection requires of the detected one. */
export const CHAMPSIM_HEAD_RECORDS = 64;

/**
 * The first of `head`'s first 64 whole records that is not a record of `variant`, or the input
 * too short to hold one: undefined when they all fit. The reader refuses such a file outright
 * (it is not of this layout: another record size, or not ChampSim at all), where a malformed
 * record further on is skipped as one bad record.
 */
export function champsimHeadProblem(head: Uint8Array, variant: ChampSimVariant): { byteOffset: number; reason: string } | undefined {
  const L = LAYOUTS[variant];
  const n = Math.min(CHAMPSIM_HEAD_RECORDS, Math.floor(head.length / L.bytes));
  if (n < 1) return { byteOffset: 0, reason: `the input is ${head.length} byte(s), less than one ${L.bytes}-byte record` };
  const dv = new DataView(head.buffer, head.byteOffset, n * L.bytes);
  for (let r = 0; r < n; r++) {
    const why = recordProblem(dv, r * L.bytes, L);
    if (why !== undefined) return { byteOffset: r * L.bytes, reason: why };
  }
  return undefined;
}

/** Why the record at `at` of `dv` is not a ChampSim record of layout L, or undefined. */
function recordProblem(dv: DataView, at: number, L: Layout): string | undefined {
  const ipLo = dv.getUint32(at, true);
  const ipHi = dv.getUint32(at + 4, true);
  if (ipLo === 0 && ipHi === 0) return 'ip 0';
  if (!canonical(ipHi)) return `non-canonical ip 0x${hex64(ipHi, ipLo)}`;
  const b = dv.getUint8(at + 8);
  const t = dv.getUint8(at + 9);
  if (b > 1 || t > 1) return `is_branch ${b} and branch_taken ${t} (each 0 or 1)`;
  for (const off of [...L.stores, ...L.loads]) {
    const hi = dv.getUint32(at + off + 4, true);
    if (!canonical(hi)) return `non-canonical address 0x${hex64(hi, dv.getUint32(at + off, true))} at record byte ${off}`;
  }
  return undefined;
}

function canonical(hi: number): boolean {
  const top = hi >>> 15; // bits 47..63
  return top === 0 || top === 0x1ffff;
}

function hex64(hi: number, lo: number): string {
  return hi.toString(16) + lo.toString(16).padStart(8, '0');
}

/** Streaming decoder of ChampSim records into packed access records (up to 7 per record; 9 for CloudSuite). */
export class ChampSimDecoder {
  readonly source: string;
  readonly strict: boolean;
  readonly variant: ChampSimVariant;
  private readonly onSkip: ((err: TraceFormatError) => void) | undefined;
  private readonly L: Layout;
  private readonly words: Uint32Array;
  /** Records a chunk can take. */
  private readonly cap: number;
  /** Most accesses one instruction makes. */
  private readonly perRecord: number;
  private count = 0;
  private events: TraceEvent[] | undefined;
  private readonly pending: Uint8Array;
  private pendingLen = 0;
  /** Aligned scratch for a piece's whole records. */
  private scratch = new Uint8Array(0);
  private nBytes = 0;
  private nRecords = 0;
  private nInstructions = 0;
  private nSkipped = 0;
  private nEvents = 0;
  private asid = -1;
  private finished = false;

  constructor(variant: ChampSimVariant, options: TraceDecoderOptions = {}) {
    this.variant = variant;
    this.L = LAYOUTS[variant];
    this.source = options.source ?? '<stream>';
    this.strict = options.strict ?? false;
    this.onSkip = options.onSkip;
    const cap = checkChunkRecords(options.chunkRecords);
    this.cap = cap;
    this.perRecord = 1 + this.L.loads.length + this.L.stores.length;
    this.words = new Uint32Array(Math.max(cap, this.perRecord) * 2);
    this.pending = new Uint8Array(this.L.bytes);
  }

  /** Access records produced. */
  get records(): number { return this.nRecords; }
  /** ChampSim records (instructions) read. */
  get instructions(): number { return this.nInstructions; }
  /** Malformed ChampSim records skipped. */
  get skipped(): number { return this.nSkipped; }
  /** Bytes fed. */
  get bytes(): number { return this.nBytes; }
  /** Address-space changes written as THREAD events (CloudSuite). */
  get eventCount(): number { return this.nEvents; }

  /** Decodes `data`, yielding each chunk as it fills (buffers reused: consume before resuming). */
  *feed(data: Uint8Array): Generator<TraceChunk, void, undefined> {
    if (this.finished) throw new Error('ChampSimDecoder: feed() after finish()');
    const base = this.nBytes;
    this.nBytes += data.length;
    const R = this.L.bytes;
    let pos = 0;
    if (this.pendingLen > 0) {
      const take = Math.min(R - this.pendingLen, data.length);
      this.pending.set(data.subarray(0, take), this.pendingLen);
      this.pendingLen += take;
      pos = take;
      if (this.pendingLen < R) return;
      this.pendingLen = 0;
      yield* this.decode(this.pending, 1, base + pos - R);
    }
    const whole = Math.floor((data.length - pos) / R);
    if (whole > 0) {
      // Records read through an aligned copy: typed-array reads of little-endian words.
      const n = whole * R;
      let src: Uint8Array = data.subarray(pos, pos + n);
      if ((src.byteOffset & 3) !== 0) {
        if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, 1 << 20));
        this.scratch.set(src);
        src = this.scratch.subarray(0, n);
      }
      yield* this.decode(src, whole, base + pos);
      pos += n;
    }
    if (pos < data.length) {
      this.pending.set(data.subarray(pos), 0);
      this.pendingLen = data.length - pos;
    }
  }

  /** Reports a truncated last record and yields the last chunk. */
  *finish(): Generator<TraceChunk, void, undefined> {
    if (this.finished) return;
    this.finished = true;
    if (this.pendingLen > 0) {
      const len = this.pendingLen;
      this.pendingLen = 0;
      this.reject(this.nBytes - len, `truncated ChampSim record (${len} of ${this.L.bytes} bytes): the input is ${this.nBytes} bytes, not a whole number of ${this.L.bytes}-byte records${this.variant === 'champsim' ? (this.nBytes % 96 === 0 ? ' (96-byte records would fit: a CloudSuite trace? --format champsim-cloudsuite)' : '') : this.nBytes % 64 === 0 ? ' (64-byte records would fit: --format champsim)' : ''}`);
    }
    if (this.count > 0 || this.events) yield this.take();
  }

  private take(): TraceChunk {
    const c: TraceChunk = this.events ? { words: this.words, count: this.count, events: this.events } : { words: this.words, count: this.count };
    this.count = 0;
    this.events = undefined;
    return c;
  }

  /** Decodes `n` whole records of `src` (4-byte aligned), the first at trace byte `offset`. */
  private *decode(src: Uint8Array, n: number, offset: number): Generator<TraceChunk, void, undefined> {
    if (this.L.asid === undefined) {
      yield* this.decode64(src, n, offset);
      return;
    }
    yield* this.decodeAny(src, n, offset);
  }

  /**
   * The 64-byte layout, unrolled: the hot loop of a ChampSim replay (a check of the record's
   * 7 high words and branch bytes, then up to 7 accesses written).
   */
  private *decode64(src: Uint8Array, n: number, offset: number): Generator<TraceChunk, void, undefined> {
    const w32 = new Uint32Array(src.buffer, src.byteOffset, n * 16);
    const words = this.words;
    const cap = this.cap;
    let c = this.count;
    let r = 0;
    while (r < n) {
      // As many records as surely fit in the chunk (7 accesses each at most).
      const end = Math.min(n, r + Math.max(1, Math.floor((cap - c) / 7)));
      const from = c;
      let taken = end - r;
      for (; r < end; r++) {
        const q = r << 4;
        const ipLo = w32[q]!;
        const ipHi = w32[q + 1]!;
        // Canonical: bits 47-63 all equal, i.e. (hi >> 15) is 0 or -1.
        const bad =
          (((ipHi >> 15) + 1) >>> 1) |
          (((w32[q + 5]! >> 15) + 1) >>> 1) |
          (((w32[q + 7]! >> 15) + 1) >>> 1) |
          (((w32[q + 9]! >> 15) + 1) >>> 1) |
          (((w32[q + 11]! >> 15) + 1) >>> 1) |
          (((w32[q + 13]! >> 15) + 1) >>> 1) |
          (((w32[q + 15]! >> 15) + 1) >>> 1) |
          (w32[q + 2]! & 0xfefe);
        if (bad !== 0 || (ipLo | ipHi) === 0) {
          this.count = c; // consistent if reject throws
          const dv = new DataView(src.buffer, src.byteOffset + r * 64, 64);
          this.reject(offset + r * 64, `malformed ChampSim record: ${recordProblem(dv, 0, this.L) ?? 'bad fields'} (a CloudSuite trace, 96-byte records? --format champsim-cloudsuite)`);
          taken--;
          continue;
        }
        words[2 * c] = ipLo;
        words[2 * c + 1] = (ipHi & 0xffff) | INSTR_HI;
        c++;
        for (let i = q + 8; i < q + 16; i += 2) {
          const lo = w32[i]!;
          const hi = w32[i + 1]!;
          if ((lo | hi) === 0) continue;
          words[2 * c] = lo;
          words[2 * c + 1] = (hi & 0xffff) | LOAD_HI;
          c++;
        }
        for (let i = q + 4; i < q + 8; i += 2) {
          const lo = w32[i]!;
          const hi = w32[i + 1]!;
          if ((lo | hi) === 0) continue;
          words[2 * c] = lo;
          words[2 * c + 1] = (hi & 0xffff) | STORE_HI;
          c++;
        }
      }
      this.nRecords += c - from;
      this.nInstructions += taken;
      this.count = c;
      if (c + 7 > cap && c > 0) {
        yield this.take();
        c = 0;
      }
    }
  }

  /** Any layout, field by field (CloudSuite's, with its ASIDs). */
  private *decodeAny(src: Uint8Array, n: number, offset: number): Generator<TraceChunk, void, undefined> {
    const L = this.L;
    const R = L.bytes;
    const w32 = new Uint32Array(src.buffer, src.byteOffset, (n * R) >>> 2);
    const words = this.words;
    const stores = L.stores;
    const loads = L.loads;
    const asidAt = L.asid;
    const cap = this.cap;
    const per = this.perRecord;
    for (let r = 0; r < n; r++) {
      if (this.count > 0 && this.count + per > cap) yield this.take();
      const q = (r * R) >>> 2;
      const ipLo = w32[q]!;
      const ipHi = w32[q + 1]!;
      const bt = w32[q + 2]! & 0xffff;
      // A record is taken whole or not at all: check it first (cheap: the high words and the branch bytes).
      let bad = (ipLo === 0 && ipHi === 0) || !canonical(ipHi) || (bt & 0xfefe) !== 0;
      for (let k = 0; k < stores.length && !bad; k++) bad = !canonical(w32[q + (stores[k]! >>> 2) + 1]!);
      for (let k = 0; k < loads.length && !bad; k++) bad = !canonical(w32[q + (loads[k]! >>> 2) + 1]!);
      if (bad) {
        const dv = new DataView(src.buffer, src.byteOffset + r * R, R);
        this.reject(offset + r * R, `malformed ChampSim record: ${recordProblem(dv, 0, L) ?? 'bad fields'}${this.variant === 'champsim' ? ' (a CloudSuite trace, 96-byte records? --format champsim-cloudsuite)' : ''}`);
        continue;
      }
      const first = this.count;
      let c = first;
      if (asidAt !== undefined) {
        const asid = src[r * R + asidAt]!;
        if (asid !== this.asid) this.switchTo(asid, c, offset + r * R);
      }
      words[2 * c] = ipLo;
      words[2 * c + 1] = (ipHi & 0xffff) | INSTR_HI | SIZE1;
      c++;
      if (asidAt !== undefined) {
        const asid = src[r * R + asidAt + 1]!;
        if (asid !== this.asid) this.switchTo(asid, c, offset + r * R);
      }
      for (let k = 0; k < loads.length; k++) {
        const i = q + (loads[k]! >>> 2);
        const lo = w32[i]!;
        const hi = w32[i + 1]!;
        if (lo === 0 && hi === 0) continue;
        words[2 * c] = lo;
        words[2 * c + 1] = (hi & 0xffff) | LOAD_HI | SIZE1;
        c++;
      }
      for (let k = 0; k < stores.length; k++) {
        const i = q + (stores[k]! >>> 2);
        const lo = w32[i]!;
        const hi = w32[i + 1]!;
        if (lo === 0 && hi === 0) continue;
        words[2 * c] = lo;
        words[2 * c + 1] = (hi & 0xffff) | STORE_HI | SIZE1;
        c++;
      }
      this.nRecords += c - first;
      this.nInstructions++;
      this.count = c;
    }
    if (this.count >= cap) yield this.take();
  }

  /** The accesses from chunk position `at` on are address space `asid`'s (told by the record at trace byte `byteOffset`). */
  private switchTo(asid: number, at: number, byteOffset: number): void {
    this.asid = asid;
    this.nEvents++;
    (this.events ??= []).push({ type: 'thread', pid: asid + 1, thread: 1, at, byteOffset });
  }

  private reject(byteOffset: number, reason: string): void {
    const err = this.strict || this.onSkip ? new TraceFormatError(this.source, { byteOffset }, reason) : undefined;
    if (this.strict) throw err;
    this.nSkipped++;
    if (err) this.onSkip!(err);
  }
}
