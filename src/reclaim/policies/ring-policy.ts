/** The ring of the clock family: pages in load order, the hand at the tail, new pages just behind it. */
import type { AccessBits, ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';
import { Scratch } from '../scratch.js';

/** A clock-like policy: subclasses choose one victim by moving the hand over the ring. */
export abstract class RingPolicy implements ReclaimPolicy {
  abstract readonly name: string;
  readonly kind = 'ad-bits' as const;
  /** The ring: tail = the page under the hand, head = the page just behind it. */
  protected readonly ring = new PageList();
  protected readonly scratch = new Scratch();

  get size(): number {
    return this.ring.size;
  }
  insert(key: number): void {
    this.ring.pushHead(key);
  }
  remove(key: number): void {
    this.ring.remove(key);
  }
  select(count: number, bits: AccessBits, out: Float64Array): number {
    let n = 0;
    while (n < count && this.ring.size > 0) out[n++] = this.victim(bits);
    return n;
  }
  /** Moves the hand to a victim, removes it from the ring and returns it. */
  protected abstract victim(bits: AccessBits): number;
}
