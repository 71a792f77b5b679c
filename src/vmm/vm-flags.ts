/**
 * A region's flags, named and numbered as Linux's VM_* constants (include/linux/mm.h), so that
 * what /proc prints (smaps' VmFlags) and what the VMM decides read the same bits. A region
 * record keeps its protection and sharing in their own fields; `RegionRecord.flags` holds the
 * rest (the bits in REGION_FLAGS). `vmFlags` composes the whole vm_flags word as Linux has it.
 */

export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
/** mprotect may add read, write, exec; the mapping may be shared (VM_MAYSHARE is MAP_SHARED itself). */
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
/** The region grows down on a fault below it (the stack, MAP_GROWSDOWN). */
export const VM_GROWSDOWN = 0x100;
/** mlock: its pages are kept resident (and faulted in when locked, unless VM_LOCKONFAULT). */
export const VM_LOCKED = 0x2000;
/** MADV_SEQUENTIAL: read ahead aggressively, drop pages behind (file mappings). */
export const VM_SEQ_READ = 0x8000;
/** MADV_RANDOM: no readahead (file mappings). */
export const VM_RAND_READ = 0x10000;
/** MADV_DONTFORK: a fork child does not get this region. */
export const VM_DONTCOPY = 0x20000;
/** Cannot grow with mremap (special mappings). */
export const VM_DONTEXPAND = 0x40000;
/** mlock2(MLOCK_ONFAULT) / mlockall(MCL_ONFAULT): pages are locked as they are faulted in, not populated now. */
export const VM_LOCKONFAULT = 0x80000;
/** Charged to Committed_AS (private writable memory, the heap, the stack). */
export const VM_ACCOUNT = 0x100000;
/** MAP_NORESERVE: not charged. */
export const VM_NORESERVE = 0x200000;
/** MADV_WIPEONFORK: a fork child gets this region empty (zero-filled). */
export const VM_WIPEONFORK = 0x2000000;
/** MADV_DONTDUMP. */
export const VM_DONTDUMP = 0x4000000;
/** Every page counts as soft-dirty (a new or grown region, until clear_refs 4); /proc's soft-dirty state keeps it, not the record. */
export const VM_SOFTDIRTY = 0x8000000;
/** MADV_HUGEPAGE (or mmap's hugePages): faults map 2 MiB pages where they fit. */
export const VM_HUGEPAGE = 0x20000000;
/** MADV_NOHUGEPAGE: never 2 MiB pages here. */
export const VM_NOHUGEPAGE = 0x40000000;

/** Either lock bit (Linux's VM_LOCKED_MASK). */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** The readahead hints (Linux's VM_RAND_READ | VM_SEQ_READ, cleared together by MADV_NORMAL). */
export const VM_READHINTS = VM_SEQ_READ | VM_RAND_READ;

/** The bits a region record's `flags` field may hold (protection and sharing live in their own fields). */
export const REGION_FLAGS = VM_GROWSDOWN | VM_LOCKED | VM_SEQ_READ | VM_RAND_READ | VM_DONTCOPY | VM_DONTEXPAND | VM_LOCKONFAULT | VM_ACCOUNT | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP | VM_HUGEPAGE | VM_NOHUGEPAGE;

/**
 * The whole vm_flags word of a region, as Linux keeps it: VM_READ/WRITE/EXEC from the
 * protection, VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC (any anonymous or shared memory object mapping
 * may be made so by mprotect), VM_SHARED|VM_MAYSHARE for a shared mapping, and the record's flags.
 */
export function vmFlags(r: { readonly prot: number; readonly shared: boolean; readonly flags: number }): number {
  let f = (r.prot & 7) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | r.flags;
  if (r.shared) f |= VM_SHARED | VM_MAYSHARE;
  return f >>> 0;
}
