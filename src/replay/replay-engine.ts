/**
 * The replay engine: packed trace records through one process's address space. With one
 * unified TLB a chunk is one core traceBatch call, resumed after each fault; with a TLB
 * hierarchy it is one hierTraceBatch call (per series window), resumed the same way. TS only
 * resolves faults.
 */
import { TraceOut } from '../core/constants.js';
import { encodeHierarchy } from '../tlb/hierarchy-options.js';
import { HIER_RETRY, HierStat, LEVEL_SLOTS, SlotStat } from '../tlb/layout.js';
import { SegmentationFault, VmmError } from '../errors.js';
import { hex } from '../hex.js';
import type { AddressSpace } from '../machine/address-space.js';
import type { Machine } from '../machine/machine.js';
import { mapAnonymousAround } from './anon-regions.js';
import type { ResolvedReplayOptions } from './replay-options.js';

const USER = 1;
const CHECKED = 4;
const TWO47 = 2 ** 47;
const MAX_SEGFAULTS_LISTED = 10;

/** Counters of a replay in progress. */
export class ReplayEngine {
  /** Completed records by trace kind (TraceOut order) and page-crossing records. */
  readonly out = new Float64Array(TraceOut.LENGTH);
  /** Lookups re-run after a resolved fault (not new lookups: subtracted from the misses). */
  retries = 0;
  segv = 0;
  readonly segfaults: Array<{ address: string; access: string; cause: string }> = [];
  /** The hierarchy's statistics (layout.ts HierStat), when the replay runs one. */
  readonly hierStats?: Float64Array;
  /** Time-series points: records done, then levelCounts() at that point. */
  readonly series: number[][] = [];

  constructor(
    readonly machine: Machine,
    readonly space: AddressSpace,
    readonly o: ResolvedReplayOptions,
  ) {
    if (o.hierarchy) {
      this.hierStats = new Float64Array(HierStat.LENGTH);
      machine.activate(space);
      if (machine.core.hierarchy(encodeHierarchy(o.hierarchy), this.hierStats) < 0) throw new VmmError('EINVAL', 'the core refused the TLB hierarchy configuration');
    }
  }

  /**
   * Replays records [0, count) of a chunk; returns how many records it had. `recheck` (a
   * reader's deferred check, see TraceChunk) is called if a record has reserved bits set.
   */
  run(words: Uint32Array, count: number, recheck?: () => number): number {
    this.machine.activate(this.space);
    if (this.hierStats) return this.runHierarchy(words, count, recheck);
    return this.runNative(words, count, recheck);
  }

  private runNative(words: Uint32Array, count: number, recheck: (() => number) | undefined): number {
    const core = this.machine.core;
    let end = count * 2;
    let flags = USER;
    for (let pos = 0; pos < end; ) {
      pos = core.traceBatch(words, pos, count, flags, this.out);
      if (pos < 0 && recheck) {
        // The core checks a batch before running any of it, so nothing ran: check, then replay the rest.
        count = recheck();
        recheck = undefined;
        end = count * 2;
        pos = 0;
        continue;
      }
      if (pos < 0) throw new VmmError('EINVAL', 'trace chunk has a record with reserved bits set (bits 30-31 of its second word)');
      flags = USER | CHECKED;
      if (pos >= end) break;
      if (this.resolve()) this.retries++;
      else pos = this.skip(words, pos >> 1);
    }
    return count;
  }

  /** Resolves the fault the core just reported: true to retry, false when refused (counted). */
  private resolve(): boolean {
    const f = this.space.readFault(USER);
    let outcome = this.space.faultHandler.handleFault(f);
    if (outcome !== true && this.o.mode === 'anon' && outcome instanceof SegmentationFault && outcome.cause === 'SEGV_MAPERR' && f.la < TWO47) {
      if (mapAnonymousAround(this.space, f.la, this.o.pageSize === '2m')) outcome = this.space.faultHandler.handleFault(f);
    }
    if (outcome === true) return true;
    this.segv++;
    if (this.segfaults.length < MAX_SEGFAULTS_LISTED) {
      this.segfaults.push({ address: hex(f.address), access: f.access, cause: outcome instanceof SegmentationFault ? outcome.cause : outcome.message });
    }
    return false;
  }

  /** Counts refused record i as done (its access happened, as far as the trace goes) and returns the next position. */
  private skip(words: Uint32Array, i: number): number {
    this.out[(words[2 * i + 1]! >>> 16) & 3]! += 1;
    return 2 * i + 2;
  }

  // ------------------------------------------------------------ the hierarchy

  /** Records [0, count) through the core's TLB hierarchy, one batch per series window, resumed after each fault. */
  private runHierarchy(words: Uint32Array, count: number, recheck: (() => number) | undefined): number {
    const core = this.machine.core;
    let retry = 0;
    let pos = 0;
    // Records [0, checkedTo) passed the core's reserved-bit check (a batch checks only its own range).
    let checkedTo = 0;
    if (this.o.seriesEvery && recheck) {
      // Windows run one after another, so a bad record found in a later one could not be undone: check first.
      count = recheck();
      recheck = undefined;
    }
    for (;;) {
      const every = this.o.seriesEvery;
      // The batch ends at the next series point (in records), or at the chunk's end.
      const stopAt = every ? Math.min(count, (pos >> 1) + (every - (this.recordsDone() % every))) : count;
      const r = core.hierTraceBatch(words, pos, stopAt, USER | retry | (stopAt <= checkedTo ? CHECKED : 0), this.out);
      if (r < 0 && recheck) {
        // The core checks a batch before running any of it, so nothing ran: check, then replay the rest.
        count = recheck();
        recheck = undefined;
        checkedTo = count;
        continue;
      }
      if (r < 0) throw new VmmError('EINVAL', 'trace chunk has a record with reserved bits set (bits 30-31 of its second word)');
      checkedTo = Math.max(checkedTo, stopAt);
      pos = r;
      retry = 0;
      if (pos >= stopAt * 2) {
        if (every && this.recordsDone() % every === 0) this.point();
        if (stopAt >= count) return count;
        continue;
      }
      if (this.resolve()) {
        this.retries++;
        retry = HIER_RETRY;
      } else {
        pos = this.skip(words, pos >> 1);
      }
    }
  }

  private recordsDone(): number {
    const o = this.out;
    return o[TraceOut.LOADS]! + o[TraceOut.STORES]! + o[TraceOut.INSTRS]! + o[TraceOut.MODIFIES]!;
  }

  /** One point of the time series: the counts so far (collect-result turns them into rates per window). */
  private point(): void {
    const st = this.hierStats!;
    this.series.push([this.recordsDone(), ...levelCounts(st)]);
  }

  /** Settles a refused last access (its misses go to its levels' first arrays) before the counts are read. */
  finish(): void {
    if (this.hierStats) this.machine.core.hierTraceBatch(new Uint32Array(0), 0, 0, USER | CHECKED, this.out);
    if (this.o.seriesEvery && this.recordsDone() % this.o.seriesEvery !== 0) this.point();
  }
}

/** Lookups and misses of the L1I, L1D and second level and the misses of every level, from a hierarchy's stats. */
export function levelCounts(st: Float64Array): number[] {
  const hits = (slots: readonly number[]) => slots.reduce((n, s) => n + st[s * SlotStat.FIELDS + SlotStat.HITS]!, 0);
  const l1iMiss = st[HierStat.L1I_MISSES]!;
  const l1dMiss = st[HierStat.L1D_MISSES]!;
  const stlbMiss = st[HierStat.STLB_MISSES_I]! + st[HierStat.STLB_MISSES_D]!;
  return [hits(LEVEL_SLOTS.l1i) + l1iMiss, l1iMiss, hits(LEVEL_SLOTS.l1d) + l1dMiss, l1dMiss, hits(LEVEL_SLOTS.stlb) + stlbMiss, stlbMiss, st[HierStat.MISSES_ALL]!];
}
