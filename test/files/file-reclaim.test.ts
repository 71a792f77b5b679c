/**
 * Reclaim of page cache pages, with the Linux rule each test follows (mm/vmscan.c without
 * MGLRU, mm/workingset.c, mm/swap.c):
 * - folio_mark_accessed: a page read once is referenced, read again (while inactive) activated;
 * - shrink_folio_list: a clean unmapped page is dropped without I/O (no pgpgout) and leaves a
 *   shadow entry; a page mapped by a young entry is kept once more (PG_referenced) and
 *   activated if young again, or when executable; a dirty page is never written by reclaim:
 *   it is marked PG_reclaim and activated, the flusher is woken when a whole batch was dirty,
 *   and once written the page rotates to the inactive tail and the next pass drops it;
 * - workingset_refault: a refault within the workingset (the active file list, plus the
 *   anonymous lists while swap has room) comes back active, a farther one inactive;
 * - file pages never use swap.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const content = (pages: number, v = 1) => new Uint8Array(pages * PG).fill(v);

describe.each(BACKENDS)('file reclaim (%s)', (backend) => {
  it('clean pages are dropped without I/O; a page read twice is activated and outlives the inactive list', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/f', { data: content(8, 3) });
    f.read(0, 8 * PG); // readahead brings the 8 pages in, each marked accessed once
    f.read(0, 1); // page 0 again: activated
    expect([m.meminfo()['Active(file)'], m.meminfo()['Inactive(file)']]).toEqual([4, 28]);
    const before = m.vmstat();
    expect(m.fileReclaim.evict(7, undefined, 'kswapd')).toBe(7);
    const after = m.vmstat();
    expect(after.pgsteal_file - before.pgsteal_file).toBe(7);
    expect(after.pgscan_kswapd - before.pgscan_kswapd).toBe(7);
    expect(after.pgpgout - before.pgpgout).toBe(0);
    expect([m.meminfo()['Active(file)'], m.meminfo()['Inactive(file)']]).toEqual([4, 0]);
    // Read back from the disk: the bytes are the file's.
    expect(f.read(0, 8 * PG)).toEqual(content(8, 3));
    expect(m.vmstat().pgpgin - after.pgpgin).toBe(7 * 4);
    auditMachine(m);
    m.dispose();
  });

  it('a refault within the workingset comes back active; a farther one does not', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const a = m.fs.create('/a', { data: content(4) });
    a.read(0, 4 * PG);
    a.read(0, 4 * PG); // A's 4 pages activated: the workingset is 4 pages (no swap: no anonymous part)
    const b = m.fs.create('/b', { data: content(8) });
    b.read(0, 8 * PG);
    expect(m.fileReclaim.evict(8, undefined, 'kswapd')).toBe(8); // B's pages, oldest (page 0) first
    expect(m.meminfo()['Active(file)']).toBe(16);
    // Page 7 was evicted last: distance 1, within the workingset.
    m.fs.open('/b').read(7 * PG, 1);
    let v = m.vmstat();
    expect([v.workingset_refault_file, v.workingset_activate_file, v.workingset_restore_file]).toEqual([1, 1, 0]);
    expect(m.meminfo()['Active(file)']).toBe(20);
    // Page 0 at the start of the file reads pages 0-3 (the initial window): evicted first, 6 to 9
    // evictions and activations ago, farther than the 5 active pages: none comes back active.
    m.fs.open('/b').read(0, 1);
    v = m.vmstat();
    expect([v.workingset_refault_file, v.workingset_activate_file]).toEqual([5, 1]);
    expect(m.meminfo()['Active(file)']).toBe(20);
    auditMachine(m);
    m.dispose();
  });

  it('dirty pages are written back by the flusher first, then dropped; file pages never use swap', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '4MiB' } });
    const f = m.fs.create('/f');
    f.write(0, content(40, 9));
    expect(m.vmstat().nr_dirty).toBe(40);
    const before = m.vmstat();
    expect(m.fileReclaim.evict(40, undefined, 'direct')).toBe(40);
    const after = m.vmstat();
    expect(after.nr_dirty).toBe(0);
    expect(after.nr_written - before.nr_written).toBe(40);
    expect(after.pgpgout - before.pgpgout).toBe(40 * 4);
    expect(after.nr_vmscan_immediate_reclaim).toBeGreaterThan(0);
    expect(after.pgrotated).toBeGreaterThan(0);
    expect(after.pswpout).toBe(0);
    expect(m.meminfo().Cached).toBe(0);
    expect(f.read(0, 40 * PG)).toEqual(content(40, 9));
    auditMachine(m);
    m.dispose();
  });

  it('a mapped page used once gets another trip, used again is activated; executable pages at first use; mlocked ones stay', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '4MiB' }, vm: { faultAroundBytes: 4096 } });
    const s = m.createAddressSpace();
    const f = m.fs.create('/f', { data: content(3) });
    const a = s.mmap({ length: 3 * PG, prot: 'r', shared: true, file: f });
    s.read(a, 1); // read-around caches 3 pages; page 0 mapped, young
    const cached = () => s.mincore(a, 3 * PG);
    // Pages 1 and 2 are unmapped and unreferenced: reclaimed; page 0 is young once: kept (PG_referenced).
    expect(m.fileReclaim.evict(2, undefined, 'kswapd')).toBe(2);
    expect(Array.from(cached())).toEqual([1, 0, 0]);
    // Young again (a fresh entry: the access walks and sets Accessed): activated at the next look.
    s.munmap(a, 3 * PG);
    const a2 = s.mmap({ length: 3 * PG, prot: 'r', shared: true, file: f });
    s.read(a2, 1);
    const v0 = m.vmstat();
    m.fileReclaim.evict(1, undefined, 'kswapd');
    expect(m.vmstat().pgactivate - v0.pgactivate).toBe(1);
    // An executable mapping: activated at its first use.
    const x = m.fs.create('/x', { data: content(1) });
    const e = s.mmap({ length: PG, prot: 'rx', file: x });
    s.read(e, 1);
    const v1 = m.vmstat();
    m.fileReclaim.evict(1, undefined, 'kswapd');
    expect(m.vmstat().pgactivate - v1.pgactivate).toBeGreaterThanOrEqual(1);
    // mlocked: activated, never reclaimed.
    const l = m.fs.create('/l', { data: content(2) });
    const b = s.mmap({ length: 2 * PG, prot: 'r', file: l });
    s.mlock(b, 2 * PG);
    for (let i = 0; i < 4; i++) m.fileReclaim.evict(64, undefined, 'kswapd');
    expect(Array.from(s.mincore(b, 2 * PG))).toEqual([1, 1]);
    auditMachine(m);
    m.dispose();
  });
});
