/**
 * The page cache of the machine's regular files: each file's cached pages (its inode's map by
 * page offset) share the machine's frames, its file LRU lists and its workingset clock. Pages
 * come in from the disk (filemap_add_folio: a refault of a recently evicted page comes back
 * active), are marked dirty by write(2) and by writes through MAP_SHARED mappings
 * (folio_mark_dirty, with the dirty accounting writeback works from), are written back to the
 * disk, and leave by truncation or eviction (an evicted page leaves a shadow entry). Every
 * allocation is an allocation point where reclaim may run first, as in any other fault.
 */
import { VmmError } from '../../errors.js';
import type { Frames } from '../../machine/frames.js';
import { CachePage, PG } from './cache-page.js';
import { pageDirtied, type RegularFile } from './regular-file.js';
import { FileLru, type FileLists } from '../reclaim/file-lru.js';
import { FileLruGen } from '../reclaim/file-lru-gen.js';
import { Workingset, type LruSizes } from '../reclaim/workingset.js';
import type { RaFolio } from './readahead.js';
import { mkclean } from '../reclaim/rmap.js';
import { flushAll, type Flushed } from '../../machine/tlb-flush.js';
import type { SimClock } from '../sim-clock.js';
import { batchF64 } from '../reclaim/batch-arrays.js';

const PAGE = 4096;

/** /proc/vmstat counters the page cache keeps (pages; pgpgin/pgpgout are reported in KiB). */
export interface PageCacheCounters {
  /** Pages read from / written to the disk for files. */
  pagesIn: number;
  pagesOut: number;
  /** nr_dirtied, nr_written: pages that became dirty, pages written back. */
  nr_dirtied: number;
  nr_written: number;
}

/** Frames of removed pages whose cache references the caller drops later, in one call (Frames.unrefList). */
export interface FrameFrees {
  readonly pfns: Float64Array;
  n: number;
}

/** What the page cache needs of the machine. */
export interface PageCacheContext {
  readonly frames: Frames;
  readonly clock: SimClock;
  /** An allocation point: reclaim may run before frames are taken. */
  beforeAllocate(): void;
  /** The anonymous LRU sizes and free swap (the workingset a refault competes with). */
  anonSizes(): { activeAnon: number; inactiveAnon: number; swapFree: number };
  /** lru_note_cost for file pages (a refault restored the workingset). */
  noteFileCost(nrIo: number, nrRotated: number): void;
  /** The multi-generation LRU (vm.lruGen) instead of the active and inactive lists. */
  readonly lruGen?: boolean;
}

/** The page cache of regular files. */
export class PageCache {
  readonly lru: FileLists;
  readonly workingset = new Workingset();
  readonly counters: PageCacheCounters = { pagesIn: 0, pagesOut: 0, nr_dirtied: 0, nr_written: 0 };
  /** Cached pages of regular files (NR_FILE_PAGES without shmem and the swap cache). */
  nrPages = 0;
  /** Dirty pages (NR_FILE_DIRTY). */
  nrDirty = 0;
  /** Dirty files, in the order they became dirty (the flusher's b_dirty list). */
  readonly dirtyFiles = new Set<RegularFile>();
  /** Called when a file goes from clean to dirty (the flusher schedules its wake-up). */
  onFirstDirty: () => void = () => {};

  constructor(private ctx: PageCacheContext) {
    this.lru = ctx.lruGen ? new FileLruGen() : new FileLru();
    this.wire();
  }

  /** lru_note_cost_refault for a restored page (made once: a refault per page read in under pressure). */
  private noteRefaultCost!: () => void;

  /** The LRU lists a refault distance is compared with (the anonymous part read only when needed). */
  private lruSizes!: LruSizes;

  /** The closures that point at this cache: the LRU's activation hook, the sizes a refault is compared with, its cost note. */
  private wire(): void {
    if (this.lru instanceof FileLru) this.lru.onActivate = () => this.workingset.activation();
    this.lruSizes = { activeFile: () => this.lru.activeSize, anon: () => this.ctx.anonSizes() };
    this.noteRefaultCost = () => this.ctx.noteFileCost(1, 0);
  }

  /** @internal A restored machine (src/snapshot): its context, and closures that point at the restored cache. */
  rewire(ctx: PageCacheContext): void {
    this.ctx = ctx;
    this.wire();
  }

  /**
   * filemap_add_folio for a list of folios (readahead's): each of 2^order pages from `index` of
   * `f`, cached in fresh frames read from the disk (a hole reads zeros without I/O) unless
   * `fresh` (a write about to cover it), PG_readahead when `mark`. Reclaim may run first, once;
   * the frames come in one allocation, or folio by folio when not all can be had. Returns how
   * many folios were added, in order.
   */
  addFolios(f: RegularFile, folios: readonly RaFolio[], fresh = false): number {
    this.ctx.beforeAllocate();
    let total = 0;
    for (const x of folios) total += 2 ** x.order;
    const pfns = batchF64(total);
    let k = 0;
    let done = 0;
    if (this.ctx.frames.allocList(pfns, total)) {
      for (const x of folios) {
        this.insert(f, x, pfns, k, fresh);
        k += 2 ** x.order;
        done++;
      }
      return done;
    }
    for (const x of folios) {
      const n = 2 ** x.order;
      if (!this.ctx.frames.allocList(pfns, n)) break;
      this.insert(f, x, pfns, 0, fresh);
      done++;
    }
    return done;
  }

  /** Caches folio `x` of `f` in frames pfns[at, at + 2^order). */
  private insert(f: RegularFile, x: RaFolio, pfns: Float64Array, at: number, fresh: boolean): void {
    const fr = this.ctx.frames;
    const n = 2 ** x.order;
    for (let k = 0; k < n; k++) {
      const i = x.index + k;
      const pfn = pfns[at + k]!;
      // The frame's view is asked for only when there are bytes to copy (a view is a core call the first time).
      const block = fresh ? undefined : f.disk.block(i);
      if (block !== undefined) {
        fr.view(pfn).set(block, fr.offset(pfn));
        fr.noteWritten(pfn, 1);
        this.counters.pagesIn++;
      }
      const p = new CachePage(f, i, pfn, x.order);
      if (x.mark) p.flags |= PG.READAHEAD;
      if (f.shadows.size !== 0) {
        const shadow = f.shadows.get(i);
        if (shadow !== undefined) {
          f.shadows.delete(i);
          if (this.lru.gen) this.lru.refault(p, shadow, this.workingset.counters);
          else this.workingset.refaultFile(p, shadow, this.lruSizes, this.noteRefaultCost);
        }
      }
      f.pages.set(i, p);
      this.nrPages++;
      this.lru.add(p);
    }
  }

  /** filemap_add_folio of one folio (see addFolios): its first page, or undefined when no frames can be had. */
  addFolio(f: RegularFile, index: number, order: number, mark: boolean, fresh = false): CachePage | undefined {
    return this.addFolios(f, [{ index, order, mark }], fresh) === 1 ? f.pages.get(index) : undefined;
  }

  /** filemap_add_folio of one page (see addFolio). */
  add(f: RegularFile, index: number, mark: boolean, fresh = false): CachePage | undefined {
    return this.addFolio(f, index, 0, mark, fresh);
  }

  /** The cached page `index` of `f`, or a fresh one read in; ENOMEM when no frame can be had. */
  get(f: RegularFile, index: number): CachePage {
    const p = f.pages.get(index) ?? this.add(f, index, false);
    if (!p) throw new VmmError('ENOMEM', `page cache: no free frame for page ${index} of ${f.path}`);
    return p;
  }

  /** folio_mark_dirty: the page is newer than the disk (accounted once until written back). */
  markDirty(p: CachePage): void {
    if (p.has(PG.DIRTY)) return;
    p.flags |= PG.DIRTY;
    const f = p.inode as RegularFile;
    f.dirtyPages.add(p);
    pageDirtied(f, p.index);
    if (f.dirtyPages.size === 1) {
      f.dirtiedWhen = this.ctx.clock.now();
      this.dirtyFiles.add(f);
      if (this.dirtyFiles.size === 1) this.onFirstDirty();
    }
    this.nrDirty++;
    this.counters.nr_dirtied++;
  }

  /** The page is no longer dirty (written back, or truncated: cancel_dirty_page). */
  private cleaned(p: CachePage): void {
    if (!p.has(PG.DIRTY)) return;
    p.flags &= ~PG.DIRTY;
    const f = p.inode as RegularFile;
    f.dirtyPages.delete(p);
    if (f.dirtyPages.size === 0) this.dirtyFiles.delete(f);
    this.nrDirty--;
  }

  /**
   * Writes dirty pages back to the disk: their mappings are write-protected and cleaned first
   * (folio_mkclean, so a later write faults and dirties the page again), then each page's bytes
   * go to its block. A page reclaim met dirty (PG_reclaim) rotates to the inactive tail.
   */
  writePages(pages: readonly CachePage[]): void {
    const dirty = pages.filter((p) => p.has(PG.DIRTY));
    if (dirty.length === 0) return;
    flushAll(mkclean(dirty));
    const fr = this.ctx.frames;
    for (const p of dirty) {
      const f = p.inode as RegularFile;
      // The bytes past the end of the file are not written (block_write_full_folio zeroes them).
      f.disk.write(p.index, fr.view(p.pfn), fr.offset(p.pfn));
      if ((p.index + 1) * PAGE > f.size) f.disk.truncate(f.size);
      this.cleaned(p);
      this.counters.pagesOut++;
      this.counters.nr_written++;
      if (p.has(PG.RECLAIM)) this.lru.rotateToTail(p);
    }
  }

  /**
   * Takes page `p` out of its file's cache and frees the cache's reference on its frame (its
   * mappings are gone already). `shadow`: an eviction, which leaves a workingset shadow entry.
   */
  remove(p: CachePage, shadow: boolean, _flushed: Flushed, frees?: FrameFrees): void {
    const f = p.inode as RegularFile;
    this.cleaned(p);
    this.lru.remove(p);
    f.pages.delete(p.index);
    this.nrPages--;
    if (shadow) f.shadows.set(p.index, this.lru.gen ? this.lru.eviction(p) : this.workingset.eviction(p));
    if (frees) frees.pfns[frees.n++] = p.pfn;
    else this.ctx.frames.unref(p.pfn);
  }

  /** remove (no shadow entries) of every page of `pages` (truncation, a hole, a file gone): the frames let go in one call. */
  removeList(pages: readonly CachePage[], proof: Flushed): void {
    const frees: FrameFrees = { pfns: new Float64Array(pages.length), n: 0 };
    try {
      for (const p of pages) this.remove(p, false, proof, frees);
    } finally {
      this.ctx.frames.unrefList(frees.pfns, frees.n);
    }
  }

  /** A file is gone: every page and shadow entry of it goes (its mappings went first). */
  release(f: RegularFile): void {
    // Its mappings are gone (an inode is released with none left): nothing for a TLB to hold.
    this.removeList([...f.pages.values()], flushAll([]));
    f.shadows.clear();
    f.disk.clear();
  }

  /** Zeroes bytes [from, to) of cached page `p` (a truncation's partial page, an extension's tail). */
  zero(p: CachePage, from: number, to: number): void {
    const fr = this.ctx.frames;
    fr.view(p.pfn).fill(0, fr.offset(p.pfn) + from, fr.offset(p.pfn) + to);
    fr.noteWritten(p.pfn, 1);
  }
}
