/** replay(): a memory-access trace through one simulated process, with the TLB an experiment chooses. */
import { performance } from 'node:perf_hooks';
import { VmmError } from '../errors.js';
import { replayMachine } from './replay-machine.js';
import type { TraceChunk } from '../trace/trace-record.js';
import { openTrace } from '../trace/trace-reader.js';
import { ReplayEngine } from './replay-engine.js';
import { resolveReplayOptions, type ReplayOptions } from './replay-options.js';
import type { ReplayResult } from './replay-result.js';
import { collectResult, measureBaseline, USER_PAGES, type Baseline } from './collect-result.js';
import { MeasureWindow } from './measure-window.js';
import { checkChunk } from './page-touches.js';
import { traceFuture } from './trace-future.js';
import { OptPolicy } from '../reclaim/policies/opt.js';
import { OptFuture } from '../reclaim/policies/opt-future.js';
import { abortable, checkSignal, throwIfAborted, untilAborted } from '../abort.js';
import { readsEndSoon } from './reads-end-soon.js';
import { replayMany, type MultiReplayOptions } from './multi-replay.js';
import { isProgramChunk, runProgram } from './program/run-program.js';
import type { MultiReplayResult } from './multi-replay-result.js';
import { countFromStart, saveReplay, startFromSnapshot } from './replay-snapshot.js';

import type { TraceInput } from './trace-input.js';

export type { TraceInput } from './trace-input.js';

interface Source {
  info: ReplayResult['trace'];
  chunks: AsyncIterable<TraceChunk> | Iterable<TraceChunk>;
  /** True when a pending read ends soon (a regular file, bytes, chunks in memory): an abort waits for it and closes the source before rejecting. */
  bounded: boolean;
  finish(): void;
  /** Closes the trace (again: a no-op); iterating `chunks` to its end or stopping it closes it too. */
  close(): Promise<void>;
}

function isChunkIterable(t: unknown): t is Iterable<TraceChunk> | AsyncIterable<TraceChunk> {
  if (t === null || typeof t !== 'object' || t instanceof Uint8Array) return false;
  if (typeof (t as NodeJS.ReadableStream).pipe === 'function') return false;
  return Symbol.iterator in t || Symbol.asyncIterator in t;
}

/** EINVAL unless `trace` is one of the TraceInput shapes. */
function checkTraceInput(trace: TraceInput): void {
  if (isChunkIterable(trace)) return;
  if (typeof trace !== 'string' && !(trace instanceof Uint8Array) && (trace === null || typeof trace !== 'object' || typeof (trace as NodeJS.ReadableStream).pipe !== 'function')) {
    throw new VmmError('EINVAL', 'trace must be a file path, a Uint8Array, a readable stream or an iterable of record chunks');
  }
}

async function openSource(trace: TraceInput, options: ReplayOptions, strict: boolean, deferRecordCheck = true): Promise<Source> {
  if (isChunkIterable(trace)) {
    const info: ReplayResult['trace'] = { source: '<records>', format: 'records', gzip: false, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
    return { info, chunks: trace, bounded: !(Symbol.asyncIterator in trace), finish: () => undefined, close: async () => undefined };
  }
  const reader = await openTrace(trace, { strict, onSkip: options.onSkip, onProgress: options.onProgress, deferRecordCheck, ...(options.format ? { format: options.format } : {}) });
  const info: ReplayResult['trace'] = { source: reader.source, format: reader.format, gzip: reader.gzip, compression: reader.compression, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
  return {
    info,
    chunks: reader.chunks(),
    bounded: reader.totalBytes !== undefined,
    close: () => reader.close(),
    finish() {
      const s = reader.stats();
      info.skipped = s.skipped;
      info.ignoredLines = s.ignoredLines;
      info.bytes = s.bytesRead;
    },
  };
}

/** True for a list of traces (replay of several programs): an array whose every element is a trace (a path, bytes, a stream or an iterable), not one trace given as an array of chunks. */
function isTraceList(t: unknown): t is readonly TraceInput[] {
  const isTrace = (x: unknown) => typeof x === 'string' || x instanceof Uint8Array || (x !== null && typeof x === 'object' && (typeof (x as NodeJS.ReadableStream).pipe === 'function' || Symbol.iterator in x || Symbol.asyncIterator in x));
  return Array.isArray(t) && t.length > 0 && t.every(isTrace);
}

/**
 * Replays a trace into a fresh process on a fresh machine and returns exact counts: accesses
 * by kind, TLB hits and misses per level, walks, faults, pages touched, frames used. Given a
 * list of traces, replays them at once, one process each, on a machine of `options.cpus` CPUs
 * (src/replay/multi-replay.ts). With `options.signal` aborted it rejects with an AbortError
 * (between chunks, or while one is read), having closed the trace and disposed the machine.
 */
export async function replay(traces: readonly TraceInput[], options?: MultiReplayOptions): Promise<MultiReplayResult>;
export async function replay(trace: TraceInput, options?: ReplayOptions): Promise<ReplayResult>;
export async function replay(trace: TraceInput | readonly TraceInput[], options: ReplayOptions | MultiReplayOptions = {}): Promise<ReplayResult | MultiReplayResult> {
  if (isTraceList(trace)) return replayMany(trace, options as MultiReplayOptions);
  return replayOne(trace as TraceInput, options as ReplayOptions);
}

async function replayOne(trace: TraceInput, options: ReplayOptions): Promise<ReplayResult> {
  const o = resolveReplayOptions(options);
  const pr = o.pressure;
  checkTraceInput(trace);
  const signal = checkSignal(options.signal, 'options.signal');
  throwIfAborted(signal);
  // OPT needs the future: a first pass over the trace, unless the caller gave it.
  if (pr && pr.policy === 'opt' && pr.policyOptions?.future === undefined) pr.policyOptions = { ...pr.policyOptions, future: await traceFuture(trace, o.strict, options.onProgress, signal, o.format) };
  // A future given as plain page keys is matched as replay needs: references the VMM never reports (setup's pages, refused accesses) are passed over.
  else if (pr && pr.policy === 'opt' && !(pr.policyOptions!.future instanceof OptFuture) && isArrayLike(pr.policyOptions!.future)) pr.policyOptions = { ...pr.policyOptions, future: OptFuture.from(pr.policyOptions!.future, 'skip') };
  // A trace of processes (a recorded program; CloudSuite's address spaces) is told by its first chunk's events.
  const early = await untilAborted(openSource(trace, options, o.strict, o.warmup === 0 && o.simulate === Infinity && o.skip === 0), signal, (s) => s.close(), signal !== undefined && (await readsEndSoon(trace)));
  const iter = (Symbol.asyncIterator in early.chunks ? (early.chunks as AsyncIterable<TraceChunk>)[Symbol.asyncIterator]() : (early.chunks as Iterable<TraceChunk>)[Symbol.iterator]()) as AsyncIterator<TraceChunk> | Iterator<TraceChunk>;
  let firstChunk: IteratorResult<TraceChunk>;
  try {
    firstChunk = await iter.next();
  } catch (e) {
    await early.close().catch(() => undefined);
    throw e;
  }
  if (!firstChunk.done && isProgramChunk(firstChunk.value)) {
    for (const k of ['setup', 'seriesEvery', 'from', 'save', 'skip'] as const) {
      if (options[k] !== undefined) {
        await early.close().catch(() => undefined);
        throw new VmmError('EINVAL', `options.${k} is for a trace of accesses, not one of processes (a recorded program)`);
      }
    }
    try {
      const result = await runProgram(firstChunk.value, iter, options, o, early.info, () => early.finish());
      return result;
    } finally {
      await early.close().catch(() => undefined);
    }
  }
  // The chunks again, the first one included.
  early.chunks = (async function* () {
    if (!firstChunk.done) yield firstChunk.value;
    for (;;) {
      const n = await iter.next();
      if (n.done) return;
      yield n.value;
    }
  })();
  // The machine's CPU has the experiment's TLB: the single TLB, or the hierarchy (options.tlb and options.cpu, validated above).
  // Or the machine of a snapshot, its one process continuing (replay-snapshot.ts).
  const start = options.from !== undefined ? startFromSnapshot(options, o) : undefined;
  const machine = start ? start.machine : replayMachine(options, o);
  try {
    const space = start ? start.space : pr ? machine.createAddressSpace({ residentLimit: pr.frames, policy: pr.policy, flushAccessed: pr.flushAccessed, ...(pr.policyOptions ? { policyOptions: pr.policyOptions } : {}) }) : machine.createAddressSpace();
    if (options.setup) {
      options.setup(space);
      // The experiment starts clean: what setup touched is neither "touched" nor cached.
      space.pages.scanAccessed(0, USER_PAGES, true);
      machine.tlb.flush({ global: true });
      // The hierarchy counts from the trace's first access (setup's went through it too).
      machine.cpu(0).tlbStats();
      machine.cpu(0).hierStats?.fill(0);
      // OPT's future is the trace's: the pages setup touched count from the trace's first reference.
      const policy = space.vm.resident?.policy;
      if (policy instanceof OptPolicy) policy.rewind();
    }
    // Under a resident limit most pages are evicted by the end: count the trace's pages as they fault in (not setup's).
    if (pr) space.vm.resident!.countTouched = true;
    const before: Baseline = { counters: Float64Array.from(machine.counters), usedFrames: machine.core.totalFrames - machine.core.freeFrames() };
    const engine = new ReplayEngine(machine, space, o);
    // ChampSim's warm-up: at its end the counts start again from there; with `save`, the machine
    // as the warm-up left it is what the file holds.
    let saved = false;
    let rebased = false;
    const window = new MeasureWindow(
      o.warmup,
      o.simulate,
      () => {
        rebased = true;
        if (options.save !== undefined && o.warmup > 0) {
          saveReplay(engine, options.save);
          saved = true;
        }
        engine.resetCounts();
        Object.assign(before, measureBaseline(machine, space));
      },
      o.skip,
    );
    const src = early;
    const t0 = performance.now();
    let records = 0;
    try {
      for await (const chunk of abortable(src.chunks, signal, src.bounded)) {
        checkChunk(chunk);
        if (window.open) {
          records += engine.run(chunk.words, chunk.count, chunk.recheck);
          continue;
        }
        for (const piece of window.pieces(chunk)) records += engine.run(piece.words, piece.count);
        if (window.done) break;
      }
      window.finish();
    } finally {
      // A trace never iterated (aborted before its first chunk) is closed here; a pipe still waiting for data is closed when the read ends.
      if (src.bounded) await src.close();
      else void src.close().catch(() => undefined);
    }
    engine.finish();
    const timeMs = performance.now() - t0;
    src.finish();
    src.info.records = records;
    const result = collectResult(engine, o, src.info, before, timeMs);
    if (!window.open) result.window = window.result();
    if (start) countFromStart(result, start, rebased);
    if (options.save !== undefined && !saved) saveReplay(engine, options.save);
    options.onFinish?.(space);
    return result;
  } finally {
    machine.dispose();
  }
}

/** True for an array or typed array of page keys (a user's `future`); the registry refuses anything else with a clear EINVAL. */
function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}
