/**
 * The TLB flush a page-table change obliges its caller to do, as a value (the idea of the
 * x86_64 crate's `#[must_use] MapperFlush`): the page-table operations reclaim uses
 * (PageTable.unmapEntries, protectPages, unmapPages, splitHuge) return one, and nothing that
 * frees or reuses what the change let go (a frame, a cache page, a swap slot's bookkeeping)
 * can be done without the `Flushed` proof that only `flush()` gives — so a forgotten flush
 * does not type-check. A flush dropped on the floor (an expression statement of type
 * TlbFlush) is caught by test/machine/must-flush.test.ts, which type-checks src/ for it;
 * a TlbFlush kept in a variable and never used is an unused local (noUnusedLocals).
 *
 * The flush itself is what the machine's TLB model does: a list of pages unmapped by reclaim
 * joins try_to_unmap's batch (shootdowns only to the CPUs that may hold them), which goes out
 * before the proof is given (try_to_unmap_flush); a range is flush_tlb_range.
 */

declare const flushedBrand: unique symbol;

/** Proof that the TLB flushes of a page-table change were done (only TlbFlush.flush makes one). */
export interface Flushed {
  readonly [flushedBrand]: true;
}

/** What a flush needs of a space's page tables. */
export interface FlushTarget {
  invalidateList(las: Float64Array, count: number): void;
  invalidate(la: number, pages: number): void;
  /** try_to_unmap_flush: the batch invalidateList joined goes out. */
  flushUnmapBatch(): void;
}

const FLUSHED = Object.freeze({}) as Flushed;

/** The TLB flush one page-table change obliges (possibly none: flush() is still the way to the proof). */
export class TlbFlush {
  private done = false;

  /** @internal Made by the page-table operations: a list of pages, a range, or nothing to flush. */
  constructor(
    private readonly target: FlushTarget | undefined,
    private readonly las: Float64Array | undefined,
    private readonly count: number,
    private readonly la = 0,
  ) {}

  /** Nothing changed that a TLB could hold (e.g. no entry was present). */
  static none(): TlbFlush {
    return new TlbFlush(undefined, undefined, 0);
  }

  /** A flush of pages las[0..count) of `target` (the list is the caller's to keep unchanged until flush). */
  static list(target: FlushTarget, las: Float64Array, count: number): TlbFlush {
    return count > 0 ? new TlbFlush(target, las, count) : TlbFlush.none();
  }

  /** A flush of [la, la + pages*4096) of `target`. */
  static range(target: FlushTarget, la: number, pages: number): TlbFlush {
    return pages > 0 ? new TlbFlush(target, undefined, pages, la) : TlbFlush.none();
  }

  /** Does the flush (once; again is a no-op) and returns the proof. */
  flush(): Flushed {
    this.queue()?.flushUnmapBatch();
    return FLUSHED;
  }

  /** @internal Starts the flush; returns the target whose unmap batch must still go out (a list), else undefined. */
  queue(): FlushTarget | undefined {
    if (this.done) return undefined;
    this.done = true;
    if (!this.target) return undefined;
    if (this.las) {
      this.target.invalidateList(this.las, this.count);
      return this.target;
    }
    this.target.invalidate(this.la, this.count);
    return undefined;
  }

  /** True once flushed. */
  get flushed(): boolean {
    return this.done;
  }
}

/** Flushes every one of `flushes` (one per address space a change touched): one proof for all. */
export function flushAll(flushes: readonly TlbFlush[]): Flushed {
  let batch: FlushTarget | undefined;
  for (const f of flushes) batch = f.queue() ?? batch;
  batch?.flushUnmapBatch(); // the batch is machine-wide: it goes out once
  return FLUSHED;
}
