/**
 * The queue's pieces that need no Redis: URLs, job identity, the row codec, the roots a worker
 * reads under, and what a sweep or worker does with a queue it cannot reach (a clear error
 * within seconds, exit 2 for a bad URL and 1 for a refused connection, nothing left running).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQueueUrl } from '../../src/queue/queue-url.js';
import { canonicalJson } from '../../src/queue/canonical-json.js';
import { checkRowJob, makeRowJob, rowKey } from '../../src/queue/row-job.js';
import { decodeRow, encodeRow } from '../../src/queue/row-codec.js';
import { hashFile } from '../../src/queue/file-hash.js';
import { openUnderRoots, resolveRoots, underRoots } from '../../src/jobs/trace-roots.js';
import { runRow } from '../../src/jobs/run-row.js';
import { sweep } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { packageVersion } from '../../src/package-info.js';
import { CLI } from '../support/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-queue-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('queue URLs', () => {
  it('parse host, port, name, credentials, database and TLS', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6380/study')).toEqual({ display: 'redis://127.0.0.1:6380/study', host: '127.0.0.1', port: 6380, db: 0, tls: false, name: 'study' });
    expect(parseQueueUrl('redis://head/q')).toMatchObject({ host: 'head', port: 6379, name: 'q' });
    expect(parseQueueUrl('rediss://me:p%40ss@[::1]:7000/a.b-c_d?db=3')).toEqual({ display: 'rediss://me:***@[::1]:7000/a.b-c_d?db=3', host: '::1', port: 7000, db: 3, tls: true, name: 'a.b-c_d', username: 'me', password: 'p@ss' });
  });

  it('refuse what is not a queue URL, saying what is wrong and never showing a password', () => {
    const cases: Array<[unknown, RegExp]> = [
      [42, /queue URL must be a string like redis:\/\/127\.0\.0\.1:6379\/vmsim, got number 42/],
      ['localhost:6379/q', /not a URL \(it starts with redis:\/\/\)/],
      ['http://h/q', /unsupported scheme "http:\/\/"/],
      ['redis://h:6379', /names no queue: add \/NAME/],
      ['redis://h:6379/', /names no queue/],
      ['redis://h:0/q', /port 0 is not in \[1, 65535\]/],
      ['redis://h:65536/q', /port 65536 is not in \[1, 65535\]/],
      ['redis://h:/q', /has an empty port/],
      ['redis:///q', /names no host|not a valid URL/],
      ['redis://h/a:b', /queue name "a:b" must be 1-100 letters/],
      ['redis://h/q?timeout=1', /unknown parameter "timeout"/],
      ['redis://h/q?db=x', /db must be a database number/],
      ['redis://h/q#x', /has a #fragment/],
      ['redis://u:secret@h:1/', /"redis:\/\/u:\*\*\*@h:1\/"/],
    ];
    for (const [url, re] of cases) {
      expect(() => parseQueueUrl(url), String(url)).toThrow(re);
      try {
        parseQueueUrl(url);
      } catch (e) {
        expect((e as { code: string }).code).toBe('EINVAL');
        expect((e as Error).message).not.toMatch(/secret/);
      }
    }
  });
});

describe('job identity', () => {
  it('canonical JSON sorts keys and leaves out undefined; refuses what is not plain data', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: undefined }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"z":2}]},"b":1}');
    expect(() => canonicalJson({ f: () => 1 }, 'cfg')).toThrow(/cfg\.f must be plain data/);
    expect(() => canonicalJson({ n: NaN }, 'cfg')).toThrow(/cfg\.n must be a finite number/);
    expect(() => canonicalJson({ m: new Map() }, 'cfg')).toThrow(/cfg\.m must be plain data \(JSON\), got an object \(Map\)/);
    expect(() => canonicalJson({ b: 1n }, 'cfg')).toThrow(/cfg\.b must be plain data/);
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    expect(() => canonicalJson(loop, 'cfg')).toThrow(/cfg\.self refers to itself/);
  });

  it('a row key is the hash of version, trace content, snapshot and configuration, whatever the key order', () => {
    const h = 'a'.repeat(64);
    const k = rowKey('1.0.0', h, null, { tlb: { entries: 16, ways: 4 }, cpu: 'zen4' });
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(rowKey('1.0.0', h, null, { cpu: 'zen4', tlb: { ways: 4, entries: 16 } })).toBe(k);
    expect(rowKey('1.0.1', h, null, { cpu: 'zen4', tlb: { ways: 4, entries: 16 } })).not.toBe(k);
    expect(rowKey('1.0.0', 'b'.repeat(64), null, { cpu: 'zen4', tlb: { ways: 4, entries: 16 } })).not.toBe(k);
    expect(rowKey('1.0.0', h, 'c'.repeat(64), { cpu: 'zen4', tlb: { ways: 4, entries: 16 } })).not.toBe(k);
    expect(rowKey('1.0.0', h, null, { cpu: 'zen4', tlb: { ways: 2, entries: 16 } })).not.toBe(k);
    // The path is not part of it: the same content elsewhere is the same row.
    expect(makeRowJob('1.0.0', '/a/t', h, { cpu: 'zen4' }).key).toBe(makeRowJob('1.0.0', '/b/u', h, { cpu: 'zen4' }).key);
  });

  it('a worker refuses a malformed job without echoing it', () => {
    const v = packageVersion();
    const good = makeRowJob(v, '/t/x.bin', 'a'.repeat(64), { tlb: { entries: 8 } });
    expect(checkRowJob(structuredClone(good), v)).toEqual(good);
    const fromSnap = makeRowJob(v, '/t/x.bin', 'a'.repeat(64), { tlb: { entries: 8 } }, { path: '/t/w.vmsnap', hash: 'c'.repeat(64) });
    expect(checkRowJob(structuredClone(fromSnap), v)).toEqual(fromSnap);
    expect(fromSnap.key).not.toBe(good.key);
    expect(makeRowJob(v, '/t/x.bin', 'a'.repeat(64), { tlb: { entries: 8 } }, { path: '/elsewhere/w.vmsnap', hash: 'c'.repeat(64) }).key).toBe(fromSnap.key);
    const bad: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      [[good], /not an object/],
      [{ ...good, extra: 'SECRET' }, /fields must be format, version, key, trace, snapshot, config/],
      [{ ...good, format: 'x' }, /format must be vmsim-row\/1/],
      [{ ...good, version: 'SECRET' }, /queued by vmsim SECRET and this worker is vmsim/],
      [{ ...good, trace: { path: 'rel/x.bin', hash: good.trace.hash } }, /trace.path must be an absolute path/],
      [{ ...good, trace: { path: '/x\0y', hash: good.trace.hash } }, /trace.path must be an absolute path/],
      [{ ...good, trace: { path: '/x', hash: 'SECRET' } }, /trace.hash must be a hex SHA-256/],
      [{ ...good, trace: { path: '/x', hash: good.trace.hash, more: 1 } }, /trace must be \{ path, hash \}/],
      [{ ...good, snapshot: '/snap' }, /snapshot must be null/],
      [{ ...good, snapshot: { path: 'rel/s.vmsnap', hash: good.trace.hash } }, /snapshot.path must be an absolute path/],
      [{ ...good, snapshot: { path: '/s.vmsnap', hash: 'SECRET' } }, /snapshot.hash must be a hex SHA-256/],
      // A snapshot the key was not made with: its hash is part of the job's identity.
      [{ ...good, snapshot: { path: '/s.vmsnap', hash: 'b'.repeat(64) } }, /key does not match/],
      [{ ...good, config: [] }, /config must be an object/],
      [{ ...good, config: { tlb: { entries: 16 } } }, /key does not match/],
      [{ ...good, key: 'SECRET' }, /key must be a hex SHA-256/],
    ];
    for (const [data, re] of bad) {
      expect(() => checkRowJob(data, v)).toThrow(re);
      // The version is shown (truncated): it is what tells the user which vmsim queued the job.
      if (!/queued by/.test(re.source)) expect(() => checkRowJob(data, v)).not.toThrow(/SECRET/);
    }
  });

  it('the row codec keeps NaN, infinities and -0 that JSON would turn into null or 0', () => {
    const v = { a: NaN, b: Infinity, c: -Infinity, d: -0, e: [1, 0.1, { f: 'x', g: null }], h: { $num: 3 } };
    const back = decodeRow(encodeRow(v)) as typeof v;
    expect(back.a).toBeNaN();
    expect(back.b).toBe(Infinity);
    expect(back.c).toBe(-Infinity);
    expect(Object.is(back.d, -0)).toBe(true);
    expect(back.e).toEqual([1, 0.1, { f: 'x', g: null }]);
    expect(back.h).toEqual({ $num: 3 });
  });
});

describe("a worker's roots", () => {
  const root = join(dir, 'root');
  const other = join(dir, 'other');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(other);
  writeFileSync(join(root, 'sub', 't.lackey'), ' L 7ff000100,8\n');
  writeFileSync(join(other, 'o.lackey'), ' L 7ff000100,8\n');
  symlinkSync(join(other, 'o.lackey'), join(root, 'out-link'));
  symlinkSync(join(root, 'sub', 't.lackey'), join(other, 'in-link'));
  spawnSync('mkfifo', [join(root, 'fifo')]);

  it('resolve to real directories; a missing or non-directory root is an error naming it', async () => {
    expect(await resolveRoots([root, `${root}/sub/..`])).toEqual([root]);
    await expect(resolveRoots([join(dir, 'nope')])).rejects.toThrow(/--root .*nope does not exist/);
    await expect(resolveRoots([join(root, 'sub', 't.lackey')])).rejects.toThrow(/is not a directory/);
    expect(underRoots('/a/b', ['/a'])).toBe(true);
    expect(underRoots('/ab', ['/a'])).toBe(false);
    expect(underRoots('/a', ['/a'])).toBe(true);
    expect(underRoots('/x', ['/'])).toBe(true);
  });

  it('open a regular file under a root (also through a link that stays inside), and nothing else', async () => {
    const f = await openUnderRoots(join(root, 'sub', 't.lackey'), [root]);
    expect(f.readPath).toMatch(/^\/proc\/self\/fd\/\d+$/);
    await f.handle.close();
    // A link from elsewhere into the root is fine: what counts is where the file is.
    (await openUnderRoots(join(other, 'in-link'), [root])).handle.close();
    const outside = /is outside this worker's --root directories/;
    await expect(openUnderRoots(join(other, 'o.lackey'), [root])).rejects.toThrow(outside);
    await expect(openUnderRoots(join(root, 'out-link'), [root])).rejects.toThrow(outside);
    await expect(openUnderRoots(`${root}/sub/../../other/o.lackey`, [root])).rejects.toThrow(outside);
    // Outside, a file that does not exist is "outside" too: the queue learns nothing of other directories.
    await expect(openUnderRoots(join(other, 'none'), [root])).rejects.toThrow(outside);
    await expect(openUnderRoots(join(root, 'none'), [root])).rejects.toThrow(/does not exist on this worker/);
    await expect(openUnderRoots(join(root, 'sub'), [root])).rejects.toThrow(/is not a regular file/);
    await expect(openUnderRoots(join(root, 'fifo'), [root])).rejects.toThrow(/is not a regular file/);
    await expect(openUnderRoots('sub/t.lackey', [root])).rejects.toThrow(/is not absolute/);
  });

  it('runRow checks the content hash before it reads a record, and replays through the descriptor it checked', async () => {
    const t = join(root, 'sub', 't.lackey');
    const job = makeRowJob(packageVersion(), t, await hashFile(t), { tlb: { entries: 4 } });
    const result = decodeRow(await runRow(job, [root])) as { accesses: number; trace: { source: string } };
    expect(result.accesses).toBe(1);
    expect(result.trace.source).toMatch(/^\/proc\/self\/fd\/\d+$/);
    await expect(runRow({ ...job, trace: { ...job.trace, hash: 'b'.repeat(64) }, key: rowKey(packageVersion(), 'b'.repeat(64), null, job.config) }, [root])).rejects.toThrow(/has changed since the sweep was queued/);
    await expect(runRow(job, [root], 'another-id')).rejects.toThrow(/its id is not its key/);
    const bad = makeRowJob(packageVersion(), t, job.trace.hash, { tlb: { entries: 3, ways: 2 } });
    await expect(runRow(bad, [root])).rejects.toThrow(/^bad configuration: EINVAL: options.tlb.entries 3 is not a multiple of options.tlb.ways 2$/);
    const swapFile = makeRowJob(packageVersion(), t, job.trace.hash, { frames: 4, swap: { size: '1MiB', file: '/etc/x' } });
    await expect(runRow(swapFile, [root])).rejects.toThrow(/swap.file: a worker writes no file a job names/);
  });
});

describe('a queue that cannot be reached, or is named badly', () => {
  let quiet: Server | undefined;
  afterAll(() => quiet?.close());

  it('a bad URL is a usage error (exit 2) before anything runs', async () => {
    const t = join(dir, 'u.lackey');
    writeFileSync(t, ' L 7ff000100,8\n');
    const r = await run('sweep', t, '--queue', 'redis://h:6379');
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toMatch(/^vmsim sweep: --queue: queue URL "redis:\/\/h:6379": names no queue/);
    const w = await run('worker', '--queue', 'http://h/q');
    expect(w.code).toBe(2);
    expect(w.err).toMatch(/^vmsim worker: --queue: queue URL "http:\/\/h\/q": unsupported scheme/);
    expect((await run('worker')).err).toMatch(/give one of --queue URL and --slurm DIR/);
    expect((await run('worker', '--queue', 'redis://h/q', '--root', join(dir, 'nope'))).err).toMatch(/--root .*nope does not exist/);
    expect((await run('sweep', t, '--queue', 'redis://h/q', '--jobs', '2')).err).toMatch(/--jobs is for a sweep on this machine/);
    expect((await run('sweep', '-', '--queue', 'redis://h/q')).err).toMatch(/needs trace files every worker can read, not standard input/);
    expect((await run('sweep', t, '--queue', 'redis://h/q', '--emit', 'slurm')).err).toMatch(/choose one of --queue and --emit/);
    await expect(sweep(t, [{}], { queue: 'redis://h:6379' })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(sweep(t, [{ swap: { size: '1MiB', file: '/tmp/s' }, frames: 4 }], { queue: 'redis://127.0.0.1:1/q' })).rejects.toThrow(/swap.file: a worker writes no file/);
    await expect(sweep(t, [{}], { queue: 'redis://127.0.0.1:1/q', jobs: 2 } as never)).rejects.toThrow(/unknown option "jobs"/);
    await expect(sweep([t, join(dir, 'none')], [{}], { queue: 'redis://127.0.0.1:1/q' })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a refused connection fails within seconds (exit 1), from the API, the sweep and the worker, and leaves no process behind', async () => {
    const t = join(dir, 'r.lackey');
    writeFileSync(t, ' L 7ff000100,8\n');
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `redis://127.0.0.1:${port}/q`;
    await expect(sweep(t, [{}], { queue: url })).rejects.toMatchObject({ code: 'ECONNREFUSED', message: expect.stringContaining(`connection refused at 127.0.0.1:${port} (is redis-server running there?`) });
    // As processes: each must exit by itself (a connection or timer left open would keep it alive).
    for (const args of [['sweep', t, '--queue', url], ['worker', '--queue', url, '--root', dir]]) {
      const t0 = Date.now();
      const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const killer = setTimeout(() => p.kill('SIGKILL'), 15_000);
      const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      clearTimeout(killer);
      expect(code, err).toBe(1);
      expect(err).toMatch(new RegExp(`^vmsim ${args[0]}: cannot reach the queue ${url.replace(/[/.]/g, '\\$&')}: connection refused`));
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
  });

  it('a server that accepts and never answers times out instead of hanging', async () => {
    quiet = createServer(() => {});
    const port = await new Promise<number>((resolve) => quiet!.listen(0, '127.0.0.1', () => resolve((quiet!.address() as { port: number }).port)));
    const t = join(dir, 'q.lackey');
    writeFileSync(t, ' L 7ff000100,8\n');
    await expect(sweep(t, [{}], { queue: `redis://127.0.0.1:${port}/q` })).rejects.toMatchObject({ code: 'ETIMEDOUT', message: expect.stringMatching(/no answer from 127\.0\.0\.1:\d+ within the timeout/) });
  });
});
