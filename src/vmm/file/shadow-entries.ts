/**
 * A file's workingset shadow entries (the value entries Linux keeps in the page cache's xarray
 * where evicted pages were): page offset → shadow value, in nodes of 64 offsets as the xarray's
 * are. Reclaim sets one per page it drops and a refault takes it back out — a churn of
 * adds and deletes that a Map keyed by offset paid for with rehashes of its whole table (and
 * the garbage they left); a node here is made once and goes only when it empties.
 */

const NODE = 64;

/** One node: 64 slots, NaN where there is no entry. */
interface ShadowNode {
  readonly vals: Float64Array;
  /** Entries held. */
  count: number;
}

/** Shadow entries by page offset (values are numbers other than NaN). */
export class ShadowEntries {
  private readonly nodes = new Map<number, ShadowNode>();
  private entries = 0;

  /** Entries held. */
  get size(): number {
    return this.entries;
  }

  /** The entry at page offset `i`, or undefined. */
  get(i: number): number | undefined {
    const n = this.nodes.get(Math.floor(i / NODE));
    if (n === undefined) return undefined;
    const v = n.vals[i % NODE]!;
    return v === v ? v : undefined;
  }

  /** Sets the entry at `i` to `v` (not NaN). */
  set(i: number, v: number): void {
    const key = Math.floor(i / NODE);
    let n = this.nodes.get(key);
    if (n === undefined) {
      n = { vals: new Float64Array(NODE).fill(NaN), count: 0 };
      this.nodes.set(key, n);
    }
    const at = i % NODE;
    if (n.vals[at] !== n.vals[at]) {
      n.count++;
      this.entries++;
    }
    n.vals[at] = v;
  }

  /** Removes the entry at `i`; false when there was none. */
  delete(i: number): boolean {
    const key = Math.floor(i / NODE);
    const n = this.nodes.get(key);
    if (n === undefined) return false;
    const at = i % NODE;
    if (n.vals[at] !== n.vals[at]) return false;
    n.vals[at] = NaN;
    this.entries--;
    if (--n.count === 0) this.nodes.delete(key);
    return true;
  }

  /** Removes every entry at offsets [first, last]. */
  deleteRange(first: number, last: number): void {
    for (const [key, n] of [...this.nodes]) {
      const base = key * NODE;
      if (base + NODE - 1 < first || base > last) continue;
      for (let at = 0; at < NODE; at++) {
        const i = base + at;
        if (i >= first && i <= last && n.vals[at] === n.vals[at]) this.delete(i);
      }
    }
  }

  /** Removes every entry. */
  clear(): void {
    this.nodes.clear();
    this.entries = 0;
  }
}
