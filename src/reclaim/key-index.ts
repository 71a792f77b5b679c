/**
 * A map from page keys to small non-negative integers (a PageList's node numbers), cheaper
 * than a Map for the keys reclaim uses: page numbers, which come in neighbourhoods. Keys are
 * grouped in blocks of 512 (one Int32Array each, found through a Map whose last hit is
 * remembered), so inserting or removing a page whose neighbour was just touched is an array
 * index, not a probe of a large cold hash table. Keys that are not non-negative safe integers
 * (a user's policy may use any number) go to an ordinary Map.
 */

const BLOCK = 512;

/** key -> value (0 .. 2^31 - 2); -1 means absent. */
export class KeyIndex {
  /** Per block: value + 1 per key (0 = absent), and at [BLOCK] the keys present. */
  private readonly blocks = new Map<number, Int32Array>();
  private other: Map<number, number> | undefined;
  private lastKey = -1;
  private last: Int32Array | undefined;
  private count = 0;

  /** Keys present. */
  get size(): number {
    return this.count;
  }

  /** The value of `key`, or -1. */
  get(key: number): number {
    if (!plain(key)) return this.other?.get(key) ?? -1;
    const b = this.block(key, false);
    return b === undefined ? -1 : b[key - this.lastKey * BLOCK]! - 1;
  }

  /** Sets the value of `key`. */
  set(key: number, value: number): void {
    if (!plain(key)) {
      const o = (this.other ??= new Map());
      if (!o.has(key)) this.count++;
      o.set(key, value);
      return;
    }
    const b = this.block(key, true)!;
    const i = key - this.lastKey * BLOCK;
    if (b[i] === 0) b[BLOCK]!++, this.count++;
    b[i] = value + 1;
  }

  /** Removes `key`; false when absent. */
  delete(key: number): boolean {
    if (!plain(key)) {
      if (!this.other?.delete(key)) return false;
      this.count--;
      return true;
    }
    const b = this.block(key, false);
    if (b === undefined) return false;
    const k = this.lastKey;
    const i = key - k * BLOCK;
    if (b[i] === 0) return false;
    b[i] = 0;
    this.count--;
    if (--b[BLOCK]! === 0) {
      this.blocks.delete(k);
      this.lastKey = -1;
      this.last = undefined;
    }
    return true;
  }

  /** The block of `key` (made when `create`); it becomes the remembered one. */
  private block(key: number, create: boolean): Int32Array | undefined {
    const k = Math.floor(key / BLOCK);
    if (k === this.lastKey) return this.last;
    let b = this.blocks.get(k);
    if (b === undefined) {
      if (!create) return undefined;
      b = new Int32Array(BLOCK + 1);
      this.blocks.set(k, b);
    }
    this.lastKey = k;
    this.last = b;
    return b;
  }
}

/** A key the blocks hold: a non-negative safe integer. */
function plain(key: number): boolean {
  return key >= 0 && key <= Number.MAX_SAFE_INTEGER && Math.floor(key) === key;
}
