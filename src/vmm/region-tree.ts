/**
 * The tree under RegionMap: a treap (deterministic priorities) of region nodes, each knowing
 * its subtree's span, largest inner gap, lowest stack start, bytes and sharing — the figures
 * that make the gap search and fork's runs O(log n). Nodes are copied on write by owner id, so
 * clones share them. Pure functions over nodes; RegionMap owns the root and the policy.
 */
import { hex } from '../hex.js';
import type { RegionRecord } from './region.js';
import { VM_ACCOUNT as ACCOUNT, VM_GROWSDOWN as GROWSDOWN, VM_LOCKED as LOCKED } from './vm-flags.js';

// Module-local copies: the CommonJS build reads an imported binding through a getter at every use, and pull runs per node touched.
const VM_ACCOUNT = ACCOUNT;
const VM_GROWSDOWN = GROWSDOWN;
const VM_LOCKED = LOCKED;

/** A tree node: one region and what its subtree spans. */
export class Node {
  /** The region's bounds, copied out of the record: lookups then touch one object per level, not two. */
  start: number;
  end: number;
  left: Node | null = null;
  right: Node | null = null;
  /** Start of the subtree's first region, end of its first and of its last region. */
  lo: number;
  loEnd: number;
  hi: number;
  /** Largest gap between two consecutive regions of the subtree (0 for one region). */
  gap = 0;
  /** Lowest start of a VM_GROWSDOWN region (a stack) in the subtree (its guard gap shrinks the gap below it). */
  stack: number;
  /** Bytes the subtree's regions cover. */
  bytes: number;
  /** Sharing of the subtree's regions: PRIVATE, SHARED or MIXED (fork copies a uniform contiguous subtree in one call). */
  mode: number;
  /** OR of the subtree's region flags (fork and exec skip their per-region work when no region has a flag). */
  flagsOr: number;
  /** Bytes of the subtree's VM_LOCKED regions (locked_vm) and VM_ACCOUNT ones (their Committed_AS charge). */
  locked: number;
  accounted: number;

  constructor(
    public rec: RegionRecord,
    readonly pri: number,
    /** The map allowed to change this node in place; any other copies it first (clone shares nodes). */
    public owner: number,
  ) {
    this.start = rec.start;
    this.end = rec.end;
    this.lo = rec.start;
    this.loEnd = rec.end;
    this.hi = rec.end;
    this.stack = (rec.flags & VM_GROWSDOWN) !== 0 ? rec.start : Infinity;
    this.bytes = rec.end - rec.start;
    this.mode = rec.shared ? SHARED : PRIVATE;
    this.flagsOr = rec.flags;
    this.locked = (rec.flags & VM_LOCKED) !== 0 ? this.bytes : 0;
    this.accounted = (rec.flags & VM_ACCOUNT) !== 0 ? this.bytes : 0;
  }
}

/** Sharing of a subtree's regions: all private, all shared, or both. */
export const PRIVATE = 0;
/** All regions of the subtree are shared. */
export const SHARED = 1;
/** Private and shared regions mixed. */
export const MIXED = 2;

/** `n` itself when map `id` owns it, else a copy that `id` owns (copy on write after clone). */
export function own(n: Node, id: number): Node {
  if (n.owner === id) return n;
  const c = new Node(n.rec, n.pri, id);
  c.left = n.left;
  c.right = n.right;
  c.lo = n.lo;
  c.loEnd = n.loEnd;
  c.hi = n.hi;
  c.gap = n.gap;
  c.stack = n.stack;
  c.bytes = n.bytes;
  c.mode = n.mode;
  c.flagsOr = n.flagsOr;
  c.locked = n.locked;
  c.accounted = n.accounted;
  return c;
}

/** Recomputes a node's subtree figures from its children. */
export function pull(n: Node): Node {
  const r = n.rec;
  const l = n.left;
  const g = n.right;
  let gap = 0;
  let stack = (r.flags & VM_GROWSDOWN) !== 0 ? r.start : Infinity;
  let bytes = r.end - r.start;
  let mode = r.shared ? SHARED : PRIVATE;
  let flagsOr = r.flags;
  let locked = (r.flags & VM_LOCKED) !== 0 ? bytes : 0;
  let accounted = (r.flags & VM_ACCOUNT) !== 0 ? bytes : 0;
  if (l !== null) {
    flagsOr |= l.flagsOr;
    locked += l.locked;
    accounted += l.accounted;
    n.lo = l.lo;
    n.loEnd = l.loEnd;
    gap = Math.max(l.gap, r.start - l.hi);
    if (l.stack < stack) stack = l.stack;
    bytes += l.bytes;
    if (l.mode !== mode) mode = MIXED;
  } else {
    n.lo = r.start;
    n.loEnd = r.end;
  }
  if (g !== null) {
    flagsOr |= g.flagsOr;
    locked += g.locked;
    accounted += g.accounted;
    n.hi = g.hi;
    gap = Math.max(gap, g.gap, g.lo - r.end);
    if (g.stack < stack) stack = g.stack;
    bytes += g.bytes;
    if (g.mode !== mode) mode = MIXED;
  } else {
    n.hi = r.end;
  }
  n.gap = gap;
  n.stack = stack;
  n.bytes = bytes;
  n.mode = mode;
  n.flagsOr = flagsOr;
  n.locked = locked;
  n.accounted = accounted;
  return n;
}

/** Joins two trees, every region of `a` below every region of `b`. */
export function join(a: Node | null, b: Node | null, id: number): Node | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.pri > b.pri) {
    a = own(a, id);
    a.right = join(a.right, b, id);
    return pull(a);
  }
  b = own(b, id);
  b.left = join(a, b.left, id);
  return pull(b);
}

/** In-order iterator with an explicit stack (no generator: fork and maps() walk every region). */
export class InOrder implements Iterator<RegionRecord> {
  private readonly path: Node[] = [];
  constructor(root: Node | null) {
    this.descend(root);
  }
  private descend(n: Node | null): void {
    for (; n !== null; n = n.left) this.path.push(n);
  }
  next(): IteratorResult<RegionRecord> {
    const n = this.path.pop();
    if (n === undefined) return { done: true, value: undefined };
    this.descend(n.right);
    return { done: false, value: n.rec };
  }
  [Symbol.iterator](): Iterator<RegionRecord> {
    return this;
  }
}

/** The subtree without the node starting at `key` (which must exist). */
export function deleteKey(n: Node, key: number, id: number): Node | null {
  if (n.start === key) return join(n.left, n.right, id);
  n = own(n, id);
  if (key < n.start) n.left = deleteKey(n.left!, key, id);
  else n.right = deleteKey(n.right!, key, id);
  return pull(n);
}

/** The subtree with the record of the node starting at `key` replaced by `rec` (whose start keeps the order). */
export function replaceKey(n: Node, key: number, rec: RegionRecord, id: number): Node {
  n = own(n, id);
  if (n.start === key) {
    n.rec = rec;
    n.start = rec.start;
    n.end = rec.end;
  }
  else if (key < n.start) n.left = replaceKey(n.left!, key, rec, id);
  else n.right = replaceKey(n.right!, key, rec, id);
  return pull(n);
}

/** Appends the records of subtree `n` overlapping [start, end) in order, skipping subtrees outside it. */
export function collect(n: Node | null, start: number, end: number, out: RegionRecord[]): void {
  if (n === null || n.hi <= start || n.lo >= end) return;
  collect(n.left, start, end, out);
  if (n.end > start && n.start < end) out.push(n.rec);
  collect(n.right, start, end, out);
}

/** Recomputes every subtree figure and the heap order; throws at the first mismatch. */
export function checkNode(n: Node | null): void {
  if (n === null) return;
  checkNode(n.left);
  checkNode(n.right);
  if ((n.left !== null && n.left.pri > n.pri) || (n.right !== null && n.right.pri > n.pri)) throw new Error(`heap order broken at ${hex(n.start)}`);
  const fresh = pull(Object.assign(Object.create(Node.prototype) as Node, n));
  if (fresh.lo !== n.lo || fresh.loEnd !== n.loEnd || fresh.hi !== n.hi || fresh.gap !== n.gap || fresh.stack !== n.stack || fresh.bytes !== n.bytes || fresh.mode !== n.mode || fresh.flagsOr !== n.flagsOr || fresh.locked !== n.locked || fresh.accounted !== n.accounted) {
    throw new Error(`subtree figures of the node at ${hex(n.start)} are stale`);
  }
}
