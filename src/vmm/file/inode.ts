/**
 * An inode and its address_space: the file's size, its page cache (one CachePage per cached
 * page offset, plus the shadow entries evicted pages left for workingset detection), and its
 * reverse map, i_mmap: every mapping of the file as an interval of page offsets in an interval
 * tree, so truncation and reclaim find the page-table entries that map a page without scanning
 * any address space's regions. A regular file keeps its bytes on the simulated disk
 * (RegularFile); a tmpfs file (shmem: POSIX shared memory, MAP_SHARED|MAP_ANONYMOUS) in memory
 * and swap (SharedMemoryObject). An inode lives while it has a name, an open File or a mapping.
 */
import { IntervalTree } from './interval-tree.js';
import { ShadowEntries } from './shadow-entries.js';
import type { CachePage } from './cache-page.js';
import type { FileMapping } from './file-mapping.js';

export type { FileMapping } from './file-mapping.js';

const PAGE = 4096;

/** What every inode tells the machine: that it is gone. */
export interface InodeHost {
  /** The inode has no name, no open file and no mapping left: its pages are to be freed. */
  release(inode: Inode): void;
}

/**
 * An inode with its page cache and reverse map. It is a PageFile (what a cache page names as its
 * file) by shape: an `implements` clause would put that internal type into the public declarations.
 */
export abstract class Inode {
  /** Unique id among the machine's inodes (regions name their backing by it). */
  readonly id: number;
  /** @internal Size in bytes (i_size; changed by writes and truncation). */
  isize: number;
  /** @internal The page cache: cached pages by page offset. */
  readonly pages = new Map<number, CachePage>();
  /** @internal Workingset shadow entries of evicted pages: page offset → the eviction's nonresident age. */
  readonly shadows = new ShadowEntries();
  /** i_mmap: every mapping, by the page offsets it covers. */
  private readonly imap = new IntervalTree<FileMapping>();
  /** The same mappings by address space (for unmapping a range of one space). */
  private readonly bySpace = new Map<object, FileMapping[]>();
  /** @internal Open File handles not closed. */
  openCount = 0;
  /** Has a name (a path, or a /dev/shm name). */
  protected linked: boolean;
  /** @internal The pages were freed: the inode is gone. */
  released = false;

  /** @internal */
  protected readonly host: InodeHost;

  /** @internal */
  constructor(id: number, size: number, linked: boolean, host: InodeHost) {
    this.id = id;
    this.isize = size;
    this.linked = linked;
    this.host = host;
  }

  /** @internal The frame of cached page `index` if it is present (never allocates nor reads). */
  presentFrame(index: number): number | undefined {
    return this.pages.get(index)?.pfn;
  }

  /** Size in bytes (i_size). */
  get size(): number {
    return this.isize;
  }

  /** 'file' (a regular file on the disk) or 'shmem' (tmpfs: memory and swap). */
  abstract readonly kind: 'file' | 'shmem';

  /** True while the name is linked. */
  get isLinked(): boolean {
    return this.linked;
  }

  /** @internal Pages past the end of the file start here (i_size rounded up to a page). */
  get endIndex(): number {
    return Math.ceil(this.size / PAGE);
  }

  /** Number of address spaces that map the inode. */
  get attachments(): number {
    return this.bySpace.size;
  }

  /** @internal Number of mappings (VMA pieces, merged where contiguous). */
  get mappingCount(): number {
    return this.imap.size;
  }

  // ------------------------------------------------------------ the reverse map

  /** @internal [start, end) of `vm` now maps the file from page offset `pgoff` (merged with a contiguous neighbour). */
  mapRange(vm: object, start: number, end: number, pgoff: number, shared: boolean): void {
    let list = this.bySpace.get(vm);
    if (!list) this.bySpace.set(vm, (list = []));
    let m: FileMapping = { vm, start, end, pgoff, shared };
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      if (o.shared !== shared) continue;
      if (o.end === m.start && o.pgoff + (o.end - o.start) / PAGE === m.pgoff) m = { vm, start: o.start, end: m.end, pgoff: o.pgoff, shared };
      else if (m.end === o.start && m.pgoff + (m.end - m.start) / PAGE === o.pgoff) m = { vm, start: m.start, end: o.end, pgoff: m.pgoff, shared };
      else continue;
      this.imap.remove(o);
      list.splice(i, 1);
      i = -1; // look again: the grown mapping may touch another
    }
    list.push(m);
    this.imap.insert(m.pgoff, m.pgoff + (m.end - m.start) / PAGE - 1, m);
  }

  /** @internal [start, end) of `vm` no longer maps the file; the inode goes when nothing else holds it. */
  unmapRange(vm: object, start: number, end: number): void {
    const list = this.bySpace.get(vm);
    if (!list) return;
    const keep: FileMapping[] = [];
    for (const o of list) {
      if (o.end <= start || o.start >= end) {
        keep.push(o);
        continue;
      }
      this.imap.remove(o);
      if (o.start < start) {
        const m = { vm, start: o.start, end: start, pgoff: o.pgoff, shared: o.shared };
        keep.push(m);
        this.imap.insert(m.pgoff, m.pgoff + (m.end - m.start) / PAGE - 1, m);
      }
      if (o.end > end) {
        const m = { vm, start: end, end: o.end, pgoff: o.pgoff + (end - o.start) / PAGE, shared: o.shared };
        keep.push(m);
        this.imap.insert(m.pgoff, m.pgoff + (m.end - m.start) / PAGE - 1, m);
      }
    }
    if (keep.length === 0) this.bySpace.delete(vm);
    else this.bySpace.set(vm, keep);
    this.maybeRelease();
  }

  /** @internal Every mapping `vm` has of the file goes (the space is torn down). */
  unmapSpace(vm: object): void {
    for (const o of this.bySpace.get(vm) ?? []) this.imap.remove(o);
    this.bySpace.delete(vm);
    this.maybeRelease();
  }

  /** @internal fork: `child` maps the file where `parent` does. */
  copyMappings(parent: object, child: object): void {
    for (const o of this.bySpace.get(parent) ?? []) this.mapRange(child, o.start, o.end, o.pgoff, o.shared);
  }

  /** @internal Calls f for each mapping covering any page of [first, last]. */
  mappingsOf(first: number, last: number, f: (m: FileMapping) => void): void {
    this.imap.overlapping(first, last, f);
  }

  /** @internal The mappings of address space `vm`. */
  mappingsIn(vm: object): readonly FileMapping[] {
    return this.bySpace.get(vm) ?? [];
  }

  /** @internal The address spaces mapping the inode (the reverse map, per space). */
  mappedBy(): Iterable<object> {
    return this.spaces();
  }

  /** @internal The address spaces that map the file. */
  spaces(): IterableIterator<object> {
    return this.bySpace.keys();
  }

  /** @internal Checks the interval tree (tests). */
  checkMappings(): void {
    this.imap.check();
    let n = 0;
    for (const list of this.bySpace.values()) n += list.length;
    if (n !== this.imap.size) throw new Error(`inode ${this.id}: ${n} mappings by space, ${this.imap.size} in i_mmap`);
  }

  // ------------------------------------------------------------ life

  /** @internal Removes the name; the inode lives on while it is open or mapped. */
  protected dropName(): void {
    this.linked = false;
    this.maybeRelease();
  }

  /** @internal Frees the inode when no name, open file or mapping holds it. */
  maybeRelease(): void {
    if (this.linked || this.openCount > 0 || this.bySpace.size > 0 || this.released) return;
    this.released = true;
    this.host.release(this);
  }
}
