/**
 * One non-access line of valgrind's log (--trace-syscalls, --trace-sched and its own
 * messages), cut into the pieces valgrind printed. Valgrind prints a system call in several
 * writes — `SYSCALL[pid,tid](nr) `, then `sys_name ( args )`, then ` --> result`, then the
 * newline — and other messages of the same process (a scheduler line after a yield) or of a
 * forked child writing to the same log can land between them, so a line is split at every
 * place a piece can start, and the pieces are read one by one.
 */
import { RECORDED_SYSCALLS } from './recorded-syscalls.js';

/** A system call's first pieces: who made it, its number, and (when they were not torn off) its arguments. */
export interface SyscallPiece {
  kind: 'syscall';
  pid: number;
  tid: number;
  nr: number;
  /** The arguments, exact, as registers hold them; undefined when the line does not carry them. */
  args?: bigint[];
  /** The path (or name) argument of calls that print one. */
  path?: string;
}

/** `SYSCALL[pid,tid](nr) ... [async]`: the result of an asynchronous call follows. */
export interface AsyncDonePiece {
  kind: 'async-done';
  pid: number;
  tid: number;
  nr: number;
}

/** ` --> Success(0x..)` or ` --> Failure(0x..)` (value: the return value, or -errno), or ` --> [async] ...` (pending). */
export interface ResultPiece {
  kind: 'result';
  pending: boolean;
  value: bigint;
}

/** `clone(fork): process P created child C` (also `fork:` and `vfork:`), printed by the parent. */
export interface ForkedPiece {
  kind: 'forked';
  parent: number;
  child: number;
}

/** `--PID--   SCHED[tid]: what`. */
export interface SchedPiece {
  kind: 'sched';
  pid: number;
  tid: number;
  what: string;
}

/** `==PID== text`: valgrind's own message. */
export interface MessagePiece {
  kind: 'message';
  pid: number;
  text: string;
}

/** One piece of a log line. */
export type LogPiece = SyscallPiece | AsyncDonePiece | ResultPiece | ForkedPiece | SchedPiece | MessagePiece;

const STARTS = /SYSCALL\[\d+,\d+\]\(\d+\) ?|--\d+-- +SCHED\[\d+\]: ?|==\d+== ?|\[sync\] --> | --> |\s*(?:clone\()?v?fork\)?: process \d+ created child \d+/g;
const SYSCALL = /^SYSCALL\[(\d+),(\d+)\]\((\d+)\) ?(.*)$/s;
const SCHED = /^--(\d+)-- +SCHED\[(\d+)\]: ?(.*)$/s;
const MESSAGE = /^==(\d+)== ?(.*)$/s;
const FORKED = /(\d+) created child (\d+)/;
const RESULT = /(Success|Failure)\(0x([0-9a-fA-F]+)\)/;

/** The pieces of one line (without its newline); text that starts no piece is dropped. */
export function logPieces(line: string): LogPiece[] {
  const starts: number[] = [];
  STARTS.lastIndex = 0;
  for (let m = STARTS.exec(line); m; m = STARTS.exec(line)) {
    starts.push(m.index);
    if (m[0].length === 0) STARTS.lastIndex++;
  }
  const out: LogPiece[] = [];
  for (let i = 0; i < starts.length; i++) {
    const piece = readPiece(line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : line.length));
    if (piece) out.push(piece);
  }
  return out;
}

function readPiece(text: string): LogPiece | undefined {
  let m: RegExpExecArray | null;
  if ((m = SYSCALL.exec(text))) {
    const pid = Number(m[1]);
    const tid = Number(m[2]);
    const nr = Number(m[3]);
    const rest = m[4]!.trim();
    if (rest.startsWith('... [async]')) return { kind: 'async-done', pid, tid, nr };
    const piece: SyscallPiece = { kind: 'syscall', pid, tid, nr };
    const info = RECORDED_SYSCALLS.get(nr);
    if (info) {
      const args = readArgs(rest, info.bareHex ?? [], info.pathArg);
      if (args) {
        piece.args = args.values;
        if (args.path !== undefined) piece.path = args.path;
      }
    }
    return piece;
  }
  if ((m = SCHED.exec(text))) return { kind: 'sched', pid: Number(m[1]), tid: Number(m[2]), what: m[3]!.trim() };
  if ((m = MESSAGE.exec(text))) return { kind: 'message', pid: Number(m[1]), text: m[2]!.replace(/\s+$/, '') };
  if (text.includes('-->')) {
    const r = RESULT.exec(text);
    if (r) {
      const v = BigInt('0x' + r[2]);
      return { kind: 'result', pending: false, value: r[1] === 'Success' ? v : -v };
    }
    if (text.includes('[async] ...')) return { kind: 'result', pending: true, value: 0n };
    return undefined;
  }
  if ((m = FORKED.exec(text))) return { kind: 'forked', parent: Number(m[1]), child: Number(m[2]) };
  return undefined;
}

/**
 * The arguments of `name ( a, b, c )` (what follows `SYSCALL[..](nr) `): 0x-prefixed values are
 * hexadecimal, others decimal (negative ones as their 64-bit two's complement), except the
 * positions valgrind prints as bare hexadecimal; the argument at `pathArg` is `0xADDR(string)`.
 * Undefined when `text` is not such a list (a torn line).
 */
export function readArgs(text: string, bareHex: readonly number[], pathArg: number | undefined): { values: bigint[]; path?: string } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  let body = text.slice(open + 1, close).trim();
  let path: string | undefined;
  let pathValue: bigint | undefined;
  if (pathArg !== undefined) {
    // The string may hold anything, even ", " and ")": it ends at the last ')' followed only by plain arguments.
    const before = nthComma(body, pathArg);
    if (before < 0) return undefined;
    const head = body.slice(0, before);
    const tail = body.slice(before === 0 ? 0 : before + 1).trimStart();
    const addr = /^(0x[0-9a-fA-F]+)\(/.exec(tail);
    if (!addr) return undefined;
    const rest = tail.slice(addr[0].length);
    const end = /\)((?:, *[^,()]+)*)$/.exec(rest);
    if (!end) return undefined;
    path = rest.slice(0, end.index);
    pathValue = BigInt(addr[1]!);
    body = (head ? head + ', ' : '') + 'PATH' + end[1]!;
  }
  if (body === '') return { values: [] };
  const values: bigint[] = [];
  const parts = body.split(',');
  for (let i = 0; i < parts.length; i++) {
    const t = parts[i]!.trim();
    if (t === 'PATH' && i === pathArg) {
      values.push(pathValue!);
      continue;
    }
    const v = readValue(t, bareHex.includes(i));
    if (v === undefined) return undefined;
    values.push(v);
  }
  return path !== undefined ? { values, path } : { values };
}

/** The index of the comma before argument n (0 for the first argument), or -1. */
function nthComma(body: string, n: number): number {
  if (n === 0) return 0;
  let at = -1;
  for (let k = 0; k < n; k++) {
    at = body.indexOf(',', at + 1);
    if (at < 0) return -1;
  }
  return at;
}

function readValue(t: string, bareHex: boolean): bigint | undefined {
  if (/^0x[0-9a-fA-F]+$/.test(t)) return BigInt(t);
  if (bareHex && /^[0-9a-fA-F]+$/.test(t)) return BigInt('0x' + t);
  if (/^-?\d+$/.test(t)) return BigInt.asUintN(64, BigInt(t));
  return undefined;
}
