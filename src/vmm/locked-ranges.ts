/** The mlocked ranges of one process, in virtual page numbers: sorted, disjoint [start, end) pairs. */

/** mlock's ranges (not inherited by a fork child). */
export class LockedRanges {
  private ranges: Array<[number, number]> = [];

  /** True when no range is locked. */
  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** True when page `vpn` lies in a locked range. */
  has(vpn: number): boolean {
    for (const [s, e] of this.ranges) if (vpn >= s && vpn < e) return true;
    return false;
  }

  /** True when any page of [a, b) is in a locked range. */
  overlaps(a: number, b: number): boolean {
    return this.ranges.some(([s, e]) => s < b && e > a);
  }

  /** How many pages of [a, b) lie in locked ranges. */
  pagesIn(a: number, b: number): number {
    let n = 0;
    for (const [s, e] of this.ranges) if (s < b && e > a) n += Math.min(e, b) - Math.max(s, a);
    return n;
  }

  /** Locks [a, b). */
  add(a: number, b: number): void {
    this.ranges = [...subtractRange(this.ranges, a, b), [a, b] as [number, number]].sort((x, y) => x[0] - y[0]);
  }

  /** Unlocks [a, b). */
  remove(a: number, b: number): void {
    this.ranges = subtractRange(this.ranges, a, b);
  }

  /** Unlocks everything. */
  clear(): void {
    this.ranges = [];
  }
}

/** `ranges` (sorted, disjoint [s, e)) without [a, b). */
function subtractRange(ranges: Array<[number, number]>, a: number, b: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of ranges) {
    if (e <= a || s >= b) out.push([s, e]);
    else {
      if (s < a) out.push([s, a]);
      if (e > b) out.push([b, e]);
    }
  }
  return out;
}
