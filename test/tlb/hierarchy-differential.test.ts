/**
 * The native hierarchy against the TypeScript model: for random configurations (any set count,
 * every policy, arrays present or not) and random traces, both backends give the same result —
 * every count — and the same state of every array: entries, flags, LRU/FIFO stamps, PLRU bits,
 * random-number state.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replay } from '../../src/replay/replay.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { propertyOptions } from '../property-options.js';
import { chunks, dumpAll, recordArb, tlbOptionsArb } from './helpers.js';
import type { ReplayResult } from '../../src/replay/replay-result.js';

const strip = (r: ReplayResult) => ({ ...r, timeMs: 0, nsPerAccess: 0, backend: '' });

describe.skipIf(!nativeAvailable())('TLB hierarchy: native = TypeScript model', () => {
  it('same counts and same array states for random configurations and traces', async () => {
    await fc.assert(
      fc.asyncProperty(tlbOptionsArb(), fc.array(recordArb(60), { maxLength: 400 }), fc.integer({ min: 1, max: 80 }), fc.constantFrom('4k', '2m') as fc.Arbitrary<'4k' | '2m'>, async (tlb, recs, chunk, pageSize) => {
        const states: Record<string, Array<number[] | null>> = {};
        const results: Record<string, ReplayResult> = {};
        for (const backend of ['native', 'js'] as const) {
          results[backend] = await replay(chunks(recs, chunk), { backend, tlb, pageSize, seriesEvery: 37, onFinish: (s) => (states[backend] = dumpAll(s)) });
        }
        expect(strip(results.native!)).toEqual(strip(results.js!));
        expect(states.native).toEqual(states.js);
        const t = results.js!.tlb;
        expect(t.hits + t.misses).toBe(t.lookups);
        // Every lookup was made once: the first-level lookups (or the second level's where a side has no L1) add up to the touches.
        expect(t.lookups).toBe(results.js!.accesses + results.js!.pageCrossing);
      }),
      propertyOptions(60),
    );
  });

  it('same results for every preset on a real trace', async () => {
    for (const cpu of ['skylake', 'golden-cove', 'zen3', 'zen4', 'champsim', 'virtuoso']) {
      const [n, j] = await Promise.all((['native', 'js'] as const).map((backend) => replay('traces/ls.lackey.gz', { cpu, backend })));
      expect(strip(n!)).toEqual(strip(j!));
      expect(n!.tlb.hierarchy!.cpu).toBe(cpu);
    }
  });
});
