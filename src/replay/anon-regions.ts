/**
 * The 'anon' replay mode's policy, as a VMM fault hook (like stack growth): an access outside
 * every region gets anonymous rwx memory around it, so a trace of any program replays without
 * knowing its memory map. Regions are created per aligned 2 MiB block (clipped to the free
 * gap), not per page: pages inside are still demand-faulted one by one, so faults and pages
 * touched stay exact, while the region count stays small. Adjacent blocks merge into one
 * region as in Linux. An access the hook declines is refused once, where the VMM refuses it.
 */
import { MMAP_MIN_ADDR, TASK_SIZE } from '../vmm/layout.js';
import type { MissingRegionHook } from '../vmm/virtual-memory.js';
import { VM_HUGEPAGE } from '../vmm/vm-flags.js';

const BLOCK = 2 ** 21;
const RWX = 7;

/** The hook: a region covering `la` (48-bit user address), or undefined where none can exist (below mmap_min_addr, above TASK_SIZE). */
export function anonymousRegionHook(hugePages: boolean): MissingRegionHook {
  return (vm, la) => {
    if (la < MMAP_MIN_ADDR || la >= TASK_SIZE) return undefined; // vm.mmap_min_addr: the first pages are never mapped
    let lo = Math.max(MMAP_MIN_ADDR, la - (la % BLOCK));
    let hi = Math.min(TASK_SIZE, la - (la % BLOCK) + BLOCK);
    const regions = vm.regions;
    // Shrink the block to the gap around `la` (regions are sorted and never overlap; none contains la).
    for (let r = regions.findFirstOverlapping(lo, hi); r; r = regions.findFirstOverlapping(lo, hi)) {
      if (r.start <= la) lo = r.end;
      else {
        hi = r.start;
        break;
      }
    }
    vm.addRegion({ start: lo, end: hi, prot: RWX, kind: 'mmap', name: undefined, shared: false, flags: hugePages ? VM_HUGEPAGE : 0 });
    return regions.find(la);
  };
}
