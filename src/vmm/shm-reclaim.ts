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
 * MADV_PAGEOUT and MADV_COLD reach it for pages that only the calling process maps.
 */
import { PAGE_SIZE, PageBit } from '../core/constants.js';
import { VmmError } from '../errors.js';
import type { AccessBits, ReclaimPolicy } from '../reclaim/policy.js';
import type { Reclaimable } from './reclaimer.js';
import { putSlot } from './swap-slot-refs.js';
import { readAround } from './swap-in.js';
import type { ResidentContext } from './resident-context.js';
import type { ObjectPager, SharedMemoryObject } from './shared-memory.js';
import type { VirtualMemory } from './virtual-memory.js';

/** Key layout: object slot × 2^36 + page index (2^36 pages = 256 TiB, more than user space). */
const PAGES = 2 ** 36;
/** Objects with pages tracked at once (keys stay below 2^53). */
const MAX_OBJECTS = 2 ** 17;

/** What the pager needs of the machine. */
export type ShmReclaimContext = Pick<ResidentContext, 'frames' | 'swap' | 'reclaim' | 'swapCache' | 'readahead' | 'reclaimer'>;

/** One mapping of a victim page: where a space maps it. */
interface Mapping {
  vm: VirtualMemory;
  las: number[];
  /** Victim index of each address. */
  owner: number[];
  /** Whether the region is MAP_SHARED (counted in the space's sharedPages). */
  shared: boolean[];
  /** The object's frame of each address's page: an entry maps the object's page only when it maps this frame. */
  want: number[];
}

/** The reclaim domain of all shared memory objects of a machine. */
export class ShmReclaim implements ObjectPager, Reclaimable, AccessBits {
  readonly domain = 'shmem' as const;
  private readonly slotOf = new Map<SharedMemoryObject, number>();
  private readonly objects: Array<SharedMemoryObject | undefined> = [];
  private readonly freeSlots: number[] = [];
  private victims = new Float64Array(64);
  private scanner: 'kswapd' | 'direct' = 'direct';

  constructor(
    private readonly ctx: ShmReclaimContext,
    /** Its replacement policy (clock by default, over object pages). */
    readonly policy: ReclaimPolicy,
  ) {}

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

  /** The object is gone: its pages leave the policy, its slots are freed. */
  removed(obj: SharedMemoryObject, present: Iterable<number>, slots: Iterable<number>): void {
    const s = this.objectSlot(obj, false);
    if (s >= 0) for (const index of present) this.policy.remove(s * PAGES + index);
    for (const slot of slots) putSlot(this.ctx, slot);
  }

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
    out.fill(0, 0, count);
    for (const m of this.mappings(keys, count)) {
      const { bits, frames } = this.bitsOf(m);
      for (let j = 0; j < m.las.length; j++) {
        const v = m.owner[j]!;
        if ((bits[j]! & PageBit.PRESENT) !== 0 && frames[j] === m.want[j]) out[v] = out[v]! | (bits[j]! & (PageBit.ACCESSED | PageBit.DIRTY));
      }
    }
    if (this.scanner === 'kswapd') this.ctx.reclaim.pgscan_kswapd += count;
    else this.ctx.reclaim.pgscan_direct += count;
  }

  /** Clears A in every mapping of each page (the TLB is not flushed, as on x86 Linux). */
  clearAccessed(keys: Float64Array, count: number): void {
    for (const m of this.mappings(keys, count)) m.vm.pages.clearAccessedList(this.lasOf(m), m.las.length);
  }

  // ------------------------------------------------------------ eviction

  /**
   * Evicts the pages keys[0..n) (forgotten by the policy already): unmapped from every
   * mapping, written to a slot each, their frames freed. A page some other holder references
   * (beyond the object and its mappings) or that a mapping process has mlocked stays, and the
   * policy tracks it again; so do the rest when swap is full.
   */
  private evictKeys(keys: Float64Array, n: number): number {
    const swap = this.ctx.swap!;
    const fr = this.ctx.frames;
    const maps = this.mappings(keys, n);
    const matched = new Uint32Array(n);
    const keep = new Uint8Array(n);
    const hits: Array<Uint8Array> = [];
    for (const m of maps) {
      const { bits, frames } = this.bitsOf(m);
      const hit = new Uint8Array(m.las.length);
      for (let j = 0; j < m.las.length; j++) {
        const v = m.owner[j]!;
        if ((bits[j]! & PageBit.PRESENT) === 0 || frames[j] !== m.want[j]) continue; // unmapped here, or a private copy
        hit[j] = 1;
        matched[v]!++;
        if (m.vm.isLockedAt(m.las[j]!)) keep[v] = 1; // mlocked: unevictable
      }
      hits.push(hit);
    }
    // Every holder of the frame must be one found here (the object and its mappings): a raw space may map it too.
    const pfns = new Float64Array(n);
    for (let v = 0; v < n; v++) pfns[v] = this.frameOfKey(keys[v]!);
    const refs = new Float64Array(n);
    fr.refCounts(pfns, n, refs);
    const slots = new Float64Array(n).fill(-1);
    let done = 0;
    let toZswap = 0;
    for (let v = 0; v < n; v++) {
      const pfn = pfns[v]!;
      if (keep[v] || refs[v] !== 1 + matched[v]!) {
        keep[v] = 1;
        continue;
      }
      const slot = swap.slots.alloc();
      if (slot < 0) {
        for (let w = v; w < n; w++) keep[w] = 1; // swap is full: the rest stay
        break;
      }
      let where: string;
      try {
        where = swap.write(slot, fr.view(pfn), fr.offset(pfn));
      } catch (e) {
        // A failed write (a swap file's I/O error) changes nothing: the slots go back, every victim is tracked again.
        swap.put(slot);
        for (let w = 0; w < v; w++) if (slots[w]! >= 0) swap.put(slots[w]!);
        for (let w = 0; w < n; w++) this.policy.insert(keys[w]!, false);
        throw e;
      }
      if (where === 'zswap') toZswap++;
      slots[v] = slot;
      done++;
    }
    this.ctx.reclaim.zswpout += toZswap;
    this.ctx.reclaim.pswpout += done - toZswap;
    // One bulk unmap (entries cleared, frame references dropped) per mapping space; the TLB flushes
    // are deferred into reclaim's batch when other CPUs may hold the pages, and go out once below.
    let anyUnmapped: VirtualMemory | undefined;
    maps.forEach((m, k) => {
      const las: number[] = [];
      let shared = 0;
      for (let j = 0; j < m.las.length; j++) {
        if (!hits[k]![j] || keep[m.owner[j]!]) continue;
        las.push(m.las[j]!);
        if (m.shared[j]) shared++;
      }
      if (las.length === 0) return;
      const list = Float64Array.from(las);
      const zeros = new Uint32Array(las.length);
      m.vm.pages.swapOutList(list, las.length, zeros, zeros);
      m.vm.pages.invalidateList(list, las.length);
      m.vm.sharedPages -= shared;
      anyUnmapped = m.vm;
    });
    // try_to_unmap_flush (shrink_folio_list): one flush for the whole batch.
    anyUnmapped?.pages.flushUnmapBatch();
    for (let v = 0; v < n; v++) {
      const [obj, index] = this.decode(keys[v]!);
      if (keep[v]) this.policy.insert(keys[v]!, false);
      else obj.pagedOut(index, slots[v]!);
    }
    this.ctx.reclaim.evict_dirty += done;
    if (this.scanner === 'kswapd') this.ctx.reclaim.pgsteal_kswapd += done;
    else this.ctx.reclaim.pgsteal_direct += done;
    return done;
  }

  // ------------------------------------------------------------ the reverse map

  /** Where each of keys[0..count) is mapped, grouped by space and region sharing (one list per space). */
  private mappings(keys: ArrayLike<number>, count: number): Mapping[] {
    const bySpace = new Map<VirtualMemory, Mapping>();
    for (let v = 0; v < count; v++) {
      const [obj, index] = this.decode(keys[v]!);
      const at = index * PAGE_SIZE;
      const pfn = this.frameOfKey(keys[v]!);
      for (const mapper of obj.mappedBy()) {
        const vm = mapper as VirtualMemory;
        // The region map keeps its answer until it changes.
        for (const r of vm.regions.regionsOf(obj.id)) {
          if (r.backing.type !== 'object') continue;
          const la = r.start + (at - r.backing.offset);
          if (la < r.start || la >= r.end) continue;
          let m = bySpace.get(vm);
          if (!m) bySpace.set(vm, (m = { vm, las: [], owner: [], shared: [], want: [] }));
          m.las.push(la);
          m.owner.push(v);
          m.shared.push(r.shared);
          m.want.push(pfn);
        }
      }
    }
    return [...bySpace.values()];
  }

  /** One bulk read of a mapping list's entries, into scratch arrays valid until the next read. */
  private bitsOf(m: Mapping): { bits: Uint8Array; frames: Float64Array } {
    const n = m.las.length;
    const las = this.lasOf(m);
    if (this.scratchBits.length < n) {
      this.scratchBits = new Uint8Array(las.length);
      this.scratchFrames = new Float64Array(las.length);
    }
    m.vm.pages.pageBits(las, n, this.scratchBits, this.scratchFrames);
    return { bits: this.scratchBits, frames: this.scratchFrames };
  }

  /** A mapping's addresses in the scratch list (no array made per call). */
  private lasOf(m: Mapping): Float64Array {
    const n = m.las.length;
    if (this.scratchLas.length < n) this.scratchLas = new Float64Array(Math.max(n, 2 * this.scratchLas.length));
    for (let j = 0; j < n; j++) this.scratchLas[j] = m.las[j]!;
    return this.scratchLas;
  }

  private scratchLas = new Float64Array(64);
  private scratchBits = new Uint8Array(64);
  private scratchFrames = new Float64Array(64);

  /** Keys of the present pages of obj[first, first + count) that `by` alone maps (the object's reference + one mapping). */
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
    const out: number[] = [];
    for (let k = 0; k < present.length; k++) if (refs[k] === 2) out.push(s * PAGES + present[k]!);
    // The one mapping must be `by`'s: confirm with one bulk read of its entries.
    const keys = Float64Array.from(out);
    const mine = this.mappings(keys, keys.length).find((m) => m.vm === by);
    if (!mine) return new Float64Array(0);
    const { bits, frames } = this.bitsOf(mine);
    const ok = new Set<number>();
    for (let j = 0; j < mine.las.length; j++) {
      const v = mine.owner[j]!;
      if ((bits[j]! & PageBit.PRESENT) !== 0 && frames[j] === mine.want[j]) ok.add(v);
    }
    return Float64Array.from([...ok].sort((a, b) => a - b), (v) => keys[v]!);
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
