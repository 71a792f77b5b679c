/**
 * One process's resident set under a limit (like a cgroup's memory.max, in pages): the
 * replacement policy over its private anonymous pages, eviction to swap and swap-in.
 *
 * An evicted page's entry becomes not-present holding its swap slot (src/reclaim/swap-entry.ts,
 * Linux's x86-64 encoding); the next access faults, and the fault reads the page back (a major
 * fault). A page read back keeps its slot while it stays clean (the swap cache), so evicting
 * it again is a drop without a write; a write fault, a load from zswap (exclusive) or a swap
 * device more than half full (vm_swap_full) frees the copy at swap-in, as do_swap_page does.
 * Every step is a bulk page operation over the victims (one pageBits — none for a victim the
 * policy just read — one swapOutList, one invalidateList per batch, and to the in-memory
 * device one copy per run of neighbouring slots), never one call per page. The per-page
 * bookkeeping lives in PageStates (typed arrays by vpn block), not in Maps and Sets.
 * Its parts: page-states.ts (per-page flags and slots), swap-in.ts (the fault that maps a page
 * back, and readahead), swap-slot-refs.ts (slot and swap-cache
 * references), resident-context.ts (its configuration and the machine-wide side).
 */
import { PAGE_SIZE, PageBit, PTE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import type { PageTable } from '../machine/page-table.js';
import type { AccessBits, ReclaimPolicy } from '../reclaim/policy.js';
import { GuardedPolicy } from '../reclaim/guarded-policy.js';
import { encodeSwapEntryInto } from '../reclaim/swap-entry.js';
import { newReclaimCounters } from '../reclaim/reclaim-stats.js';
import type { PageProt } from './pte-attrs.js';
import { CACHED, LAZY, LOCKED, PageSetView, PageSlotView, PageStates, SWAPPED, TOUCHED, TRACKED } from './page-states.js';
import type { ResidentConfig, ResidentContext } from './resident-context.js';
import { SwapIn, prefetch } from './swap-in.js';
import { putSlot } from './reclaim/swap-cache.js';
import { evictAnon } from './reclaim/anon.js';
import type { RmapSpace } from './reclaim/rmap.js';
import { userTablePages } from '../machine/table-pages.js';

/** 4 KiB pages in a 2 MiB page. */
const HUGE_PAGES = 512;

export type { ResidentConfig, ResidentContext } from './resident-context.js';

/**
 * Outcome of a fault handled here ('memcg': at the limit with nothing evictable, nothing
 * changed; the memory cgroup OOM killer's case. 'again': the OOM killer ran first — a process
 * died and onOomKill ran user code — so the fault must be looked at anew; nothing was mapped).
 */
export type ResidentFault = 'minor' | 'major' | 'oom' | 'killed' | 'memcg' | 'again';

/** The resident set of one process. */
export class ResidentSet implements AccessBits {
  /** A process's reclaim domain (Reclaimable): an OOM candidate. */
  readonly domain = 'process' as const;
  readonly policy: ReclaimPolicy;
  /** @internal Every page's flags and slots (the views below read it; reclaim's anonymous pages change it). */
  readonly st = new PageStates();
  /** vpn -> slot of pages whose entry holds a swap entry (mirrors the page tables). */
  readonly swapped = new PageSlotView(this.st, SWAPPED);
  /** vpn -> slot of resident pages whose swap copy is still valid (the swap cache). */
  readonly cached = new PageSlotView(this.st, CACHED);
  /** Pages the policy tracks (resident private anonymous 4 KiB pages). */
  readonly tracked = new PageSetView(this.st, TRACKED);
  /** Resident pages under mlock: never evicted (Linux's unevictable list), still charged to the limit. */
  readonly locked = new PageSetView(this.st, LOCKED);
  /** Whether the page at an address lies in a locked region (VM_LOCKED, the VMM's region flag); none: nothing is locked. */
  lockedAt: ((la: number) => boolean) | undefined;
  /** Pages given MADV_FREE: dropped without a write at eviction unless written since. */
  readonly lazyFree = new PageSetView(this.st, LAZY);
  /** This process's counters. */
  readonly counters = newReclaimCounters();
  private las = new Float64Array(64);
  private bits = new Uint8Array(64);
  private frames = new Float64Array(64);
  /** Entries of las/bits/frames still true from the policy's last read (0: none): a victim found there needs no second read. */
  private scanned = 0;
  private clearLas = new Float64Array(64);
  private victims = new Float64Array(64);
  /** Swap-in of this process's pages (swap-in.ts). */
  private readonly swapIn: SwapIn;
  /** Who is scanning now: background (kswapd) or the allocating process (direct). */
  private scanner: 'kswapd' | 'direct' = 'direct';
  /** The process this set belongs to (what an OOM kill reports). */
  owner: object | undefined;
  /** @internal Count the distinct pages ever faulted in (replay's "pages touched": under a limit most are evicted by the end). */
  countTouched = false;

  /** The policy when it is a user's plug-in (told of pages when the VMM is consistent: settle). */
  private readonly guarded: GuardedPolicy | undefined;

  /** `policy`: made by the caller before anything was allocated (default: config.makePolicy()). */
  /** @internal The page tables of its process. */
  readonly pages: PageTable;
  /** @internal The machine-wide side. */
  readonly ctx: ResidentContext;
  /** @internal Its process as the reverse map sees it (private anonymous entries: never MAP_SHARED, never executable for reclaim's purposes). */
  readonly rmapSpace: RmapSpace & { owner: ResidentSet };

  constructor(
    pages: PageTable,
    ctx: ResidentContext,
    readonly config: ResidentConfig,
    policy: ReclaimPolicy = config.makePolicy(),
  ) {
    this.pages = pages;
    this.ctx = ctx;
    this.rmapSpace = { pages, sharedPages: 0, resident: this, regionAt: () => undefined, owner: this };
    this.policy = policy;
    if (policy instanceof GuardedPolicy) {
      this.guarded = policy;
      policy.gate = ctx.pluginGate;
    }
    this.swapIn = new SwapIn(pages, ctx, this.st, this.counters);
    // Without swap anonymous pages cannot be evicted: only the page cache is reclaimed then.
    if (ctx.swap) ctx.reclaimer?.sets.add(this);
  }

  /** Pages on this process's LRU (tracked by its policy). */
  lruPages(): number {
    return this.st.count(TRACKED);
  }
  /** Of them, pages on its policy's active list (Linux's Active(anon); 0 when the policy has none). */
  activePages(): number {
    const a = (this.policy as { active?: { size?: number } }).active;
    return typeof a?.size === 'number' ? a.size : 0;
  }


  /** oom_badness points before oom_score_adj: resident + swapped + page-table pages (get_mm_rss + MM_SWAPENTS + mm_pgtables_bytes / PAGE_SIZE). */
  badness(): number {
    return this.pages.rss + this.swapped.size + userTablePages(this.ctx.frames, this.pages.root);
  }

  /** Pages mapped in this process (VmRSS: zero-page mappings left out). */
  rss(): number {
    return this.pages.rss;
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
    this.scanned = count;
    for (let i = 0; i < count; i++) out[i] = this.bits[i]! & (PageBit.ACCESSED | PageBit.DIRTY);
    // Named stores, not counters[k]: a keyed store over many names is a megamorphic lookup.
    if (this.scanner === 'kswapd') this.counters.pgscan_kswapd += count, this.ctx.reclaim.pgscan_kswapd += count;
    else this.counters.pgscan_direct += count, this.ctx.reclaim.pgscan_direct += count;
  }

  /** Clears A of pages keys[0..count) in one bulk call (and flushes their TLB entries when configured). */
  clearAccessed(keys: Float64Array, count: number): void {
    this.ensureScan(count);
    // Its own buffer: the last read's results stay valid (clearing A changes no frame, D or sharing).
    const las = this.clearLas;
    for (let i = 0; i < count; i++) las[i] = keys[i]! * PAGE_SIZE;
    const young = this.pages.clearAccessedList(las, count);
    if (this.config.flushAccessed && young > 0) this.pages.flushPages(las, count);
  }

  // ---------------------------------------------------------------- faults and references

  /**
   * A not-present fault at `la` in a private anonymous region: makes room under the limit,
   * then maps the page — read back from swap if its entry holds a slot, else demand-zero
   * (a write) or the zero page (a read). Returns the fault's kind, or 'oom' / 'memcg' (nothing changed).
   */
  fault(la: number, write: boolean, pp: PageProt): ResidentFault {
    const vpn = la / PAGE_SIZE;
    if (this.ctx.reclaimer) {
      const r = this.ctx.reclaimer.beforeAllocate(this);
      if (r !== 'ok') return r;
    }
    // Read after reclaim: an OOM kill's callback may have changed this page.
    const slot = this.swapped.get(vpn);
    if (!this.makeRoom(vpn)) return 'memcg';
    let kind: ResidentFault;
    if (slot === undefined) {
      const ok = write ? this.pages.mapZeroed(la, 1, pp.writable) : this.pages.mapFrames(la, this.ctx.zeroFrame, 1, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi });
      if (!ok) return 'oom';
      if (!write) this.pages.zeroPages++;
      kind = 'minor';
    } else {
      const k = this.swapIn.page(la, vpn, slot, write, pp);
      if (!k) return 'oom';
      kind = k;
    }
    if (this.isLocked(vpn)) this.st.add(vpn, LOCKED);
    else {
      this.st.add(vpn, TRACKED);
      this.policy.insert(vpn, write);
    }
    if (kind === 'major') this.counters.pgmajfault++, this.ctx.reclaim.pgmajfault++;
    if (this.countTouched) this.st.add(vpn, TOUCHED);
    return kind;
  }

  /** @internal Distinct pages faulted in since countTouched was set (munmap does not forget them). */
  get touchedPages(): number {
    return this.st.count(TOUCHED);
  }

  /** A reference to resident page `vpn` (for every-reference policies; the VMM's drivers call it on hits). */
  reference(vpn: number, write: boolean): void {
    if (this.st.has(vpn, TRACKED)) this.policy.reference?.(vpn, write);
  }

  /** Evicts until `pages` more fit under the limit; false when they cannot (nothing is evicted when they never could). */
  private makeRoom(incoming: number, pages = 1): boolean {
    const st = this.st;
    if (st.count(LOCKED) + pages > this.config.limit) return false; // the locked pages alone leave no room
    while (st.count(TRACKED) + st.count(LOCKED) + pages > this.config.limit) {
      if (st.count(TRACKED) === 0) return false;
      const n = this.evict(st.count(TRACKED) + st.count(LOCKED) + pages - this.config.limit, incoming);
      if (n === 0) return false;
    }
    return true;
  }

  /**
   * Before a THP fault maps the 2 MiB page at block vpn `first`: reclaim may run, and the
   * limit must have room for its 512 pages. 'no-room' (nothing evicted when it never fits, or
   * some page of the block is already resident or swapped) sends the fault to 4 KiB pages, as
   * do_huge_pmd_anonymous_page falls back when its memory cgroup charge fails.
   */
  beforeHuge(first: number): 'ok' | 'no-room' | 'killed' | 'again' {
    if (this.st.inRange(TRACKED | LOCKED | SWAPPED | CACHED, first, first + HUGE_PAGES).length > 0) return 'no-room';
    if (this.ctx.reclaimer) {
      const r = this.ctx.reclaimer.beforeAllocate(this);
      if (r !== 'ok') return r;
    }
    return this.makeRoom(first, HUGE_PAGES) ? 'ok' : 'no-room';
  }

  /** The 2 MiB page at block vpn `first` was mapped: its 512 pages are resident, charged and tracked (one folio to Linux; the policy sees each page). */
  trackHuge(first: number, write: boolean): void {
    if (this.countTouched) this.st.addRun(first, HUGE_PAGES, TOUCHED);
    // The block lies in one region: locked or not as a whole.
    if (this.isLocked(first)) {
      this.st.addRun(first, HUGE_PAGES, LOCKED);
      return;
    }
    this.st.addRun(first, HUGE_PAGES, TRACKED);
    for (let v = first; v < first + HUGE_PAGES; v++) this.policy.insert(v, write);
  }

  /**
   * Before a MAP_PRIVATE file or shared memory page is copied on write (the copy is an
   * anonymous page: charged, tracked and evicted like any other): room under the limit for it.
   * False: at the limit with nothing evictable (the memory cgroup OOM case; nothing changed).
   * True at once when the page is tracked already (a copy of a copy: it replaces it).
   */
  beforeCopy(vpn: number): boolean {
    if (this.st.has(vpn, TRACKED | LOCKED)) return true;
    return this.makeRoom(vpn);
  }

  /** The copy of page `vpn` is mapped: tracked from now on (locked in an mlocked range). */
  trackCopy(vpn: number, write: boolean): void {
    if (this.st.has(vpn, TRACKED | LOCKED)) return;
    if (this.isLocked(vpn)) this.st.add(vpn, LOCKED);
    else {
      this.st.add(vpn, TRACKED);
      this.policy.insert(vpn, write);
    }
    if (this.countTouched) this.st.add(vpn, TOUCHED);
  }

  /** Pages resident and charged to the limit (tracked + locked). */
  get charged(): number {
    return this.st.count(TRACKED) + this.st.count(LOCKED);
  }

  /**
   * Asks the policy for `count` victims and evicts them in one batch: pages mapping the zero
   * page are dropped, clean pages with a valid swap copy are dropped without a write, the rest
   * are written to swap (zswap first when configured). Returns pages evicted (0: none could be).
   */
  evict(count: number, incoming?: number, who: 'kswapd' | 'direct' = 'direct'): number {
    this.ensure(count);
    this.scanner = who;
    this.scanned = 0;
    try {
      const n = this.policy.select(count, this, this.victims, incoming);
      if (n === 0) return 0;
      // One victim the policy just read (a clock's): its bits and frame are known, no second read.
      let known: { bits: number; frame: number } | undefined;
      if (n === 1) {
        const la = this.victims[0]! * PAGE_SIZE;
        for (let j = 0; j < this.scanned; j++) if (this.las[j] === la) known = { bits: this.bits[j]!, frame: this.frames[j]! };
      }
      this.scanned = 0;
      return evictAnon(this, this.victims, n, who, known);
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
      if (!this.st.has(v, TRACKED)) continue;
      this.policy.remove(v);
      this.victims[n++] = v;
    }
    this.scanned = 0;
    return n === 0 ? 0 : evictAnon(this, this.victims, n, 'direct');
  }

  // ---------------------------------------------------------------- unmap, fork, teardown

  /** Forgets [start, end) before it is unmapped (or zapped): swap entries cleared and their slots freed, tracked and locked pages removed. */
  forget(start: number, end: number): void {
    const first = start / PAGE_SIZE;
    const last = end / PAGE_SIZE;
    const st = this.st;
    this.dropSwapped(first, last);
    for (const vpn of st.inRange(CACHED, first, last)) {
      const slot = st.slot(vpn, CACHED);
      st.delete(vpn, CACHED);
      putSlot(this.ctx, slot);
    }
    for (const vpn of st.inRange(TRACKED, first, last)) {
      st.delete(vpn, TRACKED);
      this.policy.remove(vpn);
    }
    for (const vpn of st.inRange(LOCKED, first, last)) st.delete(vpn, LOCKED);
    for (const vpn of st.inRange(LAZY, first, last)) st.delete(vpn, LAZY);
  }

  /** Pages of [first, last) (vpns) in swap: their slots freed, their entries cleared (they read as zeros, or go). */
  private dropSwapped(first: number, last: number): void {
    const st = this.st;
    const gone = st.inRange(SWAPPED, first, last);
    for (const vpn of gone) {
      const slot = st.slot(vpn, SWAPPED);
      st.delete(vpn, SWAPPED);
      putSlot(this.ctx, slot);
    }
    this.clearEntries(gone);
  }

  // ---------------------------------------------------------------- mlock, madvise

  /** True when page `vpn` lies in a locked region. */
  isLocked(vpn: number): boolean {
    return this.lockedAt !== undefined && this.lockedAt(vpn * PAGE_SIZE);
  }

  /** mlock of [start, end) (its regions are VM_LOCKED now): resident pages there become unevictable; later faults there too. */
  lock(start: number, end: number): void {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    for (const v of this.st.inRange(TRACKED, a, b)) {
      this.st.delete(v, TRACKED);
      this.policy.remove(v);
      this.st.add(v, LOCKED);
    }
  }

  /** munlock of [start, end): its locked pages become evictable again (the policy tracks them anew, in address order). */
  unlock(start: number, end: number): void {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    for (const v of this.st.inRange(LOCKED, a, b)) {
      this.st.delete(v, LOCKED);
      this.st.add(v, TRACKED);
      this.policy.insert(v, false);
    }
  }

  /** MADV_FREE of [start, end): resident pages become lazily freeable, swapped ones are freed now (they read as zeros). */
  markLazyFree(start: number, end: number): number[] {
    const a = start / PAGE_SIZE;
    const b = end / PAGE_SIZE;
    const st = this.st;
    this.dropSwapped(a, b);
    const resident = st.inRange(TRACKED, a, b);
    for (const v of resident) {
      st.add(v, LAZY);
      const slot = st.slot(v, CACHED);
      if (slot >= 0) {
        st.delete(v, CACHED);
        putSlot(this.ctx, slot);
      }
    }
    return resident;
  }

  /** MADV_WILLNEED: the swapped pages of [start, end) are read into the swap cache (their next fault is minor). Returns pages read. */
  willNeed(start: number, end: number): number {
    if (!this.ctx.swap) return 0;
    const slots = this.st.inRange(SWAPPED, start / PAGE_SIZE, end / PAGE_SIZE).map((v) => this.st.slot(v, SWAPPED));
    return prefetch(this.ctx, slots);
  }

  /** MADV_COLLAPSE made the 2 MiB block at vpn `first` one huge page: its pages not tracked yet (missing or zero-page ones before) are tracked (or locked) now. */
  trackCollapsed(first: number): void {
    const locked = this.isLocked(first);
    for (let v = first; v < first + HUGE_PAGES; v++) {
      if (this.st.has(v, TRACKED | LOCKED)) continue;
      if (locked) this.st.add(v, LOCKED);
      else {
        this.st.add(v, TRACKED);
        this.policy.insert(v, true);
      }
    }
  }

  /**
   * mremap moved the entries of [from, from + pages*4096) to `to`: every page's state (tracked,
   * locked, swapped and cached with their slots, lazily freed, touched) moves with it; the
   * policy forgets the old keys and tracks the new ones (in address order).
   */
  moveRange(from: number, to: number, pages: number): void {
    const a = from / PAGE_SIZE;
    const d = to / PAGE_SIZE - a;
    const st = this.st;
    const vpns = st.inRange(TRACKED | LOCKED | LAZY | SWAPPED | CACHED | TOUCHED, a, a + pages);
    const saved = vpns.map((v) => [st.flags(v), st.slot(v, SWAPPED), st.slot(v, CACHED)] as const);
    for (const v of vpns) {
      if (st.has(v, TRACKED)) this.policy.remove(v);
      for (const f of [TRACKED, LOCKED, LAZY, SWAPPED, CACHED, TOUCHED]) st.delete(v, f);
    }
    vpns.forEach((v, i) => {
      const [flags, swapSlot, cacheSlot] = saved[i]!;
      const w = v + d;
      for (const f of [TRACKED, LOCKED, LAZY, TOUCHED]) if ((flags & f) !== 0) st.add(w, f);
      if ((flags & SWAPPED) !== 0) st.setSlot(w, SWAPPED, swapSlot);
      if ((flags & CACHED) !== 0) st.setSlot(w, CACHED, cacheSlot);
      if ((flags & TRACKED) !== 0) this.policy.insert(w, false);
    });
  }

  /** Tracked pages of [start, end), in address order. */
  trackedIn(start: number, end: number): number[] {
    return this.st.inRange(TRACKED, start / PAGE_SIZE, end / PAGE_SIZE);
  }

  /** Gives a fork child the parent's swap entries (each slot gains a reference) and its resident pages (address order), of the pages `copied` says the child got. */
  forkInto(child: ResidentSet, copied: (vpn: number) => boolean): void {
    const vpns = this.st.all(SWAPPED).filter(copied);
    if (vpns.length > 0) {
      const las = Float64Array.from(vpns, (v) => v * PAGE_SIZE);
      const lo = new Uint32Array(vpns.length);
      const hi = new Uint32Array(vpns.length);
      vpns.forEach((v, i) => encodeSwapEntryInto(this.st.slot(v, SWAPPED), lo, hi, i));
      if (!child.pages.writeEntries(las, vpns.length, lo, hi)) throw new VmmError('ENOMEM', 'fork: out of physical memory copying swap entries');
      for (const v of vpns) {
        const slot = this.st.slot(v, SWAPPED);
        this.ctx.swap!.slots.dup(slot);
        child.st.setSlot(v, SWAPPED, slot);
      }
    }
    // Memory locks are not inherited (mlock(2)): the parent's locked pages are ordinary in the child.
    for (const v of this.st.all(TRACKED | LOCKED)) {
      if (!copied(v)) continue;
      child.st.add(v, TRACKED);
      child.policy.insert(v, false);
    }
  }

  /**
   * Tells a plug-in policy what changed, now that the VMM is consistent (the end of an
   * operation or a fault): its queued notifications are delivered, and its first error is
   * thrown after (`after` names the operation that completed). Built-in policies were told at once.
   */
  settle(after?: string): void {
    this.guarded?.flush(after);
  }

  /**
   * Frees every slot this process holds and clears its swap entries (before its tables go).
   * The policy is told nothing: it served this process only and goes with it (a plug-in's
   * remove() cannot stop a teardown).
   */
  release(): void {
    this.dropAll();
    this.guarded?.discard();
    this.ctx.reclaimer?.sets.delete(this);
  }

  /** exec: every page state goes (slots freed, swap entries cleared, the policy told each page is gone); the set, its configuration and counters stay. */
  reset(): void {
    for (const v of this.st.all(TRACKED)) this.policy.remove(v);
    this.dropAll();
  }

  /** Frees every slot of the process's swapped and swap-cached pages, clears their entries, forgets every page state. */
  private dropAll(): void {
    const st = this.st;
    const swapped = st.all(SWAPPED);
    this.clearEntries(swapped);
    for (const v of swapped) putSlot(this.ctx, st.slot(v, SWAPPED));
    for (const v of st.all(CACHED)) putSlot(this.ctx, st.slot(v, CACHED));
    st.clear();
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
    this.victims = new Float64Array(this.las.length);
  }

  /** Grows the scan buffers (read and clearAccessed may run inside a policy's select). */
  private ensureScan(n: number): void {
    if (n <= this.las.length) return;
    let len = this.las.length;
    while (len < n) len *= 2;
    this.las = new Float64Array(len);
    this.clearLas = new Float64Array(len);
    this.bits = new Uint8Array(len);
    this.frames = new Float64Array(len);
    this.scanned = 0;
  }
}
