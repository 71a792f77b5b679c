/** A region (Linux's VMA): a half-open, page-aligned range with one protection, kind and backing. */

/** What a region is for. */
export type RegionKind = 'code' | 'data' | 'heap' | 'stack' | 'mmap' | 'shared' | 'kernel';

import type { File } from './file/file.js';

/**
 * Anonymous zero-fill memory, a shared memory object at a byte offset, or a file of machine.fs
 * at a byte offset. Anonymous memory has an offset too inside the VMM (Linux's vm_pgoff: the
 * address the memory was first mapped at, kept when mremap moves it; absent means the region's
 * own start), which merging compares.
 */
export type Backing = { readonly type: 'anonymous'; readonly offset?: number } | { readonly type: 'object'; readonly objectId: number; readonly offset: number } | { readonly type: 'file'; readonly path: string; readonly offset: number };

/**
 * What backs a region record: anonymous memory, or an inode (a shared memory object or a
 * regular file: `objectId` is its id) from byte `offset`, with the open file it was mapped
 * through (vm_file: its readahead state), when it was mapped from a File.
 */
export type RegionBacking = { readonly type: 'anonymous'; readonly offset?: number } | { readonly type: 'object'; readonly objectId: number; readonly offset: number; readonly file?: File };

/** The offset of a region's first page in what backs it (vm_pgoff in bytes): the object's, or for anonymous memory where it was first mapped. */
export function pgoff(r: { readonly start: number; readonly backing: RegionBacking }): number {
  return r.backing.offset ?? r.start;
}

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
  /**
   * Linux's VM_* bits beyond protection and sharing (vm-flags.ts, REGION_FLAGS): VM_HUGEPAGE
   * (faults map 2 MiB pages where an aligned block fits), VM_NORESERVE, VM_ACCOUNT, VM_LOCKED,
   * VM_GROWSDOWN, VM_DONTCOPY, VM_WIPEONFORK, the readahead hints. Regions merge only with equal flags.
   */
  flags: number;
  /**
   * Linux's anon_vma, which decides what may merge: 0 none (no anonymous page was ever made in
   * the region), a positive id its own, a negative id a fork child's (whose chain also holds the
   * parent's: it merges only with regions of the same anon_vma). Splits keep it, a move keeps it.
   */
  anon: number;
}

/** Kinds Linux does not tell apart: anonymous memory from mmap, brk or the stack merges when its flags agree (a rw mapping placed inside the heap merges with it). */
const ANON_KINDS: ReadonlySet<RegionKind> = new Set(['mmap', 'heap', 'stack']);

/** True when b starts where a ends and the two can be one region (Linux's is_mergeable_vma + is_mergeable_anon_vma + contiguous pgoff). */
export function canMerge(a: RegionRecord, b: RegionRecord): boolean {
  if (a.end !== b.start || a.prot !== b.prot || a.shared !== b.shared || a.name !== b.name || a.flags !== b.flags) return false;
  // Two anon_vmas must be the same one; a region without one joins one that has its own (not a fork child's).
  if (a.anon !== b.anon && (a.anon !== 0 && b.anon !== 0 ? true : a.anon + b.anon < 0)) return false;
  if (a.kind !== b.kind && !(ANON_KINDS.has(a.kind) && ANON_KINDS.has(b.kind))) return false;
  if (a.backing.type !== b.backing.type) return false;
  if (a.backing.type === 'object' && b.backing.type === 'object' && (a.backing.objectId !== b.backing.objectId || a.backing.file !== b.backing.file)) return false;
  return pgoff(b) === pgoff(a) + (a.end - a.start);
}

/**
 * The part [start, end) of a region record (offsets follow the cut), optionally with another
 * protection. Built as one fixed-shape literal, not a spread: mprotect and munmap split and
 * merge records on every call, and V8's object spread cost more than the rest of the call.
 */
export function slice(r: RegionRecord, start: number, end: number, prot = r.prot, flags = r.flags, anon = r.anon): RegionRecord {
  const b = r.backing;
  const backing: RegionBacking = b.type === 'object' ? { type: 'object' as const, objectId: b.objectId, offset: b.offset + (start - r.start), file: b.file } : b.offset === undefined || start === r.start ? b : { type: 'anonymous' as const, offset: b.offset + (start - r.start) };
  return { start, end, prot, kind: r.kind, name: r.name, shared: r.shared, backing, flags, anon };
}

/** The one region two mergeable neighbours become (a first, b after it): the anon_vma of whichever has one. */
export function joined(a: RegionRecord, b: RegionRecord): RegionRecord {
  return slice(a, a.start, b.end, a.prot, a.flags, a.anon !== 0 ? a.anon : b.anon);
}
