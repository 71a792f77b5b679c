/**
 * Shared memory objects, like POSIX shm_open: a named, sized set of pages that any number of
 * address spaces map at any addresses. The object holds one reference on each page's frame
 * (allocated, zeroed, on first touch); every mapping of a page holds another. The frames go
 * when the name is unlinked and the last mapping is gone.
 */
import type { Frames } from '../machine/frames.js';
import { PAGE_SIZE } from '../core/constants.js';
import { VmmError } from '../errors.js';

/** A shared memory object. */
export class SharedMemoryObject {
  /** Frame of each page, 0 while the page has never been touched. */
  private readonly frames: Float64Array;
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
  ) {
    this.frames = new Float64Array(size / PAGE_SIZE);
    // An anonymous object (MAP_SHARED|MAP_ANONYMOUS) has no name to keep it alive.
    this.linked = name !== '';
  }

  /** Number of address spaces mapping the object. */
  get attachments(): number {
    return this.mappings;
  }

  /** Pages of the object that have a frame. */
  get residentPages(): number {
    let n = 0;
    for (const f of this.frames) if (f !== 0) n++;
    return n;
  }

  /** True while the name is linked. */
  get isLinked(): boolean {
    return this.linked;
  }

  /** Frame of page `index`, allocating a zeroed one on first touch; ENOMEM when memory is full. @internal */
  frameOf(index: number): number {
    let f = this.frames[index]!;
    if (f === 0) {
      f = this.frames_.allocZeroed();
      if (f < 0) throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no free frame for page ${index}`);
      this.frames[index] = f;
    }
    return f;
  }

  /** Frames of pages [first, first+count), allocating the untouched ones in one bulk call; ENOMEM changes nothing. @internal */
  framesOf(first: number, count: number): Float64Array {
    let missing = 0;
    for (let i = first; i < first + count; i++) if (this.frames[i] === 0) missing++;
    if (missing > 0) {
      const fresh = new Float64Array(missing);
      if (!this.frames_.allocList(fresh, missing)) throw new VmmError('ENOMEM', `shared memory ${JSON.stringify(this.name)}: no ${missing} free frames`);
      let k = 0;
      for (let i = first; i < first + count; i++) if (this.frames[i] === 0) this.frames[i] = fresh[k++]!;
    }
    return this.frames.slice(first, first + count);
  }

  /** @internal The frames the object holds a reference on (one each), for auditing. */
  heldFrames(): number[] {
    return [...this.frames].filter((f) => f !== 0);
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
    for (let i = 0; i < this.frames.length; i++) {
      if (this.frames[i] !== 0) this.frames_.unref(this.frames[i]!);
      this.frames[i] = 0;
    }
  }
}
