/**
 * A deterministic lackey trace that looks like a small real program, for the CLI when no
 * trace is given and for tests and benchmarks: loops fetching code near 0x400000, stack
 * traffic near 0x7ffffffde000, and passes over two heap arrays near 0x5555555a0000 (stores,
 * then alternately a[i] += b[i] and a sum) with some random accesses and a few 8-byte
 * accesses that straddle a page boundary.
 */
import { VmmError } from '../errors.js';

/** Options for syntheticLackeyTrace. */
export interface SyntheticTraceOptions {
  /** PRNG seed (default 1); equal seeds give equal traces. */
  seed?: number;
  /** Record lines to produce (default 200000), not counting `==` lines. */
  records?: number;
}

const CODE = 0x400000;
const STACK_TOP = 0x7ffffffdf000; // rsp starts just below; the stack page is 0x7ffffffde000
const HEAP = 0x5555555a0000;
const ARRAY_ELEMS = 2048; // 16 KiB of 8-byte elements (4 pages) per array
const TABLE_BYTES = 256 * 1024; // target of the random accesses (a hash table after the arrays)
const PID = 1234;

/** mulberry32: tiny, fast, and good enough to make traces look irregular. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hx(addr: number): string {
  return addr.toString(16).padStart(8, '0');
}

/** Returns the synthetic trace text (lackey format, '\n' line ends). */
export function syntheticLackeyTrace(options: SyntheticTraceOptions = {}): string {
  const seed = options.seed ?? 1;
  const records = options.records ?? 200_000;
  if (!Number.isInteger(seed)) throw new VmmError('EINVAL', `seed must be an integer, got ${String(seed)}`);
  if (!Number.isInteger(records) || records < 0) throw new VmmError('EINVAL', `records must be a non-negative integer, got ${String(records)}`);
  const rand = mulberry32(seed);

  // A fixed code layout: instruction lengths 1..7 (mostly 3-5), so PCs advance like real x86.
  const codeLen = 512;
  const pcs: number[] = [];
  const lens: number[] = [];
  let pc = CODE + 0x1130;
  for (let i = 0; i < codeLen; i++) {
    const len = 1 + Math.floor(rand() * rand() * 7) + (rand() < 0.6 ? 2 : 0);
    pcs.push(pc);
    lens.push(Math.min(len, 7));
    pc += Math.min(len, 7);
  }

  const out: string[] = [
    `==${PID}== Lackey, an example Valgrind tool`,
    `==${PID}== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote.`,
    `==${PID}== Using Valgrind-3.15.0 and LibVEX; rerun with -h for copyright info`,
    `==${PID}== Command: ./synthetic`,
    `==${PID}== `,
  ];
  let n = 0;
  const instr = (slot: number): void => {
    if (n < records) {
      out.push(`I  ${hx(pcs[slot % codeLen]!)},${lens[slot % codeLen]!}`);
      n++;
    }
  };
  const data = (kind: 'L' | 'S' | 'M', addr: number, size: number): void => {
    if (n < records) {
      out.push(` ${kind} ${hx(addr)},${size}`);
      n++;
    }
  };

  const a = HEAP; // two arrays of ARRAY_ELEMS 8-byte elements, then a table
  const b = HEAP + 8 * ARRAY_ELEMS;
  const table = HEAP + 16 * ARRAY_ELEMS;
  let rsp = STACK_TOP - 0x1a8;
  for (let pass = 0; n < records; pass++) {
    // Call prologue: push rbp, spill a few registers, set up the loop (slots 0..5).
    const frame = 0x40 + 8 * (pass % 5);
    for (let k = 0; k < 4; k++) {
      instr(k);
      rsp -= 8;
      data('S', rsp, 8);
    }
    instr(4);
    instr(5);
    // Pass 0 initialises a and b; then passes alternate a[i] += b[i] and a sum over a.
    const mode = pass === 0 ? 0 : pass % 2 === 1 ? 1 : 2;
    const body = 16 + 8 * mode; // each loop has its own code
    for (let i = 0; i < ARRAY_ELEMS && n < records; i++) {
      instr(body);
      if (mode === 0) {
        data('S', a + 8 * i, 8);
        instr(body + 1);
        data('S', b + 8 * i, 8);
      } else if (mode === 1) {
        data('L', b + 8 * i, 8);
        instr(body + 1);
        data('M', a + 8 * i, 8);
      } else {
        data('L', a + 8 * i, 8);
        instr(body + 1);
      }
      if (rand() < 0.15) data('L', rsp + frame - 8 * (1 + Math.floor(rand() * 4)), 8); // a spilled local
      if (rand() < 0.05) {
        // A lookup somewhere in the table after the arrays.
        instr(body + 2);
        data(rand() < 0.7 ? 'L' : 'S', table + 8 * Math.floor((rand() * TABLE_BYTES) / 8), 8);
      }
      if (rand() < 0.004) {
        // A packed struct field read straddling two pages.
        instr(body + 3);
        const page = HEAP + 4096 * (1 + Math.floor(rand() * ((16 * ARRAY_ELEMS) / 4096 - 1)));
        data('L', page - 4, 8);
      }
      instr(body + 4);
      instr(body + 5); // the loop's compare and branch
    }
    // Epilogue: restore the registers.
    for (let k = 0; k < 4; k++) {
      instr(40 + k);
      data('L', rsp, 8);
      rsp += 8;
    }
    instr(44);
  }
  out.push(`==${PID}== `, `==${PID}== Counted 1 call to main()`, `==${PID}== Exit code: 0`);
  return out.join('\n') + '\n';
}
