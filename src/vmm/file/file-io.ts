/**
 * read(2), write(2), ftruncate(2) and fsync(2) through the page cache, as mm/filemap.c and
 * mm/truncate.c do them for a regular file and mm/shmem.c for a tmpfs one:
 * - filemap_read: batches of cached pages from the read position (a batch ends after a page
 *   marked PG_readahead, which starts the next asynchronous readahead); a miss runs the
 *   synchronous readahead, and a page it could not bring is read on its own; each page read
 *   is marked accessed (the first only when it is not the page the previous read ended in);
 * - generic_perform_write: page by page, the writer first balanced against the dirty limits
 *   (balance_dirty_pages), a page not cached read from the disk first unless the write covers
 *   it or it lies past the end of the file, then dirtied; the file grows to the write's end;
 * - truncate_setsize + truncate_pagecache: every mapping of the pages past the new end is
 *   unmapped, private copies included (unmap_mapping_range with even_cows), then the pages
 *   leave the cache; the tail of a partial last page is zeroed. A file that grows reads zeros
 *   from its old end (the old last page's tail is zeroed, as POSIX requires);
 * - fsync: the file's dirty pages are written back, the caller waiting for the disk.
 * A tmpfs file reads holes as zeros without allocating, allocates pages as it is written
 * (charged to its tmpfs), never writes back, and frees pages and swap entries at truncation.
 */
import { VmmError } from '../../errors.js';
import type { VmmContext } from '../vmm-context.js';
import { SharedMemoryObject } from '../shared-memory.js';
import { PG, clearReadahead, folioPages, type CachePage } from './cache-page.js';
import type { Inode } from './inode.js';
import type { RegularFile } from './regular-file.js';
import { asyncRa, doPageCacheRa, syncRa, type RaState, type RaTarget } from './readahead.js';
import { Rmap, zapFrom } from '../reclaim/rmap.js';
import { flushAll } from '../../machine/tlb-flush.js';

const PAGE = 4096;
/** PAGEVEC_SIZE: the most folios one read batch holds. */
const BATCH = 31;
/** The largest regular file (ext4's s_maxbytes with extents and 4 KiB blocks: 2^32 - 1 blocks). */
export const MAX_FILE_SIZE = (2 ** 32 - 1) * PAGE;
/** The largest tmpfs file (MAX_LFS_FILESIZE, bounded by exact integers). */
export const MAX_SHMEM_SIZE = Number.MAX_SAFE_INTEGER - (Number.MAX_SAFE_INTEGER % PAGE);

/** s_maxbytes of the filesystem an inode is on. */
export function maxFileSize(kind: 'file' | 'shmem'): number {
  return kind === 'file' ? MAX_FILE_SIZE : MAX_SHMEM_SIZE;
}

/** folio_mark_accessed on every page of p's folio (one LRU entry per page here). */
function markFolio(ctx: VmmContext, p: CachePage): void {
  for (const q of folioPages(p)) ctx.pageCache.lru.markAccessed(q);
}

/** The readahead view of a regular file's page cache. */
export function raTarget(ctx: VmmContext, f: RegularFile): RaTarget {
  return (f.raTarget ??= {
    get isize() {
      return f.size;
    },
    largeFolios: true,
    has: (index) => f.pages.has(index),
    add: (folios) => ctx.pageCache.addFolios(f, folios),
  });
}

/**
 * filemap_get_read_batch: the cached folios from the one holding `index` to the one holding
 * `last` without a gap, ending after a PG_readahead folio (at most PAGEVEC_SIZE folios), as
 * lists of their pages.
 */
function readBatch(f: RegularFile, index: number, last: number): CachePage[][] {
  const out: CachePage[][] = [];
  let i = index;
  while (i <= last && out.length < BATCH) {
    const p = f.pages.get(i);
    if (!p) break;
    const folio = folioPages(p).filter((q) => q.index >= i);
    out.push(folio);
    i = folio[folio.length - 1]!.index + 1;
    if (p.has(PG.READAHEAD)) break;
  }
  return out;
}

/** read(2) of `count` bytes at `pos` (pread): the bytes read, fewer at the end of the file. */
export function readFile(ctx: VmmContext, inode: Inode, ra: RaState, pos: number, count: number): Uint8Array {
  ctx.flusher.catchUp();
  if (inode instanceof SharedMemoryObject) return readShmem(ctx, inode, pos, count);
  const f = inode as RegularFile;
  const end = Math.min(f.size, pos + count);
  if (pos >= end) return new Uint8Array(0);
  const out = new Uint8Array(end - pos);
  const target = raTarget(ctx, f);
  const fr = ctx.frames;
  let at = pos;
  let lastPos = ra.prevPos;
  while (at < end) {
    const index = Math.floor(at / PAGE);
    const lastIndex = Math.ceil(end / PAGE);
    let batch = readBatch(f, index, lastIndex - 1);
    if (batch.length === 0) {
      syncRa(target, ra, index, lastIndex - index);
      batch = readBatch(f, index, lastIndex - 1);
    }
    if (batch.length === 0) {
      // filemap_create_folio: readahead brought nothing (off, or no frame for it): this page alone.
      const p = ctx.pageCache.add(f, index, false);
      if (!p) {
        if (at === pos) throw new VmmError('ENOMEM', `read: no free frame for page ${index} of ${f.path}`);
        break;
      }
      batch = [[p]];
    }
    const tail = batch[batch.length - 1]![0]!;
    if (tail.has(PG.READAHEAD)) {
      // filemap_readahead: from the marked folio's first page.
      clearReadahead(tail);
      asyncRa(target, ra, tail.folioIndex, lastIndex - tail.folioIndex, 2 ** tail.order);
    }
    // When a read touches the folio the last one ended in, that folio is not marked again (pos_same_folio).
    const head = batch[0]![0]!;
    const folioBytes = PAGE * 2 ** head.order;
    if (Math.floor(at / folioBytes) !== Math.floor((lastPos - 1) / folioBytes)) markFolio(ctx, head);
    for (let i = 0; i < batch.length && at < end; i++) {
      const folio = batch[i]!;
      if (folio[0]!.index * PAGE >= end) break;
      if (i > 0) markFolio(ctx, folio[0]!);
      for (const p of folio) {
        if (at >= end) break;
        const off = at - p.index * PAGE;
        const n = Math.min(PAGE - off, end - at);
        const base = fr.offset(p.pfn) + off;
        out.set(fr.view(p.pfn).subarray(base, base + n), at - pos);
        at += n;
        lastPos = at;
      }
    }
  }
  ra.prevPos = lastPos;
  ctx.clock.copied(at - pos);
  return at - pos === out.length ? out : out.subarray(0, at - pos);
}

/** shmem_file_read_iter: present pages copied, swapped ones read back, holes read as zeros (nothing allocated). */
function readShmem(ctx: VmmContext, o: SharedMemoryObject, pos: number, count: number): Uint8Array {
  const end = Math.min(o.size, pos + count);
  if (pos >= end) return new Uint8Array(0);
  const out = new Uint8Array(end - pos);
  const fr = ctx.frames;
  for (let at = pos; at < end; ) {
    const index = Math.floor(at / PAGE);
    const off = at - index * PAGE;
    const n = Math.min(PAGE - off, end - at);
    if (o.isSwapped(index)) o.frameOf(index); // shmem_get_folio(SGP_READ) reads it back
    const pfn = o.presentFrame(index);
    if (pfn !== undefined) out.set(fr.view(pfn).subarray(fr.offset(pfn) + off, fr.offset(pfn) + off + n), at - pos);
    at += n;
  }
  ctx.clock.copied(end - pos);
  return out;
}

/** The file grows from `old` to `size` bytes: the old last page's tail reads zeros from now on. */
function zeroTail(ctx: VmmContext, f: Inode, old: number, size: number): void {
  const tail = old % PAGE;
  if (tail === 0 || size <= old) return;
  const index = Math.floor(old / PAGE);
  const to = Math.min(PAGE, size - index * PAGE);
  const p = f.pages.get(index);
  if (p) ctx.pageCache.zero(p, tail, to);
  if (f.kind === 'file') (f as RegularFile).disk.truncate(old);
}

/** write(2) of `data` at `pos` (pwrite); returns bytes written. */
export function writeFile(ctx: VmmContext, inode: Inode, pos: number, data: Uint8Array): number {
  const max = maxFileSize(inode.kind);
  if (pos + data.length > max) throw new VmmError('EFBIG', `write: [${pos}, +${data.length}) is past the largest file size ${max}`);
  if (data.length === 0) return 0;
  ctx.flusher.catchUp();
  const fr = ctx.frames;
  const old = inode.size;
  if (pos > old) zeroTail(ctx, inode, old, pos);
  let at = pos;
  const end = pos + data.length;
  while (at < end) {
    const index = Math.floor(at / PAGE);
    const off = at - index * PAGE;
    const n = Math.min(PAGE - off, end - at);
    let pfn: number;
    let page: CachePage | undefined;
    if (inode instanceof SharedMemoryObject) {
      try {
        pfn = inode.frameOf(index);
      } catch (e) {
        // ENOSPC (/dev/shm full) or ENOMEM: a short write when something was written.
        if (at > pos) break;
        throw e;
      }
    } else {
      const f = inode as RegularFile;
      ctx.flusher.balance();
      page = f.pages.get(index);
      if (!page) {
        // The write covers the page, or nothing of it is in the file yet: no read first.
        const fresh = n === PAGE || index * PAGE >= f.size;
        page = ctx.pageCache.add(f, index, false, fresh);
        if (!page) {
          if (at === pos) throw new VmmError('ENOMEM', `write: no free frame for page ${index} of ${f.path}`);
          break;
        }
      }
      pfn = page.pfn;
    }
    fr.view(pfn).set(data.subarray(at - pos, at - pos + n), fr.offset(pfn) + off);
    fr.noteWritten(pfn, 1);
    at += n;
    if (at > inode.isize) inode.isize = at;
    if (page) ctx.pageCache.markDirty(page);
  }
  ctx.clock.copied(at - pos);
  return at - pos;
}

/** ftruncate(2): the file's size becomes `size`. */
export function truncateFile(ctx: VmmContext, inode: Inode, size: number): void {
  ctx.flusher.catchUp();
  const old = inode.size;
  if (size >= old) {
    zeroTail(ctx, inode, old, size);
    inode.isize = size;
    return;
  }
  inode.isize = size;
  const hole = Math.ceil(size / PAGE);
  const proof = flushAll(zapFrom(inode, hole));
  if (inode instanceof SharedMemoryObject) {
    inode.dropFrom(hole);
  } else {
    const f = inode as RegularFile;
    const gone: CachePage[] = [];
    for (const p of f.pages.values()) if (p.index >= hole) gone.push(p);
    ctx.pageCache.removeList(gone, proof);
    f.shadows.deleteRange(hole, Number.MAX_SAFE_INTEGER);
    f.disk.truncate(size);
  }
  const tail = size % PAGE;
  if (tail !== 0) {
    const p = inode.pages.get(hole - 1);
    if (p) ctx.pageCache.zero(p, tail, PAGE);
  }
}

/** fsync(2): every dirty page of the file is on the disk when it returns. */
export function fsyncFile(ctx: VmmContext, inode: Inode): void {
  if (inode.kind !== 'file') return; // tmpfs: nothing to write
  ctx.flusher.syncRange(inode as RegularFile, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * fallocate(PUNCH_HOLE) of pages [first, first + count) of a file (what MADV_REMOVE does,
 * through vfs_fallocate): truncate_pagecache_range unmaps them from every mapping
 * (unmap_mapping_range with even_cows 0: a private mapping's copies stay), the cached pages go
 * (dirty or not: their bytes are discarded), and the disk blocks (a tmpfs file: its swap
 * entries) go; the range reads as zeros. The size is unchanged (FALLOC_FL_KEEP_SIZE).
 */
export function punchHole(ctx: VmmContext, inode: Inode, first: number, count: number): void {
  // The cached pages of the hole: looked up one by one when the hole is smaller than the cache.
  const pages: CachePage[] = [];
  if (count <= inode.pages.size) {
    for (let i = first; i < first + count; i++) {
      const p = inode.pages.get(i);
      if (p) pages.push(p);
    }
  } else for (const p of inode.pages.values()) if (p.index >= first && p.index < first + count) pages.push(p);
  const pfns = Float64Array.from(pages, (p) => p.pfn);
  const rm = Rmap.ofInodePages(pages, pfns).walk(false, false);
  const proof = flushAll(rm.unmap(new Uint8Array(pages.length).fill(1)));
  if (inode instanceof SharedMemoryObject) {
    inode.punchHole(first, count);
    return;
  }
  const f = inode as RegularFile;
  ctx.pageCache.removeList(pages, proof);
  f.shadows.deleteRange(first, first + count - 1);
  f.disk.punch(first, count);
}

/**
 * force_page_cache_ra (MADV_WILLNEED, fadvise WILLNEED) of pages [first, first + count) of a
 * regular file: the missing pages up to the end of the file are read into the page cache now,
 * in chunks of the readahead window (do_page_cache_ra with no lookahead mark).
 */
export function willNeedFile(ctx: VmmContext, f: RegularFile, ra: RaState | undefined, first: number, count: number): void {
  const chunk = Math.max(ra?.raPages ?? 0, 1);
  const end = Math.min(first + count, f.endIndex);
  for (let i = first; i < end; i += chunk) doPageCacheRa(raTarget(ctx, f), i, Math.min(chunk, end - i), 0);
}

