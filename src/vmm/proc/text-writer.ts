/**
 * Builds a /proc file's text as bytes and decodes it once: a 10,000-region smaps is ~10 MB, and
 * joining that many small strings made V8 build and flatten ropes (most of the time was GC).
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A growable byte buffer with the writes /proc's formats need. */
export class TextWriter {
  private buf: Uint8Array;
  private n = 0;

  /** `capacity`: the bytes expected (the buffer doubles past it). */
  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }

  /** Appends bytes (a label encoded once). */
  bytes(b: Uint8Array): void {
    const k = b.length;
    this.room(k);
    const buf = this.buf;
    const n = this.n;
    // Labels are short: a loop beats set()'s call overhead.
    if (k < 32) for (let i = 0; i < k; i++) buf[n + i] = b[i]!;
    else buf.set(b, n);
    this.n = n + k;
  }

  /** Appends a string (UTF-8). */
  text(s: string): void {
    this.room(s.length * 3);
    let i = 0;
    const buf = this.buf;
    let n = this.n;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) break;
      buf[n++] = c;
    }
    if (i < s.length) n += encoder.encodeInto(s.slice(i), buf.subarray(n)).written;
    this.n = n;
  }

  /** Appends a non-negative integer right-aligned in `width` columns (wider numbers whole), as seq_put_decimal_ull_width. */
  decimal(v: number, width: number): void {
    this.room(24);
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    const buf = this.buf;
    let n = this.n;
    for (let k = digits; k < width; k++) buf[n++] = 32;
    let x = v;
    for (let k = n + digits - 1; k >= n; k--) {
      const q = Math.floor(x / 10);
      buf[k] = 48 + (x - q * 10);
      x = q;
    }
    this.n = n + digits;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.n;
  }

  /** Appends one ASCII character code. */
  byte(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }

  /** Appends spaces up to column `to` (nothing when already there). */
  padTo(to: number): void {
    if (to <= this.n) return;
    this.room(to - this.n);
    this.buf.fill(32, this.n, to);
    this.n = to;
  }

  /** Appends a non-negative integer (below 2^53) in lowercase hex, zero-padded to `width` digits (%0Nlx). */
  hex(v: number, width: number): void {
    this.room(16);
    let digits = 1;
    for (let x = v; x >= 16; x = Math.floor(x / 16)) digits++;
    const buf = this.buf;
    let n = this.n;
    for (let k = digits; k < width; k++) buf[n++] = 48;
    let x = v;
    for (let k = n + digits - 1; k >= n; k--) {
      const q = Math.floor(x / 16);
      const d = x - q * 16;
      buf[k] = d < 10 ? 48 + d : 87 + d;
      x = q;
    }
    this.n = n + digits;
  }

  /** The text written. */
  toString(): string {
    return decoder.decode(this.buf.subarray(0, this.n));
  }
}

/** A label encoded once. */
export function label(s: string): Uint8Array {
  return encoder.encode(s);
}
