/**
 * Machine-wide reclaim, as Linux does it for a zone: watermarks computed from the memory
 * size (mm/page_alloc.c), background reclaim (kswapd) woken at allocation points when free
 * memory falls below `low` and run until it is above `high`, direct reclaim by the allocating
 * process below `min`, and the OOM killer (src/vmm/oom-killer.ts) when nothing more can be reclaimed.
 * A reclaim pass (shrink_node → shrink_lruvec) scans the anonymous and file LRU lists in the
 * proportions get_scan_count gives at a scan priority (src/vmm/reclaim/balance.ts: swappiness,
 * the lists' sizes and recent costs), SWAP_CLUSTER_MAX pages at a time per list, stopping the
 * smaller share once enough was reclaimed (proportional reclaim); kswapd lowers the priority
 * (scans more) when a pass scanned less than it needed or reclaimed nothing, down to 1, direct
 * reclaim after every pass, down to 0. The anonymous lists are the processes' resident sets
 * and shared memory's (each evicting the batches its own replacement policy chooses, taken
 * round-robin, like shrink_node over memory cgroups); the file lists are the page cache's.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import type { OomCandidate, OomKiller } from './oom-killer.js';
import { DEACTIVATE_FILE, DEF_PRIORITY, getScanCount, prepareScanControl, type LruSizes } from './reclaim/balance.js';

export type { OomKill } from './oom-killer.js';

/** What reclaim needs of a reclaim domain: a process's resident set, the machine's shared memory (ShmReclaim) or its page cache (FileReclaim). */
export interface Reclaimable {
  /** A process's pages (an OOM candidate), the machine's shared memory or its file pages (nobody's to kill). */
  readonly domain: 'process' | 'shmem' | 'file';
  /** Evicts up to `count` pages chosen by its policy; returns how many went. */
  evict(count: number, incoming: number | undefined, who: 'kswapd' | 'direct'): number;
  /** Pages on its LRU lists (evictable pages it tracks). */
  lruPages(): number;
  /** Of them, pages on an active list (0 when its policy has none). */
  activePages?(): number;
}

/** The page cache's lists as reclaim scans them (FileReclaim). */
export interface FileLists extends Reclaimable {
  readonly domain: 'file';
  /** Pages on the inactive and active file lists. */
  listSizes(): { inactive: number; active: number };
  /** shrink_inactive_list over up to n pages of the inactive tail: pages reclaimed. */
  shrinkInactiveList(n: number, who: 'kswapd' | 'direct'): number;
  /** shrink_active_list over up to n pages of the active tail. */
  shrinkActiveList(n: number): void;
  /** workingset_activate_file so far (refault activations). */
  refaultActivations(): number;
}

/** What a reclaim pass reads of the machine beyond free pages. */
export interface ReclaimInputs {
  /** vm.swappiness. */
  swappiness(): number;
  /** Swap has a free slot (can_reclaim_anon_pages). */
  canSwap(): boolean;
  /** lru_note_cost's running costs. */
  costs(): { anon: number; file: number };
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
  /** workingset_activate_file when the last reclaim ended (snapshot_refaults). */
  private refaultSnapshot = 0;
  /** The scan balances get_scan_count chose, by name (a test and bench view). */
  readonly balances = { equal: 0, fract: 0, anon: 0, file: 0 };

  constructor(
    readonly watermarks: Watermarks,
    private readonly freeFrames: () => number,
    /** The machine's OOM killer (chooses, destroys and reports a victim). */
    private readonly oom: OomKiller,
    /** Drops up to n unmapped swap-cache pages; returns how many. */
    private readonly shrinkCache: (n: number) => number = () => 0,
    /** Swappiness, swap room and costs (default: swappiness 60, swap always, no costs). */
    private readonly inputs: ReclaimInputs = { swappiness: () => 60, canSwap: () => true, costs: () => ({ anon: 0, file: 0 }) },
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

  /** Pages on the four LRU lists (the anonymous ones summed over the processes and shared memory). */
  lruSizes(): LruSizes {
    let anon = 0;
    let activeAnon = 0;
    let inactiveFile = 0;
    let activeFile = 0;
    for (const r of this.sets) {
      if (r.domain === 'file') {
        const l = (r as FileLists).listSizes();
        inactiveFile += l.inactive;
        activeFile += l.active;
      } else {
        anon += r.lruPages();
        activeAnon += r.activePages?.() ?? 0;
      }
    }
    return { inactiveAnon: anon - activeAnon, activeAnon, inactiveFile, activeFile };
  }

  /** Reclaims until `target` frames are free (or the priorities run out); returns pages reclaimed. */
  private reclaimUntil(target: number, who: 'kswapd' | 'direct'): number {
    // Unmapped swap-cache pages (read ahead, never used) are the cheapest to reclaim: no write, no unmap.
    let total = this.shrinkCache(Math.max(0, target - this.freeFrames()));
    const floor = who === 'kswapd' ? 1 : 0;
    let priority = DEF_PRIORITY;
    while (this.freeFrames() < target && priority >= floor) {
      const want = Math.max(BATCH, target - this.freeFrames());
      const { reclaimed, scanned } = this.shrinkNode(priority, want, who);
      total += reclaimed;
      // balance_pgdat raises the priority when a pass scanned less than it needed or reclaimed nothing; do_try_to_free_pages after every pass.
      if (who === 'direct' || scanned < want || reclaimed === 0) priority--;
    }
    this.refaultSnapshot = this.fileLists()?.refaultActivations() ?? 0;
    return total;
  }

  private fileLists(): FileLists | undefined {
    for (const r of this.sets) if (r.domain === 'file') return r as FileLists;
    return undefined;
  }

  /** shrink_node → shrink_lruvec at `priority`: the lists scanned as get_scan_count says, SWAP_CLUSTER_MAX at a time. */
  private shrinkNode(priority: number, nrToReclaim: number, who: 'kswapd' | 'direct'): { reclaimed: number; scanned: number } {
    const sizes = this.lruSizes();
    const files = this.fileLists();
    const costs = this.inputs.costs();
    const sc = prepareScanControl(priority, {
      sizes,
      free: this.freeFrames(),
      highWmark: this.watermarks.high,
      fileRefaulted: (files?.refaultActivations() ?? 0) !== this.refaultSnapshot,
      anonCost: costs.anon,
      fileCost: costs.file,
    });
    const hasAnon = sizes.inactiveAnon + sizes.activeAnon > 0;
    const { nr, balance } = getScanCount(sc, sizes, this.inputs.swappiness(), hasAnon && this.inputs.canSwap());
    this.balances[balance]++;
    const targets = [...nr];
    // Global direct reclaim at DEF_PRIORITY scans its whole share (proportional_reclaim).
    const proportional = who === 'direct' && priority === DEF_PRIORITY;
    let reclaimed = 0;
    let scanned = 0;
    while (nr[0] > 0 || nr[3] > 0 || nr[2] > 0) {
      for (let lru = 0; lru < 4; lru++) {
        if (nr[lru]! === 0) continue;
        const n = Math.min(nr[lru]!, BATCH);
        nr[lru] -= n;
        if (lru === 0) {
          const r = this.shrinkAnon(n, who);
          reclaimed += r;
          scanned += n;
        } else if (lru === 2 && files) {
          reclaimed += files.shrinkInactiveList(n, who);
          scanned += n;
        } else if (lru === 3 && files && (sc.mayDeactivate & DEACTIVATE_FILE) !== 0) files.shrinkActiveList(n);
        // The active anonymous lists: each process's policy deactivates its own pages as it selects.
      }
      if (reclaimed < nrToReclaim || proportional) continue;
      // Enough: scan the rest in proportion to what was asked of each type, stopping the smaller.
      const nrFile = nr[2] + nr[3];
      const nrAnon = nr[0] + nr[1];
      if (nrFile === 0 || nrAnon === 0) break;
      let stop: 0 | 2;
      let percentage: number;
      if (nrFile > nrAnon) {
        stop = 0;
        percentage = Math.floor((nrAnon * 100) / (targets[0]! + targets[1]! + 1));
      } else {
        stop = 2;
        percentage = Math.floor((nrFile * 100) / (targets[2]! + targets[3]! + 1));
      }
      nr[stop] = 0;
      nr[stop + 1] = 0;
      const other = stop === 0 ? 2 : 0;
      for (const lru of [other, other + 1]) {
        const done = targets[lru]! - nr[lru]!;
        nr[lru] = Math.floor((targets[lru]! * (100 - percentage)) / 100);
        nr[lru] -= Math.min(nr[lru]!, done);
      }
    }
    return { reclaimed, scanned };
  }

  /** shrink_inactive_list for the anonymous lists: `n` pages from the processes and shared memory, round-robin. */
  private shrinkAnon(n: number, who: 'kswapd' | 'direct'): number {
    const anon: Reclaimable[] = [];
    for (const r of this.sets) if (r.domain !== 'file' && r.lruPages() > 0) anon.push(r);
    let reclaimed = 0;
    let left = n;
    let idle = 0;
    while (left > 0 && anon.length > 0 && idle < anon.length) {
      const r = anon[this.cursor++ % anon.length]!;
      const got = r.evict(Math.min(left, BATCH), undefined, who);
      if (got === 0) idle++;
      else {
        idle = 0;
        left -= got;
        reclaimed += got;
      }
    }
    return reclaimed;
  }
}
