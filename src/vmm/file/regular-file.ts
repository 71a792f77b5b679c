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
  /** The offsets writeback goes through next, ascending (rebuilt when used up: range_cyclic's wrap). */
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

/** The next dirty page of `f` for writeback, in offset order from where the last pass stopped; undefined when none is dirty. */
export function nextDirtyPage(f: RegularFile): CachePage | undefined {
  if (f.dirtyPages.size === 0) return undefined;
  for (let pass = 0; pass < 2; pass++) {
    while (f.writebackPos < f.writebackQueue.length) {
      const p = f.pages.get(f.writebackQueue[f.writebackPos++]!);
      if (p && f.dirtyPages.has(p)) return p;
    }
    f.writebackQueue = [...f.dirtyPages].map((p) => p.index).sort((a, b) => a - b);
    f.writebackPos = 0;
  }
  return undefined;
}
