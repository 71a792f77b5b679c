/**
 * Shared memory objects, like POSIX shm_open: a named, sized set of pages that any number of
 * address spaces map at any addresses. The object holds one reference on each page's frame
 * (allocated, zeroed, on first touch); every mapping of a page holds another. The frames go
 * when the name is unlinked and the last mapping is gone.
 *
 * As a tmpfs file, an object is sparse: its size costs nothing, only pages present are stored
 * (a Map, so host memory and unlink are proportional to them), and a named object's pages
 * count against the size of /dev/shm (options.shmSize, half of RAM by default, as tmpfs):
 * a page that does not fit is ENOSPC, which a fault turns into SIGBUS as shmem_fault does.
 *
 * On a machine with swap the object's pages are reclaimable, as tmpfs pages are (shmem's
 * swap-backed folios): its pager (ShmReclaim) evicts a page from every address space that maps
 * it, through the object's reverse map (the spaces attached to it, like a file's i_mmap), and
 * the object then holds the page's swap slot instead of its frame (shmem's swap entry in the
 * page cache). The next fault of any mapping reads it back into one frame that every mapping
 * faults in again: the page stays shared.
 */
import type { Frames } from '../machine/frames.js';
import { VmmError } from '../errors.js';

/** Where a named object's pages are charged: the /dev/shm filesystem's size. */
export interface ShmBudget {
  /** Takes `pages` pages of the filesystem; false (nothing taken) when they do not fit. */
  charge(pages: number): boolean;
  /** Gives `pages` pages back. */
  uncharge(pages: number): void;
  /** Size of the filesystem in bytes (for messages). */
  readonly bytes: number;
}

/** Something that maps objects: an address space's VMM (the reverse map lists them). */
export type ObjectMapper = object;

/** What makes an object's pages reclaimable (the machine's ShmReclaim, with swap). */
export interface ObjectPager {
  /** Page `index` of `obj` got a frame (first touch or read back): reclaim may choose it from now on. */
  added(obj: SharedMemoryObject, index: number): void;
  /** Reads swapped page `index` back into a frame and gives it to the object; 'major' when it was read from swap, 'minor' from the swap cache. ENOMEM when no frame is free. */
  pageIn(obj: SharedMemoryObject, index: number): 'major' | 'minor';
  /** The object is gone: forget its present pages and free the slots of its swapped ones. */
  released(obj: SharedMemoryObject, present: Iterable<number>, slots: Iterable<number>): void;
  /** A hole was punched (MADV_REMOVE): forget those present pages and free those slots; the object lives on. */
  removed(obj: SharedMemoryObject, present: Iterable<number>, slots: Iterable<number>): void;
  /** MADV_PAGEOUT: evicts the present pages of [first, first + count) that only `by` maps; returns how many went. */
  pageOut(obj: SharedMemoryObject, first: number, count: number, by: ObjectMapper): number;
  /** MADV_COLD: the present pages of [first, first + count) that only `by` maps lose Accessed and go to the policy's cold end. */
  deactivate(obj: SharedMemoryObject, first: number, count: number, by: ObjectMapper): void;
}

/** A shared memory object. */
export class SharedMemoryObject {
  /** Frame of each page present, by page index (sparse: a page never touched has no entry). */
  private readonly frames = new Map<number, number>();
  /** Swap slot of each page reclaim wrote out, by page index (shmem's swap entries). */
  private readonly slots = new Map<number, number>();
  /** The address spaces mapping the object (its reverse map: Linux's i_mmap, per space). */
  private readonly mappers = new Set<ObjectMapper>();
  private linked: boolean;
  private released = false;
  /** @internal Pages charged to Committed_AS for it (an anonymous object's size, shmem_acct_size), uncharged when it goes. */
  accounted = 0;

  /** @internal Use machine.createSharedMemory(). */
  constructor(
    /** Where the frames come from. */
    private readonly frames_: Frames,
    /** Unique id (regions name their backing by it). */
    readonly id: number,
    /** The name it was created with. */
    readonly name: string,
    /** Size in bytes (a multiple of 4096). */
    readonly size: number,
    private readonly hooks: { unlinked(o: SharedMemoryObject): void; released(o: SharedMemoryObject): void },
    /** The filesystem a named object lives on; none for MAP_SHARED|MAP_ANONYMOUS (accounted at mmap time instead). */
    private readonly budget?: ShmBudget,
    /** Reclaim of its pages (with swap); none: the pages stay until the object goes. */
    private readonly pager?: ObjectPager,
  ) {
    // An anonymous object (MAP_SHARED|MAP_ANONYMOUS) has no name to keep it alive.
    this.linked = name !== '';
  }

  /** Number of address spaces mapping the object. */
  get attachments(): number {
    return this.mappers.size;
  }

  /** Pages of the object that have a frame. */
  get residentPages(): number {
    return this.frames.size;
  }

  /** Pages of the object that reclaim wrote to swap. */
  get swappedPages(): number {
    return this.slots.size;
  }

  /** True while the name is linked. */
  get isLinked(): boolean {
    return this.linked;
  }

  private full(pages: number): VmmError {
    return new VmmError('ENOSPC', `shared memory ${JSON.stringify(this.name)}: ${pages} more page(s) do not fit in /dev/shm (options.shmSize ${this.budget!.bytes} bytes)`);
  }

  /** Frame of page `index`, allocating a zeroed one on first touch; ENOMEM when memory is full, ENOSPC when /dev/shm is. @internal */
  frameOf(index: number): number {
    let f = this.frames.get(index);
    if (f === undefined && this.slots.size !== 0 && this.slots.has(index)) {
      this.pager!.pageIn(this, index);
      f = this.frames.get(index)!;
    }
    if (f === undefined) {
      if (this.budget && !this.budget.charge(1)) throw this.full(1);
      f = this.frames_.allocZeroed();
      if (f < 0) {
        this.budget?.uncharge(1);
        throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no free frame for page ${index}`);
      }
      this.frames.set(index, f);
      this.pager?.added(this, index);
    }
    return f;
  }

  /** Frames of pages [first, first+count), allocating the untouched ones in one bulk call; ENOMEM or ENOSPC changes nothing. @internal */
  framesOf(first: number, count: number): Float64Array {
    // More pages than RAM can never be backed: refuse before sizing any array by `count`.
    if (count > this.frames_.total) throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: ${count} pages are more than physical memory`);
    // Swapped pages come back one by one (each a read). When memory runs out midway the ENOMEM
    // goes to the caller with the pages read so far back in the object (a consistent state: they
    // are its frames now, as a fault would have left them); populate then maps what fits.
    if (this.slots.size !== 0) for (let i = first; i < first + count; i++) if (this.slots.has(i)) this.pager!.pageIn(this, i);
    let missing = 0;
    for (let i = first; i < first + count; i++) if (!this.frames.has(i)) missing++;
    if (missing > 0) {
      if (this.budget && !this.budget.charge(missing)) throw this.full(missing);
      const fresh = new Float64Array(missing);
      if (!this.frames_.allocList(fresh, missing)) {
        this.budget?.uncharge(missing);
        throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no ${missing} free frames`);
      }
      let k = 0;
      for (let i = first; i < first + count; i++) {
        if (this.frames.has(i)) continue;
        this.frames.set(i, fresh[k++]!);
        this.pager?.added(this, i);
      }
    }
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.frames.get(first + i)!;
    return out;
  }

  /** @internal The frames the object holds a reference on (one each), for auditing. */
  heldFrames(): number[] {
    return [...this.frames.values()];
  }

  /** @internal The swap slots the object holds a reference on (one each), for auditing. */
  heldSlots(): number[] {
    return [...this.slots.values()];
  }

  /** @internal The frame of page `index` if it is present (never allocates nor reads swap). */
  presentFrame(index: number): number | undefined {
    return this.frames.get(index);
  }

  /** @internal True when page `index` is in swap. */
  isSwapped(index: number): boolean {
    return this.slots.size !== 0 && this.slots.has(index);
  }

  /** @internal The swap slot of page `index` (undefined when it is not swapped). */
  slotOf(index: number): number | undefined {
    return this.slots.get(index);
  }

  /** @internal Reclaim wrote page `index` to `slot` and unmapped it everywhere: the object drops its frame and holds the slot. */
  pagedOut(index: number, slot: number): void {
    const f = this.frames.get(index)!;
    this.frames.delete(index);
    this.slots.set(index, slot);
    this.frames_.unref(f);
  }

  /** @internal The pager read page `index` back into `pfn` (whose reference passes to the object); the slot is the caller's to free. */
  pagedIn(index: number, pfn: number): void {
    this.slots.delete(index);
    this.frames.set(index, pfn);
    this.pager?.added(this, index);
  }

  /** @internal The address spaces mapping the object (the reverse map reclaim walks). */
  mappedBy(): Iterable<ObjectMapper> {
    return this.mappers;
  }

  /** @internal An address space started mapping this object (once per space, however many regions). */
  attach(by: ObjectMapper): void {
    this.mappers.add(by);
  }

  /** @internal An address space stopped mapping this object. */
  detach(by: ObjectMapper): void {
    this.mappers.delete(by);
    this.maybeRelease();
  }

  /**
   * @internal Punches a hole (fallocate PUNCH_HOLE, what MADV_REMOVE does to shmem): pages
   * [first, first + count) lose their frames and swap slots, and read as zeros again. The caller
   * has unmapped them from every mapping first.
   */
  punchHole(first: number, count: number): void {
    const present: number[] = [];
    const slots: number[] = [];
    for (const [i, f] of this.frames) if (i >= first && i < first + count) present.push(i), void f;
    for (const [i, s] of this.slots) if (i >= first && i < first + count) slots.push(s), this.slots.delete(i);
    this.pager?.removed(this, present, slots);
    for (const i of present) {
      this.frames_.unref(this.frames.get(i)!);
      this.frames.delete(i);
    }
    this.budget?.uncharge(present.length + slots.length);
  }

  /** Removes the name (like shm_unlink); the memory lives on while it is mapped. */
  unlink(): void {
    if (!this.linked) throw new VmmError('ENOENT', `shared memory ${JSON.stringify(this.name)} is already unlinked`);
    this.linked = false;
    this.hooks.unlinked(this);
    this.maybeRelease();
  }

  private maybeRelease(): void {
    if (this.linked || this.mappers.size > 0 || this.released) return;
    this.released = true;
    this.hooks.released(this);
    this.pager?.released(this, this.frames.keys(), this.slots.values());
    for (const f of this.frames.values()) this.frames_.unref(f);
    // tmpfs charges swapped pages too: they leave the filesystem with the object.
    this.budget?.uncharge(this.frames.size + this.slots.size);
    this.frames.clear();
    this.slots.clear();
  }
}
