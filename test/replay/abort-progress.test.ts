/**
 * replay, sweep and faultCurve take `{ signal }` and report progress within a run: an aborted
 * call rejects with Node's AbortError (as fs/promises does) and leaves nothing behind — no
 * open file, no worker thread, no temporary copy; progress comes while a trace is read, not
 * only when a row ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { replay } from '../../src/replay/replay.js';
import { sweep } from '../../src/replay/sweep.js';
import { faultCurve } from '../../src/replay/fault-curve.js';
import type { RunProgress } from '../../src/replay/run-progress.js';
import { convertTrace } from '../../src/trace/trace-writer.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { VmmError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-abort-'));
const text = join(dir, 'big.lackey');
const gz = join(dir, 'big.lackey.gz');
const bin = join(dir, 'big.bin');

beforeAll(async () => {
  // Large enough for many progress reports: several 1 MiB reads of text, several chunks of binary.
  const t = syntheticLackeyTrace({ records: 300_000, seed: 3 });
  writeFileSync(text, t);
  writeFileSync(gz, gzipSync(t));
  await convertTrace(text, bin);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The files this process has open under `dir` (the traces and their copies). */
function openFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir) || target.includes('vmsim-sweep-')) out.push(target);
    } catch {
      // the descriptor readdir itself used is gone
    }
  }
  return out;
}

/** Node's own rejection for an aborted call, to compare ours with. */
async function nodeAbortError(reason: unknown): Promise<Error & { code?: string }> {
  const ac = new AbortController();
  ac.abort(reason);
  return readFile(text, { signal: ac.signal }).then(
    () => {
      throw new Error('readFile did not reject');
    },
    (e: Error & { code?: string }) => e,
  );
}

function expectAbortError(e: unknown, reason: unknown): void {
  expect(e).toBeInstanceOf(Error);
  const err = e as Error & { code?: string };
  expect({ name: err.name, code: err.code, message: err.message }).toEqual({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' });
  expect(err.cause).toBe(reason);
}

describe('replay({ signal })', () => {
  it('rejects as fs/promises does: an AbortError (name, code, message) whose cause is the reason', async () => {
    const reason = new Error('user pressed stop');
    const node = await nodeAbortError(reason);
    const ac = new AbortController();
    ac.abort(reason);
    const e = await replay(text, { signal: ac.signal }).catch((x: unknown) => x);
    expectAbortError(e, reason);
    expect({ name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message }).toEqual({ name: node.name, code: node.code, message: node.message });
    expect(openFiles()).toEqual([]);
  });

  it.each([
    ['text', text],
    ['gzip', gz],
    ['binary', bin],
  ])('stops a %s trace mid-replay, closed before it rejects; onFinish never runs', async (_kind, path) => {
    const ac = new AbortController();
    const reports: number[] = [];
    let finished = false;
    const e = await replay(path, {
      signal: ac.signal,
      onFinish: () => (finished = true),
      onProgress: (bytesRead) => {
        reports.push(bytesRead);
        if (reports.length === 1) ac.abort('stop');
      },
    }).catch((x: unknown) => x);
    expectAbortError(e, 'stop');
    expect(reports.length).toBe(1);
    expect(finished).toBe(false);
    expect(openFiles()).toEqual([]);
  });

  it('stops an opt replay during its first pass over the trace', async () => {
    const ac = new AbortController();
    const e = await replay(bin, { frames: 8, policy: 'opt', signal: ac.signal, onProgress: () => ac.abort() }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(openFiles()).toEqual([]);
  });

  it('rejects at once when aborted while a stream has nothing to give', async () => {
    const stream = new PassThrough();
    const ac = new AbortController();
    stream.write('==1== Lackey\n I  00400000,4\n'.padEnd(600, ' ') + '\n');
    const p = replay(stream, { signal: ac.signal });
    setTimeout(() => ac.abort('late'), 50);
    const e = await p.catch((x: unknown) => x);
    expectAbortError(e, 'late');
    stream.destroy();
  });

  it('stops a replay of chunks in memory between chunks', async () => {
    const words = new Uint32Array([0x400000, 0x40000, 0x401000, 0x40000]);
    const ac = new AbortController();
    let given = 0;
    function* chunks() {
      for (;;) {
        given++;
        if (given === 3) ac.abort();
        yield { words, count: 2 };
      }
    }
    await expect(replay(chunks(), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(given).toBe(3);
  });

  it('refuses a signal that is not an AbortSignal (EINVAL naming it)', async () => {
    await expect(replay(text, { signal: {} as AbortSignal })).rejects.toThrow(VmmError);
    await expect(replay(text, { signal: 'x' as never })).rejects.toThrow(/options\.signal must be an AbortSignal, got/);
  });

  it('runs to the end when the signal is never aborted, with the same counts as without one', async () => {
    const ac = new AbortController();
    const a = await replay(bin, { signal: ac.signal });
    const b = await replay(bin);
    expect({ ...a, timeMs: 0, nsPerAccess: 0 }).toEqual({ ...b, timeMs: 0, nsPerAccess: 0 });
  });
});

describe('sweep({ signal, onProgress }) in this thread (jobs: 1)', () => {
  it('reports within each row, then the row', async () => {
    const events: string[] = [];
    const progress: RunProgress[] = [];
    await sweep(text, [{ tlb: { entries: 16 } }, { tlb: { entries: 64 } }], {
      jobs: 1,
      onProgress: (p) => {
        progress.push(p);
        events.push(`${p.phase}${p.index}`);
      },
      onRow: (_r, done) => events.push(`row${done}`),
    });
    // The text trace is first copied to binary ('read'), then each row reads that copy.
    const read = progress.filter((p) => p.phase === 'read');
    expect(read.length).toBeGreaterThan(2);
    expect(read.at(-1)!.bytesRead).toBe(read.at(-1)!.totalBytes);
    const row0 = progress.filter((p) => p.phase === 'run' && p.index === 0);
    expect(row0.length).toBeGreaterThan(2);
    expect(row0.some((p) => p.bytesRead < p.totalBytes!)).toBe(true);
    expect(row0.every((p) => p.done === 0 && p.total === 2)).toBe(true);
    // Every report of a row comes before that row is done.
    expect(events.lastIndexOf('run0')).toBeLessThan(events.indexOf('row1'));
    expect(events.indexOf('run1')).toBeGreaterThan(events.indexOf('row1'));
  });

  it('an abort during the binary copy rejects and removes the copy', async () => {
    const ac = new AbortController();
    let copy = '';
    const e = await sweep(text, [{}, {}], {
      jobs: 1,
      signal: ac.signal,
      onBinaryCopy: (path) => (copy = path),
      onProgress: (p) => {
        if (p.phase === 'read' && p.bytesRead > 2_000_000) ac.abort('enough');
      },
    }).catch((x: unknown) => x);
    expectAbortError(e, 'enough');
    expect(copy).not.toBe('');
    expect(existsSync(resolve(copy, '..'))).toBe(false);
    expect(openFiles()).toEqual([]);
  });

  it('an abort within a row rejects, no later row runs', async () => {
    const ac = new AbortController();
    const rows: number[] = [];
    const e = await sweep(bin, [{}, {}, {}], {
      jobs: 1,
      signal: ac.signal,
      onRow: (_r, done) => rows.push(done),
      onProgress: (p) => {
        if (p.phase === 'run' && p.index === 1 && p.bytesRead > 1_000_000) ac.abort();
      },
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(rows).toEqual([1]);
    expect(openFiles()).toEqual([]);
  });

  it('refuses a bad signal or callback, and a config that cannot cross to a worker', async () => {
    await expect(sweep(bin, [{}], { signal: 1 as never })).rejects.toThrow(/sweep: options\.signal must be an AbortSignal/);
    await expect(sweep(bin, [{}], { onProgress: 'x' as never })).rejects.toThrow(/sweep: options\.onProgress must be a function/);
    await expect(sweep(bin, [{ signal: new AbortController().signal } as never])).rejects.toThrow(/configs\[0\]\.signal cannot cross to a worker thread/);
    await expect(sweep(bin, [{}, { onProgress: () => {} } as never])).rejects.toThrow(/configs\[1\]\.onProgress cannot cross/);
  });
});

describe('faultCurve({ signal, onProgress })', () => {
  it('reports the touches pass, then within each point, in order', async () => {
    const progress: RunProgress[] = [];
    const c = await faultCurve(bin, { frames: [8, 16], policies: ['lru', 'fifo'], onProgress: (p) => progress.push(p) });
    expect(c.rows.length).toBe(4);
    const phases = progress.map((p) => `${p.phase}${p.index}`).filter((x, i, a) => a[i - 1] !== x);
    expect(phases).toEqual(['read-1', 'run0', 'run1', 'run2', 'run3']);
    expect(progress.every((p) => p.total === 4 && p.done === Math.max(0, p.index))).toBe(true);
    expect(progress.filter((p) => p.phase === 'run' && p.index === 2).length).toBeGreaterThan(2);
  });

  it('an abort at a point rejects; the curve stops there', async () => {
    const ac = new AbortController();
    let last = -2;
    const e = await faultCurve(bin, {
      frames: [8, 16],
      policies: ['lru'],
      signal: ac.signal,
      onProgress: (p) => {
        last = p.index;
        if (p.index === 0 && p.bytesRead > 1_000_000) ac.abort('x');
      },
    }).catch((x: unknown) => x);
    expectAbortError(e, 'x');
    expect(last).toBe(0);
    expect(openFiles()).toEqual([]);
  });

  it('refuses unknown options, a bad signal and a bad callback', async () => {
    await expect(faultCurve(bin, { frames: [8], policies: ['lru'], sigal: 1 } as never)).rejects.toThrow(/unknown option "sigal"/);
    await expect(faultCurve(bin, { frames: [8], policies: ['lru'], signal: {} as never })).rejects.toThrow(/options\.signal must be an AbortSignal/);
    await expect(faultCurve(bin, { frames: [8], policies: ['lru'], onProgress: 3 as never })).rejects.toThrow(/options\.onProgress must be a function/);
  });
});

/**
 * Worker threads: run in a child process over the built package (a worker loads
 * dist/…/sweep-worker.js), which reports its threads and open files before and after.
 */
describe('sweep on worker threads (jobs: 2)', () => {
  const entry = resolve('dist/index.js'); // built by npm test first
  const script = `
import { sweep } from ${JSON.stringify(entry)};
import { readdirSync, readlinkSync } from 'node:fs';
const threads = () => readdirSync('/proc/self/task').length;
const files = () => readdirSync('/proc/self/fd').flatMap((fd) => { try { const t = readlinkSync('/proc/self/fd/' + fd); return t.startsWith('/') && !t.startsWith('/dev/') && !t.startsWith('/proc/') ? [t] : []; } catch { return []; } });
const [trace, mode] = process.argv.slice(2);
// Warm up the thread pool and one worker, so the baseline has every thread that stays.
await sweep(trace, [{}, {}], { jobs: 2 });
const before = { threads: threads(), files: files() };
const ac = new AbortController();
let midRow = 0;
let rows = 0;
const configs = [16, 32, 64, 128, 256].map((entries) => ({ tlb: { entries } }));
const err = await sweep(trace, configs, {
  jobs: 2,
  signal: ac.signal,
  onRow: () => {
    rows++;
    if (mode === 'throw') throw new Error('onRow failed');
  },
  onProgress: (p) => {
    if (p.phase === 'run' && p.bytesRead < p.totalBytes) midRow++;
    // Within the second row (on either worker).
    if (mode === 'abort' && p.phase === 'run' && p.index >= 1 && p.bytesRead > 1000000) ac.abort('stop');
  },
}).then(() => undefined, (e) => ({ name: e.name, code: e.code, message: e.message, cause: e.cause }));
const after = { threads: threads(), files: files() };
console.log(JSON.stringify({ err, rows, midRow, before, after }));
`;

  it.each(['abort', 'throw'])('on %s: rejects once every worker has exited, with no file left open', (mode) => {
    const path = join(dir, 'sweep.mjs');
    writeFileSync(path, script);
    const r = spawnSync(process.execPath, [path, bin, mode], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { err: Record<string, unknown>; rows: number; midRow: number; before: { threads: number; files: string[] }; after: { threads: number; files: string[] } };
    if (mode === 'abort') {
      expect(out.err).toEqual({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted', cause: 'stop' });
      expect(out.rows).toBeLessThan(5);
    } else {
      expect(out.err).toMatchObject({ message: 'onRow failed' });
      expect(out.rows).toBe(1);
    }
    // The workers reported from within their rows.
    expect(out.midRow).toBeGreaterThan(0);
    expect(out.after).toEqual(out.before);
  });
});
