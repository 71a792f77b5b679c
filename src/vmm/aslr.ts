/**
 * Address-space layout randomization, as Linux x86-64 does it with randomize_va_space = 2, from
 * a seeded generator so that the same seed gives the same layouts. Each new process image (a
 * process created, or exec) draws, in this order:
 * - the stack's top: STACK_TOP less a random page count of 22 bits (STACK_RND_MASK, 16 GiB:
 *   randomize_stack_top);
 * - mmap_base: TASK_SIZE less the gap (RLIMIT_STACK + stack_guard_gap + the stack's largest
 *   random shift, clamped to [128 MiB, 5/6 of the space]) less a random page count of 28 bits
 *   (mmap_rnd_bits: 1 TiB; arch_mmap_rnd);
 * - the program's load address: ELF_ET_DYN_BASE plus 28 random bits of pages (a PIE), which moves
 *   the heap with it; then the heap's start: a random page within 1 GiB above the program's end
 *   (arch_randomize_brk, randomize_page(brk, SZ_1G)).
 * Off (the default), the layout is Linux's with randomization disabled, the one vmsim always had.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { DEFAULT_HEAP_START, PAGE, STACK_GUARD_GAP, STACK_TOP, TASK_SIZE } from './layout.js';

/** Where a process image's stack, mmap area and heap start. */
export interface ProcessLayout {
  stackTop: number;
  mmapBase: number;
  heapStart: number;
}

const STACK_RND_PAGES = 2 ** 22; // STACK_RND_MASK + 1
const MMAP_RND_PAGES = 2 ** 28; // 1 << mmap_rnd_bits
const BRK_RND_PAGES = 2 ** 30 / PAGE; // SZ_1G of pages
const SIZE_128M = 128 * 2 ** 20;
/** The unrandomized program load address (ELF_ET_DYN_BASE rounded down to its page) and the heap's distance from it. */
const PIE_BASE = 0x555555554000;
const HEAP_OFFSET = DEFAULT_HEAP_START - PIE_BASE;

/** mmap_base: TASK_SIZE less max(128 MiB, RLIMIT_STACK + pad), at most 5/6 of the space, less `rnd` bytes, page-aligned. */
export function mmapBaseOf(stackLimit: number, pad: number, rnd: number): number {
  let gap = stackLimit + pad;
  const gapMax = Math.floor(TASK_SIZE / 6) * 5;
  if (!(gap >= SIZE_128M)) gap = SIZE_128M; // also Infinity + pad stays Infinity, clamped below
  if (gap > gapMax) gap = gapMax;
  const base = TASK_SIZE - gap - rnd;
  return base - (base % PAGE);
}

/** The layout generator of one machine: fixed, or randomized from a seed. */
export class Aslr {
  private state: number;

  constructor(readonly seed: number | undefined) {
    this.state = (seed ?? 0) >>> 0;
  }

  /** Checks machine option `aslr`: false/undefined (off) or { seed } with a 32-bit unsigned seed. */
  static from(v: unknown): Aslr {
    if (v === undefined || v === false) return new Aslr(undefined);
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      const seed = (v as { seed?: unknown }).seed;
      if (keys.every((k) => k === 'seed') && typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff) return new Aslr(seed);
    }
    throw new VmmError('EINVAL', `options.aslr must be false or { seed } with seed a whole number in [0, 2^32), got ${describe(v)}`);
  }

  /** True when layouts are randomized. */
  get enabled(): boolean {
    return this.seed !== undefined;
  }

  /** A new process image's layout, for RLIMIT_STACK `stackLimit`. */
  next(stackLimit: number): ProcessLayout {
    if (!this.enabled) return { stackTop: STACK_TOP, mmapBase: mmapBaseOf(stackLimit, STACK_GUARD_GAP, 0), heapStart: DEFAULT_HEAP_START };
    const stackTop = STACK_TOP - this.pages(STACK_RND_PAGES) * PAGE;
    const mmapBase = mmapBaseOf(stackLimit, STACK_GUARD_GAP + (STACK_RND_PAGES - 1) * PAGE, this.pages(MMAP_RND_PAGES) * PAGE);
    const pie = PIE_BASE + this.pages(MMAP_RND_PAGES) * PAGE;
    const heapStart = pie + HEAP_OFFSET + this.pages(BRK_RND_PAGES) * PAGE;
    return { stackTop, mmapBase, heapStart };
  }

  /** A uniform random page count below `n` (a power of two up to 2^28): two draws of the generator when it needs more than 24 bits. */
  private pages(n: number): number {
    const hi = this.u32() >>> 8; // 24 bits
    if (n <= 2 ** 24) return hi % n;
    return (hi * 16 + (this.u32() >>> 28)) % n;
  }

  /** mulberry32: small, fast, deterministic. */
  private u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
