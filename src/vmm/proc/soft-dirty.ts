/**
 * Soft-dirty tracking state of one address space (Documentation/admin-guide/mm/soft-dirty.rst):
 * the ranges whose regions have VM_SOFTDIRTY cleared by clear_refs 4 and not set again since
 * (a new or grown mapping there sets it: its pages all count as soft-dirty), kept as sorted,
 * disjoint page ranges beside the region records. A page of a cleared range is soft-dirty only
 * when its entry carries Linux's _PAGE_SOFT_DIRTY (bit 11, set by the write-fault paths); such
 * pages are write-protected by clear_refs, and read faults there map pages read-only, so the
 * next write faults and marks the entry. Swap entries carry no soft-dirty bit in vmsim: the
 * slot each swapped page held at clear_refs is remembered instead, and forgotten at the page's
 * first write fault since (every first write faults), so a page written since never reads clean.
 */

/** VM_SOFTDIRTY state by page range, and the swap slots seen clean. */
export class SoftDirty {
  /** Sorted, disjoint [start, end) page numbers whose regions have VM_SOFTDIRTY clear. */
  private ranges: number[] = [];
  /** vpn -> swap slot its entry held when clear_refs 4 ran (not soft-dirty while it holds that slot). */
  private swapClean = new Map<number, number>();

  /** clear_refs 4: every region [start, end) (addresses) has VM_SOFTDIRTY cleared; `swapped` lists [vpn, slot] of the swap entries met. */
  clear(regions: Iterable<{ start: number; end: number }>, swapped: Iterable<[number, number]>): void {
    const out: number[] = [];
    for (const r of regions) {
      const a = r.start / 4096;
      const b = r.end / 4096;
      if (out.length > 0 && out[out.length - 1] === a) out[out.length - 1] = b;
      else out.push(a, b);
    }
    this.ranges = out;
    this.swapClean = new Map(swapped);
  }

  /** A mapping created or grown over [start, end) (addresses): VM_SOFTDIRTY is set there. */
  markDirty(start: number, end: number): void {
    const a = start / 4096;
    const b = end / 4096;
    const rs = this.ranges;
    let i = this.firstEndingAfter(a);
    if (i >= rs.length || rs[i]! >= b) return;
    const out = rs.slice(0, i);
    for (; i < rs.length; i += 2) {
      const s = rs[i]!;
      const e = rs[i + 1]!;
      if (s >= b) {
        out.push(...rs.slice(i));
        break;
      }
      if (s < a) out.push(s, a);
      if (e > b) out.push(b, e);
    }
    this.ranges = out;
  }

  /** True when page `vpn` lies in a range whose VM_SOFTDIRTY is clear. */
  isClean(vpn: number): boolean {
    const i = this.firstEndingAfter(vpn);
    return i < this.ranges.length && this.ranges[i]! <= vpn;
  }

  /** True when some page of [start, end) (addresses) is in a cleared range. */
  overlapsClean(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start / 4096);
    return i < this.ranges.length && this.ranges[i]! < end / 4096;
  }

  /** True when all of [start, end) (addresses) is in one cleared range. */
  allClean(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start / 4096);
    return i < this.ranges.length && this.ranges[i]! <= start / 4096 && this.ranges[i + 1]! >= end / 4096;
  }

  /**
   * A write fault at page `vpn` (every first write after clear_refs 4 faults): its swap slot, if
   * it had one at clear_refs, no longer says clean — a page read back, written and evicted again
   * may be written to the same slot (the swap cache's).
   */
  written(vpn: number): void {
    if (this.swapClean.size > 0) this.swapClean.delete(vpn);
  }

  /** True when swap entry `slot` at `vpn` is the one seen at the last clear_refs 4 (so not soft-dirty). */
  swapWasClean(vpn: number, slot: number): boolean {
    return this.swapClean.get(vpn) === slot;
  }

  /** A copy for a fork child (dup_mmap copies each region's VM_SOFTDIRTY). */
  clone(): SoftDirty {
    const c = new SoftDirty();
    c.ranges = this.ranges.slice();
    c.swapClean = new Map(this.swapClean);
    return c;
  }

  /** Index (even) of the first range whose end is above `vpn`. */
  private firstEndingAfter(vpn: number): number {
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length >> 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (rs[2 * m + 1]! <= vpn) lo = m + 1;
      else hi = m;
    }
    return 2 * lo;
  }
}
