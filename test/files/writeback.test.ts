/**
 * Dirty pages and writeback, in simulated time (one nanosecond per memory access, plus
 * machine.sleep; the disk writes a page in 20 µs). The Linux rules each test follows:
 * - a MAP_SHARED mapping of a regular file maps pages read-only until their first write, which
 *   marks the page dirty (vma_wants_writenotify + page_mkwrite); writeback write-protects every
 *   mapping of the page again (folio_mkclean), so the next write faults and dirties it again;
 * - the periodic flusher (wb_check_old_data_flush) wakes every dirty_writeback_centisecs once a
 *   file is dirty and writes files dirty for dirty_expire_centisecs; 0 disables it;
 * - the dirty limits are domain_dirty_limits' of global_dirtyable_memory; above the background
 *   limit the flusher writes until the dirty pages are back to it; above the hard limit a writer
 *   waits for writeback (balance_dirty_pages);
 * - fsync and msync(MS_SYNC) write the file's (the range's) dirty pages and wait; MS_ASYNC does
 *   nothing; truncation cancels the dirtiness of the pages it removes (nothing written);
 * - the flusher writes a file's dirty pages in offset order from mapping->writeback_index, which
 *   only a page written moves (to the index after it: writeback_iter's done path); a pass that
 *   finds no dirty page at or after it sets it to 0 (range_cyclic's wrap). Looking a page up
 *   while the disk is still busy moves nothing. The lookup is live (PAGECACHE_TAG_DIRTY), so a
 *   page dirtied ahead of the index during a pass is written in that pass.
 */
import { describe, expect, it, vi } from 'vitest';
import { Machine, type AddressSpace, type File } from '../../src/index.js';
import type { CachePage } from '../../src/vmm/file/cache-page.js';
import type { RegularFile } from '../../src/vmm/file/regular-file.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const faults = (s: AddressSpace): number => s.stats().faults.minor + s.stats().faults.major;
/** The offsets of the dirty pages of `f`, ascending. */
const dirtyOffsets = (f: File): number[] => [...(f as unknown as { inode: RegularFile }).inode.dirtyPages].map((p) => p.index).sort((a, b) => a - b);
/** Records the offsets of the pages written back, in the order the disk gets them. */
function recordWrites(m: Machine): number[] {
  const order: number[] = [];
  const cache = m.vmm.pageCache;
  const write = cache.writePages.bind(cache);
  vi.spyOn(cache, 'writePages').mockImplementation((pages: readonly CachePage[]) => {
    for (const p of pages) order.push(p.index);
    write(pages);
  });
  return order;
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe.each(BACKENDS)('dirty pages and writeback (%s)', (backend) => {
  it('a MAP_SHARED write dirties its page once; writeback write-protects it, the next write dirties it again', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const f = m.fs.create('/f');
    f.write(0, new Uint8Array(4 * PG).fill(1));
    f.fsync();
    expect(m.meminfo().Dirty).toBe(0);
    const a = s.mmap({ length: 4 * PG, prot: 'rw', shared: true, file: f });
    let n = faults(s);
    s.read(a, 1);
    expect(faults(s) - n).toBe(1); // fault-around maps the 4 pages, read-only
    const dirtied = m.vmstat().nr_dirtied;
    n = faults(s);
    s.write(a + 10, [2]);
    expect(faults(s) - n).toBe(1); // page_mkwrite
    expect(m.meminfo().Dirty).toBe(4);
    expect(m.vmstat().nr_dirtied - dirtied).toBe(1);
    n = faults(s);
    s.write(a + 11, [3]);
    s.write(a + PG, [4]);
    expect(faults(s) - n).toBe(1); // page 0 is writable now; page 1 is a first write
    const before = m.vmstat();
    f.fsync();
    const after = m.vmstat();
    expect([after.nr_dirty, after.nr_written - before.nr_written, after.pgpgout - before.pgpgout]).toEqual([0, 2, 8]);
    expect(f.read(10, 2)).toEqual(new Uint8Array([2, 3]));
    n = faults(s);
    s.write(a + 12, [5]);
    expect(faults(s) - n).toBe(1); // write-protected again by writeback
    expect(m.meminfo().Dirty).toBe(4);
    auditMachine(m);
    m.dispose();
  });

  it('the flusher writes data dirty for dirty_expire_centisecs, waking every dirty_writeback_centisecs', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/f');
    f.write(0, new Uint8Array(PG).fill(7));
    m.sleep(29_900);
    expect(m.vmstat().nr_dirty).toBe(1);
    m.sleep(200); // the wake-up 30 s after the page got dirty writes it (20 µs of disk time)
    const v = m.vmstat();
    expect([v.nr_dirty, v.nr_written]).toEqual([0, 1]);
    // dirty_writeback_centisecs 0: no periodic writeback at all.
    const q = new Machine({ memory: '32MiB', backend, vm: { dirtyWritebackCentisecs: 0 } });
    q.fs.create('/g').write(0, new Uint8Array(PG));
    q.sleep(3_600_000);
    expect(q.vmstat().nr_dirty).toBe(1);
    // Expiry and period of 1 s: the wake-up 1 s after the dirtying finds it expired (dirtied_when <= now - expire).
    const r = new Machine({ memory: '32MiB', backend, vm: { dirtyExpireCentisecs: 100, dirtyWritebackCentisecs: 100 } });
    r.fs.create('/h').write(0, new Uint8Array(PG));
    r.sleep(900);
    expect(r.vmstat().nr_dirty).toBe(1);
    r.sleep(200);
    expect(r.vmstat().nr_dirty).toBe(0);
    for (const x of [m, q, r]) x.dispose();
  });

  it('the dirty limits are domain_dirty_limits of the dirtyable memory; background writeback brings dirty pages back to its limit', () => {
    const m = new Machine({ memory: '64MiB', backend, vm: { dirtyRatio: 4, dirtyBackgroundRatio: 2 } });
    const f = m.fs.create('/f');
    const limits = () => {
      const mi = m.meminfo();
      const free = mi.MemFree / 4;
      const dirtyable = free - Math.min(free, m.watermarks!.high) + (mi['Active(file)'] + mi['Inactive(file)']) / 4 + 1;
      return { limit: Math.floor((Math.floor((4 * 4096) / 100) * dirtyable) / 4096), background: Math.floor((Math.floor((2 * 4096) / 100) * dirtyable) / 4096) };
    };
    expect({ limit: m.vmstat().nr_dirty_threshold, background: m.vmstat().nr_dirty_background_threshold }).toEqual(limits());
    const bg = m.vmstat().nr_dirty_background_threshold;
    f.write(0, new Uint8Array((bg + 40) * PG).fill(3));
    expect(m.vmstat().nr_dirty).toBeGreaterThan(m.vmstat().nr_dirty_background_threshold);
    m.sleep(100); // 5000 pages of disk time: more than enough
    expect(m.vmstat().nr_dirty).toBe(m.vmstat().nr_dirty_background_threshold);
    expect({ limit: m.vmstat().nr_dirty_threshold, background: m.vmstat().nr_dirty_background_threshold }).toEqual(limits());
    auditMachine(m);
    m.dispose();
  });

  it('a writer above dirty_ratio waits for writeback (simulated time passes); fsync waits for its pages', () => {
    const m = new Machine({ memory: '64MiB', backend, vm: { dirtyRatio: 2, dirtyBackgroundRatio: 1 } });
    const f = m.fs.create('/f');
    const limit = m.vmstat().nr_dirty_threshold;
    const t0 = m.uptime();
    for (let i = 0; i < limit + 50; i++) f.write(i * PG, new Uint8Array(PG).fill(1));
    // The writer balances before it dirties a page (balance_dirty_pages_ratelimited at the top of
    // generic_perform_write's loop): the last page may leave one page above the limit.
    const v = m.vmstat();
    expect(v.nr_dirty).toBeLessThanOrEqual(v.nr_dirty_threshold + 1);
    // At least the pages past the limit had to be written first, 20 µs each.
    expect(m.uptime() - t0).toBeGreaterThanOrEqual((50 - 1) * 20e-6);
    const dirty = v.nr_dirty;
    const t1 = m.uptime();
    f.fsync();
    expect(m.vmstat().nr_dirty).toBe(0);
    expect(m.uptime() - t1).toBeCloseTo(dirty * 20e-6, 9);
    m.dispose();
  });

  it('msync(MS_SYNC) writes the range and waits; MS_ASYNC writes nothing; truncation cancels dirtiness', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const f = m.fs.create('/f', { size: 8 * PG });
    const a = s.mmap({ length: 8 * PG, prot: 'rw', shared: true, file: f });
    for (let i = 0; i < 8; i++) s.write(a + i * PG, [i + 1]);
    expect(m.vmstat().nr_dirty).toBe(8);
    s.msync(a, 8 * PG, 'MS_ASYNC');
    expect(m.vmstat().nr_dirty).toBe(8);
    const w = m.vmstat().nr_written;
    s.msync(a + 2 * PG, 3 * PG, 'MS_SYNC');
    expect([m.vmstat().nr_dirty, m.vmstat().nr_written - w]).toEqual([5, 3]);
    f.truncate(6 * PG);
    expect([m.vmstat().nr_dirty, m.vmstat().nr_written - w]).toEqual([3, 3]);
    expect(f.read(0, 8 * PG).length).toBe(6 * PG);
    auditMachine(m);
    m.dispose();
  });

  it('a busy flusher that looks up the next page does not move writeback_index past it (only a page written does)', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/f', { size: 16 * PG });
    f.write(0, new Uint8Array(8 * PG).fill(1)); // pages 0-7 dirty, far below the background limit
    const order = recordWrites(m);
    m.vmm.flusher.wakeForReclaim(); // WB_REASON_VMSCAN: these 8 pages are to be written
    // The VMM is entered three times before the disk finishes its first page: each time the
    // flusher finds page 0 next and has no time to write it.
    for (let i = 0; i < 3; i++) m.vmm.flusher.catchUp();
    expect(order).toEqual([]);
    m.sleep(0.05); // 50 µs: two page writes
    expect(order).toEqual([0, 1]);
    // writeback_index is 2 now: page 1 dirtied again waits for the wrap; page 5 is ahead, dirty
    // already; page 12 dirtied ahead of the index is found by this pass's live lookup.
    f.write(1 * PG, new Uint8Array(PG).fill(2));
    f.write(12 * PG, new Uint8Array(PG).fill(2));
    m.sleep(1); // the 6 pages left of reclaim's 8
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(dirtyOffsets(f)).toEqual([1, 12]);
    m.vmm.flusher.wakeForReclaim();
    m.sleep(1);
    // From writeback_index 8: page 12, then nothing further, so back to 0 (range_cyclic): page 1.
    expect(order.slice(8)).toEqual([12, 1]);
    expect(dirtyOffsets(f)).toEqual([]);
    auditMachine(m);
    m.dispose();
  });

  it('background writeback during a large write writes the file from its first page on, in order, each page once', () => {
    const m = new Machine({ memory: '64MiB', backend, vm: { dirtyRatio: 40, dirtyBackgroundRatio: 1 } });
    const f = m.fs.create('/f');
    const order = recordWrites(m);
    const bg = m.vmstat().nr_dirty_background_threshold;
    const n = bg + 200;
    // One write: balance_dirty_pages runs before each page it dirties, the flusher catching up
    // each time, busy (a 4 KiB copy takes far less than a page's disk write) most of those times.
    f.write(0, new Uint8Array(n * PG).fill(3));
    m.sleep(100);
    const v = m.vmstat();
    expect(v.nr_dirty).toBe(v.nr_dirty_background_threshold);
    expect(order).toEqual(range(0, order.length));
    expect(dirtyOffsets(f)).toEqual(range(order.length, n));
    auditMachine(m);
    m.dispose();
  });

  it('writeback_index survives a page written by fsync, truncated or dirtied behind it', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/f', { size: 16 * PG });
    for (const i of [0, 2, 4, 6, 8, 10]) f.write(i * PG, new Uint8Array(PG).fill(1));
    const order = recordWrites(m);
    m.vmm.flusher.wakeForReclaim();
    m.sleep(0.03); // page 0 only: writeback_index 1
    expect(order).toEqual([0]);
    // A page dirtied between the index and the next dirty one is next (live lookup, not a list made earlier).
    f.write(1 * PG, new Uint8Array(PG).fill(2));
    m.sleep(0.02);
    expect(order).toEqual([0, 1]);
    f.truncate(9 * PG); // dirty page 10 goes (its dirtiness cancelled, nothing written)
    // fsync is not range_cyclic writeback (filemap_fdatawrite_range): it writes every dirty page
    // and leaves writeback_index (2) alone.
    f.fsync();
    expect(order).toEqual([0, 1, 2, 4, 6, 8]);
    for (const i of [0, 3]) f.write(i * PG, new Uint8Array(PG).fill(3));
    m.vmm.flusher.wakeForReclaim();
    m.sleep(1);
    // writeback_index is still 2: page 3 first, then the wrap to page 0.
    expect(order.slice(6)).toEqual([3, 0]);
    auditMachine(m);
    m.dispose();
  });
});
