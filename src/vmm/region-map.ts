/**
 * The regions of one address space, ordered by address, never overlapping, merged as Linux's
 * vma_merge merges them when they are made or changed (so compatible neighbours can stay
 * apart where Linux leaves them apart: a fork child's copies, regions a change did not touch). Kept in a balanced tree
 * (region-tree.ts) whose every subtree knows its span and the largest gap between its regions
 * — what Linux's maple tree keeps per node so that unmapped_area_topdown() is O(log n).
 * Lookup, insert, remove, protect and the gap search are O(log n + k) for k regions touched;
 * clone (fork) is O(1): the maps share nodes and copy one before changing it. Records are
 * immutable once in the map: a change replaces a node's record.
 */
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import { MIXED, Node, PRIVATE, SHARED, InOrder, checkNode, collect, deleteKey, own, pull, replaceKey } from './region-tree.js';
import { canMerge, joined, slice, type RegionRecord } from './region.js';
import { VM_GROWSDOWN } from './vm-flags.js';

let nextMapId = 1;

/** Ordered, non-overlapping regions, merged where made or changed. */
export class RegionMap implements Iterable<RegionRecord> {
  private root: Node | null = null;
  /** Owner id of the nodes this map may change in place. */
  private id = nextMapId++;
  private count = 0;
  /** Deterministic priorities (xorshift32): the same calls build the same tree. */
  private seed = 0x9e3779b9;
  /** Regions per shared memory object id (a space attaches an object once, however many regions map it). */
  private objects = new Map<number, number>();
  /** Scratch results of split(). */
  private sl: Node | null = null;
  private sr: Node | null = null;
  /** Running ceiling of findGapTopDown. */
  private ceiling = 0;
  /** The region find() returned last, until the map changes (as Linux's vmacache was): faults repeat the lookup of one region. */
  private last: RegionRecord | undefined;
  /** Bumped by every change of the regions (add, replace, replaceRun: the paths that also drop `last`). */
  private version = 0;
  /** regionsOf's answers, valid while byObjectVersion === version. */
  private readonly byObject = new Map<number, RegionRecord[]>();
  private byObjectVersion = -1;

  /** Number of regions. */
  get size(): number {
    return this.count;
  }

  /** Bytes covered by all regions (the space's virtual size). */
  get bytes(): number {
    return this.root === null ? 0 : this.root.bytes;
  }

  /** Bytes of VM_LOCKED regions (locked_vm, VmLck). */
  get lockedBytes(): number {
    return this.root === null ? 0 : this.root.locked;
  }

  /** Bytes of VM_ACCOUNT regions (what the space has charged to Committed_AS). */
  get accountedBytes(): number {
    return this.root === null ? 0 : this.root.accounted;
  }

  /** The OR of every region's flags. */
  get flagsOr(): number {
    return this.root === null ? 0 : this.root.flagsOr;
  }

  /**
   * Replaces the record of the region that starts at `rec.start` and ends at `rec.end` by `rec`
   * (other flags or protection), without merging it with its neighbours — as dup_mmap gives a
   * fork child its copies, and as Linux then leaves them. EINVAL when no region has those bounds.
   */
  setRecord(rec: RegionRecord): void {
    const old = this.find(rec.start);
    if (!old || old.start !== rec.start || old.end !== rec.end) throw new VmmError('EINVAL', `no region [${hex(rec.start)}, ${hex(rec.end)})`);
    this.unlink(old);
    this.replace(rec.start, rec);
    this.link(rec);
  }

  /**
   * The region starting at `oldStart` takes a lower start (`rec`: the same region grown down over
   * free space, as expand_downwards grows a stack), without merging with the region below.
   */
  growDown(oldStart: number, rec: RegionRecord): void {
    const old = this.find(oldStart);
    if (!old || old.start !== oldStart || rec.end !== old.end || rec.start > oldStart || !this.isFree(rec.start, oldStart)) throw new VmmError('EINVAL', `cannot grow [${hex(oldStart)}, ...) down to ${hex(rec.start)}`);
    this.unlink(old);
    this.replace(oldStart, rec);
    this.link(rec);
  }

  [Symbol.iterator](): Iterator<RegionRecord> {
    return new InOrder(this.root);
  }

  /** True when a region of this map is backed by shared memory object `objectId`. */
  references(objectId: number): boolean {
    return this.objects.has(objectId);
  }

  /**
   * The regions backed by object `objectId`, in order (the reverse map's lookup). Found by one
   * O(n) walk, then kept until the map changes: reclaim asks for every batch, the map rarely changes.
   */
  regionsOf(objectId: number): readonly RegionRecord[] {
    if (!this.objects.has(objectId)) return NONE;
    if (this.byObjectVersion !== this.version) {
      this.byObject.clear();
      this.byObjectVersion = this.version;
    }
    let out = this.byObject.get(objectId);
    if (out === undefined) {
      out = [];
      for (const r of this) if (r.backing.type === 'object' && r.backing.objectId === objectId) out.push(r);
      this.byObject.set(objectId, out);
    }
    return out;
  }

  /** Ids of the shared memory objects the regions map. */
  objectIds(): number[] {
    return [...this.objects.keys()];
  }

  /** The region containing `addr`. */
  find(addr: number): RegionRecord | undefined {
    const c = this.last;
    if (c !== undefined && c.start <= addr && addr < c.end) return c;
    const n = this.floor(addr);
    if (n !== null && addr < n.end) return (this.last = n.rec);
    return undefined;
  }

  /** The last region starting below `addr` (the one containing it, or the nearest one under it). */
  below(addr: number): RegionRecord | undefined {
    const n = this.floor(addr - 1);
    return n === null ? undefined : n.rec;
  }

  /** The first region overlapping [start, end). */
  findFirstOverlapping(start: number, end: number): RegionRecord | undefined {
    const n = this.firstEndingAfter(start);
    return n !== null && n.start < end ? n.rec : undefined;
  }

  /** True when nothing overlaps [start, end). */
  isFree(start: number, end: number): boolean {
    return this.findFirstOverlapping(start, end) === undefined;
  }

  /**
   * Calls `fn` for each maximal run of touching regions that are all shared or all private,
   * in address order (fork copies a run with one core call). A contiguous uniform subtree is
   * one run without visiting its nodes: O(runs * log n), not O(n).
   */
  forEachRun(fn: (start: number, end: number, shared: boolean) => void): void {
    let start = 0;
    let end = -1;
    let mode = -1;
    const emit = (s: number, e: number, m: number): void => {
      if (s === end && m === mode) {
        end = e;
        return;
      }
      if (mode !== -1) fn(start, end, mode === SHARED);
      start = s;
      end = e;
      mode = m;
    };
    const walk = (n: Node | null): void => {
      if (n === null) return;
      if (n.gap === 0 && n.mode !== MIXED) return emit(n.lo, n.hi, n.mode);
      walk(n.left);
      emit(n.start, n.end, n.rec.shared ? SHARED : PRIVATE);
      walk(n.right);
    };
    walk(this.root);
    if (mode !== -1) fn(start, end, mode === SHARED);
  }

  /** The regions overlapping [start, end), in order (O(log n + k)). */
  overlapping(start: number, end: number): RegionRecord[] {
    const out: RegionRecord[] = [];
    collect(this.root, start, end, out);
    return out;
  }

  /** Inserts a region over free space and merges it with compatible neighbours; returns the resulting region. */
  insert(rec: RegionRecord): RegionRecord {
    if (!(rec.start < rec.end)) throw new VmmError('EINVAL', `region [${hex(rec.start)}, ${hex(rec.end)}) is empty`);
    const next = this.firstEndingAfter(rec.start);
    if (next !== null && next.rec.start < rec.end) throw new VmmError('EEXIST', `[${hex(rec.start)}, ${hex(rec.end)}) overlaps an existing region`);
    const prev = this.floor(rec.start - 1);
    const withPrev = prev !== null && canMerge(prev.rec, rec);
    // can_vma_merge_right: with the previous region too, the previous and the next must agree (their anon_vmas).
    const withNext = next !== null && canMerge(withPrev ? joined(prev.rec, rec) : rec, next.rec);
    if (withPrev && withNext) {
      const merged = joined(joined(prev.rec, rec), next.rec);
      this.unlink(next.rec);
      this.root = deleteKey(this.root!, next.rec.start, this.id);
      this.count--;
      return this.replace(prev.rec.start, merged);
    }
    if (withPrev) return this.replace(prev.rec.start, joined(prev.rec, rec));
    // Merging up moves the next region's start down; no region lies in between, so order holds.
    if (withNext) return this.replace(next.rec.start, joined(rec, next.rec));
    const own = slice(rec, rec.start, rec.end);
    this.add(own);
    return own;
  }

  /** Punches [start, end) out of the regions (splitting at the edges); returns the removed pieces in order. */
  remove(start: number, end: number): RegionRecord[] {
    const rs = this.overlapping(start, end);
    if (rs.length === 0) return [];
    const a = rs[0]!;
    const z = rs[rs.length - 1]!;
    const keep: RegionRecord[] = [];
    if (a.start < start) keep.push(slice(a, a.start, start));
    if (z.end > end) keep.push(slice(z, end, z.end));
    const removed = rs.map((r) => slice(r, Math.max(r.start, start), Math.min(r.end, end)));
    this.replaceRun(rs, keep);
    return removed;
  }

  /**
   * Sets the protection of [start, end), which must be covered without holes (else ENOMEM,
   * nothing changed). Splits at the edges, then merges what became compatible. Returns the
   * pieces that changed (with their new protection).
   */
  protect(start: number, end: number, prot: number): RegionRecord[] {
    return this.modify(start, end, prot, (r) => r.flags);
  }

  /**
   * Changes the regions of [start, end), which must be covered without holes (else ENOMEM,
   * nothing changed): each region's piece takes protection `prot` (undefined: its own) and flags
   * `flagsOf(region)`, as Linux's vma_modify does for mprotect, mlock and madvise. A region the
   * change leaves as it is is not split; a changed piece is split off at the range's edges and
   * merged with the neighbours it became compatible with (unchanged neighbours are not merged
   * with each other, as Linux leaves them). Returns the changed pieces (copies).
   */
  modify(start: number, end: number, prot: number | undefined, flagsOf: (r: RegionRecord) => number): RegionRecord[] {
    const rs = this.overlapping(start, end);
    let at = start;
    for (const r of rs) {
      if (r.start > at) break;
      at = r.end;
    }
    if (at < end) throw new VmmError('ENOMEM', `[${hex(start)}, ${hex(end)}) is not fully mapped (hole at ${hex(at)})`);
    const list: RegionRecord[] = [];
    const changed: boolean[] = [];
    const pieces: RegionRecord[] = [];
    for (const r of rs) {
      const s = Math.max(r.start, start);
      const e = Math.min(r.end, end);
      const np = prot ?? r.prot;
      const nf = flagsOf(r);
      if (np === r.prot && nf === r.flags) {
        list.push(r);
        changed.push(false);
        continue;
      }
      const piece = slice(r, s, e, np, nf); // the map keeps a record of its own
      if (r.start < s) list.push(slice(r, r.start, s)), changed.push(false);
      list.push(piece);
      changed.push(true);
      pieces.push(piece);
      if (e < r.end) list.push(slice(r, e, r.end)), changed.push(false);
    }
    if (pieces.length === 0) return [];
    // The neighbours a changed piece at either end of the span may merge with.
    const old = rs.slice();
    const prev = changed[0] ? this.below(rs[0]!.start) : undefined;
    if (prev !== undefined && prev.end === list[0]!.start) {
      old.unshift(prev);
      list.unshift(prev);
      changed.unshift(false);
    }
    const last = rs[rs.length - 1]!;
    const next = changed[changed.length - 1] ? this.findFirstOverlapping(last.end, last.end + 1) : undefined;
    if (next !== undefined && next.start === list[list.length - 1]!.end) {
      old.push(next);
      list.push(next);
      changed.push(false);
    }
    const merged: RegionRecord[] = [];
    let topChanged = false;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      const top = merged[merged.length - 1];
      if (top !== undefined && (topChanged || changed[i]) && canMerge(top, p)) {
        merged[merged.length - 1] = joined(top, p);
        topChanged = true;
      } else {
        merged.push(p);
        topChanged = changed[i]!;
      }
    }
    this.replaceRun(old, merged);
    return pieces.map((p) => slice(p, p.start, p.end)); // copies: the map's records stay its own
  }

  /**
   * The highest `length`-byte free range inside [low, high) (Linux's unmapped_area_topdown),
   * keeping `stackGap` bytes free below a stack region. Undefined when none fits.
   */
  findGapTopDown(length: number, low: number, high: number, stackGap = 0): number | undefined {
    this.ceiling = high;
    const found = this.topDown(this.root, length, low, stackGap);
    if (found !== undefined) return found;
    const c = this.ceiling;
    return c > low && c - low >= length ? c - length : undefined;
  }

  /** A copy (fork) in O(1): both maps share the nodes and copy a node before changing it. */
  clone(): RegionMap {
    const m = new RegionMap();
    this.id = nextMapId++; // from now on neither map owns the shared nodes
    m.root = this.root;
    m.count = this.count;
    m.seed = this.seed;
    m.objects = new Map(this.objects);
    return m;
  }

  /**
   * @internal Checks the invariants (regions ordered, non-overlapping, non-empty; every subtree
   * figure right; heap order of priorities; counts); throws an Error naming the first broken
   * one. For tests.
   */
  check(): void {
    let n = 0;
    let prev: RegionRecord | undefined;
    const objects = new Map<number, number>();
    for (const r of this) {
      if (!(r.start < r.end)) throw new Error(`region [${hex(r.start)}, ${hex(r.end)}) is empty`);
      if (r.start % 4096 !== 0 || r.end % 4096 !== 0) throw new Error(`region [${hex(r.start)}, ${hex(r.end)}) is not page-aligned`);
      if (prev !== undefined) {
        if (prev.end > r.start) throw new Error(`regions [${hex(prev.start)}, ${hex(prev.end)}) and [${hex(r.start)}, ${hex(r.end)}) overlap or are out of order`);
      }
      if (r.backing.type === 'object') objects.set(r.backing.objectId, (objects.get(r.backing.objectId) ?? 0) + 1);
      prev = r;
      n++;
    }
    if (n !== this.count) throw new Error(`size ${this.count} but ${n} regions`);
    if (objects.size !== this.objects.size || [...objects].some(([id, k]) => this.objects.get(id) !== k)) throw new Error('per-object region counts are wrong');
    checkNode(this.root);
  }

  // ------------------------------------------------------------ tree plumbing

  /** The last node with start <= addr. */
  private floor(addr: number): Node | null {
    let n = this.root;
    let best: Node | null = null;
    while (n !== null) {
      if (n.start <= addr) {
        best = n;
        n = n.right;
      } else n = n.left;
    }
    return best;
  }

  /** The first node with end > addr (ends grow with starts: regions do not overlap). */
  private firstEndingAfter(addr: number): Node | null {
    let n = this.root;
    let best: Node | null = null;
    while (n !== null) {
      if (n.end > addr) {
        best = n;
        n = n.left;
      } else n = n.right;
    }
    return best;
  }

  private node(rec: RegionRecord): Node {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return new Node(rec, this.seed, this.id);
  }

  private link(rec: RegionRecord): void {
    if (rec.backing.type === 'object') this.objects.set(rec.backing.objectId, (this.objects.get(rec.backing.objectId) ?? 0) + 1);
  }

  private unlink(rec: RegionRecord): void {
    if (rec.backing.type !== 'object') return;
    const k = this.objects.get(rec.backing.objectId)! - 1;
    if (k === 0) this.objects.delete(rec.backing.objectId);
    else this.objects.set(rec.backing.objectId, k);
  }

  /** Adds a node for `rec` (over free space). */
  private add(rec: RegionRecord): void {
    this.last = undefined;
    this.version++;
    this.root = this.insertNode(this.root, this.node(rec));
    this.link(rec);
    this.count++;
  }

  /** Replaces the record of the node starting at `key` by `rec` (whose start keeps the order); returns rec. */
  private replace(key: number, rec: RegionRecord): RegionRecord {
    this.last = undefined;
    this.version++;
    this.root = replaceKey(this.root!, key, rec, this.id);
    return rec;
  }

  /**
   * Replaces `old` (consecutive records of the map) by `fresh` (sorted, disjoint, inside the
   * span of `old`). All but the first old node go first, so that the first can take the first
   * new record without breaking the order; the rest are inserted. O((|old| + |fresh|) log n).
   */
  private replaceRun(old: RegionRecord[], fresh: RegionRecord[]): void {
    this.last = undefined;
    this.version++;
    for (let i = 1; i < old.length; i++) {
      this.root = deleteKey(this.root!, old[i]!.start, this.id);
      this.unlink(old[i]!);
    }
    let j = 0;
    if (old.length > 0) {
      this.unlink(old[0]!);
      if (fresh.length > 0) {
        this.replace(old[0]!.start, fresh[0]!);
        this.link(fresh[0]!);
        j = 1;
      } else {
        this.root = deleteKey(this.root!, old[0]!.start, this.id);
      }
    }
    this.count -= old.length - j;
    for (; j < fresh.length; j++) this.add(fresh[j]!);
  }

  /** Treap insertion: down to where `x` outranks the node, which is split around it. */
  private insertNode(n: Node | null, x: Node): Node {
    if (n === null) return x;
    if (x.pri > n.pri) {
      this.split(n, x.start);
      x.left = this.sl;
      x.right = this.sr;
      return pull(x);
    }
    n = own(n, this.id);
    if (x.start < n.start) n.left = this.insertNode(n.left, x);
    else n.right = this.insertNode(n.right, x);
    return pull(n);
  }

  /** Splits by start: sl gets the nodes starting below `key`, sr the rest. */
  private split(n: Node | null, key: number): void {
    if (n === null) {
      this.sl = this.sr = null;
      return;
    }
    n = own(n, this.id);
    if (n.start < key) {
      this.split(n.right, key);
      n.right = this.sl;
      this.sl = pull(n);
    } else {
      this.split(n.left, key);
      n.left = this.sr;
      this.sr = pull(n);
    }
  }

  /**
   * Reverse in-order walk with pruning, equal to scanning the regions from the top down with
   * a running ceiling (the lowest start, less the guard gap for a stack, of the regions above).
   * A subtree is skipped when no gap in it or directly above it can hold `length` bytes.
   */
  private topDown(n: Node | null, length: number, low: number, stackGap: number): number | undefined {
    if (n === null || this.ceiling <= low) return undefined;
    const c = this.ceiling;
    const bound = Math.max(c - Math.max(low, n.hi), Math.min(n.gap, c - Math.max(low, n.loEnd)));
    if (bound < length) {
      this.ceiling = Math.min(c, n.lo, n.stack - stackGap);
      return undefined;
    }
    const up = this.topDown(n.right, length, low, stackGap);
    if (up !== undefined) return up;
    const ceil = this.ceiling;
    if (ceil <= low) return undefined;
    const r = n.rec;
    if (r.end < ceil && ceil - Math.max(low, r.end) >= length) return ceil - length;
    this.ceiling = Math.min(ceil, (r.flags & VM_GROWSDOWN) !== 0 ? r.start - stackGap : r.start);
    return this.topDown(n.left, length, low, stackGap);
  }
}

const NONE: readonly RegionRecord[] = Object.freeze([]);
