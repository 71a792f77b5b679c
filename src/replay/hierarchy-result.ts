/** The hierarchy part of a replay's result: one row per array, level totals, walks, references, cost, MPKI, the time series. */
import { HierStat, LEVEL_SLOTS, SLOT_NAMES, Slot, SlotStat } from '../tlb/layout.js';
import type { ResolvedHierarchy } from '../tlb/hierarchy-options.js';
import type { HierarchyResult, SeriesResult, TlbLevelResult } from './replay-result.js';

const rate = (m: number, n: number) => (n > 0 ? m / n : 0);

/** Rows of every array present (TLB arrays first, then the walk caches). */
export function hierarchyLevels(h: ResolvedHierarchy, st: Float64Array): TlbLevelResult[] {
  const rows: TlbLevelResult[] = [];
  for (let s = 0; s < Slot.COUNT; s++) {
    const a = h.arrays[s];
    if (!a) continue;
    const b = s * SlotStat.FIELDS;
    const hits = st[b + SlotStat.HITS]!;
    const misses = st[b + SlotStat.MISSES]!;
    rows.push({
      name: SLOT_NAMES[s]!,
      level: s < Slot.L1D ? 'l1i' : s < Slot.STLB ? 'l1d' : s < Slot.L2I ? 'stlb' : s < Slot.PWC_PML4 ? 'l2i' : 'pwc',
      entries: a.entries,
      ways: a.ways,
      pageSize: s >= Slot.PWC_PML4 ? SLOT_NAMES[s]!.slice(4) : a.sizes.join('+'), // a walk cache: the entry it caches
      policy: a.policy,
      hits,
      misses,
      missRate: rate(misses, hits + misses),
      fills: st[b + SlotStat.FILLS]!,
      evictions: st[b + SlotStat.EVICTIONS]!,
    });
  }
  return rows;
}

/** Level totals, walks, references, cost and MPKI. `instructions` = instruction-fetch records (0: no MPKI). */
export function hierarchySummary(h: ResolvedHierarchy, st: Float64Array, accesses: number, instructions: number): HierarchyResult {
  const slotHits = (slots: readonly number[]) => slots.reduce((n, s) => n + st[s * SlotStat.FIELDS + SlotStat.HITS]!, 0);
  const has = (slots: readonly number[]) => slots.some((s) => h.arrays[s] !== undefined);
  const level = (slots: readonly number[], misses: number) => {
    const hits = slotHits(slots);
    return { present: has(slots), lookups: hits + misses, hits, misses, missRate: rate(misses, hits + misses) };
  };
  // The fetch side's second level is the L2 ITLB when there is one (AMD), else the shared second level.
  const secondI = { hits: st[HierStat.STLB_HITS_I]!, misses: st[HierStat.STLB_MISSES_I]! };
  const splitI = has(LEVEL_SLOTS.l2i);
  const stlbI = splitI ? { hits: 0, misses: 0 } : secondI;
  const stlbD = { hits: st[HierStat.STLB_HITS_D]!, misses: st[HierStat.STLB_MISSES_D]! };
  const refs = { pml4e: st[HierStat.REFS_PML4E]!, pdpte: st[HierStat.REFS_PDPTE]!, pde: st[HierStat.REFS_PDE]!, pte: st[HierStat.REFS_PTE]! };
  const refTotal = refs.pml4e + refs.pdpte + refs.pde + refs.pte;
  const walks = st[HierStat.WALKS_I]! + st[HierStat.WALKS_D]!;
  const l1i = level(LEVEL_SLOTS.l1i, st[HierStat.L1I_MISSES]!);
  const l1d = level(LEVEL_SLOTS.l1d, st[HierStat.L1D_MISSES]!);
  const stlb = level(LEVEL_SLOTS.stlb, stlbI.misses + stlbD.misses);
  const l2i = level(LEVEL_SLOTS.l2i, splitI ? secondI.misses : 0);
  // Cost: a hit costs its array's latency; a level miss the slowest array of the level (all are probed);
  // a walk its walk-cache probes and its memory references.
  const lat = (s: number) => h.arrays[s]?.latency ?? 0;
  const maxLat = (slots: readonly number[]) => Math.max(0, ...slots.map(lat));
  const hitCycles = (slots: readonly number[]) => slots.reduce((n, s) => n + st[s * SlotStat.FIELDS + SlotStat.HITS]! * lat(s), 0);
  const l1Hit = hitCycles(LEVEL_SLOTS.l1i) + hitCycles(LEVEL_SLOTS.l1d);
  const l1Miss = l1i.misses * maxLat(LEVEL_SLOTS.l1i) + l1d.misses * maxLat(LEVEL_SLOTS.l1d);
  const stlbCycles = hitCycles(LEVEL_SLOTS.stlb) + stlb.misses * maxLat(LEVEL_SLOTS.stlb) + hitCycles(LEVEL_SLOTS.l2i) + l2i.misses * maxLat(LEVEL_SLOTS.l2i);
  const secondPresent = stlb.present || l2i.present;
  const secondLookups = stlb.lookups + l2i.lookups;
  let pwcCycles = 0;
  for (let s = Slot.PWC_PML4; s < Slot.COUNT; s++) pwcCycles += (st[s * SlotStat.FIELDS + SlotStat.HITS]! + st[s * SlotStat.FIELDS + SlotStat.MISSES]!) * lat(s);
  const w = h.walkReference;
  const memCycles = refs.pml4e * w[0] + refs.pdpte * w[1] + refs.pde * w[2] + refs.pte * w[3];
  const total = l1Hit + l1Miss + stlbCycles + pwcCycles + memCycles;
  const l1Misses = l1i.misses + l1d.misses;
  const r: HierarchyResult = {
    ...(h.cpu ? { cpu: h.cpu } : {}),
    l1i,
    l1d,
    stlb: { ...stlb, byKind: { instruction: stlbI, data: stlbD } },
    l2i,
    walks: { instruction: st[HierStat.WALKS_I]!, data: st[HierStat.WALKS_D]!, faulting: st[HierStat.FAULT_WALKS]!, assists: st[HierStat.ASSISTS]! },
    walkReferences: { ...refs, total: refTotal, perWalk: rate(refTotal, walks) },
    cost: {
      translationCycles: total,
      cyclesPerAccess: rate(total, accesses),
      // Per lookup that reached the second level (an L1 miss, or a lookup of a side without an L1); without a second level, per L1 miss.
      averageMissCycles: secondPresent ? rate(stlbCycles + pwcCycles + memCycles, secondLookups) : rate(pwcCycles + memCycles, l1Misses),
      averageWalkCycles: rate(pwcCycles + memCycles, walks),
      latencies: Object.fromEntries(h.arrays.filter((a) => a).map((a) => [a!.name, a!.latency])),
      walkReference: [...w],
    },
  };
  if (instructions > 0) {
    const k = 1000 / instructions;
    r.mpki = { l1i: l1i.misses * k, l1d: l1d.misses * k, stlb: stlb.misses * k, ...(l2i.present ? { l2i: l2i.misses * k } : {}), walks: walks * k };
  }
  return r;
}

/** The time series of one TLB: its miss rate and misses per access within each window (points: records, lookups, misses). */
export function singleTlbSeries(every: number, points: number[][]): SeriesResult {
  const out: SeriesResult = { every, points: [] };
  let prev = [0, 0, 0];
  for (const p of points) {
    const d = p.map((v, i) => v - prev[i]!);
    out.points.push({ accesses: p[0]!, tlbMissRate: rate(d[2]!, d[1]!), missesPerAccess: rate(d[2]!, d[0]!) });
    prev = p;
  }
  return out;
}

/** The time series: miss rates within each window between consecutive points. */
export function seriesResult(every: number, points: number[][]): SeriesResult {
  const out: SeriesResult = { every, points: [] };
  let prev = [0, 0, 0, 0, 0, 0, 0, 0];
  for (const p of points) {
    const d = p.map((v, i) => v - prev[i]!);
    // d: records, l1i lookups, l1i misses, l1d lookups, l1d misses, stlb lookups, stlb misses, misses of every level
    out.points.push({ accesses: p[0]!, l1iMissRate: rate(d[2]!, d[1]!), l1dMissRate: rate(d[4]!, d[3]!), stlbMissRate: rate(d[6]!, d[5]!), missesPerAccess: rate(d[7]!, d[0]!) });
    prev = p;
  }
  return out;
}
