/**
 * A MAP_PRIVATE file mapping's written pages are anonymous pages (Linux: do_cow_fault /
 * wp_page_copy give the mapping an anon folio in its anon_vma): charged to the process's
 * resident limit, tracked by its replacement policy, written to swap by reclaim and read back
 * from there (not from the file: the copy differs from it), counted in AnonPages; truncation
 * zaps them with the pages past the new end (unmap_mapping_range with even_cows), swap entries
 * included; munmap frees their slots. The pages never written stay the file's (the page cache).
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { BusError } from '../../src/errors.js';

const PG = 4096;

describe.each(BACKENDS)('MAP_PRIVATE copies are anonymous memory (%s)', (backend) => {
  it('tracked, charged, swapped out and back by reclaim; the file keeps its bytes', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '4MiB', pageCluster: 0 } });
    const f = m.fs.create('/lib.so', { data: new Uint8Array(8 * PG).fill(0x11) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 8 * PG, prot: 'rw', file: f });
    for (let i = 0; i < 4; i++) s.write(a + i * PG, [i + 1]);
    for (let i = 4; i < 8; i++) expect(s.read(a + i * PG, 1)[0]).toBe(0x11);
    const rs = s.vm.resident!;
    expect(rs.tracked.size).toBe(4); // the copies, not the cache pages read
    expect(m.meminfo().AnonPages).toBe(16);
    s.madvise(a, 8 * PG, 'MADV_PAGEOUT');
    expect(s.reclaimStats().VmSwap).toBe(4);
    expect(m.reclaimStats().swap!.used).toBe(4);
    auditMachine(m);
    // Back from swap (major faults), not from the file.
    const major = s.stats().faults.major;
    for (let i = 0; i < 4; i++) expect([...s.read(a + i * PG, 2)]).toEqual([i + 1, 0x11]);
    expect(s.stats().faults.major - major).toBe(4);
    expect([...f.read(0, 2)]).toEqual([0x11, 0x11]);
    // Written again: swapped again, then munmap frees the slots.
    s.write(a, [9]);
    s.madvise(a, 8 * PG, 'MADV_PAGEOUT');
    expect(m.reclaimStats().swap!.used).toBeGreaterThan(0);
    s.munmap(a, 8 * PG);
    expect(m.reclaimStats().swap!.used).toBe(0);
    expect(rs.tracked.size).toBe(0);
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('truncation zaps the copies past the new end, swapped ones included (even_cows): SIGBUS there', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '4MiB', pageCluster: 0 } });
    const f = m.fs.create('/data', { data: new Uint8Array(4 * PG).fill(2) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PG, prot: 'rw', file: f });
    for (let i = 0; i < 4; i++) s.write(a + i * PG, [i + 5]);
    s.madvise(a + 2 * PG, 2 * PG, 'MADV_PAGEOUT'); // pages 2 and 3 in swap
    expect(m.reclaimStats().swap!.used).toBe(2);
    f.truncate(PG + 100); // pages 2 and 3 are past the end; page 1 keeps its copy
    expect(m.reclaimStats().swap!.used).toBe(0);
    expect(s.read(a + PG, 1)[0]).toBe(6);
    expect(() => s.read(a + 2 * PG, 1)).toThrow(BusError);
    expect(() => s.read(a + 3 * PG, 1)).toThrow(BusError);
    expect(s.vm.resident!.tracked.size).toBe(2);
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('a resident limit counts the copies: the oldest copy goes to swap to make room', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '4MiB', pageCluster: 0 } });
    const f = m.fs.create('/data', { data: new Uint8Array(16 * PG).fill(4) });
    const s = m.createAddressSpace({ residentLimit: 4, policy: 'fifo' });
    const a = s.mmap({ length: 16 * PG, prot: 'rw', file: f });
    for (let i = 0; i < 6; i++) s.write(a + i * PG, [i]);
    expect(s.vm.resident!.charged).toBe(4);
    expect(s.reclaimStats().VmSwap).toBe(2);
    for (let i = 0; i < 6; i++) expect(s.read(a + i * PG, 1)[0]).toBe(i);
    auditMachine(m);
    f.close();
    m.dispose();
  });
});
