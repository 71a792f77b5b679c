/**
 * Short-lived typed arrays of one reclaim batch (a reverse map's per-page results and entry
 * lists, a batch's frame list), carved from shared 64 KiB slabs. V8 gives a typed array of more
 * than 64 bytes its own off-heap backing store, ~0.5 µs to make and to collect; a view of an
 * existing buffer costs ~20 ns — and a batch of 32 pages made a dozen such arrays. Every array
 * handed out is zeroed (slab space is never handed out twice); a slab goes to the garbage
 * collector once no view of it is left, so these are for arrays that die with their batch.
 */

const SLAB = 65536;
let slab = new ArrayBuffer(SLAB);
let used = 0;

/** `bytes` (a multiple of 8 up to SLAB) of fresh slab space: its offset in `slab`. */
function carve(bytes: number): number {
  if (used + bytes > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}

/** A zeroed Float64Array of n elements. */
export function batchF64(n: number): Float64Array {
  const bytes = n * 8;
  if (bytes > SLAB / 4) return new Float64Array(n);
  const at = carve(bytes); // first: it may start a new slab
  return new Float64Array(slab, at, n);
}

/** A zeroed Int32Array of n elements. */
export function batchI32(n: number): Int32Array {
  const bytes = (n * 4 + 7) & ~7;
  if (bytes > SLAB / 4) return new Int32Array(n);
  const at = carve(bytes); // first: it may start a new slab
  return new Int32Array(slab, at, n);
}

/** A zeroed Uint8Array of n elements. */
export function batchU8(n: number): Uint8Array {
  const bytes = (n + 7) & ~7;
  if (bytes > SLAB / 4) return new Uint8Array(n);
  const at = carve(bytes); // first: it may start a new slab
  return new Uint8Array(slab, at, n);
}
