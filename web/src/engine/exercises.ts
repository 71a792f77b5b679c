/**
 * Homework in the style of OSTEP's paging-multilevel-translate.py and paging-policy.py: a seed
 * makes the problem, the same seed makes it again anywhere, and the answers (computed by the
 * library on a real machine) are shown on request.
 */
import { Machine, runReferenceString, describeErrorCode, type PolicyName } from './lib.js';
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
  va: number;
  kind: 'read' | 'write';
  /** The answer: the physical address, or the fault. */
  answer: string;
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

/** Builds the translation exercise of `seed`: a process with a few pages mapped, its tables, and `count` addresses. */
export function translationExercise(seed: number, count = 5): TranslationExercise {
  const r = new Random(seed);
  const m = new Machine({ memory: '64MiB', backend: 'js' });
  try {
    const p = m.createAddressSpace({ stack: false });
    // Two regions far apart (different PML4/PDPT entries), a few pages written in each.
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
    const questions: TranslationQuestion[] = [];
    for (let q = 0; q < count; q++) {
      const roll = r.next();
      const page = roll < 0.6 ? r.pick(mapped) : roll < 0.85 ? r.pick(bases) + r.int(64) * 4096 : r.pick(bases) + 0x40_0000 * (1 + r.int(8));
      const va = page + r.int(4096);
      const kind = r.next() < 0.3 ? 'write' : 'read';
      const walk = p.walk(va);
      const steps = walk.map((s) => `level ${s.level} (${['', 'PT', 'PD', 'PDPT', 'PML4'][s.level]}) index ${s.index}: entry at ${hex(s.entryAddress)} = ${hex(s.entry, 16)}${s.flags.present ? '' : ' (not present)'}`);
      const leaf = walk[walk.length - 1]!;
      let answer: string;
      if (!leaf.flags.present) {
        const code = (kind === 'write' ? 2 : 0) | 4;
        answer = `page fault: not present at level ${leaf.level}; error code ${hex(code)} (${describeErrorCode(code)})`;
      } else {
        const pa = p.translate(va)!.physical;
        answer = `physical address ${hex(pa)}`;
      }
      questions.push({ va, kind, answer, steps });
    }
    const tables: TableDump[] = [];
    const dump = (frame: number, level: 4 | 3 | 2 | 1) => {
      const bytes = m.physical.read(frame * 4096, 4096);
      const dv = new DataView(bytes.buffer);
      const entries: TableDump['entries'] = [];
      for (let i = 0; i < (level === 4 ? 256 : 512); i++) {
        const e = dv.getBigUint64(i * 8, true);
        if (e !== 0n) entries.push({ index: i, entry: e });
      }
      tables.push({ address: frame * 4096, level, entries });
      if (level > 1) for (const { entry } of entries) if ((entry & 1n) === 1n && (entry & 0x80n) === 0n) dump(Number((entry & 0x000f_ffff_ffff_f000n) / 4096n), (level - 1) as 3 | 2 | 1);
    };
    dump(p.rootFrame, 4);
    return { seed, cr3: p.root, tables, questions };
  } finally {
    m.dispose();
  }
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
