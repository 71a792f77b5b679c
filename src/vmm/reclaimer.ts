/**
 * Machine-wide reclaim, as Linux does it for a zone: watermarks computed from the memory
 * size (mm/page_alloc.c), background reclaim (kswapd) woken at allocation points when free
 * memory falls below `low` and run until it is above `high`, direct reclaim by the allocating
 * process below `min`, and the OOM killer (src/vmm/oom-killer.ts) when nothing more can be reclaimed.
 * Reclaim goes through the processes' resident sets round-robin (like shrink_node over the
 * memory cgroups), each evicting a batch chosen by its own policy.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import type { OomCandidate, OomKiller } from './oom-killer.js';

export type { OomKill } from './oom-killer.js';

/** What reclaim needs of a reclaim domain: a process's resident set, the machine's shared memory (ShmReclaim) or its page cache (FileReclaim). */
export interface Reclaimable {
  /** A process's pages (an OOM candidate), the machine's shared memory or its file pages (nobody's to kill). */
  readonly domain: 'process' | 'shmem' | 'file';
  /** Evicts up to `count` pages chosen by its policy; returns how many went. */
  evict(count: number, incoming: number | undefined, who: 'kswapd' | 'direct'): number;
  /** Pages on its LRU lists (evictable pages it tracks). */
  lruPages(): number;
}

/** A process's resident set (ResidentSet): reclaimable, and a candidate of the OOM killer. */
export type ProcessReclaimable = Reclaimable & OomCandidate;

/** The domains that belong to a process (shared memory is nobody's to kill). */
function* processes(sets: Iterable<Reclaimable>): Iterable<OomCandidate> {
  for (const r of sets) if (r.domain === 'process') yield r as ProcessReclaimable;
}

/** SWAP_CLUSTER_MAX: pages reclaimed per batch. */
const BATCH = 32;

/** Free-page thresholds in pages. */
export interface Watermarks {
  min: number;
  low: number;
  high: number;
}

/**
 * Linux's watermarks for `pages` managed pages: min_free_kbytes = int_sqrt(16 × KiB of memory)
 * clamped to [128, 262144]; min = min_free_kbytes / 4 pages; low = min + max(min / 4,
 * pages × watermark_scale_factor (10) / 10000); high = min + 2 × that (__setup_per_zone_wmarks).
 */
export function linuxWatermarks(pages: number): Watermarks {
  const kib = pages * 4;
  const minFreeKbytes = Math.min(262144, Math.max(128, Math.floor(Math.sqrt(kib * 16))));
  const min = Math.floor(minFreeKbytes / 4);
  const tmp = Math.max(Math.floor(min / 4), Math.floor((pages * 10) / 10000));
  return { min, low: min + tmp, high: min + 2 * tmp };
}

/** Validates user watermarks (EINVAL naming the key); fills the missing ones from Linux's. */
export function resolveWatermarks(given: unknown, pages: number): Watermarks {
  const w = linuxWatermarks(pages);
  if (given === undefined) return w;
  strictOptions(given, 'options.watermarks', ['min', 'low', 'high']);
  const g = given as Partial<Watermarks>;
  const out = { min: g.min ?? w.min, low: g.low ?? w.low, high: g.high ?? w.high };
  for (const k of ['min', 'low', 'high'] as const) {
    if (!Number.isSafeInteger(out[k]) || out[k] < 0 || out[k] > pages) throw new VmmError('EINVAL', `options.watermarks.${k} must be a whole number of pages from 0 to ${pages}, got ${describe(out[k])}`);
  }
  if (!(out.min <= out.low && out.low <= out.high)) throw new VmmError('EINVAL', `options.watermarks must satisfy min <= low <= high, got ${out.min}, ${out.low}, ${out.high}`);
  return out;
}

/** The machine's reclaim: resident sets register here. */
export class Reclaimer {
  readonly sets = new Set<Reclaimable>();
  /** kswapd runs (wake-ups that reclaimed something). */
  kswapdRuns = 0;
  /** Processes the OOM killer killed from here: a caller compares it across allocation points (anything may have changed after one). */
  oomKills = 0;
  private cursor = 0;
  private running = false;

  constructor(
    readonly watermarks: Watermarks,
    private readonly freeFrames: () => number,
    /** The machine's OOM killer (chooses, destroys and reports a victim). */
    private readonly oom: OomKiller,
    /** Drops up to n unmapped swap-cache pages; returns how many. */
    private readonly shrinkCache: (n: number) => number = () => 0,
  ) {}

  /**
   * An allocation point (a fault about to take a frame for `rs`; none for the page cache's own
   * allocations, read(2) and write(2)): wakes kswapd below `low`
   * (reclaims to `high`), reclaims directly below `min`, and with no free frame left and
   * nothing reclaimable kills a process. 'killed': the faulting process itself was killed (its
   * fault must not go on); 'again': the OOM killer killed another process and onOomKill ran,
   * so anything may have changed (the fault must be looked at anew, nothing was allocated);
   * 'ok': go on.
   */
  beforeAllocate(rs: ProcessReclaimable | undefined): 'ok' | 'killed' | 'again' {
    if (this.running) return 'ok'; // reclaim itself allocates nothing, but never recurse
    const free = this.freeFrames();
    if (free >= this.watermarks.low && free >= 2) return 'ok'; // the usual case: one query, nothing to do
    this.running = true;
    let killed = false;
    try {
      const w = this.watermarks;
      if (this.freeFrames() < w.low) {
        if (this.reclaimUntil(w.high, 'kswapd') > 0) this.kswapdRuns++;
      }
      if (this.freeFrames() < w.min) this.reclaimUntil(w.min + 1, 'direct');
      while (this.freeFrames() < 2) {
        // Out of memory: nothing reclaimable is left (swap full, or everything locked).
        const victim = this.oom.victim(processes(this.sets));
        if (!victim) break; // nobody may be killed (all oom_score_adj -1000): the fault fails with ENOMEM
        killed = true;
        this.oomKills++;
        this.oom.killGlobal(victim);
        if (victim === rs) return 'killed';
      }
      return killed ? 'again' : 'ok';
    } finally {
      this.running = false;
    }
  }

  /** Anonymous pages on LRU lists: the processes' and shared memory's tracked pages. */
  anonPages(): number {
    let n = 0;
    for (const r of this.sets) if (r.domain !== 'file') n += r.lruPages();
    return n;
  }

  /** Evicts round-robin over the processes until `target` frames are free; returns pages reclaimed. */
  private reclaimUntil(target: number, who: 'kswapd' | 'direct'): number {
    // Unmapped swap-cache pages (read ahead, never used) are the cheapest to reclaim: no write, no unmap.
    let total = this.shrinkCache(Math.max(0, target - this.freeFrames()));
    let idle = 0;
    while (this.freeFrames() < target && this.sets.size > 0 && idle < this.sets.size) {
      const list = [...this.sets];
      const rs = list[this.cursor++ % list.length]!;
      const n = rs.evict(Math.min(BATCH, Math.max(1, target - this.freeFrames())), undefined, who);
      if (n === 0) idle++;
      else {
        idle = 0;
        total += n;
      }
    }
    return total;
  }
}
