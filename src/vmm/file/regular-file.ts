/**
 * A regular file of the machine's disk filesystem: its bytes on the simulated disk (sparse
 * blocks), cached page by page in memory, and the dirty state writeback works from: how many of
 * its cached pages are dirty and since when the inode has been dirty (inode->dirtied_when, what
 * dirty_expire_centisecs is measured against).
 */
import { Inode, type InodeHost } from './inode.js';
import { DiskBlocks } from './disk.js';
import type { CachePage } from './cache-page.js';
import type { RaTarget } from './readahead.js';

/** A regular file's inode. */
export class RegularFile extends Inode {
  readonly kind = 'file' as const;
  /** Its blocks on the disk. */
  readonly disk = new DiskBlocks();
  /** Dirty cached pages. */
  get nrDirty(): number {
    return this.dirtyPages.size;
  }
  /** When the inode last went from clean to dirty (simulated ns); meaningful while nrDirty > 0. */
  dirtiedWhen = 0;
  /** Its dirty pages. */
  readonly dirtyPages = new Set<CachePage>();
  /**
   * mapping->writeback_index: the offset the flusher's next pass starts at (range_cyclic). Only
   * a page the flusher writes moves it, to the offset after that page; a pass that finds no
   * dirty page at or after it sets it to 0.
   */
  writebackIndex = 0;
  /**
   * A cache of the dirty-page lookup from writebackIndex (what the kernel asks the xarray's
   * DIRTY tag for): offsets ascending from writebackQueue[writebackPos], holding every dirty
   * offset at or above writebackIndex, and maybe some no longer dirty (skipped when met).
   */
  writebackQueue: number[] = [];
  writebackPos = 0;
  /** Readahead's view of its page cache (made once, by file-io's raTarget). @internal */
  raTarget: RaTarget | undefined;

  constructor(
    id: number,
    /** The path it was created at. */
    readonly path: string,
    size: number,
    host: InodeHost,
  ) {
    super(id, size, true, host);
  }

  /** The name goes (unlink(2)); the file lives on while it is open or mapped. */
  unlinkName(): void {
    this.dropName();
  }
}

/** The first position of `q` at or after `from` whose offset is at least `index` (binary search). */
function lowerBound(q: readonly number[], from: number, index: number): number {
  let lo = from;
  let hi = q.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (q[mid]! < index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The next dirty page of `f` for the flusher: the first at or after its writeback_index, else
 * (range_cyclic's wrap: writeback_index goes to 0) the first of the file; undefined when none is
 * dirty. Only a lookup: the page is not taken, so asking again gives it again until it is
 * written (see pageWrittenBack) or cleaned otherwise.
 */
export function nextDirtyPage(f: RegularFile): CachePage | undefined {
  if (f.dirtyPages.size === 0) return undefined;
  for (let pass = 0; pass < 2; pass++) {
    const q = f.writebackQueue;
    while (f.writebackPos < q.length) {
      const p = f.pages.get(q[f.writebackPos]!);
      if (p && f.dirtyPages.has(p)) return p;
      f.writebackPos++; // cleaned (fsync) or truncated since: out of the cache, writeback_index stays
    }
    // The cache is used up: ask the dirty pages themselves, from writeback_index, else from 0.
    const all = [...f.dirtyPages].map((p) => p.index).sort((a, b) => a - b);
    let at = lowerBound(all, 0, f.writebackIndex);
    if (at === all.length) {
      f.writebackIndex = 0;
      at = 0;
    }
    f.writebackQueue = all;
    f.writebackPos = at;
  }
  return undefined;
}

/** The flusher wrote `p` (a page nextDirtyPage gave): writeback_index moves to the offset after it. */
export function pageWrittenBack(f: RegularFile, p: CachePage): void {
  f.writebackIndex = p.index + 1;
  f.writebackPos = lowerBound(f.writebackQueue, f.writebackPos, f.writebackIndex);
}

/**
 * `index` of `f` went dirty: a lookup from writeback_index would find it (the DIRTY tag is live),
 * so an offset at or above writebackIndex joins the cache in order; one below it waits for the wrap.
 */
export function pageDirtied(f: RegularFile, index: number): void {
  const q = f.writebackQueue;
  if (index < f.writebackIndex || f.writebackPos >= q.length) return; // behind, or no cache: the next lookup rebuilds
  const at = lowerBound(q, f.writebackPos, index);
  if (q[at] !== index) q.splice(at, 0, index);
}
