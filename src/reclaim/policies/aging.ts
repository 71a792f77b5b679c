/**
 * Aging: an n-bit counter per page. At every tick each counter shifts right by one and the
 * page's Accessed bit enters at the top; then A is cleared. vmsim ticks at each victim search
 * (the moment a kernel's reclaim would look), then evicts the page with the smallest counter;
 * ties go to the page loaded earliest. A new page's counter starts at 0 (its faulting access
 * sets A, so the next tick gives it the top bit).
 */
import { ACCESSED, type AccessBits, type ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';
import { Scratch } from '../scratch.js';

/** Aging counters over the Accessed bits. */
export class AgingPolicy implements ReclaimPolicy {
  readonly name = 'aging';
  readonly kind = 'ad-bits' as const;
  /** Load order (tail = earliest), for the tie-break. */
  private readonly order = new PageList();
  private readonly counter = new Map<number, number>();
  private readonly scratch = new Scratch();
  private readonly top: number;

  /** `width`: counter bits (1–32). */
  constructor(width = 8) {
    this.top = 2 ** (width - 1);
  }
  get size(): number {
    return this.order.size;
  }
  insert(key: number): void {
    this.order.pushHead(key);
    this.counter.set(key, 0);
  }
  remove(key: number): void {
    this.order.remove(key);
    this.counter.delete(key);
  }
  select(count: number, bits: AccessBits, out: Float64Array): number {
    if (this.order.size === 0) return 0;
    this.tick(bits);
    let n = 0;
    while (n < count && this.order.size > 0) {
      let best = -1;
      let bestValue = Infinity;
      for (const key of this.order) {
        const v = this.counter.get(key)!;
        if (v < bestValue) {
          bestValue = v;
          best = key;
        }
      }
      this.remove(best);
      out[n++] = best;
    }
    return n;
  }

  /** Shifts every counter, ORs in A at the top, clears A: two bulk calls. */
  private tick(bits: AccessBits): void {
    const s = this.scratch;
    s.ensure(this.order.size);
    const len = this.order.fromTail(s.keys, this.order.size);
    bits.read(s.keys, len, s.bits);
    for (let i = 0; i < len; i++) {
      const key = s.keys[i]!;
      const v = Math.floor(this.counter.get(key)! / 2);
      this.counter.set(key, (s.bits[i]! & ACCESSED) !== 0 ? v + this.top : v);
    }
    bits.clearAccessed(s.keys, len);
  }
}
