/**
 * Mattson's stack algorithm: one pass over a reference sequence gives every reference's LRU
 * stack distance (1 = the page referenced last; Infinity for a first reference), and so the
 * exact number of LRU faults for every number of frames at once — LRU is a stack algorithm:
 * a reference faults with c frames exactly when its distance exceeds c.
 * O(n log n): a Fenwick tree over time marks each page's latest reference, and a distance is
 * the count of marks after the page's previous reference.
 */
import { VmmError } from '../errors.js';

/** The stack distances of a reference sequence and the LRU fault curve they give. */
export interface StackDistances {
  /** References in the sequence. */
  readonly references: number;
  /** Distinct pages (= first references, which fault at every size). */
  readonly coldMisses: number;
  /** histogram[d] = references with stack distance d (index 0 unused). */
  readonly histogram: Float64Array;
  /** Distance of each reference (0 = first reference, i.e. infinite), when `keepDistances` was set. */
  readonly distances?: Uint32Array;
  /** Exact LRU faults (first touches included) with `frames` frames. */
  faults(frames: number): number;
}

/** Computes the stack distances of `refs` (page keys) in one pass. */
export function stackDistances(refs: ArrayLike<number>, options: { keepDistances?: boolean } = {}): StackDistances {
  const n = refs.length;
  const tree = new Float64Array(n + 1);
  const last = new Map<number, number>();
  const histogram = new Float64Array(n + 2);
  const distances = options.keepDistances ? new Uint32Array(n) : undefined;
  let marks = 0;
  for (let t = 0; t < n; t++) {
    const key = refs[t]!;
    const prev = last.get(key);
    if (prev === undefined) {
      marks++;
    } else {
      // Distinct pages referenced after prev (prev's own mark included) = marks - prefix(prev).
      const d = marks - prefix(tree, prev);
      histogram[d + 1]!++;
      if (distances) distances[t] = d + 1;
      add(tree, prev, -1);
    }
    add(tree, t, 1);
    last.set(key, t);
  }
  const cumulative = new Float64Array(histogram.length);
  for (let d = 1; d < histogram.length; d++) cumulative[d] = cumulative[d - 1]! + histogram[d]!;
  const cold = last.size;
  return {
    references: n,
    coldMisses: cold,
    histogram,
    distances,
    faults(frames: number): number {
      if (!Number.isSafeInteger(frames) || frames < 1) throw new VmmError('EINVAL', `frames must be a positive integer, got ${String(frames)}`);
      const hits = cumulative[Math.min(frames, cumulative.length - 1)]!;
      return n - hits;
    },
  };
}

/** Sum of tree[0..i] (inclusive). */
function prefix(tree: Float64Array, i: number): number {
  let s = 0;
  for (let j = i + 1; j > 0; j -= j & -j) s += tree[j]!;
  return s;
}

function add(tree: Float64Array, i: number, v: number): void {
  for (let j = i + 1; j < tree.length; j += j & -j) tree[j]! += v;
}
