/** Machine-wide VMM state: the zero page, the inodes (files and shared memory objects) with the page cache and writeback, and summed fault counters. */
import type { Frames } from '../machine/frames.js';
import { VmmError } from '../errors.js';
import { SharedMemoryObject, type ObjectHost, type ObjectPager, type ShmBudget } from './shared-memory.js';
import type { Inode } from './file/inode.js';
import type { RegularFile } from './file/regular-file.js';
import { PageCache, type PageCacheContext } from './file/page-cache.js';
import { Flusher, type FlusherContext } from './file/flusher.js';
import type { FileReclaim } from './reclaim/file-reclaim.js';
import type { SimClock } from './sim-clock.js';
import type { VmTunables } from './vm-tunables.js';
import { linuxWatermarks } from './reclaimer.js';
import { PAGE_SIZE } from '../core/constants.js';
import { newFaultCounters, type FaultCounters } from './vm-stats.js';
import { protectionMap, type PageProt } from './pte-attrs.js';
import type { SwapArea } from '../reclaim/swap-area.js';
import type { ReclaimPolicy } from '../reclaim/policy.js';
import type { Reclaimable, Reclaimer } from './reclaimer.js';
import { SwapCache, shrinkSwapCache } from './reclaim/swap-cache.js';
import { newReclaimCounters, type ReclaimCounters } from '../reclaim/reclaim-stats.js';
import { Overcommit } from './overcommit.js';
import type { PluginGate } from '../reclaim/guarded-policy.js';

const HUGE_FRAMES = 512;



/** State shared by every address space of a machine. */
export class VmmContext {
  /** Frame of the shared zero page (empty_zero_page), mapped read-only for read faults. */
  readonly zeroFrame: number;
  /** Fault counters summed over every address space that ever ran. */
  readonly faults: FaultCounters = newFaultCounters();
  /** The swap area (`new Machine({ swap })`), if any. */
  swap: SwapArea | undefined;
  /** Watermarks, kswapd, direct reclaim and the OOM killer (with swap). */
  reclaimer: Reclaimer | undefined;
  /** The machine's swap cache: slot -> frame of pages read ahead or swapped in shared. */
  readonly swapCache = new SwapCache();
  /** Slots whose swap-cache page readahead brought in and no fault used yet. */
  readonly readahead = new Set<number>();
  /** Reclaim of shared memory objects' pages (with swap): objects created from then on are reclaimable. */
  shmPager: (ObjectPager & Reclaimable & { readonly policy: ReclaimPolicy }) | undefined;
  /** Raised while a user's policy code runs (a plug-in's select, insert, remove): VMM calls are refused then (refuseReentry). */
  readonly pluginGate: PluginGate = { depth: 0, running: '' };

  /** EBUSY when a user's policy code is running: a plug-in may not call into the VMM it is serving (`what`: the call). */
  refuseReentry(what: string): void {
    const g = this.pluginGate;
    if (g.depth > 0) throw new VmmError('EBUSY', `${what}: called from inside ${g.running}; a reclaim policy may not map, unmap, advise, fault or destroy memory of its machine from its own callbacks (the VMM is in the middle of an operation)`);
  }

  /** Drops up to `n` swap-cache pages that no entry maps (oldest first); returns how many (reclaim's cheapest pages). */
  shrinkSwapCache(n: number): number {
    return shrinkSwapCache(this, n);
  }
  /** Reclaim and swap counters summed over every address space (/proc/vmstat names). */
  readonly reclaim: ReclaimCounters = newReclaimCounters();
  /** Every live inode by id: shared memory objects and regular files. */
  private readonly inodes = new Map<number, Inode>();
  private readonly names = new Map<string, SharedMemoryObject>();
  /** The page cache of regular files (their LRU lists, workingset, dirty accounting). */
  readonly pageCache: PageCache;
  /** Writeback of dirty file pages in simulated time. */
  readonly flusher: Flusher;
  /** Reclaim of page cache pages (set by the machine; MADV_PAGEOUT of file pages goes through it). */
  fileReclaim: FileReclaim | undefined;
  /** lru_note_cost's running costs of reclaiming anonymous and file pages (get_scan_count's balance). */
  anonCost = 0;
  fileCost = 0;
  /** Page attributes of every (protection, shared) pair (Linux's protection_map), computed once. */
  readonly protectionMap: readonly PageProt[];
  private nextId = 1;
  private nextAnon = 1;

  /** A new anon_vma's id (unique on the machine). */
  newAnonId(): number {
    return this.nextAnon++;
  }
  /** First frame of the huge zero page (512 aligned zeroed frames), allocated at the first THP read fault; -1 when there is none. */
  private hugeZero = -1;
  /** The spaces holding it (Linux's MMF_HUGE_ZERO_PAGE): it is freed when the last one exits. */
  private readonly hugeZeroUsers = new Set<object>();

  /** vm.max_map_count: the most regions one address space may have. */
  readonly maxMapCount: number;
  /** vm.overcommit_memory and its companions, and Committed_AS. */
  readonly overcommit: Overcommit;
  /** /dev/shm, where named objects' pages are charged: its size (tmpfs size=, half of RAM by default) and use. */
  readonly shm: ShmBudget & { readonly pages: number; used: number };

  constructor(
    /** @internal The typed frame operations (also what reclaim uses). */
    readonly frames: Frames,
    nxe: boolean,
    /** vm.max_map_count, and the size of /dev/shm in bytes (the machine's options decide both). */
    limits: { maxMapCount: number; shmBytes: number },
    /** The machine's simulated clock. */
    readonly clock: SimClock,
    /** The vm.* tunables. */
    readonly tunables: VmTunables,
  ) {
    this.maxMapCount = limits.maxMapCount;
    const shmBytes = limits.shmBytes;
    this.shm = {
      bytes: shmBytes,
      pages: Math.floor(shmBytes / PAGE_SIZE),
      used: 0,
      charge: chargeShm,
      uncharge: unchargeShm,
    };
    const z = frames.allocZeroed();
    if (z < 0) throw new VmmError('ENOMEM', 'options.memory is too small for the zero page');
    this.zeroFrame = z;
    this.protectionMap = protectionMap(nxe);
    this.pageCache = new PageCache(this.pageCacheContext(frames, clock, tunables));
    this.overcommit = new Overcommit(frames.total, () => this.swap?.slots.total ?? 0, frames.freeCount());
    this.flusher = new Flusher(this.flusherContext(frames, clock, tunables), this.pageCache);
  }

  /** What the page cache asks of the machine (its allocation point, the anonymous LRU's sizes, lru_note_cost). */
  private pageCacheContext(frames: Frames, clock: SimClock, tunables: VmTunables): PageCacheContext {
    return {
      frames,
      clock,
      beforeAllocate: () => {
        this.reclaimer?.beforeAllocate(undefined);
      },
      anonSizes: () => ({ activeAnon: 0, inactiveAnon: this.reclaimer?.anonPages() ?? 0, swapFree: this.swap?.slots.free ?? 0 }),
      noteFileCost: (io, rotated) => this.noteCost(true, io, rotated),
      lruGen: tunables.lruGen,
    };
  }

  /** What the flusher asks of the machine (free frames, the pages the kernel keeps). */
  private flusherContext(frames: Frames, clock: SimClock, tunables: VmTunables): FlusherContext {
    return { clock, tunables, freePages: () => frames.freeCount(), reservePages: () => (this.reclaimer?.watermarks ?? linuxWatermarks(frames.total)).high };
  }

  /** @internal A restored machine (src/snapshot): the page cache's and the flusher's calls back point at this context. */
  wireFiles(): void {
    this.pageCache.rewire(this.pageCacheContext(this.frames, this.clock, this.tunables));
    this.flusher.rewire(this.flusherContext(this.frames, this.clock, this.tunables));
  }

  /**
   * lru_note_cost: `nrIo` pages of I/O (worth SWAP_CLUSTER_MAX rotations each) and `nrRotated`
   * pages rotated add to the cost of the anonymous or file LRU; both halve when they exceed a
   * quarter of the LRU pages (a floating average that weighs recent events more).
   */
  noteCost(file: boolean, nrIo: number, nrRotated: number): void {
    const cost = nrIo * 32 + nrRotated;
    if (file) this.fileCost += cost;
    else this.anonCost += cost;
    const lru = (this.reclaimer?.anonPages() ?? 0) + this.pageCache.lru.activeSize + this.pageCache.lru.inactiveSize;
    if (this.fileCost + this.anonCost > lru / 4) {
      this.fileCost = Math.floor(this.fileCost / 2);
      this.anonCost = Math.floor(this.anonCost / 2);
    }
  }

  /** First frame of the huge zero page, or -1 before the first THP read fault allocated it. */
  get hugeZeroStart(): number {
    return this.hugeZero;
  }

  /** True for the zero page and the frames of the huge zero page (a write to them needs a fresh frame, no copy). */
  isZeroFrame(pfn: number): boolean {
    return pfn === this.zeroFrame || (this.hugeZero >= 0 && pfn >= this.hugeZero && pfn < this.hugeZero + HUGE_FRAMES);
  }

  /** @internal Every frame the VMM itself holds one reference on (zero pages, shared object pages), for auditing. */
  heldFrames(): number[] {
    const out = [this.zeroFrame];
    if (this.hugeZero >= 0) for (let i = 0; i < HUGE_FRAMES; i++) out.push(this.hugeZero + i);
    for (const o of this.inodes.values()) for (const p of o.pages.values()) out.push(p.pfn); // no spread: a file may hold millions
    for (const [, f] of this.swapCache.entries()) out.push(f); // the swap cache's own reference
    return out;
  }

  /** Pages of every shared memory object: resident (/proc/meminfo's Shmem) and in swap. */
  shmemPages(): { pages: number; swapped: number } {
    let pages = 0;
    let swapped = 0;
    for (const o of this.inodes.values()) {
      if (!(o instanceof SharedMemoryObject)) continue;
      pages += o.residentPages;
      swapped += o.swappedPages;
    }
    return { pages, swapped };
  }

  /** @internal Every swap slot shared memory objects hold (one reference each), for auditing. */
  heldSlots(): number[] {
    const out: number[] = [];
    for (const o of this.inodes.values()) if (o instanceof SharedMemoryObject) for (const slot of o.heldSlots()) out.push(slot);
    return out;
  }

  /**
   * The huge zero page's first frame for `user` (mm_get_huge_zero_folio): allocated at the first
   * call, then held by every space that asked (Linux's MMF_HUGE_ZERO_PAGE, one reference per mm
   * however many mappings); -1 when no aligned run is free.
   */
  hugeZeroFrame(user: object): number {
    if (this.hugeZero < 0) {
      const f = this.frames.allocRun(HUGE_FRAMES, HUGE_FRAMES);
      if (f >= 0) this.hugeZero = f;
    }
    if (this.hugeZero >= 0) this.hugeZeroUsers.add(user);
    return this.hugeZero;
  }

  /** A fork child holds the huge zero page when its parent does (copy_huge_pmd copies the mapping). */
  forkHugeZero(parent: object, child: object): void {
    if (this.hugeZeroUsers.has(parent)) this.hugeZeroUsers.add(child);
  }

  /**
   * `user` exits (mm_put_huge_zero_folio): when no space holds the huge zero page any more its
   * 512 frames are freed, as Linux's shrinker frees it once only its own reference is left
   * (Linux waits for memory pressure; vmsim frees it now, so frames return to where they started).
   */
  putHugeZero(user: object): void {
    if (!this.hugeZeroUsers.delete(user) || this.hugeZeroUsers.size > 0 || this.hugeZero < 0) return;
    const f = this.hugeZero;
    const list = Float64Array.from({ length: HUGE_FRAMES }, (_, i) => f + i);
    const refs = new Float64Array(HUGE_FRAMES);
    this.frames.refCounts(list, HUGE_FRAMES, refs);
    // Only the VMM's own reference may be left (every holder has exited); anything else keeps it.
    if (!refs.every((r) => r === 1)) return;
    this.hugeZero = -1;
    for (let i = 0; i < HUGE_FRAMES; i++) this.frames.unref(f + i);
  }

  /** Pages of RAM and swap: what the overcommit heuristic compares one request with (totalram_pages() + total_swap_pages). */
  get totalPages(): number {
    return this.frames.total + (this.swap?.slots.total ?? 0);
  }

  /** @internal What an object tells its context: unlinked (its name is free) and released (gone). A method, so a restored context gives its objects their own (src/snapshot). */
  objectHooks(): ObjectHost {
    return {
      unlinked: (o) => {
        if (this.names.get(o.name) === o) this.names.delete(o.name);
      },
      release: (o) => {
        this.inodes.delete(o.id);
        this.overcommit.uncharge((o as SharedMemoryObject).accounted); // shmem_unacct_size when the last mapping of an anonymous object goes
        (o as SharedMemoryObject).freeAll();
      },
    };
  }

  /** Creates a shared memory object; a non-empty `name` must be unused (EEXIST). */
  createObject(name: string, size: number): SharedMemoryObject {
    if (name !== '' && this.names.has(name)) throw new VmmError('EEXIST', `shared memory ${JSON.stringify(name)} already exists`);
    const obj = new SharedMemoryObject(
      this.frames,
      this.nextId++,
      name,
      size,
      this.objectHooks(),
      name === '' ? undefined : this.shm,
      this.shmPager,
    );
    this.inodes.set(obj.id, obj);
    if (name !== '') this.names.set(name, obj);
    return obj;
  }

  /** An anonymous shared object (for MAP_SHARED|MAP_ANONYMOUS): unnamed, gone with its last mapping. */
  createAnonymousObject(size: number): SharedMemoryObject {
    return this.createObject('', size);
  }

  /** The inode (shared memory object or regular file) with this id, while it exists. */
  object(id: number): Inode | undefined {
    return this.inodes.get(id);
  }

  /** The shared memory object with this id, while it exists (undefined for a regular file). */
  shmObject(id: number): SharedMemoryObject | undefined {
    const o = this.inodes.get(id);
    return o instanceof SharedMemoryObject ? o : undefined;
  }

  /** A fresh inode id (regions name their backing by it). */
  newInodeId(): number {
    return this.nextId++;
  }

  /** Registers a regular file's inode. */
  addFile(f: RegularFile): void {
    this.inodes.set(f.id, f);
  }

  /** A regular file is gone (no name, open file or mapping): its pages and blocks go. */
  releaseFile(f: RegularFile): void {
    this.inodes.delete(f.id);
    this.pageCache.release(f);
  }

  /** Every live inode. */
  allInodes(): IterableIterator<Inode> {
    return this.inodes.values();
  }

  /** The object with this name, while the name is linked. */
  byName(name: string): SharedMemoryObject | undefined {
    return this.names.get(name);
  }
}

/** @internal /dev/shm's charge (module-level: a snapshot names it, src/snapshot). */
export function chargeShm(this: { used: number; readonly pages: number }, pages: number): boolean {
  if (this.used + pages > this.pages) return false;
  this.used += pages;
  return true;
}

/** @internal /dev/shm's uncharge. */
export function unchargeShm(this: { used: number }, pages: number): void {
  this.used -= pages;
}
