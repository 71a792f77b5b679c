/**
 * Sweeps from a snapshot on a queue or a cluster: the job carries the snapshot as a path and the
 * hash of its content (in the job's key, not its path); a worker opens it only under its roots,
 * checks its content, refuses a diff (its parent is a file the job does not name), and gives the
 * row a local replay from the same snapshot gives.
 */
import { describe, expect, it } from 'vitest';
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replay } from '../../src/replay/replay.js';
import { runRow } from '../../src/jobs/run-row.js';
import { decodeRow } from '../../src/queue/row-codec.js';
import { hashFile } from '../../src/queue/file-hash.js';
import { rowFromOutcome, rowJobs, snapshotFiles, traceFiles } from '../../src/replay/queued-sweep.js';
import { Machine } from '../../src/system/machine.js';
import { tempDir } from '../support/temp-dir.js';
import type { ReplayResult } from '../../src/replay/replay-result.js';

function addresses(seed: number, n: number): string {
  let x = seed;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lines.push(`0x${(0x10000000 + (x % 200) * 4096).toString(16)}`);
  }
  return lines.join('\n') + '\n';
}

describe('sweeps from a snapshot on a queue', () => {
  it('a row job names the snapshot by content; a worker gives the row a local replay gives', async () => {
    const root = tempDir('queue-snap');
    const a = join(root, 'a.txt');
    const b = join(root, 'b.txt');
    writeFileSync(a, addresses(1, 2000));
    writeFileSync(b, addresses(2, 2000));
    const snap = join(root, 'warm.vmsnap');
    await replay(a, { backend: 'js', memory: '64MiB', tlb: { entries: 32 }, save: snap });
    const configs = [{ tlb: { entries: 32 }, from: snap }, { tlb: { entries: 64 }, from: snap }];
    const snaps = await snapshotFiles(configs);
    expect(snaps.get(snap)).toEqual({ path: snap, hash: await hashFile(snap) });
    const files = await traceFiles([b]);
    const jobs = rowJobs(files, configs, snaps);
    expect(jobs.map((j) => j.snapshot)).toEqual([snaps.get(snap), snaps.get(snap)]);
    expect(jobs.every((j) => !('from' in j.config))).toBe(true);
    // The same snapshot elsewhere: the same keys.
    const copy = join(root, 'copy.vmsnap');
    copyFileSync(snap, copy);
    const moved = configs.map((c) => ({ ...c, from: copy }));
    expect(rowJobs(files, moved, await snapshotFiles(moved)).map((j) => j.key)).toEqual(jobs.map((j) => j.key));
    for (const [i, job] of jobs.entries()) {
      const row = rowFromOutcome(files[0]!, configs[i]!, { value: await runRow(job, [root]) });
      const local = await replay(b, configs[i]!);
      expect({ ...row.result!, timeMs: 0, nsPerAccess: 0, backend: 'js' }).toEqual({ ...local, timeMs: 0, nsPerAccess: 0, backend: 'js' });
      expect(row.result!.from).toEqual({ snapshot: snap, tlbs: i === 0 ? 'kept' : 'emptied' });
    }
  });

  it('a worker refuses a snapshot outside its roots, one changed since, and a diff; the sweep refuses a diff before queuing', async () => {
    const root = tempDir('queue-snap');
    const inside = join(root, 'in');
    mkdirSync(inside);
    const t = join(inside, 't.txt');
    writeFileSync(t, addresses(3, 100));
    const snap = join(inside, 'w.vmsnap');
    using m = new Machine({ backend: 'js', memory: '8MiB' });
    m.createAddressSpace().mmap({ length: 4096, prot: 'rw' });
    m.save(snap);
    const files = await traceFiles([t]);
    const config = [{ from: snap }];
    const [job] = rowJobs(files, config, await snapshotFiles(config));
    await expect(runRow(job, [inside])).resolves.toBeTypeOf('string');
    const outside = tempDir('queue-snap-out');
    const far = join(outside, 'w.vmsnap');
    copyFileSync(snap, far);
    const [farJob] = rowJobs(files, [{ from: far }], await snapshotFiles([{ from: far }]));
    await expect(runRow(farJob, [inside])).rejects.toThrow(/snapshot .* is outside this worker's --root directories/);
    appendFileSync(snap, 'x');
    await expect(runRow(job, [inside])).rejects.toThrow(/snapshot .* has changed since the sweep was queued/);
    // A diff: refused when the sweep is made, and by a worker handed one anyway.
    const base = join(inside, 'base.vmsnap');
    const diff = join(inside, 'diff.vmsnap');
    m.save(base);
    m.save(diff, { parent: base });
    await expect(snapshotFiles([{ from: diff }])).rejects.toThrow(/is a diff of another snapshot/);
    const [diffJob] = rowJobs(files, [{ from: diff }], new Map([[diff, { path: diff, hash: await hashFile(diff) }]]));
    await expect(runRow(diffJob, [inside])).rejects.toThrow(/is a diff of another snapshot; a worker reads only whole ones/);
    const result = decodeRow(await runRow(rowJobs(files, [{ from: base }], await snapshotFiles([{ from: base }]))[0], [inside])) as ReplayResult;
    expect(result.from).toEqual({ snapshot: base, tlbs: 'kept' });
  });
});
