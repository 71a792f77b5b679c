/**
 * `vmsim sweep … --emit slurm` and `vmsim gather`: the job-array script is run here as SLURM
 * would run it (bash, once per task with SLURM_ARRAY_TASK_ID), and gather prints exactly what
 * the local sweep prints (only the measured time differs).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { CLI } from '../support/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-slurm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'traces'));
copyFileSync(join(import.meta.dirname, '..', '..', 'traces', 'ls.lackey.gz'), join(dir, 'traces', 'ls.lackey.gz'));
writeFileSync(join(dir, 'traces', 's.lackey'), syntheticLackeyTrace({ seed: 9, records: 5000 }));

/** Runs the built command in `dir` (trace paths relative to it, as a user would type them); async, so the test's event loop keeps answering vitest. */
function vmsim(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => p.once('close', (code) => resolve({ code, out, err })));
}

/** Runs task `i` of the array as SLURM would: the script itself, under bash. */
function task(script: string, i: number): Promise<{ code: number | null; err: string }> {
  const p = spawn('bash', [script], { cwd: dir, env: { ...process.env, SLURM_ARRAY_TASK_ID: String(i) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, err })));
}

const untimed = (text: string) => JSON.stringify(JSON.parse(text), (k, x: unknown) => (k === 'timeMs' || k === 'nsPerAccess' ? undefined : x));
function untimedCsv(csv: string): string {
  const lines = csv.trimEnd().split('\n').map((l) => l.split(','));
  const keep = lines[0]!.map((h, i) => (h === 'timeMs' || h === 'nsPerAccess' ? -1 : i)).filter((i) => i >= 0);
  return lines.map((l) => keep.map((i) => l[i]).join(',')).join('\n');
}

describe('vmsim sweep --emit slurm, then vmsim gather', () => {
  const sweepArgs = ['sweep', 'traces/ls.lackey.gz', 'traces/s.lackey', '--tlb-entries', '16,64', '--cpu', 'zen4', '--json'];

  it('writes a job array whose tasks run the same command, and gather prints the local sweep', async () => {
    const e = await vmsim([...sweepArgs, '--emit', 'slurm', '--emit-dir', 'out']);
    expect(e.code, e.err).toBe(0);
    const script = join(dir, 'out', 'sweep.sbatch');
    expect(e.out).toContain(`wrote ${script}: a SLURM job array of 4 rows`);
    expect(e.out).toContain(`vmsim gather ${join(dir, 'out')}`);
    const text = readFileSync(script, 'utf8');
    expect(text).toMatch(/^#!\/bin\/bash\n/);
    expect(text).toContain('#SBATCH --array=0-3\n');
    expect(text).toContain(`#SBATCH --output=${join(dir, 'out')}/logs/row-%a.out\n`);
    // One command for every task; the row comes from SLURM_ARRAY_TASK_ID; the roots are the traces' directory.
    expect(text.match(/^exec .*$/m)![0]).toBe(`exec ${process.execPath} ${CLI} worker --slurm ${join(dir, 'out')} --root ${realpathSync(join(dir, 'traces'))}`);

    const early = await vmsim(['gather', 'out']);
    expect(early.code).toBe(1);
    expect(early.err).toMatch(/^vmsim gather: 4 of 4 rows have not run yet \(rows 0,1,2,3\); run them with: sbatch --array=0,1,2,3 out\/sweep\.sbatch\n$/);

    // The tasks run at once, as the array's tasks do.
    const done = await Promise.all([0, 1, 2, 3].map((i) => task(script, i)));
    expect(done).toEqual([0, 1, 2, 3].map((i) => ({ code: 0, err: `vmsim worker: row ${i} done\n` })));
    expect(readdirSync(join(dir, 'out', 'rows'))).toHaveLength(4);
    // Submitting again runs nothing twice.
    expect(await task(script, 3)).toEqual({ code: 0, err: 'vmsim worker: row 3 was done already\n' });

    const [local, gathered] = await Promise.all([vmsim(sweepArgs), vmsim(['gather', 'out'])]);
    expect(gathered.code, gathered.err).toBe(0);
    expect(untimed(gathered.out)).toBe(untimed(local.out));
    const [gc, lc] = await Promise.all([vmsim(['gather', 'out', '--csv']), vmsim([...sweepArgs.slice(0, -1), '--csv'])]);
    expect(untimedCsv(gc.out)).toBe(untimedCsv(lc.out));
  });

  it('a row whose trace changed fails alone; gather prints the rest and reports it (exit 1)', async () => {
    writeFileSync(join(dir, 'traces', 'c.lackey'), syntheticLackeyTrace({ seed: 4, records: 300 }));
    const e = await vmsim(['sweep', 'traces/c.lackey', 'traces/s.lackey', '--tlb-entries', '8', '--json', '--emit', 'slurm', '--emit-dir', 'changed']);
    expect(e.code, e.err).toBe(0);
    appendFileSync(join(dir, 'traces', 'c.lackey'), ' L 7ff000100,8\n');
    const script = join(dir, 'changed', 'sweep.sbatch');
    const [failed, fine] = await Promise.all([task(script, 0), task(script, 1)]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/^vmsim worker: row 0 failed: trace .*\/traces\/c\.lackey has changed since the sweep was queued/);
    expect(fine.code).toBe(0);
    const g = await vmsim(['gather', 'changed']);
    expect(g.code).toBe(1);
    const rows = JSON.parse(g.out) as Array<{ trace?: string; error?: string; result?: { accesses: number } }>;
    expect(rows[0]).toMatchObject({ trace: 'traces/c.lackey', error: expect.stringMatching(/has changed since/) });
    expect(rows[1]!.result!.accesses).toBe(5000);
    expect(g.err).toMatch(/1 of 2 rows failed/);
  });

  it('refuses what is not a sweep, a row out of range, and a task without its index', async () => {
    const none = await vmsim(['gather', 'traces']);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/traces holds no sweep \(traces\/sweep\.json: no such file\); write one with vmsim sweep … --emit slurm/);
    mkdirSync(join(dir, 'junk'));
    writeFileSync(join(dir, 'junk', 'sweep.json'), '{"format":"other"}');
    expect((await vmsim(['gather', 'junk'])).err).toMatch(/is not a vmsim sweep manifest/);
    writeFileSync(join(dir, 'junk', 'sweep.json'), '{');
    expect((await vmsim(['gather', 'junk'])).err).toMatch(/is not JSON/);
    const noIndex = await vmsim(['worker', '--slurm', 'out'], { SLURM_ARRAY_TASK_ID: '' });
    expect(noIndex.code).toBe(2);
    expect(noIndex.err).toMatch(/--slurm needs --row N \(or SLURM_ARRAY_TASK_ID/);
    const far = await vmsim(['worker', '--slurm', 'out', '--row', '99']);
    expect(far.code).toBe(1);
    expect(far.err).toMatch(/row 99 is not in the sweep \(rows 0-3\)/);
    expect((await vmsim(['sweep', 'traces/s.lackey', '--emit', 'pbs'])).err).toMatch(/--emit pbs: must be one of slurm/);
    expect((await vmsim(['sweep', 'traces/s.lackey', '--emit-dir', 'x'])).err).toMatch(/--emit-dir goes with --emit slurm/);
  });
});
