/**
 * Homework in the style of OSTEP's paging-multilevel-translate.py and paging-policy.py: a seed
 * makes the problem, the same seed makes it again anywhere, and the answers (computed by the
 * library on a real machine) are shown on request.
 */
import { Machine, PageFault, runReferenceString, describeErrorCode, type PolicyName, type WalkStep } from './lib.js';
import { RAW_FAULTS } from '../../../src/machine/fault.js';
import { Random, randomReferenceString } from './random.js';
import { hex } from './bits.js';

/** A non-empty entry of a table as the exercise prints it. */
export interface TableDump {
  /** Physical address of the table. */
  address: number;
  level: 4 | 3 | 2 | 1;
  entries: { index: number; entry: bigint }[];
}

/** One address to translate and its answer. */
export interface TranslationQuestion {
  /** The virtual address (sign-extended: a kernel address is negative). */
  va: number;
  /** The user-mode access: a load, a store, or an instruction fetch. */
  kind: 'read' | 'write' | 'execute';
  /** The answer: the physical address, or the page fault with its x86 error code. */
  answer: string;
  /** The page fault's error code (P=1, W=2, U=4, I/D=16), when the access faults. */
  errorCode?: number;
  /** The walk, level by level, as the answer explains it. */
  steps: string[];
}

/** A translation exercise. */
export interface TranslationExercise {
  seed: number;
  cr3: number;
  tables: TableDump[];
  questions: TranslationQuestion[];
}

/** Linux's PAGE_OFFSET on x86-64 with 4-level paging: the direct map of physical memory starts here. */
const PAGE_OFFSET = -(2 ** 47) + 0x0888_0000_0000;
const LEVEL = ['', 'PT', 'PD', 'PDPT', 'PML4'];

/**
 * Builds the translation exercise of `seed`: a process with a few pages mapped (data it wrote,
 * a read-only page it read), a kernel page of the direct map, its tables, and `count` user-mode
 * accesses. Each answer is the machine's: the access is made with no kernel to resolve a
 * fault, so it reaches a physical address or raises the CPU's #PF with its error code.
 */
export function translationExercise(seed: number, count = 5): TranslationExercise {
  const r = new Random(seed);
  const m = new Machine({ memory: '64MiB', backend: 'js' });
  try {
    const p = m.createAddressSpace({ stack: false });
    // Two data regions far apart (different PML4/PDPT entries), a few pages written in each.
    const bases = [0x40_0000 + r.int(64) * 0x20_0000, 0x7f00_0000_0000 + r.int(256) * 0x4000_0000];
    const mapped: number[] = [];
    for (const b of bases) {
      p.mmap({ addr: b, length: 64 * 4096, prot: 'rw', fixed: true });
      for (let k = 0; k < 3 + r.int(3); k++) {
        const va = b + r.int(64) * 4096;
        p.write(va, [1]);
        mapped.push(va);
      }
    }
    // A read-only page the process has read (present, RW clear), next to the first region.
    const readOnly = bases[0]! + 64 * 4096 + r.int(8) * 4096;
    p.mmap({ addr: readOnly, length: 4096, prot: 'r', fixed: true });
    p.read(readOnly, 1);
    // A kernel page: a frame in the direct map (PAGE_OFFSET + its physical address); the kernel half's PML4 entries have U/S = 0.
    const frame = m.physical.allocFrame();
    const kernel = PAGE_OFFSET + frame;
    p.mapPage(kernel, frame, { writable: true, user: false, noExecute: true });
    const questions: TranslationQuestion[] = [];
    const picks: (() => [number, TranslationQuestion['kind']])[] = [
      () => [r.pick(mapped), r.next() < 0.4 ? 'write' : 'read'],
      () => [readOnly, r.next() < 0.7 ? 'write' : 'read'],
      () => [r.pick(mapped), 'execute'],
      () => [kernel, r.next() < 0.5 ? 'write' : 'read'],
      () => [r.pick(bases) + r.int(64) * 4096, r.next() < 0.3 ? 'write' : 'read'],
      () => [r.pick(bases) + 0x40_0000 * (1 + r.int(8)), 'read'],
    ];
    const weights = [0.35, 0.5, 0.6, 0.7, 0.88, 1];
    // Each access runs on the CPU with no fault handler: the hardware's answer, nothing mapped on demand.
    p.faultHandler = RAW_FAULTS;
    for (let q = 0; q < count; q++) {
      const roll = r.next();
      const [page, kind] = picks[weights.findIndex((w) => roll < w)]!();
      const va = page + r.int(4096);
      const walk = p.walk(va);
      const steps = walk.map((s) => `level ${s.level} (${LEVEL[s.level]}) index ${s.index}: entry at ${hex(s.entryAddress)} = ${hex(s.entry, 16)}${s.flags.present ? '' : ' (not present)'}`);
      let answer: string;
      let errorCode: number | undefined;
      try {
        answer = `physical address ${hex(p.access(va, kind))}`;
      } catch (e) {
        if (!(e instanceof PageFault)) throw e;
        errorCode = e.errorCode;
        answer = `page fault, error code ${hex(errorCode)} (${describeErrorCode(errorCode)}): ${faultReason(walk, kind)}`;
      }
      questions.push({ va, kind, answer, ...(errorCode !== undefined ? { errorCode } : {}), steps });
    }
    const tables: TableDump[] = [];
    const dump = (frame: number, level: 4 | 3 | 2 | 1, only?: (i: number) => boolean) => {
      const bytes = m.physical.read(frame * 4096, 4096);
      const dv = new DataView(bytes.buffer);
      const entries: TableDump['entries'] = [];
      for (let i = 0; i < 512; i++) {
        const e = dv.getBigUint64(i * 8, true);
        if (e !== 0n && (only?.(i) ?? true)) entries.push({ index: i, entry: e });
      }
      tables.push({ address: frame * 4096, level, entries });
      if (level > 1) for (const { entry } of entries) if ((entry & 1n) === 1n && (entry & 0x80n) === 0n) dump(Number((entry & 0x000f_ffff_ffff_f000n) / 4096n), (level - 1) as 3 | 2 | 1);
    };
    // The PML4's user half, and of its kernel half only the entry that leads to the kernel page.
    const kernelSlot = p.walk(kernel)[0]!.index;
    dump(p.rootFrame, 4, (i) => i < 256 || i === kernelSlot);
    return { seed, cr3: p.root, tables, questions };
  } finally {
    m.dispose();
  }
}

/** Why the walk refuses a user-mode access (the SDM's rules), or where it stops. */
function faultReason(walk: WalkStep[], kind: TranslationQuestion['kind']): string {
  const leaf = walk[walk.length - 1]!;
  if (!leaf.flags.present) return `the ${LEVEL[leaf.level]} entry (level ${leaf.level}) is not present`;
  const supervisor = walk.find((s) => !s.flags.user);
  if (supervisor) return `the ${LEVEL[supervisor.level]} entry (level ${supervisor.level}) has U/S = 0: a supervisor-only page, and the access is in user mode`;
  const readOnly = walk.find((s) => !s.flags.writable);
  if (kind === 'write' && readOnly) return `the ${LEVEL[readOnly.level]} entry (level ${readOnly.level}) has R/W = 0: the page is read-only`;
  const nx = walk.find((s) => s.flags.noExecute);
  if (kind === 'execute' && nx) return `the ${LEVEL[nx.level]} entry (level ${nx.level}) has XD (bit 63) = 1: no instruction may be fetched from the page`;
  return 'the entries refuse the access';
}

/** One reference of a replacement exercise and its answer. */
export interface ReplacementAnswer {
  page: number;
  hit: boolean;
  evicted?: number;
  /** Memory after the reference, in the policy's order as the library keeps frames. */
  frames: number[];
}

/** A replacement exercise (OSTEP's paging-policy.py: -s SEED -p POLICY -C FRAMES -n REFS -m MAXPAGE). */
export interface ReplacementExercise {
  seed: number;
  policy: PolicyName;
  frames: number;
  refs: string;
  answers: ReplacementAnswer[];
  hits: number;
  misses: number;
}

/** Builds the replacement exercise of `seed`. */
export function replacementExercise(seed: number, policy: PolicyName = 'fifo', frames = 3, n = 10, maxPage = 9): ReplacementExercise {
  const refs = randomReferenceString(seed, n, maxPage);
  const r = runReferenceString(refs, { frames, policy, flushAccessed: true, backend: 'js' });
  return { seed, policy, frames, refs, answers: r.steps.map((s) => ({ page: s.page, hit: !s.fault, ...(s.evicted !== undefined ? { evicted: s.evicted } : {}), frames: s.frames })), hits: r.hits, misses: r.faults };
}
