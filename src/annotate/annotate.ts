/**
 * Attribution, as cg_annotate does it for caches: which regions of the memory map and which
 * instructions the TLB misses, page walks and page faults of a replay come from.
 *
 * The replay's own loop is left exactly as it is (it pays nothing for this): annotate drives
 * the same ReplayEngine over windows of a chunk instead of whole chunks. A run of records that
 * are certain to hit — with one TLB, each one's page is present in the TLB's arrays (shared with
 * TypeScript) with the permissions it needs; with a hierarchy, each touches the page the last
 * record of its side (fetch or data) touched, with no stronger permission — runs as one window,
 * since hits fill and evict nothing; every other record runs alone, and the counters' change
 * across it is its misses, walks and faults. The totals are the replay's (annotate returns the
 * ReplayResult too, and checks that they add up).
 */
import { VmmError } from '../errors.js';
import { performance } from 'node:perf_hooks';
import { Counter } from '../core/constants.js';
import { tlbLookup, userHitAllowed } from '../core/tlb-state.js';
import type { Machine } from '../system/machine.js';
import { replayMachine } from '../replay/replay-machine.js';
import { ReplayEngine } from '../replay/replay-engine.js';
import { resolveReplayOptions, type ReplayOptions } from '../replay/replay-options.js';
import type { ReplayResult } from '../replay/replay-result.js';
import { collectResult } from '../replay/collect-result.js';
import { traceFuture } from '../replay/trace-future.js';
import { openTrace } from '../trace/trace-reader.js';
import { TraceKind } from '../trace/trace-record.js';
import { HierStat } from '../tlb/layout.js';
import { MMAP_MIN_ADDR, TASK_SIZE } from '../vmm/layout.js';
import { EventTable, sumEvents, type Events } from './attribution.js';

const TWO32 = 2 ** 32;

/** Options: replay's (the TLB, memory pressure, ...), without the hooks annotate uses itself. */
export type AnnotateOptions = Omit<ReplayOptions, 'setup' | 'onFinish' | 'seriesEvery' | 'from' | 'save'>;

/** A region of the replayed process (its /proc/PID/maps line) and the events at its addresses. */
export interface RegionEvents extends Events {
  line: string;
  start: number;
  end: number;
}

/** An instruction (the address of an `I` record) and the events of its fetch and of the data accesses after it. */
export interface InstructionEvents extends Events {
  address: string;
}

/** What annotate found. */
export interface AnnotateResult {
  /** The replay itself, as replay() reports it. */
  result: ReplayResult;
  /** Every region of the final memory map, in address order; then '(no region)' for accesses outside all (refused). */
  regions: RegionEvents[];
  /** Every instruction with an event or an access, most TLB misses first (then walks, faults, accesses, address). */
  instructions: InstructionEvents[];
  /** Events of records before the trace's first `I` record (or of a trace without any). */
  beforeFirstInstruction: Events;
  /** The events attributed: equal to the replay's TLB misses, walks and faults. */
  totals: Events;
  /** Windows run: runs of certain hits plus records run alone (the price of attribution). */
  windows: number;
}

/** Replays `trace` (a path or a stream) as replay() does, attributing each TLB miss, walk and fault to its region and instruction. */
export async function annotate(trace: string | NodeJS.ReadableStream, options: AnnotateOptions = {}): Promise<AnnotateResult> {
  const o = resolveReplayOptions(options);
  // Snapshots are replay()'s: an annotation starts from a fresh process (its regions are the trace's).
  for (const k of ['from', 'save'] as const) if ((options as ReplayOptions)[k] !== undefined) throw new VmmError('EINVAL', `options.${k} is replay()'s, not annotate()'s`);
  const pr = o.pressure;
  if (pr && pr.policy === 'opt' && pr.policyOptions?.future === undefined) pr.policyOptions = { ...pr.policyOptions, future: await traceFuture(trace, o.strict, options.onProgress) };
  const machine = replayMachine(options, o);
  try {
    const space = pr ? machine.createAddressSpace({ residentLimit: pr.frames, policy: pr.policy, flushAccessed: pr.flushAccessed, ...(pr.policyOptions ? { policyOptions: pr.policyOptions } : {}) }) : machine.createAddressSpace();
    if (pr) space.vm.resident!.countTouched = true;
    const before = { counters: Float64Array.from(machine.counters), usedFrames: machine.core.totalFrames - machine.core.freeFrames() };
    const engine = new ReplayEngine(machine, space, o);
    const reader = await openTrace(trace, { strict: o.strict, ...(options.onSkip ? { onSkip: options.onSkip } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const info: ReplayResult['trace'] = { source: reader.source, format: reader.format, gzip: reader.gzip, compression: reader.compression, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
    const att = new Attributor(machine, engine);
    const t0 = performance.now();
    let records = 0;
    for await (const chunk of reader.chunks()) records += att.run(chunk.words, chunk.count);
    att.finish();
    const timeMs = performance.now() - t0;
    const st = reader.stats();
    Object.assign(info, { records, skipped: st.skipped, ignoredLines: st.ignoredLines, bytes: st.bytesRead });
    const result = collectResult(engine, o, info, before, timeMs);
    return { result, ...att.report(space.maps()), windows: att.windows };
  } finally {
    machine.dispose();
  }
}

/** Runs records window by window through the engine and keeps the events per page and per instruction. */
class Attributor {
  readonly pages = new EventTable();
  readonly instructions = new EventTable();
  readonly before = { accesses: 0, misses: 0, walks: 0, faults: 0 };
  windows = 0;
  /** The address of the last `I` record (-1: none yet). */
  private instr = -1;
  /** The address of the last record run. */
  private lastLa = 0;
  /** Hierarchy: the page each side (0 data, 1 fetch) touched last, and whether it was written (-1: unknown). */
  private readonly lastPage = [-1, -1];
  private readonly lastWrite = [false, false];
  private readonly hier: Float64Array | undefined;

  constructor(
    private readonly machine: Machine,
    private readonly engine: ReplayEngine,
  ) {
    this.hier = engine.hierStats;
  }

  /** [misses, walks, faults] so far, counted as the replay's result counts them. */
  private counts(): [number, number, number] {
    const c = this.machine.counters;
    const misses = this.hier ? this.hier[HierStat.MISSES_ALL]! : c[Counter.MISSES]! - this.machine.retries;
    return [misses, c[Counter.WALKS]!, c[Counter.FAULTS]!];
  }

  /** Replays records [0, count) of a chunk; returns count. */
  run(words: Uint32Array, count: number): number {
    let i = 0;
    while (i < count) {
      let j = i;
      while (j < count && this.certainHit(words, j)) j++;
      if (j > i) {
        const c0 = this.counts();
        this.window(words, i, j);
        this.accountHits(words, i, j);
        const c1 = this.counts();
        // Certain hits have no event; should one have any, it is charged to the window's first page (and the current instruction) rather than lost.
        if (c1[0] !== c0[0] || c1[1] !== c0[1] || c1[2] !== c0[2]) this.account(words, i, c1[0] - c0[0], c1[1] - c0[1], c1[2] - c0[2], false);
        i = j;
        continue;
      }
      const c0 = this.counts();
      const segv0 = this.engine.segv;
      this.window(words, i, i + 1);
      // A refused access's hierarchy misses are settled by the next batch: settle them now, for this record.
      const refused = this.engine.segv !== segv0;
      if (refused) this.engine.finish();
      const c1 = this.counts();
      this.account(words, i, c1[0] - c0[0], c1[1] - c0[1], c1[2] - c0[2]);
      this.learn(words, i, c1[2] !== c0[2], refused);
      i++;
    }
    return count;
  }

  /** The engine's settling of a refused last access: its events go to the last record's place. */
  finish(): void {
    const c0 = this.counts();
    this.engine.finish();
    const c1 = this.counts();
    if (c1[0] !== c0[0] || c1[1] !== c0[1] || c1[2] !== c0[2]) this.charge(this.lastLa, c1[0] - c0[0], c1[1] - c0[1], c1[2] - c0[2], 0);
  }

  private window(words: Uint32Array, from: number, to: number): void {
    this.windows++;
    this.engine.run(words.subarray(2 * from, 2 * to), to - from);
  }

  /**
   * Counts the accesses of records [from, to), which had no event: runs on one page and the
   * records of one instruction are added at once (a table update per record would cost more
   * than the replay of it).
   */
  private accountHits(words: Uint32Array, from: number, to: number): void {
    let page = -1;
    let pageRun = 0;
    let instrRun = 0;
    for (let k = from; k < to; k++) {
      const hi = words[2 * k + 1]!;
      const la = (hi & 0xffff) * TWO32 + words[2 * k]!;
      const p = Math.floor(la / 4096);
      if (p !== page) {
        if (pageRun > 0) this.pages.add(page, pageRun, 0, 0, 0);
        page = p;
        pageRun = 0;
      }
      pageRun++;
      if (((hi >>> 16) & 3) === TraceKind.INSTR) {
        this.chargeInstr(instrRun);
        instrRun = 0;
        this.instr = la;
      }
      instrRun++;
      this.lastLa = la;
    }
    if (pageRun > 0) this.pages.add(page, pageRun, 0, 0, 0);
    this.chargeInstr(instrRun);
  }

  /** `n` accesses, no event, for the current instruction. */
  private chargeInstr(n: number): void {
    if (n === 0) return;
    if (this.instr >= 0) this.instructions.add(this.instr, n, 0, 0, 0);
    else this.before.accesses += n;
  }

  /** Counts record k (its access and these events) for its page and its instruction. */
  private account(words: Uint32Array, k: number, misses: number, walks: number, faults: number, access = true): void {
    const hi = words[2 * k + 1]!;
    const la = (hi & 0xffff) * TWO32 + words[2 * k]!;
    if (access && ((hi >>> 16) & 3) === TraceKind.INSTR) this.instr = la;
    this.lastLa = la;
    this.charge(la, misses, walks, faults, access ? 1 : 0);
  }

  private charge(la: number, misses: number, walks: number, faults: number, accesses: number): void {
    this.pages.add(Math.floor(la / 4096), accesses, misses, walks, faults);
    if (this.instr >= 0) this.instructions.add(this.instr, accesses, misses, walks, faults);
    else {
      this.before.accesses += accesses;
      this.before.misses += misses;
      this.before.walks += walks;
      this.before.faults += faults;
    }
  }

  /** True when record k will hit without a walk or a fault (see the module comment); false when unsure. */
  private certainHit(words: Uint32Array, k: number): boolean {
    const hi = words[2 * k + 1]!;
    const la = (hi & 0xffff) * TWO32 + words[2 * k]!;
    const size = ((hi >>> 18) & 0xfff) + 1;
    // One page, in the user range the VMM serves (others are refused: let them run alone).
    if (Math.floor(la / 4096) !== Math.floor((la + size - 1) / 4096) || la < MMAP_MIN_ADDR || la >= TASK_SIZE) return false;
    const kind = (hi >>> 16) & 3;
    const access = kind === TraceKind.INSTR ? 2 : kind === TraceKind.LOAD ? 0 : 1;
    if (this.hier) {
      const side = kind === TraceKind.INSTR ? 1 : 0;
      return this.lastPage[side] === Math.floor(la / 4096) && (access !== 1 || this.lastWrite[side]!);
    }
    // A replay's machine has one CPU: its TLB and the PCID it gives the process.
    const cpu = this.machine.cpu(0);
    const e = tlbLookup(cpu.tlbState, la, cpu.tag);
    return e >= 0 && userHitAllowed(cpu.tlbState.flags[e]!, access);
  }

  /** After record k ran alone: its page is now its side's last (a fault may have invalidated the other side's). */
  private learn(words: Uint32Array, k: number, faulted: boolean, refused: boolean): void {
    if (!this.hier) return;
    const hi = words[2 * k + 1]!;
    const la = (hi & 0xffff) * TWO32 + words[2 * k]!;
    const kind = (hi >>> 16) & 3;
    const side = kind === TraceKind.INSTR ? 1 : 0;
    const size = ((hi >>> 18) & 0xfff) + 1;
    if (faulted) this.lastPage[1 - side] = -1;
    const onePage = Math.floor(la / 4096) === Math.floor((la + size - 1) / 4096);
    this.lastPage[side] = onePage && !refused && la >= MMAP_MIN_ADDR && la < TASK_SIZE ? Math.floor(la / 4096) : -1;
    this.lastWrite[side] = kind === TraceKind.STORE || kind === TraceKind.MODIFY;
  }

  /** The tables: pages gathered into the regions of the final map, instructions ordered by events. */
  report(maps: string): Omit<AnnotateResult, 'result' | 'windows'> {
    const regions: RegionEvents[] = maps
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line) => {
        const [a, b] = line.split(' ')[0]!.split('-');
        return { line, start: parseInt(a!, 16), end: parseInt(b!, 16), accesses: 0, misses: 0, walks: 0, faults: 0 };
      })
      .sort((p, q) => p.start - q.start);
    const outside: RegionEvents = { line: '(no region: refused accesses)', start: -1, end: -1, accesses: 0, misses: 0, walks: 0, faults: 0 };
    let r = 0;
    for (const [vpn, e] of this.pages.entries()) {
      const la = vpn * 4096;
      while (r < regions.length && regions[r]!.end <= la) r++;
      const into = r < regions.length && regions[r]!.start <= la ? regions[r]! : outside;
      into.accesses += e.accesses;
      into.misses += e.misses;
      into.walks += e.walks;
      into.faults += e.faults;
    }
    if (outside.accesses + outside.misses + outside.walks + outside.faults > 0) regions.push(outside);
    const instructions = this.instructions
      .entries()
      .map(([a, e]) => ({ address: `0x${a.toString(16)}`, ...e, la: a }))
      .sort((p, q) => q.misses - p.misses || q.walks - p.walks || q.faults - p.faults || q.accesses - p.accesses || p.la - q.la)
      .map(({ la: _la, ...rest }) => rest);
    const totals = sumEvents([...regions]);
    return { regions, instructions, beforeFirstInstruction: { ...this.before }, totals };
  }
}
