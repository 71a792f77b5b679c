/**
 * Memory-pressure counters, named as Linux names them in /proc/vmstat (machine) and
 * /proc/PID/status (VmRSS, VmSwap per process), so numbers can be compared with a kernel's.
 */

/** Counters of reclaim and swap (all pages, all monotonic except the gauges noted). */
export interface ReclaimCounters {
  /** Page faults (minor + major). */
  pgfault: number;
  /** Faults that read a page from swap or the compressed pool. */
  pgmajfault: number;
  /** Pages read from / written to the swap device. */
  pswpin: number;
  pswpout: number;
  /** Pages scanned / reclaimed by background reclaim (kswapd) and by the allocating process (direct). */
  pgscan_kswapd: number;
  pgscan_direct: number;
  pgsteal_kswapd: number;
  pgsteal_direct: number;
  /** Pages read ahead into the swap cache, and faults that found such a page there. */
  swap_ra: number;
  swap_ra_hit: number;
  /** Faults that found their page in the swap cache (a minor fault). */
  swapcache_hit: number;
  /** Evicted pages dropped without a write (clean with a valid swap copy) / written first. */
  evict_clean: number;
  evict_dirty: number;
  /** Pages stored in / loaded from the compressed pool. */
  zswpout: number;
  zswpin: number;
  /** Processes killed by the OOM killer. */
  oom_kill: number;
}

/** A zeroed counter record. */
export function newReclaimCounters(): ReclaimCounters {
  return {
    pgfault: 0,
    pgmajfault: 0,
    pswpin: 0,
    pswpout: 0,
    pgscan_kswapd: 0,
    pgscan_direct: 0,
    pgsteal_kswapd: 0,
    pgsteal_direct: 0,
    swap_ra: 0,
    swap_ra_hit: 0,
    swapcache_hit: 0,
    evict_clean: 0,
    evict_dirty: 0,
    zswpout: 0,
    zswpin: 0,
    oom_kill: 0,
  };
}

/** Adds b's counters into a (for machine totals). */
export function addReclaimCounters(a: ReclaimCounters, b: ReclaimCounters): ReclaimCounters {
  for (const k of Object.keys(a) as (keyof ReclaimCounters)[]) a[k] += b[k];
  return a;
}
