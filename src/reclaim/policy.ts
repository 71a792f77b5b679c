/**
 * The page-replacement policy interface: the plug-in point for users.
 *
 * A policy tracks the resident pages of one reclaim domain (a process with a resident limit,
 * or the machine) by *key* — a number the VMM chooses (a virtual page number, or a frame
 * number); the policy never interprets it. The VMM tells the policy what happens to pages
 * (`insert`, `remove`, and for reference-based policies `reference`), and asks it for
 * victims (`select`). Policies that decide from the hardware's Accessed and Dirty bits read
 * them through {@link AccessBits}, which works on whole lists of keys at once: a policy
 * never makes one call per page to the machine.
 *
 * Protocol (what the VMM guarantees, and what a policy must do):
 * - `insert(key, write)` once when a page becomes resident (after its fault). For
 *   reference-based policies the insert *is* that reference (do not expect `reference` too).
 * - `reference(key, write)` for every later reference to a resident page — only for
 *   policies whose `kind` is `'every-reference'`, and only where vmsim sees every reference
 *   (trace replay and reference strings). A/D-bit policies never get it.
 * - `select(count, bits, out, incoming?)` chooses up to `count` distinct tracked keys,
 *   writes them to `out[0..n)`, forgets them, and returns n (0 only when nothing is tracked).
 *   `incoming` is the page whose fault needs the frame, when there is one (ARC uses it).
 *   Every key returned is evicted: the VMM never tracks pages it could not evict (locked
 *   pages; anonymous pages while the swap device is full).
 * - `remove(key)` when a tracked page leaves without being selected (munmap, MADV_DONTNEED,
 *   mlock — locked pages are never tracked).
 */

import type { OptFuture } from './policies/opt-future.js';

/** Bit 0 of an {@link AccessBits.read} result: the page's Accessed bit. */
export const ACCESSED = 1;
/** Bit 1 of an {@link AccessBits.read} result: the page's Dirty bit. */
export const DIRTY = 2;

/** Bulk access to the Accessed/Dirty bits of pages, as a kernel's rmap walk reads them. */
export interface AccessBits {
  /** For keys[0..count): out[i] = ACCESSED | DIRTY as the page's entries hold them. One bulk read. */
  read(keys: Float64Array, count: number, out: Uint8Array): void;
  /** Clears the Accessed bit of keys[0..count) (as `ptep_test_and_clear_young`). One bulk write. */
  clearAccessed(keys: Float64Array, count: number): void;
}

/** `'ad-bits'`: decides from Accessed/Dirty bits (works everywhere); `'every-reference'`: needs every reference. */
export type PolicyKind = 'ad-bits' | 'every-reference';

/**
 * A page-replacement policy (see the protocol above). Implement this to plug in your own: a
 * plug-in is told of pages (insert, remove, deactivate) once the VMM operation that changed
 * them is complete, and before it is asked for victims; what it throws is reported as an
 * EINVAL naming it (with its error as `cause`) after that operation, which stands. Its
 * callbacks may read memory but not change it: a VMM call from inside them (mmap, munmap,
 * madvise, a page fault, destroy...) is refused with EBUSY.
 */
export interface ReclaimPolicy {
  /** Name shown in results, e.g. 'clock'. */
  readonly name: string;
  /** What the policy decides from. */
  readonly kind: PolicyKind;
  /** Number of keys tracked now. */
  readonly size: number;
  /** A page became resident; `write` says whether the faulting access wrote. */
  insert(key: number, write: boolean): void;
  /** A resident page was referenced (every-reference policies only). */
  reference?(key: number, write: boolean): void;
  /** A tracked page left without being selected. */
  remove(key: number): void;
  /** Optional: MADV_COLD made `key` a preferred victim (its Accessed bit is already clear). */
  deactivate?(key: number): void;
  /** Chooses, forgets and writes to `out` up to `count` victims; returns how many. */
  select(count: number, bits: AccessBits, out: Float64Array, incoming?: number): number;
}

/** The built-in policies by name. */
export type PolicyName = 'fifo' | 'lru' | 'opt' | 'clock' | 'nru' | 'aging' | 'wsclock' | 'lfu' | '2q' | 'arc' | 'linux' | 'mglru' | 'random';

/** Options of the built-in policies (each takes the ones it needs; the others are refused). */
export interface PolicyOptions {
  /** Frames the policy manages (2q and arc size their queues from it; required for them). */
  capacity?: number;
  /** Seed of `random` (default 1). */
  seed?: number;
  /**
   * The whole reference sequence in advance, as keys (required by `opt`): an array (every
   * reference must then follow it exactly), or an OptFuture (see its `match`). replay() fills
   * it in from a first pass over the trace.
   */
  future?: ArrayLike<number> | OptFuture;
  /** Counter width of `aging` in bits (default 8, 1–32). */
  bits?: number;
  /** Working-set window of `wsclock`, in virtual-time ticks (faults) (default 16). */
  tau?: number;
  /** `linux`: inactive_ratio (default 1, as Linux computes it for less than 1 GiB of memory). */
  inactiveRatio?: number;
}
