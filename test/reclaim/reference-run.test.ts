/**
 * Reference strings through the real VMM (a process with that resident limit, swap, the
 * fault path and the page tables): the textbook results exactly, on both backends, and the
 * same decisions as the policies make in the textbook model.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runReferenceString } from '../../src/replay/reference-run.js';
import { POLICY_NAMES, createPolicy } from '../../src/reclaim/registry.js';
import type { PolicyName } from '../../src/reclaim/policy.js';
import { VmmError } from '../../src/errors.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { runPolicy } from './policy-driver.js';
import { FIFO_FIRST_STEPS, SILBERSCHATZ as TEXTBOOK } from './textbook.js';

const SILBERSCHATZ = TEXTBOOK.join(',');
const BELADY = '1,2,3,4,1,2,5,1,2,3,4,5';

describe.each(BACKENDS)('reference strings through the VMM (%s)', (backend) => {
  it('FIFO 15, LRU 12, OPT 9 faults with 3 frames', () => {
    expect(runReferenceString(SILBERSCHATZ, { frames: 3, policy: 'fifo', backend }).faults).toBe(15);
    expect(runReferenceString(SILBERSCHATZ, { frames: 3, policy: 'lru', backend }).faults).toBe(12);
    expect(runReferenceString(SILBERSCHATZ, { frames: 3, policy: 'opt', backend }).faults).toBe(9);
  });

  it("Belady's anomaly: FIFO faults 9 times with 3 frames and 10 with 4", () => {
    expect(runReferenceString(BELADY, { frames: 3, policy: 'fifo', backend }).faults).toBe(9);
    expect(runReferenceString(BELADY, { frames: 4, policy: 'fifo', backend }).faults).toBe(10);
  });

  it('the step table: page, hit or fault, the page evicted, the frames after', () => {
    const r = runReferenceString(SILBERSCHATZ, { frames: 3, policy: 'fifo', backend });
    expect(r.steps.slice(0, 6).map((s) => [s.page, s.fault, s.evicted, s.frames])).toEqual(FIFO_FIRST_STEPS);
    expect(r.hits + r.faults).toBe(20);
  });

  it('writes go to swap and come back as major faults', () => {
    const r = runReferenceString('1w,2w,3w,1,2,3', { frames: 2, policy: 'fifo', backend });
    expect(r.faults).toBe(6);
    expect(r.majorFaults).toBe(3);
    expect(r.minorFaults).toBe(3);
  });

  it('clearing A without a TLB flush (x86 Linux) makes a cached page look idle; flushing gives the textbook clock', () => {
    const refs = '1,2,3,4,2,5';
    expect(runReferenceString(refs, { frames: 3, policy: 'clock', backend }).steps.map((s) => s.evicted).filter((e) => e !== undefined)).toEqual([1, 3]);
    expect(runReferenceString(refs, { frames: 3, policy: 'clock', backend, flushAccessed: false }).steps.map((s) => s.evicted).filter((e) => e !== undefined)).toEqual([1, 2]);
  });

  it('every policy decides through the VMM as in the textbook model', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (refs, frames) => {
        const pages = refs.map(([p]) => p);
        const writes = refs.map(([, w]) => w);
        const text = refs.map(([p, w]) => `${p}${w ? 'w' : ''}`).join(',');
        for (const name of POLICY_NAMES) {
          const vmm = runReferenceString(text, { frames, policy: name, backend });
          const base = 0x10_0000_0000 / 4096;
          const model = runPolicy(createPolicy(name, name === 'opt' ? { future: pages.map((p) => p + base) } : name === '2q' || name === 'arc' ? { capacity: frames } : {}), pages.map((p) => p + base), frames, writes);
          expect(vmm.steps.map((s) => s.evicted)).toEqual(model.steps.map((s) => (s.evicted === undefined ? undefined : s.evicted - base)));
        }
      }),
      propertyOptions(15),
    );
  });
});

describe('runReferenceString errors', () => {
  it('refuses bad frames, policies and strings', () => {
    expect(() => runReferenceString('1,2', { frames: 0 })).toThrow(/frames must be a positive whole number/);
    expect(() => runReferenceString('1,2', { frames: -2 })).toThrow(VmmError);
    expect(() => runReferenceString('1,2', { frames: 2, policy: 'best' as PolicyName })).toThrow(/unknown policy string "best"/);
    expect(() => runReferenceString('1,x', { frames: 2 })).toThrow(/reference #2 "x"/);
    expect(() => runReferenceString('1,2', { frames: 2, colour: 1 } as never)).toThrow(/unknown option "colour"/);
  });
});
