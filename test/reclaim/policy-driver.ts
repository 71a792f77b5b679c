/**
 * The textbook model of a memory with `frames` frames, for testing policies on their own:
 * every reference sets the page's Accessed bit (and Dirty for a write) as the hardware does
 * when nothing caches the translation, and a fault with all frames full asks the policy for
 * one victim. The real VMM path is tested separately; this checks the policies' decisions.
 */
import { ACCESSED, DIRTY, type AccessBits, type ReclaimPolicy } from '../../src/reclaim/policy.js';

export interface Step {
  page: number;
  fault: boolean;
  evicted: number | undefined;
  frames: number[];
}

export interface RunResult {
  faults: number;
  hits: number;
  evicted: number[];
  steps: Step[];
  /** Bulk calls the policy made (reads + clears). */
  bulkCalls: number;
}

/** Runs `pages` (with `writes`) through `policy` with `frames` frames. */
export function runPolicy(policy: ReclaimPolicy, pages: readonly number[], frames: number, writes: readonly boolean[] = []): RunResult {
  const bits = new Map<number, number>();
  /** Frame slots in place, as a textbook table shows them. */
  const slots: number[] = [];
  let bulkCalls = 0;
  const access: AccessBits = {
    read(keys, count, out) {
      bulkCalls++;
      for (let i = 0; i < count; i++) {
        const b = bits.get(keys[i]!);
        if (b === undefined) throw new Error(`policy read the bits of page ${keys[i]}, which is not resident`);
        out[i] = b;
      }
    },
    clearAccessed(keys, count) {
      bulkCalls++;
      for (let i = 0; i < count; i++) {
        const b = bits.get(keys[i]!);
        if (b === undefined) throw new Error(`policy cleared the bits of page ${keys[i]}, which is not resident`);
        bits.set(keys[i]!, b & ~ACCESSED);
      }
    },
  };
  const out = new Float64Array(1);
  const res: RunResult = { faults: 0, hits: 0, evicted: [], steps: [], bulkCalls: 0 };
  pages.forEach((page, i) => {
    const write = writes[i] ?? false;
    const b = bits.get(page);
    let evicted: number | undefined;
    if (b !== undefined) {
      res.hits++;
      bits.set(page, b | ACCESSED | (write ? DIRTY : 0));
      policy.reference?.(page, write);
    } else {
      res.faults++;
      let slot = slots.length;
      if (bits.size >= frames) {
        const n = policy.select(1, access, out, page);
        if (n !== 1) throw new Error(`policy gave ${n} victims`);
        evicted = out[0]!;
        if (!bits.has(evicted)) throw new Error(`policy evicted page ${evicted}, which is not resident`);
        bits.delete(evicted);
        res.evicted.push(evicted);
        slot = slots.indexOf(evicted);
      }
      slots[slot] = page;
      policy.insert(page, write);
      bits.set(page, ACCESSED | (write ? DIRTY : 0));
    }
    if (policy.size !== bits.size) throw new Error(`policy tracks ${policy.size} pages, memory holds ${bits.size}`);
    res.steps.push({ page, fault: b === undefined, evicted, frames: [...slots] });
  });
  res.bulkCalls = bulkCalls;
  return res;
}
