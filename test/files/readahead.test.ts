/**
 * Readahead's decisions (src/vmm/file/readahead.ts) against the rules of mm/readahead.c and
 * mm/filemap.c, on a model page cache, with the default read_ahead_kb of 128 (32 pages):
 * - get_init_ra_size: 1-2 pages read ask 16 KiB, 3-4 32 KiB, 5-8 64 KiB, more 128 KiB;
 *   get_next_ra_size: x4 below max/16, x2 up to max/2, then max;
 * - page_cache_sync_ra: a read at offset 0, a sequential miss or an oversized read starts the
 *   initial window (async tail: the window less the request); a random read farther on reads
 *   only its pages, unless the pages before it are cached (the window is rebuilt from them,
 *   doubled when cached from the start of the file);
 * - page_cache_async_ra: the expected marker moves the window on (start += size) and grows it,
 *   the folios two orders larger each time with the window's end rounded down to that order; a
 *   marker met without a valid state sizes the window from the cached pages after it;
 * - do_sync_mmap_readahead: ra_pages centred on the fault with an async tail of a quarter; for
 *   an executable mapping from the fault on, within the mapping, no tail; no more read-around
 *   once mmap_miss exceeds MMAP_LOTSAMISS (100); do_async_mmap_readahead lowers mmap_miss.
 * The page cache of the machine is checked against the same rules through read(2).
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { RaState, asyncMmapRa, asyncRa, initRaSize, nextRaSize, syncMmapRa, syncRa, type RaTarget } from '../../src/vmm/file/readahead.js';

const PG = 4096;

/** A model page cache: pages, their folio orders, the marked folios. */
function target(pages: number, largeFolios = true) {
  const cached = new Map<number, number>();
  const marked = new Set<number>();
  const t: RaTarget & { cached: Map<number, number>; marked: Set<number>; added: number[] } = {
    isize: pages * PG,
    largeFolios,
    cached,
    marked,
    added: [],
    has: (i) => cached.has(i),
    add(folios) {
      for (const { index, order, mark } of folios) {
        for (let k = 0; k < 2 ** order; k++) cached.set(index + k, order);
        if (mark) marked.add(index);
        t.added.push(index);
      }
      return folios.length;
    },
  };
  return t;
}

/** The cached pages as "a-b" ranges. */
function ranges(t: { cached: Map<number, number> }): string[] {
  const keys = [...t.cached.keys()].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < keys.length; ) {
    let j = i;
    while (j + 1 < keys.length && keys[j + 1] === keys[j]! + 1) j++;
    out.push(`${keys[i]}-${keys[j]}`);
    i = j + 1;
  }
  return out;
}

describe('readahead decisions (model page cache, read_ahead_kb 128)', () => {
  it('window sizes: get_init_ra_size and get_next_ra_size', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 32, 100].map((n) => initRaSize(n, 32))).toEqual([4, 4, 8, 8, 16, 16, 32, 32, 32]);
    expect([1, 2, 4, 8, 16, 32].map((n) => nextRaSize(n, 32))).toEqual([4, 4, 8, 16, 32, 32]);
    expect([4, 64, 127, 128, 1024, 2048].map((n) => nextRaSize(n, 2048))).toEqual([16, 256, 508, 256, 2048, 2048]);
  });

  it('a sequential read: initial window, marker, growth (order-0 filesystem)', () => {
    const t = target(1000, false);
    const ra = new RaState(32);
    syncRa(t, ra, 0, 1);
    expect([ra.start, ra.size, ra.asyncSize, ranges(t), [...t.marked]]).toEqual([0, 4, 3, ['0-3'], [1]]);
    asyncRa(t, ra, 1, 1); // the marker: the window moves on and doubles (4 >= 32/16), its end rounded to 4 pages
    expect([ra.start, ra.size, ra.asyncSize, ranges(t)]).toEqual([4, 8, 8, ['0-11']]);
    expect(t.marked.has(4)).toBe(true);
    asyncRa(t, ra, 4, 1);
    expect([ra.start, ra.size, ranges(t)]).toEqual([12, 16, ['0-27']]);
    asyncRa(t, ra, 12, 1);
    expect([ra.start, ra.size, ranges(t)]).toEqual([28, 32, ['0-59']]);
    asyncRa(t, ra, 28, 1);
    expect([ra.start, ra.size, ranges(t)]).toEqual([60, 32, ['0-91']]);
  });

  it('large folios: orders grow by two, the end rounds down to the order', () => {
    const t = target(1000, true);
    const ra = new RaState(32);
    syncRa(t, ra, 0, 1);
    asyncRa(t, ra, 1, 1, 1);
    expect([ra.start, ra.size, ra.order, ranges(t)]).toEqual([4, 8, 2, ['0-11']]);
    expect(t.cached.get(4)).toBe(2); // folios of 4 pages: 4-7, 8-11
    asyncRa(t, ra, 4, 1, 4);
    // order 4: end 12 + 16 = 28 rounds down to 16: the window shrinks to [12, 16).
    expect([ra.start, ra.size, ranges(t)]).toEqual([12, 4, ['0-15']]);
  });

  it('random reads read only their page; a rebuilt window from cached history; a cold file from page 0', () => {
    const t = target(1000);
    const ra = new RaState(32);
    syncRa(t, ra, 500, 1);
    syncRa(t, ra, 300, 2);
    expect(ranges(t)).toEqual(['300-301', '500-500']);
    // Pages 100-109 cached, then a read at 110 (not after the last read): contig 10 > 1: a window of min(10 + 1, 32).
    for (let i = 100; i < 110; i++) t.cached.set(i, 0);
    ra.prevPos = 300 * PG;
    syncRa(t, ra, 110, 1);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([110, 11, 1]);
    // Cached from page 0: the history counts double.
    const u = target(1000);
    for (let i = 0; i < 5; i++) u.cached.set(i, 0);
    const rb = new RaState(32);
    rb.prevPos = 900 * PG;
    syncRa(u, rb, 5, 1);
    expect([rb.start, rb.size]).toEqual([5, 11]);
  });

  it('a marker met without a valid state sizes the window from the cached pages after it', () => {
    const t = target(1000, false);
    for (let i = 50; i < 58; i++) t.cached.set(i, 0);
    const ra = new RaState(32); // another stream's state: start 0, size 0
    asyncRa(t, ra, 50, 1);
    // The first miss after 51 is 58: old window 8 pages + 1 requested = 9, doubled: 18 (the end, 76, is a multiple of 4).
    expect([ra.start, ra.size]).toEqual([58, 18]);
  });

  it('mmap read-around, the executable case, and mmap_miss', () => {
    const t = target(1000);
    const ra = new RaState(32);
    syncMmapRa(t, ra, 100, { exec: false, pgoff: 0, pages: 1000 });
    expect([ra.start, ra.size, ra.asyncSize, ranges(t), [...t.marked]]).toEqual([84, 32, 8, ['84-115'], [108]]);
    const x = target(1000);
    const rx = new RaState(32);
    syncMmapRa(x, rx, 100, { exec: true, pgoff: 90, pages: 20 });
    expect([rx.start, rx.size, rx.asyncSize, ranges(x)]).toEqual([100, 10, 0, ['100-109']]);
    const z = target(100000);
    const rz = new RaState(32);
    for (let i = 0; i < 101; i++) syncMmapRa(z, rz, i * 64, { exec: false, pgoff: 0, pages: 100000 });
    const before = z.cached.size;
    syncMmapRa(z, rz, 200 * 64, { exec: false, pgoff: 0, pages: 100000 });
    expect([rz.mmapMiss, z.cached.size]).toEqual([102, before]);
    asyncMmapRa(z, rz, 0, false);
    expect(rz.mmapMiss).toBe(101);
  });
});

describe.each(BACKENDS)('read(2) readahead on the machine (%s)', (backend) => {
  it('sequential one-page reads of a cold file: the page cache grows as the windows do (128 KiB)', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/f', { data: new Uint8Array(200 * PG).fill(1) });
    const s = m.createAddressSpace();
    const map = s.mmap({ length: 200 * PG, prot: 'r', shared: true, file: f });
    const seen: string[][] = [];
    for (let i = 0; i < 30; i++) {
      f.read(i * PG, PG);
      if ([0, 1, 4, 12, 28].includes(i)) {
        const v = s.mincore(map, 200 * PG);
        const out: string[] = [];
        for (let a = 0; a < v.length; ) {
          if (!v[a]) {
            a++;
            continue;
          }
          let b = a;
          while (b + 1 < v.length && v[b + 1]) b++;
          out.push(`${a}-${b}`);
          a = b + 1;
        }
        seen.push(out);
      }
    }
    // Large folios (as ext4 has them): the windows' ends round down to the growing folio order.
    expect(seen).toEqual([['0-3'], ['0-11'], ['0-15'], ['0-23'], ['0-47']]);
    expect(m.vmstat().pgpgin).toBe(48 * 4);
    m.dispose();
  });
});
