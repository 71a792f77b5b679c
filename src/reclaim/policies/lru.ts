/** Exact LRU: evicts the page referenced least recently. Needs every reference. */
import type { ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';

/** Least recently used, exact (every reference moves the page to the head). */
export class LruPolicy implements ReclaimPolicy {
  readonly name = 'lru';
  readonly kind = 'every-reference' as const;
  private readonly list = new PageList();

  get size(): number {
    return this.list.size;
  }
  insert(key: number): void {
    this.list.pushHead(key);
  }
  reference(key: number): void {
    this.list.moveToHead(key);
  }
  remove(key: number): void {
    this.list.remove(key);
  }
  /** MADV_COLD: the least recently used end. */
  deactivate(key: number): void {
    if (this.list.remove(key)) this.list.pushTail(key);
  }
  select(count: number, _bits: unknown, out: Float64Array): number {
    let n = 0;
    while (n < count && this.list.size > 0) out[n++] = this.list.popTail()!;
    return n;
  }
}
