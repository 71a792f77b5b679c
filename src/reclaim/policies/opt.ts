/**
 * OPT (Belady's MIN) for a reference sequence known in advance: evicts the resident page
 * whose next reference lies farthest in the future. Ties (pages never referenced again) go to
 * the page loaded earliest.
 *
 * Given a plain array, it needs every reference in exactly that order; a reference that
 * differs is an EINVAL naming the position (a reference string's future is the string, so a
 * mismatch is a mistake). Given an {@link OptFuture} built with match 'skip' (trace replay),
 * a reference is matched to the next occurrence of its key at or after the current position,
 * so references the VMM never reports (a refused access) do not desynchronise it; resident
 * pages whose next use was passed over get their real next use. A page put back right after
 * it was selected (the swap device was full) keeps its place without consuming a reference.
 * All state is in typed arrays indexed by the future's dense key ids.
 */
import { VmmError } from '../../errors.js';
import type { ReclaimPolicy } from '../policy.js';
import { grown, NEVER, OptFuture } from './opt-future.js';

/** Belady's optimal replacement. */
export class OptPolicy implements ReclaimPolicy {
  readonly name = 'opt';
  readonly kind = 'every-reference' as const;
  private readonly f: OptFuture;
  private readonly skip: boolean;
  /** Position of the next reference expected. */
  private position = 0;
  private loads = 0;
  private count = 0;
  /** Keys the future does not hold (told by the VMM anyway, in 'skip' mode): their ids follow the future's. */
  private readonly extra = new Map<number, number>();
  private extraKeys: number[] = [];
  /** nextOf[id]: the next unconsumed occurrence of id (its next use while resident), or NEVER. */
  private nextOf: Int32Array;
  /** loaded[id]: load order while resident, -1 otherwise. */
  private loaded: Float64Array;
  /** Max-heap of (next desc, loaded asc); stale entries (next or loaded no longer current) are skipped. */
  private hNext = new Int32Array(64);
  private hLoaded = new Float64Array(64);
  private hId = new Int32Array(64);
  private hn = 0;
  /** Victims of the last select, until the next reference: a put-back restores them (id -> [next, loaded]). */
  private readonly selected = new Map<number, [number, number]>();

  constructor(future: ArrayLike<number> | OptFuture) {
    this.f = future instanceof OptFuture ? future : OptFuture.from(future, 'exact');
    this.skip = this.f.match === 'skip';
    const d = this.f.keys.length;
    this.nextOf = new Int32Array(Math.max(1, d));
    this.nextOf.set(this.f.firstAt);
    this.loaded = new Float64Array(Math.max(1, d)).fill(-1);
  }
  /** Pages tracked. */
  get size(): number {
    return this.count;
  }
  /** A page became resident: its reference is the future's next one for it (or a put-back after select, which is none). */
  insert(key: number, _write?: boolean): void {
    const id = this.idOf(key);
    const back = this.selected.size > 0 ? this.selected.get(id) : undefined;
    if (back !== undefined && this.loaded[id]! < 0) {
      // Put back after select (swap full): not a reference; it keeps its next use and age.
      this.selected.delete(id);
      this.nextOf[id] = back[0];
      this.loaded[id] = back[1];
      this.count++;
      this.push(id);
      return;
    }
    this.advance(key, id);
    this.loaded[id] = this.loads++;
    this.count++;
    this.push(id);
  }
  /** A later reference to a resident page: its next use moves on. */
  reference(key: number, _write?: boolean): void {
    const id = this.idOf(key);
    this.advance(key, id);
    if (this.loaded[id]! >= 0) this.push(id);
  }
  /** The page left without being chosen. */
  remove(key: number): void {
    const id = this.f.idOf.get(key) ?? this.extra.get(key);
    if (id === undefined || this.loaded[id]! < 0) return;
    this.loaded[id] = -1;
    this.count--;
  }
  /** Belady's choice: the pages whose next use is farthest (never first; ties to the earliest loaded). */
  select(count: number, _bits: unknown, out: Float64Array): number {
    this.selected.clear();
    let n = 0;
    while (n < count && this.count > 0 && this.hn > 0) {
      const id = this.hId[0]!;
      const next = this.hNext[0]!;
      const loaded = this.hLoaded[0]!;
      this.pop();
      if (this.loaded[id] !== loaded || this.nextOf[id] !== next) continue; // stale
      this.loaded[id] = -1;
      this.count--;
      this.selected.set(id, [next, loaded]);
      out[n++] = this.keyOf(id);
    }
    return n;
  }

  /**
   * The future starts now: positions restart at 0 and every resident page's next use is its
   * first occurrence (replay calls this after `setup`, whose own touches are not the trace's).
   */
  rewind(): void {
    this.position = 0;
    this.selected.clear();
    this.nextOf.set(this.f.firstAt);
    this.nextOf.fill(NEVER, this.f.firstAt.length);
    this.rebuild();
  }

  /** Consumes the reference to `key` (id `id`) and sets nextOf[id] to its next use. */
  private advance(key: number, id: number): void {
    if (this.selected.size > 0) this.selected.clear();
    const f = this.f;
    const i = this.position;
    if (!this.skip) {
      if (i >= f.length) throw new VmmError('EINVAL', `opt: reference #${i} (page ${key}) is past the end of the future given (${f.length} references)`);
      if (f.ids[i] !== id) throw new VmmError('EINVAL', `opt: reference #${i} is page ${key}, but the future given says page ${f.keys[f.ids[i]!]}`);
      this.position = i + 1;
      this.nextOf[id] = f.nextAt[i]!;
      return;
    }
    if (id >= f.keys.length) return; // a key the future never references: its next use stays NEVER
    let c = this.nextOf[id]!;
    const nextAt = f.nextAt;
    while (c < i) c = nextAt[c]!;
    if (c === NEVER) {
      this.nextOf[id] = NEVER; // referenced past its last occurrence
      return;
    }
    this.position = c + 1;
    this.nextOf[id] = nextAt[c]!;
    // References [i, c) were passed over: resident pages whose next use was one of them get the real one.
    for (let j = i; j < c; j++) {
      const o = f.ids[j]!;
      if (this.loaded[o]! < 0 || this.nextOf[o] !== j) continue;
      let n = nextAt[j]!;
      while (n <= c) n = nextAt[n]!;
      this.nextOf[o] = n;
      this.push(o);
    }
  }

  /** The id of `key`: the future's, or a new one after them ('skip' mode; 'exact' refuses it at advance). */
  private idOf(key: number): number {
    const f = this.f;
    // Nearly always the reference expected next: no map lookup.
    if (this.position < f.length) {
      const next = f.ids[this.position]!;
      if (f.keys[next] === key) return next;
    }
    const id = f.idOf.get(key);
    if (id !== undefined) return id;
    let e = this.extra.get(key);
    if (e === undefined) {
      if (!this.skip) return -1;
      e = this.f.keys.length + this.extraKeys.length;
      this.extra.set(key, e);
      this.extraKeys.push(key);
      if (e >= this.nextOf.length) {
        this.loaded = grown(this.loaded, this.loaded.length * 2, -1);
        this.nextOf = grown(this.nextOf, this.nextOf.length * 2);
      }
      this.nextOf[e] = NEVER;
    }
    return e;
  }

  private keyOf(id: number): number {
    const d = this.f.keys.length;
    return id < d ? this.f.keys[id]! : this.extraKeys[id - d]!;
  }

  // ------------------------------------------------------------ the heap, in typed arrays

  /** Whether heap entry a goes before entry b. */
  private before(a: number, b: number): boolean {
    const na = this.hNext[a]!;
    const nb = this.hNext[b]!;
    return na > nb || (na === nb && this.hLoaded[a]! < this.hLoaded[b]!);
  }

  /** Adds the current state of resident id (a rebuild, when stale entries pile up, includes it). */
  private push(id: number): void {
    if (this.hn > 4 * this.count + 64) return this.rebuild();
    if (this.hn === this.hId.length) this.growHeap();
    // Sift up with a hole: parents move down until the new entry's place is found.
    const next = this.nextOf[id]!;
    const loaded = this.loaded[id]!;
    const hNext = this.hNext;
    const hLoaded = this.hLoaded;
    let i = this.hn++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pn = hNext[p]!;
      if (!(next > pn || (next === pn && loaded < hLoaded[p]!))) break;
      this.move(p, i);
      i = p;
    }
    this.hId[i] = id;
    hNext[i] = next;
    hLoaded[i] = loaded;
  }

  private pop(): void {
    const last = --this.hn;
    if (last > 0) {
      this.move(last, 0);
      this.siftDown(0);
    }
  }

  private siftDown(i: number): void {
    const n = this.hn;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.before(r, l) ? r : l;
      if (!this.before(c, i)) return;
      this.swap(i, c);
      i = c;
    }
  }

  /** The heap anew from the resident pages only (drops stale entries). */
  private rebuild(): void {
    let n = 0;
    const ids = this.f.keys.length + this.extraKeys.length;
    if (this.hId.length < this.count) this.growHeap(this.count);
    for (let id = 0; id < ids; id++) {
      if (this.loaded[id]! < 0) continue;
      this.hId[n] = id;
      this.hNext[n] = this.nextOf[id]!;
      this.hLoaded[n] = this.loaded[id]!;
      n++;
    }
    this.hn = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private swap(a: number, b: number): void {
    const id = this.hId[a]!;
    const next = this.hNext[a]!;
    const loaded = this.hLoaded[a]!;
    this.hId[a] = this.hId[b]!;
    this.hNext[a] = this.hNext[b]!;
    this.hLoaded[a] = this.hLoaded[b]!;
    this.hId[b] = id;
    this.hNext[b] = next;
    this.hLoaded[b] = loaded;
  }

  private move(from: number, to: number): void {
    this.hId[to] = this.hId[from]!;
    this.hNext[to] = this.hNext[from]!;
    this.hLoaded[to] = this.hLoaded[from]!;
  }

  private growHeap(min = 0): void {
    const size = Math.max(min, this.hId.length * 2);
    this.hId = grown(this.hId, size);
    this.hNext = grown(this.hNext, size);
    this.hLoaded = grown(this.hLoaded, size);
  }
}
