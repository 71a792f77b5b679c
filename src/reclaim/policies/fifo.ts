/** FIFO: evicts the page loaded earliest; ignores references (shows Belady's anomaly). */
import type { AccessBits, ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';

/** First in, first out. */
export class FifoPolicy implements ReclaimPolicy {
  readonly name = 'fifo';
  readonly kind = 'ad-bits' as const;
  private readonly queue = new PageList();

  get size(): number {
    return this.queue.size;
  }
  insert(key: number): void {
    this.queue.pushHead(key);
  }
  remove(key: number): void {
    this.queue.remove(key);
  }
  select(count: number, _bits: AccessBits, out: Float64Array): number {
    let n = 0;
    while (n < count && this.queue.size > 0) out[n++] = this.queue.popTail()!;
    return n;
  }
}
