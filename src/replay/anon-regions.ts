/**
 * The 'anon' replay mode's policy: an access outside every region gets anonymous rwx memory
 * around it, so a trace of any program replays without knowing its memory map. Regions are
 * created per aligned 2 MiB block (clipped to the free gap), not per page: pages inside are
 * still demand-faulted one by one, so faults and pages touched stay exact, while the region
 * count (and mmap work) stays small. Adjacent blocks merge into one region as in Linux.
 */
import { VmmError } from '../errors.js';
import type { AddressSpace } from '../machine/address-space.js';
import { MMAP_MIN_ADDR } from '../vmm/layout.js';

const BLOCK = 2 ** 21;

/** Creates an anonymous region covering `la` (48-bit user address); false when none can exist there (kernel half, below mmap_min_addr). */
export function mapAnonymousAround(space: AddressSpace, la: number, hugePages: boolean): boolean {
  if (la < MMAP_MIN_ADDR) return false; // vm.mmap_min_addr: the first pages are never mapped
  let lo = Math.max(MMAP_MIN_ADDR, la - (la % BLOCK));
  let hi = la - (la % BLOCK) + BLOCK;
  const regions = space.vm.regions;
  // Shrink the block to the gap around `la` (regions are sorted and never overlap).
  for (let r = regions.findFirstOverlapping(lo, hi); r; r = regions.findFirstOverlapping(lo, hi)) {
    if (r.start <= la) {
      if (r.end > la) return false; // inside a region: not ours to change
      lo = r.end;
    } else {
      hi = r.start;
      break;
    }
  }
  try {
    space.mmap({ addr: lo, length: hi - lo, prot: 'rwx', fixed: true, noReplace: true, hugePages });
    return true;
  } catch (e) {
    if (e instanceof VmmError) return false;
    throw e;
  }
}
