/** TLB updates of the reference core over the shared TlbState arrays (fill, evict, invalidate, flush). */
import { Counter, GLOBAL_TAG, TlbFlag } from '../constants.js';
import { SCAN_WAYS, tlbFind, tlbHashSlot, tlbSet, tlbTouch, tlbVictim, type TlbState } from '../tlb-state.js';

const SIZES = [4096, 2 ** 21, 2 ** 30];

function keyParts(key: number): [number, number, number] {
  const tag = key % 8192;
  const rest = Math.floor(key / 8192);
  return [Math.floor(rest / 4), rest % 4, tag];
}

function hashInsert(s: TlbState, e: number): void {
  if (s.ways <= SCAN_WAYS) return; // small sets are scanned, not hashed
  const [vpn, sc, tag] = keyParts(s.key[e]!);
  const mask = s.hashSize - 1;
  let i = tlbHashSlot(s, vpn, sc, tag);
  while (s.hash[i] !== 0) i = (i + 1) & mask;
  s.hash[i] = e + 1;
}

/** Backward-shift deletion (Knuth's Algorithm R): no tombstones. */
function hashDelete(s: TlbState, e: number): void {
  if (s.ways <= SCAN_WAYS) return;
  const mask = s.hashSize - 1;
  const [vpn, sc, tag] = keyParts(s.key[e]!);
  let i = tlbHashSlot(s, vpn, sc, tag);
  while (s.hash[i] !== e + 1) i = (i + 1) & mask;
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const v = s.hash[j]!;
    if (v === 0) break;
    const [pv, psc, ptag] = keyParts(s.key[v - 1]!);
    const k = tlbHashSlot(s, pv, psc, ptag);
    // Move the entry at j back to i unless its home k lies cyclically in (i, j].
    const inRange = i <= j ? i < k && k <= j : i < k || k <= j;
    if (!inRange) {
      s.hash[i] = v;
      i = j;
    }
  }
  s.hash[i] = 0;
}

function metaAdjust(s: TlbState, e: number, d: number): void {
  if (s.flags[e]! & TlbFlag.GLOBAL) s.meta[0]! += d;
  const sc = Math.floor(s.key[e]! / 8192) % 4;
  if (sc > 0) s.meta[sc]! += d;
}

/** Makes e the first choice of its set's next fill (stamp 0, or the list's tail). */
function makeLru(s: TlbState, e: number): void {
  if (s.ways <= SCAN_WAYS) {
    s.stamp[e] = 0;
    return;
  }
  const set = (e / s.ways) | 0;
  if (s.tail[set] === e) return;
  const p = s.prev[e]!;
  const n = s.next[e]!;
  if (p >= 0) s.next[p] = n;
  else s.head[set] = n;
  s.prev[n] = p; // n >= 0 because e is not the tail
  const t = s.tail[set]!;
  s.next[t] = e;
  s.prev[e] = t;
  s.next[e] = -1;
  s.tail[set] = e;
}

/** Invalidates entry e: out of the hash, flags 0, first to be replaced in its set. */
export function invalidateEntry(s: TlbState, e: number): void {
  if ((s.flags[e]! & TlbFlag.VALID) === 0) return;
  hashDelete(s, e);
  metaAdjust(s, e, -1);
  s.flags[e] = 0;
  s.key[e] = -1; // no lookup can match an invalid entry, so scans need not test VALID
  makeLru(s, e);
}

/** Fills a translation into the LRU way of its set, evicting what was there. */
export function fill(s: TlbState, counters: Float64Array, vpn: number, sizeClass: number, tag: number, pbase: number, flags: number): number {
  const e = tlbVictim(s, tlbSet(s, vpn));
  if (s.flags[e]! & TlbFlag.VALID) {
    invalidateEntry(s, e);
    counters[Counter.EVICTIONS]!++;
  }
  s.key[e] = (vpn * 4 + sizeClass) * 8192 + tag;
  s.pbase[e] = pbase;
  s.flags[e] = flags | TlbFlag.VALID;
  hashInsert(s, e);
  metaAdjust(s, e, +1);
  tlbTouch(s, e);
  return e;
}

/** Invalidates the entries translating `la` for `tag` and global ones, every size class. */
export function invalidateAddress(s: TlbState, la: number, tag: number): void {
  for (let sc = 0; sc < 3; sc++) {
    if (sc > 0 && s.meta[sc] === 0) continue;
    const vpn = Math.floor(la / SIZES[sc]!);
    let e = tlbFind(s, vpn, sc, tag);
    if (e >= 0) invalidateEntry(s, e);
    if (s.meta[0]! > 0 && (e = tlbFind(s, vpn, sc, GLOBAL_TAG)) >= 0) invalidateEntry(s, e);
  }
}

/** Invalidates, in index order, every valid entry `pred` accepts. */
export function invalidateWhere(s: TlbState, pred: (key: number, flags: number) => boolean): void {
  const n = s.flags.length;
  for (let e = 0; e < n; e++) {
    const f = s.flags[e]!;
    if ((f & TlbFlag.VALID) !== 0 && pred(s.key[e]!, f)) invalidateEntry(s, e);
  }
}
