/**
 * LFU: evicts the resident page referenced least often since it was loaded (counts are
 * forgotten at eviction); ties go to the least recently used of them. Needs every reference.
 */
import type { ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';

/** Least frequently used, with one LRU list per count. */
export class LfuPolicy implements ReclaimPolicy {
  readonly name = 'lfu';
  readonly kind = 'every-reference' as const;
  private readonly count = new Map<number, number>();
  private readonly buckets = new Map<number, PageList>();
  /** Smallest count with pages, or 0 when it must be recomputed. */
  private minCount = 0;

  get size(): number {
    return this.count.size;
  }
  insert(key: number): void {
    this.count.set(key, 1);
    this.bucket(1).pushHead(key);
    this.minCount = 1;
  }
  reference(key: number): void {
    const c = this.count.get(key)!;
    const from = this.buckets.get(c)!;
    from.remove(key);
    if (from.size === 0) {
      this.buckets.delete(c);
      if (this.minCount === c) this.minCount = c + 1;
    }
    this.count.set(key, c + 1);
    this.bucket(c + 1).pushHead(key);
  }
  remove(key: number): void {
    const c = this.count.get(key);
    if (c === undefined) return;
    this.count.delete(key);
    const b = this.buckets.get(c)!;
    b.remove(key);
    if (b.size === 0) {
      this.buckets.delete(c);
      if (this.minCount === c) this.minCount = 0;
    }
  }
  select(count: number, _bits: unknown, out: Float64Array): number {
    let n = 0;
    while (n < count && this.count.size > 0) {
      if (this.minCount === 0 || !this.buckets.has(this.minCount)) this.minCount = Math.min(...this.buckets.keys());
      const key = this.buckets.get(this.minCount)!.tail()!;
      this.remove(key);
      out[n++] = key;
    }
    return n;
  }
  private bucket(c: number): PageList {
    let b = this.buckets.get(c);
    if (!b) this.buckets.set(c, (b = new PageList()));
    return b;
  }
}
