/** replay(): a memory-access trace through one simulated process, with the TLB an experiment chooses. */
import { performance } from 'node:perf_hooks';
import { Counter, Result, TraceOut } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { Machine } from '../machine/machine.js';
import type { TraceChunk } from '../trace/trace-record.js';
import { openTrace } from '../trace/trace-reader.js';
import { ReplayEngine } from './replay-engine.js';
import { resolveReplayOptions, type ReplayOptions } from './replay-options.js';
import type { ReplayResult } from './replay-result.js';

/** A trace: a file path (lackey text, binary, either gzipped), its bytes, a readable stream, or chunks of packed records. */
export type TraceInput = string | Uint8Array | NodeJS.ReadableStream | Iterable<TraceChunk> | AsyncIterable<TraceChunk>;

const USER_PAGES = 2 ** 47 / 4096;

interface Source {
  info: ReplayResult['trace'];
  chunks: AsyncIterable<TraceChunk> | Iterable<TraceChunk>;
  finish(): void;
}

function isChunkIterable(t: unknown): t is Iterable<TraceChunk> | AsyncIterable<TraceChunk> {
  if (t === null || typeof t !== 'object' || t instanceof Uint8Array) return false;
  if (typeof (t as NodeJS.ReadableStream).pipe === 'function') return false;
  return Symbol.iterator in t || Symbol.asyncIterator in t;
}

async function openSource(trace: TraceInput, options: ReplayOptions, strict: boolean): Promise<Source> {
  if (isChunkIterable(trace)) {
    const info: ReplayResult['trace'] = { source: '<records>', format: 'records', gzip: false, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
    return { info, chunks: trace, finish: () => undefined };
  }
  if (typeof trace !== 'string' && !(trace instanceof Uint8Array) && (trace === null || typeof trace !== 'object' || typeof (trace as NodeJS.ReadableStream).pipe !== 'function')) {
    throw new VmmError('EINVAL', 'trace must be a file path, a Uint8Array, a readable stream or an iterable of record chunks');
  }
  const reader = await openTrace(trace, { strict, onSkip: options.onSkip, onProgress: options.onProgress });
  const info: ReplayResult['trace'] = { source: reader.source, format: reader.format, gzip: reader.gzip, records: 0, skipped: 0, ignoredLines: 0, bytes: 0 };
  return {
    info,
    chunks: reader.chunks(),
    finish() {
      const s = reader.stats();
      info.skipped = s.skipped;
      info.ignoredLines = s.ignoredLines;
      info.bytes = s.bytesRead;
    },
  };
}

/**
 * Replays a trace into a fresh process on a fresh machine and returns exact counts: accesses
 * by kind, TLB hits and misses per level, walks, faults, pages touched, frames used.
 */
export async function replay(trace: TraceInput, options: ReplayOptions = {}): Promise<ReplayResult> {
  const o = resolveReplayOptions(options);
  const machine = new Machine({ memory: o.memory, tlb: o.tlb, backend: o.backend });
  try {
    const space = machine.createAddressSpace();
    options.setup?.(space);
    const framesBefore = machine.core.totalFrames - machine.core.freeFrames();
    const c0 = Float64Array.from(machine.counters);
    const engine = new ReplayEngine(machine, space, o);
    const src = await openSource(trace, options, o.strict);
    const t0 = performance.now();
    let records = 0;
    for await (const chunk of src.chunks) {
      if (!chunk || !(chunk.words instanceof Uint32Array) || !Number.isInteger(chunk.count) || chunk.count < 0 || chunk.words.length < chunk.count * 2) {
        throw new VmmError('EINVAL', 'a trace chunk must be { words: Uint32Array, count } with words.length >= 2 * count');
      }
      engine.run(chunk.words, chunk.count);
      records += chunk.count;
    }
    const timeMs = performance.now() - t0;
    src.finish();
    src.info.records = records;
    const c = machine.counters;
    const d = (i: number) => c[i]! - c0[i]!;
    const out = engine.out;
    const levels: ReplayResult['tlb']['levels'] = [];
    let hits: number;
    let misses: number;
    if (engine.l1i || engine.l1d || engine.pwc) {
      for (const [name, l] of [['l1i', engine.l1i], ['l1d', engine.l1d]] as const) if (l) levels.push({ name, entries: l.entries, ways: l.ways, hits: l.hits, misses: l.misses });
      levels.push({ name: engine.l1i || engine.l1d ? 'l2' : 'tlb', entries: o.tlb.entries, ways: o.tlb.ways, hits: engine.l2Hits, misses: engine.l2Misses });
      misses = engine.l2Misses;
      hits = (engine.l1i?.hits ?? 0) + (engine.l1d?.hits ?? 0) + engine.l2Hits;
    } else {
      hits = d(Counter.HITS);
      misses = d(Counter.MISSES) - engine.retries;
      levels.push({ name: 'tlb', entries: o.tlb.entries, ways: o.tlb.ways, hits, misses });
    }
    const vmStats = space.stats();
    const touchedLeaves = machine.core.scanAccessed(space.rootFrame, 0, USER_PAGES, false);
    const bytesTouched = machine.result[Result.A]! * 4096;
    options.onFinish?.(space);
    const result: ReplayResult = {
      trace: src.info,
      accesses: out[TraceOut.LOADS]! + out[TraceOut.STORES]! + out[TraceOut.INSTRS]! + out[TraceOut.MODIFIES]!,
      byKind: { instructions: out[TraceOut.INSTRS]!, loads: out[TraceOut.LOADS]!, stores: out[TraceOut.STORES]!, modifies: out[TraceOut.MODIFIES]! },
      pageCrossing: out[TraceOut.SPLITS]!,
      tlb: { lookups: hits + misses, hits, misses, missRate: hits + misses > 0 ? misses / (hits + misses) : 0, levels },
      walks: d(Counter.WALKS),
      faults: { total: d(Counter.FAULTS), minor: vmStats.faults.minor, cow: vmStats.faults.cow, segv: engine.segv },
      segfaults: engine.segfaults,
      pageSize: o.pageSize,
      pagesTouched: touchedLeaves,
      bytesTouched,
      framesUsed: machine.core.totalFrames - machine.core.freeFrames() - framesBefore,
      regions: vmStats.regions,
      backend: machine.core.backend,
      timeMs,
      nsPerAccess: records > 0 ? (timeMs * 1e6) / records : 0,
    };
    if (engine.pwc) {
      const p = engine.pwc;
      const pl: NonNullable<ReplayResult['pwc']>['levels'] = [];
      for (const name of ['pml4', 'pdpt', 'pd'] as const) {
        const cache = p[name];
        if (cache) pl.push({ name, entries: cache.entries, hits: cache.hits, misses: cache.misses });
      }
      result.pwc = { walkReferences: p.refs, levels: pl };
    }
    return result;
  } finally {
    machine.dispose();
  }
}
