/** node:buffer's Buffer as far as zero-page.ts uses it: alloc and compare. */
export class Buffer extends Uint8Array {
  /** A zeroed buffer of `n` bytes. */
  static alloc(n: number): Buffer {
    return new Buffer(n);
  }

  /** Compares this buffer with target[start, end) as Node does: -1, 0 or 1. */
  compare(target: Uint8Array, start = 0, end = target.length): number {
    const n = Math.min(this.length, end - start);
    for (let i = 0; i < n; i++) {
      const a = this[i]!;
      const b = target[start + i]!;
      if (a !== b) return a < b ? -1 : 1;
    }
    return this.length === end - start ? 0 : this.length < end - start ? -1 : 1;
  }
}
