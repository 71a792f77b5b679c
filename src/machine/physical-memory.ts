/** Physical memory and the frame allocator, as users see them: addresses in bytes, errors as VmmError. */
import type { Core } from '../core/core.js';
import { CHUNK_BYTES, PAGE_SIZE, Status } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { toBytes } from '../bytes.js';
import { hex } from '../hex.js';
import { toCount, toPhysical } from '../address.js';

/** Raw physical memory and frames of one machine. */
export class PhysicalMemory {
  /** RAM chunk views, fetched once: a native call per copy would cost more than the copy. */
  private readonly chunks: Uint8Array[] = [];
  /** DataViews of the chunks, for the small-copy fast paths. */
  private readonly views: DataView[] = [];

  /** @internal */
  constructor(private core: Core, readonly size: number) {}

  /** @internal The machine was disposed: calls go to `disposed` (which refuses them) and the RAM views are dropped. */
  detach(disposed: Core): void {
    this.core = disposed;
    this.chunks.length = 0;
    this.views.length = 0;
  }

  /** Frames in the machine (size / 4096). */
  get totalFrames(): number {
    return this.core.totalFrames;
  }
  /** Frames not allocated. */
  get freeFrames(): number {
    return this.core.freeFrames();
  }
  /** Frames allocated (frame 0, kernel tables, page tables and data). */
  get usedFrames(): number {
    return this.core.totalFrames - this.core.freeFrames();
  }

  /** Allocates the lowest free frame, zeroed, with one reference: its physical address. ENOMEM when none is free. */
  allocFrame(): number {
    const pfn = this.core.allocFrame();
    if (pfn < 0) throw new VmmError('ENOMEM', 'allocFrame: no free frame');
    return pfn * PAGE_SIZE;
  }

  /** Allocates `count` contiguous zeroed frames starting at a multiple of `align` bytes (default 4096): the first address. */
  allocFrames(count: number, align: number = PAGE_SIZE): number {
    const n = toCount(count, 'count', { min: 1, max: this.core.totalFrames });
    const a = toCount(align, 'align', { min: PAGE_SIZE });
    if (!Number.isInteger(Math.log2(a))) throw new VmmError('EINVAL', `align ${a} is not a power of two`);
    const pfn = this.core.allocFrames(n, a / PAGE_SIZE);
    if (pfn === Status.ENOMEM) throw new VmmError('ENOMEM', `allocFrames: no run of ${n} free frames aligned to ${a} bytes`);
    if (pfn < 0) throw new VmmError('EINVAL', `allocFrames: bad count ${n} or align ${a}`);
    return pfn * PAGE_SIZE;
  }

  /** Drops one reference to the frame at `pa` (freeing it at zero). EINVAL for a free, unaligned or reserved frame. */
  freeFrame(pa: number | bigint): void {
    const pfn = this.frameOf(pa, 'pa');
    if (this.core.unrefFrame(pfn) < 0) throw new VmmError('EINVAL', `pa ${hex(pfn * PAGE_SIZE)}: frame is not allocated${pfn === 0 ? ' (frame 0 is reserved)' : ''}`);
  }

  /** Adds a reference to an allocated frame. */
  refFrame(pa: number | bigint): number {
    const pfn = this.frameOf(pa, 'pa');
    const r = this.core.refFrame(pfn);
    if (r < 0) throw new VmmError('EINVAL', `pa ${hex(pfn * PAGE_SIZE)}: frame is not allocated${pfn === 0 ? ' (frame 0 is reserved)' : ''}`);
    return r;
  }

  /** Reference count of the frame at `pa` (0 when free). */
  refCount(pa: number | bigint): number {
    return this.core.refCount(this.frameOf(pa, 'pa'));
  }

  /** Copies `length` bytes of physical memory from `pa`. */
  read(pa: number | bigint, length: number): Uint8Array {
    const start = toPhysical(pa, this.size, 'pa');
    const n = toCount(length, 'length');
    if (start + n > this.size) throw new VmmError('EFAULT', `read: [${hex(start)}, ${hex(start + n)}) runs past the end of physical memory (${hex(this.size)})`);
    const out = new Uint8Array(n);
    this.copy(start, out, false);
    return out;
  }

  /** Writes bytes into physical memory at `pa`. */
  write(pa: number | bigint, bytes: Uint8Array | ArrayLike<number>): void {
    const start = toPhysical(pa, this.size, 'pa');
    const data = toBytes(bytes);
    if (start + data.length > this.size) throw new VmmError('EFAULT', `write: [${hex(start)}, ${hex(start + data.length)}) runs past the end of physical memory (${hex(this.size)})`);
    this.copy(start, data, true);
    if (data.length > 0) this.core.noteWritten(Math.floor(start / PAGE_SIZE), Math.floor((start + data.length - 1) / PAGE_SIZE) - Math.floor(start / PAGE_SIZE) + 1);
  }

  /** @internal Copies between RAM and `buf` (already bounds-checked), across 1 GiB chunks. */
  copy(pa: number, buf: Uint8Array, toRam: boolean): void {
    let done = 0;
    while (done < buf.length) {
      const p = pa + done;
      const ci = Math.floor(p / CHUNK_BYTES);
      const off = p - ci * CHUNK_BYTES;
      const chunk = this.chunks[ci] ?? (this.chunks[ci] = this.core.ramChunk(ci));
      const n = Math.min(buf.length - done, chunk.length - off);
      if (n <= 32) {
        // Small copies byte by byte: cheaper than two subarray views of a 1 GiB buffer.
        if (toRam) for (let k = 0; k < n; k++) chunk[off + k] = buf[done + k]!;
        else for (let k = 0; k < n; k++) buf[done + k] = chunk[off + k]!;
      } else if (toRam) chunk.set(buf.subarray(done, done + n), off);
      else buf.set(chunk.subarray(off, off + n), done);
      done += n;
    }
  }

  /** @internal Copies `n` bytes at physical `pa` into dst[off..off+n): the small-read fast path. */
  copyOut(pa: number, dst: Uint8Array, off: number, n: number): void {
    const dv = this.views[Math.floor(pa / CHUNK_BYTES)];
    const o = pa & (CHUNK_BYTES - 1); // ToInt32 keeps the low bits: pa mod CHUNK_BYTES
    if (dv === undefined || n > 64 || !this.inOneChunk(pa, o, n)) return this.copySlow(pa, dst, off, n, false);
    // Four bytes per DataView load: V8 compiles these to plain loads; a byte loop costs ~2 ns a byte.
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      const v = dv.getUint32(o + k, true);
      dst[off + k] = v;
      dst[off + k + 1] = v >>> 8;
      dst[off + k + 2] = v >>> 16;
      dst[off + k + 3] = v >>> 24;
    }
    for (; k < n; k++) dst[off + k] = dv.getUint8(o + k);
  }

  /** @internal Copies src[off..off+n) to physical `pa`: the small-write fast path. */
  copyIn(pa: number, src: Uint8Array, off: number, n: number): void {
    const dv = this.views[Math.floor(pa / CHUNK_BYTES)];
    const o = pa & (CHUNK_BYTES - 1);
    if (dv === undefined || n > 64 || !this.inOneChunk(pa, o, n)) return this.copySlow(pa, src, off, n, true);
    let k = 0;
    for (; k + 4 <= n; k += 4) dv.setUint32(o + k, src[off + k]! | (src[off + k + 1]! << 8) | (src[off + k + 2]! << 16) | (src[off + k + 3]! << 24), true);
    for (; k < n; k++) dv.setUint8(o + k, src[off + k]!);
  }

  /** copyOut/copyIn through copy() (first use of a chunk, long runs, the end of RAM); makes the chunk's view for next time. */
  private copySlow(pa: number, buf: Uint8Array, off: number, n: number, toRam: boolean): void {
    this.copy(pa, off === 0 && n === buf.length ? buf : buf.subarray(off, off + n), toRam);
    const ci = Math.floor(pa / CHUNK_BYTES);
    this.views[ci] ??= this.viewOf(ci);
  }

  /**
   * True when [pa, pa + n) (at offset o of its chunk) lies in RAM and in one chunk. Tested
   * with numbers, not the view's byteLength: that getter costs ~7 ns a call here.
   */
  private inOneChunk(pa: number, o: number, n: number): boolean {
    return o + n <= CHUNK_BYTES && pa + n <= this.size;
  }

  /** @internal The DataView over the RAM chunk holding physical address `pa` (bytes beyond RAM are not readable through it). */
  viewAt(pa: number): DataView {
    const ci = Math.floor(pa / CHUNK_BYTES);
    return this.views[ci] ?? (this.views[ci] = this.viewOf(ci));
  }

  private viewOf(ci: number): DataView {
    const c = this.chunks[ci] ?? (this.chunks[ci] = this.core.ramChunk(ci));
    return new DataView(c.buffer, c.byteOffset, c.byteLength);
  }

  private frameOf(pa: number | bigint, arg: string): number {
    const p = toPhysical(pa, this.size, arg);
    if (p % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `${arg} ${hex(p)} is not aligned to a 4 KiB frame`);
    return p / PAGE_SIZE;
  }
}
