/**
 * machine.meminfo() and machine.vmstat(): the kernel's field names, and numbers that follow
 * every step exactly (meminfo in kB, vmstat in pages, pgpgin/pgpgout in KiB):
 * - MemFree is the free frames; Cached the page cache (files and shared memory); Mapped the cache
 *   pages a page table maps; AnonPages the distinct private pages mapped (zero page excluded,
 *   a page shared by fork counted once); Shmem shared memory; PageTables every table page;
 * - SwapTotal/SwapFree the device's slots; SwapCached pages in memory that also hold a slot;
 * - pgpgin counts disk reads (files and swap), pgmajfault the faults that had to read
 *   (PGMAJFAULT), pgfault every fault;
 * - MemAvailable is si_mem_available's estimate.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';

const PG = 4096;
const KEYS = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapCached', 'Active', 'Inactive', 'Active(anon)', 'Inactive(anon)', 'Active(file)', 'Inactive(file)', 'Unevictable', 'Mlocked', 'SwapTotal', 'SwapFree', 'Dirty', 'Writeback', 'AnonPages', 'Mapped', 'Shmem', 'PageTables'];

describe.each(BACKENDS)('meminfo and vmstat (%s)', (backend) => {
  it("has the kernel's field names, in /proc/meminfo's order, and a fresh machine's figures", () => {
    const m = new Machine({ memory: '64MiB', backend, swap: { size: '8MiB' } });
    const mi = m.meminfo();
    expect(Object.keys(mi)).toEqual(KEYS);
    const frames = m.stats().frames;
    expect(mi).toMatchObject({ MemTotal: 65536, MemFree: frames.free * 4, Cached: 0, AnonPages: 0, Shmem: 0, Mapped: 0, Dirty: 0, SwapTotal: (2048 - 1) * 4, SwapFree: (2048 - 1) * 4, PageTables: 0 });
    const wm = m.watermarks!;
    expect(mi.MemAvailable).toBe((frames.free - wm.high) * 4);
    const v = m.vmstat();
    for (const k of ['pgpgin', 'pgpgout', 'pswpin', 'pswpout', 'pgfault', 'pgmajfault', 'pgscan_file', 'pgsteal_file', 'pgscan_anon', 'pgsteal_anon', 'workingset_refault_file', 'workingset_activate_file', 'nr_dirty', 'nr_writeback', 'nr_file_pages'] as const) expect(v[k]).toBe(0);
    m.dispose();
  });

  it('follows anonymous, file, shared and table pages exactly', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PG, prot: 'rw' });
    s.read(a, 1); // the zero page: not AnonPages
    s.write(a + PG, [1]);
    s.write(a + 2 * PG, [1]);
    expect(m.meminfo().AnonPages).toBe(8);
    const child = s.fork(); // COW-shared pages count once
    expect(m.meminfo().AnonPages).toBe(8);
    child.write(a + PG, [2]); // the child's copy
    expect(m.meminfo().AnonPages).toBe(12);
    // The tables: each space's root, and the PDPT, PD and PT of the mapping.
    expect(m.meminfo().PageTables).toBe(2 * 4 * 4);
    const f = m.fs.create('/f', { data: new Uint8Array(16 * PG).fill(1) });
    const before = m.vmstat();
    const fa = s.mmap({ length: 16 * PG, prot: 'r', shared: true, file: f });
    s.read(fa, 1); // a major fault: read-around caches the 16 pages, the retry maps them
    const after = m.vmstat();
    expect(after.pgmajfault - before.pgmajfault).toBe(1);
    expect(after.pgpgin - before.pgpgin).toBe(16 * 4);
    expect(m.meminfo()).toMatchObject({ Cached: 64, Mapped: 64, 'Inactive(file)': 64, 'Active(file)': 0 });
    s.munmap(fa + 8 * PG, 8 * PG);
    expect(m.meminfo()).toMatchObject({ Cached: 64, Mapped: 32 });
    const shm = m.createSharedMemory('x', 4 * PG);
    const sa = s.mmap({ length: 4 * PG, prot: 'rw', shared: true, object: shm });
    s.write(sa, [1]);
    expect(m.meminfo()).toMatchObject({ Cached: 68, Shmem: 4, Mapped: 36 });
    expect(m.vmstat()).toMatchObject({ nr_file_pages: 17, nr_shmem: 1, nr_mapped: 9, nr_inactive_file: 16 });
    m.dispose();
  });

  it('swap: SwapFree, SwapCached, pswpin/pswpout and pgpgin/pgpgout follow the device', () => {
    const m = new Machine({ memory: '64MiB', backend, swap: { size: '8MiB', pageCluster: 0 } });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 8 * PG, prot: 'rw' });
    for (let i = 0; i < 8; i++) s.write(a + i * PG, [i + 1]);
    s.madvise(a, 8 * PG, 'MADV_PAGEOUT');
    let mi = m.meminfo();
    expect(mi.SwapFree).toBe(mi.SwapTotal - 32);
    expect(mi.AnonPages).toBe(0);
    let v = m.vmstat();
    expect([v.pswpout, v.pgpgout]).toEqual([8, 32]);
    s.read(a, 1); // a major fault; the clean copy stays in swap: the page is in the swap cache
    mi = m.meminfo();
    v = m.vmstat();
    expect([v.pswpin, v.pgpgin, v.pgmajfault]).toEqual([1, 4, 1]);
    expect([mi.SwapCached, mi.AnonPages]).toEqual([4, 4]);
    m.dispose();
  });
});
