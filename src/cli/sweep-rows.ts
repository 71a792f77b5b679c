/**
 * Where `vmsim sweep`'s rows come from: this machine's threads (trace by trace), a job queue
 * (--queue), the row files of a SLURM sweep (`vmsim gather`), or nowhere yet (--emit slurm
 * writes the job array instead). Whatever the source, the rows are the same objects in the
 * same order, so the command prints the same output.
 */
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sweep, type SweepConfig, type SweepRow } from '../replay/sweep.js';
import type { FailedSweepRow } from '../replay/sweep-row.js';
import { formatBytes, ProgressBar } from '../report/index.js';
import { packageRoot, packageVersion } from '../package-info.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { CommandIo } from './io.js';

/** A row of the command's output: a result, or (from a queue or a cluster) an error. */
export type OutputRow = SweepRow | FailedSweepRow;

/** The options that pick the rows' source. */
export const SOURCE_SPECS: OptionSpec[] = [
  { name: 'queue', type: 'string', value: 'redis://HOST:PORT/NAME', help: 'run the rows on a job queue served by vmsim worker (BullMQ on Redis); TRACE files must be readable by every worker at the same path; finished rows are reused (docs/queue.md)' },
  { name: 'emit', type: 'string', choices: ['slurm'], help: "don't run: write a SLURM job-array script (one task per row) and its manifest into --emit-dir; vmsim gather DIR prints the rows" },
  { name: 'emit-dir', type: 'string', value: 'DIR', help: 'where --emit slurm writes', default: 'vmsim-sweep' },
];

const EMIT_OPTIONS = new Set(['--emit', '--emit-dir']);

/** The rows of `traces` × `configs` from the source the options pick; undefined when nothing is to be printed (--emit). */
export async function sweepRows(traces: string[], configs: SweepConfig[], argv: readonly string[], a: ParsedArgs, io: CommandIo, gatherDir?: string): Promise<OutputRow[] | undefined> {
  const queue = a.options.get('queue') as string | undefined;
  const emit = a.options.get('emit') as string | undefined;
  if (gatherDir !== undefined) return gatherRows(gatherDir, traces, configs);
  if (queue !== undefined && emit !== undefined) throw new UsageError('sweep: choose one of --queue and --emit');
  if (a.options.has('emit-dir') && emit === undefined) throw new UsageError('sweep: --emit-dir goes with --emit slurm');
  if ((queue !== undefined || emit !== undefined) && traces.includes('-')) throw new UsageError(`sweep: --${queue !== undefined ? 'queue' : 'emit'} needs trace files every worker can read, not standard input`);
  if ((queue !== undefined || emit !== undefined) && a.options.has('jobs')) throw new UsageError(`sweep: --jobs is for a sweep on this machine; with --${queue !== undefined ? 'queue' : 'emit'} each worker decides (vmsim worker --concurrency N)`);
  if (queue !== undefined) {
    const { parseQueueUrl } = await import('../queue/queue-url.js');
    try {
      parseQueueUrl(queue);
    } catch (e) {
      throw new UsageError(`sweep: --queue: ${(e as Error).message.replace(/^EINVAL: /, '')}`);
    }
    return queueRows(traces, configs, queue, io);
  }
  if (emit !== undefined) {
    await emitSlurm(traces, configs, argv, (a.options.get('emit-dir') as string | undefined) ?? 'vmsim-sweep', io);
    return undefined;
  }
  return localRows(traces, configs, a, io);
}

async function localRows(traces: string[], configs: SweepConfig[], a: ParsedArgs, io: CommandIo): Promise<OutputRow[]> {
  const jobs = a.options.get('jobs') as number | undefined;
  const total = traces.length * configs.length;
  const bar = new ProgressBar({ stream: io.stderr, total, label: 'sweep ', unit: 'configs' });
  const rows: OutputRow[] = [];
  for (const trace of traces) {
    const before = rows.length;
    rows.push(
      ...(await sweep(trace === '-' ? process.stdin : trace, configs, {
        ...(jobs !== undefined ? { jobs } : {}),
        onRow: (_r, done) => bar.update(before + done),
        onBinaryCopy: (path, bytes) =>
          io.stderr.write(bytes === undefined ? `vmsim sweep: reading ${trace === '-' ? 'standard input' : trace} into a binary copy at ${path} (8 bytes per access; removed when the sweep ends)\n` : `vmsim sweep: binary copy ${path}: ${formatBytes(bytes)}\n`),
      })),
    );
  }
  bar.finish();
  return rows;
}

async function queueRows(traces: string[], configs: SweepConfig[], queue: string, io: CommandIo): Promise<OutputRow[]> {
  const total = traces.length * configs.length;
  const bar = new ProgressBar({ stream: io.stderr, total, label: 'sweep ', unit: 'rows' });
  const rows = await sweep(traces, configs, {
    queue,
    onQueued: ({ rows: n, jobs, reused, queue: shown }) => {
      const fresh = jobs - reused;
      io.stderr.write(`vmsim sweep: ${n} rows on the queue ${shown}: ${reused} finished earlier${fresh > 0 ? `, ${fresh} to compute by its workers (vmsim worker --queue ${shown} --root DIR)` : ''}\n`);
    },
    onRow: (_r, done) => bar.update(done),
  });
  bar.finish();
  return rows;
}

async function emitSlurm(traces: string[], configs: SweepConfig[], argv: readonly string[], dir: string, io: CommandIo): Promise<void> {
  const { traceFiles, rowJobs, snapshotFiles } = await import('../replay/queued-sweep.js');
  const { checkQueueableConfig } = await import('../replay/queueable-config.js');
  const { writeSlurmSweep, SLURM_FORMAT } = await import('../jobs/slurm-rows.js');
  configs.forEach((c, i) => checkQueueableConfig(c, `sweep: configs[${i}]`));
  const files = await traceFiles(traces);
  const snaps = await snapshotFiles(configs);
  const rows = rowJobs(files, configs, snaps);
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (EMIT_OPTIONS.has(w)) i++;
    else if (![...EMIT_OPTIONS].some((o) => w.startsWith(`${o}=`))) kept.push(w);
  }
  // The tasks may read each trace's directory (and nothing else).
  const roots = [...new Set([...files, ...snaps.values()].map((f) => dirname(realpathSync(f.path))))];
  // The package's own command (its bin), whichever build this module was loaded from.
  const main = join(packageRoot(), 'dist', 'cli', 'main.js');
  const script = await writeSlurmSweep(dir, { format: SLURM_FORMAT, version: packageVersion(), argv: kept, traces: files, rows }, [process.execPath, main], roots);
  io.stdout.write(`wrote ${script}: a SLURM job array of ${rows.length} rows (manifest ${dirname(script)}/sweep.json)\nsubmit it with:  sbatch ${script}\nthen print the rows with:  vmsim gather ${dirname(script)}\n`);
}

async function gatherRows(dir: string, traces: string[], configs: SweepConfig[]): Promise<OutputRow[]> {
  const { readManifest, readRowFile, rowPath } = await import('../jobs/slurm-rows.js');
  const { rowJobs, rowFromOutcome, snapshotFiles } = await import('../replay/queued-sweep.js');
  const { QueueError } = await import('../queue/queue-error.js');
  const m = await readManifest(dir);
  const jobs = rowJobs(m.traces, configs, await snapshotFiles(configs));
  if (m.traces.map((t) => t.given).join('\0') !== traces.join('\0') || jobs.length !== m.rows.length || jobs.some((j, i) => j.key !== m.rows[i]!.key)) {
    throw new QueueError('EINVAL', `${dir}/sweep.json: its rows do not match its command line (was it edited?); emit the sweep again`);
  }
  const rows: OutputRow[] = [];
  const missing: number[] = [];
  for (const [i, j] of jobs.entries()) {
    const f = await readRowFile(rowPath(dir, j.key));
    if (f === undefined) missing.push(i);
    else rows.push(rowFromOutcome(m.traces[Math.floor(i / configs.length)]!, configs[i % configs.length]!, { ...(f.result !== undefined ? { value: f.result } : {}), error: f.error ?? 'the row file holds no result' }));
  }
  if (missing.length > 0) {
    const list = missing.length > 20 ? `${missing.slice(0, 20).join(',')},…` : missing.join(',');
    throw new QueueError('EINCOMPLETE', `${missing.length} of ${jobs.length} rows have not run yet (rows ${list}); run them with: sbatch --array=${missing.join(',')} ${dir}/sweep.sbatch`);
  }
  return rows;
}
