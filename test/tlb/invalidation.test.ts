/**
 * SDM Vol. 3A §4.10.4 on every array of the hierarchy, case by case: INVLPG, the four INVPCID
 * types, CR3 loads with and without bit 63, page faults, and the core's own invalidations
 * (what the VMM calls) — which TLB entries (by PCID, global or not) and which walk-cache entries
 * each one drops.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import { GLOBAL_TAG } from '../../src/core/constants.js';
import { HierOp, HierStat, Slot } from '../../src/tlb/layout.js';
import { encodeHierarchy, resolveHierarchy } from '../../src/tlb/hierarchy-options.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { BACKENDS } from '../backends.js';

const P1 = 0x40_0000_0000; // two pages in one 2 MiB block, a third in another 1 GiB region
const P2 = P1 + 0x1000;
const P3 = P1 + 0x4000_0000;
const G = P1 + 0x2000; // mapped global
const TLB_SLOTS = [Slot.L1I, Slot.L1D, Slot.STLB];
const PWC_SLOTS = [Slot.PWC_PML4, Slot.PWC_PDPT, Slot.PWC_PD];
const PWC_SHIFT: Record<number, number> = { [Slot.PWC_PML4]: 39, [Slot.PWC_PDPT]: 30, [Slot.PWC_PD]: 21 };

function setup(backend: 'native' | 'js') {
  const m = new Machine({ memory: '1GiB', backend });
  const a = m.createAddressSpace();
  const b = m.createAddressSpace();
  for (const s of [a, b]) {
    for (const va of [P1, P2, P3]) s.mapPage(va, m.physical.allocFrame(), { user: true, writable: true });
    s.mapPage(G, m.physical.allocFrame(), { user: true, writable: true, global: true });
  }
  const h = resolveHierarchy({ arrays: { l1i: { entries: 16, ways: 8 }, l1d: { entries: 16, ways: 4 }, stlb: { entries: 16, ways: 16 } }, pwc: { pml4: 4, pdpt: 4, pd: 4 } }, 'tlb', 'cpu');
  const stats = new Float64Array(HierStat.LENGTH);
  m.switchTo(a);
  expect(m.core.hierarchy(encodeHierarchy(h), stats)).toBe(0);
  const out = new Float64Array(5);
  /** A load (kind 0) or an instruction fetch (kind 2) of la. */
  const touch = (la: number, kind = 0) => {
    const w = new Uint32Array(2);
    packRecord(w, 0, la, kind, 8);
    return m.core.hierTraceBatch(w, 0, 1, 1, out);
  };
  const buf = new Float64Array(5 * 64 + 2);
  const keys = (slot: number): number[] => {
    const n = m.core.hierDump(slot, buf);
    const k: number[] = [];
    for (let i = 0; i < n - 2 - n / 5; i += 4) if (buf[i]! >= 0) k.push(buf[i]!);
    return k;
  };
  /** Does `slot` hold the 4K translation (or, for a walk cache, the entry) of la for tag? */
  const has = (slot: number, la: number, tag: number) => {
    const shift = PWC_SHIFT[slot] ?? 12;
    return keys(slot).includes(Math.floor(la / 2 ** shift) * 4 * 8192 + tag);
  };
  /** Touches every page in both spaces (a's and b's entries, global G once). */
  const fill = () => {
    m.switchTo(a);
    for (const la of [P1, P2, P3, G]) expect([touch(la), touch(la, 2)]).toEqual([2, 2]);
    m.switchTo(b);
    for (const la of [P1, P2, P3]) expect([touch(la), touch(la, 2)]).toEqual([2, 2]);
    m.switchTo(a);
  };
  return { m, a, b, touch, has, keys, fill, stats };
}

describe.each(BACKENDS)('TLB hierarchy invalidation per the SDM (%s)', (backend) => {
  it('fills: every TLB array holds each space tagged with its PCID, global pages once with the global tag; the walk caches hold the upper entries per PCID', () => {
    const { a, b, has, fill } = setup(backend);
    fill();
    expect(a.pcid).not.toBe(b.pcid);
    for (const s of TLB_SLOTS) {
      for (const la of [P1, P2, P3]) for (const t of [a.pcid, b.pcid]) expect(has(s, la, t)).toBe(true);
      expect(has(s, G, GLOBAL_TAG)).toBe(true);
      expect(has(s, G, a.pcid)).toBe(false);
    }
    for (const s of PWC_SLOTS) for (const t of [a.pcid, b.pcid]) expect(has(s, P1, t) && has(s, P3, t)).toBe(true);
  });

  it('INVLPG drops the page for the PCID and its global entry, and every walk-cache entry of that PCID whatever its address', () => {
    const { m, a, b, has, fill } = setup(backend);
    fill();
    expect(m.core.hierInvalidate(HierOp.INVLPG, a.pcid, P1)).toBe(0);
    expect(m.core.hierInvalidate(HierOp.INVLPG, a.pcid, G)).toBe(0);
    for (const s of TLB_SLOTS) {
      expect(has(s, P1, a.pcid)).toBe(false);
      expect(has(s, G, GLOBAL_TAG)).toBe(false);
      expect(has(s, P2, a.pcid)).toBe(true); // other pages stay
      expect(has(s, P1, b.pcid)).toBe(true); // other PCIDs stay
    }
    for (const s of PWC_SLOTS) {
      expect(has(s, P3, a.pcid)).toBe(false); // another address, same PCID: dropped too
      expect(has(s, P1, b.pcid)).toBe(true);
    }
  });

  it('INVPCID type 0 (individual address) drops the page for the PCID but not global translations; walk caches of the PCID go', () => {
    const { m, a, b, has, fill } = setup(backend);
    fill();
    m.core.hierInvalidate(HierOp.INVPCID_ADDRESS, a.pcid, P1);
    m.core.hierInvalidate(HierOp.INVPCID_ADDRESS, a.pcid, G);
    for (const s of TLB_SLOTS) {
      expect(has(s, P1, a.pcid)).toBe(false);
      expect(has(s, G, GLOBAL_TAG)).toBe(true);
      expect(has(s, P2, a.pcid) && has(s, P1, b.pcid)).toBe(true);
    }
    for (const s of PWC_SLOTS) expect([has(s, P1, a.pcid), has(s, P1, b.pcid)]).toEqual([false, true]);
  });

  it('INVPCID type 1 (single context) drops every non-global entry of the PCID, in every array', () => {
    const { m, a, b, has, fill } = setup(backend);
    fill();
    m.core.hierInvalidate(HierOp.INVPCID_CONTEXT, a.pcid, 0);
    for (const s of TLB_SLOTS) {
      for (const la of [P1, P2, P3]) expect([has(s, la, a.pcid), has(s, la, b.pcid)]).toEqual([false, true]);
      expect(has(s, G, GLOBAL_TAG)).toBe(true);
    }
    for (const s of PWC_SLOTS) expect([has(s, P1, a.pcid), has(s, P1, b.pcid)]).toEqual([false, true]);
  });

  it('INVPCID type 2 (all contexts, globals included) empties every array; type 3 keeps only global translations', () => {
    const t2 = setup(backend);
    t2.fill();
    t2.m.core.hierInvalidate(HierOp.INVPCID_ALL_GLOBAL, 0, 0);
    for (let s = 0; s < Slot.COUNT; s++) if (t2.m.core.hierDump(s, new Float64Array(400)) > 0) expect(t2.keys(s)).toEqual([]);
    const t3 = setup(backend);
    t3.fill();
    t3.m.core.hierInvalidate(HierOp.INVPCID_ALL, 0, 0);
    for (const s of TLB_SLOTS) expect(t3.keys(s)).toEqual([Math.floor(G / 4096) * 4 * 8192 + GLOBAL_TAG]);
    for (const s of PWC_SLOTS) expect(t3.keys(s)).toEqual([]); // walk-cache entries are never global
  });

  it('a CR3 load drops the new PCID\'s non-global entries and walk-cache entries; with bit 63 set (noFlush) nothing', () => {
    const { m, a, b, has, fill } = setup(backend);
    fill();
    m.core.setCr3(a.rootFrame, a.pcid, true);
    for (const s of [...TLB_SLOTS, ...PWC_SLOTS]) expect(has(s, P1, a.pcid)).toBe(true);
    m.core.setCr3(a.rootFrame, a.pcid, false);
    for (const s of TLB_SLOTS) {
      expect([has(s, P1, a.pcid), has(s, P1, b.pcid), has(s, G, GLOBAL_TAG)]).toEqual([false, true, true]);
    }
    for (const s of PWC_SLOTS) expect([has(s, P1, a.pcid), has(s, P1, b.pcid)]).toEqual([false, true]);
  });

  it('after a CR3 load that flushes nothing, lookups use the new PCID: the other space\'s entries do not hit', () => {
    const { m, a, b, touch, stats } = setup(backend);
    m.switchTo(a);
    expect([touch(P1), touch(P1), touch(P1)]).toEqual([2, 2, 2]); // a miss, then hits
    const before = stats[HierStat.L1D_MISSES]!;
    m.switchTo(b); // PCIDs: bit 63 set, nothing flushed
    expect(touch(P1)).toBe(2);
    expect(stats[HierStat.L1D_MISSES]! - before).toBe(1); // b's P1 was never translated
    m.switchTo(a);
    const hits = stats[Slot.L1D * 4]!;
    expect(touch(P1)).toBe(2);
    expect(stats[Slot.L1D * 4]! - hits).toBe(1); // a's entry survived the switches
  });

  it('without PCIDs a CR3 load drops every non-global entry and all walk caches', () => {
    const m = new Machine({ memory: '1GiB', backend, features: { pcid: false } });
    const a = m.createAddressSpace();
    a.mapPage(P1, m.physical.allocFrame(), { user: true });
    a.mapPage(G, m.physical.allocFrame(), { user: true, global: true });
    m.switchTo(a);
    const h = resolveHierarchy({ arrays: { l1d: { entries: 8, ways: 2 } }, pwc: { pd: 4 } }, 'tlb', 'cpu');
    m.core.hierarchy(encodeHierarchy(h), new Float64Array(HierStat.LENGTH));
    const w = new Uint32Array(4);
    packRecord(w, 0, P1, 0, 8);
    packRecord(w, 1, G, 0, 8);
    expect(m.core.hierTraceBatch(w, 0, 2, 1, new Float64Array(5))).toBe(4);
    m.core.setCr3(a.rootFrame, 0, false);
    const buf = new Float64Array(400);
    const live = (s: number) => {
      const n = m.core.hierDump(s, buf);
      const e = (n - 2) / 5;
      return Array.from({ length: e }, (_, i) => buf[4 * i]!).filter((k) => k >= 0);
    };
    expect(live(Slot.L1D)).toEqual([Math.floor(G / 4096) * 4 * 8192 + GLOBAL_TAG]);
    expect(live(Slot.STLB)).toEqual([Math.floor(G / 4096) * 4 * 8192 + GLOBAL_TAG]);
    expect(live(Slot.PWC_PD)).toEqual([]);
  });

  it('a page fault drops the walk-cache entries that would be used for its address, and nothing of other addresses', () => {
    const { a, has, touch, fill, stats } = setup(backend);
    fill();
    const hole = P1 + 0x3000; // same 2 MiB block as P1, not mapped
    expect(touch(hole)).toBe(0); // faulted at the first touch
    for (const s of PWC_SLOTS) expect(has(s, P1, a.pcid)).toBe(false); // the PDE/PDPTE/PML4E entries of hole's walk
    expect(has(Slot.PWC_PD, P3, a.pcid)).toBe(true); // P3's PDE entry is another address's
    for (const s of TLB_SLOTS) expect(has(s, P1, a.pcid)).toBe(true); // TLB entries of other pages stay
    expect(stats[HierStat.FAULT_WALKS]).toBe(1);
  });

  it("the core's invalidations reach the hierarchy: invalidate as INVLPG, flushPcid as INVPCID type 1, flushAll as types 2 and 3", () => {
    const t = setup(backend);
    t.fill();
    t.m.core.invalidate(t.a.pcid, P1, 2);
    for (const s of TLB_SLOTS) expect([t.has(s, P1, t.a.pcid), t.has(s, P2, t.a.pcid), t.has(s, P3, t.a.pcid)]).toEqual([false, false, true]);
    t.m.core.flushPcid(t.b.pcid);
    for (const s of TLB_SLOTS) expect([t.has(s, P1, t.b.pcid), t.has(s, P3, t.a.pcid), t.has(s, G, GLOBAL_TAG)]).toEqual([false, true, true]);
    t.m.core.flushAll(false);
    for (const s of TLB_SLOTS) expect(t.keys(s)).toEqual([Math.floor(G / 4096) * 4 * 8192 + GLOBAL_TAG]);
    t.m.core.flushAll(true);
    for (const s of TLB_SLOTS) expect(t.keys(s)).toEqual([]);
  });

  it('bad hierarchy calls are EINVAL and change nothing', () => {
    const { m, a, fill, has } = setup(backend);
    fill();
    expect(m.core.hierInvalidate(9, 0, 0)).toBe(-22);
    expect(m.core.hierInvalidate(HierOp.INVLPG, 4096, 0)).toBe(-22);
    expect(m.core.hierInvalidate(HierOp.INVLPG, 0, 2 ** 48)).toBe(-22);
    expect(m.core.hierDump(10, new Float64Array(10))).toBe(-22);
    expect(m.core.hierDump(Slot.L1D_2M, new Float64Array(10))).toBe(-2); // absent slot
    expect(m.core.hierDump(Slot.L1D, new Float64Array(10))).toBe(-22); // too small for the array
    expect(m.core.hierTraceBatch(new Uint32Array(2), 0, 1, 0, new Float64Array(5))).toBe(-22); // supervisor mode is not modelled
    const bad = new Float64Array(50);
    bad[0] = 6; // 6 entries
    bad[1] = 4; // 4 ways: does not divide
    expect(m.core.hierarchy(bad, new Float64Array(HierStat.LENGTH))).toBe(-22);
    expect(has(Slot.STLB, P1, a.pcid)).toBe(true); // the old hierarchy is still attached
    expect(m.core.hierarchy(null, null)).toBe(0);
    expect(m.core.hierTraceBatch(new Uint32Array(2), 0, 1, 1, new Float64Array(5))).toBe(-22);
  });
});

describe.each(BACKENDS)('TLB hierarchy without a CR3 (%s)', (backend) => {
  it('an access before any CR3 load is a not-present fault at the first level, on both backends alike', () => {
    const m = new Machine({ memory: '1GiB', backend });
    const h = resolveHierarchy({ arrays: { l1d: { entries: 4 } }, pwc: { pd: 2 } }, 'tlb', 'cpu');
    const st = new Float64Array(HierStat.LENGTH);
    expect(m.core.hierarchy(encodeHierarchy(h), st)).toBe(0);
    const w = new Uint32Array(2);
    packRecord(w, 0, P1, 0, 8);
    expect(m.core.hierTraceBatch(w, 0, 1, 1, new Float64Array(5))).toBe(0);
    expect([st[HierStat.FAULT_WALKS], st[HierStat.REFS_PML4E], st[HierStat.MISSES_ALL]]).toEqual([1, 1, 1]);
  });
});
