/**
 * WSClock (Carr and Hennessy): the clock ring with a working-set window. Virtual time
 * advances by one at every page fault (insert). At a victim search the hand goes around once:
 * a page with A set gets its last-use time set to now and A cleared; a page without A that is
 * older than tau is the victim if clean; an old dirty page is remembered (a kernel would
 * schedule its write). After a full trip with no old clean page the victim is the first old
 * dirty page (its write done), else the first clean page seen, else the page under the hand.
 */
import { ACCESSED, DIRTY, type AccessBits, type ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';
import { FIRST_BATCH, SCAN_BATCH, Scratch } from '../scratch.js';

/** Working-set clock. */
export class WsClockPolicy implements ReclaimPolicy {
  readonly name = 'wsclock';
  readonly kind = 'ad-bits' as const;
  private readonly ring = new PageList();
  private readonly lastUse = new Map<number, number>();
  private readonly scratch = new Scratch();
  private now = 0;

  constructor(private readonly tau = 16) {}

  get size(): number {
    return this.ring.size;
  }
  insert(key: number): void {
    this.now++;
    this.ring.pushHead(key);
    this.lastUse.set(key, this.now);
  }
  remove(key: number): void {
    this.ring.remove(key);
    this.lastUse.delete(key);
  }
  select(count: number, bits: AccessBits, out: Float64Array): number {
    let n = 0;
    while (n < count && this.ring.size > 0) {
      const key = this.victim(bits);
      this.remove(key);
      out[n++] = key;
    }
    return n;
  }

  private victim(bits: AccessBits): number {
    const s = this.scratch;
    let oldDirty: number | undefined;
    let clean: number | undefined;
    let left = this.ring.size;
    let batch = FIRST_BATCH;
    while (left > 0) {
      const len = this.ring.fromTail(s.keys, Math.min(batch, left));
      bits.read(s.keys, len, s.bits);
      let young = 0;
      let i = 0;
      for (; i < len; i++) {
        const key = s.keys[i]!;
        const b = s.bits[i]!;
        if ((b & ACCESSED) !== 0) {
          this.lastUse.set(key, this.now);
          s.keys[young++] = key; // compacted list of pages whose A gets cleared
          if ((b & DIRTY) === 0) clean ??= key;
          continue;
        }
        if ((b & DIRTY) === 0) clean ??= key;
        if (this.now - this.lastUse.get(key)! > this.tau) {
          if ((b & DIRTY) === 0) break;
          oldDirty ??= key;
        }
      }
      const victim = i < len ? s.keys[i]! : undefined;
      if (young > 0) bits.clearAccessed(s.keys, young);
      // The hand moves over the pages it looked at (all but the victim).
      this.ring.fromTail(s.keys, i);
      for (let j = 0; j < i; j++) this.ring.moveToHead(s.keys[j]!);
      if (victim !== undefined) return victim;
      left -= len;
      batch = Math.min(SCAN_BATCH, batch * 2);
    }
    return oldDirty ?? clean ?? this.ring.tail()!;
  }
}
