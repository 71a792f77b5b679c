/** Swap slots, the device (memory and file), zswap and readahead windows. */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { SwapSlots } from '../../src/reclaim/swap-slots.js';
import { SwapDevice } from '../../src/reclaim/swap-device.js';
import { SwapArea as SwapAreaOf } from '../../src/reclaim/swap-area.js';
import { parseSize } from '../../src/machine/options.js';

class SwapArea extends SwapAreaOf {
  constructor(o: unknown, memory: number) {
    super(o, memory, parseSize);
  }
}
import { Zswap } from '../../src/reclaim/zswap.js';
import { SwapCache } from '../../src/vmm/reclaim/swap-cache.js';
import { readaheadWindow, SwapReadahead, swapinWindowPages } from '../../src/reclaim/swap-readahead.js';
import { propertyOptions } from '../property-options.js';
import { errnoOf } from '../support/thrown.js';

const PAGE = 4096;

const code = errnoOf;

/** A page of pseudo-random bytes that compress somewhat (a small alphabet). */
function textPage(seed: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  let s = seed;
  for (let i = 0; i < PAGE; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    p[i] = 97 + ((s >>> 16) % 8);
  }
  return p;
}

describe('SwapSlots', () => {
  it('slot 0 is the header: N pages give N - 1 slots, handed out next-fit from 1', () => {
    const s = new SwapSlots(5);
    expect(s.total).toBe(4);
    expect([s.alloc(), s.alloc(), s.alloc(), s.alloc(), s.alloc()]).toEqual([1, 2, 3, 4, -1]);
    expect(s.free).toBe(0);
    expect(s.put(2)).toBe(true);
    expect(s.alloc()).toBe(2);
  });

  it('next-fit continues after the last slot given, wrapping past the end', () => {
    const s = new SwapSlots(70);
    for (let i = 1; i < 70; i++) expect(s.alloc()).toBe(i);
    s.put(5);
    s.put(40);
    expect(s.alloc()).toBe(5); // wrapped around: the search resumes at the start
    expect(s.alloc()).toBe(40);
  });

  it('counts references: a slot is freed by its last put', () => {
    const s = new SwapSlots(4);
    const a = s.alloc();
    s.dup(a);
    expect(s.refs(a)).toBe(2);
    expect(s.put(a)).toBe(false);
    expect(s.put(a)).toBe(true);
    expect(s.refs(a)).toBe(0);
    expect(code(() => s.put(a))).toBe('EINVAL');
    expect(code(() => s.dup(0))).toBe('EINVAL');
    expect(code(() => s.put(99))).toBe('EINVAL');
  });

  it('vm_swap_full: more than half in use', () => {
    const s = new SwapSlots(5);
    s.alloc();
    s.alloc();
    expect(s.halfFull).toBe(false);
    s.alloc();
    expect(s.halfFull).toBe(true);
  });

  it('refuses fewer than two pages', () => {
    expect(code(() => new SwapSlots(1))).toBe('EINVAL');
    expect(code(() => new SwapSlots(2.5))).toBe('EINVAL');
  });

  it('balances under random alloc/dup/put against a model', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 100 }), fc.array(fc.tuple(fc.constantFrom('alloc', 'dup', 'put'), fc.nat()), { maxLength: 300 }), (pages, ops) => {
        const s = new SwapSlots(pages);
        const model = new Map<number, number>();
        for (const [op, n] of ops) {
          const live = [...model.keys()];
          if (op === 'alloc') {
            const slot = s.alloc();
            if (model.size === pages - 1) expect(slot).toBe(-1);
            else {
              expect(slot).toBeGreaterThan(0);
              expect(model.has(slot)).toBe(false);
              model.set(slot, 1);
            }
          } else if (live.length > 0) {
            const slot = live[n % live.length]!;
            if (op === 'dup') {
              s.dup(slot);
              model.set(slot, model.get(slot)! + 1);
            } else {
              const c = model.get(slot)! - 1;
              expect(s.put(slot)).toBe(c === 0);
              if (c === 0) model.delete(slot);
              else model.set(slot, c);
            }
          }
          expect(s.used).toBe(model.size);
        }
      }),
      propertyOptions(100),
    );
  });
});

describe('SwapDevice', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('keeps pages in host memory; unwritten slots read as zeros', () => {
    const d = new SwapDevice({ size: 1024 * PAGE });
    const p = textPage(1);
    d.write(700, p);
    const back = new Uint8Array(PAGE);
    d.read(700, back);
    expect(back).toEqual(p);
    d.read(3, back);
    expect(back.every((b) => b === 0)).toBe(true);
    d.close();
  });

  it('a file device holds the pages in the file, behind the header mkswap writes', () => {
    dir = mkdtempSync(join(tmpdir(), 'vmsim-swap-'));
    const file = join(dir, 'swapfile');
    const d = new SwapDevice({ size: 16 * PAGE, file });
    const p = textPage(2);
    d.write(5, p, 0);
    const back = new Uint8Array(PAGE + 8);
    d.read(5, back, 8);
    expect(back.subarray(8)).toEqual(p);
    d.close();
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(16 * PAGE);
    expect(bytes.subarray(PAGE - 10, PAGE).toString()).toBe('SWAPSPACE2');
    expect(bytes.readUInt32LE(1024)).toBe(1); // version
    expect(bytes.readUInt32LE(1028)).toBe(15); // last_page
    expect(new Uint8Array(bytes.subarray(5 * PAGE, 6 * PAGE))).toEqual(p);
    // A swap file may be reused; another file is not overwritten.
    new SwapDevice({ size: 16 * PAGE, file }).close();
    const other = join(dir, 'notes.txt');
    writeFileSync(other, 'precious');
    expect(code(() => new SwapDevice({ size: 16 * PAGE, file: other }))).toBe('EEXIST');
    expect(readFileSync(other, 'utf8')).toBe('precious');
  });

  it('refuses sizes that are not whole pages, too small, or larger than the host allows', () => {
    expect(code(() => new SwapDevice({ size: PAGE }))).toBe('EINVAL');
    expect(code(() => new SwapDevice({ size: 3 * PAGE + 1 }))).toBe('EINVAL');
    const huge = Math.ceil((totalmem() * 2) / PAGE) * PAGE;
    expect(code(() => new SwapDevice({ size: huge }))).toBe('ENOMEM');
    expect(code(() => new SwapDevice({ size: 2 ** 50, file: join(tmpdir(), 'vmsim-never-created') }))).toBe('ENOMEM');
    expect(code(() => new SwapDevice({ size: 4 * PAGE, file: '/nonexistent-dir/x/swap' }))).toBe('ENOENT');
  });
});

describe('SwapDevice.writeFrames', () => {
  /** A stand-in for the core's copyFramesOut over fake frames: frame f holds bytes f (0 = a page of zeros). */
  const copy = (frames: Float64Array, start: number, count: number, dst: Uint8Array, off: number, zero: Uint8Array) => {
    for (let i = start; i < start + count; i++) {
      zero[i] = frames[i] === 0 ? 1 : 0;
      if (frames[i] !== 0) dst.fill(frames[i]!, off + (i - start) * PAGE, off + (i - start + 1) * PAGE);
    }
  };

  it('stores runs of neighbouring slots across chunk edges; zero pages are flags, read back as zeros', () => {
    const dev = new SwapDevice({ size: 600 * PAGE });
    // Slots 254-257 cross the first chunk edge (256 slots a chunk); 300 stands alone; 3 is a page of zeros.
    const slots = Float64Array.of(254, 255, 256, 257, 300, 3);
    const frames = Float64Array.of(11, 12, 13, 14, 15, 0);
    dev.writeFrames(slots, frames, 6, copy);
    const back = new Uint8Array(PAGE);
    for (let i = 0; i < 5; i++) {
      dev.read(slots[i]!, back);
      expect(back.every((b) => b === frames[i])).toBe(true);
    }
    expect(dev.holdsZeros(3)).toBe(true);
    expect(dev.holdsZeros(254)).toBe(false);
    back.fill(9);
    dev.read(3, back);
    expect(back.every((b) => b === 0)).toBe(true);
    // A later write of data to a zero slot clears its flag.
    dev.writeFrames(Float64Array.of(3), Float64Array.of(7), 1, copy);
    expect(dev.holdsZeros(3)).toBe(false);
    dev.read(3, back);
    expect(back[100]).toBe(7);
    dev.close();
  });

  it('a run of zero pages on a chunk never written commits no chunk (pageView stays empty)', () => {
    const dev = new SwapDevice({ size: 600 * PAGE });
    dev.writeFrames(Float64Array.of(10, 11, 12), Float64Array.of(0, 0, 0), 3, copy);
    expect([10, 11, 12].map((s) => dev.holdsZeros(s))).toEqual([true, true, true]);
    expect(dev.pageView(10)).toBeUndefined();
    dev.writeFrames(Float64Array.of(13, 14), Float64Array.of(0, 5), 2, copy);
    expect(dev.pageView(14)).toBeInstanceOf(Uint8Array);
    expect(dev.pageView(14)![dev.pageOffset(14)]).toBe(5);
    dev.close();
  });

  it('a file device refuses it (its pages are written one by one)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsim-wf-'));
    const dev = new SwapDevice({ size: 8 * PAGE, file: join(dir, 'swap') });
    expect(() => dev.writeFrames(Float64Array.of(1), Float64Array.of(1), 1, copy)).toThrow(/file device/);
    dev.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('SwapArea options', () => {
  it('refuses unknown keys and bad values, naming them', () => {
    const bad: Array<[unknown, RegExp]> = [
      [null, /swap must be an object/],
      [{}, /swap.size is required/],
      [{ size: '1MiB', sise: 1 }, /swap: unknown option 'sise'/],
      [{ size: 'lots' }, /swap.size "lots" is not a size/],
      [{ size: 5000 }, /not a multiple of 4096/],
      [{ size: '1MiB', pageCluster: 11 }, /pageCluster must be an integer from 0 to 10/],
      [{ size: '1MiB', zswap: 'yes' }, /swap.zswap must be a boolean/],
      [{ size: '1MiB', zswap: { maxPool: 5 } }, /swap.zswap: unknown option 'maxPool'/],
      [{ size: '1MiB', zswap: { maxPoolPercent: 0 } }, /maxPoolPercent must be an integer from 1 to 100/],
    ];
    for (const [o, msg] of bad) expect(() => new SwapArea(o, 2 ** 24)).toThrow(msg);
  });

  it('writes through the pool when there is one, else to the device, counting pswpout/pswpin', () => {
    const plain = new SwapArea({ size: '1MiB' }, 2 ** 24);
    const slot = plain.slots.alloc();
    expect(plain.write(slot, textPage(3))).toBe('device');
    const back = new Uint8Array(PAGE);
    expect(plain.read(slot, back)).toBe('device');
    expect(back).toEqual(textPage(3));
    expect([plain.pswpout, plain.pswpin]).toEqual([1, 1]);
    expect(plain.zswapStats()).toBeUndefined();

    const z = new SwapArea({ size: '1MiB', zswap: true }, 2 ** 24);
    const s2 = z.slots.alloc();
    expect(z.write(s2, textPage(4))).toBe('zswap');
    expect(z.read(s2, back)).toBe('zswap');
    expect(back).toEqual(textPage(4));
    expect([z.pswpout, z.pswpin]).toEqual([0, 0]);
    // The pool's copy went with the exclusive load; the slot's entry is gone when it is freed too.
    expect(z.write(s2, textPage(5))).toBe('zswap');
    expect(z.put(s2)).toBe(true);
    expect(z.zswapStats()!.stored_pages).toBe(0);
    plain.close();
    z.close();
  });

  it('a readahead window is the aligned run of its size around the slot, never slot 0 nor past the end', () => {
    expect(readaheadWindow(13, 8, 100)).toEqual([8, 15]);
    expect(readaheadWindow(3, 8, 100)).toEqual([1, 7]);
    expect(readaheadWindow(97, 8, 100)).toEqual([96, 99]);
    expect(readaheadWindow(13, 2, 100)).toEqual([12, 13]);
    expect(readaheadWindow(13, 1, 100)).toEqual([13, 13]);
  });

  it('the window size follows Linux __swapin_nr_pages: hits + 2 rounded up to a power of two, capped, halving at most', () => {
    // No hits: 2 pages for a fault next to the previous one (either side), else 1.
    expect(swapinWindowPages(10, 11, 0, 8, 0)).toBe(2);
    expect(swapinWindowPages(10, 9, 0, 8, 0)).toBe(2);
    expect(swapinWindowPages(10, 12, 0, 8, 0)).toBe(1);
    // Hits: hits + 2, rounded up to 4, 8, ...; capped at 2^page-cluster.
    expect(swapinWindowPages(0, 50, 1, 8, 0)).toBe(4);
    expect(swapinWindowPages(0, 50, 2, 8, 0)).toBe(4);
    expect(swapinWindowPages(0, 50, 3, 8, 0)).toBe(8);
    expect(swapinWindowPages(0, 50, 30, 8, 0)).toBe(8);
    expect(swapinWindowPages(0, 50, 30, 2, 0)).toBe(2);
    // Never below half the previous window.
    expect(swapinWindowPages(0, 50, 0, 8, 8)).toBe(4);
    expect(swapinWindowPages(0, 50, 0, 8, 4)).toBe(2);
    expect(swapinWindowPages(0, 50, 0, 8, 1)).toBe(1);
  });

  it('the machine-wide state adapts the window to readahead hits, fault after fault (page-cluster 3)', () => {
    const ra = new SwapReadahead(3, 1000);
    const seq: Array<[number, number]> = [];
    const fault = (slot: number, hitsBefore = 0) => {
      for (let i = 0; i < hitsBefore; i++) ra.hit();
      seq.push(ra.window(slot));
    };
    fault(50); // random, no hits: 1 page (the fault's own)
    fault(51); // next to the previous: 2
    fault(60, 2); // two read-ahead pages were used: 4
    fault(70, 6); // six: 8, the most
    fault(300); // nothing used since: halves, 4
    fault(500); // 2
    fault(700); // 1
    fault(701); // adjacent to 700 (the last fault without hits): 2
    expect(ra.history).toEqual([1, 2, 4, 8, 4, 2, 1, 2]);
    expect(seq).toEqual([[50, 50], [50, 51], [60, 63], [64, 71], [300, 303], [500, 501], [700, 700], [700, 701]]);
    // Only a fault without hits becomes the "previous offset" that adjacency is judged by.
    const ra2 = new SwapReadahead(3, 1000);
    ra2.window(100); // prev = 100
    ra2.hit();
    ra2.window(200); // hits: prev stays 100, window 4
    ra2.window(101); // no hits, adjacent to 100: 2 (not below 4 / 2 = 2)
    expect(ra2.history).toEqual([1, 4, 2]);
  });

  it('page-cluster 0 never reads ahead, whatever the hits; the area uses its own state', () => {
    const ra = new SwapReadahead(0, 1000);
    ra.hit();
    ra.hit();
    expect(ra.window(5)).toEqual([5, 5]);
    expect(ra.history).toEqual([]);
    const area = new SwapArea({ size: 64 * PAGE, pageCluster: 2 }, 2 ** 24);
    area.readahead.hit();
    expect(area.window(6)).toEqual([4, 7]); // 1 hit: 4 pages, the most for page-cluster 2
  });
});

describe('Zswap', () => {
  const shed: Array<[number, Uint8Array]> = [];
  const pool = (memory: number, percent = 20, accept = 90) => new Zswap(memory, { maxPoolPercent: percent, acceptThresholdPercent: accept }, (slot, bytes) => shed.push([slot, bytes.slice()]));

  it('keeps a same-filled page as its 8-byte pattern', () => {
    const z = pool(2 ** 24);
    const p = new Uint8Array(PAGE);
    const v = new DataView(p.buffer);
    for (let i = 0; i < PAGE; i += 8) v.setBigUint64(i, 0x1122334455667788n, true);
    expect(z.store(1, p)).toBe(true);
    expect(z.store(2, new Uint8Array(PAGE))).toBe(true);
    expect(z.stats()).toMatchObject({ stored_pages: 2, same_filled_pages: 2, pool_total_size: 16, compression_ratio: 512 });
    const back = new Uint8Array(PAGE).fill(9);
    expect(z.load(1, back)).toBe(true);
    expect(back).toEqual(p);
    expect(z.load(1, back)).toBe(false); // exclusive load
  });

  it('compresses other pages with real DEFLATE and reports the ratio', () => {
    const z = pool(2 ** 24);
    for (let i = 1; i <= 10; i++) expect(z.store(i, textPage(i))).toBe(true);
    const st = z.stats();
    expect(st.stored_pages).toBe(10);
    expect(st.same_filled_pages).toBe(0);
    expect(st.compression_ratio).toBeCloseTo((10 * PAGE) / st.pool_total_size, 10);
    expect(st.compression_ratio).toBeGreaterThan(1.5); // 3 bits of entropy per byte
    const back = new Uint8Array(PAGE);
    for (let i = 1; i <= 10; i++) {
      z.load(i, back);
      expect(back).toEqual(textPage(i));
    }
    expect(z.stats()).toMatchObject({ stored_pages: 0, pool_total_size: 0, zswpin: 10, zswpout: 10 });
  });

  it('refuses a page that does not compress', () => {
    const z = pool(2 ** 24);
    const noise = new Uint8Array(PAGE);
    let s = 7;
    for (let i = 0; i < PAGE; i++) noise[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    expect(z.store(1, noise)).toBe(false);
    expect(z.stats().reject_compress_poor).toBe(1);
  });

  it('at its limit refuses pages and writes its oldest entries back until under the accept threshold', () => {
    shed.length = 0;
    const z = pool(100 * PAGE, 2, 50); // 8192 bytes of pool, accepting again below 4096
    let stored = 0;
    let slot = 1;
    while (z.store(slot, textPage(slot))) {
      stored++;
      slot++;
    }
    const st = z.stats();
    expect(st.reject_reclaim_fail).toBe(1);
    expect(st.zswpwb).toBe(shed.length);
    expect(shed.length).toBeGreaterThan(0);
    expect(st.pool_total_size).toBeLessThan(4096);
    // Refused until under the threshold: the pool accepts again now.
    expect(z.store(slot, textPage(slot))).toBe(true);
    // The shed pages are the oldest, with their bytes intact.
    shed.forEach(([s, bytes], i) => {
      expect(s).toBe(i + 1);
      expect(bytes).toEqual(textPage(s));
    });
    expect(st.stored_pages).toBe(stored - shed.length);
  });
});

describe('SwapCache', () => {
  it('maps slot <-> frame both ways', () => {
    const c = new SwapCache();
    c.add(5, 100);
    c.add(6, 101);
    expect([c.frameOf(5), c.slotOf(101), c.size]).toEqual([100, 6, 2]);
    expect(c.deleteFrame(100)).toBe(5);
    expect(c.frameOf(5)).toBeUndefined();
    expect(c.deleteSlot(6)).toBe(101);
    expect(c.deleteSlot(6)).toBeUndefined();
    expect(c.size).toBe(0);
  });
});

describe('swap entries', () => {
  it("are Linux x86-64's: P clear, offset inverted in bits 9-58, type 0 in 59-63", async () => {
    const { encodeSwapEntry, decodeSwapEntry, encodeSwapEntryInto } = await import('../../src/reclaim/swap-entry.js');
    // __swp_entry(0, 1) = ~1 << 14 >> 5 = 0x07ff_ffff_ffff_fc00
    expect(encodeSwapEntry(1)).toEqual([0xffff_fc00, 0x07ff_ffff]);
    for (const slot of [1, 2, 4095, 2 ** 23, 2 ** 32 - 1, 2 ** 40]) {
      const [lo, hi] = encodeSwapEntry(slot);
      expect(lo & 0x1ff).toBe(0); // P and bits 1-8 clear
      expect(hi >>> 27).toBe(0); // type 0
      expect(decodeSwapEntry(lo, hi)).toBe(slot);
      const a = new Uint32Array(1);
      const b = new Uint32Array(1);
      encodeSwapEntryInto(slot, a, b, 0);
      expect([a[0], b[0]]).toEqual([lo, hi]);
    }
    expect(decodeSwapEntry(0, 0)).toBe(-1); // pte_none
    expect(decodeSwapEntry(0x1003, 0)).toBe(-1); // present
  });
});
