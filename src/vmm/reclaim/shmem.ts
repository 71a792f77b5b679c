/**
 * Reclaim of shared memory objects' pages (tmpfs/shmem pages, MAP_SHARED|MAP_ANONYMOUS
 * included), as Linux reclaims a swap-backed page cache folio: the policy chooses pages over
 * bulk reads of the Accessed and Dirty bits of *every* mapping (folio_referenced); an evicted
 * page is unmapped from every page table that maps it, found through the object's reverse
 * map (the address spaces attached to it and their regions backed by it: Linux's i_mmap),
 * written to a swap slot (shmem_writeout: shmem pages are always written, there is no clean
 * copy to drop), and the object keeps the slot in place of the frame. Unlike an anonymous
 * page, the entries are cleared, not given a swap entry: the next fault of any mapping asks
 * the object (shmem_fault), which reads the page back once (a major fault) into one frame that
 * every mapping then maps again (minor faults): sharing survives, contents never change.
 *
 * The machine-wide reclaimer drives it beside the processes' resident sets; madvise's
 * MADV_PAGEOUT and MADV_COLD reach it for pages that only the calling process maps. Its
 * evictions go through the one eviction pipeline (pipeline.ts), its reverse map is rmap.ts.
 */
import { PageBit } from '../../core/constants.js';
import { VmmError } from '../../errors.js';
import type { AccessBits, ReclaimPolicy } from '../../reclaim/policy.js';
import type { Flushed } from '../../machine/tlb-flush.js';
import type { Reclaimable } from '../reclaimer.js';
import { putSlot } from './swap-cache.js';
import { readAround } from '../swap-in.js';
import type { ResidentContext } from '../resident-context.js';
import type { ObjectPager, SharedMemoryObject } from '../shared-memory.js';
import { Rmap, type RmapSpace } from './rmap.js';
import { evictBatch, Fate, type EvictionSource } from './pipeline.js';

/** Key layout: object slot × 2^36 + page index (2^36 pages = 256 TiB, more than user space). */
const PAGES = 2 ** 36;
/** Objects with pages tracked at once (keys stay below 2^53). */
const MAX_OBJECTS = 2 ** 17;

/** What the pager needs of the machine. */
export type ShmReclaimContext = Pick<ResidentContext, 'frames' | 'swap' | 'reclaim' | 'swapCache' | 'readahead' | 'reclaimer' | 'noteCost'>;

/** The reclaim domain of all shared memory objects of a machine. */
export class ShmReclaim implements ObjectPager, Reclaimable, AccessBits {
  readonly domain = 'shmem' as const;
  private readonly slotOf = new Map<SharedMemoryObject, number>();
  private readonly objects: Array<SharedMemoryObject | undefined> = [];
  private readonly freeSlots: number[] = [];
  private victims = new Float64Array(64);
  private scanner: 'kswapd' | 'direct' = 'direct';
  /** @internal */
  readonly ctx: ShmReclaimContext;

  constructor(
    ctx: ShmReclaimContext,
    /** Its replacement policy (clock by default, over object pages). */
    readonly policy: ReclaimPolicy,
  ) {
    this.ctx = ctx;
  }

  /** Object pages the policy tracks. */
  lruPages(): number {
    return this.policy.size;
  }
  /** Of them, pages on its policy's active list (Linux's Active(anon); 0 when the policy has none). */
  activePages(): number {
    const a = (this.policy as { active?: { size?: number } }).active;
    return typeof a?.size === 'number' ? a.size : 0;
  }


  // ------------------------------------------------------------ ObjectPager

  /** A page got a frame: the policy tracks it from now on. */
  added(obj: SharedMemoryObject, index: number): void {
    const s = this.objectSlot(obj, true);
    if (s >= 0) this.policy.insert(s * PAGES + index, false);
  }

  /** Reads page `index` back: from the swap cache (minor: readahead brought it in) or from zswap or the device (major). */
  pageIn(obj: SharedMemoryObject, index: number): 'major' | 'minor' {
    const slot = obj.slotOf(index);
    const swap = this.ctx.swap;
    if (slot === undefined || !swap) throw new VmmError('EFAULT', `shared memory ${JSON.stringify(obj.name)}: page ${index} is not in swap (internal inconsistency)`);
    const fr = this.ctx.frames;
    let kind: 'major' | 'minor';
    let pfn = this.ctx.swapCache.frameOf(slot);
    if (pfn !== undefined) {
      // The swap cache's reference passes to the object.
      this.ctx.swapCache.deleteSlot(slot);
      this.ctx.reclaim.swapcache_hit++;
      if (this.ctx.readahead.delete(slot)) {
        this.ctx.reclaim.swap_ra_hit++;
        swap.readahead.hit(); // the next window grows from it
      }
      kind = 'minor';
    } else {
      pfn = fr.allocZeroed();
      if (pfn < 0) throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(obj.name)}: no free frame to read page ${index} back from swap`);
      if (!swap.zswap?.has(slot) && swap.device.holdsZeros(slot)) {
        swap.pswpin++; // a page of zeros: the fresh frame is it already
        this.ctx.reclaim.pswpin++;
      } else {
        let from: string;
        try {
          from = swap.read(slot, fr.view(pfn), fr.offset(pfn));
        } catch (e) {
          fr.unref(pfn); // a failed read (a swap file's I/O error) changes nothing
          throw e;
        }
        fr.noteWritten(pfn, 1);
        if (from === 'device') this.ctx.reclaim.pswpin++;
        else this.ctx.reclaim.zswpin++;
      }
      kind = 'major';
    }
    // shmem_swapin_folio frees the swap copy: the page is the object's alone again (and dirty).
    obj.pagedIn(index, pfn);
    putSlot(this.ctx, slot);
    // shmem_swapin_cluster: the neighbouring slots come into the swap cache too.
    if (kind === 'major') this.ctx.reclaim.swap_ra += readAround(this.ctx, slot);
    return kind;
  }

  /** Pages left without reclaim (a hole punched, truncation): they leave the policy, their slots are freed. */
  removed(obj: SharedMemoryObject, present: Iterable<number>, slots: Iterable<number>): void {
    const s = this.objectSlot(obj, false);
    if (s >= 0) for (const index of present) this.policy.remove(s * PAGES + index);
    for (const slot of slots) putSlot(this.ctx, slot);
  }

  /** The object is gone: its pages leave the policy, its slots are freed. */
  released(obj: SharedMemoryObject, present: Iterable<number>, slots: Iterable<number>): void {
    const s = this.objectSlot(obj, false);
    if (s >= 0) {
      for (const index of present) this.policy.remove(s * PAGES + index);
      this.slotOf.delete(obj);
      this.objects[s] = undefined;
      this.freeSlots.push(s);
    }
    for (const slot of slots) putSlot(this.ctx, slot);
  }

  // ------------------------------------------------------------ Reclaimable (never an OOM victim: shared memory belongs to no process)

  /** Evicts up to `count` object pages chosen by the policy; returns how many went. */
  evict(count: number, incoming?: number, who: 'kswapd' | 'direct' = 'direct'): number {
    if (!this.ctx.swap) return 0;
    if (this.victims.length < count) this.victims = new Float64Array(Math.max(count, 2 * this.victims.length));
    this.scanner = who;
    try {
      const n = this.policy.select(count, this, this.victims, incoming);
      return n === 0 ? 0 : this.evictKeys(this.victims, n);
    } finally {
      this.scanner = 'direct';
    }
  }

  /**
   * MADV_PAGEOUT of object pages [first, first + count) of `obj` that only `by` maps (Linux
   * skips folios mapped by other processes): evicts them now. Returns pages evicted.
   */
  pageOut(obj: SharedMemoryObject, first: number, count: number, by: object): number {
    const keys = this.exclusiveKeys(obj, first, count, by);
    for (let i = 0; i < keys.length; i++) this.policy.remove(keys[i]!);
    return keys.length === 0 ? 0 : this.evictKeys(keys, keys.length);
  }

  /** MADV_COLD of object pages only `by` maps: Accessed cleared, moved to the policy's cold end. */
  deactivate(obj: SharedMemoryObject, first: number, count: number, by: object): void {
    const keys = this.exclusiveKeys(obj, first, count, by);
    this.clearAccessed(keys, keys.length);
    for (let i = 0; i < keys.length; i++) this.policy.deactivate?.(keys[i]!);
  }

  // ------------------------------------------------------------ AccessBits

  /** A/D of each page: the union over every mapping of it (folio_referenced), one bulk read per mapping space. */
  read(keys: Float64Array, count: number, out: Uint8Array): void {
    const rm = this.rmap(keys, count).walk(false);
    for (let k = 0; k < count; k++) out[k] = rm.accessBits(k) & (PageBit.ACCESSED | PageBit.DIRTY);
    if (this.scanner === 'kswapd') this.ctx.reclaim.pgscan_kswapd += count;
    else this.ctx.reclaim.pgscan_direct += count;
  }

  /** Clears A in every mapping of each page (the TLB is not flushed, as on x86 Linux). */
  clearAccessed(keys: Float64Array, count: number): void {
    this.rmap(keys, count).walk(true);
  }

  // ------------------------------------------------------------ eviction

  /**
   * Evicts the pages keys[0..n) (forgotten by the policy already) through the eviction pipeline:
   * written to a slot each, unmapped from every mapping, their frames freed. A page some other
   * holder references (beyond the object and its mappings) or that a mapping process has
   * mlocked stays, and the policy tracks it again; so do the rest when swap is full or a write fails.
   */
  private evictKeys(keys: Float64Array, n: number): number {
    const { reclaimed, written, failure } = evictBatch(this.ctx, new ShmBatch(this, keys, n));
    this.ctx.noteCost(false, written, n - reclaimed);
    this.ctx.reclaim.evict_dirty += reclaimed;
    if (this.scanner === 'kswapd') this.ctx.reclaim.pgsteal_kswapd += reclaimed;
    else this.ctx.reclaim.pgsteal_direct += reclaimed;
    if (failure !== undefined) throw failure;
    return reclaimed;
  }

  // ------------------------------------------------------------ the reverse map

  /** @internal The reverse map of keys[0..count) (each object's i_mmap). */
  rmap(keys: ArrayLike<number>, count: number): Rmap {
    const pfns = new Float64Array(count);
    const pages: Array<{ inode: SharedMemoryObject; index: number }> = [];
    for (let v = 0; v < count; v++) {
      const [obj, index] = this.decode(keys[v]!);
      pfns[v] = this.frameOfKey(keys[v]!);
      pages.push({ inode: obj, index });
    }
    return Rmap.ofInodePages(pages, pfns);
  }

  /** @internal The object page behind a key. */
  decodeKey(key: number): [SharedMemoryObject, number] {
    return this.decode(key);
  }

  /** Keys of the present pages of obj[first, first + count) that `by` alone maps (the object's reference + one mapping, in `by`). */
  private exclusiveKeys(obj: SharedMemoryObject, first: number, count: number, by: object): Float64Array {
    const s = this.objectSlot(obj, false);
    if (s < 0) return new Float64Array(0);
    const present: number[] = [];
    const pfnList: number[] = [];
    for (let i = first; i < first + count; i++) {
      const pfn = obj.presentFrame(i);
      if (pfn !== undefined) present.push(i), pfnList.push(pfn);
    }
    const pfns = Float64Array.from(pfnList);
    const refs = new Float64Array(pfns.length);
    this.ctx.frames.refCounts(pfns, pfns.length, refs);
    const keys: number[] = [];
    for (let k = 0; k < present.length; k++) if (refs[k] === 2) keys.push(s * PAGES + present[k]!);
    // The one mapping must be `by`'s: confirm with one bulk read of the entries.
    const rm = this.rmap(keys, keys.length).walk(false);
    const ok = new Uint8Array(keys.length);
    rm.forEachHit((space, k) => {
      if (space === (by as RmapSpace) && rm.mapped[k] === 1) ok[k] = 1;
    });
    const out: number[] = [];
    for (let k = 0; k < keys.length; k++) if (ok[k]) out.push(keys[k]!);
    return Float64Array.from(out);
  }

  private decode(key: number): [SharedMemoryObject, number] {
    const s = Math.floor(key / PAGES);
    const obj = this.objects[s];
    if (!obj) throw new VmmError('EFAULT', `shared memory reclaim: key ${key} names no object (internal inconsistency)`);
    return [obj, key - s * PAGES];
  }

  private frameOfKey(key: number): number {
    const [obj, index] = this.decode(key);
    const f = obj.presentFrame(index);
    if (f === undefined) throw new VmmError('EFAULT', `shared memory reclaim: page ${index} of ${JSON.stringify(obj.name)} is not present (internal inconsistency)`);
    return f;
  }

  /** The object's key slot (allocated on first use when `create`); -1 when none (or the table is full: its pages are then not reclaimable). */
  private objectSlot(obj: SharedMemoryObject, create: boolean): number {
    const s = this.slotOf.get(obj);
    if (s !== undefined || !create) return s ?? -1;
    const fresh = this.freeSlots.pop() ?? (this.objects.length < MAX_OBJECTS ? this.objects.length : -1);
    if (fresh < 0) return -1;
    this.objects[fresh] = obj;
    this.slotOf.set(obj, fresh);
    return fresh;
  }

}

/** A batch of shared memory pages in the pipeline: written to swap, then unmapped (shmem_writeout: no clean copy to drop). */
class ShmBatch implements EvictionSource {
  readonly needsRefs = true;
  readonly swapEntries = false;

  constructor(
    private readonly pager: ShmReclaim,
    private readonly keys: Float64Array,
    readonly n: number,
  ) {}

  rmap(): Rmap {
    return this.pager.rmap(this.keys, this.n).walk(false);
  }

  /** Kept: mlocked in a mapping (unevictable), or held by someone the reverse map does not know. */
  classify(k: number, rm: Rmap, refs: number): Fate {
    if (rm.locked[k] || refs !== 1 + rm.mapped[k]!) {
      this.putBack(k);
      return Fate.KEEP;
    }
    return Fate.WRITE;
  }

  wrote(_k: number, where: 'zswap' | 'device'): void {
    if (where === 'zswap') this.pager.ctx.reclaim.zswpout++;
    else this.pager.ctx.reclaim.pswpout++;
  }

  putBack(k: number): void {
    this.pager.policy.insert(this.keys[k]!, false);
  }

  commit(k: number, _fate: Fate, slot: number, _rm: Rmap, _flushed: Flushed): boolean {
    const [obj, index] = this.pager.decodeKey(this.keys[k]!);
    obj.pagedOut(index, slot);
    return true;
  }
}
