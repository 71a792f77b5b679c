/**
 * smaps' VmFlags line: a region's vm_flags word (Linux's VM_* bits, include/linux/mm.h) and the
 * two-letter mnemonics show_smap_vma_flags() prints for it, in bit order.
 */
import type { RegionRecord } from '../region.js';
import { PROT_WRITE } from '../pte-attrs.js';

// Linux's bit values (the proc branch's src/vmm/vm-flags.ts defines the same constants for region records).
const VM_SHARED = 0x8;
const VM_MAYREAD = 0x10;
const VM_MAYWRITE = 0x20;
const VM_MAYEXEC = 0x40;
const VM_MAYSHARE = 0x80;
/** The region grows down (the stack): VM_GROWSDOWN, which is x86's VM_STACK. */
export const VM_GROWSDOWN = 0x100;
/** mlock. */
export const VM_LOCKED = 0x2000;
/** Private writable memory charged to the commit limit. */
export const VM_ACCOUNT = 0x100000;
const VM_NORESERVE = 0x200000;
/** Every page counts as soft-dirty (a new or grown region, until clear_refs 4). */
export const VM_SOFTDIRTY = 0x8000000;
/** MADV_HUGEPAGE. */
export const VM_HUGEPAGE = 0x20000000;

/** Mnemonics by bit number, as show_smap_vma_flags() has them (x86-64; "sd" with CONFIG_MEM_SOFT_DIRTY, which vmsim models). */
const MNEMONICS: Readonly<Record<number, string>> = {
  0: 'rd', 1: 'wr', 2: 'ex', 3: 'sh', 4: 'mr', 5: 'mw', 6: 'me', 7: 'ms', 8: 'gd', 9: 'um', 10: 'pf', 12: 'uw', 13: 'lo',
  14: 'io', 15: 'sr', 16: 'rr', 17: 'dc', 18: 'de', 19: 'lf', 20: 'ac', 21: 'nr', 22: 'ht', 23: 'sf', 24: 'ar', 25: 'wf',
  26: 'dd', 27: 'sd', 28: 'mm', 29: 'hg', 30: 'nh', 31: 'mg',
};

/**
 * The vm_flags of a region from what its record carries today: protection, sharing
 * (VM_SHARED | VM_MAYSHARE: vmsim's shared mappings are of anonymous or /dev/shm memory opened
 * read-write), VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC (every mapping vmsim makes may be
 * mprotected to anything), VM_GROWSDOWN for the stack, VM_HUGEPAGE, VM_NORESERVE, and
 * VM_ACCOUNT for private writable memory without MAP_NORESERVE. Linux keeps VM_ACCOUNT once
 * charged (a region mprotected from rw to r still shows "ac"); a record does not remember
 * that, so it follows the protection now. The one place to feed a record's own flag word.
 */
export function regionVmFlags(r: RegionRecord): number {
  let f = (r.prot & 7) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (r.shared) f |= VM_SHARED | VM_MAYSHARE;
  if (r.kind === 'stack') f |= VM_GROWSDOWN;
  if (r.hugePages) f |= VM_HUGEPAGE;
  if (r.noReserve) f |= VM_NORESERVE;
  else if (!r.shared && (r.prot & PROT_WRITE) !== 0) f |= VM_ACCOUNT;
  return f >>> 0;
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

