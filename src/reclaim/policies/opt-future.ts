/**
 * A reference sequence prepared for OPT, in typed arrays: each key gets a dense id, and each
 * position the position of the next reference to the same key. 8 bytes per reference (two
 * Int32Arrays) plus one Map entry per distinct key, so a 10-million-touch trace's future
 * takes ~80 MB and no object per reference.
 */
import { VmmError } from '../../errors.js';
import { describe } from '../../address.js';

/** Next use of "never again" (larger than every position). */
export const NEVER = 0x7fffffff;
/** Longest sequence a future holds (positions are Int32). */
const MAX_LENGTH = NEVER - 1;

/** How OPT matches the references it is told against the future. */
export type OptMatch =
  /** Every reference is the next one of the future, in order; anything else is EINVAL (reference strings). */
  | 'exact'
  /**
   * A reference is matched to the next occurrence of its key at or after the current
   * position, so references the VMM never reports (a refused access, a page it does not
   * track) are passed over (trace replay).
   */
  | 'skip';

/** The future OPT decides from (build one with {@link OptFutureBuilder} or {@link OptFuture.from}). */
export class OptFuture {
  /** References in the sequence. */
  readonly length: number;
  /** @internal Use OptFuture.from or an OptFutureBuilder (they build consistent arrays). */
  constructor(
    /** ids[i]: the id of the key referenced at position i. */
    readonly ids: Int32Array,
    /** nextAt[i]: the position of the next reference to the key of position i, or NEVER. */
    readonly nextAt: Int32Array,
    /** firstAt[id]: the first position of key id. */
    readonly firstAt: Int32Array,
    /** keys[id]: the key of id. */
    readonly keys: Float64Array,
    /** key -> id. */
    readonly idOf: Map<number, number>,
    /** How the policy matches references against it. */
    readonly match: OptMatch,
  ) {
    this.length = ids.length;
  }

  /** The future of `keys` (page keys, in reference order), matched as `match` says (default 'exact'). */
  static from(keys: ArrayLike<number>, match: OptMatch = 'exact'): OptFuture {
    if (keys === null || typeof keys !== 'object' || !Number.isSafeInteger(keys.length)) throw new VmmError('EINVAL', `OptFuture.from: keys must be an array of page keys, got ${describe(keys)}`);
    checkMatch(match);
    const b = new OptFutureBuilder(keys.length);
    for (let i = 0; i < keys.length; i++) b.push(keys[i]!);
    return b.finish(match);
  }
}

/** Builds an OptFuture one reference at a time (for a trace read once, in constant memory per reference). */
export class OptFutureBuilder {
  private ids: Int32Array;
  private nextAt: Int32Array;
  private n = 0;
  private readonly idOf = new Map<number, number>();
  private keys = new Float64Array(1024);
  private firstAt = new Int32Array(1024);
  /** lastAt[id]: the latest position of id so far. */
  private lastAt = new Int32Array(1024);
  private lastKey = NaN;
  private lastId = 0;

  private spent = false;

  /** `expected`: references to make room for at first (it grows as needed). */
  constructor(expected = 1 << 16) {
    if (!Number.isSafeInteger(expected) || expected < 0 || expected > MAX_LENGTH) throw new VmmError('EINVAL', `OptFutureBuilder: expected must be a whole number of references from 0 to ${MAX_LENGTH}, got ${describe(expected)}`);
    this.ids = new Int32Array(Math.max(16, expected));
    this.nextAt = new Int32Array(Math.max(16, expected));
  }

  /** Appends a reference to `key` (a page key: a non-negative safe integer). */
  push(key: number): void {
    if (this.spent) throw spentError();
    if (!Number.isSafeInteger(key) || key < 0) throw new VmmError('EINVAL', `OptFutureBuilder.push: key must be a non-negative safe integer (a page key), got ${describe(key)}`);
    const i = this.n;
    if (i === this.ids.length) this.grow();
    // Runs of touches to one page are common (a loop's code, a stack frame): skip the map for them.
    let id = key === this.lastKey ? this.lastId : this.idOf.get(key);
    if (id === undefined) {
      id = this.idOf.size;
      if (id === this.keys.length) this.growKeys();
      this.idOf.set(key, id);
      this.keys[id] = key;
      this.firstAt[id] = i;
    } else {
      this.nextAt[this.lastAt[id]!] = i;
    }
    this.lastAt[id] = i;
    this.lastKey = key;
    this.lastId = id;
    this.ids[i] = id;
    this.nextAt[i] = NEVER;
    this.n = i + 1;
  }

  /** The future of the references pushed (the builder is spent: it lets go of its arrays). */
  finish(match: OptMatch): OptFuture {
    if (this.spent) throw spentError();
    checkMatch(match);
    this.spent = true;
    const d = this.idOf.size;
    const f = new OptFuture(this.ids.slice(0, this.n), this.nextAt.slice(0, this.n), this.firstAt.slice(0, d), this.keys.slice(0, d), this.idOf, match);
    this.ids = this.nextAt = this.firstAt = this.lastAt = new Int32Array(0);
    this.keys = new Float64Array(0);
    this.n = 0;
    return f;
  }

  private grow(): void {
    if (this.n >= MAX_LENGTH) throw new VmmError('ENOMEM', `opt: the future is limited to ${MAX_LENGTH} references`);
    const size = Math.min(MAX_LENGTH, Math.max(16, this.ids.length * 2));
    this.ids = grown(this.ids, size);
    this.nextAt = grown(this.nextAt, size);
  }

  private growKeys(): void {
    const size = this.keys.length * 2;
    this.keys = grown(this.keys, size);
    this.firstAt = grown(this.firstAt, size);
    this.lastAt = grown(this.lastAt, size);
  }
}

/** A copy of `a` with room for `size` elements (the new ones `fill`, default 0). */
export function grown<T extends Int32Array | Float64Array>(a: T, size: number, fill = 0): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

function checkMatch(match: unknown): void {
  if (match !== 'exact' && match !== 'skip') throw new VmmError('EINVAL', `match must be 'exact' or 'skip', got ${describe(match)}`);
}

function spentError(): VmmError {
  return new VmmError('EINVAL', 'OptFutureBuilder: finish() was called already; make a new builder');
}
