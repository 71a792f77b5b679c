/**
 * Shared memory objects, like POSIX shm_open: files of a tmpfs (shmem), a named, sized set of
 * pages that any number of address spaces map at any addresses. The object's page cache holds
 * one reference on each page's frame (allocated, zeroed, on first touch); every mapping of a
 * page holds another. The frames go when the name is unlinked and the last mapping is gone.
 * MAP_SHARED|MAP_ANONYMOUS memory is an unnamed object of the same kind (shmem_zero_setup).
 *
 * As a tmpfs file, an object is sparse: its size costs nothing, only pages present are stored
 * (a Map, so host memory and unlink are proportional to them), and a named object's pages
 * count against the size of /dev/shm (options.shmSize, half of RAM by default, as tmpfs):
 * a page that does not fit is ENOSPC, which a fault turns into SIGBUS as shmem_fault does.
 *
 * On a machine with swap the object's pages are reclaimable, as tmpfs pages are (shmem's
 * swap-backed folios): its pager (ShmReclaim) evicts a page from every address space that maps
 * it, through the object's reverse map (i_mmap, src/vmm/file/inode.ts), and the object then
 * holds the page's swap slot instead of its frame (shmem's swap entry in the page cache). The
 * next fault of any mapping reads it back into one frame that every mapping faults in again:
 * the page stays shared.
 */
import type { Frames } from '../machine/frames.js';
import { VmmError } from '../errors.js';
import { Inode, type InodeHost } from './file/inode.js';
import { CachePage } from './file/cache-page.js';

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
  /** Pages left without being reclaimed (a hole punched by MADV_REMOVE, or truncation): forget those present pages and free those slots; the object lives on. */
  removed(obj: SharedMemoryObject, present: Iterable<number>, slots: Iterable<number>): void;
  /** MADV_PAGEOUT: evicts the present pages of [first, first + count) that only `by` maps; returns how many went. */
  pageOut(obj: SharedMemoryObject, first: number, count: number, by: ObjectMapper): number;
  /** MADV_COLD: the present pages of [first, first + count) that only `by` maps lose Accessed and go to the policy's cold end. */
  deactivate(obj: SharedMemoryObject, first: number, count: number, by: ObjectMapper): void;
}

/** What an object tells the machine beyond its release: that its name went. */
export interface ObjectHost extends InodeHost {
  unlinked(o: SharedMemoryObject): void;
}

/** A shared memory object (a tmpfs file). */
export class SharedMemoryObject extends Inode {
  /** 'shmem': a tmpfs file (memory and swap). */
  readonly kind = 'shmem' as const;
  /** Swap slot of each page reclaim wrote out, by page index (shmem's swap entries). */
  private readonly slots = new Map<number, number>();
  /** @internal Pages charged to Committed_AS for it (an anonymous object's size, shmem_acct_size), uncharged when it goes. */
  accounted = 0;

  /** @internal Use machine.createSharedMemory(). */
  constructor(
    /** Where the frames come from. */
    private readonly frames_: Frames,
    /** Unique id (regions name their backing by it). */
    id: number,
    /** The name it was created with ('' for MAP_SHARED|MAP_ANONYMOUS memory). */
    readonly name: string,
    /** Size in bytes (a multiple of 4096). */
    size: number,
    private readonly hooks: ObjectHost,
    /** The filesystem a named object lives on; none for MAP_SHARED|MAP_ANONYMOUS (accounted at mmap time instead). */
    private readonly budget?: ShmBudget,
    /** Reclaim of its pages (with swap); none: the pages stay until the object goes. */
    private readonly pager?: ObjectPager,
  ) {
    // An anonymous object (MAP_SHARED|MAP_ANONYMOUS) has no name to keep it alive.
    super(id, size, name !== '', hooks);
  }

  /** Pages of the object that have a frame. */
  get residentPages(): number {
    return this.pages.size;
  }

  /** Pages of the object that reclaim wrote to swap. */
  get swappedPages(): number {
    return this.slots.size;
  }

  private full(pages: number): VmmError {
    return new VmmError('ENOSPC', `shared memory ${JSON.stringify(this.name)}: ${pages} more page(s) do not fit in /dev/shm (options.shmSize ${this.budget!.bytes} bytes)`);
  }

  /** Frame of page `index`, allocating a zeroed one on first touch; ENOMEM when memory is full, ENOSPC when /dev/shm is. @internal */
  frameOf(index: number): number {
    let p = this.pages.get(index);
    if (p === undefined && this.slots.size !== 0 && this.slots.has(index)) {
      this.pager!.pageIn(this, index);
      p = this.pages.get(index)!;
    }
    if (p !== undefined) return p.pfn;
    if (this.budget && !this.budget.charge(1)) throw this.full(1);
    const f = this.frames_.allocZeroed();
    if (f < 0) {
      this.budget?.uncharge(1);
      throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no free frame for page ${index}`);
    }
    this.pages.set(index, new CachePage(this, index, f));
    this.pager?.added(this, index);
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
    for (let i = first; i < first + count; i++) if (!this.pages.has(i)) missing++;
    if (missing > 0) {
      if (this.budget && !this.budget.charge(missing)) throw this.full(missing);
      const fresh = new Float64Array(missing);
      if (!this.frames_.allocList(fresh, missing)) {
        this.budget?.uncharge(missing);
        throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no ${missing} free frames`);
      }
      let k = 0;
      for (let i = first; i < first + count; i++) {
        if (this.pages.has(i)) continue;
        this.pages.set(i, new CachePage(this, i, fresh[k++]!));
        this.pager?.added(this, i);
      }
    }
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.pages.get(first + i)!.pfn;
    return out;
  }

  /** @internal The frames the object holds a reference on (one each), for auditing. */
  heldFrames(): number[] {
    const out: number[] = [];
    for (const p of this.pages.values()) out.push(p.pfn);
    return out;
  }

  /** @internal The swap slots the object holds a reference on (one each), for auditing. */
  heldSlots(): number[] {
    return [...this.slots.values()];
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
    const p = this.pages.get(index)!;
    this.pages.delete(index);
    this.slots.set(index, slot);
    this.frames_.unref(p.pfn);
  }

  /** @internal The pager read page `index` back into `pfn` (whose reference passes to the object); the slot is the caller's to free. */
  pagedIn(index: number, pfn: number): void {
    this.slots.delete(index);
    this.pages.set(index, new CachePage(this, index, pfn));
    this.pager?.added(this, index);
  }

  /**
   * @internal Truncation: the pages and swapped pages from page `from` on leave the object (their
   * mappings were unmapped first); their slots are freed, /dev/shm is uncharged.
   */
  dropFrom(from: number): void {
    this.punchHole(from, Number.MAX_SAFE_INTEGER - from);
  }

  /**
   * @internal Punches a hole (fallocate PUNCH_HOLE, what MADV_REMOVE does to shmem): pages
   * [first, first + count) lose their frames and swap slots, and read as zeros again. The caller
   * has unmapped them from every mapping first.
   */
  punchHole(first: number, count: number): void {
    const present: number[] = [];
    const slots: number[] = [];
    for (const i of this.pages.keys()) if (i >= first && i < first + count) present.push(i);
    for (const [i, s] of [...this.slots]) if (i >= first && i < first + count) slots.push(s), this.slots.delete(i);
    this.pager?.removed(this, present, slots);
    for (const i of present) {
      this.frames_.unref(this.pages.get(i)!.pfn);
      this.pages.delete(i);
    }
    this.budget?.uncharge(present.length + slots.length);
  }

  /** Removes the name (like shm_unlink); the memory lives on while it is mapped. */
  unlink(): void {
    if (!this.linked) throw new VmmError('ENOENT', `shared memory ${JSON.stringify(this.name)} is already unlinked`);
    this.hooks.unlinked(this);
    this.dropName();
  }

  /** @internal The machine releases the object: its frames and slots go. */
  freeAll(): void {
    this.pager?.released(this, this.pages.keys(), this.slots.values());
    for (const p of this.pages.values()) this.frames_.unref(p.pfn);
    // tmpfs charges swapped pages too: they leave the filesystem with the object.
    this.budget?.uncharge(this.pages.size + this.slots.size);
    this.pages.clear();
    this.slots.clear();
  }
}
