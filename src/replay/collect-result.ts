/** The numbers of a finished replay, gathered from the engine, the machine's counters and the page tables. */
import { Counter, TraceOut } from '../core/constants.js';
import type { ReplayEngine } from './replay-engine.js';
import type { ResolvedReplayOptions } from './replay-options.js';
import type { ReplayResult } from './replay-result.js';
import { HierStat } from '../tlb/layout.js';
import { hierarchyLevels, hierarchySummary, seriesResult, singleTlbSeries } from './hierarchy-result.js';
import type { Machine } from '../system/machine.js';
import type { AddressSpace } from '../vmm/address-space.js';
import type { ResidentSet } from '../vmm/resident-set.js';

/** Counters minus a baseline's, field by field. */
function since<T extends object>(now: T, base: T | undefined): T {
  if (!base) return now;
  const out = { ...now } as Record<string, unknown>;
  for (const [k, v] of Object.entries(base)) if (typeof v === 'number' && typeof out[k] === 'number') out[k] = (out[k] as number) - v;
  return out as T;
}

/** 4 KiB pages in the user half: the range scanned for Accessed bits. */
export const USER_PAGES = 2 ** 47 / 4096;

/** What the counts start from: the machine's counters and frames in use when the replay began, and (after a warm-up) the process's fault and reclaim counts at its end. */
export interface Baseline {
  counters: Float64Array;
  usedFrames: number;
  faults?: { minor: number; major: number; cow: number };
  reclaim?: ResidentSet['counters'];
}

/** The counts at the end of a warm-up (the frames in use stay those at the start: frames used is the whole run's). */
export function measureBaseline(machine: Machine, space: AddressSpace): Omit<Baseline, 'usedFrames'> {
  const f = space.stats().faults;
  const rs = space.vm.resident;
  return { counters: Float64Array.from(machine.counters), faults: { minor: f.minor, major: f.major, cow: f.cow }, ...(rs ? { reclaim: { ...rs.counters } } : {}) };
}

/** Builds the ReplayResult; `before` holds the counts the replay's start from. */
export function collectResult(engine: ReplayEngine, o: ResolvedReplayOptions, trace: ReplayResult['trace'], before: Baseline, timeMs: number): ReplayResult {
  const { machine, space } = engine;
  const d = (i: number) => machine.counters[i]! - before.counters[i]!;
  const out = engine.out;
  const levels: ReplayResult['tlb']['levels'] = [];
  let hits: number;
  let misses: number;
  const h = o.hierarchy;
  const st = engine.hierStats;
  if (h && st) {
    levels.push(...hierarchyLevels(h, st));
    misses = st[HierStat.MISSES_ALL]!;
    hits = levels.filter((l) => l.level !== 'pwc').reduce((n, l) => n + l.hits, 0);
  } else {
    // The core counts the retry after a resolved fault as a second lookup; the trace made one (retries are counted apart, as machine.stats() does).
    hits = d(Counter.HITS);
    misses = d(Counter.MISSES) - engine.retries;
    levels.push({ name: 'tlb', entries: o.tlb.entries, ways: o.tlb.ways, hits, misses });
  }
  const vm = space.stats();
  const touched = space.pages.scanAccessed(0, USER_PAGES, false);
  // Under a resident limit (4 KiB pages only) the leaves left at the end are not the pages touched: the resident set counted them as they faulted in.
  const rs = space.vm.resident;
  const pagesTouched = rs?.countTouched ? rs.touchedPages : touched.leaves;
  const bytesTouched = rs?.countTouched ? rs.touchedPages * 4096 : touched.pages * 4096;
  // leaves = huge + small and pages = 512 * huge + small (4 KiB pages covered): the split by size.
  const huge = rs?.countTouched ? 0 : (touched.pages - touched.leaves) / 511;
  const records = out[TraceOut.LOADS]! + out[TraceOut.STORES]! + out[TraceOut.INSTRS]! + out[TraceOut.MODIFIES]!;
  const result: ReplayResult = {
    trace,
    accesses: records,
    byKind: { instructions: out[TraceOut.INSTRS]!, loads: out[TraceOut.LOADS]!, stores: out[TraceOut.STORES]!, modifies: out[TraceOut.MODIFIES]! },
    pageCrossing: out[TraceOut.SPLITS]!,
    tlb: { lookups: hits + misses, hits, misses, missRate: hits + misses > 0 ? misses / (hits + misses) : 0, retries: engine.retries, levels },
    walks: d(Counter.WALKS),
    faults: { total: d(Counter.FAULTS), pageIns: engine.pageIns, writeProtect: engine.writeProtect, minor: vm.faults.minor - (before.faults?.minor ?? 0), major: vm.faults.major - (before.faults?.major ?? 0), cow: vm.faults.cow - (before.faults?.cow ?? 0), segv: engine.segv },
    segfaults: engine.segfaults,
    pageSize: o.pageSize,
    pagesTouched,
    pagesTouchedBySize: { '4k': pagesTouched - huge, '2m': huge },
    bytesTouched,
    framesUsed: machine.core.totalFrames - machine.core.freeFrames() - before.usedFrames,
    regions: vm.regions,
    backend: machine.core.backend,
    timeMs,
    nsPerAccess: trace.records > 0 ? (timeMs * 1e6) / trace.records : 0,
  };
  if (rs) {
    const c = since(rs.counters, before.reclaim);
    const z = machine.vmm.swap?.zswapStats();
    result.swap = { in: c.pswpin + c.zswpin, out: c.pswpout + c.zswpout, ...(z ? { zswap: { storedPages: z.stored_pages, compressedBytes: z.pool_total_size, ratio: z.compression_ratio } } : {}) };
    result.evictions = { clean: c.evict_clean, dirty: c.evict_dirty };
    const pages = rs.tracked.size + rs.locked.size;
    // After a warm-up the pages resident at its end came in uncounted: the window's page-ins are its faults'.
    result.resident = { frames: rs.config.limit, policy: rs.policy.name, pages, pageIns: before.reclaim ? result.faults.pageIns : pages + c.evict_clean + c.evict_dirty };
  }
  if (h && st) {
    result.tlb.hierarchy = hierarchySummary(h, st, records, out[TraceOut.INSTRS]!);
    const pwc = levels.filter((l) => l.level === 'pwc');
    if (pwc.length > 0) {
      result.pwc = { walkReferences: result.tlb.hierarchy.walkReferences.total, levels: pwc.map((l) => ({ name: l.name.slice(4, -1) as 'pml4' | 'pdpt' | 'pd', entries: l.entries, hits: l.hits, misses: l.misses })) };
    }
    if (o.seriesEvery) result.series = seriesResult(o.seriesEvery, engine.series);
  } else if (o.seriesEvery) result.series = singleTlbSeries(o.seriesEvery, engine.series);
  return result;
}
