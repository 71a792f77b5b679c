/**
 * The file LRU lists of the machine (Linux's LRU_INACTIVE_FILE and LRU_ACTIVE_FILE of the node's
 * lruvec): page cache pages of regular files, newest at the head, reclaim taking from the tail.
 * A new page enters the inactive head (folio_add_lru), or the active head when its refault was
 * recent (workingset_refault set PG_active). folio_mark_accessed is the read(2) path's
 * two-touch rule: a first use sets PG_referenced, a second activates the page.
 */
import { CachePage, LruList, PG } from '../file/cache-page.js';
import type { FileLruGen } from './file-lru-gen.js';
import { CachePageList } from './cache-page-list.js';

/** The inactive and active file lists. */
export class FileLru {
  readonly gen = false as const;
  private readonly inactive = new CachePageList(LruList.INACTIVE);
  private readonly active = new CachePageList(LruList.ACTIVE);
  /** Pages moved to the active list / back to the inactive one (pgactivate, pgdeactivate). */
  pgactivate = 0;
  pgdeactivate = 0;
  /** Pages rotated to the inactive tail when their writeback ended (pgrotated). */
  pgrotated = 0;

  /** @internal Called at each activation by use (workingset_activation ages the nonresident clock; set by the page cache). */
  onActivate: (p: CachePage) => void = () => {};

  /** Pages on the inactive / active list (NR_INACTIVE_FILE, NR_ACTIVE_FILE). */
  get inactiveSize(): number {
    return this.inactive.size;
  }
  get activeSize(): number {
    return this.active.size;
  }

  /** folio_add_lru: a new page, at the head of the list its PG_active says. */
  add(p: CachePage): void {
    if (p.has(PG.ACTIVE)) this.active.pushHead(p);
    else this.inactive.pushHead(p);
  }

  /** The page leaves the LRU (truncation, eviction). */
  remove(p: CachePage): void {
    if (p.list === LruList.ACTIVE) this.active.unlink(p);
    else if (p.list === LruList.INACTIVE) this.inactive.unlink(p);
  }

  /** folio_mark_accessed: referenced first, activated at the second use while inactive. */
  markAccessed(p: CachePage): void {
    if (!p.has(PG.REFERENCED)) {
      p.flags |= PG.REFERENCED;
    } else if (!p.has(PG.ACTIVE) && p.list === LruList.INACTIVE) {
      this.inactive.unlink(p);
      p.flags = (p.flags | PG.ACTIVE) & ~PG.REFERENCED;
      this.active.pushHead(p);
      this.pgactivate++;
      this.onActivate(p);
    }
  }

  /** Moves an inactive page to the active head (reclaim's FOLIOREF_ACTIVATE). */
  activate(p: CachePage): void {
    this.remove(p);
    p.flags |= PG.ACTIVE;
    this.active.pushHead(p);
    this.pgactivate++;
  }

  /** Puts an inactive page back at the inactive head (FOLIOREF_KEEP). */
  keep(p: CachePage): void {
    this.remove(p);
    this.inactive.pushHead(p);
  }

  /** shrink_active_list's deactivation: to the inactive head, PG_active cleared, PG_workingset set. */
  deactivate(p: CachePage): void {
    this.remove(p);
    p.flags = (p.flags & ~PG.ACTIVE) | PG.WORKINGSET;
    this.inactive.pushHead(p);
    this.pgdeactivate++;
  }

  /** Back to the active head (shrink_active_list keeps a referenced executable page active). */
  rotateActive(p: CachePage): void {
    this.remove(p);
    this.active.pushHead(p);
  }

  /** folio_rotate_reclaimable: a PG_reclaim page whose writeback ended goes to the inactive tail. */
  rotateToTail(p: CachePage): void {
    this.remove(p);
    p.flags &= ~(PG.ACTIVE | PG.RECLAIM);
    this.inactive.pushTail(p);
    this.pgrotated++;
  }

  /** folio_deactivate (MADV_COLD, lru_deactivate_fn): to the inactive head, neither active nor referenced. */
  deactivateCold(p: CachePage): void {
    this.remove(p);
    p.flags &= ~(PG.ACTIVE | PG.REFERENCED);
    this.inactive.pushHead(p);
    this.pgdeactivate++;
  }

  /** MADV_COLD / deactivate_file_folio: to the inactive tail, not referenced. */
  coldest(p: CachePage): void {
    this.remove(p);
    p.flags &= ~(PG.ACTIVE | PG.REFERENCED);
    this.inactive.pushTail(p);
  }

  /** Up to n pages from the tail of the inactive (or active) list, oldest first (isolate_lru_folios). */
  fromTail(activeList: boolean, n: number): CachePage[] {
    const out: CachePage[] = [];
    for (let p = (activeList ? this.active : this.inactive).tail; p !== null && out.length < n; p = p.prev) out.push(p);
    return out;
  }

  /** inactive_is_low for the file lists: inactive * inactive_ratio < active, the ratio int_sqrt(10 * GiB of both lists), 1 below 1 GiB. */
  inactiveIsLow(): boolean {
    const inactive = this.inactive.size;
    const active = this.active.size;
    const gb = Math.floor((inactive + active) / 262144);
    const ratio = gb > 0 ? Math.floor(Math.sqrt(10 * gb)) : 1;
    return inactive * ratio < active;
  }

  /** @internal Checks the lists' links and counts (tests): every page once, on the list its flags say. */
  check(): void {
    for (const [list, id] of [
      [this.inactive, LruList.INACTIVE],
      [this.active, LruList.ACTIVE],
    ] as const) {
      let n = 0;
      let prev: CachePage | null = null;
      for (let p = list.head; p !== null; p = p.next) {
        if (p.prev !== prev) throw new Error('file LRU: broken back link');
        if (p.list !== id) throw new Error(`file LRU: page ${p.index} of inode ${p.inode.id} on the wrong list`);
        if ((id === LruList.ACTIVE) !== p.has(PG.ACTIVE)) throw new Error(`file LRU: page ${p.index} PG_active disagrees with its list`);
        prev = p;
        n++;
      }
      if (prev !== list.tail || n !== list.size) throw new Error('file LRU: list count or tail wrong');
    }
  }
}

/** The page cache's LRU: the active and inactive lists, or the multi-generation LRU (vm.lruGen). */
export type FileLists = FileLru | FileLruGen;
