/**
 * OPT's future for a trace replay: a first pass over the trace collects the page touches the
 * replay will make (src/replay/page-touches.ts), then the replay runs with OPT given them.
 * So the trace must be readable twice: a file path (a regular file, not a FIFO or a terminal),
 * its bytes, or an iterable of chunks that yields them afresh each time (an array, not a
 * generator); a stream is refused before anything is read.
 */
import { stat } from 'node:fs/promises';
import { VmmError } from '../errors.js';
import { OptFuture, OptFutureBuilder } from '../reclaim/policies/opt-future.js';
import type { TraceChunk } from '../trace/trace-record.js';
import { traceTouches, type TouchSource , type ReplayFormat } from './page-touches.js';

const HOW = 'save it to a file first (e.g. `vmsim convert - trace.bin` reads standard input), or pass policyOptions.future yourself';

/** Why `trace` cannot be read twice, or undefined when it can. */
export async function notRereadable(trace: unknown): Promise<string | undefined> {
  if (typeof trace === 'string') {
    const s = await stat(trace).catch(() => undefined);
    // A missing file is the replay's own ENOENT, reported by the first pass.
    return s === undefined || s.isFile() ? undefined : `${trace} is not a regular file (a FIFO, a terminal or a device is read once)`;
  }
  if (trace instanceof Uint8Array) return undefined;
  if (trace === null || typeof trace !== 'object') return undefined; // replay refuses it with its own message
  if (typeof (trace as NodeJS.ReadableStream).pipe === 'function') return 'a stream can be read only once';
  const t = trace as Partial<Iterable<TraceChunk> & AsyncIterable<TraceChunk>>;
  // An iterator that is its own iterable (a generator) is spent after one pass; an array is not.
  // A fresh iterator asked for only to tell them apart is closed again (no pass has started).
  if (typeof t[Symbol.iterator] === 'function') {
    const it = t[Symbol.iterator]!();
    if (it === t) return 'a generator or iterator of chunks can be read only once';
    it.return?.();
    return undefined;
  }
  if (typeof t[Symbol.asyncIterator] === 'function') {
    const it = t[Symbol.asyncIterator]!();
    if (it === t) return 'an async generator or iterator of chunks can be read only once';
    void it.return?.();
    return undefined;
  }
  return undefined;
}

/**
 * The future of a replay of `trace` under OPT ('skip' matching: references the VMM refuses are
 * passed over); EINVAL for a trace read once. `onProgress` sees this pass's bytes (a progress
 * bar shows the first pass, then the replay's).
 */
export async function traceFuture(trace: unknown, strict: boolean, onProgress?: (bytesRead: number, totalBytes: number | undefined) => void, signal?: AbortSignal, format?: ReplayFormat): Promise<OptFuture> {
  const why = await notRereadable(trace);
  if (why !== undefined) throw new VmmError('EINVAL', `policy 'opt' reads the trace twice (a first pass computes the future it needs), but ${why}: ${HOW}`);
  const b = new OptFutureBuilder();
  await traceTouches(trace as TouchSource, (v) => b.push(v), strict, onProgress, signal, format);
  return b.finish('skip');
}
