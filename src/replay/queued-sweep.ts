/**
 * sweep(…, { queue }): the rows of a sweep computed by `vmsim worker`s on a job queue (BullMQ on
 * Redis) instead of this machine's threads. One job per trace × configuration, keyed by the
 * content hash of the trace and the configuration, so a second run reuses every finished row.
 * Rows come back in the local sweep's order and form, byte for byte (only the measured time
 * differs); a row that failed carries its error instead of a result and the others still come.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { packageVersion } from '../package-info.js';
import { strictOptions } from '../strict-options.js';
import { hashFile } from '../queue/file-hash.js';
import { snapshotParent } from '../snapshot/snapshot-file.js';
import { makeRowJob, type RowJob } from '../queue/row-job.js';
import { parseQueueUrl } from '../queue/queue-url.js';
import { decodeRow } from '../queue/row-codec.js';
import { runOnQueue } from '../queue/queue-run.js';
import { checkQueueableConfig } from './queueable-config.js';
import { checkSweepConfigs } from './sweep-configs.js';
import type { ReplayResult } from './replay-result.js';
import type { FailedSweepRow, QueueSweepOptions, SweepConfig, SweepRow } from './sweep-row.js';

const KEYS = ['queue', 'onRow', 'onQueued'];

/** A trace as the rows name it and as the jobs carry it. */
interface TraceFile {
  given: string;
  path: string;
  hash: string;
}

/** Hashes each trace file (each must be a regular file: the workers read it by its path). */
export async function traceFiles(traces: readonly unknown[]): Promise<TraceFile[]> {
  const out: TraceFile[] = [];
  for (const [i, t] of traces.entries()) {
    if (typeof t !== 'string' || t === '') throw new VmmError('EINVAL', `sweep: traces[${i}] must be a file path (workers read traces from a shared file system), got ${describe(t)}`);
    const st = await stat(t).catch((e: NodeJS.ErrnoException) => {
      throw new VmmError(e.code === 'ENOENT' ? 'ENOENT' : 'EACCES', `sweep: trace file ${t} ${e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.code ?? e.message})`}`);
    });
    if (!st.isFile()) throw new VmmError('EINVAL', `sweep: trace ${t} is not a regular file (a queued sweep needs a file every worker can read)`);
    out.push({ given: t, path: resolve(t), hash: await hashFile(t) });
  }
  return out;
}

/** The snapshot files the configurations start from (`from`), by the path as given: absolute path and content hash. */
export async function snapshotFiles(configs: readonly SweepConfig[]): Promise<Map<string, { path: string; hash: string }>> {
  const out = new Map<string, { path: string; hash: string }>();
  for (const c of configs) {
    const from = c.from;
    if (typeof from !== 'string' || out.has(from)) continue;
    const st = await stat(from).catch((e: NodeJS.ErrnoException) => {
      throw new VmmError(e.code === 'ENOENT' ? 'ENOENT' : 'EACCES', `sweep: snapshot file ${from} ${e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.code ?? e.message})`}`);
    });
    if (!st.isFile()) throw new VmmError('EINVAL', `sweep: snapshot ${from} is not a regular file`);
    // A diff's parent is named inside the file: a worker would read it outside what the job names.
    if (snapshotParent(from) !== undefined) throw new VmmError('EINVAL', `sweep: snapshot ${from} is a diff of another snapshot; a queued sweep needs a whole one (load it and save it without a parent)`);
    out.set(from, { path: resolve(from), hash: await hashFile(from) });
  }
  return out;
}

/**
 * The row jobs of `traces` × `configs`, trace-major (the order of the rows). A configuration's
 * `from` leaves it for the job's snapshot (`snapshots`: by snapshotFiles), so the key holds the
 * snapshot's content hash, not where it lies.
 */
export function rowJobs(files: readonly TraceFile[], configs: readonly SweepConfig[], snapshots: ReadonlyMap<string, { path: string; hash: string }> = new Map()): RowJob[] {
  const version = packageVersion();
  return files.flatMap((f) =>
    configs.map((c) => {
      const { from, ...rest } = c;
      if (from === undefined) return makeRowJob(version, f.path, f.hash, rest as Record<string, unknown>);
      const snap = typeof from === 'string' ? snapshots.get(from) : undefined;
      if (!snap) throw new VmmError('EINVAL', 'sweep: a configuration starts from a snapshot that was not hashed (snapshotFiles)');
      return makeRowJob(version, f.path, f.hash, rest as Record<string, unknown>, snap);
    }),
  );
}

/** The row for `config` over `file` from a job's outcome, as a local sweep gives it. */
export function rowFromOutcome(file: TraceFile, config: SweepConfig, outcome: { value?: string; error?: string }): SweepRow | FailedSweepRow {
  if (outcome.value === undefined) return { config, trace: file.given, error: outcome.error ?? 'failed' };
  const result = decodeRow(outcome.value) as ReplayResult;
  // The worker read the file through its own path; the row names the trace as the user gave it, as replay() does.
  result.trace.source = file.given;
  if (result.from && typeof config.from === 'string') result.from.snapshot = config.from;
  return { config, result };
}

/** Runs the sweep's rows on the queue; rows in order (trace by trace, then configuration by configuration). */
export async function queuedSweep(trace: unknown, configs: readonly SweepConfig[], options: QueueSweepOptions): Promise<Array<SweepRow | FailedSweepRow>> {
  strictOptions(options, 'sweep options', KEYS);
  const loc = parseQueueUrl(options.queue);
  for (const k of ['onRow', 'onQueued'] as const) if (options[k] !== undefined && typeof options[k] !== 'function') throw new VmmError('EINVAL', `sweep: options.${k} must be a function, got ${describe(options[k])}`);
  const traces = Array.isArray(trace) ? trace : [trace];
  if (traces.length === 0) throw new VmmError('EINVAL', 'sweep: traces must be a non-empty array of file paths');
  checkSweepConfigs(configs);
  configs.forEach((c, i) => checkQueueableConfig(c, `sweep: configs[${i}]`));
  const files = await traceFiles(traces);
  const jobs = rowJobs(files, configs, await snapshotFiles(configs));
  const rows: Array<SweepRow | FailedSweepRow> = new Array(jobs.length);
  const rowsOf = new Map<string, number[]>();
  jobs.forEach((j, i) => rowsOf.set(j.key, [...(rowsOf.get(j.key) ?? []), i]));
  let done = 0;
  const outcomes = await runOnQueue(loc, jobs, {
    onQueued: ({ total, reused }) => options.onQueued?.({ rows: jobs.length, jobs: total, reused, queue: loc.display }),
    onOutcome: (o) => {
      for (const i of rowsOf.get(o.key)!) {
        rows[i] = rowFromOutcome(files[Math.floor(i / configs.length)]!, configs[i % configs.length]!, o);
        options.onRow?.(rows[i]!, ++done, jobs.length);
      }
    },
  });
  // Every key has its outcome (runOnQueue resolves only then); rows were filled as they came.
  if (outcomes.size !== rowsOf.size) throw new VmmError('EINVAL', 'sweep: the queue returned fewer outcomes than jobs');
  return rows;
}
