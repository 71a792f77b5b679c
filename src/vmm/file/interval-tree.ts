/**
 * An interval tree (Linux's rb_root_cached interval tree of i_mmap, here a treap with
 * deterministic priorities): intervals [first, last] of page offsets, each node knowing the
 * largest `last` below it, so the intervals overlapping a range are found in O(log n + k).
 */

interface Node<T> {
  first: number;
  last: number;
  /** Tie-break among equal `first` (insertion order). */
  seq: number;
  prio: number;
  /** Largest `last` in this subtree. */
  max: number;
  left: Node<T> | null;
  right: Node<T> | null;
  value: T;
}

/** Intervals of page offsets with a value each. */
export class IntervalTree<T> {
  private root: Node<T> | null = null;
  private seqNext = 0;
  private seed = 0x2545f491;
  private count = 0;
  private readonly nodes = new Map<T, Node<T>>();

  /** Number of intervals. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` over [first, last] (one interval per value). */
  insert(first: number, last: number, value: T): void {
    if (this.nodes.has(value)) throw new Error('IntervalTree: value inserted twice');
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    const n: Node<T> = { first, last, seq: this.seqNext++, prio: this.seed, max: last, left: null, right: null, value };
    this.nodes.set(value, n);
    this.root = this.ins(this.root, n);
    this.count++;
  }

  /** Removes `value`'s interval; false when it has none. */
  remove(value: T): boolean {
    const n = this.nodes.get(value);
    if (!n) return false;
    this.nodes.delete(value);
    this.root = this.del(this.root, n);
    this.count--;
    return true;
  }

  /** Calls `f` for every interval overlapping [first, last], in order of `first`. */
  overlapping(first: number, last: number, f: (value: T, from: number, to: number) => void): void {
    overlap(this.root, first, last, f);
  }

  /** Every value, in order of `first`. */
  values(): T[] {
    const out: T[] = [];
    const walk = (n: Node<T> | null): void => {
      if (n === null) return;
      walk(n.left);
      out.push(n.value);
      walk(n.right);
    };
    walk(this.root);
    return out;
  }

  /** @internal Checks order, heap priorities and `max` of every node (tests). */
  check(): void {
    const walk = (n: Node<T> | null): number => {
      if (n === null) return -Infinity;
      const l = walk(n.left);
      const r = walk(n.right);
      if (n.left && (less(n, n.left) || n.left.prio > n.prio)) throw new Error('IntervalTree: left child out of order');
      if (n.right && (less(n.right, n) || n.right.prio > n.prio)) throw new Error('IntervalTree: right child out of order');
      const m = Math.max(n.last, l, r);
      if (m !== n.max) throw new Error('IntervalTree: stale max');
      return m;
    };
    walk(this.root);
  }

  private ins(t: Node<T> | null, n: Node<T>): Node<T> {
    if (t === null) return n;
    if (less(n, t)) {
      t.left = this.ins(t.left, n);
      if (t.left.prio > t.prio) t = rotateRight(t);
    } else {
      t.right = this.ins(t.right, n);
      if (t.right.prio > t.prio) t = rotateLeft(t);
    }
    fix(t);
    return t;
  }

  private del(t: Node<T> | null, n: Node<T>): Node<T> | null {
    if (t === null) return null;
    if (t === n) return merge(t.left, t.right);
    if (less(n, t)) t.left = this.del(t.left, n);
    else t.right = this.del(t.right, n);
    fix(t);
    return t;
  }
}

/** The in-order walk of overlapping (a function, not a closure made per query: reclaim asks once per page). */
function overlap<T>(n: Node<T> | null, first: number, last: number, f: (value: T, from: number, to: number) => void): void {
  if (n === null || n.max < first) return;
  overlap(n.left, first, last, f);
  if (n.first > last) return;
  if (n.last >= first) f(n.value, n.first, n.last);
  overlap(n.right, first, last, f);
}

function less<T>(a: Node<T>, b: Node<T>): boolean {
  return a.first < b.first || (a.first === b.first && a.seq < b.seq);
}

function fix<T>(n: Node<T>): void {
  let m = n.last;
  if (n.left && n.left.max > m) m = n.left.max;
  if (n.right && n.right.max > m) m = n.right.max;
  n.max = m;
}

function rotateRight<T>(t: Node<T>): Node<T> {
  const l = t.left!;
  t.left = l.right;
  l.right = t;
  fix(t);
  fix(l);
  return l;
}

function rotateLeft<T>(t: Node<T>): Node<T> {
  const r = t.right!;
  t.right = r.left;
  r.left = t;
  fix(t);
  fix(r);
  return r;
}

function merge<T>(a: Node<T> | null, b: Node<T> | null): Node<T> | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    fix(a);
    return a;
  }
  b.left = merge(a, b.left);
  fix(b);
  return b;
}
