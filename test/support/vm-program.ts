/**
 * Memory programs run twice — by this machine's kernel (test/vmm/linux/vmprog.c, built at test
 * time) and by vmsim — step for step: every step's errno, value (a byte read, mincore's vector,
 * where mremap put the mapping), minor and major faults, VmRSS and VmLck change, and the regions
 * of a fixed window with their VmFlags. The generator makes seeded random programs from the
 * calls of the process's memory system (mmap, munmap, mprotect, mremap, the mlock and madvise
 * families, mincore, RLIMIT_MEMLOCK, reads and writes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, SegmentationFault, VmmError, type AddressSpace } from '../../src/index.js';
import { vmFlags } from '../../src/vmm/vm-flags.js';

export const WINDOW = 0x2000_0000_0000;
const PG = 4096;

/** One step: a call name and integer arguments (page offsets in the window), as vmprog.c reads them. */
export type Step = [string, ...number[]];

/** What one step did. */
export interface StepResult {
  r: string;
  v?: string | number;
  min: number;
  maj: number;
  rss: number;
  lck?: number;
  maps?: string[];
  /** fork steps: which of the window's first 32 pages the child maps right after fork, and after its access. */
  pm0?: string;
  pm1?: string;
}

/** The VmFlags mnemonics vmsim models (fs/proc/task_mmu.c's names), by bit. */
const MNEMONICS: Array<[number, string]> = [
  [0x1, 'rd'],
  [0x2, 'wr'],
  [0x4, 'ex'],
  [0x8, 'sh'],
  [0x10, 'mr'],
  [0x20, 'mw'],
  [0x40, 'me'],
  [0x80, 'ms'],
  [0x100, 'gd'],
  [0x2000, 'lo'],
  [0x8000, 'sr'],
  [0x10000, 'rr'],
  [0x20000, 'dc'],
  [0x40000, 'de'],
  [0x80000, 'lf'],
  [0x100000, 'ac'],
  [0x200000, 'nr'],
  [0x2000000, 'wf'],
  [0x4000000, 'dd'],
  [0x20000000, 'hg'],
  [0x40000000, 'nh'],
];
const KNOWN = new Set(MNEMONICS.map(([, m]) => m));

/** A kernel maps line "so-eo perms  flags..." with only the mnemonics vmsim models, in Linux's order. */
function normalize(line: string): string {
  const [range, perms, ...flags] = line.trim().split(/\s+/);
  return `${range} ${perms} ${flags.filter((f) => KNOWN.has(f)).join(' ')}`.trim();
}

/** vmsim's window lines in the same form. */
function vmsimMaps(s: AddressSpace, pages: number): string[] {
  const out: string[] = [];
  for (const r of s.vm.regions.overlapping(WINDOW, WINDOW + pages * PG)) {
    const f = vmFlags(r);
    const perms = `${r.prot & 1 ? 'r' : '-'}${r.prot & 2 ? 'w' : '-'}${r.prot & 4 ? 'x' : '-'}${r.shared ? 's' : 'p'}`;
    const names = MNEMONICS.filter(([b]) => (f & b) !== 0).map(([, m]) => m);
    out.push(`${(r.start - WINDOW) / PG}-${(r.end - WINDOW) / PG} ${perms} ${names.join(' ')}`.trim());
  }
  return out;
}

/**
 * Runs `programs` through the kernel, each in a process of its own (what a program leaves
 * behind — MREMAP_DONTUNMAP's locked_vm, for one — stays with its process). Undefined results
 * when there is no C compiler or the interpreter cannot run (the caller skips, saying why in `why`).
 */
export function runOnKernel(programs: Step[][], options: { thp?: boolean } = {}): { results?: StepResult[][]; why?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-vmprog-'));
  try {
    const exe = join(dir, 'vmprog');
    try {
      execFileSync('cc', ['-O1', '-o', exe, join(import.meta.dirname, '..', 'vmm', 'linux', 'vmprog.c')], { stdio: 'pipe' });
    } catch (e) {
      return { why: `no C compiler: ${(e as Error).message.split('\n')[0]}` };
    }
    const results: StepResult[][] = [];
    for (const p of programs) {
      const input = [...(options.thp ? ['thp'] : []), ...p.map((s) => s.join(' ')), 'end'].join('\n') + '\n';
      const run = spawnSync(exe, { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 24 });
      if (run.status !== 0) return { why: `vmprog exited with ${run.status ?? run.signal}: ${run.stderr}` };
      const cur: StepResult[] = [];
      for (const line of run.stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as StepResult & { end?: number };
        if (o.end) break;
        if (o.maps) o.maps = o.maps.map(normalize);
        cur.push(o);
      }
      results.push(cur);
    }
    return { results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one program in a fresh vmsim process (window at the same address); the results in the kernel's form. */
export function runOnVmsim(backend: 'js' | 'native', program: Step[], windowPages: number): StepResult[] {
  const m = new Machine({ memory: '64MiB', backend });
  try {
    const s = m.createAddressSpace();
    const out: StepResult[] = [];
    for (const step of program) {
      if (step[0] === 'fork') {
        out.push(forkStep(s, step));
        continue;
      }
      const f0 = s.stats().faults;
      const rss0 = s.stats().residentPages;
      const lck0 = s.vm.lockedVm;
      let r = '0';
      let v: string | number | undefined;
      try {
        v = apply(s, step);
      } catch (e) {
        if (e instanceof SegmentationFault) r = 'SIGSEGV';
        else if (e instanceof VmmError) r = e.message.includes('SIGBUS') ? 'SIGBUS' : e.code;
        else throw e;
      }
      const f1 = s.stats().faults;
      const res: StepResult = { r, ...(v !== undefined ? { v } : {}), min: f1.minor - f0.minor, maj: f1.major - f0.major, rss: s.stats().residentPages - rss0, lck: s.vm.lockedVm - lck0, maps: vmsimMaps(s, windowPages) };
      out.push(res);
    }
    return out;
  } finally {
    m.dispose();
  }
}

const at = (off: number): number => WINDOW + off * PG;

/** Which of the window's first 32 pages `s` maps. */
function presence(s: AddressSpace): string {
  let o = '';
  for (let i = 0; i < 32; i++) o += s.translate(at(i)) ? '1' : '0';
  return o;
}

/** "fork off w val": the child's view of the window after fork, and its one access (read, or write of val), as vmprog.c reports it. */
function forkStep(s: AddressSpace, [, off, w, val]: Step): StepResult {
  const c = s.fork();
  try {
    const pm0 = presence(c);
    const f0 = c.stats().faults;
    const rss0 = c.stats().residentPages;
    let r = '0';
    let v: number | undefined;
    try {
      if (w) c.write(at(off!), [val!]);
      else v = c.read(at(off!), 1)[0]!;
    } catch (e) {
      if (e instanceof SegmentationFault) r = 'SIGSEGV';
      else if (e instanceof VmmError) r = 'SIGBUS';
      else throw e;
    }
    const f1 = c.stats().faults;
    return { r, ...(v !== undefined ? { v } : {}), min: f1.minor - f0.minor, maj: f1.major - f0.major, rss: c.stats().residentPages - rss0, pm0, pm1: presence(c) };
  } finally {
    c.destroy();
  }
}

/** One step on vmsim, as vmprog.c's step() does it on the kernel. */
function apply(s: AddressSpace, [name, ...a]: Step): string | number | undefined {
  const prot = (p: number) => (p & 1 ? 'r' : '') + (p & 2 ? 'w' : '') + (p & 4 ? 'x' : '') || 'none';
  switch (name) {
    case 'mmap': {
      const fl = a[3]!;
      s.mmap({ addr: at(a[0]!), length: a[1]! * PG, prot: prot(a[2]!), ...(fl & 32 ? { noReplace: true } : { fixed: true }), shared: (fl & 1) !== 0, populate: (fl & 2) !== 0, locked: (fl & 4) !== 0, growsDown: (fl & 8) !== 0, noReserve: (fl & 16) !== 0 });
      return undefined;
    }
    case 'munmap':
      s.munmap(at(a[0]!), a[1]! * PG);
      return undefined;
    case 'mprotect':
      s.mprotect(at(a[0]!), a[1]! * PG, prot(a[2]!));
      return undefined;
    case 'mremap': {
      const r = s.mremap(at(a[0]!), a[1]! * PG, a[2]! * PG, { flags: (a[3]! & 1 ? 1 : 0) | (a[3]! & 2 ? 2 : 0) | (a[3]! & 4 ? 4 : 0) | (a[3]! & 8 ? 64 : 0), newAddr: at(a[4]!) });
      if (r >= WINDOW && r < WINDOW + 1024 * PG) return (r - WINDOW) / PG;
      s.munmap(r, a[2]! * PG);
      return 'out';
    }
    case 'mlock':
      s.mlock(at(a[0]!) + a[2]!, a[1]! * PG - a[2]!);
      return undefined;
    case 'munlock':
      s.munlock(at(a[0]!), a[1]! * PG);
      return undefined;
    case 'mlock2':
      s.mlock2(at(a[0]!), a[1]! * PG, a[2]!);
      return undefined;
    case 'mlockall':
      s.mlockall(a[0]!);
      return undefined;
    case 'munlockall':
      s.munlockall();
      return undefined;
    case 'madvise':
      s.madvise(at(a[0]!), a[1]! * PG, a[2]!);
      return undefined;
    case 'r':
      return s.read(at(a[0]!), 1)[0]!;
    case 'w':
      s.write(at(a[0]!), [a[1]!]);
      return undefined;
    case 'mincore':
      return [...s.mincore(at(a[0]!), a[1]! * PG)].map((b) => b & 1).join('');
    case 'memlock': {
      const soft = a[0] === -1 ? Infinity : a[0]! * PG;
      s.setrlimit('RLIMIT_MEMLOCK', soft, s.getrlimit('RLIMIT_MEMLOCK').hard);
      return undefined;
    }
  }
  throw new Error(`unknown step ${name}`);
}

/** mulberry32 (the seed is the program's). */
function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = x;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The advice the random programs use (not HUGEPAGE's faults nor COLLAPSE: the kernel runs them with THP off). */
const ADVICE = [0, 1, 2, 3, 4, 4, 8, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];

/** A seeded random program over a window of `pages` pages. */
export function randomProgram(seed: number, steps: number, pages = 24): Step[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const off = () => int(pages);
  const len = (o: number) => 1 + int(Math.min(6, pages - o));
  const out: Step[] = [];
  // Start from some mappings, so most calls meet regions.
  for (let i = 0; i < 3; i++) {
    const o = off();
    out.push(['mmap', o, len(o), [1, 3, 3, 3, 5, 0][int(6)]!, int(4) === 0 ? 1 : 0]);
  }
  for (let i = 0; i < steps; i++) {
    const o = off();
    const n = len(o);
    const k = int(100);
    if (k < 14) out.push(['mmap', o, n, [0, 1, 2, 3, 3, 3, 4, 5][int(8)]!, [0, 0, 0, 1, 2, 4, 8, 16, 32, 3, 6][int(11)]!]);
    else if (k < 20) out.push(['munmap', o, n]);
    else if (k < 28) out.push(['mprotect', o, n, [0, 1, 3, 3, 5][int(5)]!]);
    else if (k < 36) out.push(['mremap', o, n, 1 + int(6), [0, 0, 1, 1, 3, 5, 3][int(7)]!, off()]);
    else if (k < 42) out.push(['mlock', o, n, int(3) === 0 ? 5 : 0]);
    else if (k < 46) out.push(['munlock', o, n]);
    else if (k < 49) out.push(['mlock2', o, n, int(2)]);
    else if (k < 51) out.push(['mlockall', [2, 6][int(2)]!]);
    else if (k < 52) out.push(['munlockall']);
    else if (k < 66) out.push(['madvise', o, n, ADVICE[int(ADVICE.length)]!]);
    else if (k < 76) out.push(['r', o]);
    else if (k < 88) out.push(['w', o, 1 + int(250)]);
    else if (k < 93) out.push(['mincore', o, n]);
    else if (k < 97) out.push(['fork', o, int(2), 1 + int(250)]);
    else out.push(['memlock', [0, 2, 4, 8, -1][int(5)]!]);
  }
  return out;
}
