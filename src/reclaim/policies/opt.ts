/**
 * OPT (Belady's MIN) for a reference sequence known in advance: evicts the resident page
 * whose next reference lies farthest in the future. Ties (pages never referenced again) go to
 * the page loaded earliest. Needs every reference, in exactly the order of `future`; a
 * reference that differs from it is an EINVAL naming the position.
 */
import { VmmError } from '../../errors.js';
import type { ReclaimPolicy } from '../policy.js';

/** Next use of "never again". */
const NEVER = 2 ** 53;

/** Belady's optimal replacement. */
export class OptPolicy implements ReclaimPolicy {
  readonly name = 'opt';
  readonly kind = 'every-reference' as const;
  private readonly future: ArrayLike<number>;
  /** nextAt[i]: the position of the next reference to future[i] after i (NEVER if none). */
  private readonly nextAt: Float64Array;
  private position = 0;
  private loads = 0;
  /** Resident key -> [next use, load order]. */
  private readonly resident = new Map<number, { next: number; loaded: number }>();
  /** Max-heap of (next use desc, load order asc, key); stale entries are skipped. */
  private heap: Array<{ next: number; loaded: number; key: number }> = [];

  constructor(future: ArrayLike<number>) {
    this.future = future;
    this.nextAt = new Float64Array(future.length);
    const seen = new Map<number, number>();
    for (let i = future.length - 1; i >= 0; i--) {
      const k = future[i]!;
      this.nextAt[i] = seen.get(k) ?? NEVER;
      seen.set(k, i);
    }
  }
  get size(): number {
    return this.resident.size;
  }
  insert(key: number): void {
    const next = this.advance(key);
    const e = { next, loaded: this.loads++ };
    this.resident.set(key, e);
    this.push(key, e.next, e.loaded);
  }
  reference(key: number): void {
    const next = this.advance(key);
    const e = this.resident.get(key)!;
    e.next = next;
    this.push(key, next, e.loaded);
  }
  remove(key: number): void {
    this.resident.delete(key);
  }
  select(count: number, _bits: unknown, out: Float64Array): number {
    let n = 0;
    while (n < count && this.resident.size > 0) {
      const top = this.pop();
      const e = this.resident.get(top.key);
      if (!e || e.next !== top.next) continue; // stale
      this.resident.delete(top.key);
      out[n++] = top.key;
    }
    if (this.heap.length > 4 * this.resident.size + 64) this.rebuild();
    return n;
  }

  private advance(key: number): number {
    const i = this.position;
    if (i >= this.future.length) throw new VmmError('EINVAL', `opt: reference #${i} (page ${key}) is past the end of the future given (${this.future.length} references)`);
    if (this.future[i] !== key) throw new VmmError('EINVAL', `opt: reference #${i} is page ${key}, but the future given says page ${this.future[i]}`);
    this.position++;
    return this.nextAt[i]!;
  }

  private before(a: { next: number; loaded: number }, b: { next: number; loaded: number }): boolean {
    return a.next > b.next || (a.next === b.next && a.loaded < b.loaded);
  }
  private push(key: number, next: number, loaded: number): void {
    const h = this.heap;
    const item = { next, loaded, key };
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(item, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = item;
  }
  private pop(): { next: number; loaded: number; key: number } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && this.before(h[r]!, h[l]!) ? r : l;
        if (!this.before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
  private rebuild(): void {
    this.heap = [];
    for (const [key, e] of this.resident) this.push(key, e.next, e.loaded);
  }
}
