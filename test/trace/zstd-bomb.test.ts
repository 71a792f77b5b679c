/**
 * Decompression bombs (issue 24, item 8): a few kilobytes of zstd that decompress to gigabytes.
 * Decompression streams in bounded memory (no more than a block or two of output at a time,
 * the window bounded as zstd bounds it), and a command busy decoding one stops within a second
 * of SIGTERM or SIGINT, removing its temporary files as Ctrl-C does.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { decompress } from '../../src/trace/decompress.js';
import { openTrace } from '../../src/trace/trace-reader.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { fileTempDir } from '../support/temp-dir.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BLOCK = 128 * 1024;
const MiB = 2 ** 20;
const bin = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const dir = fileTempDir('bomb');

/** A zstd frame: a raw block holding `text`, then `rle` blocks of 128 KiB of newlines (4 bytes each). */
function bomb(text: string, rle: number, windowLog = 17): Buffer {
  const head = [0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3]; // no checksum, no size; window 2^windowLog
  const raw = Buffer.from(text, 'latin1');
  const blockHeader = (last: boolean, type: number, size: number) => {
    const v = (size << 3) | (type << 1) | (last ? 1 : 0);
    return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff];
  };
  const parts: number[] = [...head, ...blockHeader(rle === 0, 0, raw.length), ...raw];
  const out = Buffer.alloc(parts.length + rle * 4);
  out.set(parts);
  for (let i = 0, at = parts.length; i < rle; i++, at += 4) out.set([...blockHeader(i === rle - 1, 1, BLOCK), 0x0a], at);
  return out;
}

const LINES = ' L 04000000,8\n S 04001000,4\n'.repeat(64);

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

describe('zstd bombs', () => {
  it('decompress in bounded memory: output comes a block at a time, not a whole input chunk at once', async () => {
    const input = bomb(LINES, 3200); // 13 KB that decompress to 400 MiB
    const body = decompress('zstd', once(input), 'bomb.zst').body;
    gc();
    const base = process.memoryUsage().arrayBuffers;
    let total = 0;
    let largest = 0;
    let held = 0;
    let chunks = 0;
    for (let r = await body.next(); !r.done; r = await body.next()) {
      total += r.value.length;
      largest = Math.max(largest, r.value.length);
      // What the decoder holds beyond this chunk (garbage collected first): output waiting to be passed on.
      if (chunks++ % 500 === 0) {
        gc();
        held = Math.max(held, process.memoryUsage().arrayBuffers - base - r.value.length);
      }
    }
    expect(total).toBe(LINES.length + 3200 * BLOCK);
    expect(largest).toBeLessThanOrEqual(4 * BLOCK);
    expect(held).toBeLessThan(64 * MiB); // (the collector frees array buffers concurrently: some garbage may still count)
  });

  it('a frame that asks for a window larger than zstd allows by default (128 MiB) is refused before anything is allocated', async () => {
    const e = await (async () => {
      const body = decompress('zstd', once(bomb(LINES, 2, 31)), 'huge-window.zst').body;
      for (let r = await body.next(); !r.done; r = await body.next());
    })().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(TraceFormatError);
    expect((e as Error).message).toMatch(/window of 2048 MiB.*128 MiB/);
  });

  it('frames one after another, skippable frames and checksums decode as before', async () => {
    const fixture = readFileSync(join(import.meta.dirname, 'fixtures', 'synthetic-20k-seed21.lackey.zst'));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const twice = Buffer.concat([fixture, skippable, fixture]);
    const count = async (b: Buffer) => {
      const reader = await openTrace(Readable.from([b]));
      let n = 0;
      for await (const c of reader.chunks()) n += c.count;
      return n;
    };
    const one = await count(fixture);
    expect(one).toBe(20_000);
    expect(await count(twice)).toBe(2 * one);
    // Cut short: an error saying so, not a silent end.
    const e = await count(fixture.subarray(0, fixture.length - 100)).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(TraceFormatError);
  });
});

/** Pids of the live children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

const valgrind = spawnSync('sh', ['-c', 'command -v valgrind']).status === 0;

describe('commands busy decoding a bomb', () => {
  /** Runs `vmsim argv`, sends `signal` after `after` ms: how long it took to die, how, and its peak resident memory. */
  async function interrupt(argv: string[], signal: NodeJS.Signals, after: number, env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [bin, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
    let rss = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < after && child.exitCode === null) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) rss = Math.max(rss, Number(m[1]) * 1024);
      } catch {
        // gone already
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const sent = Date.now();
    const running = child.exitCode === null;
    child.kill(signal);
    // However this ends, no child outlives the test (one that ignores the signal is killed after 5 s).
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const [code, sig] = await exit;
    clearTimeout(killer);
    expect(running, `it had ended before the signal: ${stderr}`).toBe(true);
    return { code, sig, ms: Date.now() - sent, rss, stderr };
  }

  it('replay stops within a second of SIGTERM, and decodes in bounded memory meanwhile', async () => {
    const file = join(dir, 'replay.zst');
    writeFileSync(file, bomb(LINES, 40_000)); // 160 KB -> 5 GiB
    const r = await interrupt(['replay', file], 'SIGTERM', 1500);
    expect(r.sig, r.stderr).toBe('SIGTERM');
    expect(r.ms).toBeLessThan(1000);
    expect(r.rss).toBeLessThan(400 * MiB);
  });

  it('convert stops within a second of SIGINT and removes its temporary output, as Ctrl-C does', async () => {
    const work = join(dir, 'convert');
    const file = join(dir, 'convert.zst');
    writeFileSync(file, bomb(LINES, 40_000));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(work);
    const r = await interrupt(['convert', file, join(work, 'out.bin')], 'SIGINT', 1500);
    expect(r.sig, r.stderr).toBe('SIGINT');
    expect(r.ms).toBeLessThan(1000);
    expect(readdirSync(work)).toEqual([]);
  });

  it.skipIf(!valgrind)('record ends valgrind with itself on SIGTERM (as Ctrl-C ends the whole process group) and leaves no temporary file', async () => {
    const work = join(dir, 'record');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(work);
    const child = spawn(process.execPath, [bin, 'record', '-o', join(work, 'sleep.bin'), '--', 'sleep', '30'], { stdio: 'ignore' });
    const exit = new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
    let kids: number[] = [];
    const t0 = Date.now();
    while (kids.length === 0 && Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 100));
      kids = childrenOf(child.pid!);
    }
    try {
      expect(kids.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 3000)); // valgrind idle in sleep: nothing it writes would make it notice vmsim is gone
      const sent = Date.now();
      child.kill('SIGTERM');
      const [, sig] = await exit;
      expect(sig).toBe('SIGTERM');
      expect(Date.now() - sent).toBeLessThan(1000);
      const gone = Date.now() + 5000;
      while (kids.some((k) => existsSync(`/proc/${k}`)) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
      expect(kids.filter((k) => existsSync(`/proc/${k}`))).toEqual([]);
      // record writes OUT as it goes, and an interrupted recording keeps what it wrote (as perf record does); nothing else is left.
      expect(readdirSync(work)).toEqual(['sleep.bin']);
    } finally {
      child.kill('SIGKILL');
      for (const k of kids) {
        try {
          process.kill(k, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  });
});
