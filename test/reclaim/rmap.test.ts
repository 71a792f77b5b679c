/** Pages shared since fork are evicted from every page table that maps them and come back shared. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { failNthWrite } from '../support/failing-swap.js';

const PG = 4096;

describe.each(BACKENDS)('reverse map (%s)', (backend) => {
  it('evicting a COW-shared page unmaps it from parent and child; it comes back as one shared frame', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0 } });
    const parent = m.createAddressSpace();
    const b = parent.mmap({ length: 4 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) parent.write(b + i * PG, [10 + i]);
    const child = parent.fork();
    const free0 = m.stats().frames.free;
    parent.madvise(b, 4 * PG, 'MADV_PAGEOUT');
    // Both page tables hold the swap entries now, and the four frames are free.
    expect(parent.reclaimStats()).toMatchObject({ VmSwap: 4 });
    expect(child.reclaimStats()).toMatchObject({ VmSwap: 4 });
    expect(m.stats().frames.free).toBe(free0 + 4);
    expect(m.reclaimStats().swap!.used).toBe(4); // one slot per page, held by both entries
    auditMachine(m);
    // The child reads first (a major fault, into the swap cache); the parent then maps the same frame (a minor fault).
    for (let i = 0; i < 4; i++) expect(child.read(b + i * PG, 1)[0]).toBe(10 + i);
    for (let i = 0; i < 4; i++) expect(parent.read(b + i * PG, 1)[0]).toBe(10 + i);
    expect(child.stats().faults.major).toBe(4);
    expect(parent.stats().faults.major).toBe(0);
    expect(parent.reclaimStats().counters!.swapcache_hit).toBe(4);
    for (let i = 0; i < 4; i++) expect(parent.translate(b + i * PG)!.physical).toBe(child.translate(b + i * PG)!.physical);
    auditMachine(m);
    // Still copy-on-write: a write in one does not show in the other.
    parent.write(b, [99]);
    expect(child.read(b, 1)[0]).toBe(10);
    auditMachine(m);
    expect(m.reclaimStats().swap!.used).toBe(0);
    parent.destroy();
    child.destroy();
    m.dispose();
  });

  it('a batch of pages shared by four processes: every page table gets the same swap entries; some pages only two share', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0 } });
    const p0 = m.createAddressSpace();
    const b = p0.mmap({ length: 8 * PG, prot: 'rw' });
    for (let i = 0; i < 8; i++) p0.write(b + i * PG, [30 + i]);
    const kids = [p0.fork(), p0.fork(), p0.fork()];
    // The first child writes pages 4-7: its copies are its own, so those pages are shared by three processes only.
    for (let i = 4; i < 8; i++) kids[0]!.write(b + i * PG, [90 + i]);
    p0.madvise(b, 8 * PG, 'MADV_PAGEOUT');
    expect(m.reclaimStats().swap!.used).toBe(8); // one slot per page, whoever shares it
    for (const k of kids.slice(1)) expect(k.reclaimStats().VmSwap).toBe(8);
    expect(kids[0]!.reclaimStats()).toMatchObject({ VmSwap: 4, VmRSS: 4 });
    auditMachine(m);
    for (let i = 0; i < 8; i++) for (const [s, v] of [[p0, 30 + i], [kids[1]!, 30 + i], [kids[2]!, 30 + i], [kids[0]!, i < 4 ? 30 + i : 90 + i]] as const) expect(s.read(b + i * PG, 1)[0]).toBe(v);
    auditMachine(m);
    m.dispose();
  });

  it('a page also mapped by a process that has it locked stays (only the evicting table lets go, nothing changes for the locker)', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0 } });
    const parent = m.createAddressSpace();
    const b = parent.mmap({ length: PG, prot: 'rw' });
    parent.write(b, [5]);
    const child = parent.fork();
    child.mlock(b, PG); // a write fault: the child gets its own copy (mlock breaks COW, as __mm_populate does)
    parent.madvise(b, PG, 'MADV_PAGEOUT');
    expect(parent.reclaimStats().VmSwap).toBe(1);
    expect(child.reclaimStats()).toMatchObject({ VmSwap: 0, VmRSS: 1 });
    expect([parent.read(b, 1)[0], child.read(b, 1)[0]]).toEqual([5, 5]);
    m.dispose();
  });
});

describe.each(BACKENDS)('anonymous eviction when a swap write fails (%s)', (backend) => {
  it('the pages before the failed write are evicted as decided; it and the rest stay resident and tracked; nothing leaks', () => {
    // zswap makes every eviction a per-page write (the in-memory device takes runs in one call).
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0, zswap: true } });
    const s = m.createAddressSpace();
    const b = s.mmap({ length: 4 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(b + i * PG, Uint8Array.from({ length: 64 }, (_, k) => (k * 7 + i) & 0xff));
    const swap = m.vmm.swap!;
    const restore = failNthWrite(swap, 3);
    expect(() => s.madvise(b, 4 * PG, 'MADV_PAGEOUT')).toThrow(/EIO/);
    expect(s.reclaimStats().VmSwap).toBe(2);
    expect(s.vm.resident!.tracked.size).toBe(2);
    expect(m.reclaimStats().swap!.used).toBe(2);
    auditMachine(m);
    restore();
    s.madvise(b, 4 * PG, 'MADV_PAGEOUT');
    expect(s.reclaimStats().VmSwap).toBe(4);
    for (let i = 0; i < 4; i++) expect([...s.read(b + i * PG, 64)]).toEqual(Array.from({ length: 64 }, (_, k) => (k * 7 + i) & 0xff));
    auditMachine(m);
    m.dispose();
  });
});
