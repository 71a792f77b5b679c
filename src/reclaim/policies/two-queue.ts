/**
 * 2Q (Johnson and Shasha, 1994, the full version). A first reference enters A1in (FIFO, at
 * most Kin = capacity/4 pages); a page evicted from A1in is remembered in A1out (keys only,
 * at most Kout = capacity/2); a page that faults while remembered in A1out enters Am (LRU).
 * A hit in A1in changes nothing; a hit in Am moves the page to Am's head. Reclaim takes
 * A1in's tail while A1in holds more than Kin pages (or Am is empty), else Am's tail.
 * Needs every reference.
 */
import type { ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';

/** The 2Q replacement policy. */
export class TwoQueuePolicy implements ReclaimPolicy {
  readonly name = '2q';
  readonly kind = 'every-reference' as const;
  private readonly a1in = new PageList();
  private readonly a1out = new PageList();
  private readonly am = new PageList();
  private readonly kin: number;
  private readonly kout: number;

  constructor(capacity: number) {
    this.kin = Math.max(1, Math.floor(capacity / 4));
    this.kout = Math.max(1, Math.floor(capacity / 2));
  }
  get size(): number {
    return this.a1in.size + this.am.size;
  }
  insert(key: number): void {
    if (this.a1out.remove(key)) this.am.pushHead(key);
    else this.a1in.pushHead(key);
  }
  reference(key: number): void {
    if (this.am.has(key)) this.am.moveToHead(key);
  }
  remove(key: number): void {
    if (!this.a1in.remove(key)) this.am.remove(key);
  }
  select(count: number, _bits: unknown, out: Float64Array): number {
    let n = 0;
    while (n < count && this.size > 0) {
      if (this.a1in.size > this.kin || this.am.size === 0) {
        const key = this.a1in.popTail()!;
        this.a1out.pushHead(key);
        if (this.a1out.size > this.kout) this.a1out.popTail();
        out[n++] = key;
      } else {
        out[n++] = this.am.popTail()!;
      }
    }
    return n;
  }
}
