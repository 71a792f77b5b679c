/**
 * One process's resident set under a limit (like a cgroup's memory.max, in pages): the
 * replacement policy over its private anonymous pages, eviction to swap and swap-in.
 *
 * An evicted page's entry becomes not-present holding its swap slot (src/reclaim/swap-entry.ts,
 * Linux's x86-64 encoding); the next access faults, and the fault reads the page back (a major
 * fault). A page read back keeps its slot while it stays clean (the swap cache), so evicting
 * it again is a drop without a write; a write fault, a load from zswap (exclusive) or a swap
 * device more than half full (vm_swap_full) frees the copy at swap-in, as do_swap_page does.
 * Every step is a bulk page operation over the victims (one pageBits, one swapOutList, one
 * invalidateList per batch), never one call per page.
 */
import { PAGE_SIZE, PageBit, PTE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import type { PageAttrs, PageTable } from '../machine/page-table.js';
import type { AccessBits, ReclaimPolicy } from '../reclaim/policy.js';
import type { SwapArea } from '../reclaim/swap-area.js';
import { decodeSwapEntry, encodeSwapEntryInto } from '../reclaim/swap-entry.js';
import { newReclaimCounters, type ReclaimCounters } from '../reclaim/reclaim-stats.js';
import type { Frames } from '../machine/frames.js';
import type { PageProt } from './pte-attrs.js';
import type { Reclaimer } from './reclaimer.js';
import type { SwapCache } from '../reclaim/swap-cache.js';
import { userTablePages } from '../machine/table-pages.js';


/** How a resident set was configured (a fork child gets the same). */
export interface ResidentConfig {
  limit: number;
  /** Makes a fresh policy (one per process). */
  makePolicy: () => ReclaimPolicy;
  /** Flush the TLB entry of a page whose Accessed bit reclaim clears (default false: x86 Linux does not). */
  flushAccessed: boolean;
}

/** What the machine-wide side gives a resident set. */
export interface ResidentContext {
  readonly frames: Frames;
  readonly zeroFrame: number;
  readonly swap: SwapArea | undefined;
  /** Machine-wide counters (summed over processes). */
  readonly reclaim: ReclaimCounters;
  /** Watermarks, kswapd and the OOM killer (present when the machine has swap). */
  readonly reclaimer: Reclaimer | undefined;
  /** Pages in memory that hold a swap slot's contents for any process (read ahead, or swapped in shared). */
  readonly swapCache: SwapCache;
  /** Slots of swap-cache pages that readahead brought in and no fault used yet. */
  readonly readahead: Set<number>;
}

/** Outcome of a fault handled here ('memcg': at the limit with nothing evictable, nothing changed; the memory cgroup OOM killer's case). */
export type ResidentFault = 'minor' | 'major' | 'oom' | 'killed' | 'memcg';

/** The resident set of one process. */
export class ResidentSet implements AccessBits {
  readonly policy: ReclaimPolicy;
  /** vpn -> slot of pages whose entry holds a swap entry (mirrors the page tables). */
  readonly swapped = new Map<number, number>();
  /** vpn -> slot of resident pages whose swap copy is still valid (the swap cache). */
  readonly cached = new Map<number, number>();
  /** Pages the policy tracks (resident private anonymous 4 KiB pages). */
  readonly tracked = new Set<number>();
  /** Resident pages under mlock: never evicted (Linux's unevictable list), still charged to the limit. */
  readonly locked = new Set<number>();
  /** Locked ranges [start, end) of virtual page numbers (mlock; not inherited by a fork child). */
  private lockedRanges: Array<[number, number]> = [];
  /** Pages given MADV_FREE: dropped without a write at eviction unless written since. */
  readonly lazyFree = new Set<number>();
  /** This process's counters. */
  readonly counters = newReclaimCounters();
  private las = new Float64Array(64);
  private bits = new Uint8Array(64);
  private frames = new Float64Array(64);
  private lo = new Uint32Array(64);
  private hi = new Uint32Array(64);
  private victims = new Float64Array(64);
  private readonly page = new Uint8Array(PAGE_SIZE);
  /** Who is scanning now: background (kswapd) or the allocating process (direct). */
  private scanner: 'kswapd' | 'direct' = 'direct';
  /** The process this set belongs to (what an OOM kill reports). */
  owner: object | undefined;

  constructor(
    private readonly pages: PageTable,
    private readonly ctx: ResidentContext,
    readonly config: ResidentConfig,
  ) {
    this.policy = config.makePolicy();
    ctx.reclaimer?.sets.add(this);
  }

  /** oom_badness points before oom_score_adj: resident + swapped + page-table pages (get_mm_rss + MM_SWAPENTS + mm_pgtables_bytes / PAGE_SIZE). */
  badness(): number {
    return this.pages.residentPages + this.swapped.size + userTablePages(this.ctx.frames, this.pages.root);
  }

  /** Pages mapped in this process (VmRSS). */
  rss(): number {
    return this.pages.residentPages;
  }

  /** Counts this process's OOM kill. */
  countOomKill(): void {
    this.counters.oom_kill++, this.ctx.reclaim.oom_kill++;
  }

  /** Pages of this process in swap (Linux's VmSwap, in pages). */
  get swappedPages(): number {
    return this.swapped.size;
  }

  // ---------------------------------------------------------------- AccessBits for the policy

  /** Reads A/D of pages keys[0..count) (virtual page numbers) in one bulk call. */
  read(keys: Float64Array, count: number, out: Uint8Array): void {
    this.ensureScan(count);
    for (let i = 0; i < count; i++) this.las[i] = keys[i]! * PAGE_SIZE;
    this.pages.pageBits(this.las, count, this.bits, this.frames);
    for (let i = 0; i < count; i++) out[i] = this.bits[i]! & (PageBit.ACCESSED | PageBit.DIRTY);
    // Named stores, not counters[k]: a keyed store over many names is a megamorphic lookup.
    if (this.scanner === 'kswapd') this.counters.pgscan_kswapd += count, this.ctx.reclaim.pgscan_kswapd += count;
    else this.counters.pgscan_direct += count, this.ctx.reclaim.pgscan_direct += count;
  }

  /** Clears A of pages keys[0..count) in one bulk call (and flushes their TLB entries when configured). */
  clearAccessed(keys: Float64Array, count: number): void {
    this.ensureScan(count);
    for (let i = 0; i < count; i++) this.las[i] = keys[i]! * PAGE_SIZE;
    this.pages.clearAccessedList(this.las, count);
    if (this.config.flushAccessed) this.pages.invalidateList(this.las, count);
  }

  // ---------------------------------------------------------------- faults and references

  /**
   * A not-present fault at `la` in a private anonymous region: makes room under the limit,
   * then maps the page — read back from swap if its entry holds a slot, else demand-zero
   * (a write) or the zero page (a read). Returns the fault's kind, or 'oom' / 'memcg' (nothing changed).
   */
  fault(la: number, write: boolean, pp: PageProt): ResidentFault {
    const vpn = la / PAGE_SIZE;
    const slot = this.swapped.get(vpn);
    if (this.ctx.reclaimer && !this.ctx.reclaimer.beforeAllocate(this)) return 'killed';
    if (!this.makeRoom(vpn)) return 'memcg';
    let kind: ResidentFault;
    if (slot === undefined) {
      const ok = write ? this.pages.mapZeroed(la, 1, pp.writable) : this.pages.mapFrames(la, this.ctx.zeroFrame, 1, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi });
      if (!ok) return 'oom';
      kind = 'minor';
    } else {
      const k = this.swapInPage(la, vpn, slot, write, pp);
      if (!k) return 'oom';
      kind = k;
    }
    if (this.isLocked(vpn)) this.locked.add(vpn);
    else {
      this.tracked.add(vpn);
      this.policy.insert(vpn, write);
    }
    if (kind === 'major') this.counters.pgmajfault++, this.ctx.reclaim.pgmajfault++;
    return kind;
  }

  /** A reference to resident page `vpn` (for every-reference policies; the VMM's drivers call it on hits). */
  reference(vpn: number, write: boolean): void {
    if (this.tracked.has(vpn)) this.policy.reference?.(vpn, write);
  }

  /** Evicts until fewer than `limit` pages are tracked, so one more fits; false when nothing more can go. */
  private makeRoom(incoming: number): boolean {
    while (this.tracked.size + this.locked.size >= this.config.limit) {
      if (this.tracked.size === 0) return false; // everything resident is locked
      const n = this.evict(this.tracked.size + this.locked.size - this.config.limit + 1, incoming);
      if (n === 0) return false;
    }
    return true;
  }

  /** Pages resident and charged to the limit (tracked + locked). */
  get charged(): number {
    return this.tracked.size + this.locked.size;
  }

  /**
   * Asks the policy for `count` victims and evicts them in one batch: pages mapping the zero
   * page are dropped, clean pages with a valid swap copy are dropped without a write, the rest
   * are written to swap (zswap first when configured). Returns pages evicted (0: none could be).
   */
  evict(count: number, incoming?: number, who: 'kswapd' | 'direct' = 'direct'): number {
    this.ensure(count);
    this.scanner = who;
    try {
      const n = this.policy.select(count, this, this.victims, incoming);
      if (n === 0) return 0;
      return this.evictVictims(n);
    } finally {
      this.scanner = 'direct';
    }
  }

  /** Evicts the given tracked pages now (MADV_PAGEOUT), bypassing the policy's choice. Returns pages evicted. */
  evictPages(vpns: readonly number[]): number {
    this.ensure(vpns.length);
    let n = 0;
    for (let i = 0; i < vpns.length; i++) {
      const v = vpns[i]!;
      if (!this.tracked.has(v)) continue;
      this.policy.remove(v);
      this.victims[n++] = v;
    }
    return n === 0 ? 0 : this.evictVictims(n);
  }

  /** Evicts victims[0..n) (already forgotten by the policy). */
  private evictVictims(n: number): number {
    const las = this.las;
    for (let i = 0; i < n; i++) las[i] = this.victims[i]! * PAGE_SIZE;
    this.pages.pageBits(las, n, this.bits, this.frames);
    const swap = this.ctx.swap;
    let done = 0;
    for (let i = 0; i < n; i++) {
      const vpn = this.victims[i]!;
      const b = this.bits[i]!;
      const pfn = this.frames[i]!;
      if ((b & PageBit.PRESENT) === 0) throw new VmmError('EFAULT', `reclaim: the policy chose page ${vpn}, which is not resident (internal inconsistency)`);
      let slot = -1;
      // Size tests first: most batches meet empty sets, and a Map probe costs ~40 ns here.
      const lazy = this.lazyFree.size !== 0 && this.lazyFree.delete(vpn);
      if (pfn === this.ctx.zeroFrame || (lazy && (b & PageBit.DIRTY) === 0)) {
        // Nothing to keep: the zero page, or a MADV_FREE page not written since (the next fault sees zeros).
        this.counters.evict_clean++, this.ctx.reclaim.evict_clean++;
        const stale = this.cached.size === 0 ? undefined : this.cached.get(vpn);
        if (stale !== undefined) {
          this.cached.delete(vpn);
          this.putSlot(stale);
        }
      } else {
        const cachedSlot = this.cached.size === 0 ? undefined : this.cached.get(vpn);
        const sharers = swap && (b & PageBit.SHARED) !== 0 ? this.sharersOf(vpn, pfn) : undefined;
        if (sharers) {
          // The reverse map: every page table that maps this frame at this page gets the same swap entry.
          slot = swap!.slots.alloc();
          if (slot < 0) {
            for (let j = i; j < n; j++) this.policy.insert(this.victims[j]!, false);
            break;
          }
          const cacheSlot = this.ctx.swapCache.slotOf(pfn);
          if (cacheSlot !== undefined) this.dropCachePage(cacheSlot);
          const where = swap!.write(slot, this.ctx.frames.view(pfn), this.ctx.frames.offset(pfn));
          if (where === 'zswap') this.counters.zswpout++, this.ctx.reclaim.zswpout++;
          else this.counters.pswpout++, this.ctx.reclaim.pswpout++;
          this.counters.evict_dirty++, this.ctx.reclaim.evict_dirty++;
          for (const other of sharers) {
            swap!.slots.dup(slot);
            other.unmapShared(vpn, slot);
          }
          if (cachedSlot !== undefined) this.putSlot(cachedSlot);
        } else if (cachedSlot !== undefined && (b & PageBit.DIRTY) === 0) {
          slot = cachedSlot; // the swap cache's reference becomes the entry's
          this.counters.evict_clean++, this.ctx.reclaim.evict_clean++;
        } else {
          slot = cachedSlot ?? (swap ? swap.slots.alloc() : -1);
          if (slot < 0) {
            // Swap is full (or there is none): this page and the rest stay (Linux's putback).
            for (let j = i; j < n; j++) this.policy.insert(this.victims[j]!, false);
            break;
          }
          this.dropCachePage(slot); // a copy read ahead from this slot is stale now
          const where = swap!.write(slot, this.ctx.frames.view(pfn), this.ctx.frames.offset(pfn));
          if (where === 'zswap') this.counters.zswpout++, this.ctx.reclaim.zswpout++;
          else this.counters.pswpout++, this.ctx.reclaim.pswpout++;
          this.counters.evict_dirty++, this.ctx.reclaim.evict_dirty++;
        }
        if (cachedSlot !== undefined) this.cached.delete(vpn);
      }
      if (slot >= 0) {
        encodeSwapEntryInto(slot, this.lo, this.hi, i);
        this.swapped.set(vpn, slot);
      } else {
        this.lo[i] = 0;
        this.hi[i] = 0;
      }
      this.tracked.delete(vpn);
      done++;
    }
    if (done > 0) {
      this.pages.swapOutList(las, done, this.lo, this.hi);
      this.pages.invalidateList(las, done);
      if (this.scanner === 'kswapd') this.counters.pgsteal_kswapd += done, this.ctx.reclaim.pgsteal_kswapd += done;
      else this.counters.pgsteal_direct += done, this.ctx.reclaim.pgsteal_direct += done;
    }
    return done;
  }

  /**
   * Maps `slot`'s page back at `la`. From the swap cache (a page read ahead, or swapped in by
   * another process holding the same slot) it is a minor fault; else the page is read from
   * zswap or the device (major) and its neighbouring slots are read ahead. A page whose slot
   * other entries still hold comes back shared and read-only (COW), as Linux maps a swap-cache
   * page: sharing survives eviction. Returns the fault's kind, or undefined when no frame is free.
   */
  private swapInPage(la: number, vpn: number, slot: number, write: boolean, pp: PageProt): 'major' | 'minor' | undefined {
    const swap = this.ctx.swap!;
    const entry = this.pages.readEntry(la);
    if (!entry || decodeSwapEntry(entry[0], entry[1]) !== slot) throw new VmmError('EFAULT', `reclaim: the entry of page ${vpn} does not hold swap slot ${slot} (internal inconsistency)`);
    // A zswap load is exclusive: make sure the frame exists before reading the page out.
    if (this.ctx.frames.freeCount() === 0) return undefined;
    const cow: PageAttrs = { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi };
    const cachedFrame = this.ctx.swapCache.frameOf(slot);
    if (cachedFrame !== undefined) {
      // Shared while another entry holds the slot or another page table maps the frame (beyond the cache's own reference).
      const shared = swap.slots.refs(slot) > 1 || this.ctx.frames.refCount(cachedFrame) > 1;
      // Exclusive once this entry's reference goes (putSlot drops the cache page with the slot): writable then.
      this.pages.swapIn(la, cachedFrame, shared ? cow : write ? { lo: pp.writable.lo | PTE.D, hi: pp.writable.hi } : pp.writable, null, 0);
      this.counters.swapcache_hit++, this.ctx.reclaim.swapcache_hit++;
      if (this.ctx.readahead.delete(slot)) this.counters.swap_ra_hit++, this.ctx.reclaim.swap_ra_hit++;
      this.swapped.delete(vpn);
      if (!shared && !write && !swap.slots.halfFull) {
        // Keep the clean copy (this entry's slot reference moves to the per-process cache).
        this.ctx.swapCache.deleteSlot(slot);
        this.ctx.frames.unref(cachedFrame);
        this.cached.set(vpn, slot);
      } else this.putSlot(slot);
      return 'minor';
    }
    const shared = swap.slots.refs(slot) > 1;
    const from = swap.read(slot, this.page, 0);
    if (from === 'device') this.counters.pswpin++, this.ctx.reclaim.pswpin++;
    else this.counters.zswpin++, this.ctx.reclaim.zswpin++;
    const dirty = write || from === 'zswap';
    // A page of zeros needs no copy: the core's fresh frame is zeroed (and an untouched host page stays uncommitted).
    const bytes = from === 'device' && swap.device.holdsZeros(slot) ? null : this.page;
    const pfn = this.pages.swapIn(la, -1, shared ? cow : dirty ? { lo: pp.writable.lo | PTE.D, hi: pp.writable.hi } : pp.writable, bytes, 0);
    if (pfn < 0) throw new VmmError('ENOMEM', 'swap-in: no page table frame'); // cannot happen: the entry's table exists
    this.swapped.delete(vpn);
    if (shared) {
      // The other holders of the slot will find this page in the swap cache.
      this.ctx.swapCache.add(slot, pfn);
      this.ctx.frames.ref(pfn);
      this.putSlot(slot);
    } else if (dirty || swap.slots.halfFull) this.putSlot(slot);
    // Keep the swap copy while the page is clean, unless swap is getting full (vm_swap_full).
    else this.cached.set(vpn, slot);
    this.readAhead(slot);
    return 'major';
  }

  /** swap_cluster_readahead: the in-use device slots of the aligned window around `slot` go to the swap cache. */
  private readAhead(slot: number): void {
    const swap = this.ctx.swap!;
    if (swap.pageCluster === 0) return;
    const [first, last] = swap.window(slot);
    const want: number[] = [];
    for (let t = first; t <= last; t++) {
      if (t === slot || swap.slots.refs(t) === 0 || this.ctx.swapCache.frameOf(t) !== undefined || swap.zswap?.has(t)) continue;
      want.push(t);
    }
    const fr = this.ctx.frames;
    const reserve = this.ctx.reclaimer?.watermarks.low ?? 0;
    if (want.length === 0 || fr.freeCount() - want.length <= reserve + 2) return;
    const frames = new Float64Array(want.length);
    if (!fr.allocList(frames, want.length)) return;
    let lo = Infinity;
    let hi = -1;
    want.forEach((t, i) => {
      const f = frames[i]!;
      // allocList's frames are zeroed: a slot of zeros needs no read.
      if (!swap.device.holdsZeros(t)) swap.device.read(t, fr.view(f), fr.offset(f));
      this.ctx.swapCache.add(t, f);
      this.ctx.readahead.add(t);
      lo = Math.min(lo, f);
      hi = Math.max(hi, f);
    });
    // One call marks the frames written (so they are zeroed when next allocated); frames between them are marked too, harmlessly.
    fr.noteWritten(lo, hi - lo + 1);
    swap.pswpin += want.length;
    this.counters.swap_ra += want.length;
    this.ctx.reclaim.swap_ra += want.length;
  }

  /**
   * The other processes mapping frame `pfn` at page `vpn` (a COW page shared since fork: same
   * address in every process of the family), when they and the swap cache account for every
   * reference of the frame and none has it locked; undefined otherwise (then only this page
   * table lets the page go, and the others keep the frame).
   */
  private sharersOf(vpn: number, pfn: number): ResidentSet[] | undefined {
    const rc = this.ctx.reclaimer;
    if (!rc) return undefined;
    const out: ResidentSet[] = [];
    for (const other of rc.sets) {
      if (other === this || !(other instanceof ResidentSet)) continue;
      if (other.frameAt(vpn) !== pfn) continue;
      if (other.locked.has(vpn) || !other.tracked.has(vpn)) return undefined;
      out.push(other);
    }
    const expected = out.length + 1 + (this.ctx.swapCache.slotOf(pfn) !== undefined ? 1 : 0);
    return out.length > 0 && expected === this.ctx.frames.refCount(pfn) ? out : undefined;
  }

  /** The frame mapping page `vpn` here (-1 when not present): one bulk call of one page. */
  frameAt(vpn: number): number {
    this.ensureScan(1);
    this.las[0] = vpn * PAGE_SIZE;
    this.pages.pageBits(this.las, 1, this.bits, this.frames);
    return (this.bits[0]! & PageBit.PRESENT) !== 0 ? this.frames[0]! : -1;
  }

  /** Another process's reclaim evicts the page this one shares with it: the entry takes `slot` (whose reference it was given). */
  unmapShared(vpn: number, slot: number): void {
    this.tracked.delete(vpn);
    this.policy.remove(vpn);
    this.lazyFree.delete(vpn);
    const c = this.cached.get(vpn);
    if (c !== undefined) {
      this.cached.delete(vpn);
      this.putSlot(c);
    }
    this.ensure(1);
    const las = Float64Array.of(vpn * PAGE_SIZE);
    const lo = new Uint32Array(1);
    const hi = new Uint32Array(1);
    encodeSwapEntryInto(slot, lo, hi, 0);
    this.pages.swapOutList(las, 1, lo, hi);
    this.pages.invalidateList(las, 1);
    this.swapped.set(vpn, slot);
  }

  /** Drops one reference to `slot`; a freed slot takes its swap-cache page with it. */
  private putSlot(slot: number): void {
    if (this.ctx.swap!.put(slot)) this.dropCachePage(slot);
  }

  /** Drops the swap-cache page of `slot` (its copy is stale or its slot is gone). */
  private dropCachePage(slot: number): void {
    if (this.ctx.swapCache.size === 0) return;
    const f = this.ctx.swapCache.deleteSlot(slot);
    if (f === undefined) return;
    this.ctx.readahead.delete(slot);
    this.ctx.frames.unref(f);
  }

  // ---------------------------------------------------------------- unmap, fork, teardown

  /** Forgets [start, end) before it is unmapped (or zapped: `keepLocks`): swap entries cleared and their slots freed, tracked pages removed. */
  forget(start: number, end: number, keepLocks = false): void {
    const first = start / PAGE_SIZE;
    const last = end / PAGE_SIZE;
    const inRange = (vpn: number) => vpn >= first && vpn < last;
    const span = last - first;
    const pick = (keys: Iterable<number>, size: number): number[] => {
      if (span <= size) {
        const out: number[] = [];
        for (let v = first; v < last; v++) out.push(v);
        return out;
      }
      return [...keys].filter(inRange);
    };
    const gone: number[] = [];
    for (const vpn of pick(this.swapped.keys(), this.swapped.size)) {
      const slot = this.swapped.get(vpn);
      if (slot === undefined) continue;
      this.swapped.delete(vpn);
      this.putSlot(slot);
      gone.push(vpn);
    }
    this.clearEntries(gone);
    for (const vpn of pick(this.cached.keys(), this.cached.size)) {
      const slot = this.cached.get(vpn);
      if (slot === undefined) continue;
      this.cached.delete(vpn);
      this.putSlot(slot);
    }
    for (const vpn of pick(this.tracked, this.tracked.size)) {
      if (!this.tracked.delete(vpn)) continue;
      this.policy.remove(vpn);
    }
    for (const vpn of pick(this.locked, this.locked.size)) this.locked.delete(vpn);
    for (const vpn of pick(this.lazyFree, this.lazyFree.size)) this.lazyFree.delete(vpn);
    if (!keepLocks) this.lockedRanges = subtractRange(this.lockedRanges, first, last);
  }

  // ---------------------------------------------------------------- mlock, madvise

  /** True when page `vpn` lies in an mlocked range. */
  isLocked(vpn: number): boolean {
    for (const [s, e] of this.lockedRanges) if (vpn >= s && vpn < e) return true;
    return false;
  }

  /** True when any page of [start, end) (addresses) is in an mlocked range. */
  overlapsLocked(start: number, end: number): boolean {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    return this.lockedRanges.some(([s, e]) => s < b && e > a);
  }

  /** mlock of [start, end): resident pages there become unevictable; later faults there too. */
  lock(start: number, end: number): void {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    this.lockedRanges = [...subtractRange(this.lockedRanges, a, b), [a, b] as [number, number]].sort((x, y) => x[0] - y[0]);
    for (const v of [...this.tracked]) {
      if (v < a || v >= b) continue;
      this.tracked.delete(v);
      this.policy.remove(v);
      this.locked.add(v);
    }
  }

  /** munlock of [start, end): its locked pages become evictable again (the policy tracks them anew). */
  unlock(start: number, end: number): void {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    this.lockedRanges = subtractRange(this.lockedRanges, a, b);
    for (const v of [...this.locked].sort((x, y) => x - y)) {
      if (v < a || v >= b) continue;
      this.locked.delete(v);
      this.tracked.add(v);
      this.policy.insert(v, false);
    }
  }

  /** MADV_FREE of [start, end): resident pages become lazily freeable, swapped ones are freed now (they read as zeros). */
  markLazyFree(start: number, end: number): number[] {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    const gone: number[] = [];
    for (const [v, slot] of [...this.swapped]) {
      if (v < a || v >= b) continue;
      this.swapped.delete(v);
      this.putSlot(slot);
      gone.push(v);
    }
    this.clearEntries(gone);
    const resident: number[] = [];
    for (const v of this.tracked) if (v >= a && v < b) resident.push(v);
    for (const v of resident) {
      this.lazyFree.add(v);
      const slot = this.cached.get(v);
      if (slot !== undefined) {
        this.cached.delete(v);
        this.putSlot(slot);
      }
    }
    return resident;
  }

  /** Tracked pages of [start, end), in address order. */
  trackedIn(start: number, end: number): number[] {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    const out: number[] = [];
    if (b - a <= this.tracked.size) {
      // A range no larger than the set: probing it page by page yields address order without a sort.
      for (let v = a; v < b; v++) if (this.tracked.has(v)) out.push(v);
      return out;
    }
    for (const v of this.tracked) if (v >= a && v < b) out.push(v);
    return out.sort((x, y) => x - y);
  }

  /** Gives a fork child the parent's swap entries (each slot gains a reference) and its tracked pages. */
  forkInto(child: ResidentSet): void {
    const vpns = [...this.swapped.keys()];
    if (vpns.length > 0) {
      const las = Float64Array.from(vpns, (v) => v * PAGE_SIZE);
      const lo = new Uint32Array(vpns.length);
      const hi = new Uint32Array(vpns.length);
      vpns.forEach((v, i) => encodeSwapEntryInto(this.swapped.get(v)!, lo, hi, i));
      if (!child.pages.writeEntries(las, vpns.length, lo, hi)) throw new VmmError('ENOMEM', 'fork: out of physical memory copying swap entries');
      for (const v of vpns) {
        const slot = this.swapped.get(v)!;
        this.ctx.swap!.slots.dup(slot);
        child.swapped.set(v, slot);
      }
    }
    // Memory locks are not inherited (mlock(2)): the parent's locked pages are ordinary in the child.
    for (const v of [...this.tracked, ...this.locked]) {
      child.tracked.add(v);
      child.policy.insert(v, false);
    }
  }

  /** Frees every slot this process holds and clears its swap entries (before its tables go). */
  release(): void {
    this.clearEntries([...this.swapped.keys()]);
    for (const slot of this.swapped.values()) this.putSlot(slot);
    for (const slot of this.cached.values()) this.putSlot(slot);
    this.swapped.clear();
    this.cached.clear();
    for (const v of this.tracked) this.policy.remove(v);
    this.tracked.clear();
    this.locked.clear();
    this.lazyFree.clear();
    this.lockedRanges = [];
    this.ctx.reclaimer?.sets.delete(this);
  }

  private clearEntries(vpns: number[]): void {
    if (vpns.length === 0) return;
    const las = Float64Array.from(vpns, (v) => v * PAGE_SIZE);
    const zeros = new Uint32Array(vpns.length);
    this.pages.writeEntries(las, vpns.length, zeros, zeros);
  }

  /** Grows the victim buffers (never while a policy writes into them). */
  private ensure(n: number): void {
    this.ensureScan(n);
    if (n <= this.victims.length) return;
    const len = this.las.length;
    this.lo = new Uint32Array(len);
    this.hi = new Uint32Array(len);
    this.victims = new Float64Array(len);
  }

  /** Grows the scan buffers (read and clearAccessed may run inside a policy's select). */
  private ensureScan(n: number): void {
    if (n <= this.las.length) return;
    let len = this.las.length;
    while (len < n) len *= 2;
    this.las = new Float64Array(len);
    this.bits = new Uint8Array(len);
    this.frames = new Float64Array(len);
  }
}

/** `ranges` (sorted, disjoint [s, e)) without [a, b). */
function subtractRange(ranges: Array<[number, number]>, a: number, b: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of ranges) {
    if (e <= a || s >= b) out.push([s, e]);
    else {
      if (s < a) out.push([s, a]);
      if (e > b) out.push([b, e]);
    }
  }
  return out;
}
