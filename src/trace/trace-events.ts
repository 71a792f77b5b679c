/**
 * Event records of a version-2 binary trace: what happened between accesses — which thread
 * runs, the system calls with their arguments and results, the mappings a program image
 * starts with, the end of a process — so a recorded program can be replayed whole. An event is
 * an 8-byte header (second word's bits 30-31 both set, which no access record has) followed
 * by its payload in 8-byte words; docs/trace-format.md gives every layout.
 */
import { TraceFormatError } from './trace-error.js';

/** Event type numbers (bits 16-23 of an event header's second word). */
export const TraceEventType = { THREAD: 1, SYSCALL: 2, IMAGE: 3, MAP: 4, END: 5, NOTE: 6 } as const;

/** Bits 30-31 of a record's second word that mark an event header. */
export const EVENT_MARK = 0xc0000000;
/** Most payload words an event can carry (16 bits of the header). */
export const MAX_EVENT_WORDS = 0xffff;

/** Where an event sits: `at` records of its chunk come before it; `byteOffset` is its header's byte offset in the (decompressed) trace. */
export interface EventPlace {
  at: number;
  byteOffset: number;
}

/** The accesses that follow are thread `thread` (1 = the first thread, in creation order) of process `pid`. */
export interface ThreadEvent extends EventPlace {
  type: 'thread';
  pid: number;
  thread: number;
}

/** A system call as the program made it and as it returned (result: the return value, or -errno). */
export interface SyscallEvent extends EventPlace {
  type: 'syscall';
  pid: number;
  thread: number;
  /** The x86-64 system call number. */
  nr: number;
  /** Its arguments as recorded: the registers' exact unsigned 64-bit values (only `args.length` were recorded). */
  args: bigint[];
  /** The return value: >= 0 success, -errno failure. */
  result: bigint;
  /** The path or name argument (open, openat, execve, shm_open), as recorded. */
  path?: string;
  /** What the recorder saw of the file an open named: device, inode, size, and its path with every symbolic link resolved (what /proc/PID/maps prints), when that differs. */
  file?: { dev: number; inode: number; size: number; realPath?: string };
  /** For clone/fork/vfork: the new process's pid, or the new thread's number in its process. */
  child?: number;
}

/** Process `pid` starts running the program `path` (its first image, or a new one after execve). */
export interface ImageEvent extends EventPlace {
  type: 'image';
  pid: number;
  /** The parent's pid (0 when the recording did not see it). */
  parent: number;
  path: string;
}

/** What a MAP event's range is. */
export type MapKind = 'anon' | 'file' | 'brk' | 'stack';

/** A mapping the image starts with (made by the loader, not by a recorded call). */
export interface MapEvent extends EventPlace {
  type: 'map';
  pid: number;
  /** [start, end): page-aligned user addresses. */
  start: number;
  end: number;
  /** 'r', 'w', 'x' or '-' each, as /proc/PID/maps prints them. */
  prot: string;
  shared: boolean;
  kind: MapKind;
  /** File offset of `start` (file mappings). */
  offset: number;
  dev: number;
  inode: number;
  /** The file (file mappings). */
  path?: string;
  /** For kind 'file': the file's size in bytes when the recorder saw it. */
  size?: number;
  /** For kind 'brk': the program break at the start. */
  brk?: number;
}

/** Process `pid` ended other than by exit_group: killed by `signal`, or the recording lost it (signal 0). */
export interface EndEvent extends EventPlace {
  type: 'end';
  pid: number;
  status: number;
  signal: number;
}

/** What the recorder says about the recording (a JSON object's text). */
export interface NoteEvent extends EventPlace {
  type: 'note';
  text: string;
}

/** One event of a version-2 trace. */
export type TraceEvent = ThreadEvent | SyscallEvent | ImageEvent | MapEvent | EndEvent | NoteEvent;

/** An event as a writer takes it: without its place, which writing decides. */
export type NewTraceEvent = TraceEvent extends infer E ? (E extends unknown ? Omit<E, 'at' | 'byteOffset'> : never) : never;

const KINDS: readonly MapKind[] = ['anon', 'file', 'brk', 'stack'];
const TWO32 = 2 ** 32;

/** Encodes one event record (header and payload). */
export function encodeEvent(e: NewTraceEvent): Uint8Array {
  const w = new Words();
  let type: number;
  let lo = 0;
  switch (e.type) {
    case 'thread':
      type = TraceEventType.THREAD;
      lo = e.pid;
      w.u32pair(e.thread, 0);
      break;
    case 'syscall': {
      type = TraceEventType.SYSCALL;
      lo = e.pid;
      w.u32pair(e.thread, e.nr);
      w.i64(e.result);
      const flags = (e.file ? 1 : 0) | (e.child !== undefined ? 2 : 0);
      w.u32pair(e.args.length | (flags << 8), e.child ?? 0);
      for (let i = 0; i < 6; i++) w.i64(e.args[i] ?? 0n);
      w.num(e.file?.dev ?? 0);
      w.num(e.file?.inode ?? 0);
      w.num(e.file?.size ?? 0);
      w.str(e.path ?? '');
      if (e.file?.realPath !== undefined) w.str(e.file.realPath);
      break;
    }
    case 'image':
      type = TraceEventType.IMAGE;
      lo = e.pid;
      w.u32pair(e.parent, 0);
      w.str(e.path);
      break;
    case 'map':
      type = TraceEventType.MAP;
      lo = e.pid;
      w.num(e.start);
      w.num(e.end);
      w.num(e.offset);
      w.u32pair(protBits(e.prot) | (KINDS.indexOf(e.kind) << 8) | ((e.shared ? 1 : 0) << 16), 0);
      w.num(e.dev);
      w.num(e.inode);
      w.num(e.kind === 'brk' ? (e.brk ?? 0) : (e.size ?? 0));
      w.str(e.path ?? '');
      break;
    case 'end':
      type = TraceEventType.END;
      lo = e.pid;
      w.u32pair(e.status >>> 0, e.signal);
      break;
    case 'note':
      type = TraceEventType.NOTE;
      w.str(e.text);
      break;
  }
  const payload = w.bytes();
  const n = payload.length / 8;
  if (n > MAX_EVENT_WORDS) throw new RangeError(`event too long: ${n} payload words (at most ${MAX_EVENT_WORDS})`);
  const out = new Uint8Array(8 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, lo >>> 0, true);
  v.setUint32(4, (EVENT_MARK | (type << 16) | n) >>> 0, true);
  out.set(payload, 8);
  return out;
}

/** The payload words an event header announces, and its type. */
export function eventHeader(hi: number): { type: number; words: number; bad: boolean } {
  return { type: (hi >>> 16) & 0xff, words: hi & 0xffff, bad: (hi & 0x3f000000) !== 0 };
}

/**
 * Decodes an event from its header words and payload (whose first byte is at trace offset
 * `byteOffset` + 8); undefined for a type this version does not know (skipped by length).
 * A payload that does not fit its type throws a TraceFormatError at `byteOffset`.
 */
export function decodeEvent(lo: number, hi: number, payload: Uint8Array, at: number, byteOffset: number, source: string): TraceEvent | undefined {
  const { type, bad } = eventHeader(hi);
  const fail = (why: string) => new TraceFormatError(source, { byteOffset }, `bad event record (${typeName(type)}): ${why}`);
  if (bad) throw fail(`bits 24-29 of the header's second word must be 0 (0x${hi.toString(16)})`);
  const r = new Reader(payload, fail);
  const pid = lo;
  let e: TraceEvent;
  switch (type) {
    case TraceEventType.THREAD: {
      r.need(1);
      const [thread] = r.u32pair();
      if (thread < 1) throw fail('thread number 0 (threads count from 1)');
      e = { type: 'thread', pid, thread, at, byteOffset };
      break;
    }
    case TraceEventType.SYSCALL: {
      r.need(12);
      const [thread, nr] = r.u32pair();
      const result = r.i64();
      const [nf, child] = r.u32pair();
      const nargs = nf & 0xff;
      const flags = (nf >>> 8) & 0xff;
      if (nargs > 6) throw fail(`${nargs} arguments (at most 6)`);
      if (thread < 1) throw fail('thread number 0 (threads count from 1)');
      const args: bigint[] = [];
      for (let i = 0; i < 6; i++) {
        const a = r.u64();
        if (i < nargs) args.push(a);
      }
      const dev = r.num();
      const inode = r.num();
      const size = r.num();
      const path = r.str();
      const realPath = r.more() ? r.str() : undefined;
      e = { type: 'syscall', pid, thread, nr, args, result, at, byteOffset };
      if (path) e.path = path;
      if (flags & 1) e.file = realPath !== undefined ? { dev, inode, size, realPath } : { dev, inode, size };
      if (flags & 2) e.child = child;
      break;
    }
    case TraceEventType.IMAGE: {
      r.need(2);
      const [parent] = r.u32pair();
      e = { type: 'image', pid, parent, path: r.str(), at, byteOffset };
      break;
    }
    case TraceEventType.MAP: {
      r.need(8);
      const start = r.num();
      const end = r.num();
      const off = r.num();
      const [bits] = r.u32pair();
      const dev = r.num();
      const inode = r.num();
      const extra = r.num();
      const path = r.str();
      const kind = KINDS[(bits >>> 8) & 0xff];
      if (!kind) throw fail(`unknown mapping kind ${(bits >>> 8) & 0xff}`);
      if ((bits & 0xff) > 7) throw fail(`bad protection bits ${bits & 0xff}`);
      if (start % 4096 !== 0 || end % 4096 !== 0 || start >= end || end > 2 ** 47) throw fail(`bad range 0x${start.toString(16)}-0x${end.toString(16)} (page-aligned user addresses, start below end)`);
      e = { type: 'map', pid, start, end, prot: protString(bits & 7), shared: ((bits >>> 16) & 1) === 1, kind, offset: off, dev, inode, at, byteOffset };
      if (path) e.path = path;
      if (kind === 'brk') e.brk = extra;
      if (kind === 'file') e.size = extra;
      break;
    }
    case TraceEventType.END: {
      r.need(1);
      const [status, signal] = r.u32pair();
      e = { type: 'end', pid, status: status | 0, signal, at, byteOffset };
      break;
    }
    case TraceEventType.NOTE:
      r.need(1);
      e = { type: 'note', text: r.str(), at, byteOffset };
      break;
    default:
      return undefined;
  }
  return e;
}

function typeName(type: number): string {
  const name = Object.entries(TraceEventType).find(([, v]) => v === type)?.[0];
  return name ? name.toLowerCase() : `type ${type}`;
}

function protBits(prot: string): number {
  return (prot.includes('r') ? 1 : 0) | (prot.includes('w') ? 2 : 0) | (prot.includes('x') ? 4 : 0);
}

function protString(bits: number): string {
  return `${bits & 1 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 4 ? 'x' : '-'}`;
}

/** A payload under construction, in little-endian 8-byte words. */
class Words {
  private buf = new Uint8Array(128);
  private v = new DataView(this.buf.buffer);
  private n = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const g = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    g.set(this.buf);
    this.buf = g;
    this.v = new DataView(g.buffer);
  }
  u32pair(a: number, b: number): void {
    this.room(8);
    this.v.setUint32(this.n, a >>> 0, true);
    this.v.setUint32(this.n + 4, b >>> 0, true);
    this.n += 8;
  }
  i64(x: bigint): void {
    this.room(8);
    this.v.setBigUint64(this.n, BigInt.asUintN(64, x), true);
    this.n += 8;
  }
  /** A non-negative integer below 2^53. */
  num(x: number): void {
    this.u32pair(x % TWO32, Math.floor(x / TWO32));
  }
  /** A length (uint32) then UTF-8 bytes, padded to the word. */
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    const len = 4 + b.length;
    const padded = Math.ceil(len / 8) * 8;
    this.room(padded);
    this.v.setUint32(this.n, b.length, true);
    this.buf.set(b, this.n + 4);
    this.buf.fill(0, this.n + len, this.n + padded);
    this.n += padded;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}

/** Reads a payload, throwing `fail(why)` where it is too short for what it claims. */
class Reader {
  private readonly v: DataView;
  private p = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly fail: (why: string) => Error,
  ) {
    this.v = new DataView(b.buffer, b.byteOffset, b.length);
  }
  /** True when a whole word is left (an optional field follows). */
  more(): boolean {
    return this.p + 8 <= this.b.length;
  }
  need(words: number): void {
    if (this.b.length < words * 8) throw this.fail(`${this.b.length / 8} payload word(s), needs at least ${words}`);
  }
  u32pair(): [number, number] {
    const r: [number, number] = [this.v.getUint32(this.p, true), this.v.getUint32(this.p + 4, true)];
    this.p += 8;
    return r;
  }
  i64(): bigint {
    const x = this.v.getBigInt64(this.p, true);
    this.p += 8;
    return x;
  }
  u64(): bigint {
    const x = this.v.getBigUint64(this.p, true);
    this.p += 8;
    return x;
  }
  num(): number {
    const lo = this.v.getUint32(this.p, true);
    const hi = this.v.getUint32(this.p + 4, true);
    this.p += 8;
    if (hi >= 2 ** 21) throw this.fail(`value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} out of range (below 2^53)`);
    return hi * TWO32 + lo;
  }
  str(): string {
    if (this.p + 4 > this.b.length) throw this.fail('string length beyond the payload');
    const len = this.v.getUint32(this.p, true);
    if (this.p + 4 + len > this.b.length) throw this.fail(`string of ${len} bytes beyond the payload (${this.b.length - this.p - 4} left)`);
    const s = Buffer.from(this.b.buffer, this.b.byteOffset + this.p + 4, len).toString('utf8');
    this.p += Math.ceil((4 + len) / 8) * 8;
    return s;
  }
}
