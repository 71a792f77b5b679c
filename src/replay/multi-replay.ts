/**
 * Replay of several programs at once (ChampSim's multi-program mode, with the processes
 * competing for one machine's memory): one process per trace on one machine of `cpus` CPUs,
 * interleaved deterministically by a quantum of accesses. Process i runs on CPU i mod cpus (a
 * per-CPU run queue, no migration); each CPU runs its processes round robin, a quantum at a
 * time, so with more traces than CPUs the processes are context-switched (Linux's ASIDs: six
 * per CPU). The CPUs take their quanta in turn (CPU 0's, then CPU 1's, ...), which makes every
 * result exact and repeatable. Results per process, per CPU and for the machine.
 */
import { performance } from 'node:perf_hooks';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { Counter } from '../core/constants.js';
import { HierStat, Slot, SlotStat } from '../tlb/layout.js';
import type { Machine } from '../system/machine.js';
import { replayMachine } from './replay-machine.js';
import type { AddressSpace } from '../vmm/address-space.js';
import type { Cpu } from '../machine/cpu.js';
import type { TraceChunk } from '../trace/trace-record.js';
import { openTrace } from '../trace/trace-reader.js';
import { ReplayEngine } from './replay-engine.js';
import { MeasureWindow } from './measure-window.js';
import { resolveReplayOptions, type ReplayOptions } from './replay-options.js';
import { checkChunk } from './page-touches.js';
import { USER_PAGES } from './collect-result.js';
import type { TraceInput } from './trace-input.js';
import type { MultiReplayResult, ProcessReplayResult } from './multi-replay-result.js';

/** Options of a replay of several traces: those of replay() (the TLB, memory, pressure...), and the CPUs and quantum. */
export interface MultiReplayOptions extends Omit<ReplayOptions, 'setup' | 'onFinish' | 'seriesEvery'> {
  /** CPUs of the machine (default 1). Process i runs on CPU i mod cpus. */
  cpus?: number;
  /** Accesses (trace records) a process runs before its CPU switches to the next one (default 10000). */
  quantum?: number;
  /** Called with each fresh process and its index before the replay (create regions here). */
  setup?: (space: AddressSpace, index: number) => void;
  /** Called with each process and its index after the replay, before the machine is disposed. */
  onFinish?: (space: AddressSpace, index: number) => void;
}

const MULTI_KEYS = new Set(['cpus', 'quantum', 'setup', 'onFinish']);
const DEFAULT_QUANTUM = 10_000;

/** One process of the replay: its trace's chunks, its engine, and what it counted. */
interface Proc {
  index: number;
  space: AddressSpace;
  engine: ReplayEngine;
  info: ProcessReplayResult['trace'];
  finish: () => void;
  iter: Iterator<TraceChunk> | AsyncIterator<TraceChunk>;
  chunk: TraceChunk | undefined;
  offset: number;
  done: boolean;
  records: number;
  cpu: Cpu;
  // What its slices counted on the CPU (counter deltas).
  hits: number;
  misses: number;
  walks: number;
  faults: number;
  retries: number;
  slices: number;
  /** ChampSim's windows of this process (its own warm-up and simulation), when asked for. */
  window?: MeasureWindow;
  /** The process reached the end of its warm-up: its counts start there. */
  atWarm: boolean;
  /** Its faults (minor, major, copy-on-write) at the end of its warm-up. */
  faultBase?: { minor: number; major: number; cow: number };
}

function isChunkIterable(t: unknown): t is Iterable<TraceChunk> | AsyncIterable<TraceChunk> {
  if (t === null || typeof t !== 'object' || t instanceof Uint8Array) return false;
  if (typeof (t as NodeJS.ReadableStream).pipe === 'function') return false;
  return Symbol.iterator in t || Symbol.asyncIterator in t;
}

/** Validates the multi-replay options; the rest are replay()'s. */
function resolveMulti(options: MultiReplayOptions, traces: number): { cpus: number; quantum: number; single: ReplayOptions } {
  if (options === null || typeof options !== 'object') throw new VmmError('EINVAL', `options must be an object, got ${describe(options)}`);
  const single: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (!MULTI_KEYS.has(k)) single[k] = v;
  for (const k of ['from', 'save'] as const) if (k in single) throw new VmmError('EINVAL', `options.${k} is for one trace (replay(trace, options)): a snapshot of several programs is not what a replay of one continues`);
  if ('seriesEvery' in single) throw new VmmError('EINVAL', 'options.seriesEvery is for one trace (replay(trace, options))');
  const cpus = options.cpus ?? 1;
  if (typeof cpus !== 'number' || !Number.isInteger(cpus) || cpus < 1 || cpus > 256) throw new VmmError('EINVAL', `options.cpus must be an integer in [1, 256], got ${describe(options.cpus)}`);
  const quantum = options.quantum ?? DEFAULT_QUANTUM;
  if (typeof quantum !== 'number' || !Number.isSafeInteger(quantum) || quantum < 1) throw new VmmError('EINVAL', `options.quantum must be a positive whole number of accesses, got ${describe(options.quantum)}`);
  for (const k of ['setup', 'onFinish'] as const) if (options[k] !== undefined && typeof options[k] !== 'function') throw new VmmError('EINVAL', `options.${k} must be a function, got ${describe(options[k])}`);
  if (traces < 1) throw new VmmError('EINVAL', 'traces must list at least one trace');
  if (options.policy === 'opt') throw new VmmError('EINVAL', "options.policy 'opt' needs one trace's future: replay one trace at a time");
  return { cpus, quantum, single: single as ReplayOptions };
}

/**
 * Replays several traces at once, one process each, on one machine of `options.cpus` CPUs (see
 * the module comment for the schedule). Returns per-process, per-CPU and machine-wide counts.
 */
export async function replayMany(traces: readonly TraceInput[], options: MultiReplayOptions = {}): Promise<MultiReplayResult> {
  if (!Array.isArray(traces)) throw new VmmError('EINVAL', 'traces must be an array of traces');
  const { cpus, quantum, single } = resolveMulti(options, traces.length);
  const o = resolveReplayOptions(single);
  const pr = o.pressure;
  const machine = replayMachine(single, o, cpus);
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < traces.length; i++) {
      const space = pr ? machine.createAddressSpace({ residentLimit: pr.frames, policy: pr.policy, flushAccessed: pr.flushAccessed, ...(pr.policyOptions ? { policyOptions: pr.policyOptions } : {}) }) : machine.createAddressSpace();
      const cpu = machine.cpu(i % cpus);
      cpu.run(space);
      if (options.setup) options.setup(space, i);
      if (pr) space.vm.resident!.countTouched = true;
      const src = await openSource(traces[i]!, single, o.strict);
      const p: Proc = { index: i, space, engine: new ReplayEngine(machine, space, o), ...src, chunk: undefined, offset: 0, done: false, records: 0, cpu, hits: 0, misses: 0, walks: 0, faults: 0, retries: 0, slices: 0, atWarm: false };
      if (o.warmup > 0 || o.simulate !== Infinity || o.skip > 0) windowed(p, o.warmup, o.simulate, o.skip);
      procs.push(p);
    }
    if (options.setup) {
      // The experiment starts clean: what setup touched is neither "touched" nor cached.
      for (const p of procs) p.space.pages.scanAccessed(0, USER_PAGES, true);
      for (let c = 0; c < cpus; c++) machine.cpu(c).tlb.flush({ global: true });
    }
    machine.resetStats();
    const before = machine.core.totalFrames - machine.core.freeFrames();
    const t0 = performance.now();
    // Per-CPU run queues: process i on CPU i mod cpus, round robin within a queue.
    const queues: Proc[][] = Array.from({ length: cpus }, () => []);
    for (const p of procs) queues[p.index % cpus]!.push(p);
    const next = new Array<number>(cpus).fill(0);
    for (;;) {
      let ran = false;
      for (let c = 0; c < cpus; c++) {
        // The next process of this CPU's queue that has records left (one at its trace's end leaves the queue).
        const q = queues[c]!;
        let p: Proc | undefined;
        while (q.length > 0) {
          const cand = q[next[c]! % q.length]!;
          if ((await nextRecords(cand)) || cand.atWarm) {
            p = cand;
            next[c] = (q.indexOf(cand) + 1) % q.length;
            break;
          }
          q.splice(q.indexOf(cand), 1);
        }
        if (!p) {
          if (machine.cpu(c).current !== undefined) machine.cpu(c).idle();
          continue;
        }
        if (!p.atWarm) await runSlice(machine, p, quantum);
        // ChampSim's warm-up: each process counts from the end of its own; the machine's and the CPUs' counts start when every process is past its warm-up.
        if (p.atWarm) {
          p.atWarm = false;
          Object.assign(p, { hits: 0, misses: 0, walks: 0, faults: 0, retries: 0, slices: 0, records: 0 });
          p.engine.resetCounts();
          p.faultBase = { ...p.space.stats().faults };
          if (procs.every((x) => x.window === undefined || x.window.warmedUp)) machine.resetStats();
        }
        ran = true;
      }
      if (!ran) break;
    }
    const timeMs = performance.now() - t0;
    for (const p of procs) p.finish();
    const result = collect(machine, procs, o.pageSize, quantum, before, timeMs);
    if (options.onFinish) for (const p of procs) options.onFinish(p.space, p.index);
    return result;
  } finally {
    for (const p of procs) void closeIterator(p.iter);
    machine.dispose();
  }
}

/** Opens one trace: a path, bytes, a stream or chunks (records checked as they are read: slices may cut a chunk). */
async function openSource(trace: TraceInput, options: ReplayOptions, strict: boolean): Promise<Pick<Proc, 'info' | 'iter' | 'finish'>> {
  if (isChunkIterable(trace)) {
    const info: ProcessReplayResult['trace'] = { source: '<records>', format: 'records', gzip: false, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
    const iter = Symbol.asyncIterator in trace ? (trace as AsyncIterable<TraceChunk>)[Symbol.asyncIterator]() : (trace as Iterable<TraceChunk>)[Symbol.iterator]();
    return { info, iter, finish: () => undefined };
  }
  if (typeof trace !== 'string' && !(trace instanceof Uint8Array) && (trace === null || typeof trace !== 'object' || typeof (trace as NodeJS.ReadableStream).pipe !== 'function')) {
    throw new VmmError('EINVAL', 'each trace must be a file path, a Uint8Array, a readable stream or an iterable of record chunks');
  }
  const reader = await openTrace(trace, { strict, onSkip: options.onSkip, onProgress: options.onProgress, ...(options.format ? { format: options.format } : {}) });
  const info: ProcessReplayResult['trace'] = { source: reader.source, format: reader.format, gzip: reader.gzip, compression: reader.compression, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
  return {
    info,
    iter: reader.chunks()[Symbol.asyncIterator](),
    finish() {
      const s = reader.stats();
      info.skipped = s.skipped;
      info.ignoredLines = s.ignoredLines;
      info.bytes = s.bytesRead;
    },
  };
}

async function closeIterator(it: Iterator<TraceChunk> | AsyncIterator<TraceChunk>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // closing is best effort: the replay's own error (if any) is what the caller sees
  }
}

/** Hits and misses the CPU's TLB counted so far (its hierarchy's, when it has one). */
function lookups(cpu: Cpu): { hits: number; misses: number } {
  const st = cpu.hierStats;
  if (!st) return { hits: cpu.counters[Counter.HITS]!, misses: cpu.counters[Counter.MISSES]! };
  let hits = 0;
  for (let s = 0; s < Slot.PWC_PML4; s++) hits += st[s * SlotStat.FIELDS + SlotStat.HITS]!;
  return { hits, misses: st[HierStat.MISSES_ALL]! };
}

/** True when process `p` has records left (the next non-empty chunk read in when the current one is done); false at its trace's end. */
async function nextRecords(p: Proc): Promise<boolean> {
  if (p.atWarm) return false;
  while (!p.done && (!p.chunk || p.offset >= p.chunk.count)) {
    const n = await p.iter.next();
    if (n.done) {
      p.done = true;
      break;
    }
    if (n.value === WARM) {
      // The end of its warm-up: the slice stops here (its counts so far are the warm-up's).
      p.atWarm = true;
      return false;
    }
    checkChunk(n.value);
    if (n.value.events?.some((e) => e.type === 'image' || e.type === 'syscall')) throw new VmmError('EINVAL', `trace ${p.info.source} is a recorded program (processes and system calls): it replays on its own, replay(trace, { cpus }) (vmsim replay TRACE --cpus N)`);
    p.chunk = n.value;
    p.offset = 0;
  }
  return !p.done;
}

/** The marker a process's chunks carry where its warm-up ends. */
const WARM: TraceChunk = { words: new Uint32Array(0), count: 0 };

/** Runs process `p`'s chunks through ChampSim's windows: its warm-up's end marked (WARM), and nothing after its simulation. */
function windowed(p: Proc, warmup: number, simulate: number, skip: number): void {
  const inner = p.iter;
  let warmNow = false;
  const w = new MeasureWindow(warmup, simulate, () => (warmNow = true), skip);
  p.window = w;
  p.iter = (async function* () {
    for (;;) {
      if (w.done) return;
      const n = await inner.next();
      if (n.done) {
        w.finish();
        if (warmNow) yield WARM;
        return;
      }
      checkChunk(n.value);
      for (const piece of w.pieces(n.value)) {
        if (warmNow) {
          warmNow = false;
          yield WARM;
        }
        yield piece;
      }
      if (warmNow) {
        warmNow = false;
        yield WARM;
      }
    }
  })();
}

/** Runs up to `quantum` records of process `p` (which has some left) on its CPU: a context switch when the CPU ran another. */
async function runSlice(machine: Machine, p: Proc, quantum: number): Promise<void> {
  const cpu = p.cpu;
  cpu.run(p.space);
  const l0 = lookups(cpu);
  const w0 = cpu.counters[Counter.WALKS]!;
  const f0 = cpu.counters[Counter.FAULTS]!;
  const r0 = cpu.retries;
  let left = quantum;
  while (left > 0 && (await nextRecords(p))) {
    const chunk = p.chunk!;
    const take = Math.min(left, chunk.count - p.offset);
    const words = chunk.words.subarray(p.offset * 2, (p.offset + take) * 2);
    p.engine.run(words, take);
    p.offset += take;
    p.records += take;
    left -= take;
  }
  // A refused last access's misses are counted in this slice (the hierarchy settles it), not in the next process's.
  if (cpu.hierStats) machine.settleHierarchy(cpu);
  const l1 = lookups(cpu);
  const retries = cpu.retries - r0;
  p.hits += l1.hits - l0.hits;
  // The single TLB counts a retry as one more lookup and miss; the hierarchy does not.
  p.misses += l1.misses - l0.misses - (cpu.hierStats ? 0 : retries);
  p.walks += cpu.counters[Counter.WALKS]! - w0;
  p.faults += cpu.counters[Counter.FAULTS]! - f0;
  p.retries += retries;
  p.slices++;
}

/** The result: each process's counts, each CPU's statistics, the machine's totals. */
function collect(machine: Machine, procs: Proc[], pageSize: '4k' | '2m', quantum: number, framesBefore: number, timeMs: number): MultiReplayResult {
  const processes = procs.map((p): ProcessReplayResult => {
    const out = p.engine.out;
    const vm = p.space.stats();
    const touched = p.space.pages.scanAccessed(0, USER_PAGES, false);
    const rs = p.space.vm.resident;
    p.info.records = p.records;
    const lookupsN = p.hits + p.misses;
    const r: ProcessReplayResult = {
      trace: p.info,
      cpu: p.cpu.index,
      slices: p.slices,
      accesses: out[0]! + out[1]! + out[2]! + out[3]!,
      byKind: { instructions: out[2]!, loads: out[0]!, stores: out[1]!, modifies: out[3]! },
      pageCrossing: out[4]!,
      tlb: { lookups: lookupsN, hits: p.hits, misses: p.misses, missRate: lookupsN > 0 ? p.misses / lookupsN : 0, retries: p.retries },
      walks: p.walks,
      faults: { total: p.faults, pageIns: p.engine.pageIns, writeProtect: p.engine.writeProtect, minor: vm.faults.minor - (p.faultBase?.minor ?? 0), major: vm.faults.major - (p.faultBase?.major ?? 0), cow: vm.faults.cow - (p.faultBase?.cow ?? 0), segv: p.engine.segv },
      segfaults: p.engine.segfaults,
      pagesTouched: rs?.countTouched ? rs.touchedPages : touched.leaves,
      bytesTouched: rs?.countTouched ? rs.touchedPages * 4096 : touched.pages * 4096,
      regions: vm.regions,
      ...(p.window ? { window: p.window.result() } : {}),
    };
    if (rs) {
      const c = rs.counters;
      r.swap = { in: c.pswpin + c.zswpin, out: c.pswpout + c.zswpout };
      r.evictions = { clean: c.evict_clean, dirty: c.evict_dirty };
    }
    return r;
  });
  const st = machine.stats();
  const accesses = processes.reduce((n, p) => n + p.accesses, 0);
  return {
    processes,
    cpus: Array.from({ length: machine.cpus }, (_, i) => machine.cpu(i).stats()),
    machine: {
      accesses,
      tlb: st.tlb,
      pageFaults: st.pageFaults,
      faults: st.faults,
      shootdowns: st.shootdowns,
      framesUsed: machine.core.totalFrames - machine.core.freeFrames() - framesBefore,
    },
    cpuCount: machine.cpus,
    quantum,
    pageSize,
    backend: machine.backend,
    timeMs,
    nsPerAccess: accesses > 0 ? (timeMs * 1e6) / accesses : 0,
  };
}
