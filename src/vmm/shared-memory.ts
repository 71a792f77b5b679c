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

/** A shared memory object. */
export class SharedMemoryObject {
  /** Frame of each page present, by page index (sparse: a page never touched has no entry). */
  private readonly frames = new Map<number, number>();
  private mappings = 0;
  private linked: boolean;
  private released = false;

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
  ) {
    // An anonymous object (MAP_SHARED|MAP_ANONYMOUS) has no name to keep it alive.
    this.linked = name !== '';
  }

  /** Number of address spaces mapping the object. */
  get attachments(): number {
    return this.mappings;
  }

  /** Pages of the object that have a frame. */
  get residentPages(): number {
    return this.frames.size;
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
    if (f === undefined) {
      if (this.budget && !this.budget.charge(1)) throw this.full(1);
      f = this.frames_.allocZeroed();
      if (f < 0) {
        this.budget?.uncharge(1);
        throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no free frame for page ${index}`);
      }
      this.frames.set(index, f);
    }
    return f;
  }

  /** Frames of pages [first, first+count), allocating the untouched ones in one bulk call; ENOMEM or ENOSPC changes nothing. @internal */
  framesOf(first: number, count: number): Float64Array {
    // More pages than RAM can never be backed: refuse before sizing any array by `count`.
    if (count > this.frames_.total) throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: ${count} pages are more than physical memory`);
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
      for (let i = first; i < first + count; i++) if (!this.frames.has(i)) this.frames.set(i, fresh[k++]!);
    }
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.frames.get(first + i)!;
    return out;
  }

  /** @internal The frames the object holds a reference on (one each), for auditing. */
  heldFrames(): number[] {
    return [...this.frames.values()];
  }

  /** @internal A region started mapping this object. */
  attach(): void {
    this.mappings++;
  }

  /** @internal A region stopped mapping this object. */
  detach(): void {
    this.mappings--;
    this.maybeRelease();
  }

  /** Removes the name (like shm_unlink); the memory lives on while it is mapped. */
  unlink(): void {
    if (!this.linked) throw new VmmError('ENOENT', `shared memory ${JSON.stringify(this.name)} is already unlinked`);
    this.linked = false;
    this.hooks.unlinked(this);
    this.maybeRelease();
  }

  private maybeRelease(): void {
    if (this.linked || this.mappings > 0 || this.released) return;
    this.released = true;
    this.hooks.released(this);
    for (const f of this.frames.values()) this.frames_.unref(f);
    this.budget?.uncharge(this.frames.size);
    this.frames.clear();
  }
}
