/**
 * The reference region map: the sorted array vmsim used before the gap-tracking tree, kept as
 * the simple model the differential property test and the regions benchmark compare the tree
 * against. O(log n) lookups, O(n) inserts, removals and gap searches (they move or scan the array).
 */
import { VmmError } from '../../src/errors.js';
import { hex } from '../../src/hex.js';
import { canMerge, joined, slice, type RegionRecord } from '../../src/vmm/region.js';
import { VM_GROWSDOWN } from '../../src/vmm/vm-flags.js';

/** Ordered, non-overlapping regions, merged where made or changed. */
export class SortedRegionMap implements Iterable<RegionRecord> {
  private rs: RegionRecord[] = [];

  /** Number of regions. */
  get size(): number {
    return this.rs.length;
  }

  [Symbol.iterator](): Iterator<RegionRecord> {
    return this.rs[Symbol.iterator]();
  }

  /** Index of the last region with start <= addr, or -1. */
  private floor(addr: number): number {
    let lo = 0;
    let hi = this.rs.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rs[mid]!.start <= addr) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** The region containing `addr`. */
  find(addr: number): RegionRecord | undefined {
    const i = this.floor(addr);
    return i >= 0 && addr < this.rs[i]!.end ? this.rs[i] : undefined;
  }

  /** The last region starting below `addr` (the one containing it, or the nearest one under it). */
  below(addr: number): RegionRecord | undefined {
    const i = this.floor(addr - 1);
    return i >= 0 ? this.rs[i] : undefined;
  }

  /** The first region overlapping [start, end). */
  findFirstOverlapping(start: number, end: number): RegionRecord | undefined {
    const i = this.firstEndingAfter(start);
    const r = this.rs[i];
    return r && r.start < end ? r : undefined;
  }

  /** True when nothing overlaps [start, end). */
  isFree(start: number, end: number): boolean {
    return this.findFirstOverlapping(start, end) === undefined;
  }

  private firstEndingAfter(addr: number): number {
    let lo = 0;
    let hi = this.rs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rs[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts a region over free space and merges it with compatible neighbours; returns the resulting region. */
  insert(rec: RegionRecord): RegionRecord {
    if (!(rec.start < rec.end)) throw new VmmError('EINVAL', `region [${hex(rec.start)}, ${hex(rec.end)}) is empty`);
    if (!this.isFree(rec.start, rec.end)) throw new VmmError('EEXIST', `[${hex(rec.start)}, ${hex(rec.end)}) overlaps an existing region`);
    const i = this.firstEndingAfter(rec.start);
    this.rs.splice(i, 0, slice(rec, rec.start, rec.end));
    return this.rs[this.mergeAround(i, i)]!;
  }

  /** Punches [start, end) out of the regions (splitting at the edges); returns the removed pieces in order. */
  remove(start: number, end: number): RegionRecord[] {
    const i0 = this.firstEndingAfter(start);
    let i1 = i0;
    while (i1 < this.rs.length && this.rs[i1]!.start < end) i1++;
    if (i0 === i1) return [];
    const removed: RegionRecord[] = [];
    const keep: RegionRecord[] = [];
    for (let i = i0; i < i1; i++) {
      const r = this.rs[i]!;
      if (r.start < start) keep.push(slice(r, r.start, start));
      removed.push(slice(r, Math.max(r.start, start), Math.min(r.end, end)));
      if (r.end > end) keep.push(slice(r, end, r.end));
    }
    this.rs.splice(i0, i1 - i0, ...keep);
    return removed;
  }

  /**
   * Sets the protection of [start, end), which must be covered without holes (else ENOMEM,
   * nothing changed). A region already at `prot` stays whole; the others are split at the
   * edges, and the changed pieces merge with what became compatible. Returns the changed pieces.
   */
  protect(start: number, end: number, prot: number): RegionRecord[] {
    let at = start;
    const i0 = this.firstEndingAfter(start);
    let i1 = i0;
    while (at < end) {
      const r = this.rs[i1];
      if (!r || r.start > at) throw new VmmError('ENOMEM', `[${hex(start)}, ${hex(end)}) is not fully mapped (hole at ${hex(at)})`);
      at = r.end;
      i1++;
    }
    const out: RegionRecord[] = [];
    const pieces: RegionRecord[] = [];
    for (let i = i0; i < i1; i++) {
      const r = this.rs[i]!;
      if (r.prot === prot) {
        out.push(r);
        continue;
      }
      if (r.start < start) out.push(slice(r, r.start, start));
      const mid = slice(r, Math.max(r.start, start), Math.min(r.end, end), prot);
      out.push(mid);
      pieces.push(mid);
      if (r.end > end) out.push(slice(r, end, r.end));
    }
    this.rs.splice(i0, i1 - i0, ...out);
    this.mergeAround(i0, i0 + out.length - 1);
    return pieces.map((p) => slice(p, p.start, p.end));
  }

  /** Merges compatible neighbours among indices [a-1, b+1]; returns the index now holding what was at a. */
  private mergeAround(a: number, b: number): number {
    let lo = Math.max(0, a - 1);
    let hi = Math.min(this.rs.length - 1, b + 1);
    let target = a;
    for (let i = lo; i < hi; ) {
      const x = this.rs[i]!;
      const y = this.rs[i + 1]!;
      if (canMerge(x, y)) {
        this.rs[i] = joined(x, y);
        this.rs.splice(i + 1, 1);
        hi--;
        if (target > i) target--;
      } else i++;
    }
    return target;
  }

  /**
   * The highest `length`-byte free range inside [low, high) (Linux's unmapped_area_topdown),
   * keeping `stackGap` bytes free below a stack region. Undefined when none fits.
   */
  findGapTopDown(length: number, low: number, high: number, stackGap = 0): number | undefined {
    let ceiling = high;
    for (let i = this.rs.length - 1; i >= 0 && ceiling > low; i--) {
      const r = this.rs[i]!;
      const top = (r.flags & VM_GROWSDOWN) !== 0 ? r.start - stackGap : r.start;
      if (r.end < ceiling && ceiling - Math.max(low, r.end) >= length) return ceiling - length;
      ceiling = Math.min(ceiling, top);
    }
    return ceiling - low >= length ? ceiling - length : undefined;
  }

  /** A deep copy (fork). */
  clone(): SortedRegionMap {
    const m = new SortedRegionMap();
    m.rs = this.rs.map((r) => slice(r, r.start, r.end));
    return m;
  }
}
