/**
 * A write that copies (a page first read from the zero page, or a page COW-shared since fork)
 * allocates a frame: under global memory pressure reclaim runs first, as for any allocation
 * (Linux's __alloc_pages slow path from wp_page_copy), instead of failing with ENOMEM.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

describe.each(BACKENDS)('copy-on-write faults under memory pressure (%s)', (backend) => {
  it('writes to 3000 pages first read from the zero page on an 8 MiB machine: reclaim swaps, every byte reads back', () => {
    using m = new Machine({ memory: '8MiB', backend, swap: { size: '64MiB' } });
    const s = m.createAddressSpace();
    const n = 3000;
    const a = s.mmap({ length: n * 4096, prot: 'rw' });
    for (let i = 0; i < n; i++) s.read(a + i * 4096, 1);
    for (let i = 0; i < n; i++) s.write(a + i * 4096, [i & 255, 7]);
    expect(m.reclaimStats().counters.pswpout).toBeGreaterThan(0);
    for (let i = 0; i < n; i += 97) expect([...s.read(a + i * 4096, 2)]).toEqual([i & 255, 7]);
    auditMachine(m);
  });

  it('a fork child writes every page it shares with its parent under pressure: both keep their own bytes', () => {
    using m = new Machine({ memory: '8MiB', backend, swap: { size: '64MiB' } });
    const p = m.createAddressSpace();
    const n = 1200;
    const a = p.mmap({ length: n * 4096, prot: 'rw' });
    for (let i = 0; i < n; i++) p.write(a + i * 4096, [1, i & 255]);
    const c = p.fork();
    for (let i = 0; i < n; i++) c.write(a + i * 4096, [2]);
    for (let i = 0; i < n; i += 53) {
      expect([...p.read(a + i * 4096, 2)]).toEqual([1, i & 255]);
      expect([...c.read(a + i * 4096, 2)]).toEqual([2, i & 255]);
    }
    auditMachine(m);
  });
});
