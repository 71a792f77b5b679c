/** Linux's overcommit heuristic for one mapping request. */
import { PAGE_SIZE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import type { RegionMap } from './region-map.js';
import { PROT_WRITE } from './pte-attrs.js';
import { VM_NORESERVE } from './vm-flags.js';

/**
 * Overcommit as vm.overcommit_memory = 0 (the default heuristic) decides it: one request for
 * more pages than RAM plus swap is ENOMEM (__vm_enough_memory's OVERCOMMIT_GUESS).
 * Linux charges shared anonymous mappings, private writable ones, mprotect that makes a
 * private mapping writable, and brk.
 */
export function checkOvercommit(totalPages: number, bytes: number, op: string): void {
  const pages = Math.ceil(bytes / PAGE_SIZE);
  if (pages > totalPages) throw new VmmError('ENOMEM', `${op}: ${pages} pages are more than this machine's RAM and swap (${totalPages} pages) could ever back (overcommit heuristic)`);
}

/** mprotect's charge (mprotect_fixup): each private region part that becomes writable is one request. */
export function checkProtectOvercommit(regions: RegionMap, totalPages: number, start: number, end: number, prot: number): void {
  if ((prot & PROT_WRITE) === 0) return;
  for (const r of regions.overlapping(start, end)) {
    if (r.shared || (r.flags & VM_NORESERVE) !== 0 || (r.prot & PROT_WRITE) !== 0) continue;
    checkOvercommit(totalPages, Math.min(end, r.end) - Math.max(start, r.start), 'mprotect');
  }
}
