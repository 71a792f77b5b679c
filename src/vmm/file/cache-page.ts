/**
 * A page of the page cache (Linux's struct folio for an order-0 page cache folio): its frame,
 * its file and offset, the page flags reclaim and writeback use, and its links on an LRU list.
 * The page cache holds one reference on the frame; every page-table entry that maps it holds
 * another, so a page is mapped when its frame has more than one reference.
 */
import type { FileMapping } from './file-mapping.js';

/** A page's file as reclaim and the folio helpers see it (an Inode is the one; named here so that a page does not import its inode). */
export interface PageFile {
  /** Unique id among the machine's inodes. */
  readonly id: number;
  /** A regular file, or a tmpfs file (shmem). */
  readonly kind: 'file' | 'shmem';
  /** The page cache: cached pages by page offset. */
  readonly pages: ReadonlyMap<number, CachePage>;
  /** Number of address spaces that map the file. */
  readonly attachments: number;
  /** Calls f for each mapping covering any page of [first, last]. */
  mappingsOf(first: number, last: number, f: (m: FileMapping) => void): void;
}

/** Page flags (the PG_* bits that matter here). */
export const PG = {
  /** PG_dirty: newer than the disk; written back before it may be dropped. */
  DIRTY: 1,
  /** PG_referenced: used once since the LRU last looked (read(2), or a young PTE seen by reclaim). */
  REFERENCED: 2,
  /** PG_active: on the active list. */
  ACTIVE: 4,
  /** PG_readahead: reaching it starts the next asynchronous readahead. */
  READAHEAD: 8,
  /** PG_workingset: was active before (a refault of it restores the workingset). */
  WORKINGSET: 16,
  /** PG_reclaim: reclaim met it dirty; rotate to the inactive tail once written. */
  RECLAIM: 32,
} as const;

/** Which LRU list a page is on. */
export const enum LruList {
  NONE = 0,
  INACTIVE = 1,
  ACTIVE = 2,
}

/** One page cache page. */
export class CachePage {
  /** PG flags. */
  flags = 0;
  /** The list it is on, and its neighbours there (prev: towards the head, the newest). */
  list: LruList = LruList.NONE;
  prev: CachePage | null = null;
  next: CachePage | null = null;
  /** Under the multi-generation LRU: its generation (-1: none), and its uses through read(2) after PG_referenced (LRU_REFS). */
  seq = -1;
  refs = 0;

  constructor(
    /** Its file. */
    readonly inode: PageFile,
    /** Its page offset in the file. */
    readonly index: number,
    /** The frame holding it. */
    readonly pfn: number,
    /** The order of the folio readahead made it part of (2^order pages, naturally aligned); 0: a folio of its own. */
    readonly order = 0,
  ) {}

  /** The page offset of its folio's first page. */
  get folioIndex(): number {
    const n = 2 ** this.order;
    return this.index - (this.index % n);
  }

  /** True when PG flag `f` is set. */
  has(f: number): boolean {
    return (this.flags & f) !== 0;
  }
}

/** The pages of p's folio still cached (p's neighbours of the same folio). */
export function folioPages(p: CachePage): CachePage[] {
  if (p.order === 0) return [p];
  const out: CachePage[] = [];
  const head = p.folioIndex;
  for (let i = head; i < head + 2 ** p.order; i++) {
    const q = p.inode.pages.get(i);
    if (q && q.order === p.order && q.folioIndex === head) out.push(q);
  }
  return out;
}

/** folio_clear_readahead: the mark goes from every page of p's folio. */
export function clearReadahead(p: CachePage): void {
  for (const q of folioPages(p)) q.flags &= ~PG.READAHEAD;
}
