/** Replay with 2 MiB pages: read faults map the huge zero page, as Linux does, so a sparse trace of loads costs no frames per block. */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { replay } from '../../src/index.js';
import { packRecord } from '../../src/trace/trace-record.js';

describe.each(BACKENDS)("replay with pageSize '2m' (%s)", (backend) => {
  it('2048 loads in 2048 blocks use the huge zero page, not 4 GiB of frames; a store then gets its own 2 MiB page', async () => {
    const n = 2048;
    const words = new Uint32Array((n + 1) * 2);
    for (let i = 0; i < n; i++) packRecord(words, i, 0x1_0000_0000 + i * 2 ** 21 + 64, 0, 8);
    packRecord(words, n, 0x1_0000_0000 + 64, 1, 8); // one store into the first block
    const r = await replay([{ words, count: n + 1 }], { backend, pageSize: '2m', memory: '8GiB' });
    expect(r.faults.minor).toBe(n + 1);
    expect(r.pagesTouched).toBe(n);
    // One huge zero page (512 frames), one fresh 2 MiB page for the store, and the page tables (a PD per 1 GiB, a PDPT).
    expect(r.framesUsed).toBeLessThan(2 * 512 + 16);
    expect(r.framesUsed).toBeGreaterThanOrEqual(2 * 512);
  });
});
