/**
 * A sweep for clusters without Redis: its directory holds the manifest (sweep.json: the sweep's
 * command line, its traces with their content hashes, and one row job per row), the job-array
 * script, and one file per finished row under rows/, named by the row's key. A task computes
 * its row exactly as a queue worker would (roots, hash check, replay) and writes the file
 * atomically; `vmsim gather` reads them back in the sweep's order.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QueueError } from '../queue/queue-error.js';
import { checkRowJob, type RowJob } from '../queue/row-job.js';
import { packageVersion } from '../package-info.js';
import { runRow } from './run-row.js';
import { slurmScript } from './slurm-script.js';

/** The manifest's format tag. */
export const SLURM_FORMAT = 'vmsim-slurm-sweep/1';

/** A trace of the sweep: as the command line gave it, its absolute path, its content hash. */
export interface ManifestTrace {
  given: string;
  path: string;
  hash: string;
}

/** sweep.json. */
export interface SlurmManifest {
  format: typeof SLURM_FORMAT;
  version: string;
  /** The sweep's command line (after `vmsim sweep`), without the --emit options. */
  argv: string[];
  traces: ManifestTrace[];
  /** One job per row, trace-major, as the sweep orders its rows. */
  rows: RowJob[];
}

/** A row file's content: the encoded result, or the error. */
export interface RowFile {
  key: string;
  result?: string;
  error?: string;
}

/** Writes the manifest, the script (sweep.sbatch) and the rows/ and logs/ directories under `dir`; returns the script's path. */
export async function writeSlurmSweep(dir: string, manifest: SlurmManifest, command: readonly string[], roots: readonly string[]): Promise<string> {
  const abs = resolve(dir);
  await mkdir(join(abs, 'rows'), { recursive: true });
  await mkdir(join(abs, 'logs'), { recursive: true });
  await writeAtomic(join(abs, 'sweep.json'), JSON.stringify(manifest, null, 2) + '\n');
  const script = join(abs, 'sweep.sbatch');
  await writeAtomic(script, slurmScript({ dir: abs, rows: manifest.rows.length, command, roots, version: manifest.version }), 0o755);
  return script;
}

/** Reads and checks the manifest in `dir`. */
export async function readManifest(dir: string): Promise<SlurmManifest> {
  const path = join(dir, 'sweep.json');
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new QueueError(e.code ?? 'EIO', `${dir} holds no sweep (${path}: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}); write one with vmsim sweep … --emit slurm`);
  });
  let m: SlurmManifest;
  try {
    m = JSON.parse(text) as SlurmManifest;
  } catch {
    throw new QueueError('EINVAL', `${path} is not JSON`);
  }
  if (m?.format !== SLURM_FORMAT || !Array.isArray(m.argv) || !Array.isArray(m.traces) || !Array.isArray(m.rows)) throw new QueueError('EINVAL', `${path} is not a vmsim sweep manifest (${SLURM_FORMAT})`);
  if (m.version !== packageVersion()) throw new QueueError('EVERSION', `${path} was written by vmsim ${String(m.version)}; this is vmsim ${packageVersion()} (rows of different versions may differ: emit the sweep again)`);
  return m;
}

/** The file of row `key` in `dir`. */
export function rowPath(dir: string, key: string): string {
  return join(dir, 'rows', `${key}.json`);
}

/**
 * Computes row `index` of the sweep in `dir`, reading traces only under `roots`, unless its
 * file holds a result already. Resolves with the row file (its error, if it failed).
 */
export async function runSlurmRow(dir: string, index: number, roots: readonly string[]): Promise<RowFile & { reused: boolean }> {
  const m = await readManifest(dir);
  if (!Number.isInteger(index) || index < 0 || index >= m.rows.length) throw new QueueError('EINVAL', `row ${index} is not in the sweep (rows 0-${m.rows.length - 1})`);
  const job = checkRowJob(m.rows[index], packageVersion());
  const file = rowPath(dir, job.key);
  const earlier = await readRowFile(file);
  if (earlier?.result !== undefined) return { ...earlier, reused: true };
  let row: RowFile;
  try {
    row = { key: job.key, result: await runRow(job, roots) };
  } catch (e) {
    row = { key: job.key, error: (e as Error).message };
  }
  await writeAtomic(file, JSON.stringify(row) + '\n');
  return { ...row, reused: false };
}

/** The row file at `path`, or undefined when there is none yet. */
export async function readRowFile(path: string): Promise<RowFile | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as RowFile;
    return typeof r?.key === 'string' ? r : undefined;
  } catch {
    // Unreadable or cut short (written by hand, or a disk that filled): as if the row had not run.
    return undefined;
  }
}

async function writeAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}
