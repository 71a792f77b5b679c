/** A region (Linux's VMA): a half-open, page-aligned range with one protection, kind and backing. */

/** What a region is for. */
export type RegionKind = 'code' | 'data' | 'heap' | 'stack' | 'mmap' | 'shared' | 'kernel';

import type { File } from './file/file.js';

/** Anonymous zero-fill memory, a shared memory object at a byte offset, or a file of machine.fs at a byte offset. */
export type Backing = { readonly type: 'anonymous' } | { readonly type: 'object'; readonly objectId: number; readonly offset: number } | { readonly type: 'file'; readonly path: string; readonly offset: number };

/**
 * What backs a region record: anonymous memory, or an inode (a shared memory object or a
 * regular file: `objectId` is its id) from byte `offset`, with the open file it was mapped
 * through (vm_file: its readahead state), when it was mapped from a File.
 */
export type RegionBacking = { readonly type: 'anonymous' } | { readonly type: 'object'; readonly objectId: number; readonly offset: number; readonly file?: File };

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
  backing: RegionBacking;
  /** Private anonymous memory faulted in 2 MiB pages where an aligned block fits (THP, MADV_HUGEPAGE). */
  hugePages?: boolean;
  /** MAP_NORESERVE (VM_NORESERVE): the overcommit heuristic does not charge it, at mmap nor at mprotect. */
  noReserve?: boolean;
}

/** True when b starts where a ends and the two can be one region (Linux's is_mergeable_vma + contiguous pgoff). */
export function canMerge(a: RegionRecord, b: RegionRecord): boolean {
  if (a.end !== b.start || a.prot !== b.prot || a.kind !== b.kind || a.shared !== b.shared || a.name !== b.name || !a.hugePages !== !b.hugePages || !a.noReserve !== !b.noReserve) return false;
  if (a.backing.type !== b.backing.type) return false;
  if (a.backing.type === 'object' && b.backing.type === 'object') {
    return a.backing.objectId === b.backing.objectId && a.backing.file === b.backing.file && b.backing.offset === a.backing.offset + (a.end - a.start);
  }
  return true;
}

/**
 * The part [start, end) of a region record (offsets follow the cut), optionally with another
 * protection. Built as one fixed-shape literal, not a spread: mprotect and munmap split and
 * merge records on every call, and V8's object spread cost more than the rest of the call.
 */
export function slice(r: RegionRecord, start: number, end: number, prot = r.prot): RegionRecord {
  const backing: RegionBacking = r.backing.type === 'object' ? { type: 'object', objectId: r.backing.objectId, offset: r.backing.offset + (start - r.start), file: r.backing.file } : r.backing;
  return { start, end, prot, kind: r.kind, name: r.name, shared: r.shared, backing, hugePages: r.hugePages, noReserve: r.noReserve };
}
