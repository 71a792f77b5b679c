/**
 * Sweeps on a job queue, end to end: a private redis-server, `vmsim worker` processes, one of
 * them killed outright in the middle of a job; the rows must be byte for byte those of the local
 * sweep (only the measured time differs), a second run reuses every row, and bad jobs fail
 * alone with errors that say why without echoing the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { replay, sweep, type SweepConfig } from '../../src/index.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { main } from '../../src/cli/main.js';
import { makeRowJob } from '../../src/queue/row-job.js';
import { hashFile } from '../../src/queue/file-hash.js';
import { packageVersion } from '../../src/package-info.js';
import { destroyWorkers, redisInstalled, startRedis, startWorker, until, type RedisServer } from '../support/redis-server.js';

/** JSON of rows without the measured time, the one value a row may differ in. */
const untimed = (v: unknown) => JSON.stringify(v, (k, x: unknown) => (k === 'timeMs' || k === 'nsPerAccess' ? undefined : x), 2);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** CSV text without the columns of measured time. */
function untimedCsv(csv: string): string {
  const lines = csv.trimEnd().split('\n').map((l) => l.split(','));
  const keep = lines[0]!.map((h, i) => (h === 'timeMs' || h === 'nsPerAccess' ? -1 : i)).filter((i) => i >= 0);
  return lines.map((l) => keep.map((i) => l[i]).join(',')).join('\n');
}

describe.skipIf(!redisInstalled)('sweeps on a job queue (BullMQ on a private redis-server; skipped only where redis-server is not installed, which .ci/run installs)', () => {
  let redis: RedisServer | undefined;
  // Made in beforeAll: a skipped suite runs no hook, and must leave nothing behind either.
  let dir = '';
  let roots = '';
  let outside = '';
  let ls = '';
  let synth = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vmsim-queue-'));
    roots = join(dir, 'traces');
    outside = join(dir, 'elsewhere');
    mkdirSync(roots);
    mkdirSync(outside);
    ls = join(roots, 'ls.lackey.gz');
    synth = join(roots, 'synth.lackey');
    copyFileSync(join(import.meta.dirname, '..', '..', 'traces', 'ls.lackey.gz'), ls);
    writeFileSync(synth, syntheticLackeyTrace({ seed: 7, records: 20_000 }));
    redis = await startRedis();
  });
  afterAll(async () => {
    await destroyWorkers();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two workers, one killed in the middle of a job: the rows are the local sweep, byte for byte; a second run reuses every row', async () => {
    const url = redis!.url('kill');
    // The first job is slow (the pure-TS core, 4 frames under LRU: ~0.5 s), so it is surely running when its worker dies.
    const configs: SweepConfig[] = [{ backend: 'js', frames: 4, policy: 'lru', cpu: 'skylake' }, { tlb: { entries: 16 } }, { tlb: { entries: 64, ways: 64 } }, { cpu: 'zen4', pageSize: '2m' }];
    const workerArgs = ['--queue', url, '--root', roots, '--concurrency', '1', '--lock-duration', '2000'];
    const [a, b] = await Promise.all([startWorker(workerArgs), startWorker(workerArgs)]);
    expect(a.log()).toMatch(/serving redis:\/\/127\.0\.0\.1:\d+\/kill with 1 process/);
    const slowKey = makeRowJob(packageVersion(), ls, await hashFile(ls), configs[0] as Record<string, unknown>).key;
    const connection = { host: '127.0.0.1', port: redis!.port };
    const events = new QueueEvents('kill', { connection });
    const queue = new Queue('kill', { connection });
    try {
      await events.waitUntilReady();
      let killed: typeof a | undefined;
      events.on('active', ({ jobId }) => {
        if (jobId !== slowKey || killed) return;
        void Job.fromId(queue, jobId).then((job) => {
          killed = [a, b].find((w) => job?.processedBy?.endsWith(`:${w.pid}`));
          killed?.killWorker();
        });
      });
      const seen: number[] = [];
      const rows = await sweep([ls, synth], configs, { queue: url, onRow: (_r, done) => seen.push(done) });
      expect(killed).toBeDefined();
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      // In this thread (jobs: 1): the tests run from source, where the sweep's worker-thread file is not built.
      const local = [...(await sweep(ls, configs, { jobs: 1 })), ...(await sweep(synth, configs, { jobs: 1 }))];
      expect(untimed(rows)).toBe(untimed(local));
      // It was retried after the stall, by the worker that lived.
      const slow = await Job.fromId(queue, slowKey);
      expect(slow!.stalledCounter).toBe(1);
      const survivor = killed === a ? b : a;
      expect(slow!.processedBy).toMatch(new RegExp(`:${survivor.pid}$`));
      // The killed worker's sandboxed child noticed and stopped: nothing of it is left.
      await killed!.exited;
      await until(() => !killed!.alive(), 5000, "the killed worker's children to stop");

      // Again: every row is reused, none is computed.
      let info: { rows: number; jobs: number; reused: number } | undefined;
      const again = await sweep([ls, synth], configs, { queue: url, onQueued: (i) => (info = i) });
      expect(info).toMatchObject({ rows: 8, jobs: 8, reused: 8 });
      expect(untimed(again)).toBe(untimed(local));
      expect(again.map((r) => r.result!.timeMs)).toEqual(rows.map((r) => r.result!.timeMs));

      // The command: its JSON and CSV are those of the local command.
      const args = ['sweep', ls, synth, '--tlb-entries', '16,64', '--cpu', 'skylake,zen3'];
      const [qj, lj] = [await run(...args, '--queue', url, '--json'), await run(...args, '--json', '--jobs', '1')];
      expect([qj.code, lj.code]).toEqual([0, 0]);
      expect(qj.err).toMatch(/8 rows on the queue redis:\/\/127\.0\.0\.1:\d+\/kill: 0 finished earlier, 8 to compute/);
      expect(untimed(JSON.parse(qj.out))).toBe(untimed(JSON.parse(lj.out)));
      const [qc, lc] = [await run(...args, '--queue', url, '--csv'), await run(...args, '--csv', '--jobs', '1')];
      expect(qc.err).toMatch(/8 finished earlier/);
      expect(untimedCsv(qc.out)).toBe(untimedCsv(lc.out));
      const [qt, lt] = [await run(...args, '--queue', url), await run(...args, '--jobs', '1')];
      expect(qt.out).toBe(lt.out);
      expect(qt.out).toMatch(/^trace +cpu +tlb-entries/);
    } finally {
      await events.close();
      await queue.close();
    }
  });

  it('a failed row does not sink the sweep: outside --root, missing, changed since queued, a symlink out, bad content — each says why, never what the file holds', async () => {
    const url = redis!.url('bad');
    const ok = join(roots, 'ok.lackey');
    const away = join(outside, 'away.lackey');
    const missing = join(roots, 'gone.lackey');
    const changed = join(roots, 'changed.lackey');
    const secret = join(roots, 'secret.lackey');
    const link = join(roots, 'link.lackey');
    // Different contents: a row is its trace's content and configuration, wherever the file lies.
    [ok, away, missing, changed].forEach((f, i) => writeFileSync(f, syntheticLackeyTrace({ seed: 10 + i, records: 2000 })));
    writeFileSync(secret, ' L zzTOPSECRETzz,8\n');
    symlinkSync(away, link);
    const traces = [ok, away, missing, changed, secret, link];
    const configs: SweepConfig[] = [{ tlb: { entries: 32 }, strict: true }];
    // No worker yet: the jobs wait while the files change under them.
    let queued!: () => void;
    const isQueued = new Promise<void>((r) => (queued = r));
    const pending = sweep(traces, configs, { queue: url, onQueued: () => queued() });
    await isQueued;
    unlinkSync(missing);
    appendFileSync(changed, ' L 7ff000100,8\n');
    const w = await startWorker(['--queue', url, '--root', roots, '--concurrency', '2']);
    const rows = await pending;
    expect(rows[0]!.error).toBeUndefined();
    expect(untimed(rows[0])).toBe(untimed((await sweep(ok, configs, { jobs: 1 }))[0]));
    const errors = rows.map((r) => r.error);
    expect(errors[1]).toBe(`trace ${away} is outside this worker's --root directories (${roots}); start the worker with --root DIR for the directory that holds it`);
    expect(errors[2]).toMatch(new RegExp(`^trace ${missing} does not exist on this worker`));
    expect(errors[3]).toMatch(new RegExp(`^trace ${changed} has changed since the sweep was queued`));
    expect(errors[4]).toBe(`trace ${secret} line 1: bad address "…"`);
    expect(errors[5]).toMatch(/is outside this worker's --root directories/);
    expect(rows.map((r) => (r.error !== undefined ? r.trace : r.result.trace.source))).toEqual(traces);
    expect(JSON.stringify(rows)).not.toMatch(/TOPSECRET/);

    // The command prints the good rows and lists the failed ones (exit 1).
    const r = await run('sweep', ok, away, '--tlb-entries', '32', '--queue', url, '--json');
    expect(r.code).toBe(1);
    const printed = JSON.parse(r.out) as Array<{ error?: string; trace?: string }>;
    expect(printed[0]!.error).toBeUndefined();
    expect(printed[1]).toMatchObject({ trace: away, error: expect.stringMatching(/outside this worker's --root/) });
    expect(r.err).toMatch(/1 of 2 rows failed \(the others are above\):\n {2}row 1 \(.*away\.lackey, \{"tlb":\{"entries":32\}\}\): trace .* is outside/);
    await w.destroy();
  });

  it('a sweep from a snapshot on the queue: the rows are the local sweep from it; the same snapshot copied elsewhere reuses every row', async () => {
    const url = redis!.url('from');
    const warm = join(roots, 'warm.vmsnap');
    await replay(synth, { tlb: { entries: 32 }, save: warm });
    const configs: SweepConfig[] = [{ tlb: { entries: 32 }, from: warm }, { tlb: { entries: 64 }, from: warm }];
    const w = await startWorker(['--queue', url, '--root', roots]);
    const rows = await sweep(ls, configs, { queue: url });
    const local = await sweep(ls, configs, { jobs: 1 });
    expect(untimed(rows)).toBe(untimed(local));
    expect(rows.map((r) => r.result?.from?.tlbs)).toEqual(['kept', 'emptied']);
    // Keyed by content: a copy of the snapshot under another name finds the finished rows.
    const copy = join(roots, 'copy.vmsnap');
    copyFileSync(warm, copy);
    let reused = -1;
    const again = await sweep(ls, configs.map((c) => ({ ...c, from: copy })), { queue: url, onQueued: (q) => (reused = q.reused) });
    expect(reused).toBe(2);
    expect(untimed(again.map((r) => ({ ...r.result, from: undefined })))).toBe(untimed(rows.map((r) => ({ ...r.result, from: undefined }))));
    await w.destroy();
  });

  it('jobs written to the queue by anyone are checked: a ".." escape, a wrong key, a malformed job', async () => {
    const url = redis!.url('raw');
    const away = join(outside, 'escape.lackey');
    writeFileSync(away, syntheticLackeyTrace({ seed: 5, records: 500 }));
    const hash = await hashFile(away);
    const dotdot = makeRowJob(packageVersion(), `${roots}/../elsewhere/escape.lackey`, hash, { tlb: { entries: 8 } });
    const wrongKey = { ...makeRowJob(packageVersion(), join(roots, 'ok.lackey'), hash, {}), key: 'f'.repeat(64) };
    const connection = { host: '127.0.0.1', port: redis!.port };
    const queue = new Queue('raw', { connection });
    const w = await startWorker(['--queue', url, '--root', roots, '--concurrency', '1']);
    try {
      await queue.add('row', dotdot, { jobId: dotdot.key });
      await queue.add('row', wrongKey, { jobId: wrongKey.key });
      await queue.add('row', { format: 'vmsim-row/1', trace: '/etc/passwd' }, { jobId: 'junk' });
      await queue.add('row', { ...makeRowJob('0.0.0-other', away, hash, {}) }, { jobId: 'old' });
      const reason = async (id: string) => {
        await until(async () => (await (await Job.fromId(queue, id))?.getState()) === 'failed', 10_000, `job ${id} to fail`);
        return (await Job.fromId(queue, id))!.failedReason;
      };
      expect(await reason(dotdot.key)).toMatch(/^trace .*\/\.\.\/elsewhere\/escape\.lackey is outside this worker's --root directories/);
      expect(await reason(wrongKey.key)).toBe('malformed job: key does not match the trace and snapshot hashes and configuration');
      expect(await reason('junk')).toBe('malformed job: fields must be format, version, key, trace, snapshot, config');
      expect(await reason('old')).toMatch(/^the job was queued by vmsim 0\.0\.0-other and this worker is vmsim /);
    } finally {
      await queue.close();
      await w.destroy();
    }
    expect(readFileSync(away, 'utf8').length).toBeGreaterThan(0);
  });
});
