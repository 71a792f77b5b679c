/**
 * The typed frame operations the kernel side (the VMM's zero pages and shared memory objects,
 * reclaim) uses: frame numbers in, frame numbers out, failure as a value — no core positional
 * calls or status codes above this level. Users have PhysicalMemory (addresses in bytes,
 * errors thrown) instead.
 */
import { VmmError } from '../errors.js';
import type { Core } from '../core/core.js';

/** Frame allocation and reference counts of one machine. */
export class Frames {
  /** `hw.core` is read at every call: a disposed machine's core refuses them all. */
  constructor(private readonly hw: { readonly core: Core }) {}
  /** RAM views by 2 MiB window, valid for the core they came from (a disposed machine swaps its core). */
  private views: Uint8Array[] = [];
  private viewsOf: Core | undefined;

  /** The lowest free frame, zeroed, with one reference; -1 when none is free. */
  allocZeroed(): number {
    const f = this.hw.core.allocFrame();
    return f < 0 ? -1 : f;
  }

  /** The first of the lowest run of `count` free frames starting at a multiple of `align` (frames), zeroed, one reference each; -1 when none is free. */
  allocRun(count: number, align: number): number {
    const f = this.hw.core.allocFrames(count, align);
    return f < 0 ? -1 : f;
  }

  /** Fills out[0..count) with single zeroed frames (one reference each, lowest first); false (nothing allocated) when too few are free. */
  allocList(out: Float64Array, count = out.length): boolean {
    return this.hw.core.allocFrameList(out, count) >= 0;
  }

  /** Copies frame `src`'s 4096 bytes onto frame `dst` (both allocated). */
  copy(dst: number, src: number): void {
    const st = this.hw.core.copyFrame(dst, src);
    if (st < 0) throw new VmmError('EINVAL', `copy: frame ${dst} or ${src} is not allocated`);
  }

  /** Drops one reference on `pfn`: the count left (0 = the frame is free again). */
  unref(pfn: number): number {
    return this.hw.core.unrefFrame(pfn);
  }

  /** Drops one reference from each of frames[0..count), in one core call: the frames freed. The callers pass frames they hold references on: a refusal is a bug. */
  unrefList(frames: Float64Array, count: number): number {
    if (count === 0) return 0;
    const n = this.hw.core.unrefFrameList(frames, count);
    if (n < 0) throw new VmmError('EFAULT', `unrefList: ${count} frames, one not allocated or listed more often than it is referenced (internal inconsistency)`);
    return n;
  }

  /** Reference count of `pfn` (0 when free). */
  refCount(pfn: number): number {
    return this.hw.core.refCount(pfn);
  }

  /** Reference counts of frames[0..count) into out, in one core call. */
  refCounts(frames: Float64Array, count: number, out: Float64Array): void {
    const st = this.hw.core.refCountList(frames, count, out);
    // The callers pass frames read from page tables or held by the VMM: a refusal is a bug, not bad input.
    if (st < 0) throw new VmmError('EFAULT', `refCounts: ${count} frames, one out of range or arrays shorter than ${count} (internal inconsistency)`);
  }

  // ---- for reclaim: the frame count, references, and the bytes of a frame (swap reads and writes)

  /** Frames in the machine. */
  get total(): number {
    return this.hw.core.totalFrames;
  }

  /** Free frames now. */
  freeCount(): number {
    return this.hw.core.freeFrames();
  }

  /** Adds a reference to an allocated `pfn` (the swap cache holding a page): the new count. */
  ref(pfn: number): number {
    return this.hw.core.refFrame(pfn);
  }

  /** The RAM view holding frame `pfn` and the frame's byte offset in it (the view is stable for the machine's life). */
  bytes(pfn: number): [view: Uint8Array, offset: number] {
    return [this.view(pfn), this.offset(pfn)];
  }

  /**
   * The RAM view holding frame `pfn` (cached: no core call per page while the core is the same).
   * 2 MiB windows, not the 1 GiB chunks: V8 runs a full GC for the external memory a 1 GiB view
   * claims (~1-5 ms, once per machine: most of a short replay's reclaim time).
   */
  view(pfn: number): Uint8Array {
    const core = this.hw.core;
    if (core !== this.viewsOf) {
      this.viewsOf = core;
      this.views = [];
    }
    const i = Math.floor(pfn / FRAMES_PER_WINDOW);
    return this.views[i] ?? (this.views[i] = core.ramWindow(i));
  }

  /** The byte offset of frame `pfn` in its view. */
  offset(pfn: number): number {
    return (pfn - Math.floor(pfn / FRAMES_PER_WINDOW) * FRAMES_PER_WINDOW) * 4096;
  }

  /**
   * Copies frames[start, start + count) to dst from dstOffset, 4096 bytes each, in one core call;
   * an all-zero frame is not copied and gets zero[i] = 1 (else 0). Throws for a frame not allocated.
   */
  copyOut(frames: Float64Array, start: number, count: number, dst: Uint8Array, dstOffset: number, zero: Uint8Array): void {
    if (this.hw.core.copyFramesOut(frames, start, count, dst, dstOffset, zero) < 0) throw new VmmError('EFAULT', `copyOut: a frame of ${count} is not allocated, or the buffers are too short (internal inconsistency)`);
  }

  /** Says that frames [pfn, pfn + count) were written through `bytes` (so they are zeroed when next allocated). */
  noteWritten(pfn: number, count: number): void {
    this.hw.core.noteWritten(pfn, count);
  }
}

const FRAMES_PER_WINDOW = 2 ** 21 / 4096;
