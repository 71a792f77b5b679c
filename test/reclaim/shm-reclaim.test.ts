/**
 * Shared memory pages (named objects and MAP_SHARED|MAP_ANONYMOUS) are reclaimed as Linux
 * reclaims shmem: unmapped from every page table that maps them (the object's reverse map),
 * written to swap, and read back once into one frame that every mapping maps again.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import type { AddressSpace } from '../../src/vmm/address-space.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { failNthWrite } from '../support/failing-swap.js';

const PG = 4096;

/** Writes anonymous pages in a fresh process until `done()` holds (or `max` pages): memory pressure. */
function pressure(m: Machine, done: () => boolean, max = 2048): AddressSpace {
  const hog = m.createAddressSpace();
  const a = hog.mmap({ length: max * PG, prot: 'rw' });
  for (let i = 0; i < max && !done(); i++) hog.write(a + i * PG, [1]);
  return hog;
}

describe.each(BACKENDS)('shared memory reclaim (%s)', (backend) => {
  it('machine-wide reclaim evicts object pages from every mapping; they come back shared, bytes unchanged', () => {
    const m = new Machine({ memory: '4MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const shm = m.createSharedMemory('buf', 8 * PG);
    const a = m.createAddressSpace();
    const b = m.createAddressSpace();
    const va = a.mmap({ length: 8 * PG, prot: 'rw', shared: true, object: shm });
    const vb = b.mmap({ length: 8 * PG, prot: 'r', shared: true, object: shm });
    for (let i = 0; i < 8; i++) a.write(va + i * PG + 7, [40 + i]);
    for (let i = 0; i < 8; i++) expect(b.read(vb + i * PG + 7, 1)[0]).toBe(40 + i);
    expect(shm.residentPages).toBe(8);
    const hog = pressure(m, () => shm.swappedPages === 8);
    expect(shm.swappedPages).toBe(8);
    expect(shm.residentPages).toBe(0);
    expect(m.reclaimStats().shmem).toEqual({ pages: 0, swapped: 8 });
    // Unmapped in both page tables: nothing of the object is resident in either.
    expect(a.stats().sharedPages).toBe(0);
    expect(b.stats().sharedPages).toBe(0);
    expect(a.translate(va)).toBeUndefined();
    expect(b.translate(vb)).toBeUndefined();
    auditMachine(m);
    hog.destroy();
    const swapUsed = m.reclaimStats().swap!.used;
    // b reads first: one major fault per page; a then finds the pages in the object (minor faults).
    const majorB = b.stats().faults.major;
    const majorA = a.stats().faults.major;
    for (let i = 0; i < 8; i++) expect(b.read(vb + i * PG + 7, 1)[0]).toBe(40 + i);
    expect(b.stats().faults.major - majorB).toBe(8);
    for (let i = 0; i < 8; i++) expect(a.read(va + i * PG + 7, 1)[0]).toBe(40 + i);
    expect(a.stats().faults.major - majorA).toBe(0);
    for (let i = 0; i < 8; i++) expect(a.translate(va + i * PG)!.physical).toBe(b.translate(vb + i * PG)!.physical);
    // The swap copies are freed at swap-in (shmem keeps no clean copy).
    expect(m.reclaimStats().swap!.used).toBe(swapUsed - 8);
    expect(shm.swappedPages).toBe(0);
    // Still shared: a write in a shows in b.
    a.write(va + 3 * PG, [99]);
    expect(b.read(vb + 3 * PG, 1)[0]).toBe(99);
    auditMachine(m);
    m.dispose();
  });

  it('MAP_SHARED|MAP_ANONYMOUS after fork: evicted from parent and child, back as one page both see', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0 } });
    const parent = m.createAddressSpace();
    const va = parent.mmap({ length: 4 * PG, prot: 'rw', shared: true });
    for (let i = 0; i < 4; i++) parent.write(va + i * PG, [10 + i]);
    const child = parent.fork();
    // fork copies no entries of a shared mapping: the child maps the pages when it faults them in.
    expect(child.stats().residentPages).toBe(0);
    for (let i = 0; i < 4; i++) expect(child.read(va + i * PG, 1)[0]).toBe(10 + i);
    // Mapped by both: MADV_PAGEOUT leaves pages other processes map (as Linux does).
    parent.madvise(va, 4 * PG, 'MADV_PAGEOUT');
    expect(m.reclaimStats().swap!.used).toBe(0);
    child.munmap(va, 4 * PG);
    const used0 = m.stats().frames.used;
    parent.madvise(va, 4 * PG, 'MADV_PAGEOUT');
    expect(m.reclaimStats().swap!.used).toBe(4);
    expect(m.stats().frames.used).toBe(used0 - 4);
    expect(m.reclaimStats().counters.pswpout).toBe(4);
    auditMachine(m);
    for (let i = 0; i < 4; i++) expect(parent.read(va + i * PG, 1)[0]).toBe(10 + i);
    expect(parent.stats().faults.major).toBe(4);
    expect(m.reclaimStats().counters).toMatchObject({ pswpin: 4, pgmajfault: 4 });
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('a fork child sharing the object: both page tables let go under pressure, a write after swap-in is seen by both', () => {
    const m = new Machine({ memory: '4MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const parent = m.createAddressSpace();
    const va = parent.mmap({ length: 4 * PG, prot: 'rw', shared: true });
    for (let i = 0; i < 4; i++) parent.write(va + i * PG, [20 + i]);
    const child = parent.fork();
    const obj = m.vmm.shmObject(parent.regions().find((r) => r.start === va)!.backing.type === 'object' ? (parent.regions().find((r) => r.start === va)!.backing as { objectId: number }).objectId : -1)!;
    const hog = pressure(m, () => obj.swappedPages === 4);
    expect(obj.swappedPages).toBe(4);
    auditMachine(m);
    hog.destroy();
    child.write(va + PG, [77]);
    expect(parent.read(va + PG, 1)[0]).toBe(77);
    expect(parent.read(va, 1)[0]).toBe(20);
    expect(child.read(va + 2 * PG, 1)[0]).toBe(22);
    auditMachine(m);
    m.dispose();
  });

  it('pages a mapping process has mlocked are never evicted', () => {
    const m = new Machine({ memory: '4MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const shm = m.createSharedMemory('locked', 4 * PG);
    const a = m.createAddressSpace();
    const b = m.createAddressSpace();
    const va = a.mmap({ length: 4 * PG, prot: 'rw', shared: true, object: shm });
    const vb = b.mmap({ length: 4 * PG, prot: 'rw', shared: true, object: shm });
    for (let i = 0; i < 4; i++) a.write(va + i * PG, [i + 1]);
    b.mlock(vb + 2 * PG, 2 * PG); // pages 2 and 3 locked through b's mapping
    const hog = pressure(m, () => shm.swappedPages === 2, 2048);
    expect(shm.swappedPages).toBe(2);
    expect(shm.residentPages).toBe(2);
    expect(b.translate(vb + 2 * PG)).toBeDefined();
    expect(b.translate(vb + 3 * PG)).toBeDefined();
    expect(b.translate(vb)).toBeUndefined();
    auditMachine(m);
    hog.destroy();
    for (let i = 0; i < 4; i++) expect(b.read(vb + i * PG, 1)[0]).toBe(i + 1);
    m.dispose();
  });

  it('MADV_COLD on object pages clears Accessed in the only mapping; MADV_PAGEOUT of a partly mapped range evicts what it maps', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0 } });
    const shm = m.createSharedMemory('cold', 4 * PG);
    const a = m.createAddressSpace();
    const va = a.mmap({ length: 4 * PG, prot: 'rw', shared: true, object: shm });
    a.write(va, [1]);
    a.write(va + PG, [2]);
    a.madvise(va, 4 * PG, 'MADV_COLD');
    expect(a.walk(va).at(-1)!.flags.accessed).toBe(false);
    expect(shm.residentPages).toBe(2);
    a.madvise(va + PG, 3 * PG, 'MADV_PAGEOUT'); // page 1 is present, 2 and 3 never touched
    expect(shm.swappedPages).toBe(1);
    expect(shm.residentPages).toBe(1);
    expect(a.read(va + PG, 1)[0]).toBe(2);
    auditMachine(m);
    m.dispose();
  });

  it('shared memory page-ins read ahead as anonymous ones do (swapin_nr_pages): read-ahead pages come back as minor faults', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 3 } });
    const shm = m.createSharedMemory('ra', 16 * PG);
    const a = m.createAddressSpace();
    const va = a.mmap({ length: 16 * PG, prot: 'rw', shared: true, object: shm });
    for (let i = 0; i < 16; i++) a.write(va + i * PG, [i + 1]);
    a.madvise(va, 16 * PG, 'MADV_PAGEOUT');
    expect(shm.swappedPages).toBe(16);
    const major0 = a.stats().faults.major;
    for (let i = 0; i < 16; i++) expect(a.read(va + i * PG, 1)[0]).toBe(i + 1);
    const c = m.reclaimStats().counters;
    const major = a.stats().faults.major - major0;
    // Sequential faults grow the window: some pages were read ahead and found in the swap cache.
    expect(c.swap_ra_hit).toBeGreaterThan(0);
    expect(major + c.swap_ra_hit).toBe(16);
    expect(c.swap_ra).toBeGreaterThanOrEqual(c.swap_ra_hit);
    expect(shm.swappedPages).toBe(0);
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('the OOM killer never picks the shared memory domain, even when every process scores below zero', () => {
    const m = new Machine({ memory: '4MiB', backend, swap: { size: 8 * PG, pageCluster: 0 } });
    const shm = m.createSharedMemory('kept', 2 * PG);
    const p = m.createAddressSpace({ oomScoreAdj: -999 });
    const s = p.mmap({ length: 2 * PG, prot: 'rw', shared: true, object: shm });
    p.write(s, [1]);
    const a = p.mmap({ length: 1024 * PG, prot: 'rw' });
    expect(() => {
      for (let i = 0; i < 1024; i++) p.write(a + i * PG, [1]);
    }).toThrow(/ENOMEM.*OOM killer/);
    expect(p.destroyed).toBe(true);
    expect(m.oomKills()).toHaveLength(1);
    expect(m.oomKills()[0]!.space).toBe(p);
    expect(m.oomKills()[0]!.points).toBeLessThan(0);
    auditMachine(m);
    m.dispose();
  });

  it('a swap write that fails (a swap file I/O error): the pages before it are evicted, it and the rest stay tracked (the one rule of the eviction pipeline); a failed read changes nothing; nothing leaks', () => {
    // zswap makes every eviction a per-page write (the in-memory device takes runs in one call).
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0, zswap: true } });
    const shm = m.createSharedMemory('io', 4 * PG);
    const a = m.createAddressSpace();
    const va = a.mmap({ length: 4 * PG, prot: 'rw', shared: true, object: shm });
    for (let i = 0; i < 4; i++) a.write(va + i * PG, [i + 7]);
    const swap = m.vmm.swap!;
    const restore = failNthWrite(swap, 3);
    expect(() => a.madvise(va, 4 * PG, 'MADV_PAGEOUT')).toThrow(/EIO/);
    expect(m.reclaimStats().swap!.used).toBe(2);
    expect([shm.residentPages, shm.swappedPages]).toEqual([2, 2]);
    expect(m.reclaimStats().counters.zswpout).toBe(2);
    expect(m.reclaimStats().counters.pgsteal_direct).toBe(2);
    auditMachine(m);
    restore();
    a.madvise(va, 4 * PG, 'MADV_PAGEOUT'); // the two put back are still the policy's: they go now
    expect(shm.swappedPages).toBe(4);
    const read = swap.read.bind(swap);
    swap.read = () => {
      throw new Error('EIO (simulated)');
    };
    const free2 = m.stats().frames.free;
    expect(() => a.read(va, 1)).toThrow(/EIO/);
    expect(m.stats().frames.free).toBe(free2);
    expect(shm.swappedPages).toBe(4);
    swap.read = read;
    for (let i = 0; i < 4; i++) expect(a.read(va + i * PG, 1)[0]).toBe(i + 7);
    auditMachine(m);
    m.dispose();
  });

  it('destroying everything leaves no frame and no slot: objects released while swapped free their slots', () => {
    const m = new Machine({ memory: '4MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const framesAtStart = m.stats().frames.used;
    const shm = m.createSharedMemory('gone', 6 * PG);
    const a = m.createAddressSpace();
    const va = a.mmap({ length: 6 * PG, prot: 'rw', shared: true, object: shm });
    for (let i = 0; i < 6; i++) a.write(va + i * PG, [i]);
    const anon = a.mmap({ length: 2 * PG, prot: 'rw', shared: true });
    a.write(anon, [5]);
    a.madvise(anon, 2 * PG, 'MADV_PAGEOUT');
    a.madvise(va, 3 * PG, 'MADV_PAGEOUT');
    expect(m.reclaimStats().swap!.used).toBe(4);
    auditMachine(m);
    a.destroy(); // the anonymous object goes with its last mapping; the named one stays (linked)
    expect(m.reclaimStats().swap!.used).toBe(3);
    expect(shm.swappedPages).toBe(3);
    shm.unlink();
    expect(m.reclaimStats().swap!.used).toBe(0);
    expect(m.stats().frames.used).toBe(framesAtStart);
    auditMachine(m);
    m.dispose();
  });
});
