/**
 * A set-associative cache with exact LRU replacement, keyed by non-negative integers: the model
 * of the L1 TLBs and the paging-structure caches in front of the core's TLB. Each set keeps its
 * ways in recency order (rank 0 = most recently used), so a hit on the MRU entry costs one compare.
 */
export class LruCache {
  readonly sets: number;
  readonly ways: number;
  /** keys[set * ways + rank]; -1 = empty. Read-only outside: callers may peek at a set's MRU slot. */
  readonly keys: Float64Array;
  /** A small payload per entry (TLB permission flags). */
  readonly vals: Uint8Array;
  hits = 0;
  misses = 0;

  constructor(
    readonly entries: number,
    ways: number,
  ) {
    this.ways = ways;
    this.sets = entries / ways;
    this.keys = new Float64Array(entries).fill(-1);
    this.vals = new Uint8Array(entries);
  }

  /** First slot (the MRU one) of the set of `index` (index mod sets, as hardware takes the low page-number bits). */
  base(index: number): number {
    const sets = this.sets;
    return (index - Math.floor(index / sets) * sets) * this.ways;
  }

  /** Looks `key` up in the set of `index` (default: the key); on a hit moves it to MRU and returns its payload, else -1. Counts neither. */
  lookup(key: number, index = key): number {
    const b = this.base(index);
    const k = this.keys;
    if (k[b] === key) return this.vals[b]!;
    for (let r = 1; r < this.ways; r++) {
      if (k[b + r] === key) {
        const v = this.vals[b + r]!;
        this.shiftDown(b, r);
        k[b] = key;
        this.vals[b] = v;
        return v;
      }
    }
    return -1;
  }

  /** Inserts (or refreshes) `key` as MRU with payload `val` in the set of `index`, evicting the set's LRU entry when full. */
  fill(key: number, val: number, index = key): void {
    const b = this.base(index);
    const k = this.keys;
    let r = 0;
    while (r < this.ways - 1 && k[b + r] !== key) r++;
    this.shiftDown(b, r);
    k[b] = key;
    this.vals[b] = val;
  }

  /** Drops `key` if present (the others keep their order). */
  invalidate(key: number, index = key): void {
    const b = this.base(index);
    const k = this.keys;
    for (let r = 0; r < this.ways; r++) {
      if (k[b + r] === key) {
        for (let q = r; q < this.ways - 1; q++) {
          k[b + q] = k[b + q + 1]!;
          this.vals[b + q] = this.vals[b + q + 1]!;
        }
        k[b + this.ways - 1] = -1;
        return;
      }
    }
  }

  /** Empties the cache (counters stay). */
  clear(): void {
    this.keys.fill(-1);
  }

  private shiftDown(b: number, r: number): void {
    const k = this.keys;
    const v = this.vals;
    for (let q = r; q > 0; q--) {
      k[b + q] = k[b + q - 1]!;
      v[b + q] = v[b + q - 1]!;
    }
  }
}
