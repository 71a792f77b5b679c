/**
 * Page faults in file-backed regions (mm/memory.c's do_fault with mm/filemap.c's and
 * mm/shmem.c's vm_operations), for regular files and tmpfs files (shared memory) alike:
 * - a page wholly past the end of the file is SIGBUS (BUS_ADRERR); the tail of the last page
 *   reads zeros;
 * - a read fault first maps the neighbouring pages already cached (do_fault_around over
 *   fault_around_bytes, the window aligned on the page-table index of the address and clamped
 *   to the mapping and to one page table; filemap_map_pages skips pages marked PG_readahead,
 *   pages past the end of the file, and entries not empty); when that mapped the faulting page
 *   the fault is done (a minor fault);
 * - otherwise the page comes from the cache: a regular file's page found there is a minor
 *   fault (do_async_mmap_readahead first: a PG_readahead page starts the next readahead), a
 *   miss is a major fault (do_sync_mmap_readahead reads around it); a tmpfs page is allocated
 *   zeroed on first touch, or read back from swap (a major fault);
 * - a MAP_PRIVATE mapping maps the cache page read-only, copy-on-write (a write fault copies it
 *   at once: do_cow_fault); a MAP_SHARED mapping of a regular file maps it read-only until the
 *   first write (dirty tracking: vma_wants_writenotify), which marks the page dirty
 *   (page_mkwrite) and balances the writer against the dirty limits; a tmpfs file's pages are
 *   mapped writable at once (tmpfs does not account dirty pages).
 * Entries are created young, as x86 Linux's protections carry the Accessed bit.
 */
import { PAGE_SIZE, PageBit, PTE } from '../../core/constants.js';
import { VmmError } from '../../errors.js';
import { hex } from '../../hex.js';
import { RETRY, type FaultOutcome } from '../../machine/fault.js';
import { AGAIN, KILLED, OOM } from '../fault-outcomes.js';
import { memcgOutOfMemory } from '../oom-killer.js';
import type { PageAttrs, PageTable } from '../../machine/page-table.js';
import type { PageProt } from '../pte-attrs.js';
import type { RegionRecord } from '../region.js';
import type { VmmContext } from '../vmm-context.js';
import type { ResidentSet } from '../resident-set.js';
import { SharedMemoryObject } from '../shared-memory.js';
import { faultAroundPages } from '../vm-tunables.js';
import { PG, clearReadahead, type CachePage } from './cache-page.js';
import type { Inode } from './inode.js';
import type { RegularFile } from './regular-file.js';
import { asyncMmapRa, syncMmapRa, type RaState } from './readahead.js';
import { raTarget } from './file-io.js';

/** What the fault path needs of the faulting address space's VMM. */
export interface FileFaultSpace {
  readonly pages: PageTable;
  readonly ctx: VmmContext;
  readonly resident: ResidentSet | undefined;
  /** Resident pages of MAP_SHARED mappings. */
  sharedPages: number;
  /** The space was destroyed meanwhile (the OOM killer took it at an allocation point). */
  readonly dead: boolean;
  /** The region's page attributes (vm_page_prot). */
  pageProt(r: RegionRecord): PageProt;
  /** The attributes a read fault at `la` maps with (write-protected where soft-dirty tracking asks). */
  readProt(r: RegionRecord, la: number): PageProt;
}

/** A fault's result: the outcome, and whether it was major (the page had to be read). */
export interface FileFaultResult {
  outcome: FaultOutcome;
  major: boolean;
}


/** The attributes a read fault at `la` maps a page of region `r` with (young). */
function readAttrs(s: FileFaultSpace, r: RegionRecord, la: number, inode: { readonly kind: 'file' | 'shmem' }): PageAttrs {
  const pp = s.readProt(r, la);
  // tmpfs shared mappings are writable at once; a regular file's are write-protected until the first write (page_mkwrite).
  const a = r.shared ? (inode.kind === 'shmem' ? pp.writable : pp.readOnly) : { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi };
  return { lo: a.lo | PTE.A, hi: a.hi };
}

/** The inode and page offset of `la` in region `r` (undefined inode: the object went). */
function where(s: FileFaultSpace, r: RegionRecord, la: number): { inode: Inode | undefined; pgoff: number } {
  if (r.backing.type !== 'object') return { inode: undefined, pgoff: 0 };
  return { inode: s.ctx.object(r.backing.objectId), pgoff: (r.backing.offset + (la - r.start)) / PAGE_SIZE };
}

/** The readahead state of a regular file's mapping (its vm_file's), or undefined (tmpfs, or mapped by object). */
function raOf(r: RegionRecord): RaState | undefined {
  return r.backing.type === 'object' ? r.backing.file?.ra : undefined;
}

/** A not-present fault at `la` in inode-backed region `r`. */
export function fileFault(s: FileFaultSpace, r: RegionRecord, la: number, write: boolean): FileFaultResult {
  const { inode, pgoff } = where(s, r, la);
  if (!inode) return { outcome: { type: 'sigbus', detail: `region at ${hex(r.start)} lost its file` }, major: false };
  if (pgoff >= inode.endIndex) return { outcome: { type: 'sigbus', detail: `access at ${hex(la)} is beyond the end of ${describeInode(inode)}` }, major: false };
  // Mapped meanwhile (a caller's fault-around, e.g. populate going page by page): finish_fault finds the entry taken.
  if (s.pages.leaf(la)) return { outcome: RETRY, major: false };
  s.ctx.flusher.catchUp();
  // do_read_fault: map what is cached around the address first.
  if (!write && faultAround(s, r, la, pgoff, inode)) return { outcome: RETRY, major: false };
  if (inode instanceof SharedMemoryObject) return shmemFault(s, r, la, pgoff, inode, write);
  return filemapFault(s, r, la, pgoff, inode as RegularFile, write);
}

/** Buffers of one fault-around window (up to a page table's 512 entries). */
const AROUND = { las: new Float64Array(512), bits: new Uint8Array(512), frames: new Float64Array(512), frameList: new Float64Array(512) };

/**
 * do_fault_around + filemap_map_pages: maps the cached pages of the window around `la` whose
 * entries are empty; returns whether the faulting page was among them.
 */
function faultAround(s: FileFaultSpace, r: RegionRecord, la: number, pgoff: number, inode: Inode): boolean {
  const nr = faultAroundPages(s.ctx.tunables.faultAroundBytes);
  if (nr <= 1) return false;
  const pteOff = (la / PAGE_SIZE) % 512;
  const vmaOff = (la - r.start) / PAGE_SIZE;
  const vmaPages = (r.end - r.start) / PAGE_SIZE;
  const from = Math.max(pteOff - (pteOff % nr), pteOff - Math.min(pteOff, vmaOff));
  const to = Math.min(from + nr, 512, pteOff + vmaPages - vmaOff) - 1;
  const first = pgoff + from - pteOff;
  const n = to - from + 1;
  const base = la + (from - pteOff) * PAGE_SIZE;
  // The window is at most one page table (512 entries): module-wide buffers, no allocation per fault.
  const { las, bits, frames, frameList } = AROUND;
  for (let i = 0; i < n; i++) las[i] = base + i * PAGE_SIZE;
  s.pages.pageBits(las, n, bits, frames);
  const end = inode.endIndex;
  const attrs = readAttrs(s, r, la, inode);
  let mappedSelf = false;
  let mapped = 0;
  let notWorkingset = 0;
  // One mapping per run of neighbouring pages to map.
  let runStart = -1;
  const flush = (stop: number): void => {
    if (runStart < 0) return;
    const run = frameList.subarray(runStart, stop);
    if (s.pages.mapFrameList(las[runStart]!, run, attrs)) {
      mapped += stop - runStart;
      if (la >= las[runStart]! && la < las[runStart]! + (stop - runStart) * PAGE_SIZE) mappedSelf = true;
    }
    runStart = -1;
  };
  for (let i = 0; i < n; i++) {
    const index = first + i;
    // pte_none: nothing there, not even a non-present entry (pageBits reports any as SWAP).
    const p = index < end && (bits[i]! & (PageBit.PRESENT | PageBit.SWAP)) === 0 ? inode.pages.get(index) : undefined;
    if (!p || p.has(PG.READAHEAD)) {
      flush(i);
      continue;
    }
    if (!p.has(PG.WORKINGSET)) notWorkingset++;
    frameList[i] = p.pfn;
    if (runStart < 0) runStart = i;
  }
  flush(n);
  if (r.shared) s.sharedPages += mapped;
  const ra = raOf(r);
  // filemap_map_pages: mapped pages count as mmap hits (unless recently evicted workingset pages).
  if (ra) ra.mmapMiss = Math.max(0, ra.mmapMiss - notWorkingset);
  return mappedSelf;
}

/**
 * filemap_fault + finish_fault (or do_cow_fault / do_shared_fault) for a regular file. When it
 * reads (a miss) or starts readahead (a PG_readahead page), filemap_fault drops the mmap lock
 * for the I/O and the fault is retried (VM_FAULT_RETRY): the retry of a read fault maps the
 * pages around it, and the fault counts as major (mm_account_fault: retried means major).
 */
function filemapFault(s: FileFaultSpace, r: RegionRecord, la: number, pgoff: number, f: RegularFile, write: boolean): FileFaultResult {
  const ctx = s.ctx;
  const ra = raOf(r);
  let retried = false;
  let p = f.pages.get(pgoff);
  if (p) {
    if (ra) {
      const marked = p.has(PG.READAHEAD);
      if (marked) clearReadahead(p);
      asyncMmapRa(raTarget(ctx, f), ra, pgoff, marked, 2 ** p.order);
      retried = marked;
    }
  } else {
    // No page in the page cache at all (PGMAJFAULT), with read-around.
    retried = true;
    ctx.reclaim.pgmajfault++;
    // Allocation points (reclaim may run, the OOM killer too): the faulting process may be gone
    // after each, and when the OOM killer ran (user code in onOomKill) the fault is looked at anew.
    const epoch = ctx.reclaimer?.oomKills ?? 0;
    const killed = (): FileFaultResult | undefined => (s.dead ? { outcome: KILLED, major: true } : (ctx.reclaimer?.oomKills ?? 0) !== epoch ? { outcome: AGAIN, major: true } : undefined);
    if (ctx.reclaimer && ctx.reclaimer.beforeAllocate(s.resident) === 'killed') return { outcome: KILLED, major: true };
    let k = killed();
    if (k) return k;
    if (ra) syncMmapRa(raTarget(ctx, f), ra, pgoff, { exec: (r.prot & 4) !== 0, pgoff: (r.backing as { offset: number }).offset / PAGE_SIZE, pages: (r.end - r.start) / PAGE_SIZE });
    if ((k = killed())) return k;
    p = f.pages.get(pgoff) ?? ctx.pageCache.add(f, pgoff, false);
    if ((k = killed())) return k;
    if (!p) return { outcome: OOM, major: true };
  }
  // The retry looks at i_size again (the read may have met a truncation), and maps around a read.
  if (retried) {
    if (pgoff >= f.endIndex) return { outcome: { type: 'sigbus', detail: `access at ${hex(la)} is beyond the end of ${f.path}` }, major: true };
    if (!write && faultAround(s, r, la, pgoff, f)) return { outcome: RETRY, major: true };
  }
  return { outcome: mapCachePage(s, r, la, p, write), major: retried };
}

/** finish_fault for a page cache page: shared (dirtied by a write), or private (copied by a write). */
function mapCachePage(s: FileFaultSpace, r: RegionRecord, la: number, p: CachePage, write: boolean): FaultOutcome {
  const pp = s.pageProt(r);
  if (r.shared) {
    if (write) {
      // do_shared_fault: page_mkwrite dirties the page, then it is mapped writable and dirty.
      s.ctx.pageCache.markDirty(p);
      if (!s.pages.mapFrames(la, p.pfn, 1, pp.writableDirty)) return OOM;
      s.sharedPages++;
      s.ctx.flusher.balance();
      return RETRY;
    }
    if (!s.pages.mapFrames(la, p.pfn, 1, readAttrs(s, r, la, p.inode))) return OOM;
    s.sharedPages++;
    return RETRY;
  }
  // Private: read-only copy-on-write; a write copies it now (do_cow_fault).
  if (write && s.resident && !s.resident.beforeCopy(la / PAGE_SIZE)) return memcgOutOfMemory(s.resident);
  if (!s.pages.mapFrames(la, p.pfn, 1, readAttrs(s, r, la, p.inode))) return OOM;
  return write ? copyOnWrite(s, la, pp) : RETRY;
}

/**
 * The copy of a private mapping's page cache page (mapped read-only at `la`): an anonymous page
 * from now on, charged to the resident set and tracked by its policy (reclaim swaps it).
 */
export function copyOnWrite(s: FileFaultSpace, la: number, pp: PageProt): FaultOutcome {
  if (!s.pages.breakCow(la, pp.writableDirty, false)) {
    s.pages.unmap(la, 1);
    return OOM;
  }
  s.resident?.trackCopy(la / PAGE_SIZE, true);
  return RETRY;
}

/** shmem_fault for a tmpfs file (a shared memory object). */
function shmemFault(s: FileFaultSpace, r: RegionRecord, la: number, pgoff: number, obj: SharedMemoryObject, write: boolean): FileFaultResult {
  let major = false;
  let pfn: number;
  try {
    // An allocation point (a first touch, or a read back from swap): reclaim may run first, as for anonymous memory.
    if (obj.presentFrame(pgoff) === undefined && s.ctx.reclaimer) {
      const room = s.ctx.reclaimer.beforeAllocate(s.resident);
      if (room === 'killed' || s.dead) return { outcome: KILLED, major };
      if (room === 'again') return { outcome: AGAIN, major };
    }
    if (obj.isSwapped(pgoff)) major = s.ctx.shmPager!.pageIn(obj, pgoff) === 'major';
    if (major) s.ctx.reclaim.pgmajfault++;
    pfn = obj.frameOf(pgoff);
  } catch (e) {
    if (e instanceof VmmError && e.code === 'ENOMEM') return { outcome: OOM, major };
    // The tmpfs is full: shmem_fault's ENOSPC is VM_FAULT_SIGBUS.
    if (e instanceof VmmError && e.code === 'ENOSPC') return { outcome: { type: 'sigbus', detail: `access at ${hex(la)}: ${e.message}` }, major };
    throw e;
  }
  const pp = s.pageProt(r);
  if (r.shared) {
    if (!s.pages.mapFrames(la, pfn, 1, write ? pp.writableDirty : readAttrs(s, r, la, obj))) return { outcome: OOM, major };
    s.sharedPages++;
    return { outcome: RETRY, major };
  }
  if (write && s.resident && !s.resident.beforeCopy(la / PAGE_SIZE)) return { outcome: memcgOutOfMemory(s.resident), major };
  if (!s.pages.mapFrames(la, pfn, 1, readAttrs(s, r, la, obj))) return { outcome: OOM, major };
  return { outcome: write ? copyOnWrite(s, la, pp) : RETRY, major };
}

/**
 * A write to a present read-only page of a MAP_SHARED regular-file mapping (do_wp_page →
 * wp_page_shared): page_mkwrite dirties the page, the entry becomes writable and dirty.
 * Returns undefined when the entry does not map the file's cache page (not this case).
 */
export function sharedWriteFault(s: FileFaultSpace, r: RegionRecord, la: number, pfn: number): FaultOutcome | undefined {
  const { inode, pgoff } = where(s, r, la);
  if (!inode || inode.kind !== 'file') return undefined;
  const p = inode.pages.get(pgoff);
  if (!p || p.pfn !== pfn) return undefined;
  s.ctx.flusher.catchUp();
  s.ctx.pageCache.markDirty(p);
  s.pages.protect(la, 1, s.pageProt(r).wpReuse);
  s.pages.invalidate(la, 1);
  s.ctx.flusher.balance();
  return RETRY;
}

/** True when `pfn` is the cache page of the file page `la` maps in region `r` (not a private copy). */
export function isCachePage(s: FileFaultSpace, r: RegionRecord, la: number, pfn: number): boolean {
  const { inode, pgoff } = where(s, r, la);
  return inode?.pages.get(pgoff)?.pfn === pfn;
}

function describeInode(i: Inode): string {
  if (i instanceof SharedMemoryObject) return i.name === '' ? 'shared anonymous memory' : `shared memory ${JSON.stringify(i.name)}`;
  return (i as RegularFile).path;
}
