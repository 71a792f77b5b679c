/** A small seeded generator (mulberry32): the same seed gives the same exercise everywhere. */
export class Random {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of `a`. */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

/** A reference string of `n` pages in [0, maxPage], a quarter of them writes when `writes`. */
export function randomReferenceString(seed: number, n: number, maxPage: number, writes = false): string {
  const r = new Random(seed);
  return Array.from({ length: n }, () => `${r.int(maxPage + 1)}${writes && r.next() < 0.25 ? 'w' : ''}`).join(',');
}
