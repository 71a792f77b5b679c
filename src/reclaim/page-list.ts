/**
 * An ordered list of page keys with O(1) insert, remove and move by key: the LRU lists,
 * FIFO queues and clock rings of the policies. "Head" is the newest end, "tail" the oldest.
 * Nodes live in typed arrays (no object per page), indexed through a KeyIndex (blocks of
 * neighbouring keys, cheaper than one Map).
 */
import { KeyIndex } from './key-index.js';

/** An ordered list of page keys (see above). */
export class PageList {
  private readonly index = new KeyIndex();
  private keys = new Float64Array(16);
  private prev = new Int32Array(16);
  private next = new Int32Array(16);
  private free: number[] = [];
  private used = 0;
  private headNode = -1;
  private tailNode = -1;

  /** Keys in the list. */
  get size(): number {
    return this.index.size;
  }

  /** True when key is in the list. */
  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  /** The oldest key (undefined when empty). */
  tail(): number | undefined {
    return this.tailNode < 0 ? undefined : this.keys[this.tailNode];
  }

  /** The newest key (undefined when empty). */
  head(): number | undefined {
    return this.headNode < 0 ? undefined : this.keys[this.headNode];
  }

  /** Adds key as the newest (it must not be in the list). */
  pushHead(key: number): void {
    const n = this.node(key);
    this.prev[n] = -1;
    this.next[n] = this.headNode;
    if (this.headNode >= 0) this.prev[this.headNode] = n;
    else this.tailNode = n;
    this.headNode = n;
  }

  /** Adds key as the oldest (it must not be in the list). */
  pushTail(key: number): void {
    const n = this.node(key);
    this.next[n] = -1;
    this.prev[n] = this.tailNode;
    if (this.tailNode >= 0) this.next[this.tailNode] = n;
    else this.headNode = n;
    this.tailNode = n;
  }

  /** Removes key; returns whether it was there. */
  remove(key: number): boolean {
    const n = this.index.get(key);
    if (n < 0) return false;
    this.unlink(n);
    this.index.delete(key);
    this.free.push(n);
    return true;
  }

  /** Removes and returns the oldest key (undefined when empty). */
  popTail(): number | undefined {
    if (this.tailNode < 0) return undefined;
    const key = this.keys[this.tailNode]!;
    this.remove(key);
    return key;
  }

  /** Makes key the newest (it must be in the list). */
  moveToHead(key: number): void {
    const n = this.index.get(key);
    if (n === this.headNode) return;
    this.unlink(n);
    this.prev[n] = -1;
    this.next[n] = this.headNode;
    if (this.headNode >= 0) this.prev[this.headNode] = n;
    else this.tailNode = n;
    this.headNode = n;
  }

  /** Copies up to `max` keys from the tail towards the head into out; returns how many. */
  fromTail(out: Float64Array, max: number): number {
    let n = this.tailNode;
    let i = 0;
    while (n >= 0 && i < max) {
      out[i++] = this.keys[n]!;
      n = this.prev[n]!;
    }
    return i;
  }

  /** Keys from the tail (oldest) to the head (newest). */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let n = this.tailNode; n >= 0; n = this.prev[n]!) yield this.keys[n]!;
  }

  private node(key: number): number {
    let n = this.free.pop();
    if (n === undefined) {
      n = this.used++;
      if (n === this.keys.length) this.grow();
    }
    this.keys[n] = key;
    this.index.set(key, n);
    return n;
  }

  private unlink(n: number): void {
    const p = this.prev[n]!;
    const x = this.next[n]!;
    if (p >= 0) this.next[p] = x;
    else this.headNode = x;
    if (x >= 0) this.prev[x] = p;
    else this.tailNode = p;
  }

  private grow(): void {
    const len = this.keys.length * 2;
    const k = new Float64Array(len);
    k.set(this.keys);
    const p = new Int32Array(len);
    p.set(this.prev);
    const x = new Int32Array(len);
    x.set(this.next);
    this.keys = k;
    this.prev = p;
    this.next = x;
  }
}
