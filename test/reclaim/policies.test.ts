/**
 * The policies' decisions in the textbook model (every reference sets A): the classic
 * results exactly, hand-derived cases that pin each convention (reference bit on load, where
 * the hand starts, tie-breaks), and properties over random reference strings.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createPolicy, POLICY_NAMES, policyKind } from '../../src/reclaim/registry.js';
import type { PolicyName } from '../../src/reclaim/policy.js';
import { stackDistances } from '../../src/reclaim/stack-distance.js';
import { runPolicy } from './policy-driver.js';
import { FIFO_FIRST_STEPS, SILBERSCHATZ } from './textbook.js';
import { propertyOptions } from '../property-options.js';

const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

function make(name: PolicyName, refs: readonly number[], frames: number, extra: object = {}) {
  return createPolicy(name, { ...(name === 'opt' ? { future: refs } : {}), ...(name === '2q' || name === 'arc' ? { capacity: frames } : {}), ...extra });
}

function run(name: PolicyName, refs: readonly number[], frames: number, writes: boolean[] = [], extra: object = {}) {
  return runPolicy(make(name, refs, frames, extra), refs, frames, writes);
}

describe('textbook results', () => {
  it('the classic string with 3 frames: FIFO 15, LRU 12, OPT 9 faults', () => {
    expect(run('fifo', SILBERSCHATZ, 3).faults).toBe(15);
    expect(run('lru', SILBERSCHATZ, 3).faults).toBe(12);
    expect(run('opt', SILBERSCHATZ, 3).faults).toBe(9);
  });

  it("FIFO shows Belady's anomaly: 9 faults with 3 frames, 10 with 4", () => {
    expect(run('fifo', BELADY, 3).faults).toBe(9);
    expect(run('fifo', BELADY, 4).faults).toBe(10);
  });

  it('the FIFO table: what each fault evicts and the frames after it', () => {
    const r = run('fifo', SILBERSCHATZ, 3);
    expect(r.steps.slice(0, 6).map((s) => [s.page, s.fault, s.evicted, s.frames])).toEqual(FIFO_FIRST_STEPS);
  });

  it('OPT evicts the page used farthest ahead: 7 at the first fault (used at 17), then 1 (used at 13)', () => {
    const r = run('opt', SILBERSCHATZ, 3);
    expect(r.evicted.slice(0, 2)).toEqual([7, 1]);
  });
});

describe('conventions', () => {
  it('clock: the reference bit is set on load and the hand starts at the first page loaded', () => {
    // All three have A set, so the hand clears them all and comes back to 1; 4 takes 1's place
    // and the hand moves to 2, whose bit it cleared: 2 goes next.
    expect(run('clock', [1, 2, 3, 1, 4, 1], 3).evicted).toEqual([1, 2]);
  });

  it('clock gives a second chance to a page referenced since the hand passed it', () => {
    // After evicting 1 (all bits cleared), 2 is referenced again, so 3 goes instead of 2.
    expect(run('clock', [1, 2, 3, 4, 2, 5], 3).evicted).toEqual([1, 3]);
  });

  it('nru spares a dirty page that the plain clock evicts', () => {
    const w = [false, true, false, false, false];
    expect(run('nru', [1, 2, 3, 4, 5], 3, w).evicted).toEqual([1, 3]);
    expect(run('clock', [1, 2, 3, 4, 5], 3, w).evicted).toEqual([1, 2]);
  });

  it('aging: counters start at 0, ticks at each victim search, ties go to the earliest loaded', () => {
    expect(run('aging', [1, 2, 3, 4, 2, 3, 5], 3).evicted).toEqual([1, 4]);
  });

  it('wsclock prefers a clean page to a dirty one', () => {
    const w = [true, false, false, false, false];
    expect(run('wsclock', [1, 2, 3, 4, 5], 3, w, { tau: 1 }).evicted).toEqual([2, 3]);
  });

  it('lfu evicts the least frequently used, the least recent among ties', () => {
    expect(run('lfu', [1, 1, 2, 3, 4], 3).evicted).toEqual([2]);
  });

  it('arc keeps a page seen twice where LRU evicts it', () => {
    // 1 is seen twice (T2), 2 once (T1): at 3's fault ARC evicts 2 (|T1| > p = 0), LRU evicts 1.
    expect(run('arc', [1, 1, 2, 3, 1], 2).evicted).toEqual([2]);
    expect(run('lru', [1, 1, 2, 3, 1], 2).evicted).toEqual([1, 2]);
    // A fault on 2, remembered in B1, grows p to 1; then T1 (3) is not above p, so T2's 1 goes.
    expect(run('arc', [1, 1, 2, 3, 2], 2).evicted).toEqual([2, 1]);
  });

  it('2q: first references go through A1in; a page remembered in A1out comes back to Am', () => {
    const r = run('2q', [1, 2, 3, 4, 5, 1, 6, 2, 7, 1, 2], 4);
    expect(r.evicted).toEqual([1, 2, 3, 4, 5]);
    expect(r.hits).toBe(2);
  });

  it('linux: faulted pages start inactive; referenced ones are activated, the balance deactivates', () => {
    expect(run('linux', [1, 2, 3, 4, 1], 3).evicted).toEqual([1, 2]);
  });

  it('mglru: new pages in the youngest generation; aging promotes young pages; eviction from the oldest', () => {
    expect(run('mglru', [1, 2, 3, 4, 1], 3).evicted).toEqual([1, 2]);
  });

  it('random is deterministic per seed', () => {
    const refs = Array.from({ length: 200 }, (_, i) => (i * 7919) % 23);
    const a = run('random', refs, 5, [], { seed: 3 });
    expect(run('random', refs, 5, [], { seed: 3 }).evicted).toEqual(a.evicted);
    expect(run('random', refs, 5, [], { seed: 4 }).evicted).not.toEqual(a.evicted);
  });

  it('the A/D policies read and clear bits in bulk, not per page', () => {
    const refs = Array.from({ length: 2000 }, (_, i) => (i * 7919) % 97);
    for (const name of ['clock', 'nru', 'wsclock', 'linux', 'mglru'] as const) {
      const r = run(name, refs, 64);
      expect(r.bulkCalls).toBeLessThan(r.faults * 4);
    }
  });
});

describe('properties', () => {
  const refsArb = fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 120 });
  const writesArb = fc.array(fc.boolean(), { maxLength: 120 });

  it('OPT never faults more than any policy, and every policy keeps exactly the resident set', () => {
    fc.assert(
      fc.property(refsArb, writesArb, fc.integer({ min: 1, max: 10 }), (refs, writes, frames) => {
        const opt = run('opt', refs, frames).faults;
        for (const name of POLICY_NAMES) expect(run(name, refs, frames, writes).faults).toBeGreaterThanOrEqual(opt);
      }),
      propertyOptions(150),
    );
  });

  it('LRU faults equal the stack-distance count at every size', () => {
    fc.assert(
      fc.property(refsArb, (refs) => {
        const sd = stackDistances(refs);
        for (let frames = 1; frames <= 14; frames++) expect(run('lru', refs, frames).faults).toBe(sd.faults(frames));
      }),
      propertyOptions(150),
    );
  });

  it('with at least as many frames as pages, every policy faults once per page', () => {
    fc.assert(
      fc.property(refsArb, (refs) => {
        const distinct = new Set(refs).size;
        for (const name of POLICY_NAMES) expect(run(name, refs, distinct).faults).toBe(distinct);
      }),
      propertyOptions(100),
    );
  });

  it('FIFO, clock and random ignore writes; LRU and OPT ignore them too', () => {
    fc.assert(
      fc.property(refsArb, writesArb, fc.integer({ min: 1, max: 6 }), (refs, writes, frames) => {
        for (const name of ['fifo', 'clock', 'lru', 'opt', 'random'] as const) {
          expect(run(name, refs, frames, writes).evicted).toEqual(run(name, refs, frames).evicted);
        }
      }),
      propertyOptions(100),
    );
  });

  it('policies say what they need', () => {
    expect(POLICY_NAMES.filter((n) => policyKind(n) === 'every-reference').sort()).toEqual(['2q', 'arc', 'lfu', 'lru', 'opt']);
  });
});
