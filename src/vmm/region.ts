/** A region (Linux's VMA): a half-open, page-aligned range with one protection, kind and backing. */

/** What a region is for. */
export type RegionKind = 'code' | 'data' | 'heap' | 'stack' | 'mmap' | 'shared' | 'kernel';

/** Anonymous zero-fill memory, or a shared memory object at a byte offset. */
export type Backing = { readonly type: 'anonymous' } | { readonly type: 'object'; readonly objectId: number; readonly offset: number };

/** A region as users see it. */
export interface Region {
  readonly start: number;
  readonly end: number;
  /** Protection as Linux prints it: 'rw-', 'r-x', '---'. */
  readonly prot: string;
  readonly kind: RegionKind;
  readonly name?: string;
  readonly shared: boolean;
  readonly backing: Backing;
  /** Faults map 2 MiB pages where they fit (mmap's hugePages, like MADV_HUGEPAGE). */
  readonly hugePages?: boolean;
  /** MAP_NORESERVE: not charged by the overcommit heuristic (VM_NORESERVE). */
  readonly noReserve?: boolean;
}

/** The region record the VMM keeps (protection as a bitmask). */
export interface RegionRecord {
  start: number;
  end: number;
  prot: number;
  kind: RegionKind;
  name?: string;
  shared: boolean;
  backing: Backing;
  /**
   * Linux's VM_* bits beyond protection and sharing (vm-flags.ts, REGION_FLAGS): VM_HUGEPAGE
   * (faults map 2 MiB pages where an aligned block fits), VM_NORESERVE, VM_ACCOUNT, VM_LOCKED,
   * VM_GROWSDOWN, VM_DONTCOPY, VM_WIPEONFORK, the readahead hints. Regions merge only with equal flags.
   */
  flags: number;
}

/** Kinds Linux does not tell apart: anonymous memory from mmap, brk or the stack merges when its flags agree (a rw mapping placed inside the heap merges with it). */
const ANON_KINDS: ReadonlySet<RegionKind> = new Set(['mmap', 'heap', 'stack']);

/** True when b starts where a ends and the two can be one region (Linux's is_mergeable_vma + contiguous pgoff). */
export function canMerge(a: RegionRecord, b: RegionRecord): boolean {
  if (a.end !== b.start || a.prot !== b.prot || a.shared !== b.shared || a.name !== b.name || a.flags !== b.flags) return false;
  if (a.kind !== b.kind && !(ANON_KINDS.has(a.kind) && ANON_KINDS.has(b.kind))) return false;
  if (a.backing.type !== b.backing.type) return false;
  if (a.backing.type === 'object' && b.backing.type === 'object') {
    return a.backing.objectId === b.backing.objectId && b.backing.offset === a.backing.offset + (a.end - a.start);
  }
  return true;
}

/**
 * The part [start, end) of a region record (offsets follow the cut), optionally with another
 * protection. Built as one fixed-shape literal, not a spread: mprotect and munmap split and
 * merge records on every call, and V8's object spread cost more than the rest of the call.
 */
export function slice(r: RegionRecord, start: number, end: number, prot = r.prot, flags = r.flags): RegionRecord {
  const backing = r.backing.type === 'object' ? { type: 'object' as const, objectId: r.backing.objectId, offset: r.backing.offset + (start - r.start) } : r.backing;
  return { start, end, prot, kind: r.kind, name: r.name, shared: r.shared, backing, flags };
}
