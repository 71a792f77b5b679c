/** Fault and memory statistics of an address space (and, summed, of a machine). */

/** Fault counters, kept exact by the VMM. */
export interface FaultCounters {
  /** Faults resolved without I/O (demand zero, shared-object pages, zero page, COW), as Linux's min_flt. */
  minor: number;
  /** Faults that needed I/O (swap-in); 0 until swapping exists. */
  major: number;
  /** Write faults on copy-on-write pages: cowCopied + cowReused. */
  cow: number;
  /** COW faults resolved by copying the frame. */
  cowCopied: number;
  /** COW faults resolved by making the page writable in place (its frame had one owner left). */
  cowReused: number;
  /** Accesses the VMM refused (SIGSEGV). */
  segv: number;
}

/** Statistics of one address space. */
export interface SpaceStats {
  faults: FaultCounters;
  /** 4 KiB pages mapped in the page tables, zero-page mappings left out (Linux's RSS, VmRSS). */
  residentPages: number;
  /** Resident pages in MAP_SHARED mappings (Linux's RssShmem for shared memory; a shared file's pages, which Linux counts in RssFile, are included). */
  sharedPages: number;
  /** Bytes covered by regions (Linux's VmSize). */
  virtualSize: number;
  /** Number of regions. */
  regions: number;
  /** Pages of locked regions, mapped or not (VmLck: mm->locked_vm). */
  lockedPages: number;
}

/** A zeroed fault-counter record. */
export function newFaultCounters(): FaultCounters {
  return { minor: 0, major: 0, cow: 0, cowCopied: 0, cowReused: 0, segv: 0 };
}
