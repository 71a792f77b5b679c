/**
 * smaps' VmFlags line: a region's vm_flags word (Linux's VM_* bits, include/linux/mm.h) and the
 * two-letter mnemonics show_smap_vma_flags() prints for it, in bit order.
 */
import type { RegionRecord } from '../region.js';
import { PROT_WRITE } from '../pte-attrs.js';
import { VM_SHARED, VM_GROWSDOWN, vmFlags } from '../vm-flags.js';

export { VM_GROWSDOWN, VM_LOCKED, VM_ACCOUNT, VM_SOFTDIRTY, VM_HUGEPAGE } from '../vm-flags.js';

/** Mnemonics by bit number, as show_smap_vma_flags() has them (x86-64; "sd" with CONFIG_MEM_SOFT_DIRTY, which vmsim models). */
const MNEMONICS: Readonly<Record<number, string>> = {
  0: 'rd', 1: 'wr', 2: 'ex', 3: 'sh', 4: 'mr', 5: 'mw', 6: 'me', 7: 'ms', 8: 'gd', 9: 'um', 10: 'pf', 12: 'uw', 13: 'lo',
  14: 'io', 15: 'sr', 16: 'rr', 17: 'dc', 18: 'de', 19: 'lf', 20: 'ac', 21: 'nr', 22: 'ht', 23: 'sf', 24: 'ar', 25: 'wf',
  26: 'dd', 27: 'sd', 28: 'mm', 29: 'hg', 30: 'nh', 31: 'mg',
};

/** The vm_flags of a region (its record's flag word with protection and sharing; see vmFlags), without VM_SOFTDIRTY, which /proc's state adds. */
export function regionVmFlags(r: RegionRecord): number {
  return vmFlags(r);
}

/** True when the flags make a data mapping (counted in VmData): private, writable, not a stack (is_data_mapping). */
export function isDataMapping(flags: number): boolean {
  return (flags & (PROT_WRITE | VM_SHARED | VM_GROWSDOWN)) === PROT_WRITE;
}

/** True when the flags make an executable mapping (counted in VmExe + VmLib): private, executable, not writable, not a stack (is_exec_mapping). */
export function isExecMapping(flags: number): boolean {
  return (flags & (PROT_WRITE | 4 | VM_SHARED | VM_GROWSDOWN)) === 4;
}

/** The VmFlags mnemonics of a vm_flags word, in bit order. */
export function vmFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < 32; b++) if ((flags >>> b) & 1) out.push(MNEMONICS[b] ?? '??');
  return out;
}

/** The "VmFlags: " line as smaps prints it (each mnemonic followed by a space). */
export function formatVmFlags(names: readonly string[]): string {
  let s = 'VmFlags: ';
  for (const n of names) s += n + ' ';
  return s;
}

