/** A doubly linked list of page cache pages through their own prev/next links. */
import { LruList, type CachePage } from '../file/cache-page.js';

/**
 * @internal A list of cache pages, newest at the head: a file LRU list (`id`: what its pages'
 * `list` says while on it) or a generation of the multi-generation LRU (no `id`: the
 * generations keep `list` themselves). Exported for snapshots.
 */
export class CachePageList {
  head: CachePage | null = null;
  tail: CachePage | null = null;
  size = 0;

  constructor(readonly id?: LruList) {}

  /** Adds `p` at the head (the newest end). */
  pushHead(p: CachePage): void {
    if (this.id !== undefined) p.list = this.id;
    p.prev = null;
    p.next = this.head;
    if (this.head) this.head.prev = p;
    else this.tail = p;
    this.head = p;
    this.size++;
  }

  /** Adds `p` at the tail (the oldest end, reclaimed first). */
  pushTail(p: CachePage): void {
    if (this.id !== undefined) p.list = this.id;
    p.next = null;
    p.prev = this.tail;
    if (this.tail) this.tail.next = p;
    else this.head = p;
    this.tail = p;
    this.size++;
  }

  /** Takes `p` off the list. */
  unlink(p: CachePage): void {
    if (p.prev) p.prev.next = p.next;
    else this.head = p.next;
    if (p.next) p.next.prev = p.prev;
    else this.tail = p.prev;
    p.prev = p.next = null;
    if (this.id !== undefined) p.list = LruList.NONE;
    this.size--;
  }
}
