/** Random replacement, seeded: the same seed gives the same victims. */
import type { AccessBits, ReclaimPolicy } from '../policy.js';

/** Uniformly random victim among the tracked pages (mulberry32 generator). */
export class RandomPolicy implements ReclaimPolicy {
  readonly name = 'random';
  readonly kind = 'ad-bits' as const;
  private readonly keys: number[] = [];
  private readonly where = new Map<number, number>();
  private state: number;

  constructor(seed = 1) {
    this.state = seed >>> 0;
  }
  get size(): number {
    return this.keys.length;
  }
  insert(key: number): void {
    this.where.set(key, this.keys.length);
    this.keys.push(key);
  }
  remove(key: number): void {
    const i = this.where.get(key);
    if (i === undefined) return;
    this.where.delete(key);
    const last = this.keys.pop()!;
    if (i < this.keys.length) {
      this.keys[i] = last;
      this.where.set(last, i);
    }
  }
  select(count: number, _bits: AccessBits, out: Float64Array): number {
    let n = 0;
    while (n < count && this.keys.length > 0) {
      const key = this.keys[Math.floor(this.next() * this.keys.length)]!;
      this.remove(key);
      out[n++] = key;
    }
    return n;
  }
  /** mulberry32: a tiny, well-distributed 32-bit generator. */
  private next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
