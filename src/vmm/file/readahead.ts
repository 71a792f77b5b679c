/**
 * File readahead as mm/readahead.c and mm/filemap.c decide it, for a filesystem with large
 * folios (as ext4 and xfs have them on Linux 6.16 and later; `largeFolios: false` is one whose
 * folios are single pages, where page_cache_ra_order always takes its order-0 fallback):
 * - read(2): page_cache_sync_ra on a miss (the initial window get_init_ra_size, or the window
 *   rebuilt from the cached history before the miss), page_cache_async_ra when a read meets
 *   the page marked PG_readahead (the window moves on and grows, get_next_ra_size);
 * - a page fault: do_sync_mmap_readahead on a miss (read-around: ra_pages centred on the
 *   fault, async tail ra_pages/4; for an executable mapping ra_pages from the fault, bounded by
 *   the mapping, no async tail; nothing once mmap_miss passes MMAP_LOTSAMISS) and
 *   do_async_mmap_readahead on a hit of a marked page.
 * page_cache_ra_order reads the window in naturally aligned folios of the order the stream has
 * reached (0 for a synchronous read, 2 more at each asynchronous step, at most MAX_PAGECACHE_ORDER
 * and ilog2 of the window) and marks the folio holding the first page of the async tail
 * PG_readahead; a page already cached ends that and page_cache_ra_unbounded reads the rest a page
 * at a time. vmsim's frames are pages: a folio here is a naturally aligned run of pages that
 * carry its order, its PG_readahead flag on each of them. The state is struct file_ra_state, one
 * per open file (a File and the mappings made from it share it, as vm_file is the file).
 * Deciding is pure: the page cache is reached through a RaTarget.
 */

/** MMAP_LOTSAMISS: after this many more misses than hits, page faults stop reading around. */
export const MMAP_LOTSAMISS = 100;
/** MAX_PAGECACHE_ORDER on x86-64 (the PMD order): the largest folio readahead makes. */
export const MAX_PAGECACHE_ORDER = 9;

/** struct file_ra_state. */
export class RaState {
  /** Where the last readahead started, its size and its async tail (pages). */
  start = 0;
  size = 0;
  asyncSize = 0;
  /** Byte position after the last read(2) (-1: none yet). */
  prevPos = -1;
  /** Page-fault misses minus hits (do_sync_mmap_readahead / filemap_map_pages). */
  mmapMiss = 0;
  /** The folio order the stream has reached. */
  order = 0;

  constructor(
    /** The largest window in pages (read_ahead_kb / 4); 0 disables readahead. */
    readonly raPages: number,
  ) {}
}

/** What readahead needs of one file's page cache. */
export interface RaTarget {
  /** i_size in bytes. */
  readonly isize: number;
  /** mapping_large_folio_support: readahead makes folios of more than one page. */
  readonly largeFolios: boolean;
  /** A page (not a swap or shadow entry) is cached at `index`. */
  has(index: number): boolean;
  /**
   * Adds folios read from the disk, in order: each of 2^order pages from `index`, PG_readahead
   * when `mark`. Returns how many were added (fewer when frames ran out: the rest are not).
   */
  add(folios: readonly RaFolio[]): number;
}

/** A folio readahead asks for. */
export interface RaFolio {
  readonly index: number;
  readonly order: number;
  readonly mark: boolean;
}

/** -1 stands for ULONG_MAX (page_cache_prev_miss's answer when every page back to 0 is cached). */
const ULONG_MAX = -1;

/** page_cache_prev_miss: the first index at or below `index` not cached, looking at most `maxScan` pages. */
export function prevMiss(t: Pick<RaTarget, 'has'>, index: number, maxScan: number): number {
  let i = index;
  for (let n = 0; n < maxScan; n++) {
    if (n > 0) {
      if (i === 0) return ULONG_MAX; // xas_prev wraps to ULONG_MAX, where nothing is cached
      i--;
    }
    if (!t.has(i)) return i;
  }
  return i;
}

/** page_cache_next_miss: the first index at or above `index` not cached, or index + maxScan when all are. */
export function nextMiss(t: Pick<RaTarget, 'has'>, index: number, maxScan: number): number {
  for (let n = 0; n < maxScan; n++) if (!t.has(index + n)) return index + n;
  return index + maxScan;
}

/** roundup_pow_of_two. */
function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** ffs(n) - 1 for n > 0: the index of the lowest set bit. */
function trailingZeros(n: number): number {
  if (n === 0) return 53;
  let z = 0;
  while (n % 2 === 0) {
    n /= 2;
    z++;
  }
  return z;
}

/** get_init_ra_size: the first window of a stream, from the request size. */
export function initRaSize(size: number, max: number): number {
  const n = roundUpPow2(size);
  if (n <= max / 32) return n * 4;
  if (n <= max / 4) return n * 2;
  return max;
}

/** get_next_ra_size: the next window of a sequential stream (x4 while small, then x2, up to max). */
export function nextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/**
 * page_cache_ra_unbounded: adds the pages of [index, index + nr) not cached yet, marking the
 * page `nr - lookahead` from the start PG_readahead (when it is added here). Returns pages added.
 */
export function raUnbounded(t: RaTarget, index: number, nr: number, lookahead: number): number {
  const mark = lookahead <= nr ? nr - lookahead : -1;
  const plan: RaFolio[] = [];
  for (let i = 0; i < nr; i++) if (!t.has(index + i)) plan.push({ index: index + i, order: 0, mark: i === mark });
  return plan.length === 0 ? 0 : t.add(plan);
}

/** do_page_cache_ra: raUnbounded clamped to the page that holds the file's last byte. */
export function doPageCacheRa(t: RaTarget, index: number, nr: number, lookahead: number): number {
  if (t.isize === 0) return 0;
  const endIndex = Math.floor((t.isize - 1) / 4096);
  if (index > endIndex) return 0;
  if (nr > endIndex - index) nr = endIndex - index + 1;
  return raUnbounded(t, index, nr, lookahead);
}

/** ilog2 (n >= 1). */
function ilog2(n: number): number {
  return Math.floor(Math.log2(n));
}

/**
 * page_cache_ra_order: the window [ra.start, +ra.size) in folios of order up to ra.order (each
 * naturally aligned, none past the end of the file), the one holding the async tail's first page
 * marked; a cached page stops the folios, the rest comes a page at a time. Returns pages added.
 */
export function raOrder(t: RaTarget, ra: RaState): number {
  const start = ra.start;
  if (!t.largeFolios) {
    ra.order = 0;
    return doPageCacheRa(t, start, ra.size, ra.asyncSize);
  }
  if (t.isize === 0) return 0;
  const limit = Math.min(Math.floor((t.isize - 1) / 4096), start + ra.size - 1);
  const mark = start + ra.size - ra.asyncSize;
  const newOrder = Math.max(0, Math.min(MAX_PAGECACHE_ORDER, ra.order, ilog2(ra.size)));
  ra.order = newOrder;
  let index = start;
  const plan: RaFolio[] = [];
  let err = false;
  while (index <= limit) {
    let order = newOrder;
    // Align with smaller folios where needed, and make none past the end of the file.
    if (index % 2 ** order !== 0) order = trailingZeros(index);
    while (order > 0 && index + 2 ** order - 1 > limit) order--;
    const n = 2 ** order;
    let busy = false;
    for (let i = 0; i < n && !busy; i++) busy = t.has(index + i);
    // ra_alloc_folio: filemap_add_folio refuses a range with a cached page (EEXIST).
    if (busy) {
      err = true;
      break;
    }
    plan.push({ index, order, mark: index === mark - (mark % n) });
    index += n;
  }
  // The folios planned go in together; when frames run out (ENOMEM) the rest does not.
  const done = plan.length === 0 ? 0 : t.add(plan);
  let added = 0;
  for (let k = 0; k < done; k++) added += 2 ** plan[k]!.order;
  if (done < plan.length) return added;
  if (!err || ra.size <= index - start) return added;
  return added + doPageCacheRa(t, index, ra.size - (index - start), ra.asyncSize);
}

/** Submits the window (readit). */
function submit(t: RaTarget, ra: RaState): number {
  return raOrder(t, ra);
}

/**
 * page_cache_sync_ra: a read(2) (or VM_SEQ_READ fault) missed at `index` wanting `reqCount`
 * pages. Readahead off: just the page asked for (force_page_cache_ra of one page).
 */
export function syncRa(t: RaTarget, ra: RaState, index: number, reqCount: number): number {
  if (ra.raPages === 0) return doPageCacheRa(t, index, 1, 0);
  const max = ra.raPages; // ractl_max_pages: the device's io_pages are taken to be ra_pages
  const prevIndex = ra.prevPos < 0 ? -1 : Math.floor(ra.prevPos / 4096);
  // Start of file, oversized read, or a sequential miss (index - prev_index is unsigned in C: -1 is huge).
  if (index === 0 || reqCount > max || (prevIndex >= 0 && index - prevIndex <= 1 && index >= prevIndex)) {
    ra.start = index;
    ra.size = initRaSize(reqCount, max);
    ra.asyncSize = ra.size > reqCount ? ra.size - reqCount : ra.size >> 1;
    ra.order = 0;
    return submit(t, ra);
  }
  const miss = prevMiss(t, index - 1, max);
  let contig = index - miss - 1;
  // A standalone small random read: as asked, the state left alone.
  if (contig <= reqCount) return doPageCacheRa(t, index, reqCount, 0);
  // Cached from the start of the file: a long stream.
  if (miss === ULONG_MAX) contig *= 2;
  ra.start = index;
  ra.size = Math.min(contig + reqCount, max);
  ra.asyncSize = 1;
  ra.order = 0;
  return submit(t, ra);
}

/**
 * page_cache_async_ra: a read met page `index` in a folio of `folioPages` pages marked
 * PG_readahead (the caller cleared the mark, as folio_clear_readahead does first). The window
 * moves on and grows.
 */
export function asyncRa(t: RaTarget, ra: RaState, index: number, reqCount: number, folioPages = 1): number {
  if (ra.raPages === 0) return 0;
  const max = ra.raPages;
  const expected = ra.start + ra.size - ra.asyncSize;
  if (index === expected - (expected % folioPages)) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, nextRaSize(ra.size, max));
  } else {
    // A marked page without a valid state (interleaved streams): size the old window from the cache.
    const start = nextMiss(t, index + 1, max);
    if (start === 0 || start - index > max) return 0;
    ra.start = start;
    ra.size = nextRaSize(start - index + reqCount, max);
  }
  // The folios grow by two orders; the window's end is rounded down to that order (at most
  // ffs(max_pages) - 1). Without large folios page_cache_ra_order reset the order to 0: 4 pages.
  ra.order += 2;
  const align = 2 ** Math.min(ra.order, trailingZeros(max));
  const end = ra.start + ra.size;
  const alignedEnd = end - (end % align);
  if (alignedEnd > ra.start) ra.size -= end - alignedEnd;
  ra.asyncSize = ra.size;
  return submit(t, ra);
}

/** The mapping a fault happened in, as readahead sees it. */
export interface FaultRegion {
  /** VM_EXEC: executable (read from the fault on, bounded by the mapping, no async tail). */
  exec: boolean;
  /** The mapping's first file page (vm_pgoff) and its length in pages. */
  pgoff: number;
  pages: number;
}

/** do_sync_mmap_readahead: a page fault found no page at `pgoff`. Returns pages added. */
export function syncMmapRa(t: RaTarget, ra: RaState, pgoff: number, r: FaultRegion): number {
  if (ra.raPages === 0) return 0;
  if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
  // Far more misses than hits: read-around would only hurt.
  if (ra.mmapMiss > MMAP_LOTSAMISS) return 0;
  ra.order = 0;
  if (r.exec) {
    // exec_folio_order() is 0 on x86: from the fault, within the mapping.
    ra.start = Math.max(pgoff, r.pgoff);
    ra.size = Math.min(ra.start + ra.raPages, r.pgoff + r.pages) - ra.start;
    ra.asyncSize = 0;
  } else {
    ra.start = Math.max(0, pgoff - Math.floor(ra.raPages / 2));
    ra.size = ra.raPages;
    ra.asyncSize = Math.floor(ra.raPages / 4);
  }
  return submit(t, ra);
}

/** do_async_mmap_readahead: a page fault found page `pgoff` cached, in a folio of `folioPages` pages; `marked` says it had PG_readahead (the caller clears it). */
export function asyncMmapRa(t: RaTarget, ra: RaState, pgoff: number, marked: boolean, folioPages = 1): number {
  if (ra.raPages === 0) return 0;
  if (ra.mmapMiss > 0) ra.mmapMiss--;
  return marked ? asyncRa(t, ra, pgoff, ra.raPages, folioPages) : 0;
}
