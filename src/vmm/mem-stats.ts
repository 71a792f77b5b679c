/**
 * /proc/meminfo and /proc/vmstat of the machine, keyed by the kernel's own field names and
 * computed from the machine's state at the moment of the call (meminfo in kB as the file
 * prints it, vmstat in pages, pgpgin/pgpgout in KiB as the kernel reports them):
 * - MemFree from the frame allocator, Cached = page cache pages (files and shared memory),
 *   SwapCached = pages in memory that also hold a swap slot, Shmem = shared memory pages,
 *   Mapped = page cache pages some page table maps, AnonPages = the distinct frames private
 *   mappings map (read from the page tables in RAM; the zero pages and cache pages excluded),
 *   PageTables = every address space's tables, its top-level one included;
 * - Active(file)/Inactive(file) are the file LRU lists; the anonymous lists are the processes'
 *   and shared memory's replacement policies: Active(anon) is what policies with an active list
 *   ('linux') hold there, Inactive(anon) the rest of the anonymous and shared memory pages that
 *   are not mlocked, Unevictable = Mlocked = the mlocked pages;
 * - MemAvailable as si_mem_available estimates it: free pages above the reserve (the high
 *   watermark) plus the page cache minus the smaller of its half and the low watermark.
 */
import type { VmmContext } from './vmm-context.js';
import type { Frames } from '../machine/frames.js';
import { SharedMemoryObject } from './shared-memory.js';
import { linuxWatermarks } from './reclaimer.js';
import type { ResidentSet } from './resident-set.js';
import type { FileReclaim } from './reclaim/file-reclaim.js';

/** /proc/meminfo's fields vmsim computes (kB). */
export interface MemInfo {
  MemTotal: number;
  MemFree: number;
  MemAvailable: number;
  Buffers: number;
  Cached: number;
  SwapCached: number;
  Active: number;
  Inactive: number;
  'Active(anon)': number;
  'Inactive(anon)': number;
  'Active(file)': number;
  'Inactive(file)': number;
  Unevictable: number;
  Mlocked: number;
  SwapTotal: number;
  SwapFree: number;
  Dirty: number;
  Writeback: number;
  AnonPages: number;
  Mapped: number;
  Shmem: number;
  PageTables: number;
}

/** /proc/vmstat's fields vmsim computes (pages, pgpgin/pgpgout in KiB). */
export interface VmStat {
  nr_free_pages: number;
  nr_inactive_anon: number;
  nr_active_anon: number;
  nr_inactive_file: number;
  nr_active_file: number;
  nr_unevictable: number;
  nr_mlock: number;
  nr_anon_pages: number;
  nr_mapped: number;
  nr_file_pages: number;
  nr_dirty: number;
  nr_writeback: number;
  nr_shmem: number;
  nr_page_table_pages: number;
  nr_swapcached: number;
  nr_vmscan_immediate_reclaim: number;
  nr_dirtied: number;
  nr_written: number;
  nr_dirty_threshold: number;
  nr_dirty_background_threshold: number;
  pgpgin: number;
  pgpgout: number;
  pswpin: number;
  pswpout: number;
  pgfault: number;
  pgmajfault: number;
  pgactivate: number;
  pgdeactivate: number;
  pgrotated: number;
  pgrefill: number;
  pgscan_kswapd: number;
  pgscan_direct: number;
  pgscan_anon: number;
  pgscan_file: number;
  pgsteal_kswapd: number;
  pgsteal_direct: number;
  pgsteal_anon: number;
  pgsteal_file: number;
  workingset_refault_anon: number;
  workingset_refault_file: number;
  workingset_activate_anon: number;
  workingset_activate_file: number;
  workingset_restore_anon: number;
  workingset_restore_file: number;
  workingset_nodereclaim: number;
  swap_ra: number;
  swap_ra_hit: number;
  zswpin: number;
  zswpout: number;
  oom_kill: number;
}

/** What the statistics read of the machine besides its VMM context. */
export interface StatSources {
  readonly ctx: VmmContext;
  readonly frames: Frames;
  /** Roots of every address space (page-table pages). */
  readonly roots: readonly number[];
  /** Roots of the VMM-managed spaces (whose private pages are AnonPages). */
  readonly vmmRoots: readonly number[];
  /** The processes' resident sets. */
  readonly residentSets: readonly ResidentSet[];
  /** File reclaim's counters. */
  readonly fileReclaim: FileReclaim;
}

const USER_ENTRIES = 256;

/** Reads the little-endian entry i of table `table`: [lo, hi]. */
function entry(frames: Frames, table: number, i: number): [number, number] {
  const v = frames.view(table);
  const o = frames.offset(table) + i * 8;
  const lo = (v[o]! | (v[o + 1]! << 8) | (v[o + 2]! << 16) | (v[o + 3]! << 24)) >>> 0;
  const hi = (v[o + 4]! | (v[o + 5]! << 8) | (v[o + 6]! << 16) | (v[o + 7]! << 24)) >>> 0;
  return [lo, hi];
}

/** The user half of `root`: its table pages (root included) and every frame a present leaf maps (into `mapped`). */
function walk(frames: Frames, root: number, mapped: Set<number> | undefined): number {
  let tables = 1;
  const visit = (table: number, level: number, entries: number): void => {
    for (let i = 0; i < entries; i++) {
      const [lo, hi] = entry(frames, table, i);
      if ((lo & 1) === 0) continue;
      const leaf = level === 1 || (level <= 3 && (lo & 0x80) !== 0);
      // A large leaf's bit 12 is its PAT bit, not an address bit.
      const addr = (lo & (leaf && level > 1 ? 0xffffe000 : 0xfffff000)) >>> 0;
      const f = addr / 4096 + (hi & 0xfffff) * 2 ** 20;
      if (f <= 0 || f >= frames.total) continue;
      if (leaf) {
        if (mapped) {
          const n = level === 1 ? 1 : level === 2 ? 512 : 512 * 512;
          for (let k = 0; k < n; k++) mapped.add(f + k);
        }
        continue;
      }
      tables++;
      visit(f, level - 1, 512);
    }
  };
  visit(root, 4, USER_ENTRIES);
  return tables;
}

/** The counts both files are made of (pages). */
function census(src: StatSources) {
  const { ctx, frames } = src;
  const mapped = new Set<number>();
  let pageTables = 0;
  const vmm = new Set(src.vmmRoots);
  for (const r of src.roots) pageTables += walk(frames, r, vmm.has(r) ? mapped : undefined);
  const cacheFrames: number[] = [];
  let shmem = 0;
  let filePages = 0;
  for (const o of ctx.allInodes()) {
    for (const p of o.pages.values()) cacheFrames.push(p.pfn);
    if (o instanceof SharedMemoryObject) shmem += o.pages.size;
    else filePages += o.pages.size;
  }
  const cacheSet = new Set(cacheFrames);
  let anon = 0;
  for (const f of mapped) if (!ctx.isZeroFrame(f) && !cacheSet.has(f)) anon++;
  const pfns = Float64Array.from(cacheFrames);
  const refs = new Float64Array(pfns.length);
  if (pfns.length > 0) frames.refCounts(pfns, pfns.length, refs);
  let mappedCache = 0;
  for (let i = 0; i < refs.length; i++) if (refs[i]! > 1) mappedCache++;
  let swapCached = ctx.swapCache.size;
  let mlocked = 0;
  let activeAnon = 0;
  for (const rs of src.residentSets) {
    swapCached += rs.cached.size;
    mlocked += rs.locked.size;
    activeAnon += activeOf(rs.policy);
  }
  if (ctx.shmPager) activeAnon += activeOf(ctx.shmPager.policy);
  const inactiveAnon = Math.max(0, anon + shmem - activeAnon - mlocked);
  return { anon, shmem, filePages, mappedCache, swapCached, mlocked, activeAnon, inactiveAnon, pageTables };
}

/** Pages a replacement policy holds on an active list (0 for policies without one). */
function activeOf(policy: object): number {
  const a = (policy as { active?: { size?: number } }).active;
  return typeof a?.size === 'number' ? a.size : 0;
}

/** /proc/meminfo. */
export function meminfo(src: StatSources): MemInfo {
  const { ctx, frames } = src;
  const c = census(src);
  const lru = ctx.pageCache.lru;
  const free = frames.freeCount();
  const wm = ctx.reclaimer?.watermarks ?? linuxWatermarks(frames.total);
  const pagecache = lru.activeSize + lru.inactiveSize;
  const available = Math.max(0, free - wm.high + pagecache - Math.min(Math.floor(pagecache / 2), wm.low));
  const cached = c.filePages + c.shmem;
  const kb = (pages: number) => pages * 4;
  return {
    MemTotal: kb(frames.total),
    MemFree: kb(free),
    MemAvailable: kb(available),
    Buffers: 0,
    Cached: kb(cached),
    SwapCached: kb(c.swapCached),
    Active: kb(c.activeAnon + lru.activeSize),
    Inactive: kb(c.inactiveAnon + lru.inactiveSize),
    'Active(anon)': kb(c.activeAnon),
    'Inactive(anon)': kb(c.inactiveAnon),
    'Active(file)': kb(lru.activeSize),
    'Inactive(file)': kb(lru.inactiveSize),
    Unevictable: kb(c.mlocked),
    Mlocked: kb(c.mlocked),
    SwapTotal: kb(ctx.swap?.slots.total ?? 0),
    SwapFree: kb(ctx.swap?.slots.free ?? 0),
    Dirty: kb(ctx.pageCache.nrDirty),
    Writeback: 0,
    AnonPages: kb(c.anon),
    Mapped: kb(c.mappedCache),
    Shmem: kb(c.shmem),
    PageTables: kb(c.pageTables),
  };
}

/** /proc/vmstat. */
export function vmstat(src: StatSources): VmStat {
  const { ctx, frames } = src;
  const c = census(src);
  const lru = ctx.pageCache.lru;
  const fr = src.fileReclaim.counters;
  const r = ctx.reclaim;
  const ws = ctx.pageCache.workingset.counters;
  const pc = ctx.pageCache.counters;
  const limits = ctx.flusher.limits();
  let pgactivate = lru.pgactivate;
  let pgdeactivate = lru.pgdeactivate;
  const policies: object[] = src.residentSets.map((rs) => rs.policy);
  if (ctx.shmPager) policies.push(ctx.shmPager.policy);
  for (const p of policies) {
    const q = p as { pgactivate?: number; pgdeactivate?: number };
    if (typeof q.pgactivate === 'number') pgactivate += q.pgactivate;
    if (typeof q.pgdeactivate === 'number') pgdeactivate += q.pgdeactivate;
  }
  const swap = ctx.swap;
  const pswpin = swap?.pswpin ?? 0;
  const pswpout = swap?.pswpout ?? 0;
  return {
    nr_free_pages: frames.freeCount(),
    nr_inactive_anon: c.inactiveAnon,
    nr_active_anon: c.activeAnon,
    nr_inactive_file: lru.inactiveSize,
    nr_active_file: lru.activeSize,
    nr_unevictable: c.mlocked,
    nr_mlock: c.mlocked,
    nr_anon_pages: c.anon,
    nr_mapped: c.mappedCache,
    nr_file_pages: c.filePages + c.shmem + c.swapCached,
    nr_dirty: ctx.pageCache.nrDirty,
    nr_writeback: 0,
    nr_shmem: c.shmem,
    nr_page_table_pages: c.pageTables,
    nr_swapcached: c.swapCached,
    nr_vmscan_immediate_reclaim: fr.nr_vmscan_immediate_reclaim,
    nr_dirtied: pc.nr_dirtied,
    nr_written: pc.nr_written,
    nr_dirty_threshold: limits.limit,
    nr_dirty_background_threshold: limits.background,
    pgpgin: (pc.pagesIn + pswpin) * 4,
    pgpgout: (pc.pagesOut + pswpout) * 4,
    pswpin,
    pswpout,
    pgfault: ctx.faults.minor + ctx.faults.major,
    pgmajfault: r.pgmajfault,
    pgactivate,
    pgdeactivate,
    pgrotated: lru.pgrotated,
    pgrefill: fr.pgrefill,
    pgscan_kswapd: r.pgscan_kswapd,
    pgscan_direct: r.pgscan_direct,
    pgscan_anon: r.pgscan_kswapd + r.pgscan_direct - fr.pgscan_file,
    pgscan_file: fr.pgscan_file,
    pgsteal_kswapd: r.pgsteal_kswapd,
    pgsteal_direct: r.pgsteal_direct,
    pgsteal_anon: r.pgsteal_kswapd + r.pgsteal_direct - fr.pgsteal_file,
    pgsteal_file: fr.pgsteal_file,
    ...ws,
    swap_ra: r.swap_ra,
    swap_ra_hit: r.swap_ra_hit,
    zswpin: r.zswpin,
    zswpout: r.zswpout,
    oom_kill: r.oom_kill,
  };
}
