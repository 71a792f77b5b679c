/**
 * sweep(): one trace replayed under many configurations, on every core. Each worker thread
 * replays configurations from a shared queue (a trace file is read independently by each), and
 * rows come back in configuration order, so the output does not depend on scheduling.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { convertTrace } from '../trace/trace-writer.js';
import { openTrace } from '../trace/trace-reader.js';
import { VmmError } from '../errors.js';
import { trackTemp, untrackTemp } from '../temp-files.js';
import { replay } from './replay.js';
import type { ReplayResult } from './replay-result.js';
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
  // A FIFO or a stream can be read once only: straight into the binary copy, without a look first.
  const regular = typeof trace === 'string' && (await stat(trace).then((s) => s.isFile(), () => true));
  if (regular) {
    // openTrace sniffs the format (and names a missing file).
    const original = await openTrace(trace as string);
    const direct = original.format === 'binary' && original.compression === 'none';
    await original.close();
    if (configs.length < 2 || direct) return sweepFile(trace as string, configs, jobs, options);
  }
  const dir = await mkdtemp(join(tmpdir(), 'vmsim-sweep-'));
  trackTemp(dir);
  try {
    const bin = join(dir, 'trace.bin');
    options.onBinaryCopy?.(bin, undefined);
    const conv = await convertTrace(trace, bin, { strict: configs.some((c) => c.strict === true) });
    options.onBinaryCopy?.(bin, conv.bytes);
    const rows = await sweepFile(bin, configs, jobs, options);
    // The rows describe the trace the user gave, not the temporary copy.
    const info = { source: conv.source, format: conv.format, gzip: conv.compression === 'gzip', compression: conv.compression, bytes: conv.bytesRead, skipped: conv.skipped, ignoredLines: conv.ignoredLines };
    for (const r of rows) Object.assign(r.result.trace, info);
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrackTemp(dir);
  }
}

async function sweepFile(trace: string, configs: readonly SweepConfig[], jobs: number, options: SweepOptions): Promise<SweepRow[]> {
  const rows: SweepRow[] = new Array(configs.length);
  let done = 0;
  const finish = (i: number, result: ReplayResult) => {
    rows[i] = { config: configs[i]!, result };
    options.onRow?.(rows[i]!, ++done, configs.length);
  };
  const threads = Math.min(jobs, configs.length);
  if (threads <= 1) {
    for (let i = 0; i < configs.length; i++) finish(i, await replay(trace, configs[i]));
    return rows;
  }
  let next = 0;
  const workerUrl = new URL('./sweep-worker.js', import.meta.url);
  await Promise.all(
    Array.from({ length: threads }, () => {
      return new Promise<void>((resolve, reject) => {
        const w = new Worker(workerUrl);
        const feed = () => {
          if (next >= configs.length) {
            void w.terminate();
            resolve();
            return;
          }
          const i = next++;
          w.postMessage({ i, trace, config: configs[i] });
        };
        w.on('message', (m: { i: number; result?: ReplayResult; error?: string }) => {
          if (m.error !== undefined) {
            void w.terminate();
            reject(new VmmError('EINVAL', `sweep: configs[${m.i}]: ${m.error}`));
            return;
          }
          finish(m.i, m.result!);
          feed();
        });
        w.on('error', reject);
        feed();
      });
    }),
  );
  return rows;
}
