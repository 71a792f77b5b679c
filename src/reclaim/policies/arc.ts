/**
 * ARC (Megiddo and Modha, 2003). T1 holds pages seen once recently, T2 pages seen at least
 * twice; B1 and B2 remember (keys only) pages evicted from T1 and T2. The target size p of T1
 * adapts: a fault on a page in B1 grows it, one in B2 shrinks it. REPLACE evicts T1's LRU
 * page when |T1| > p (or |T1| = p and the incoming page is in B2), else T2's. The directory
 * keeps |T1|+|B1| <= c and |T1|+|T2|+|B1|+|B2| <= 2c. Needs every reference and `capacity`.
 */
import type { ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';

/** Adaptive replacement cache. */
export class ArcPolicy implements ReclaimPolicy {
  readonly name = 'arc';
  readonly kind = 'every-reference' as const;
  private readonly t1 = new PageList();
  private readonly t2 = new PageList();
  private readonly b1 = new PageList();
  private readonly b2 = new PageList();
  /** Target size of T1. */
  p = 0;
  /** The incoming key whose ghost hit already adapted p (in select), so insert does not adapt twice. */
  private adapted: number | undefined;

  constructor(private readonly c: number) {}

  get size(): number {
    return this.t1.size + this.t2.size;
  }
  insert(key: number): void {
    if (this.b1.has(key) || this.b2.has(key)) {
      if (this.adapted !== key) this.adapt(key);
      if (!this.b1.remove(key)) this.b2.remove(key);
      this.t2.pushHead(key);
    } else {
      this.t1.pushHead(key);
      while (this.t1.size + this.b1.size > this.c && this.b1.size > 0) this.b1.popTail();
      while (this.size + this.b1.size + this.b2.size > 2 * this.c && this.b2.size > 0) this.b2.popTail();
    }
    this.adapted = undefined;
  }
  reference(key: number): void {
    if (this.t1.remove(key)) this.t2.pushHead(key);
    else this.t2.moveToHead(key);
  }
  remove(key: number): void {
    if (!this.t1.remove(key)) this.t2.remove(key);
  }
  select(count: number, _bits: unknown, out: Float64Array, incoming?: number): number {
    let n = 0;
    let x = incoming;
    while (n < count && this.size > 0) {
      if (x !== undefined && (this.b1.has(x) || this.b2.has(x))) {
        if (this.adapted !== x) this.adapt(x);
        this.adapted = x;
        out[n++] = this.replace(this.b2.has(x));
      } else if (x !== undefined && this.t1.size + this.b1.size >= this.c && this.b1.size === 0) {
        // Case IV(a) with T1 holding the whole cache: T1's LRU page goes, unremembered.
        out[n++] = this.t1.popTail()!;
      } else {
        out[n++] = this.replace(false);
      }
      x = undefined;
    }
    return n;
  }

  private adapt(key: number): void {
    if (this.b1.has(key)) this.p = Math.min(this.c, this.p + Math.max(this.b2.size / this.b1.size, 1));
    else this.p = Math.max(0, this.p - Math.max(this.b1.size / this.b2.size, 1));
  }

  private replace(inB2: boolean): number {
    const fromT1 = this.t1.size > 0 && (this.t1.size > this.p || (inB2 && this.t1.size === this.p) || this.t2.size === 0);
    if (fromT1) {
      const key = this.t1.popTail()!;
      this.b1.pushHead(key);
      return key;
    }
    const key = this.t2.popTail()!;
    this.b2.pushHead(key);
    return key;
  }
}
