/**
 * What smaps adds up per region (Linux's struct mem_size_stats, fs/proc/task_mmu.c), gathered
 * from the page tables in bulk: one walk of the tables in simulated RAM for all regions, one
 * refCountList call for every frame met, then the accounting of smaps_account() page by page.
 *
 * Mapcount: Linux divides a shared page's Pss by its mapcount (the page-table entries mapping
 * it in all processes). vmsim keeps a reference count per frame, which is one per leaf mapping
 * it plus the references no entry holds: a shared memory object's own reference on each of
 * its pages and the swap cache's on a page it holds. The mapcount is that count less those two
 * (so it is exact for vmsim's memory); the fast path takes refcount 1 as "mapped once", as
 * smaps_account does with folio_ref_count.
 */
import { scanEntries, entryFrame } from '../../machine/table-scan.js';
import { PTE } from '../../core/constants.js';
import { decodeSwapEntry } from '../../reclaim/swap-entry.js';
import type { RegionRecord } from '../region.js';
import type { ProcSpace } from './proc-state.js';
import { objectPageKind } from './rss-counts.js';
import { VM_LOCKED } from '../vm-flags.js';

/** PSS_SHIFT: Pss is added up in bytes << 12, so that dividing by a mapcount loses little. */
export const PSS_ONE_PAGE = 4096 * 4096;

/** Byte totals (the pss* fields in bytes << 12), as Linux's mem_size_stats. */
export interface MemSizeStats {
  resident: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  referenced: number;
  anonymous: number;
  lazyfree: number;
  anonymousThp: number;
  swap: number;
  pss: number;
  pssDirty: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
  pssLocked: number;
  swapPss: number;
}

/** Zeroed totals. */
export function newMemSizeStats(): MemSizeStats {
  return { resident: 0, sharedClean: 0, sharedDirty: 0, privateClean: 0, privateDirty: 0, referenced: 0, anonymous: 0, lazyfree: 0, anonymousThp: 0, swap: 0, pss: 0, pssDirty: 0, pssAnon: 0, pssFile: 0, pssShmem: 0, pssLocked: 0, swapPss: 0 };
}

/** A growable list of numbers in a Float64Array (frames for one refCountList call). */
class NumberList {
  a = new Float64Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/** One entry met in a region: a 4 KiB-level entry or the part of a large leaf inside the region. */
interface Met {
  region: number;
  /** First page address of the part inside the region. */
  la: number;
  pages: number;
  lo: number;
  hi: number;
  /** Bytes the entry maps (4096, 2 MiB, 1 GiB). */
  size: number;
  /** Index of its first frame in the frame list, or -1 (swap entry, zero page, frame outside RAM). */
  frame: number;
}

/**
 * Adds up the statistics of `regions` (address order, all of this space), one MemSizeStats per
 * region, as smaps_pte_range / smaps_pmd_entry / smaps_account and the shmem swap count do.
 */
export function gatherMemSizeStats(vm: ProcSpace, regions: readonly RegionRecord[]): MemSizeStats[] {
  const out = regions.map(() => newMemSizeStats());
  if (regions.length === 0) return out;
  const ctx = vm.ctx;
  const total = ctx.frames.total;
  const frames = new NumberList();
  const met: Met[] = [];
  let ri = 0;
  scanEntries(ctx.frames, vm.pages.root, regions[0]!.start, regions[regions.length - 1]!.end, (la, lo, hi, size) => {
    while (regions[ri]!.end <= la && ri + 1 < regions.length) ri++;
    const r = regions[ri]!;
    const s = Math.max(la, r.start);
    const e = Math.min(la + size, r.end);
    if (e <= s) return;
    const pages = (e - s) / 4096;
    let first = -1;
    if ((lo & PTE.P) !== 0) {
      let pfn = entryFrame(lo, hi);
      if (size > 4096) pfn = pfn - (pfn % (size / 4096)) + (s - la) / 4096;
      if (pfn <= 0 || pfn + pages > total || ctx.isZeroFrame(pfn)) return; // vm_normal_page: no page to count
      first = frames.n;
      for (let k = 0; k < pages; k++) frames.push(pfn + k);
    }
    met.push({ region: ri, la: s, pages, lo, hi, size, frame: first });
  });
  const refs = new Float64Array(frames.n);
  if (frames.n > 0) ctx.frames.refCounts(frames.a, frames.n, refs);
  const cache = ctx.swapCache.size > 0 ? ctx.swapCache : undefined;
  const slots = ctx.swap?.slots;
  const lazy = vm.resident?.lazyFree;
  for (const m of met) {
    const r = regions[m.region]!;
    const st = out[m.region]!;
    const vpn = m.la / 4096;
    if (m.frame < 0) {
      // A swap entry (present entries without a countable page were dropped above).
      const slot = decodeSwapEntry(m.lo, m.hi);
      if (slot < 0 || slots === undefined || slot > slots.total) continue;
      st.swap += 4096;
      let mapcount = slots.refs(slot) - (cache?.frameOf(slot) !== undefined ? 1 : 0);
      if (mapcount < 1) mapcount = 1;
      st.swapPss += mapcount >= 2 ? Math.floor(PSS_ONE_PAGE / mapcount) : PSS_ONE_PAGE;
      continue;
    }
    const size = m.pages * 4096;
    const pfn0 = frames.a[m.frame]!;
    const kind = objectPageKind(vm, r, m.la, pfn0);
    const object = kind !== undefined;
    const young = (m.lo & PTE.A) !== 0;
    const dirty = (m.lo & PTE.D) !== 0;
    const locked = (r.flags & VM_LOCKED) !== 0;
    if (!object) {
      st.anonymous += size;
      if (lazy !== undefined && !dirty && lazy.has(vpn)) st.lazyfree += size;
      if (m.size > 4096) st.anonymousThp += size;
    }
    st.resident += size;
    if (young) st.referenced += size;
    if (refs[m.frame] === 1) {
      accumulate(st, kind, size, size * 4096, dirty, locked, true);
      continue;
    }
    for (let k = 0; k < m.pages; k++) {
      const f = frames.a[m.frame + k]!;
      let mapcount = refs[m.frame + k]! - (object ? 1 : 0);
      if (cache !== undefined && cache.slotOf(f) !== undefined) mapcount--;
      const pss = mapcount >= 2 ? Math.floor(PSS_ONE_PAGE / mapcount) : PSS_ONE_PAGE;
      accumulate(st, kind, 4096, pss, dirty, locked, mapcount < 2);
    }
  }
  // Shared memory swapped out is counted per region from the object (shmem_swap_usage): the
  // pages of the region's range held in swap; a private mapping counts those it does not map.
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    if (r.backing.type !== 'object') continue;
    const obj = ctx.shmObject(r.backing.objectId);
    if (obj === undefined || obj.swappedPages === 0) continue;
    const first = r.backing.offset / 4096;
    const count = Math.min((r.end - r.start) / 4096, obj.size / 4096 - first);
    let mapped: Set<number> | undefined;
    if (!r.shared) {
      mapped = new Set();
      for (const m of met) if (m.region === i) for (let k = 0; k < m.pages; k++) mapped.add(m.la / 4096 + k - r.start / 4096);
    }
    for (let k = 0; k < count; k++) if (obj.isSwapped(first + k) && !mapped?.has(k)) out[i]!.swap += 4096;
  }
  return out;
}

/** smaps_page_accumulate(): one page (or a mapped-once folio) into the totals. */
function accumulate(st: MemSizeStats, kind: 'shmem' | 'file' | undefined, size: number, pss: number, dirty: boolean, locked: boolean, exclusive: boolean): void {
  st.pss += pss;
  if (kind === 'shmem') st.pssShmem += pss;
  else if (kind === 'file') st.pssFile += pss;
  else st.pssAnon += pss;
  if (locked) st.pssLocked += pss;
  if (dirty) {
    st.pssDirty += pss;
    if (exclusive) st.privateDirty += size;
    else st.sharedDirty += size;
  } else if (exclusive) st.privateClean += size;
  else st.sharedClean += size;
}

/** Adds `b` into `a` (smaps_rollup adds every region's totals, fixed-point Pss included, before shifting). */
export function addMemSizeStats(a: MemSizeStats, b: MemSizeStats): void {
  for (const k of Object.keys(a) as (keyof MemSizeStats)[]) a[k] += b[k];
}
