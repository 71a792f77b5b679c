/**
 * Writing /proc/PID/clear_refs (clear_refs_write in fs/proc/task_mmu.c):
 * 1 clears the Accessed bits of every region's pages, 2 of anonymous regions only, 3 of
 * file-backed ones (in vmsim: those mapping a shared memory object, which Linux backs by a
 * shmem file, shared anonymous memory included); 4 clears soft-dirty: every region loses
 * VM_SOFTDIRTY, every entry its soft-dirty bit and write permission, so the next write faults
 * and marks it again; 5 resets the RSS high-water mark (VmHWM) to the RSS now. One page-table
 * operation per region, then a TLB flush of the space, as the kernel's flush_tlb_mm.
 */
import { PTE } from '../../core/constants.js';
import { VmmError } from '../../errors.js';
import { describe } from '../../address.js';
import { scanEntries } from '../../machine/table-scan.js';
import { decodeSwapEntry } from '../../reclaim/swap-entry.js';
import type { ProcSpace } from './proc-state.js';
import { SOFT_DIRTY } from '../pte-attrs.js';
import { SoftDirty } from './soft-dirty.js';
import { rssPages } from './rss-counts.js';

/** The values clear_refs takes (Linux's enum clear_refs_types). */
export const CLEAR_REFS = { ALL: 1, ANON: 2, MAPPED: 3, SOFT_DIRTY: 4, MM_HIWATER_RSS: 5 } as const;

const WRPROTECT_CLEAN = { setLo: 0, setHi: 0, clearLo: PTE.RW | SOFT_DIRTY, clearHi: 0 };

/** Writes `value` to the space's clear_refs; EINVAL for anything but 1-5, nothing changed. */
export function clearRefs(vm: ProcSpace, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < CLEAR_REFS.ALL || value > CLEAR_REFS.MM_HIWATER_RSS) {
    throw new VmmError('EINVAL', `clearRefs: value must be 1 (all), 2 (anon), 3 (mapped), 4 (soft-dirty) or 5 (mm hiwater rss), got ${describe(value)}`);
  }
  if (value === CLEAR_REFS.MM_HIWATER_RSS) {
    vm.proc.hiwaterRss = rssPages(vm);
    return;
  }
  const regions = [...vm.regions];
  if (value === CLEAR_REFS.SOFT_DIRTY) {
    for (const r of regions) {
      if (!vm.pages.protect(r.start, (r.end - r.start) / 4096, WRPROTECT_CLEAN)) throw new VmmError('ENOMEM', 'clearRefs: out of physical memory splitting a large page (cannot happen: regions end on leaf boundaries)');
    }
    // The swap entries present now are clean (Linux clears their soft-dirty bit too).
    const swapped: [number, number][] = [];
    if (regions.length > 0 && vm.resident !== undefined) {
      scanEntries(vm.ctx.frames, vm.pages.root, regions[0]!.start, regions[regions.length - 1]!.end, (la, lo, hi) => {
        if ((lo & PTE.P) === 0) swapped.push([la / 4096, decodeSwapEntry(lo, hi)]);
      });
    }
    const sd = vm.proc.softDirty ?? (vm.proc.softDirty = new SoftDirty());
    sd.clear(regions, swapped);
  } else {
    for (const r of regions) {
      const file = r.backing.type === 'object';
      if ((value === CLEAR_REFS.ANON && file) || (value === CLEAR_REFS.MAPPED && !file)) continue;
      vm.pages.scanAccessed(r.start, (r.end - r.start) / 4096, true);
    }
  }
  vm.pages.flush();
}
