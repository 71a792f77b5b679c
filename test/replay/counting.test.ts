/**
 * Counting is the same in the machine API and in replay: the lookups and misses of the accesses
 * themselves (what an LRU stack model of the access stream predicts), and the re-execution of an
 * access after a resolved page fault (the hardware restarts the faulting instruction: one more
 * lookup, a miss, and a walk) counted apart as a retry. A refused access is counted once.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { Machine, replay } from '../../src/index.js';
import { packRecord } from '../../src/trace/trace-record.js';

const PAGE = 4096;

describe.each(BACKENDS)('counting (%s)', (backend) => {
  it('a write fault on a fresh page: one lookup, one miss, one retry, two walks — in the machine API and in replay alike', async () => {
    const m = new Machine({ backend, memory: '64MiB' });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PAGE, prot: 'rw' });
    m.resetStats();
    s.write(a, [1]);
    expect(m.stats().tlb).toMatchObject({ hits: 0, misses: 1, retries: 1, walks: 2 });
    s.read(a, 1);
    expect(m.stats().tlb).toMatchObject({ hits: 1, misses: 1, retries: 1 });

    // The same stream through accessBatch and through replay.
    const las = [a + PAGE, a + PAGE, a + 2 * PAGE, a + PAGE, a + 3 * PAGE];
    const kinds = [1, 0, 0, 1, 0];
    m.resetStats();
    s.accessBatch(new Float64Array(las), new Uint8Array(kinds));
    const api = m.stats().tlb;
    const words = new Uint32Array(las.length * 2);
    las.forEach((la, i) => packRecord(words, i, la, kinds[i]!, 1));
    const r = await replay([{ words, count: las.length }], {
      backend,
      mode: 'regions',
      setup: (p) => void p.mmap({ addr: a, length: 4 * PAGE, prot: 'rw', fixed: true }),
    });
    expect([r.tlb.hits, r.tlb.misses, r.tlb.retries, r.walks]).toEqual([api.hits, api.misses, api.retries, api.walks]);
    expect([api.hits, api.misses, api.retries]).toEqual([2, 3, 3]);
  });

  it('replaying traces/ls.lackey.gz counts each refused access once: the result and the space agree', async () => {
    let spaceSegv = -1;
    const r = await replay('traces/ls.lackey.gz', { backend, onFinish: (s) => void (spaceSegv = s.stats().faults.segv) });
    expect(r.faults.segv).toBe(spaceSegv);
    expect(r.segfaults).toHaveLength(Math.min(10, r.faults.segv)); // the first ten are listed
  });
});
