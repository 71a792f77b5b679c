/**
 * The replay engine: packed trace records through one process's address space. With one
 * unified TLB a chunk is one core traceBatch call, with a TLB hierarchy one hierTraceBatch
 * call (per series window); both run in the address space's one batch -> fault -> resume
 * loop (runBatch), so TS only resolves faults, and a refused access is counted once.
 */
import { Counter, PFEC, TraceOut } from '../core/constants.js';
import { HIER_RETRY, HierStat, LEVEL_SLOTS, SlotStat } from '../tlb/layout.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import type { AddressSpace } from '../vmm/address-space.js';
import type { Machine } from '../system/machine.js';
import { anonymousRegionHook } from './anon-regions.js';
import { faultError, RETRY, type FaultInfo, type FaultOutcome } from '../machine/fault.js';
import type { ResolvedReplayOptions } from './replay-options.js';
import type { ResidentSet } from '../vmm/resident-set.js';
import type { Task } from '../machine/task.js';

const USER = 1;
const TWO32 = 2 ** 32;
const CHECKED = 4;
const MAX_SEGFAULTS_LISTED = 10;
const BAD_RECORD = 'trace chunk has a record with reserved bits set (bits 30-31 of its second word)';

/** Counters of a replay in progress. */
export class ReplayEngine {
  /** Completed records by trace kind (TraceOut order) and page-crossing records. */
  readonly out = new Float64Array(TraceOut.LENGTH);
  segv = 0;
  /** Accesses refused with SIGBUS (counted when `countSigbus`; otherwise a SIGBUS ends the replay). */
  sigbus = 0;
  /** Count a SIGBUS (an access past a file's end) as the program would have got it, instead of ending the replay (a whole program's replay does). */
  countSigbus = false;
  /** Resolved faults on a not-present page: each brought a page in. */
  pageIns = 0;
  /** Resolved faults on a present page (a write to a zero-page or copy-on-write mapping): no page came in. */
  writeProtect = 0;
  readonly segfaults: Array<{ address: string; access: string; cause: string }> = [];
  /** The hierarchy's statistics (layout.ts HierStat), when the replay runs one. */
  readonly hierStats?: Float64Array;
  /** Time-series points: records done, then levelCounts() at that point (one TLB: its lookups and misses). */
  readonly series: number[][] = [];
  /** The single TLB's hits and misses when the replay began (its series counts from there). */
  private readonly tlb0: readonly [number, number];
  /** The resident set whose policy needs every reference (lru, lfu, 2q, arc), told of each page touch that hit. */
  private readonly everyRef: ResidentSet | undefined;
  private retries0: number;
  /** The space's own fault handler and missing-region hook, under the engine's (withoutHooks). */
  private readonly own: { handler: AddressSpace['faultHandler']; hook: AddressSpace['vm']['onMissingRegion'] };

  constructor(
    readonly machine: Machine,
    readonly space: AddressSpace,
    readonly o: ResolvedReplayOptions,
  ) {
    // The machine's CPUs have the hierarchy (new Machine({ cpu, tlb })): the one the process runs on.
    if (o.hierarchy) this.hierStats = (space.cpu ?? machine.cpu(0)).hierStats;
    this.retries0 = machine.retries;
    this.tlb0 = [machine.counters[Counter.HITS]!, machine.counters[Counter.MISSES]!];
    const rs = space.vm.resident;
    this.everyRef = rs && rs.policy.kind === 'every-reference' ? rs : undefined;
    this.own = { handler: space.faultHandler, hook: space.vm.onMissingRegion };
    if (o.mode === 'anon') space.vm.onMissingRegion = anonymousRegionHook(o.pageSize === '2m');
    // Every resolved fault, split by the error code's P bit, so page-ins and Linux's minor+major reconcile.
    const vm = space.faultHandler;
    space.faultHandler = {
      handleFault: (f) => {
        const outcome = vm.handleFault(f);
        if (outcome === RETRY) {
          if (f.errorCode & PFEC.P) this.writeProtect++;
          else this.pageIns++;
        }
        return outcome;
      },
    };
  }

  /** Starts the counts again (the end of a warm-up): what ran so far stays in the TLBs and tables, uncounted. */
  resetCounts(): void {
    this.out.fill(0);
    this.pageIns = 0;
    this.writeProtect = 0;
    this.segv = 0;
    this.segfaults.length = 0;
    this.hierStats?.fill(0);
    this.series.length = 0;
    this.retries0 = this.machine.retries;
  }

  /** Runs `fn` with the space's own fault handler and hook in place (a snapshot file holds no code), then puts the engine's back. */
  withoutHooks<T>(fn: () => T): T {
    const space = this.space;
    const mine = { handler: space.faultHandler, hook: space.vm.onMissingRegion };
    space.faultHandler = this.own.handler;
    space.vm.onMissingRegion = this.own.hook;
    try {
      return fn();
    } finally {
      space.faultHandler = mine.handler;
      space.vm.onMissingRegion = mine.hook;
    }
  }

  /** Accesses re-executed after a resolved fault (the single TLB counted each as one more lookup and miss; not the trace's). */
  get retries(): number {
    return this.machine.retries - this.retries0;
  }

  /**
   * Replays records [0, count) of a chunk; returns how many records it had. `recheck` (a
   * reader's deferred check, see TraceChunk) is called if a record has reserved bits set.
   * `task` is the process's thread that makes the accesses (default: its main thread).
   */
  run(words: Uint32Array, count: number, recheck?: () => number, task: Task = this.space): number {
    this.machine.activate(task);
    // Series windows run one after another, so a bad record found in a later one could not be undone: check first.
    if (recheck && this.o.seriesEvery) {
      count = recheck();
      recheck = undefined;
    }
    for (;;) {
      if (this.runChunk(words, count, task) >= 0) return count;
      // The core checks a batch before running any of it, so nothing ran: check, then replay the rest.
      if (!recheck) throw new VmmError('EINVAL', BAD_RECORD);
      count = recheck();
      recheck = undefined;
    }
  }

  /** Records [0, count) through the single TLB or the hierarchy: >= 0 when done, < 0 a core status (nothing ran). */
  private runChunk(words: Uint32Array, count: number, task: Task): number {
    const core = this.machine.core;
    const out = this.out;
    const refused = (p: number, fault: FaultInfo, outcome: FaultOutcome) => this.refused(words, p >> 1, fault, outcome);
    const every = this.o.seriesEvery;
    if (!this.hierStats && !every) return task.runBatch(this.tellingHits(words, count * 2, (p, flags) => core.traceBatch(words, p, count, flags, out)), 0, count * 2, USER, refused);
    // One batch per series window (in records), or the whole chunk; each window's first call has
    // the core check that window's records. A retry is flagged so the hierarchy does not count
    // the re-executed touch as a new lookup.
    const hier = this.hierStats !== undefined;
    let pos = 0;
    for (;;) {
      const done = this.recordsDone();
      const stopAt = every ? Math.min(count, (pos >> 1) + (every - (done % every))) : count;
      const step = hier ? (p: number, flags: number, retry: boolean) => core.hierTraceBatch(words, p, stopAt, flags | (retry ? HIER_RETRY : 0), out) : (p: number, flags: number) => core.traceBatch(words, p, stopAt, flags, out);
      pos = task.runBatch(this.tellingHits(words, stopAt * 2, step), pos, stopAt * 2, USER, refused);
      if (pos < 0) return pos;
      if (every && this.recordsDone() % every === 0) this.point();
      if (stopAt >= count) return count;
    }
  }

  /**
   * `step` as is, or (for a policy that needs every reference) wrapped so that each page touch
   * is told to the policy exactly once: the touches a batch completed were hits; a touch that
   * faulted a page in was the fault's insert; a touch that took a write-protect fault on a
   * tracked page (copy-on-write of the zero page) is a reference once the fault is resolved.
   * `end` is the batch's end position.
   */
  private tellingHits(words: Uint32Array, end: number, step: (p: number, flags: number, retry: boolean) => number): (p: number, flags: number, retry: boolean) => number {
    const rs = this.everyRef;
    if (!rs) return step;
    let faultAt = -1;
    /** The position whose touch the policy has been told of (or will be, by the fault's insert). */
    let toldAt = -1;
    /** The tracked page of a write-protect fault at faultAt, referenced if the fault is resolved. */
    let pendingPage = -1;
    return (p, flags, retry) => {
      let from = p;
      if (p === faultAt) {
        // Resumed at the fault just resolved.
        if (pendingPage >= 0) rs.reference(pendingPage, true);
        pendingPage = -1;
        from = nextTouch(words, p);
      }
      const r = step(p, flags, retry);
      if (r >= 0) this.referenceHits(rs, words, from, r);
      faultAt = r;
      pendingPage = -1;
      if (r >= 0 && r < end && r !== toldAt) {
        toldAt = r;
        const page = touchPage(words, r);
        if (rs.tracked.has(page)) pendingPage = page;
      }
      return r;
    };
  }

  /** Tells the policy of the page touches [from, to) (positions: record * 2 + part), all hits. */
  private referenceHits(rs: ResidentSet, words: Uint32Array, from: number, to: number): void {
    for (let pos = from; pos < to; ) {
      const i = pos >> 1;
      const hi = words[2 * i + 1]!;
      const la = (hi & 0xffff) * TWO32 + words[2 * i]!;
      const tk = (hi >>> 16) & 3;
      const write = tk === 1 || tk === 3;
      const first = Math.floor(la / 4096);
      const last = Math.floor((la + ((hi >>> 18) & 0xfff)) / 4096);
      if ((pos & 1) === 0) {
        rs.reference(first, write);
        pos += last === first ? 2 : 1;
      } else {
        rs.reference(last, write);
        pos++;
      }
    }
  }

  /** A fault the VMM refused at record i: counted once, the record counted as done; returns the next position. */
  private refused(words: Uint32Array, i: number, f: FaultInfo, outcome: FaultOutcome): number {
    this.countRefused(f, outcome);
    this.out[(words[2 * i + 1]! >>> 16) & 3]! += 1;
    return 2 * i + 2;
  }

  private countRefused(f: FaultInfo, outcome: FaultOutcome): void {
    if (outcome.type === 'oom' || (outcome.type === 'sigbus' && !this.countSigbus)) throw faultError(f, outcome);
    if (outcome.type === 'sigbus') this.sigbus++;
    else this.segv++;
    if (this.segfaults.length < MAX_SEGFAULTS_LISTED) {
      this.segfaults.push({ address: hex(f.address), access: f.access, cause: outcome.type === 'segv' ? outcome.cause : faultError(f, outcome).message });
    }
  }

  // ------------------------------------------------------------ the hierarchy

  private recordsDone(): number {
    const o = this.out;
    return o[TraceOut.LOADS]! + o[TraceOut.STORES]! + o[TraceOut.INSTRS]! + o[TraceOut.MODIFIES]!;
  }

  /** One point of the time series: the counts so far (collect-result turns them into rates per window). */
  private point(): void {
    const st = this.hierStats;
    if (st) this.series.push([this.recordsDone(), ...levelCounts(st)]);
    else {
      // The retry after a resolved fault is not the trace's lookup (as collect-result counts).
      const c = this.machine.counters;
      const misses = c[Counter.MISSES]! - this.tlb0[1] - this.retries;
      this.series.push([this.recordsDone(), c[Counter.HITS]! - this.tlb0[0] + misses, misses]);
    }
  }

  /** Settles a refused last access (its misses go to its levels' first arrays) before the counts are read. */
  finish(): void {
    if (this.hierStats) this.machine.core.hierTraceBatch(new Uint32Array(0), 0, 0, USER | CHECKED, this.out);
    if (this.o.seriesEvery && this.recordsDone() % this.o.seriesEvery !== 0) this.point();
  }
}

/** The position of the touch after `pos` (a record that stays in one page has one touch, at part 0). */
function nextTouch(words: Uint32Array, pos: number): number {
  if ((pos & 1) === 1) return pos + 1;
  const i = pos >> 1;
  const hi = words[2 * i + 1]!;
  const la = (hi & 0xffff) * TWO32 + words[2 * i]!;
  return Math.floor(la / 4096) === Math.floor((la + ((hi >>> 18) & 0xfff)) / 4096) ? pos + 2 : pos + 1;
}

/** The page the touch at `pos` touches. */
function touchPage(words: Uint32Array, pos: number): number {
  const i = pos >> 1;
  const hi = words[2 * i + 1]!;
  const la = (hi & 0xffff) * TWO32 + words[2 * i]!;
  return Math.floor(((pos & 1) === 0 ? la : la + ((hi >>> 18) & 0xfff)) / 4096);
}

/** Lookups and misses of the L1I, L1D and second level and the misses of every level, from a hierarchy's stats. */
export function levelCounts(st: Float64Array): number[] {
  const hits = (slots: readonly number[]) => slots.reduce((n, s) => n + st[s * SlotStat.FIELDS + SlotStat.HITS]!, 0);
  const l1iMiss = st[HierStat.L1I_MISSES]!;
  const l1dMiss = st[HierStat.L1D_MISSES]!;
  const stlbMiss = st[HierStat.STLB_MISSES_I]! + st[HierStat.STLB_MISSES_D]!;
  // The second level with the L2 ITLB, if any: the stlb misses count both sides.
  return [hits(LEVEL_SLOTS.l1i) + l1iMiss, l1iMiss, hits(LEVEL_SLOTS.l1d) + l1dMiss, l1dMiss, hits(LEVEL_SLOTS.stlb) + hits(LEVEL_SLOTS.l2i) + stlbMiss, stlbMiss, st[HierStat.MISSES_ALL]!];
}
