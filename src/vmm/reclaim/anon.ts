/**
 * Anonymous pages in the eviction pipeline: a batch of one process's private anonymous pages,
 * chosen by its replacement policy (or by MADV_PAGEOUT), as shrink_folio_list treats anonymous
 * folios:
 * - a page inside a 2 MiB page (THP) is split first (split_folio_to_list), and every tracked
 *   page of it joins the batch; a split that finds no frame for its table leaves that block's
 *   pages to the policy;
 * - classify: the zero page, and a MADV_FREE page not written since, are dropped (nothing to
 *   keep: the next fault sees zeros); a clean page whose swap copy is still valid (the swap
 *   cache) goes back to that slot without a write; any other page is written to a slot (its
 *   old slot, or a fresh one) — add_to_swap and pageout;
 * - the reverse map: the page's own entry, and — when the frame is COW-shared since a fork —
 *   the same address in every other process of its fork family. When the family and the swap
 *   cache account for every reference of the frame and none of them has it locked or inside a
 *   2 MiB page, the page goes from all of them (each entry gets the same swap entry, the slot a
 *   reference per entry; try_to_unmap); otherwise only the evicting process lets it go (its
 *   entry becomes the swap entry, the others keep the frame), as a memory cgroup's limit asks;
 * - commit: each entry that let the page go holds its slot (SWAPPED), the page leaves the
 *   policy; a put-back page returns to the policy (its MADV_FREE mark too).
 */
import { PAGE_SIZE, PageBit } from '../../core/constants.js';
import { VmmError } from '../../errors.js';
import type { Flushed } from '../../machine/tlb-flush.js';
import { CACHED, LAZY, SWAPPED, TRACKED } from '../page-states.js';
import type { PageTable } from '../../machine/page-table.js';
import type { ReclaimPolicy } from '../../reclaim/policy.js';
import type { ReclaimCounters } from '../../reclaim/reclaim-stats.js';
import type { PageStates } from '../page-states.js';
import type { ResidentConfig, ResidentContext } from '../resident-context.js';
import { Rmap, type RmapSpace } from './rmap.js';
import { evictBatch, Fate, type EvictionSource } from './pipeline.js';
import { dropCachePage, putSlot } from './swap-cache.js';

/** 4 KiB pages in a 2 MiB page. */
const HUGE_PAGES = 512;

/** What evicting anonymous pages needs of a process's resident set (a ResidentSet is one; named here so that reclaim does not import the resident set that calls it). */
export interface AnonSet {
  readonly domain: 'process';
  readonly policy: ReclaimPolicy;
  readonly st: PageStates;
  readonly counters: ReclaimCounters;
  readonly pages: PageTable;
  readonly ctx: ResidentContext;
  readonly config: ResidentConfig;
  readonly rmapSpace: RmapSpace & { owner: AnonSet };
}

/**
 * Evicts victims[0..n) of `rs` (vpns its policy has forgotten already) through the eviction
 * pipeline; `known`: their bits and frames from the policy's last read (a single victim the
 * policy just read), else they are read here. Returns pages evicted; throws what a swap write
 * threw, after the pages before it were evicted.
 */
export function evictAnon(rs: AnonSet, victims: Float64Array, n: number, who: 'kswapd' | 'direct', known?: { bits: number; frame: number }): number {
  const las = new Float64Array(n);
  const bits = new Uint8Array(n);
  const frames = new Float64Array(n);
  for (let i = 0; i < n; i++) las[i] = victims[i]! * PAGE_SIZE;
  if (known && n === 1) {
    bits[0] = known.bits;
    frames[0] = known.frame;
  } else rs.pages.pageBits(las, n, bits, frames);
  let vpns: Float64Array = victims.subarray(0, n);
  for (let i = 0; i < n; i++) {
    if ((bits[i]! & PageBit.LARGE) === 0) continue;
    const split = splitHugeVictims(rs, vpns, bits);
    if (split.length === 0) return 0;
    return evictAnon(rs, Float64Array.from(split), split.length, who);
  }
  vpns = Float64Array.from(vpns);
  const batch = new AnonBatch(rs, vpns, las, bits, frames);
  const { reclaimed, written, failure } = evictBatch(rs.ctx, batch);
  rs.ctx.noteCost(false, written, batch.n - reclaimed);
  if (reclaimed > 0) {
    if (who === 'kswapd') rs.counters.pgsteal_kswapd += reclaimed, rs.ctx.reclaim.pgsteal_kswapd += reclaimed;
    else rs.counters.pgsteal_direct += reclaimed, rs.ctx.reclaim.pgsteal_direct += reclaimed;
  }
  // A write that failed (a swap file's I/O error): the pages before it are evicted as decided, it and the rest stay.
  if (failure !== undefined) throw failure;
  return reclaimed;
}

/**
 * Victims inside 2 MiB pages: each such leaf becomes 512 4 KiB entries (A/D copied; the large
 * page's flush done) and every tracked page of it joins the batch. Returns the new batch.
 */
function splitHugeVictims(rs: AnonSet, vpns: Float64Array, bits: Uint8Array): number[] {
  const out: number[] = [];
  const blocks = new Map<number, number[]>();
  for (let i = 0; i < vpns.length; i++) {
    const v = vpns[i]!;
    if ((bits[i]! & PageBit.LARGE) === 0) out.push(v);
    else {
      const b = Math.floor(v / HUGE_PAGES);
      let list = blocks.get(b);
      if (!list) blocks.set(b, (list = []));
      list.push(v);
    }
  }
  for (const [b, chosen] of blocks) {
    const first = b * HUGE_PAGES;
    try {
      rs.pages.splitHuge(first * PAGE_SIZE).flush();
    } catch (e) {
      if (!(e instanceof VmmError && e.code === 'ENOMEM')) throw e;
      for (const v of chosen) rs.policy.insert(v, false);
      continue;
    }
    const picked = new Set(chosen);
    for (let v = first; v < first + HUGE_PAGES; v++) {
      if (picked.has(v)) out.push(v);
      else if (rs.st.has(v, TRACKED)) {
        rs.policy.remove(v);
        out.push(v);
      }
    }
  }
  return out;
}

/** A batch of one process's anonymous pages (see the file's comment). */
class AnonBatch implements EvictionSource {
  readonly needsRefs = false;
  readonly swapEntries = true;
  readonly n: number;
  /** The page had a MADV_FREE mark (taken at classify; given back at put-back). */
  private readonly lazy: Uint8Array;
  /** The page goes from its whole fork family. */
  private readonly family: Uint8Array;
  /** The slot of its valid swap copy at classify (-1: none). */
  private readonly cached: Float64Array;
  /** Family members that map each page being evicted from the whole family. */
  private sharers: Map<number, AnonSet[]> | undefined;

  constructor(
    private readonly rs: AnonSet,
    private readonly vpns: Float64Array,
    private readonly las: Float64Array,
    private readonly bits: Uint8Array,
    private readonly frames: Float64Array,
  ) {
    this.n = vpns.length;
    this.lazy = new Uint8Array(this.n);
    this.family = new Uint8Array(this.n);
    this.cached = new Float64Array(this.n);
  }

  /** Own entries (read already), and the fork family's entries of the COW-shared pages. */
  rmap(): Rmap {
    const { rs, n } = this;
    const rm = new Rmap(this.frames, n);
    rm.addRead(rs.rmapSpace, this.las, n, n <= IDENTITY.length ? IDENTITY : identity(n), this.bits, this.frames, false);
    const rc = rs.ctx.reclaimer;
    let shared = false;
    for (let k = 0; k < n; k++) if ((this.bits[k]! & PageBit.SHARED) !== 0 && !rs.ctx.isZeroFrame(this.frames[k]!)) shared = true;
    if (shared && rc) {
      for (const other of rc.sets) {
        // Only the fork family can share an anonymous page (Linux's anon_vma chain).
        if (!isResidentSet(other) || other === rs || other.config !== rs.config) continue;
        for (let k = 0; k < n; k++) if ((this.bits[k]! & PageBit.SHARED) !== 0 && !rs.ctx.isZeroFrame(this.frames[k]!)) rm.add(other.rmapSpace, this.las[k]!, k, false);
      }
    }
    rm.walk(false, false);
    if (shared) this.familyOf(rm);
    return rm;
  }

  /**
   * Which COW-shared pages go from the whole family: those whose other mappings are all pages
   * the others evict (tracked there: not locked, not inside a 2 MiB page) and, with the swap
   * cache, account for every reference of the frame. The others go from this process only:
   * the rest of the family's entries are left out of the unmap.
   */
  private familyOf(rm: Rmap): void {
    const { rs, n } = this;
    const others = new Map<number, AnonSet[]>();
    const broken = new Uint8Array(n);
    rm.forEachHit((space, k, la) => {
      if (space === rs.rmapSpace) return;
      const o = (space as RmapSpace & { owner: AnonSet }).owner;
      if (!o.st.has(la / PAGE_SIZE, TRACKED)) broken[k] = 1;
      let list = others.get(k);
      if (!list) others.set(k, (list = []));
      list.push(o);
    });
    const ks = [...others.keys()];
    const pfns = Float64Array.from(ks, (k) => this.frames[k]!);
    const refs = new Float64Array(ks.length);
    rs.ctx.frames.refCounts(pfns, ks.length, refs);
    const ownOnly = new Uint8Array(n).fill(1);
    ks.forEach((k, j) => {
      const list = others.get(k)!;
      if (broken[k] || rm.large[k] || refs[j] !== 1 + list.length + (rs.ctx.swapCache.slotOf(this.frames[k]!) !== undefined ? 1 : 0)) return;
      this.family[k] = 1;
      ownOnly[k] = 0;
    });
    this.sharers = others;
    rm.restrictTo(rs.rmapSpace, ownOnly);
  }

  classify(k: number, _rm: Rmap, _refs: number, slots: Float64Array): Fate {
    const { rs } = this;
    const st = rs.st;
    const vpn = this.vpns[k]!;
    const b = this.bits[k]!;
    const pfn = this.frames[k]!;
    if ((b & PageBit.PRESENT) === 0) throw new VmmError('EFAULT', `reclaim: the policy chose page ${vpn}, which is not resident (internal inconsistency)`);
    const lazy = st.delete(vpn, LAZY);
    this.lazy[k] = lazy ? 1 : 0;
    const c = st.slot(vpn, CACHED);
    this.cached[k] = c;
    // Nothing to keep: the zero page, or a MADV_FREE page not written since (the next fault sees zeros).
    if (rs.ctx.isZeroFrame(pfn) || (lazy && (b & PageBit.DIRTY) === 0)) return Fate.DROP;
    // Every page table of the family that maps this frame at this page gets the same swap entry (a fresh slot).
    if (this.family[k]) return Fate.WRITE;
    if (c >= 0 && (b & PageBit.DIRTY) === 0) {
      slots[k] = c; // the swap cache's reference becomes the entry's
      return Fate.REUSE;
    }
    slots[k] = c; // rewritten in place, or (-1) a fresh slot
    return Fate.WRITE;
  }

  wrote(_k: number, where: 'zswap' | 'device'): void {
    const { rs } = this;
    if (where === 'zswap') rs.counters.zswpout++, rs.ctx.reclaim.zswpout++;
    else rs.counters.pswpout++, rs.ctx.reclaim.pswpout++;
  }

  putBack(k: number): void {
    const vpn = this.vpns[k]!;
    if (this.lazy[k]) this.rs.st.add(vpn, LAZY);
    this.rs.policy.insert(vpn, false);
  }

  commit(k: number, fate: Fate, slot: number, _rm: Rmap, _flushed: Flushed): boolean {
    const { rs } = this;
    const st = rs.st;
    const ctx = rs.ctx;
    const vpn = this.vpns[k]!;
    const cachedSlot = this.cached[k]!;
    if (fate === Fate.DROP || fate === Fate.REUSE) rs.counters.evict_clean++, ctx.reclaim.evict_clean++;
    else rs.counters.evict_dirty++, ctx.reclaim.evict_dirty++;
    if (fate === Fate.DROP) {
      // A stale copy of a page that needs none.
      if (cachedSlot >= 0) putSlot(ctx, cachedSlot);
      if (ctx.isZeroFrame(this.frames[k]!)) rs.pages.zeroPages--; // VmRSS leaves zero-page mappings out
    } else if (this.family[k]) {
      for (const other of this.sharers!.get(k)!) {
        ctx.swap!.slots.dup(slot);
        unmapShared(other, vpn, slot);
      }
      const cacheSlot = ctx.swapCache.slotOf(this.frames[k]!);
      if (cacheSlot !== undefined) dropCachePage(ctx, cacheSlot);
      if (cachedSlot >= 0) putSlot(ctx, cachedSlot);
    }
    // (REUSE and a rewrite in place: the copy's slot reference is now the entry's.)
    if (cachedSlot >= 0) st.delete(vpn, CACHED);
    if (fate !== Fate.DROP) st.setSlot(vpn, SWAPPED, slot);
    st.delete(vpn, TRACKED);
    return true;
  }
}

/** Another process of the family let go of the page the evicting one shares with it: its bookkeeping (its entry took `slot`, whose reference it was given). */
function unmapShared(rs: AnonSet, vpn: number, slot: number): void {
  const st = rs.st;
  st.delete(vpn, TRACKED);
  rs.policy.remove(vpn);
  st.delete(vpn, LAZY);
  const c = st.slot(vpn, CACHED);
  if (c >= 0) {
    st.delete(vpn, CACHED);
    putSlot(rs.ctx, c);
  }
  st.setSlot(vpn, SWAPPED, slot);
}

function isResidentSet(x: unknown): x is AnonSet {
  return (x as { domain?: string }).domain === 'process';
}

const IDENTITY = identity(4096);
function identity(n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
