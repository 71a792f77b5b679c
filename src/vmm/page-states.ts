/**
 * The reclaim state of one process's pages, indexed by virtual page number: which pages the
 * policy tracks, which are mlocked or lazily freed, which entries hold a swap slot and which
 * resident pages keep a valid swap copy (and their slots). A two-level table like the page
 * tables themselves: blocks of 512 pages (2 MiB of address space) in typed arrays, found
 * through one Map whose last hit is remembered. A fault or an eviction asks several questions
 * of the same page, and neighbouring pages share a block, so most questions cost an array
 * index instead of a probe of a hash table per question (a Map probe on a cold table of
 * 20000 pages costs ~60-100 ns; this was most of the per-page TS time of reclaim).
 */

/** The policy tracks the page (resident, evictable). */
export const TRACKED = 1;
/** Resident under mlock (never evicted, still charged). */
export const LOCKED = 2;
/** Given MADV_FREE and not written since the advice. */
export const LAZY = 4;
/** Not resident: the entry holds a swap slot (swapSlot). */
export const SWAPPED = 8;
/** Resident with a valid swap copy (cacheSlot). */
export const CACHED = 16;
/** Faulted in at least once (kept through eviction; only counted when asked: ResidentSet.countTouched). */
export const TOUCHED = 32;

const BLOCK = 512;

/** One block of 512 pages. */
interface Block {
  readonly flags: Uint8Array;
  readonly swapSlot: Uint32Array;
  readonly cacheSlot: Uint32Array;
  /** Pages of the block with any flag. */
  used: number;
}

/** Per-page flags and slots, by vpn. */
export class PageStates {
  private readonly blocks = new Map<number, Block>();
  private lastKey = -1;
  private last: Block | undefined;
  /** Pages with each flag (index: the flag's bit number). */
  private readonly counts = new Float64Array(6);

  /** Pages carrying `flag`. */
  count(flag: number): number {
    return this.counts[31 - Math.clz32(flag)]!;
  }

  /** The flags of `vpn` (0 when it has none). */
  flags(vpn: number): number {
    const b = this.block(vpn, false);
    return b === undefined ? 0 : b.flags[vpn - this.lastKey * BLOCK]!;
  }

  /** True when `vpn` has `flag`. */
  has(vpn: number, flag: number): boolean {
    return (this.flags(vpn) & flag) !== 0;
  }

  /** Sets `flag` on `vpn`; false when it was set already. */
  add(vpn: number, flag: number): boolean {
    const b = this.block(vpn, true)!;
    const i = vpn - this.lastKey * BLOCK;
    const f = b.flags[i]!;
    if ((f & flag) !== 0) return false;
    if (f === 0) b.used++;
    b.flags[i] = f | flag;
    this.counts[31 - Math.clz32(flag)]!++;
    return true;
  }

  /** Sets `flag` on the pages [first, first + count) of one block (a 2 MiB page's): one block lookup. */
  addRun(first: number, count: number, flag: number): void {
    const b = this.block(first, true)!;
    const i0 = first - this.lastKey * BLOCK;
    if (i0 + count > BLOCK) throw new RangeError(`addRun: [${first}, +${count}) crosses a block`);
    let added = 0;
    for (let i = i0; i < i0 + count; i++) {
      const f = b.flags[i]!;
      if ((f & flag) !== 0) continue;
      if (f === 0) b.used++;
      b.flags[i] = f | flag;
      added++;
    }
    this.counts[31 - Math.clz32(flag)]! += added;
  }

  /** Clears `flag` of `vpn`; false when it was not set. */
  delete(vpn: number, flag: number): boolean {
    if (this.counts[31 - Math.clz32(flag)] === 0) return false;
    const b = this.block(vpn, false);
    if (b === undefined) return false;
    const key = this.lastKey;
    const i = vpn - key * BLOCK;
    const f = b.flags[i]!;
    if ((f & flag) === 0) return false;
    b.flags[i] = f & ~flag;
    this.counts[31 - Math.clz32(flag)]!--;
    if (f === flag && --b.used === 0) this.drop(key);
    return true;
  }

  /** The slot of `vpn` under SWAPPED or CACHED (`flag`), or -1 when it does not carry the flag. */
  slot(vpn: number, flag: typeof SWAPPED | typeof CACHED): number {
    if (this.counts[31 - Math.clz32(flag)] === 0) return -1;
    const b = this.block(vpn, false);
    if (b === undefined) return -1;
    const i = vpn - this.lastKey * BLOCK;
    if ((b.flags[i]! & flag) === 0) return -1;
    return flag === SWAPPED ? b.swapSlot[i]! : b.cacheSlot[i]!;
  }

  /** Sets SWAPPED or CACHED (`flag`) on `vpn` with `slot` (replacing an earlier slot). */
  setSlot(vpn: number, flag: typeof SWAPPED | typeof CACHED, slot: number): void {
    this.add(vpn, flag);
    const b = this.last!;
    const i = vpn - this.lastKey * BLOCK;
    if (flag === SWAPPED) b.swapSlot[i] = slot;
    else b.cacheSlot[i] = slot;
  }

  /** Pages with `flag` (or any of several flags) in [first, last) (vpns), in address order. */
  inRange(flag: number, first: number, last: number): number[] {
    const out: number[] = [];
    const single = (flag & (flag - 1)) === 0;
    if ((single && this.counts[31 - Math.clz32(flag)] === 0) || this.blocks.size === 0 || last <= first) return out;
    const k0 = Math.floor(first / BLOCK);
    const k1 = Math.floor((last - 1) / BLOCK);
    const keys = k1 - k0 + 1 <= this.blocks.size ? null : this.sortedKeys().filter((k) => k >= k0 && k <= k1);
    const n = keys === null ? k1 - k0 + 1 : keys.length;
    for (let j = 0; j < n; j++) {
      const k = keys === null ? k0 + j : keys[j]!;
      const b = this.blocks.get(k);
      if (b === undefined) continue;
      const base = k * BLOCK;
      const from = Math.max(first - base, 0);
      const to = Math.min(last - base, BLOCK);
      for (let i = from; i < to; i++) if ((b.flags[i]! & flag) !== 0) out.push(base + i);
    }
    return out;
  }

  /** Every page with `flag`, in address order. */
  all(flag: number): number[] {
    return this.inRange(flag, 0, Infinity);
  }

  /** Forgets everything. */
  clear(): void {
    this.blocks.clear();
    this.lastKey = -1;
    this.last = undefined;
    this.counts.fill(0);
  }

  private sortedKeys(): number[] {
    return [...this.blocks.keys()].sort((a, b) => a - b);
  }

  /** The block of `vpn` (made when `create`); it becomes the remembered one (lastKey). */
  private block(vpn: number, create: boolean): Block | undefined {
    const key = Math.floor(vpn / BLOCK);
    if (key === this.lastKey) return this.last;
    let b = this.blocks.get(key);
    if (b === undefined) {
      if (!create) return undefined;
      b = { flags: new Uint8Array(BLOCK), swapSlot: new Uint32Array(BLOCK), cacheSlot: new Uint32Array(BLOCK), used: 0 };
      this.blocks.set(key, b);
    }
    this.lastKey = key;
    this.last = b;
    return b;
  }

  private drop(key: number): void {
    this.blocks.delete(key);
    if (this.lastKey === key) {
      this.lastKey = -1;
      this.last = undefined;
    }
  }
}

/** A read-only view of the pages carrying one flag, shaped like a ReadonlySet (address order). */
export class PageSetView implements Iterable<number> {
  constructor(
    private readonly states: PageStates,
    private readonly flag: number,
  ) {}
  /** Pages in the set. */
  get size(): number {
    return this.states.count(this.flag);
  }
  /** True when `vpn` is in the set. */
  has(vpn: number): boolean {
    return this.states.has(vpn, this.flag);
  }
  /** The pages, in address order. */
  [Symbol.iterator](): Iterator<number> {
    return this.states.all(this.flag)[Symbol.iterator]();
  }
}

/** A read-only view of vpn -> slot for SWAPPED or CACHED pages, shaped like a ReadonlyMap (address order). */
export class PageSlotView implements Iterable<[number, number]> {
  constructor(
    private readonly states: PageStates,
    private readonly flag: typeof SWAPPED | typeof CACHED,
  ) {}
  /** Pages in the map. */
  get size(): number {
    return this.states.count(this.flag);
  }
  /** True when `vpn` has a slot here. */
  has(vpn: number): boolean {
    return this.states.has(vpn, this.flag);
  }
  /** The slot of `vpn`, or undefined. */
  get(vpn: number): number | undefined {
    const s = this.states.slot(vpn, this.flag);
    return s < 0 ? undefined : s;
  }
  /** The pages, in address order. */
  keys(): IterableIterator<number> {
    return this.states.all(this.flag)[Symbol.iterator]();
  }
  /** The slots, in the pages' address order. */
  values(): IterableIterator<number> {
    return this.states.all(this.flag).map((v) => this.states.slot(v, this.flag))[Symbol.iterator]();
  }
  /** [vpn, slot] pairs, in address order. */
  entries(): IterableIterator<[number, number]> {
    return this.states.all(this.flag).map((v): [number, number] => [v, this.states.slot(v, this.flag)])[Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
}
