/** The frame allocator of the reference core: a bitmap (lowest free frame first) and reference counts. */
import { Status } from '../constants.js';
import type { Ram } from './ram.js';

/** An exact power-of-two test for any double (Math.log2 rounds near large powers). */
function isPowerOfTwo(a: number): boolean {
  if (a <= 2 ** 31) return (a & (a - 1)) === 0;
  return 2 ** Math.round(Math.log2(a)) === a;
}

/** Bitmap + refcounts; frame 0 is reserved. */
export class Frames {
  private readonly bits: Uint32Array;
  readonly refs: Uint32Array;
  private hint = 0;
  free: number;

  constructor(readonly total: number, private readonly ram: Ram) {
    const words = Math.ceil(total / 32);
    this.bits = new Uint32Array(words);
    this.refs = new Uint32Array(total);
    // Bits past the last frame are "allocated" so no search ever returns them.
    for (let f = total; f < words * 32; f++) this.bits[f >>> 5]! |= 1 << (f & 31);
    this.bits[0]! |= 1;
    this.refs[0] = 1;
    this.free = total - 1;
  }

  /** A snapshot's reference counts put in place (a frame is allocated when its count is not 0). */
  load(refs: Uint32Array): void {
    this.free = 0;
    for (let f = 1; f < this.total; f++) {
      const n = refs[f]!;
      this.refs[f] = n;
      if (n !== 0) this.bits[f >>> 5]! |= 1 << (f & 31);
      else {
        this.bits[f >>> 5]! &= ~(1 << (f & 31));
        this.free++;
      }
    }
    this.hint = 0;
  }

  /** True when frame `pfn` is allocated (frame 0 included). */
  isAllocated(pfn: number): boolean {
    return (this.bits[pfn >>> 5]! & (1 << (pfn & 31))) !== 0;
  }

  /** True for a frame the API may ref/unref/copy: in range, non-zero, allocated. */
  usable(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn > 0 && pfn < this.total && this.isAllocated(pfn);
  }

  /** True when frames [base, base + n) are all usable (n >= 1): what a leaf must cover before its references change. */
  runUsable(base: number, n: number): boolean {
    if (!(base > 0 && base < this.total && n <= this.total - base)) return false;
    for (let f = base; f < base + n; f++) if (!this.isAllocated(f)) return false;
    return true;
  }

  /** Lowest free frame, zeroed, refcount 1; ENOMEM. */
  alloc(): number {
    const words = this.bits.length;
    for (let w = this.hint; w < words; w++) {
      const v = this.bits[w]!;
      if (v !== 0xffffffff) {
        const inv = ~v;
        const bit = 31 - Math.clz32(inv & -inv);
        const pfn = w * 32 + bit;
        this.take(pfn);
        this.hint = w;
        return pfn;
      }
    }
    this.hint = words;
    return Status.ENOMEM;
  }

  /** `count` single allocations into out; ENOMEM (nothing taken) when too few are free. */
  allocList(out: Float64Array, count: number): number {
    if (!Number.isInteger(count) || count < 0 || count > out.length) return Status.EINVAL;
    if (count > this.free) return Status.ENOMEM;
    for (let k = 0; k < count; k++) out[k] = this.alloc();
    return Status.OK;
  }

  /** Lowest aligned run of `count` free frames; ENOMEM or EINVAL. */
  allocRun(count: number, align: number): number {
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(align) || align < 1 || !isPowerOfTwo(align)) return Status.EINVAL;
    let s = 0;
    while (s + count <= this.total) {
      let used = -1;
      for (let f = s + count - 1; f >= s; f--) {
        if (this.isAllocated(f)) {
          used = f;
          break;
        }
      }
      if (used < 0) {
        for (let f = s; f < s + count; f++) this.take(f);
        return s;
      }
      s = Math.ceil((used + 1) / align) * align;
    }
    return Status.ENOMEM;
  }

  private take(pfn: number): void {
    // Zeroed first: creating the RAM chunk may fail (VmmError ENOMEM), and then nothing has changed.
    this.ram.zeroFrame(pfn);
    this.bits[pfn >>> 5]! |= 1 << (pfn & 31);
    this.refs[pfn] = 1;
    this.free--;
  }

  /** ++refcount; EINVAL for frame 0, free or out-of-range frames. */
  ref(pfn: number): number {
    if (!this.usable(pfn)) return Status.EINVAL;
    return ++this.refs[pfn]!;
  }

  /** unref for each of list[0..count), all or nothing: the frames freed, or EINVAL (a frame not usable or listed too often) with nothing changed. */
  unrefList(list: Float64Array, count: number): number {
    for (let i = 0; i < count; i++) if (!this.usable(list[i]!)) return Status.EINVAL;
    let i = 0;
    for (; i < count; i++) {
      const pfn = list[i]!;
      if (this.refs[pfn] === 0) break;
      this.refs[pfn]!--;
    }
    if (i < count) {
      while (i-- > 0) this.refs[list[i]!]!++;
      return Status.EINVAL;
    }
    let freed = 0;
    for (let k = 0; k < count; k++) {
      const pfn = list[k]!;
      if (this.refs[pfn] !== 0 || !this.isAllocated(pfn)) continue;
      this.bits[pfn >>> 5]! &= ~(1 << (pfn & 31));
      this.free++;
      if (pfn >>> 5 < this.hint) this.hint = pfn >>> 5;
      freed++;
    }
    return freed;
  }

  /** --refcount, freeing at 0; EINVAL as ref. */
  unref(pfn: number): number {
    if (!this.usable(pfn)) return Status.EINVAL;
    const n = --this.refs[pfn]!;
    if (n === 0) {
      this.bits[pfn >>> 5]! &= ~(1 << (pfn & 31));
      this.free++;
      if (pfn >>> 5 < this.hint) this.hint = pfn >>> 5;
    }
    return n;
  }
}
