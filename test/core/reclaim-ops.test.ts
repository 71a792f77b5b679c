/**
 * The core's reclaim operations (pageBits, clearAccessedList, swapOutList, readEntry,
 * writeEntries, swapIn, invalidateList, copyFramesOut): random sequences on the native core and the
 * pure-TS reference give identical return values, result slots, counters, TLB arrays, RAM
 * and reference counts; and the semantics stated in core.ts hold on each backend.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyOptions } from '../property-options.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { PageBit, PTE, Result, Status } from '../../src/core/constants.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import { coreRig, type CoreRig } from '../support/core-rig.js';

const MEM = 4 * 2 ** 20;
const BASE = 0x4000_0000;
const USER = PTE.RW | PTE.US;

interface Rig extends CoreRig {
  root: number;
}

function rig(make: (c: CoreConfig) => Core): Rig {
  const { core, tlb, counters, result } = coreRig(make, MEM, 0x1f, 8, 4);
  const root = core.createRoot();
  core.setCr3(root, 1, false);
  return { core, tlb, counters, result, root };
}

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

const la = (p: number) => BASE + p * 4096;
const pageArb = fc.integer({ min: 0, max: 40 });
const op = fc.oneof(
  fc.record({ t: fc.constant('map' as const), p: pageArb, n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('access' as const), p: pageArb, kind: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ t: fc.constant('bits' as const), ps: fc.array(pageArb, { maxLength: 10 }) }),
  fc.record({ t: fc.constant('clear' as const), ps: fc.array(pageArb, { maxLength: 10 }) }),
  fc.record({ t: fc.constant('out' as const), ps: fc.uniqueArray(pageArb, { maxLength: 6 }), slot: fc.integer({ min: 1, max: 1000 }), badP: fc.boolean() }),
  fc.record({ t: fc.constant('read' as const), p: pageArb }),
  fc.record({ t: fc.constant('write' as const), ps: fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 6 }), v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ t: fc.constant('in' as const), p: pageArb, own: fc.boolean(), fill: fc.integer({ min: 0, max: 255 }), nobytes: fc.boolean() }),
  fc.record({ t: fc.constant('inval' as const), ps: fc.array(pageArb, { maxLength: 5 }) }),
  fc.record({ t: fc.constant('unmap' as const), p: pageArb, n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ t: fc.constant('badlist' as const) }),
  // A 2 MiB page in the next block, and its 4 KiB parts read and cleared like any page.
  fc.record({ t: fc.constant('huge' as const) }),
  fc.record({ t: fc.constant('hbits' as const), ps: fc.array(fc.integer({ min: 512, max: 520 }), { maxLength: 4 }), clear: fc.boolean() }),
  // Frames by number (some free, some page tables, some user pages with bytes or zeros), into a buffer at an offset.
  fc.record({ t: fc.constant('copyout' as const), fs: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 5 }), start: fc.integer({ min: 0, max: 2 }), off: fc.integer({ min: 0, max: 3 }) }),
);

/** Runs one op; returns what it returned (and the result slots it filled). */
function run(r: Rig, o: fc.Arbitrary<unknown> extends never ? never : any): unknown {
  const c = r.core;
  const list = (ps: number[]) => Float64Array.from(ps, la);
  switch (o.t) {
    case 'map':
      return c.map(r.root, la(o.p), o.n, 12, USER, 0, -1);
    case 'access':
      return c.access(la(o.p) + 8, o.kind, 1);
    case 'bits': {
      const out = new Uint8Array(o.ps.length);
      const fr = new Float64Array(o.ps.length);
      return [c.pageBits(r.root, list(o.ps), o.ps.length, out, fr), [...out], [...fr]];
    }
    case 'clear':
      return c.clearAccessedList(r.root, list(o.ps), o.ps.length);
    case 'huge':
      return [c.map(r.root, la(512), 1, 21, USER, 0, -1), c.access(la(512) + 8, 1, 1)];
    case 'hbits': {
      if (o.clear) return c.clearAccessedList(r.root, list(o.ps), o.ps.length);
      const out = new Uint8Array(o.ps.length);
      const fr = new Float64Array(o.ps.length);
      return [c.pageBits(r.root, list(o.ps), o.ps.length, out, fr), [...out], [...fr]];
    }
    case 'out': {
      const lo = Uint32Array.from(o.ps, (_: number, i: number) => ((o.slot + i) << 12) | (o.badP && i === 0 ? 1 : 0));
      const hi = new Uint32Array(o.ps.length).fill(0x8000_0000);
      return c.swapOutList(r.root, list(o.ps), o.ps.length, lo, hi);
    }
    case 'read': {
      const st = c.readEntry(r.root, la(o.p));
      return [st, st === 0 ? [r.result[Result.B], r.result[Result.C]] : null];
    }
    case 'write': {
      // Pages far and near: the near ones may be present (EEXIST), the far ones need new tables.
      const ps = o.ps.map((p: number) => (p % 2 ? p % 41 : 600 + p));
      const lo = Uint32Array.from(ps, (_: number, i: number) => (o.v + i) << 1);
      return c.writeEntries(r.root, list(ps), ps.length, lo, new Uint32Array(ps.length));
    }
    case 'in': {
      const bytes = o.nobytes ? null : new Uint8Array(4096 + 16).fill(o.fill);
      let pfn = -1;
      if (o.own) {
        pfn = c.allocFrame();
        if (pfn < 0) return pfn;
      }
      const f = c.swapIn(r.root, la(o.p), pfn, USER, 0, bytes, 16);
      if (o.own) c.unrefFrame(pfn);
      return f;
    }
    case 'inval':
      c.invalidateList(1, list(o.ps), o.ps.length);
      return null;
    case 'unmap':
      return c.unmap(r.root, la(o.p), o.n);
    case 'copyout': {
      const dst = new Uint8Array(4096 * 6).fill(0xee);
      const zero = new Uint8Array(o.fs.length).fill(7);
      const count = Math.max(0, o.fs.length - o.start);
      const st = c.copyFramesOut(Float64Array.from(o.fs), o.start, count, dst, o.off * 4096 + (o.off === 3 ? 1 : 0), zero);
      return [st, [...zero], hashRam(dst)];
    }
    case 'badlist':
      return [c.pageBits(r.root, Float64Array.of(la(0) + 1), 1, new Uint8Array(1), new Float64Array(1)), c.clearAccessedList(r.root, Float64Array.of(2 ** 47), 1), c.swapOutList(r.root, Float64Array.of(la(0)), 2, new Uint32Array(2), new Uint32Array(2))];
  }
  return undefined;
}

/** The observable state: RAM of every allocated frame's refcount, counters, TLB arrays. */
function snapshot(r: Rig): unknown {
  const c = r.core;
  const refs: number[] = [];
  for (let f = 0; f < c.totalFrames; f++) refs.push(c.refCount(f));
  return { free: c.freeFrames(), refs, counters: [...r.counters], key: [...r.tlb.key], flags: [...r.tlb.flags], ram: Buffer.from(c.ramChunk(0)).toString('base64').length > 0 ? hashRam(c.ramChunk(0)) : 0 };
}

function hashRam(b: Uint8Array): number {
  let h = 0;
  const w = new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
  for (let i = 0; i < w.length; i++) h = (Math.imul(h, 31) + w[i]!) | 0;
  return h;
}

describe.skipIf(!nativeAvailable())('reclaim operations: native vs reference', () => {
  it('random sequences agree on every value, counter, TLB entry, refcount and RAM byte', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const a = rig(createRefCore);
        const b = rig(createNativeCore);
        try {
          for (const o of ops) {
            expect(run(b, o)).toEqual(run(a, o));
            expect(snapshot(b)).toEqual(snapshot(a));
          }
        } finally {
          a.core.dispose();
          b.core.dispose();
        }
      }),
      propertyOptions(60),
    );
  });
});

describe.each(makers)('reclaim operations on %s', (_name, make) => {
  it('pageBits reports A, D, presence, swap entries and frames; clearAccessedList clears A only', () => {
    const r = rig(make);
    const c = r.core;
    expect(c.map(r.root, la(0), 3, 12, USER, 0, -1)).toBe(0);
    expect(c.access(la(0), 1, 1)).toBeGreaterThan(0); // write: A and D
    expect(c.access(la(1), 0, 1)).toBeGreaterThan(0); // read: A
    const las = Float64Array.of(la(0), la(1), la(2), la(3));
    const out = new Uint8Array(4);
    const fr = new Float64Array(4);
    expect(c.pageBits(r.root, las, 4, out, fr)).toBe(0);
    const W = PageBit.WRITABLE; // USER maps read-write
    expect([...out]).toEqual([W | PageBit.PRESENT | PageBit.ACCESSED | PageBit.DIRTY, W | PageBit.PRESENT | PageBit.ACCESSED, W | PageBit.PRESENT, 0]);
    expect(fr[3]).toBe(-1);
    expect(fr[0]).toBeGreaterThan(0);
    expect(c.clearAccessedList(r.root, las, 4)).toBe(2);
    c.pageBits(r.root, las, 4, out, fr);
    expect([...out]).toEqual([W | PageBit.PRESENT | PageBit.DIRTY, W | PageBit.PRESENT, W | PageBit.PRESENT, 0]);
    c.dispose();
  });

  it("within a 2 MiB leaf pageBits reports the leaf's A/D and each 4 KiB part's frame; clearAccessedList clears the leaf's A", () => {
    const r = rig(make);
    const c = r.core;
    expect(c.map(r.root, la(512), 1, 21, USER, 0, -1)).toBe(0);
    expect(c.access(la(512 + 5) + 8, 1, 1)).toBeGreaterThan(0); // a write: the leaf's A and D
    const las = Float64Array.of(la(512), la(512 + 5), la(512 + 511));
    const out = new Uint8Array(3);
    const fr = new Float64Array(3);
    expect(c.pageBits(r.root, las, 3, out, fr)).toBe(0);
    const all = PageBit.LARGE | PageBit.PRESENT | PageBit.ACCESSED | PageBit.DIRTY | PageBit.WRITABLE;
    expect([...out]).toEqual([all, all, all]);
    expect(fr[0]! % 512).toBe(0);
    expect([fr[1]! - fr[0]!, fr[2]! - fr[0]!]).toEqual([5, 511]);
    expect(c.clearAccessedList(r.root, las, 3)).toBe(1); // one leaf, one Accessed bit
    c.pageBits(r.root, las, 3, out, fr);
    expect(out[1]).toBe(PageBit.LARGE | PageBit.PRESENT | PageBit.DIRTY | PageBit.WRITABLE);
    c.dispose();
  });

  it('swapOutList frees the frames and leaves the entries; readEntry shows them; swapIn maps the bytes back', () => {
    const r = rig(make);
    const c = r.core;
    c.map(r.root, la(0), 2, 12, USER, 0, -1);
    const free0 = c.freeFrames();
    const las = Float64Array.of(la(0), la(1));
    // All or nothing: a page that is not present refuses the whole list.
    expect(c.swapOutList(r.root, Float64Array.of(la(0), la(5)), 2, new Uint32Array([2, 4]), new Uint32Array(2))).toBe(Status.ENOENT);
    expect(c.swapOutList(r.root, las, 2, new Uint32Array([1, 4]), new Uint32Array(2))).toBe(Status.EINVAL); // P set
    expect(c.freeFrames()).toBe(free0);
    expect(c.swapOutList(r.root, las, 2, new Uint32Array([0x5000, 0x6000]), new Uint32Array([0x8000_0000, 0]))).toBe(2);
    expect(c.freeFrames()).toBe(free0 + 2);
    expect(c.readEntry(r.root, la(0))).toBe(0);
    expect([r.result[Result.B], r.result[Result.C]]).toEqual([0x5000, 0x8000_0000]);
    expect(c.translate(r.root, la(0))).toBe(Status.ENOENT);
    const bytes = new Uint8Array(4096).map((_, i) => i & 0xff);
    const f = c.swapIn(r.root, la(0), -1, USER, 0, bytes, 0);
    expect(f).toBeGreaterThan(0);
    expect(c.refCount(f)).toBe(1);
    const back = new Uint8Array(4096);
    expect(c.copyVirt(la(0), back, 0, 4096, false, 1)).toBe(4096);
    expect(back).toEqual(bytes);
    expect(c.swapIn(r.root, la(0), -1, USER, 0, null, 0)).toBe(Status.EEXIST);
    // A swap-cache hit maps an existing frame, which gains a reference.
    expect(c.swapIn(r.root, la(1), f, USER, 0, null, 0)).toBe(f);
    expect(c.refCount(f)).toBe(2);
    c.dispose();
  });

  it('writeEntries creates tables for entries and clears them; EEXIST over a present page changes nothing', () => {
    const r = rig(make);
    const c = r.core;
    c.map(r.root, la(0), 1, 12, USER, 0, -1);
    const free0 = c.freeFrames();
    expect(c.writeEntries(r.root, Float64Array.of(la(700), la(0)), 2, new Uint32Array([8, 8]), new Uint32Array(2))).toBe(Status.EEXIST);
    expect(c.freeFrames()).toBe(free0);
    expect(c.writeEntries(r.root, Float64Array.of(2 ** 40), 1, new Uint32Array([0x3000]), new Uint32Array([7]))).toBe(1);
    expect(c.freeFrames()).toBe(free0 - 3); // a PDPT, a PD and a PT
    expect(c.readEntry(r.root, 2 ** 40)).toBe(0);
    expect([r.result[Result.B], r.result[Result.C]]).toEqual([0x3000, 7]);
    expect(c.writeEntries(r.root, Float64Array.of(2 ** 40), 1, new Uint32Array(1), new Uint32Array(1))).toBe(1);
    expect(c.unmap(r.root, 2 ** 40, 1)).toBe(0);
    expect(c.freeFrames()).toBe(free0); // the emptied tables went with the unmap
    expect(c.readEntry(r.root, 2 ** 41)).toBe(Status.ENOENT);
    c.dispose();
  });

  it('copyFramesOut copies frames with bytes, flags all-zero frames without copying, refuses free frames and short arrays', () => {
    for (const [, make] of makers) {
      const r = rig(make);
      const c = r.core;
      expect(c.map(r.root, la(0), 2, 12, USER, 0, -1)).toBe(Status.OK);
      const fr = new Float64Array(2);
      c.pageBits(r.root, Float64Array.of(la(0), la(1)), 2, new Uint8Array(2), fr);
      const bytes = new Uint8Array(4096).fill(0x5a);
      bytes[4095] = 1;
      const pfn = c.swapIn(r.root, la(2), -1, USER, 0, bytes, 0);
      const frames = Float64Array.of(fr[0]!, pfn, fr[1]!);
      const dst = new Uint8Array(3 * 4096 + 8).fill(0xee);
      const zero = new Uint8Array(3);
      expect(c.copyFramesOut(frames, 0, 3, dst, 8, zero)).toBe(Status.OK);
      expect([...zero]).toEqual([1, 0, 1]);
      expect(dst.subarray(8 + 4096, 8 + 8192)).toEqual(bytes);
      expect(dst[8]).toBe(0xee); // a zero frame is not copied
      expect(c.copyFramesOut(frames, 1, 1, dst, 0, zero)).toBe(Status.OK); // from index start, to dst offset 0
      expect(dst.subarray(0, 4096)).toEqual(bytes);
      const free = c.allocFrame();
      c.unrefFrame(free);
      const before = Buffer.from(dst);
      expect(c.copyFramesOut(Float64Array.of(pfn, free), 0, 2, dst, 0, zero)).toBe(Status.EINVAL);
      expect(c.copyFramesOut(frames, 0, 3, dst, 4096, zero)).toBe(Status.EINVAL); // dst too short
      expect(c.copyFramesOut(frames, 2, 2, dst, 0, zero)).toBe(Status.EINVAL); // past the frame list
      expect(c.copyFramesOut(frames, 0, 1, dst, -1, zero)).toBe(Status.EINVAL);
      expect(c.copyFramesOut(frames, 0.5, 1, dst, 0, zero)).toBe(Status.EINVAL);
      expect(Buffer.from(dst).equals(before)).toBe(true);
    }
  });

  it('bad lists are EINVAL with nothing changed', () => {
    const r = rig(make);
    const c = r.core;
    expect(c.pageBits(r.root, Float64Array.of(la(0) + 1), 1, new Uint8Array(1), new Float64Array(1))).toBe(Status.EINVAL);
    expect(c.pageBits(r.root, Float64Array.of(la(0)), 2, new Uint8Array(2), new Float64Array(2))).toBe(Status.EINVAL);
    expect(c.pageBits(r.root, Float64Array.of(la(0)), 1, new Uint8Array(0), new Float64Array(1))).toBe(Status.EINVAL);
    expect(c.clearAccessedList(r.root, Float64Array.of(2 ** 47), 1)).toBe(Status.EINVAL);
    expect(c.readEntry(r.root, -4096)).toBe(Status.EINVAL);
    expect(c.swapIn(r.root, la(0), -1, USER, 0, new Uint8Array(100), 0)).toBe(Status.EINVAL);
    expect(c.swapIn(r.root, la(0), 0, USER, 0, null, 0)).toBe(Status.EINVAL); // frame 0 is never usable
    expect(() => c.invalidateList(1, Float64Array.of(3), 1)).toThrow(RangeError);
    c.dispose();
  });
});
