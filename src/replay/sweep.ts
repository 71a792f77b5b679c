/**
 * sweep(): one trace replayed under many configurations, on every core. Each worker thread
 * replays configurations from a shared queue (a trace file is read independently by each), and
 * rows come back in configuration order, so the output does not depend on scheduling.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { convertTrace } from '../trace/trace-writer.js';
import { openTrace } from '../trace/trace-reader.js';
import { VmmError } from '../errors.js';
import { replay } from './replay.js';
import { resolveReplayOptions, type ReplayOptions } from './replay-options.js';
import type { ReplayResult } from './replay-result.js';

/** A configuration of a sweep: replay options without callbacks (they must cross to a worker thread). */
export type SweepConfig = Omit<ReplayOptions, 'setup' | 'onFinish' | 'onSkip' | 'onProgress'>;

/** One row of a sweep. */
export interface SweepRow {
  config: SweepConfig;
  result: ReplayResult;
}

/** Options of sweep(). */
export interface SweepOptions {
  /** Worker threads (default: the machine's available parallelism, at most one per configuration). 0 or 1 runs in this thread. */
  jobs?: number;
  /** Called as each configuration finishes (in completion order). */
  onRow?: (row: SweepRow, done: number, total: number) => void;
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
 * Replays `trace` (a file path) under each configuration; returns one row per configuration, in
 * order. A text or gzipped trace is converted once to a temporary binary trace first, so the
 * workers do not each parse it again (parsing costs several times the replay itself).
 */
export async function sweep(trace: string, configs: readonly SweepConfig[], options: SweepOptions = {}): Promise<SweepRow[]> {
  if (typeof trace !== 'string') throw new VmmError('EINVAL', 'sweep: trace must be a file path (each worker reads it)');
  if (!Array.isArray(configs) || configs.length === 0) throw new VmmError('EINVAL', 'sweep: configs must be a non-empty array');
  configs.forEach((c, i) => {
    try {
      resolveReplayOptions(c);
    } catch (e) {
      throw new VmmError('EINVAL', `sweep: configs[${i}]: ${(e as Error).message}`);
    }
  });
  const jobs = options.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 0) throw new VmmError('EINVAL', `sweep: options.jobs must be a non-negative integer, got ${String(jobs)}`);
  // openTrace sniffs the format (and names a missing file); the rows describe the trace the user gave, not a temporary copy.
  const original = await openTrace(trace);
  const info = { source: trace, format: original.format, gzip: original.gzip, bytes: original.totalBytes ?? 0 };
  await original.close();
  if (configs.length < 2 || (original.format === 'binary' && !original.gzip)) return sweepFile(trace, configs, jobs, options);
  const dir = await mkdtemp(join(tmpdir(), 'vmsim-sweep-'));
  try {
    const bin = join(dir, 'trace.bin');
    const conv = await convertTrace(trace, bin, { strict: configs.some((c) => c.strict === true) });
    const rows = await sweepFile(bin, configs, jobs, options);
    for (const r of rows) Object.assign(r.result.trace, info, { skipped: conv.skipped, ignoredLines: conv.ignoredLines });
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
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
