/**
 * sweep(): one trace replayed under many configurations, on every core. Each worker thread
 * replays configurations from a shared queue (a trace file is read independently by each), and
 * rows come back in configuration order, so the output does not depend on scheduling.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { writeBinaryTrace } from '../trace/trace-writer.js';
import { openTrace } from '../trace/trace-reader.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { trackTemp, untrackTemp } from '../temp-files.js';
import { abortable, AbortError, checkSignal, throwIfAborted, untilAborted } from '../abort.js';
import { replay } from './replay.js';
import type { ReplayResult } from './replay-result.js';
import type { OnRunProgress } from './run-progress.js';
import type { ToWorker, FromWorker } from './sweep-worker.js';
import { checkSweepConfigs } from './sweep-configs.js';
import type { FailedSweepRow, QueueSweepOptions, SweepConfig, SweepRow } from './sweep-row.js';

export type { SweepConfig, SweepRow } from './sweep-row.js';

/** Options of sweep(). */
export interface SweepOptions {
  /** Worker threads (default: the machine's available parallelism, at most one per configuration). 0 or 1 runs in this thread. */
  jobs?: number;
  /** Called as each configuration finishes (in completion order). */
  onRow?: (row: SweepRow, done: number, total: number) => void;
  /**
   * Called before a text, compressed or streamed trace is converted to the temporary binary copy
   * the workers read (`bytes` undefined), and again when it is written (its size). The copy is
   * removed when the sweep ends, also on failure.
   */
  onBinaryCopy?: (path: string, bytes: number | undefined) => void;
  /** Called as the trace is read: by the binary copy ('read'), then within each row ('run', on its worker), not only when a row finishes. */
  onProgress?: OnRunProgress;
  /**
   * Aborts the sweep: it then rejects with an AbortError (as Node's APIs), once the running
   * replays have stopped, every worker thread has exited and the binary copy is removed.
   */
  signal?: AbortSignal;
}

/** Every combination of the listed values (the cartesian product), in order: the last key varies fastest. */
export function combinations<T extends Record<string, readonly unknown[]>>(axes: T): Array<{ [K in keyof T]: T[K][number] }> {
  let rows: Array<Record<string, unknown>> = [{}];
  for (const [key, values] of Object.entries(axes)) {
    rows = rows.flatMap((r) => values.map((v) => ({ ...r, [key]: v })));
  }
  return rows as Array<{ [K in keyof T]: T[K][number] }>;
}

/**
 * Replays `trace` (a file path, or a readable stream such as process.stdin) under each
 * configuration; returns one row per configuration, in order. A text, compressed or streamed
 * trace (a FIFO too) is read once into a temporary binary trace first, so the workers do not
 * each parse it again (parsing costs several times the replay itself).
 */
export function sweep(trace: string | NodeJS.ReadableStream, configs: readonly SweepConfig[], options?: SweepOptions): Promise<SweepRow[]>;
/**
 * With `queue` (redis://HOST:PORT/NAME): the rows run on `vmsim worker`s serving that queue, one
 * job per trace × configuration (trace files every worker can read); finished rows are reused
 * by later runs, and a row that failed carries its error instead of sinking the sweep
 * (docs/queue.md).
 */
export function sweep(trace: string | readonly string[], configs: readonly SweepConfig[], options: QueueSweepOptions): Promise<Array<SweepRow | FailedSweepRow>>;
export async function sweep(trace: string | readonly string[] | NodeJS.ReadableStream, configs: readonly SweepConfig[], options: SweepOptions | QueueSweepOptions = {}): Promise<Array<SweepRow | FailedSweepRow>> {
  // Loaded only when asked for: a local sweep does not load the queue's client.
  if (options !== null && typeof options === 'object' && 'queue' in options && options.queue !== undefined) return (await import('./queued-sweep.js')).queuedSweep(trace, configs, options);
  return sweepHere(trace as string | NodeJS.ReadableStream, configs, options as SweepOptions);
}

async function sweepHere(trace: string | NodeJS.ReadableStream, configs: readonly SweepConfig[], options: SweepOptions = {}): Promise<SweepRow[]> {
  const isStream = trace !== null && typeof trace === 'object' && typeof (trace as NodeJS.ReadableStream).pipe === 'function';
  if (typeof trace !== 'string' && !isStream) throw new VmmError('EINVAL', 'sweep: trace must be a file path or a readable stream');
  checkSweepConfigs(configs);
  const jobs = options.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 0) throw new VmmError('EINVAL', `sweep: options.jobs must be a non-negative integer, got ${String(jobs)}`);
  const signal = checkSignal(options.signal, 'sweep: options.signal');
  for (const k of ['onRow', 'onBinaryCopy', 'onProgress'] as const) {
    if (options[k] !== undefined && typeof options[k] !== 'function') throw new VmmError('EINVAL', `sweep: options.${k} must be a function, got ${describe(options[k])}`);
  }
  throwIfAborted(signal);
  // How the trace reads is one for the whole sweep: the configurations may not differ in it.
  const formats = new Set(configs.map((c) => c.format ?? 'auto'));
  if (formats.size > 1) throw new VmmError('EINVAL', `sweep: the configurations read the trace differently (format ${[...formats].join(', ')}): one sweep reads one trace one way`);
  const format = configs[0]?.format;
  // A FIFO or a stream can be read once only: straight into the binary copy, without a look first.
  const regular = typeof trace === 'string' && (await stat(trace).then((s) => s.isFile(), () => true));
  if (regular) {
    // openTrace sniffs the format (and names a missing file).
    const original = await untilAborted(openTrace(trace as string, format ? { format } : {}), signal, (r) => r.close(), true);
    const direct = original.format === 'binary' && original.compression === 'none';
    await original.close();
    if (configs.length < 2 || direct) return sweepFile(trace as string, configs, jobs, options, signal);
  }
  const dir = await mkdtemp(join(tmpdir(), 'vmsim-sweep-'));
  trackTemp(dir);
  try {
    const bin = join(dir, 'trace.bin');
    options.onBinaryCopy?.(bin, undefined);
    const progress = options.onProgress;
    const total = configs.length;
    const reader = await untilAborted(
      openTrace(trace, { strict: configs.some((c) => c.strict === true), ...(format ? { format } : {}), ...(progress ? { onProgress: (bytesRead, totalBytes) => progress({ phase: 'read', index: -1, bytesRead, totalBytes, done: 0, total }) } : {}) }),
      signal,
      (r) => r.close(),
      regular,
    );
    const bounded = reader.totalBytes !== undefined;
    let written: { bytes: number };
    try {
      // An abort stops the copy between chunks (or while a pipe is read); the half-written copy goes with the directory.
      written = await writeBinaryTrace(bin, abortable(reader.chunks(), signal, bounded), { gzip: false, events: reader.events });
    } finally {
      if (bounded) await reader.close();
      else void reader.close().catch(() => undefined);
    }
    const st = reader.stats();
    options.onBinaryCopy?.(bin, written.bytes);
    // The copy is vmsim's own binary trace, whatever the input was read as.
    const rows = await sweepFile(bin, format ? configs.map(({ format: _f, ...c }) => c) : configs, jobs, options, signal);
    rows.forEach((r, i) => (r.config = configs[i]!));
    // The rows describe the trace the user gave, not the temporary copy.
    const info = { source: reader.source, format: reader.format, gzip: reader.compression === 'gzip', compression: reader.compression, bytes: st.bytesRead, skipped: st.skipped, ignoredLines: st.ignoredLines };
    for (const r of rows) Object.assign(r.result.trace, info);
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrackTemp(dir);
  }
}

async function sweepFile(trace: string, configs: readonly SweepConfig[], jobs: number, options: SweepOptions, signal: AbortSignal | undefined): Promise<SweepRow[]> {
  const rows: SweepRow[] = new Array(configs.length);
  const total = configs.length;
  let done = 0;
  const finish = (i: number, result: ReplayResult) => {
    rows[i] = { config: configs[i]!, result };
    options.onRow?.(rows[i]!, ++done, total);
  };
  const progress = options.onProgress;
  const report = (index: number) => (progress ? (bytesRead: number, totalBytes: number | undefined) => progress({ phase: 'run', index, bytesRead, totalBytes, done, total }) : undefined);
  const threads = Math.min(jobs, configs.length);
  if (threads <= 1) {
    for (let i = 0; i < configs.length; i++) {
      const onProgress = report(i);
      finish(i, await replay(trace, { ...configs[i], ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) }));
    }
    return rows;
  }
  await onWorkers(trace, configs, threads, signal, finish, report);
  return rows;
}

/**
 * Runs the configurations on `threads` worker threads, each taking the next from the queue.
 * Settles only when every worker has exited: after the last row, or — at the first failure
 * (a replay's error, a throwing callback, an abort) — once the running replays have been told
 * to stop (each closes its trace) and the workers are gone.
 */
function onWorkers(
  trace: string,
  configs: readonly SweepConfig[],
  threads: number,
  signal: AbortSignal | undefined,
  finish: (i: number, result: ReplayResult) => void,
  report: (index: number) => ((bytesRead: number, totalBytes: number | undefined) => void) | undefined,
): Promise<void> {
  const workerUrl = new URL('./sweep-worker.js', import.meta.url);
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let live = threads;
    let failed = false;
    let failure: unknown;
    const stops: Array<() => void> = [];
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      failure = e;
      signal?.removeEventListener('abort', onAbort);
      for (const stop of stops) stop();
    };
    const onAbort = () => fail(new AbortError(signal!.reason));
    const exited = () => {
      if (--live > 0) return;
      signal?.removeEventListener('abort', onAbort);
      if (failed) reject(failure);
      else resolve();
    };
    for (let t = 0; t < threads; t++) {
      const w = new Worker(workerUrl);
      /** The configuration this worker replays, or -1 when idle. */
      let busy = -1;
      let progress: ReturnType<typeof report>;
      const send = (m: ToWorker) => w.postMessage(m);
      const feed = () => {
        if (failed || next >= configs.length) {
          busy = -1;
          void w.terminate();
          return;
        }
        busy = next++;
        progress = report(busy);
        try {
          send({ type: 'run', i: busy, trace, config: configs[busy]!, progress: progress !== undefined });
        } catch (e) {
          // A value that cannot be cloned (a policy object, a function): refused, as a worker could not run it.
          fail(new VmmError('EINVAL', `sweep: configs[${busy}] cannot cross to a worker thread: ${(e as Error).message}`));
          busy = -1;
          void w.terminate();
        }
      };
      w.on('message', (m: FromWorker) => {
        try {
          if (m.type === 'progress') {
            if (!failed) progress?.(m.bytesRead, m.totalBytes);
            return;
          }
          if (m.type === 'error') fail(new VmmError('EINVAL', `sweep: configs[${m.i}]: ${m.error}`));
          else if (m.type === 'result' && !failed) finish(m.i, m.result);
        } catch (e) {
          // A throwing onRow or onProgress fails the sweep; it must not become an uncaught exception.
          fail(e);
        }
        if (m.type !== 'progress') feed();
      });
      w.on('error', fail);
      w.once('exit', exited);
      // A busy worker is told to abort (its replay closes the trace, then it answers and is let go); an idle one goes now.
      stops.push(() => (busy >= 0 ? send({ type: 'abort' }) : void w.terminate()));
      feed();
    }
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}
