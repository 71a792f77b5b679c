/**
 * One TLB or paging-structure-cache array of the reference hierarchy: `sets` x `ways` entries,
 * a set per vpn mod sets (any set count), a replacement policy. Keys are those of the machine's
 * TLB ((vpn * 4 + sizeClass) * 8192 + tag, tlb-state.ts); an invalid entry's key is -1.
 * Victim: the lowest-index invalid way, else per policy — LRU: the smallest stamp (stamps from
 * a per-array clock at every fill and hit); FIFO: the smallest stamp (given at fill only);
 * tree-PLRU: the way the tree bits point to; random: xorshift32 of the array's seed mod ways.
 * native/hierarchy.cc implements exactly this.
 */
import { GLOBAL_TAG, TlbFlag } from '../constants.js';
import { Policy } from '../../tlb/layout.js';

/** One array's state and operations. */
export class TlbArray {
  readonly sets: number;
  readonly entries: number;
  readonly key: Float64Array;
  readonly pbase: Float64Array;
  readonly flags: Uint8Array;
  readonly stamp: Float64Array;
  /** Tree-PLRU node bits per set (node n of set s at s * ways + n, nodes 1..ways-1; 1 = the victim is in the right half). */
  readonly tree: Uint8Array;
  clock = 0;
  rng: number;
  /** Valid entries per size class, and valid global entries: lookups skip empty classes. */
  readonly count = new Int32Array(3);
  globals = 0;

  constructor(
    entries: number,
    readonly ways: number,
    readonly policy: number,
    /** Page sizes held (SizeBit mask). */
    readonly sizes: number,
    seed: number,
  ) {
    this.entries = entries;
    this.sets = entries / ways;
    this.key = new Float64Array(entries).fill(-1);
    this.pbase = new Float64Array(entries);
    this.flags = new Uint8Array(entries);
    this.stamp = new Float64Array(entries);
    this.tree = new Uint8Array(entries);
    this.rng = seed >>> 0 || 1;
  }

  /** Set of a page number. */
  setOf(vpn: number): number {
    const s = this.sets;
    return s === 1 ? 0 : vpn - Math.floor(vpn / s) * s;
  }

  /** Entry holding exactly this key, or -1. */
  find(vpn: number, sc: number, tag: number): number {
    const k = (vpn * 4 + sc) * 8192 + tag;
    const b = this.setOf(vpn) * this.ways;
    for (let e = b; e < b + this.ways; e++) if (this.key[e] === k) return e;
    return -1;
  }

  /** The entry translating `la` for `tag`: held sizes 4K, 2M, 1G in turn, the tag's entry before a global one. */
  lookup(la: number, tag: number): number {
    for (let sc = 0; sc < 3; sc++) {
      if ((this.sizes & (1 << sc)) === 0 || this.count[sc] === 0) continue;
      const vpn = Math.floor(la / 2 ** (12 + 9 * sc));
      let e = this.find(vpn, sc, tag);
      if (e < 0 && this.globals > 0) e = this.find(vpn, sc, GLOBAL_TAG);
      if (e >= 0) return e;
    }
    return -1;
  }

  /** A hit's replacement update. */
  touch(e: number): void {
    if (this.policy === Policy.LRU) this.stamp[e] = ++this.clock;
    else if (this.policy === Policy.PLRU) this.plruTouch(e);
  }

  private plruTouch(e: number): void {
    const ways = this.ways;
    const base = e - (e % ways);
    const w = e - base;
    // Walk from the root to way w, pointing every node on the path away from it.
    let node = 1;
    for (let half = ways >> 1; half >= 1; half >>= 1) {
      const right = (w & half) !== 0;
      this.tree[base + node] = right ? 0 : 1;
      node = node * 2 + (right ? 1 : 0);
    }
  }

  /** The way a fill of `set` takes. */
  victim(set: number): number {
    const ways = this.ways;
    const b = set * ways;
    for (let e = b; e < b + ways; e++) if (this.key[e] === -1) return e;
    switch (this.policy) {
      case Policy.PLRU: {
        let node = 1;
        let w = 0;
        for (let half = ways >> 1; half >= 1; half >>= 1) {
          const right = this.tree[b + node] === 1;
          if (right) w += half;
          node = node * 2 + (right ? 1 : 0);
        }
        return b + w;
      }
      case Policy.RANDOM: {
        let x = this.rng;
        x = (x ^ (x << 13)) >>> 0;
        x = (x ^ (x >>> 17)) >>> 0;
        x = (x ^ (x << 5)) >>> 0;
        this.rng = x;
        return b + (x % ways);
      }
      default: {
        let v = b;
        for (let e = b + 1; e < b + ways; e++) if (this.stamp[e]! < this.stamp[v]!) v = e;
        return v;
      }
    }
  }

  /** Fills a translation; returns true when it evicted a valid entry. */
  fill(vpn: number, sc: number, tag: number, pbase: number, flags: number): boolean {
    const e = this.victim(this.setOf(vpn));
    const evicted = this.key[e] !== -1;
    if (evicted) this.drop(e);
    this.key[e] = (vpn * 4 + sc) * 8192 + tag;
    this.pbase[e] = pbase;
    this.flags[e] = flags | TlbFlag.VALID;
    this.count[sc]!++;
    if (tag === GLOBAL_TAG) this.globals++;
    if (this.policy === Policy.LRU || this.policy === Policy.FIFO) this.stamp[e] = ++this.clock;
    else if (this.policy === Policy.PLRU) this.plruTouch(e);
    return evicted;
  }

  /** Invalidates entry e (its replacement state stays: the way is taken first as invalid). */
  drop(e: number): void {
    const k = this.key[e]!;
    if (k === -1) return;
    const tag = k % 8192;
    this.count[Math.floor(k / 8192) % 4]!--;
    if (tag === GLOBAL_TAG) this.globals--;
    this.key[e] = -1;
    this.flags[e] = 0;
    this.stamp[e] = 0;
  }

  /** Drops the entries translating `la` for `tag` (and global ones when `globals`), every size held. */
  dropAddress(la: number, tag: number, globals: boolean): void {
    for (let sc = 0; sc < 3; sc++) {
      if ((this.sizes & (1 << sc)) === 0 || this.count[sc] === 0) continue;
      const vpn = Math.floor(la / 2 ** (12 + 9 * sc));
      let e = this.find(vpn, sc, tag);
      if (e >= 0) this.drop(e);
      if (globals && this.globals > 0 && (e = this.find(vpn, sc, GLOBAL_TAG)) >= 0) this.drop(e);
    }
  }

  /** Drops every entry whose tag satisfies `pred` (tag, global). */
  dropWhere(pred: (tag: number) => boolean): void {
    for (let e = 0; e < this.entries; e++) {
      const k = this.key[e]!;
      if (k !== -1 && pred(k % 8192)) this.drop(e);
    }
  }

  /** The inverse of dump (a snapshot's state put back); false when `data` is not a dump of this array's size. */
  load(data: Float64Array): boolean {
    if (data.length !== this.entries * 5 + 2) return false;
    let o = 0;
    this.count.fill(0);
    this.globals = 0;
    for (let e = 0; e < this.entries; e++) {
      const k = data[o++]!;
      this.key[e] = k;
      this.pbase[e] = data[o++]!;
      this.flags[e] = data[o++]!;
      this.stamp[e] = data[o++]!;
      if (k !== -1) {
        this.count[Math.floor(k / 8192) % 4]!++;
        if (k % 8192 === GLOBAL_TAG) this.globals++;
      }
    }
    for (let e = 0; e < this.entries; e++) this.tree[e] = data[o++]!;
    this.clock = data[o++]!;
    this.rng = data[o++]! >>> 0;
    return true;
  }

  /** The state as numbers (see DUMP_ENTRY): per entry key, pbase, flags, stamp; then the tree bits, clock and rng. */
  dump(out: Float64Array): number {
    let o = 0;
    for (let e = 0; e < this.entries; e++) {
      out[o++] = this.key[e]!;
      out[o++] = this.pbase[e]!;
      out[o++] = this.flags[e]!;
      out[o++] = this.stamp[e]!;
    }
    for (let e = 0; e < this.entries; e++) out[o++] = this.tree[e]!;
    out[o++] = this.clock;
    out[o++] = this.rng;
    return o;
  }
}
