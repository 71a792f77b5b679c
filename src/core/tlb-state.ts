/**
 * The TLB's state as plain typed arrays. Both backends keep their TLB in exactly this
 * layout (the native core writes into arrays that TypeScript allocated), so the TLB-hit
 * path can run in JavaScript without crossing into native code.
 *
 * Semantics (identical in every backend):
 * - `sets` x `ways` entries; entry e belongs to set floor(e / ways).
 * - An entry's key is ((vpn * 4 + sizeClass) * 8192 + tag), where vpn is the linear
 *   address shifted by the page size (12, 21 or 30), sizeClass is 0/1/2 for 4K/2M/1G, and
 *   tag is the PCID (0..4095) or GLOBAL_TAG (4096) for a global entry. Keys are exact doubles.
 * - The set of a translation is vpn mod sets. LRU order is kept in one of two encodings,
 *   chosen by the associativity (the same rule as the lookup structure below):
 *   - With at most SCAN_WAYS (8) ways, *stamps*: touching entry e sets stamp[e] = ++clock[0];
 *     an invalid entry's stamp is 0. A fill takes the entry of its set with the smallest
 *     stamp, the lowest index on a tie (an invalid entry before any valid one). A hit is one
 *     store, with no branch on where the entry stood.
 *   - With more ways, a *list* through prev/next (head = most recently used). Every entry is
 *     always on its set's list; invalid entries are moved to the tail, so a fill takes the
 *     tail. Initially set s lists its ways head-to-tail in index order. Finding the LRU way of
 *     a large set by scanning stamps would cost a pass over the set on every miss.
 * - An invalid entry's key is -1 (initially and after every invalidation), so no key ever matches it.
 * - With more than SCAN_WAYS (8) ways, `hash` is an open-addressed (linear probing,
 *   backward-shift deletion) index from key to entry + 1 (0 = empty slot), used only to find
 *   entries fast; it never changes which entry is chosen. With 8 ways or fewer, lookups scan
 *   the set instead and `hash` stays all zero.
 * - `meta[0]` counts valid global entries, `meta[1]` valid 2M entries, `meta[2]` valid 1G
 *   entries: a lookup skips probes for classes that are empty.
 */
import { undetachable } from './undetachable.js';
import { GLOBAL_TAG, TlbFlag } from './constants.js';

/** Sets with at most this many ways are scanned rather than hashed. */
export const SCAN_WAYS = 8;

/** The typed arrays that hold one TLB. */
export interface TlbState {
  readonly sets: number;
  readonly ways: number;
  /** sets - 1 when sets is a power of two (the set is then vpn & setMask), else -1. */
  readonly setMask: number;
  /** Number of hash slots, a power of two >= 2 * entries and >= 16. */
  readonly hashSize: number;
  /** log2(hashSize). */
  readonly hashBits: number;
  readonly key: Float64Array;
  /** Physical address of the translated page's first byte. */
  readonly pbase: Float64Array;
  readonly flags: Uint8Array;
  /** LRU stamps (sets of at most SCAN_WAYS ways); 0 = invalid. */
  readonly stamp: Float64Array;
  /** clock[0]: the last stamp given (an exact integer below 2^53). */
  readonly clock: Float64Array;
  readonly prev: Int32Array;
  readonly next: Int32Array;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly hash: Int32Array;
  readonly meta: Int32Array;
}

/** Allocates a TLB of `sets` x `ways` entries, all invalid, in the initial LRU order (on SharedArrayBuffers: see undetachable). */
export function createTlbState(sets: number, ways: number): TlbState {
  const entries = sets * ways;
  let hashBits = 4;
  while (2 ** hashBits < entries * 2) hashBits++;
  const hashSize = 2 ** hashBits;
  const s: TlbState = {
    sets,
    ways,
    setMask: (sets & (sets - 1)) === 0 ? sets - 1 : -1,
    hashSize,
    hashBits,
    key: undetachable(Float64Array, entries).fill(-1),
    pbase: undetachable(Float64Array, entries),
    flags: undetachable(Uint8Array, entries),
    stamp: undetachable(Float64Array, entries),
    clock: undetachable(Float64Array, 1),
    prev: undetachable(Int32Array, entries),
    next: undetachable(Int32Array, entries),
    head: undetachable(Int32Array, sets),
    tail: undetachable(Int32Array, sets),
    hash: undetachable(Int32Array, hashSize),
    meta: undetachable(Int32Array, 4),
  };
  resetLru(s);
  return s;
}

/** Puts every set's list back in the initial order (ways in index order). */
export function resetLru(s: TlbState): void {
  for (let set = 0; set < s.sets; set++) {
    const base = set * s.ways;
    for (let w = 0; w < s.ways; w++) {
      s.prev[base + w] = w === 0 ? -1 : base + w - 1;
      s.next[base + w] = w === s.ways - 1 ? -1 : base + w + 1;
    }
    s.head[set] = base;
    s.tail[set] = base + s.ways - 1;
  }
}

/** Hash slot of (vpn, sizeClass, tag): the same 32-bit arithmetic as native/tlb.cc. */
export function tlbHashSlot(s: TlbState, vpn: number, sizeClass: number, tag: number): number {
  const lo = vpn >>> 0;
  const hi = Math.floor(vpn / 4294967296) >>> 0;
  const m = (tag << 2) | sizeClass;
  let x = lo ^ Math.imul(hi + 1, 0x85ebca6b) ^ Math.imul(m + 1, 0xc2b2ae35);
  x = Math.imul(x ^ (x >>> 16), 0x9e3779b1) >>> 0;
  return x >>> (32 - s.hashBits);
}

/** Set of a translation: vpn mod sets, without a float modulo (V8 compiles `%` on doubles to fmod). */
export function tlbSet(s: TlbState, vpn: number): number {
  const mask = s.setMask;
  if (mask >= 0) return vpn & mask; // ToInt32 keeps the low bits
  const sets = s.sets;
  return vpn - Math.floor(vpn / sets) * sets;
}

/**
 * Entry index holding exactly this key, or -1. Small on purpose (the key and set arithmetic
 * written out, other shapes out of line): the JS hit paths inline it, and V8 inlines only so
 * much bytecode into one function.
 */
export function tlbFind(s: TlbState, vpn: number, sizeClass: number, tag: number): number {
  const key = (vpn * 4 + sizeClass) * 8192 + tag; // the key: see the module comment
  const ways = s.ways;
  const mask = s.setMask;
  if (ways > SCAN_WAYS || mask < 0) return otherFind(s, key, vpn, sizeClass, tag);
  const k = s.key;
  const base = (vpn & mask) * ways; // tlbSet: ToInt32 keeps the low bits
  for (let e = base; e < base + ways; e++) if (k[e] === key) return e;
  return -1;
}

/** tlbFind for hashed sets (more than SCAN_WAYS ways) and for a set count that is not a power of two. */
function otherFind(s: TlbState, key: number, vpn: number, sizeClass: number, tag: number): number {
  if (s.ways <= SCAN_WAYS) {
    const base = tlbSet(s, vpn) * s.ways;
    for (let e = base; e < base + s.ways; e++) if (s.key[e] === key) return e;
    return -1;
  }
  const mask = s.hashSize - 1;
  let i = tlbHashSlot(s, vpn, sizeClass, tag);
  for (;;) {
    const v = s.hash[i]!;
    if (v === 0) return -1;
    if (s.key[v - 1] === key) return v - 1;
    i = (i + 1) & mask;
  }
}

const TWO21 = 2 ** 21;
const TWO30 = 2 ** 30;

/**
 * Looks up a 48-bit linear address for a PCID: 4K entries first, then 2M, then 1G; within a
 * size, the PCID's entry before a global one. Returns the entry index or -1. No state changes.
 */
export function tlbLookup(s: TlbState, la: number, pcid: number): number {
  const vpn = Math.floor(la / 4096);
  let e = tlbFind(s, vpn, 0, pcid);
  if (e >= 0) return e;
  const meta = s.meta;
  const globals = meta[0]! > 0;
  if (globals && (e = tlbFind(s, vpn, 0, GLOBAL_TAG)) >= 0) return e;
  if (meta[1]! > 0) {
    const v2 = Math.floor(la / TWO21);
    if ((e = tlbFind(s, v2, 1, pcid)) >= 0) return e;
    if (globals && (e = tlbFind(s, v2, 1, GLOBAL_TAG)) >= 0) return e;
  }
  if (meta[2]! > 0) {
    const v1 = Math.floor(la / TWO30);
    if ((e = tlbFind(s, v1, 2, pcid)) >= 0) return e;
    if (globals && (e = tlbFind(s, v1, 2, GLOBAL_TAG)) >= 0) return e;
  }
  return -1;
}

/** Makes entry e the most recently used of its set. */
export function tlbTouch(s: TlbState, e: number): void {
  if (s.ways > SCAN_WAYS) return listTouch(s, e);
  const c = s.clock[0]! + 1;
  s.clock[0] = c;
  s.stamp[e] = c;
}

/** Moves e to the head of its set's list (sets of more than SCAN_WAYS ways). */
function listTouch(s: TlbState, e: number): void {
  const set = (e / s.ways) | 0;
  if (s.head[set] === e) return;
  const p = s.prev[e]!;
  const n = s.next[e]!;
  s.next[p] = n; // p >= 0 because e is not the head
  if (n >= 0) s.prev[n] = p;
  else s.tail[set] = p;
  const h = s.head[set]!;
  s.prev[e] = -1;
  s.next[e] = h;
  s.prev[h] = e;
  s.head[set] = e;
}

/**
 * Per access kind (read, write, execute): the entry flags a plain user-mode TLB hit tests
 * (USER_HIT_MASK) and the value they must have (USER_HIT_NEED). Valid and user; a write also
 * writable and dirty (else a walk sets D); a fetch also not NX. One test, no branch on the kind.
 */
export const USER_HIT_NEED: readonly number[] = [TlbFlag.VALID | TlbFlag.USER, TlbFlag.VALID | TlbFlag.USER | TlbFlag.WRITABLE | TlbFlag.DIRTY, TlbFlag.VALID | TlbFlag.USER];
export const USER_HIT_MASK: readonly number[] = [USER_HIT_NEED[0]!, USER_HIT_NEED[1]!, USER_HIT_NEED[2]! | TlbFlag.NX];

/** True when entry flags `f` let a user-mode access of `kind` hit with nothing else to do (no walk, no fault). */
export function userHitAllowed(f: number, kind: number): boolean {
  return (f & USER_HIT_MASK[kind]!) === USER_HIT_NEED[kind];
}

/** The entry a fill of `set` replaces: the least recently used or an invalid one. */
export function tlbVictim(s: TlbState, set: number): number {
  if (s.ways > SCAN_WAYS) return s.tail[set]!;
  const base = set * s.ways;
  let v = base;
  for (let e = base + 1; e < base + s.ways; e++) if (s.stamp[e]! < s.stamp[v]!) v = e;
  return v;
}
