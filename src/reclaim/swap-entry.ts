/**
 * The swap entry in a non-present page-table entry, encoded as Linux x86-64 encodes it
 * (arch/x86/include/asm/pgtable_64.h): P (bit 0) clear; the swap type (area) in bits 59-63;
 * the slot offset *inverted* in bits 9-58 (`~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS`),
 * so the bits a CPU could speculatively use as a frame address point at no real memory
 * (the L1TF mitigation). vmsim has one swap area: type 0. Bits 1-8 stay clear. The SDM
 * ignores every bit of an entry whose P bit is clear, so all of this is software's.
 */

const OFFSET_BITS = 50;
const OFFSET_MASK = 2 ** OFFSET_BITS - 1;
const LO_BITS = 23; // offset bits 0-22 live in entry bits 9-31
const LO_SPAN = 2 ** LO_BITS;
// No `%` on the inverted offset (~2^50, not a small integer): V8 compiles that to an fmod call.

/** The entry words [lo, hi] holding swap slot `slot` of area 0. */
export function encodeSwapEntry(slot: number): [lo: number, hi: number] {
  const inv = OFFSET_MASK - slot;
  const high = Math.floor(inv / LO_SPAN);
  return [((inv - high * LO_SPAN) * 512) >>> 0, high];
}

/** Writes slot's entry words into lo[i], hi[i] (no allocation: eviction encodes whole batches). */
export function encodeSwapEntryInto(slot: number, lo: Uint32Array, hi: Uint32Array, i: number): void {
  const inv = OFFSET_MASK - slot;
  const high = Math.floor(inv / LO_SPAN);
  lo[i] = (inv - high * LO_SPAN) * 512;
  hi[i] = high;
}

/** The slot of a swap entry's words, or -1 when they are not a swap entry (present, or empty). */
export function decodeSwapEntry(lo: number, hi: number): number {
  if ((lo & 1) !== 0 || (lo === 0 && hi === 0)) return -1;
  const inv = (lo >>> 9) + (hi & 0x7ffffff) * LO_SPAN; // hi's bits 0-26 (hi is a 32-bit word)
  return OFFSET_MASK - inv;
}
