/** Traces as users have them: compressed with xz or zstd, from FIFOs; and input that is not a trace. */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { openTrace } from '../../src/trace/trace-reader.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { encodeHeader } from '../../src/trace/binary-trace.js';
import { useXzDecoder } from '../../src/trace/decompress.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { recs, referenceParse, type Rec } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(input: Parameters<typeof openTrace>[0]) {
  const reader = await openTrace(input);
  const records: Rec[] = [];
  for await (const c of reader.chunks()) records.push(...recs(c));
  return { reader, records, stats: reader.stats() };
}

async function failure(input: Parameters<typeof openTrace>[0]): Promise<TraceFormatError> {
  const e = await readAll(input).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TraceFormatError);
  return e as TraceFormatError;
}

/** True when the system has xz on PATH (the reader then decompresses through it). */
function hasSystemXz(): boolean {
  try {
    execFileSync('xz', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** This process's child processes that run xz. */
function xzChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && m[1] === 'xz' && Number(m[2]) === process.pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Waits until `ok()` or `ms` pass. */
async function until(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

const FIXTURE_TEXT = syntheticLackeyTrace({ records: 20_000, seed: 21 });
const fixture = (ext: string) => readFileSync(join(import.meta.dirname, 'fixtures', `synthetic-20k-seed21.lackey.${ext}`));

describe('compressed traces', () => {
  it.each([
    ['xz', 'xz', 'auto'],
    ['xz', 'xz', 'wasm'],
    ['zst', 'zstd', 'auto'],
  ] as const)('reads a .%s trace by its magic bytes, as gzip is read (xz decoder: %s)', async (ext, name, xz) => {
    useXzDecoder(xz);
    onTestFinished(() => useXzDecoder('auto'));
    const expected = referenceParse(FIXTURE_TEXT);
    expect(expected.length).toBe(20_000);
    const bytes = fixture(ext);
    // Named anything: the first bytes decide, not the file name.
    const path = join(dir, `trace-${name}.data`);
    writeFileSync(path, bytes);
    for (const input of [path, bytes, Readable.from([bytes.subarray(0, 100), bytes.subarray(100)])]) {
      const r = await readAll(input);
      expect([r.reader.format, r.reader.compression, r.reader.gzip]).toEqual(['lackey', name, false]);
      expect(r.records).toEqual(expected);
      expect(r.stats.bytesRead).toBe(bytes.length);
    }
  });

  it.skipIf(!hasSystemXz())('the system xz: a reader dropped after its first chunk leaves no xz process, no FIFO and no descriptor behind', async () => {
    const text = join(dir, 'big.lackey');
    writeFileSync(text, syntheticLackeyTrace({ records: 400_000, seed: 3 }));
    execFileSync('xz', ['-0', '-k', '-f', text]);
    const fds0 = readdirSync('/proc/self/fd').length;
    for (let round = 0; round < 3; round++) {
      const reader = await openTrace(`${text}.xz`);
      for await (const c of reader.chunks()) {
        expect(c.count).toBeGreaterThan(0);
        break;
      }
    }
    // xz is killed and waited for; its FIFO and folder were unlinked before it started.
    await until(() => xzChildren().length === 0, 5000);
    expect(xzChildren()).toEqual([]);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('vmsim-xz-'))).toEqual([]);
    await until(() => readdirSync('/proc/self/fd').length <= fds0, 5000);
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fds0);
  });

  it('says which codec found bad data (both xz decoders, corrupt and cut short)', async () => {
    const zst = Buffer.from(fixture('zst'));
    zst.fill(0xee, 40, 400);
    expect((await failure(zst)).message).toMatch(/^<buffer>: bad zstd data/);
    const xz = Buffer.from(fixture('xz'));
    xz.fill(0xee, 40, 400);
    for (const decoder of ['auto', 'wasm'] as const) {
      useXzDecoder(decoder);
      try {
        expect((await failure(xz)).message).toMatch(/^<buffer>: bad xz data/);
        expect((await failure(fixture('xz').subarray(0, 2000))).message).toMatch(/^<buffer>: bad xz data/);
      } finally {
        useXzDecoder('auto');
      }
    }
  });

  it('refuses compressions it does not read by name, with the command that would', async () => {
    const cases: Array<[number[], string, string]> = [
      [[0x42, 0x5a, 0x68, 0x39, 0x31, 0x41], 'bzip2', 'bzip2 -dc'],
      [[0x04, 0x22, 0x4d, 0x18, 0, 0], 'lz4', 'lz4 -dc'],
      [[0x50, 0x4b, 0x03, 0x04, 0, 0], 'zip', 'unzip -p'],
      [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], '7z', '7z x -so'],
    ];
    for (const [magic, name, tool] of cases) {
      const e = await failure(Buffer.from([...magic, ...Buffer.from('rest of the file')]));
      expect(e.message).toBe(`<buffer>: compressed with ${name}, which vmsim does not read (it reads gzip, xz and zstd); decompress it into a pipe: ${tool} <buffer> | vmsim replay -`);
    }
  });

  it('names the compressed byte offset of a gzip error', async () => {
    const gz = gzipSync(FIXTURE_TEXT);
    const truncated = gz.subarray(0, gz.length - 100);
    expect((await failure(truncated)).message).toBe(`<buffer>: bad gzip data at compressed byte ${truncated.length} (the file is truncated): unexpected end of file`);
    const bad = Buffer.from(gz);
    bad.fill(0xff, 5000, 5100);
    const m = /^<buffer>: bad gzip data after compressed byte (\d+): /.exec((await failure(bad)).message);
    expect(m).not.toBeNull();
    // Deflate notices corruption a little after it: the bytes before the named offset still decode, the corruption is not later.
    const at = Number(m![1]);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(bad.length);
    expect(() => gunzipSync(bad.subarray(0, at), { finishFlush: constants.Z_SYNC_FLUSH })).not.toThrow();
    expect(() => gunzipSync(bad.subarray(0, Math.max(at, 5100) + 64 * 1024), { finishFlush: constants.Z_SYNC_FLUSH })).toThrow();
  });
});

describe('input that is not a trace', () => {
  const HOW = 'record one with: valgrind --tool=lackey --trace-mem=yes --log-file=trace.out PROGRAM';

  it('random bytes', async () => {
    let x = 12345;
    const bytes = Buffer.alloc(20_000, 0).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) & 0xff);
    bytes[0] = 0x41; // not by chance a known magic
    expect((await failure(bytes)).message).toBe(
      `<buffer>: is binary data, not a trace: neither a vmsim binary trace (which starts with "VMSTRACE") nor ChampSim's instruction records (64 bytes, or CloudSuite's 96; --format champsim or --format champsim-cloudsuite names the layout) nor gzip, xz or zstd around one, nor lackey text; ${HOW}`,
    );
    expect((await failure(gzipSync(bytes))).message).toMatch(/^<buffer>: is binary data \(after gzip decompression\), not a trace/);
  });

  it('a lackey log recorded without --trace-mem=yes', async () => {
    const log = ['==28638== Lackey, an example Valgrind tool', '==28638== Command: /bin/true', '==28638== ', '==28638== Counted 0 calls to main()', '==28638==   guest instrs:  130,003', ''].join('\n');
    expect((await failure(Buffer.from(log))).message).toBe(`<buffer>: is a valgrind lackey log recorded without --trace-mem=yes: it has counts but no memory accesses; ${HOW}`);
  });

  it('a log of another valgrind tool, and text with no access line', async () => {
    expect((await failure(Buffer.from('==7== Memcheck, a memory error detector\n==7== ERROR SUMMARY: 0 errors\n'))).message).toMatch(/is a valgrind log of another tool, without memory accesses \(is this a lackey --trace-mem=yes trace\?\)/);
    const readme = readFileSync('README.md');
    const e = await failure(readme);
    expect(e.message).toMatch(/^<buffer>: has no memory access line in \d+ line\(s\) \(lines like "I {2}0400d7d4,8" or " L 7ff0001b8,8"\): is this a lackey --trace-mem=yes trace\?/);
  });

  it('text whose record-like lines are all malformed', async () => {
    expect((await failure(Buffer.from(' L zz,4\n S 12,0\n'))).message).toBe('<buffer>: has no valid access line: 2 of 2 line(s) look like accesses but are malformed (--strict shows the first)');
  });

  it('is refused early, before an endless text input is read to its end', async () => {
    let produced = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          produced++;
          yield Buffer.from('some log line that is not an access\n'.repeat(1000));
        }
      })(),
    );
    const e = await failure(endless);
    expect(e.message).toMatch(/has no memory access line in its first 10000 lines/);
    expect(produced).toBeLessThan(20);
  });

  it('a binary trace with a bad header says so', async () => {
    const h = encodeHeader();
    new DataView(h.buffer).setUint32(8, 9, true);
    expect((await failure(h)).message).toMatch(/version 9/);
  });
});

describe('FIFOs and process substitution (nothing seeks)', () => {
  it.each([
    ['lackey text', () => Buffer.from(FIXTURE_TEXT)],
    ['gzip', () => gzipSync(FIXTURE_TEXT)],
    ['xz', () => fixture('xz')],
  ])('reads %s from a FIFO', async (_name, bytes) => {
    const fifo = join(dir, `fifo-${_name.replace(/ /g, '-')}`);
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    writer.end(bytes());
    const r = await readAll(fifo);
    expect(r.reader.totalBytes).toBeUndefined();
    expect(r.records).toEqual(referenceParse(FIXTURE_TEXT));
  });

  it('reads a binary trace from a FIFO and from /dev/stdin of a pipe', async () => {
    const bin = join(dir, 'x.bin');
    const { convertTrace } = await import('../../src/trace/trace-writer.js');
    await convertTrace(Buffer.from(FIXTURE_TEXT), bin);
    const fifo = join(dir, 'fifo-bin');
    execFileSync('mkfifo', [fifo]);
    createWriteStream(fifo).end(readFileSync(bin));
    const r = await readAll(fifo);
    expect([r.reader.format, r.records.length]).toEqual(['binary', 20_000]);
    // A child reading /dev/stdin that is a pipe (a shell's pipe: node's own stdio pipes are sockets).
    const script = join(dir, 'read-stdin.mjs');
    writeFileSync(script, `import { openTrace } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
const r = await openTrace('/dev/stdin'); let n = 0; for await (const c of r.chunks()) n += c.count; console.log(r.format, n);`); // dist/ is built by npm test first
    const out = execFileSync('sh', ['-c', 'cat "$1" | "$2" "$3"', 'sh', bin, process.execPath, script], { encoding: 'utf8' });
    expect(out.trim()).toBe('binary 20000');
  });
});
