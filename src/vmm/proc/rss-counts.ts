/**
 * The resident-set counters Linux keeps per mm (MM_ANONPAGES, MM_SHMEMPAGES, MM_FILEPAGES,
 * MM_SWAPENTS), counted from the page tables: every present 4 KiB page except the zero pages
 * (Linux maps them without counting them), by what backs it, and every swap entry.
 */
import { scanEntries, entryFrame } from '../../machine/table-scan.js';
import type { RegionRecord } from '../region.js';
import type { ProcSpace } from './proc-state.js';

/** RSS by kind, in 4 KiB pages. */
export interface RssCounts {
  anon: number;
  shmem: number;
  file: number;
  /** Swap entries in the page tables (VmSwap). */
  swap: number;
}

/** The counters of `vm`'s user half. */
export function rssCounts(vm: ProcSpace): RssCounts {
  const out: RssCounts = { anon: 0, shmem: 0, file: 0, swap: 0 };
  const regions = [...vm.regions];
  if (regions.length === 0) return out;
  const ctx = vm.ctx;
  let ri = 0;
  let r: RegionRecord = regions[0]!;
  scanEntries(ctx.frames, vm.pages.root, regions[0]!.start, regions[regions.length - 1]!.end, (la, lo, hi, size) => {
    while (r.end <= la && ri + 1 < regions.length) r = regions[++ri]!;
    if ((lo & 1) === 0) {
      if (la >= r.start && la < r.end) out.swap++;
      return;
    }
    const pfn = entryFrame(lo, hi);
    if (size === 4096) {
      if (la < r.start || ctx.isZeroFrame(pfn)) return;
      const kind = objectPageKind(vm, r, la, pfn);
      if (kind === 'shmem') out.shmem++;
      else if (kind === 'file') out.file++;
      else out.anon++;
      return;
    }
    // A large leaf: the 4 KiB pages of it inside regions (the VMM splits leaves at region edges).
    const base = pfn - (pfn % (size / 4096));
    if (ctx.isZeroFrame(base)) return;
    const s = Math.max(la, r.start);
    const e = Math.min(la + size, r.end);
    if (e > s) out.anon += (e - s) / 4096;
  });
  return out;
}

/**
 * What the page at `la` of region `r` is when it maps its inode's own cache page: 'shmem' (a
 * shared memory object's), 'file' (a regular file's), or undefined (anonymous: a private copy).
 */
export function objectPageKind(vm: ProcSpace, r: RegionRecord, la: number, pfn: number): 'shmem' | 'file' | undefined {
  if (r.backing.type !== 'object') return undefined;
  const obj = vm.ctx.object(r.backing.objectId);
  if (obj === undefined) return r.shared ? 'shmem' : undefined;
  if (!r.shared && obj.pages.get((r.backing.offset + (la - r.start)) / 4096)?.pfn !== pfn) return undefined;
  return obj.kind;
}

/** True when the page at `la` of region `r` maps its inode's own frame (a shmem or file page, not a private copy). */
export function isObjectPage(vm: ProcSpace, r: RegionRecord, la: number, pfn: number): boolean {
  return objectPageKind(vm, r, la, pfn) !== undefined;
}

/** RSS in pages: what VmRSS shows. */
export function rssPages(vm: ProcSpace): number {
  const c = rssCounts(vm);
  return c.anon + c.shmem + c.file;
}

/** Before an unmap lowers total_vm or RSS (Linux's update_hiwater_vm / update_hiwater_rss): the marks take the figures now. */
export function recordHiwater(vm: ProcSpace): void {
  const p = vm.proc;
  const total = vm.regions.bytes / 4096;
  if (total > p.hiwaterVm) p.hiwaterVm = total;
  // The page table's count less its zero-page mappings is RSS exactly (rssPages counts the same by scanning).
  const rss = vm.pages.rss;
  if (rss > p.hiwaterRss) p.hiwaterRss = rss;
}
