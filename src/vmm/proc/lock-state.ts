/**
 * The mlock state /proc reads (smaps' Locked, VmFlags' "lo", status' VmLck): regions carry
 * VM_LOCKED (src/vmm/mlock.ts), and the process's locked_vm counts their pages.
 */
import type { ProcSpace } from './proc-state.js';

/** mm->locked_vm: pages of virtual memory under mlock, resident or not (VmLck). */
export function lockedVmPages(vm: ProcSpace): number {
  return vm.lockedVm;
}
