/**
 * ChampSim's warm-up and simulation windows over a replay's chunks: the first `skip`
 * instructions are read and dropped (what a snapshot replayed already), the next `warmup` run
 * uncounted, the next `simulate` are counted, and reading stops there.
 * Instructions are the trace's instruction-fetch records (a ChampSim record is one; lackey's I
 * lines are); a trace whose first records hold none counts accesses instead.
 */
import { TraceKind, type TraceChunk } from '../trace/trace-record.js';

// Read in per-record loops: a module constant, not an imported binding (a getter call each time in the CommonJS build).
const INSTR = TraceKind.INSTR;

/** What a window counted. */
export interface WindowResult {
  /** What N counts: 'instructions' (instruction fetches) or 'accesses'. */
  unit: 'instructions' | 'accesses';
  /** Units replayed uncounted (fewer than asked when the trace ended first). */
  warmup: number;
  /** Units replayed and counted after them. */
  simulate: number;
  /** With `skip`: units read and dropped before the warm-up (fewer than asked when the trace ended first). */
  skipped?: number;
}

/** Splits chunks at the window's edges; `onWarm` runs once the warm-up is over, before the first counted record. */
export class MeasureWindow {
  private unit: WindowResult['unit'] | undefined;
  private warmed = 0;
  private counted = 0;
  private warm: boolean;
  private skipped = 0;

  constructor(
    private readonly warmup: number,
    private readonly simulate: number,
    private readonly onWarm: () => void,
    private readonly skip = 0,
  ) {
    this.warm = warmup === 0 && skip === 0;
  }

  /** True once the warm-up is over (or there was none). */
  get warmedUp(): boolean {
    return this.warm;
  }

  /** True when the window changes nothing (no warm-up, no limit). */
  get open(): boolean {
    return this.warmup === 0 && this.simulate === Infinity && this.skip === 0;
  }

  /** What was counted (for the result). */
  result(): WindowResult {
    return { unit: this.unit ?? 'instructions', warmup: this.warmed, simulate: this.counted, ...(this.skip > 0 ? { skipped: this.skipped } : {}) };
  }

  /** The pieces of `chunk` to replay, in order (the warm-up's end runs onWarm between two); an empty list once the window is done. */
  *pieces(chunk: TraceChunk): Generator<TraceChunk, void, undefined> {
    if (this.unit === undefined && chunk.count > 0) this.unit = hasInstructions(chunk) ? 'instructions' : 'accesses';
    let rest = chunk;
    if (this.skipped < this.skip) {
      const k = this.take(rest, this.skip - this.skipped, (n) => (this.skipped += n));
      if (k === rest.count && this.skipped < this.skip) return;
      rest = split(rest, k)[1];
    }
    if (!this.warm) {
      const k = this.take(rest, this.warmup - this.warmed, (n) => (this.warmed += n));
      if (k < rest.count || this.warmed === this.warmup) {
        const [a, b] = split(rest, k);
        if (a.count > 0 || a.events) yield a;
        this.warm = true;
        this.onWarm();
        rest = b;
      } else {
        yield rest;
        return;
      }
    }
    if (this.done) return;
    const k = this.take(rest, this.simulate - this.counted, (n) => (this.counted += n));
    yield k < rest.count ? split(rest, k)[0] : rest;
  }

  /** The trace ended: a warm-up it never finished leaves nothing counted. */
  finish(): void {
    if (this.warm) return;
    this.warm = true;
    this.onWarm();
  }

  /** True once the counted window is full (stop reading). */
  get done(): boolean {
    return this.warm && this.counted >= this.simulate;
  }

  /**
   * How many of `chunk`'s records fit in `budget` units: all of them, or up to (not including)
   * the instruction fetch after the budget's last instruction (its loads and stores go with it).
   */
  private take(chunk: TraceChunk, budget: number, add: (n: number) => void): number {
    if (budget === Infinity) {
      add(this.unit === 'accesses' ? chunk.count : countInstructions(chunk));
      return chunk.count;
    }
    if (this.unit === 'accesses') {
      const k = Math.min(chunk.count, budget);
      add(k);
      return k;
    }
    const w = chunk.words;
    let n = 0;
    for (let i = 0; i < chunk.count; i++) {
      if (((w[2 * i + 1]! >>> 16) & 3) !== INSTR) continue;
      if (n === budget) {
        add(n);
        return i;
      }
      n++;
    }
    add(n);
    return chunk.count;
  }
}

function hasInstructions(chunk: TraceChunk): boolean {
  const w = chunk.words;
  for (let i = 0; i < chunk.count; i++) if (((w[2 * i + 1]! >>> 16) & 3) === INSTR) return true;
  return false;
}

function countInstructions(chunk: TraceChunk): number {
  const w = chunk.words;
  let n = 0;
  for (let i = 0; i < chunk.count; i++) if (((w[2 * i + 1]! >>> 16) & 3) === INSTR) n++;
  return n;
}

/** Records [0, k) and [k, count) of a chunk, each with its events (an event at k goes with the second). */
export function split(chunk: TraceChunk, k: number): [TraceChunk, TraceChunk] {
  const evs = chunk.events;
  const a: TraceChunk = { words: chunk.words, count: k, ...(evs?.some((e) => e.at < k) ? { events: evs.filter((e) => e.at < k) } : {}) };
  const late = evs?.filter((e) => e.at >= k).map((e) => ({ ...e, at: e.at - k }));
  const b: TraceChunk = { words: chunk.words.subarray(2 * k), count: chunk.count - k, ...(late && late.length > 0 ? { events: late } : {}) };
  return [a, b];
}
