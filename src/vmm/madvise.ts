/**
 * madvise(2) with the advice Linux 6.x implements for memory (mm/madvise.c), and its argument
 * rules: an unknown advice or an unaligned `addr` is EINVAL, a range that wraps around the
 * address space is EINVAL, length 0 does nothing; the advice is applied region by region, and a
 * hole in the range is ENOMEM at the end (madvise goes on past holes; MADV_POPULATE_* stops).
 *
 * - Flags (the region is split at the range's edges and merged where it can, as vma_modify;
 *   a split refused by vm.max_map_count is EAGAIN): MADV_NORMAL/RANDOM/SEQUENTIAL (readahead
 *   hints for file mappings), MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK (EINVAL on shared
 *   or object memory), MADV_HUGEPAGE/NOHUGEPAGE, MADV_DONTDUMP/DODUMP.
 * - MADV_DONTNEED (EINVAL on locked memory; MADV_DONTNEED_LOCKED allows it), MADV_FREE (private
 *   anonymous, unlocked: the pages stay, clean, until reclaim drops them or they are written),
 *   MADV_REMOVE (punches a hole in a file or shared memory object: EINVAL when locked or not a
 *   file, EACCES for a private mapping), MADV_WILLNEED (reads swapped pages into the swap cache,
 *   a file's pages into the page cache),
 *   MADV_COLD/PAGEOUT (EINVAL on locked memory), MADV_POPULATE_READ/WRITE (populate.ts),
 *   MADV_COLLAPSE (private anonymous 2 MiB blocks into huge pages).
 */
import { TlbGather } from '../machine/tlb-gather.js';
import { PAGE_SIZE, PageBit, PTE } from '../core/constants.js';
import { VmmError, type ErrnoCode } from '../errors.js';
import { describe } from '../address.js';
import { hex } from '../hex.js';
import { RETRY } from '../machine/fault.js';
import { PFEC } from '../core/constants.js';
import { sizeArg, userAddress } from './syscalls.js';
import { checkMapCountForModify } from './map-count.js';
import type { RegionRecord } from './region.js';
import { protIndex } from './pte-attrs.js';
import { populateRange } from './populate.js';
import { VM_DONTCOPY, VM_DONTDUMP, VM_HUGEPAGE, VM_LOCKED, VM_NOHUGEPAGE, VM_RAND_READ, VM_SEQ_READ, VM_WIPEONFORK } from './vm-flags.js';
import type { VirtualMemory } from './virtual-memory.js';
import { recordHiwater } from './proc/rss-counts.js';
import { RegularFile } from './file/regular-file.js';
import { SharedMemoryObject } from './shared-memory.js';
import type { CachePage } from './file/cache-page.js';
import { punchHole, willNeedFile } from './file/file-io.js';

/** The advice values vmsim implements (Linux's numbers). */
export const MADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  FREE: 8,
  REMOVE: 9,
  DONTFORK: 10,
  DOFORK: 11,
  HUGEPAGE: 14,
  NOHUGEPAGE: 15,
  DONTDUMP: 16,
  DODUMP: 17,
  WIPEONFORK: 18,
  KEEPONFORK: 19,
  COLD: 20,
  PAGEOUT: 21,
  POPULATE_READ: 22,
  POPULATE_WRITE: 23,
  DONTNEED_LOCKED: 24,
  COLLAPSE: 25,
} as const;

/** An advice's name without its MADV_ prefix (a key of MADV). */
export type MadviseAdviceName = keyof typeof MADV;
/** An advice: its name ('MADV_DONTNEED' or 'dontneed') or its number. */
export type MadviseAdvice = `MADV_${MadviseAdviceName}` | Lowercase<MadviseAdviceName> | number;

const HUGE = 2 ** 21;

function adviceOf(v: unknown): MadviseAdviceName {
  if (typeof v === 'number') {
    const k = (Object.keys(MADV) as MadviseAdviceName[]).find((n) => MADV[n] === v);
    if (k) return k;
  } else if (typeof v === 'string') {
    const k = v.toUpperCase().replace(/^MADV_/, '') as MadviseAdviceName;
    if (k in MADV) return k;
  }
  throw new VmmError('EINVAL', `madvise: advice must be one of ${Object.keys(MADV).map((k) => `MADV_${k}`).join(', ')} (or its number), got ${describe(v)}`);
}

/** The new flags an advice gives a region, or undefined when the advice is not a flag change; throws Linux's error for a region it refuses. */
function flagChange(adv: MadviseAdviceName, r: RegionRecord): number | undefined {
  const f = r.flags;
  switch (adv) {
    case 'NORMAL':
      return f & ~(VM_RAND_READ | VM_SEQ_READ);
    case 'SEQUENTIAL':
      return (f & ~VM_RAND_READ) | VM_SEQ_READ;
    case 'RANDOM':
      return (f & ~VM_SEQ_READ) | VM_RAND_READ;
    case 'DONTFORK':
      return f | VM_DONTCOPY;
    case 'DOFORK':
      return f & ~VM_DONTCOPY;
    case 'WIPEONFORK':
      // Only anonymous private memory can be wiped in the child.
      if (r.shared || r.backing.type !== 'anonymous') throw new VmmError('EINVAL', `madvise: MADV_WIPEONFORK needs private anonymous memory; [${hex(r.start)}, ${hex(r.end)}) is ${r.shared ? 'shared' : 'backed by an object'}`);
      return f | VM_WIPEONFORK;
    case 'KEEPONFORK':
      return f & ~VM_WIPEONFORK;
    case 'HUGEPAGE':
      return (f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
    case 'NOHUGEPAGE':
      return (f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
    case 'DONTDUMP':
      return f | VM_DONTDUMP;
    case 'DODUMP':
      return f & ~VM_DONTDUMP;
    default:
      return undefined;
  }
}

/** madvise(2). */
export function madvise(vm: VirtualMemory, addr: unknown, len: unknown, advice: unknown): void {
  const adv = adviceOf(advice);
  const a = userAddress(addr, 'addr');
  const l = sizeArg(len, 'madvise');
  if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `madvise: addr ${hex(a)} is not page-aligned`);
  const end = a + Math.ceil(l / PAGE_SIZE) * PAGE_SIZE;
  if (end >= 2 ** 64) throw new VmmError('EINVAL', `madvise: [${hex(a)}, +${hex(l)}) wraps around the address space`);
  if (end === a) return;
  if (adv === 'POPULATE_READ' || adv === 'POPULATE_WRITE') {
    const err = populateRange(vm, a, end, adv === 'POPULATE_READ' ? 'read' : 'write');
    if (err) throw new VmmError(err.code, `madvise: MADV_${adv}: ${err.message.replace(/^[A-Z]+: /, '')}`);
    return;
  }
  // madvise_walk_vmas: each region in the range, in order; a hole is remembered and reported at the end.
  let at = a;
  let hole: number | undefined;
  let collapse: { done: number; want: number; fail?: ErrnoCode } | undefined;
  while (at < end) {
    const r = vm.regions.find(at) ?? vm.regions.findFirstOverlapping(at, end);
    if (!r) {
      hole ??= at;
      break;
    }
    if (r.start > at) hole ??= at;
    const s = Math.max(r.start, at);
    const e = Math.min(r.end, end);
    at = e;
    const nf = flagChange(adv, r);
    if (nf !== undefined) {
      if (nf !== r.flags) setFlags(vm, s, e, nf, adv);
      continue;
    }
    switch (adv) {
      case 'DONTNEED':
      case 'DONTNEED_LOCKED':
        if (adv === 'DONTNEED' && (r.flags & VM_LOCKED) !== 0) throw new VmmError('EINVAL', `madvise: MADV_DONTNEED on locked memory at ${hex(s)} (MADV_DONTNEED_LOCKED allows it)`);
        vm.zapRange(s, e, r.shared);
        break;
      case 'FREE':
        if ((r.flags & VM_LOCKED) !== 0) throw new VmmError('EINVAL', `madvise: MADV_FREE on locked memory at ${hex(s)}`);
        if (r.shared || r.backing.type !== 'anonymous') throw new VmmError('EINVAL', `madvise: MADV_FREE needs private anonymous memory; [${hex(s)}, ${hex(e)}) is ${r.shared ? 'shared' : 'backed by an object'}`);
        lazyFree(vm, s, e);
        break;
      case 'REMOVE':
        remove(vm, r, s, e);
        break;
      case 'WILLNEED':
        willNeed(vm, r, s, e);
        break;
      case 'COLD':
      case 'PAGEOUT':
        if ((r.flags & VM_LOCKED) !== 0) throw new VmmError('EINVAL', `madvise: MADV_${adv} on locked memory at ${hex(s)}`);
        coldOrPageout(vm, r, s, e, adv);
        break;
      case 'COLLAPSE':
        collapse ??= { done: 0, want: 0 };
        collapseRange(vm, r, s, e, collapse);
        break;
    }
  }
  if (hole !== undefined) throw new VmmError('ENOMEM', `madvise: [${hex(a)}, ${hex(end)}) is not fully mapped (hole at ${hex(hole)})`);
  if (collapse && collapse.done < collapse.want) throw new VmmError(collapse.fail ?? 'EINVAL', `madvise: MADV_COLLAPSE made ${collapse.done} of ${collapse.want} huge pages`);
}

/** madvise_update_vma: the region piece [s, e) takes flags `nf` (split and merged as vma_modify; EAGAIN when vm.max_map_count refuses a split). */
function setFlags(vm: VirtualMemory, s: number, e: number, nf: number, adv: MadviseAdviceName): void {
  const flagsOf = (): number => nf;
  try {
    checkMapCountForModify(vm.regions, vm.ctx.maxMapCount, s, e, undefined, flagsOf, `madvise(MADV_${adv})`);
  } catch (err) {
    if (err instanceof VmmError && err.code === 'ENOMEM') throw new VmmError('EAGAIN', err.message.replace(/^ENOMEM: /, ''));
    throw err;
  }
  vm.regions.modify(s, e, undefined, flagsOf);
}

/**
 * MADV_FREE: the pages lose their dirty and accessed bits and are lazily free — kept, with their contents, until
 * reclaim needs memory (then dropped without a write, reading as zeros after) or a write makes
 * them dirty again. Swapped pages of the range are freed now. Without reclaim (no swap and no
 * resident limit) nothing ever reclaims, so the pages simply stay.
 */
function lazyFree(vm: VirtualMemory, s: number, e: number): void {
  vm.resident?.markLazyFree(s, e);
  const n = (e - s) / PAGE_SIZE;
  // madvise_free_pte_range: pte_mkold, pte_mkclean; the entries changed in one mmu_gather, flushed once.
  const g = new TlbGather();
  vm.pages.protect(s, n, { setLo: 0, setHi: 0, clearLo: PTE.D | PTE.A, clearHi: 0 }, g);
  vm.pages.finish(g);
}

/**
 * MADV_REMOVE (madvise_remove): frees the backing store of [s, e) — for a shared mapping of a
 * file (a shared memory object or a regular file), a hole punched in it (vfs_fallocate with
 * PUNCH_HOLE): every mapping of those pages loses them (private mappings only the pages not
 * copied on write) and they read as zeros again.
 */
function remove(vm: VirtualMemory, r: RegionRecord, s: number, e: number): void {
  if ((r.flags & VM_LOCKED) !== 0) throw new VmmError('EINVAL', `madvise: MADV_REMOVE on locked memory at ${hex(s)}`);
  if (r.backing.type !== 'object') throw new VmmError('EINVAL', `madvise: MADV_REMOVE needs a file or shared memory object mapping; [${hex(s)}, ${hex(e)}) is anonymous private memory`);
  // vma_is_shared_maywrite: shared, and VM_MAYWRITE (a descriptor open for writing).
  if (!r.shared) throw new VmmError('EACCES', `madvise: MADV_REMOVE needs a shared mapping; [${hex(s)}, ${hex(e)}) maps its file privately`);
  if (r.backing.file?.readOnly) throw new VmmError('EACCES', `madvise: MADV_REMOVE of [${hex(s)}, ${hex(e)}), a mapping of ${r.backing.file.path} opened read-only`);
  const obj = vm.ctx.object(r.backing.objectId);
  if (!obj) return;
  const first = (r.backing.offset + (s - r.start)) / PAGE_SIZE;
  recordHiwater(vm); // the zap updates hiwater_rss first
  punchHole(vm.ctx, obj, first, (e - s) / PAGE_SIZE);
}

/** MADV_WILLNEED: swapped pages of [s, e) are read into the swap cache (anonymous) or back into the object (shared memory); a regular file's pages are read ahead into the page cache. */
function willNeed(vm: VirtualMemory, r: RegionRecord, s: number, e: number): void {
  if (r.backing.type === 'object') {
    const inode = vm.ctx.object(r.backing.objectId);
    const first = (r.backing.offset + (s - r.start)) / PAGE_SIZE;
    if (inode instanceof RegularFile) {
      willNeedFile(vm.ctx, inode, r.backing.file?.ra, first, (e - s) / PAGE_SIZE);
      return;
    }
    const obj = vm.ctx.shmObject(r.backing.objectId);
    const pager = vm.ctx.shmPager;
    if (!obj || !pager) return;
    for (let i = first; i < first + (e - s) / PAGE_SIZE; i++) {
      if (!obj.isSwapped(i)) continue;
      try {
        pager.pageIn(obj, i);
      } catch (err) {
        if (err instanceof VmmError && err.code === 'ENOMEM') return; // best effort, as shmem_swapin_range
        throw err;
      }
    }
    return;
  }
  if (!r.shared) vm.resident?.willNeed(s, e);
}

/**
 * MADV_COLD / MADV_PAGEOUT: private anonymous pages (a private file mapping's copies included)
 * are deactivated or evicted through the resident set; a file's pages that only this process
 * maps (madvise_cold_or_pageout_pte_range skips folios mapped elsewhere) through their reclaim:
 * the shared memory pager, or the file LRU.
 */
function coldOrPageout(vm: VirtualMemory, r: RegionRecord, s: number, e: number, adv: 'COLD' | 'PAGEOUT'): void {
  const rs = vm.resident;
  if (r.backing.type === 'object') {
    const inode = vm.ctx.object(r.backing.objectId);
    const first = (r.backing.offset + (s - r.start)) / PAGE_SIZE;
    if (inode instanceof RegularFile) fileColdOrPageout(vm, inode, s, e, first, adv);
    else if (inode instanceof SharedMemoryObject && vm.ctx.shmPager) {
      const count = Math.max(0, Math.min((e - s) / PAGE_SIZE, inode.size / PAGE_SIZE - first));
      if (count > 0) {
        if (adv === 'PAGEOUT') vm.ctx.shmPager.pageOut(inode, first, count, vm);
        else vm.ctx.shmPager.deactivate(inode, first, count, vm);
      }
    } else if (inode instanceof SharedMemoryObject && adv === 'PAGEOUT') {
      // No swap: shrink_folio_list still unmaps the pages only this process maps; a page never written (clean, its
      // entry's Dirty bit clear) is dropped from the object then (it reads as zeros again), a written one stays.
      for (const i of vm.unmapObjectPages(inode.id, first, (e - s) / PAGE_SIZE, true)) inode.punchHole(i, 1);
    }
    // A private mapping's copies are anonymous pages of this process.
    if (rs && !r.shared) anonColdOrPageout(vm, rs, s, e, adv);
  } else if (rs && !r.shared) anonColdOrPageout(vm, rs, s, e, adv);
}

/** MADV_COLD / MADV_PAGEOUT of the anonymous pages `rs` tracks in [s, e). */
function anonColdOrPageout(vm: VirtualMemory, rs: NonNullable<VirtualMemory['resident']>, s: number, e: number, adv: 'COLD' | 'PAGEOUT'): void {
  const vpns = rs.trackedIn(s, e);
  if (adv === 'COLD') {
    const las = Float64Array.from(vpns, (v) => v * PAGE_SIZE);
    // madvise_cold_or_pageout_pte_range: the young entries made old, their span flushed once (tlb_finish_mmu).
    if (vm.pages.clearAccessedList(las, las.length) > 0) vm.pages.flushPages(las, las.length);
    for (const v of vpns) rs.policy.deactivate?.(v);
  } else rs.evictPages(vpns);
}

/**
 * MADV_COLD / MADV_PAGEOUT of a regular file's cache pages mapped in [s, e) by this process
 * alone (the cache's reference and this entry's): COLD makes their entries old and moves them
 * to the inactive list (folio_deactivate), PAGEOUT reclaims them (reclaim_pages: clean ones are
 * dropped, dirty ones left to the flusher).
 */
function fileColdOrPageout(vm: VirtualMemory, f: RegularFile, s: number, e: number, first: number, adv: 'COLD' | 'PAGEOUT'): void {
  const n = (e - s) / PAGE_SIZE;
  const las = Float64Array.from({ length: n }, (_, i) => s + i * PAGE_SIZE);
  const bits = new Uint8Array(n);
  const frames = new Float64Array(n);
  vm.pages.pageBits(las, n, bits, frames);
  const pages: CachePage[] = [];
  const mine: number[] = [];
  for (let i = 0; i < n; i++) {
    if ((bits[i]! & PageBit.PRESENT) === 0) continue;
    const p = f.pages.get(first + i);
    if (!p || p.pfn !== frames[i] || vm.pages.refCount(frames[i]!) > 2) continue;
    pages.push(p);
    mine.push(las[i]!);
  }
  if (pages.length === 0) return;
  if (adv === 'PAGEOUT') {
    vm.ctx.fileReclaim?.pageOut(pages);
    return;
  }
  const old = Float64Array.from(mine);
  if (vm.pages.clearAccessedList(old, old.length) > 0) vm.pages.flushPages(old, old.length);
  for (const p of pages) vm.ctx.pageCache.lru.deactivateCold(p); // folio_deactivate
}

/**
 * MADV_COLLAPSE (madvise_collapse, khugepaged's collapse on demand) of the 2 MiB blocks that
 * lie wholly in [s, e) of a private anonymous region: a block already mapped by a huge page
 * counts as done; a block with at least one present writable page and no page shared with
 * another process becomes one fresh 2 MiB page holding the same bytes (missing and zero pages
 * read as zeros); one with no writable page (none mapped, or only the zero page) fails with
 * EINVAL, a COW-shared page with EAGAIN, no free 2 MiB of RAM with ENOMEM. Swapped pages are
 * faulted back first. The call fails with the last block's error unless every block was done.
 */
function collapseRange(vm: VirtualMemory, r: RegionRecord, s: number, e: number, out: { done: number; want: number; fail?: ErrnoCode }): void {
  // thp_vma_allowable_order: the region must be able to hold an aligned 2 MiB page at all, and allow THP.
  if (r.shared || r.backing.type !== 'anonymous' || (r.flags & VM_NOHUGEPAGE) !== 0 || Math.floor((r.end - HUGE) / HUGE) * HUGE < r.start) {
    throw new VmmError('EINVAL', `madvise: MADV_COLLAPSE: [${hex(r.start)}, ${hex(r.end)}) cannot hold a huge page (${r.shared || r.backing.type !== 'anonymous' ? 'not private anonymous memory' : (r.flags & VM_NOHUGEPAGE) !== 0 ? 'MADV_NOHUGEPAGE' : 'too small for an aligned 2 MiB block'})`);
  }
  const first = Math.ceil(s / HUGE) * HUGE;
  const last = Math.floor(e / HUGE) * HUGE;
  // A range that holds no whole aligned block collapses nothing and succeeds (hstart/hend round inward).
  if (last <= first) return;
  out.want += (last - first) / HUGE;
  for (let b = first; b < last; b += HUGE) {
    const err = collapseBlock(vm, r, b);
    if (err) out.fail = err;
    else out.done++;
  }
}

function collapseBlock(vm: VirtualMemory, r: RegionRecord, block: number): ErrnoCode | undefined {
  const n = HUGE / PAGE_SIZE;
  const las = new Float64Array(n);
  for (let i = 0; i < n; i++) las[i] = block + i * PAGE_SIZE;
  const bits = new Uint8Array(n);
  const frames = new Float64Array(n);
  vm.pages.pageBits(las, n, bits, frames);
  if ((bits[0]! & PageBit.LARGE) !== 0 && (bits[0]! & PageBit.PRESENT) !== 0) return undefined; // SCAN_PMD_MAPPED: a huge page (or the huge zero page) already
  // Swapped pages come back first (__collapse_huge_page_swapin).
  let swapped = false;
  for (let i = 0; i < n; i++) {
    if ((bits[i]! & PageBit.SWAP) === 0) continue;
    swapped = true;
    const la = las[i]!;
    if (vm.handleFault({ la, address: la, errorCode: PFEC.U, kind: 0, access: 'read', user: true }) !== RETRY) return 'ENOMEM';
  }
  if (swapped) vm.pages.pageBits(las, n, bits, frames);
  let writable = false;
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    if ((b & PageBit.PRESENT) === 0 || vm.ctx.isZeroFrame(frames[i]!)) continue;
    if ((b & PageBit.SHARED) !== 0) return 'EAGAIN'; // SCAN_PAGE_COUNT: another process maps it
    if ((b & PageBit.WRITABLE) !== 0) writable = true;
  }
  if (!writable) return 'EINVAL'; // SCAN_PMD_NULL / SCAN_PAGE_RO
  const fr = vm.ctx.frames;
  const run = fr.allocRun(n, n);
  if (run < 0) return 'ENOMEM';
  for (let i = 0; i < n; i++) if ((bits[i]! & PageBit.PRESENT) !== 0 && !vm.ctx.isZeroFrame(frames[i]!)) fr.copy(run + i, frames[i]!);
  vm.pages.zeroPages -= vm.zeroPagesIn(block, block + HUGE);
  vm.pages.unmap(block, n);
  vm.pages.invalidate(block, n);
  const pp = vm.ctx.protectionMap[protIndex(r.prot, r.shared)]!;
  // Cannot fail: the page directory that held the block's table is there, a 2 MiB leaf needs nothing else.
  vm.pages.mapFrames(block, run, 1, pp.writableDirty, HUGE);
  for (let i = 0; i < n; i++) fr.unref(run + i); // the leaf holds the references now
  vm.resident?.trackCollapsed(block / PAGE_SIZE);
  return undefined;
}
