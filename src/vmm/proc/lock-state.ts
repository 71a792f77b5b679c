/**
 * The mlock state /proc reads (smaps' Locked, VmFlags' "lo", status' VmLck), behind one small
 * surface: today the locked ranges of the resident set (mlock exists only under a resident
 * limit, src/vmm/locked-ranges.ts). When regions carry VM_LOCKED, these read the flag instead.
 */
import type { ProcSpace } from './proc-state.js';

/** True when page `vpn` is mlocked. */
export function isLockedPage(vm: ProcSpace, vpn: number): boolean {
  return vm.resident?.isLocked(vpn) ?? false;
}

/** True when every page of [start, end) (addresses) is mlocked (the region would carry VM_LOCKED). */
export function isLockedRange(vm: ProcSpace, start: number, end: number): boolean {
  const rs = vm.resident;
  return rs !== undefined && rs.lockedPagesIn(start, end) === (end - start) / 4096;
}

/** mm->locked_vm: pages of virtual memory under mlock, resident or not (VmLck). */
export function lockedVmPages(vm: ProcSpace): number {
  return vm.resident?.lockedPagesIn(0, 2 ** 47) ?? 0;
}
