/** Reusable typed buffers for the bulk A/D-bit reads of a policy (no allocation per decision). */
export class Scratch {
  keys = new Float64Array(64);
  bits = new Uint8Array(64);

  /** Makes both buffers hold at least n elements. */
  ensure(n: number): void {
    if (n <= this.keys.length) return;
    let len = this.keys.length;
    while (len < n) len *= 2;
    this.keys = new Float64Array(len);
    this.bits = new Uint8Array(len);
  }
}

/** The most pages a ring policy reads per bulk call: large enough to amortise it, small enough not to read a whole memory. */
export const SCAN_BATCH = 64;
/** The first read of a victim search (most end within a few pages); each further read doubles, up to SCAN_BATCH. */
export const FIRST_BATCH = 4;
