/**
 * Transparent huge pages under reclaim, as Linux reclaims a THP: charged as its 512 pages,
 * seen by the policy through the leaf's Accessed/Dirty bits, split when evicted
 * (split_folio_to_list) and then reclaimed whole; contents never change, and a fork sibling
 * that still maps the 2 MiB page keeps it.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const HUGE = 2 ** 21;

describe.each(BACKENDS)('THP reclaim (%s)', (backend) => {
  it('a written 2 MiB page is charged as 512 pages; MADV_PAGEOUT of one of them splits it and evicts all 512; the bytes come back', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const s = m.createAddressSpace();
    const va = s.mmap({ length: 2 * HUGE, prot: 'rw', hugePages: true, addr: 0x4000_0000, fixed: true });
    s.write(va + 7, [1]);
    expect(s.translate(va)!.pageSize).toBe(HUGE);
    for (let i = 0; i < 512; i += 37) s.write(va + i * PG + 9, [i & 0xff]);
    const rs = s.vm.resident!;
    expect(rs.tracked.size).toBe(512);
    s.madvise(va + 100 * PG, PG, 'MADV_PAGEOUT');
    expect(rs.tracked.size).toBe(0);
    expect(s.reclaimStats().VmSwap).toBe(512);
    expect(s.translate(va)).toBeUndefined();
    auditMachine(m);
    expect(s.read(va + 7, 1)[0]).toBe(1);
    for (let i = 0; i < 512; i += 37) expect(s.read(va + i * PG + 9, 1)[0]).toBe(i & 0xff);
    expect(s.translate(va)!.pageSize).toBe(PG); // back as 4 KiB pages
    expect(s.stats().faults.major).toBeGreaterThan(0);
    auditMachine(m);
    m.dispose();
  });

  it('a read fault maps the huge zero page; evicting it drops the 512 entries and writes nothing', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const s = m.createAddressSpace();
    const va = s.mmap({ length: HUGE, prot: 'rw', hugePages: true, addr: 0x4000_0000, fixed: true });
    expect(s.read(va + 5, 1)[0]).toBe(0);
    expect(s.translate(va)!.pageSize).toBe(HUGE);
    s.madvise(va, PG, 'MADV_PAGEOUT');
    expect(m.reclaimStats().swap!.used).toBe(0);
    expect(s.reclaimStats().counters!.evict_clean).toBe(512);
    expect(s.read(va + 3 * PG, 1)[0]).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('a resident limit below 512 pages: the region falls back to 4 KiB pages; at 512 or more a 2 MiB page fits', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const small = m.createAddressSpace({ residentLimit: 100 });
    const a = small.mmap({ length: HUGE, prot: 'rw', hugePages: true, addr: 0x4000_0000, fixed: true });
    small.write(a, [1]);
    expect(small.translate(a)!.pageSize).toBe(PG);
    for (let i = 0; i < 200; i++) small.write(a + i * PG, [i & 0xff]);
    expect(small.vm.resident!.charged).toBeLessThanOrEqual(100);
    for (let i = 0; i < 200; i++) expect(small.read(a + i * PG, 1)[0]).toBe(i & 0xff);
    const big = m.createAddressSpace({ residentLimit: 600 });
    const b = big.mmap({ length: 2 * HUGE, prot: 'rw', hugePages: true, addr: 0x4000_0000, fixed: true });
    big.write(b, [2]);
    expect(big.translate(b)!.pageSize).toBe(HUGE);
    expect(big.vm.resident!.charged).toBe(512);
    // The second 2 MiB page does not fit next to the first (1024 > 600): the first is evicted whole, or the second falls back.
    big.write(b + HUGE, [3]);
    expect(big.vm.resident!.charged).toBeLessThanOrEqual(600);
    expect([big.read(b, 1)[0], big.read(b + HUGE, 1)[0]]).toEqual([2, 3]);
    auditMachine(m);
    m.dispose();
  });

  it('after fork, the child evicting its part splits only its own table: the parent keeps the 2 MiB page; contents stay apart', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const p = m.createAddressSpace();
    const va = p.mmap({ length: HUGE, prot: 'rw', hugePages: true, addr: 0x4000_0000, fixed: true });
    p.write(va + 11, [5]);
    const c = p.fork();
    c.madvise(va, PG, 'MADV_PAGEOUT');
    expect(p.translate(va)!.pageSize).toBe(HUGE);
    expect(c.translate(va)).toBeUndefined();
    auditMachine(m);
    expect(c.read(va + 11, 1)[0]).toBe(5);
    c.write(va + 11, [6]);
    expect([p.read(va + 11, 1)[0], c.read(va + 11, 1)[0]]).toEqual([5, 6]);
    auditMachine(m);
    m.dispose();
  });

  it('machine-wide pressure splits and swaps 2 MiB pages out; every byte survives', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '32MiB', pageCluster: 0 } });
    const s = m.createAddressSpace();
    const n = 6; // 12 MiB of THP in 16 MiB of RAM, with a second process's pages beside it
    const va = s.mmap({ length: n * HUGE, prot: 'rw', hugePages: true, addr: 0x4000_0000, fixed: true });
    for (let h = 0; h < n; h++) for (let i = 0; i < 512; i += 64) s.write(va + h * HUGE + i * PG, [h * 16 + i / 64]);
    const other = m.createAddressSpace();
    const o = other.mmap({ length: 1024 * PG, prot: 'rw' });
    for (let i = 0; i < 1024; i++) other.write(o + i * PG, [i & 0xff]);
    expect(m.reclaimStats().counters.pswpout).toBeGreaterThan(0);
    auditMachine(m);
    for (let h = 0; h < n; h++) for (let i = 0; i < 512; i += 64) expect(s.read(va + h * HUGE + i * PG, 1)[0]).toBe(h * 16 + i / 64);
    for (let i = 0; i < 1024; i += 7) expect(other.read(o + i * PG, 1)[0]).toBe(i & 0xff);
    auditMachine(m);
    s.destroy();
    other.destroy();
    expect(m.reclaimStats().swap!.used).toBe(0);
    m.dispose();
  });
});
