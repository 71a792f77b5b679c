import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { openTrace, type OpenTraceOptions } from '../../src/trace/trace-reader.js';
import { convertTrace, writeBinaryTrace } from '../../src/trace/trace-writer.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { VmmError } from '../../src/errors.js';
import { encodeHeader } from '../../src/trace/binary-trace.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { collect, recs, referenceParse, type Rec } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmsim-trace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(input: Parameters<typeof openTrace>[0], options: OpenTraceOptions = {}) {
  const reader = await openTrace(input, options);
  const records: Rec[] = [];
  let chunks = 0;
  for await (const c of reader.chunks()) {
    chunks++;
    records.push(...recs(c));
  }
  return { reader, records, chunks, stats: reader.stats() };
}

const TEXT = syntheticLackeyTrace({ records: 50_000, seed: 9 });
const EXPECTED = referenceParse(TEXT);

describe('openTrace', () => {
  it('reads a lackey file in chunks and reports its stats', async () => {
    const path = join(dir, 'trace.out');
    await writeFile(path, TEXT);
    const progress: [number, number | undefined][] = [];
    const r = await readAll(path, { chunkRecords: 8192, onProgress: (a, b) => progress.push([a, b]) });
    expect(r.reader.format).toBe('lackey');
    expect(r.reader.gzip).toBe(false);
    expect(r.reader.source).toBe(path);
    expect(r.reader.totalBytes).toBe(TEXT.length);
    expect(r.records).toEqual(EXPECTED);
    expect(r.chunks).toBe(Math.ceil(50_000 / 8192));
    expect(r.stats).toEqual({ lines: 50_008, records: 50_000, skipped: 0, ignoredLines: 8, bytesRead: TEXT.length, events: 0 });
    expect(progress.at(-1)).toEqual([TEXT.length, TEXT.length]);
  });

  it('reads gzipped lackey and binary traces (decompressing as it goes)', async () => {
    const gz = join(dir, 'trace.out.gz');
    const packed = gzipSync(TEXT);
    await writeFile(gz, packed);
    const a = await readAll(gz);
    expect([a.reader.format, a.reader.gzip, a.reader.totalBytes]).toEqual(['lackey', true, packed.length]);
    expect(a.records).toEqual(EXPECTED);
    expect(a.stats).toEqual({ lines: 50_008, records: 50_000, skipped: 0, ignoredLines: 8, bytesRead: packed.length, events: 0 });

    const bin = join(dir, 'trace.bin.gz');
    const conv = await convertTrace(gz, bin);
    expect(conv.records).toBe(50_000);
    expect(conv.ignoredLines).toBe(8);
    expect(conv.skipped).toBe(0);
    expect(conv.bytes).toBe((await readFile(bin)).length);
    const b = await readAll(bin);
    expect([b.reader.format, b.reader.gzip]).toEqual(['binary', true]);
    expect(b.records).toEqual(EXPECTED);
    expect(b.stats).toEqual({ lines: 0, records: 50_000, skipped: 0, ignoredLines: 0, bytesRead: conv.bytes, events: 0 });
  });

  it('converts lackey to binary and back to the same records', async () => {
    const src = join(dir, 'conv.out');
    const out = join(dir, 'conv.bin');
    await writeFile(src, TEXT + ' L zz,4\n');
    const skips: number[] = [];
    const r = await convertTrace(src, out, { onSkip: (e) => skips.push(e.line!) });
    expect(r).toEqual({ records: 50_000, events: 0, skipped: 1, ignoredLines: 8, source: src, format: 'lackey', compression: 'none', bytesRead: (TEXT + ' L zz,4\n').length, bytes: 16 + 8 * 50_000 });
    expect(skips).toEqual([50_009]);
    const file = await readFile(out);
    expect(file.subarray(0, 8).toString('latin1')).toBe('VMSTRACE');
    const b = await readAll(out, { chunkRecords: 777 });
    expect(b.reader.format).toBe('binary');
    expect(b.records).toEqual(EXPECTED);
    expect(b.stats.records).toBe(50_000);
    // Strict mode fails with the line number and leaves no output behind.
    const strictOut = join(dir, 'strict.bin');
    await expect(convertTrace(src, strictOut, { strict: true })).rejects.toThrow(`${src} line 50009: bad address "zz"`);
    expect((await readdir(dir)).filter((f) => f.startsWith('strict'))).toEqual([]);
  });

  it('writes binary traces from iterables of chunks', async () => {
    const words = new Uint32Array(4);
    packRecord(words, 0, 0x1000, 0, 4);
    packRecord(words, 1, 0xffffff600000, 2, 1);
    const path = join(dir, 'two.bin');
    expect(await writeBinaryTrace(path, [{ words, count: 2 }, { words, count: 0 }, { words, count: 1 }])).toEqual({ records: 3, events: 0, bytes: 40 });
    const file = await readFile(path);
    expect([...file.subarray(0, 16)]).toEqual([...encodeHeader()]);
    expect([...file.subarray(16, 24)]).toEqual([0, 0x10, 0, 0, 0, 0, 0x0c, 0]); // size 4: (4-1) << 18 = 0x000c0000
    const r = await readAll(path);
    expect(r.records).toEqual([
      { la: 0x1000, kind: 0, size: 4 },
      { la: 0xffffff600000, kind: 2, size: 1 },
      { la: 0x1000, kind: 0, size: 4 },
    ]);
  });

  it('reads streams and in-memory bytes', async () => {
    const bytes = Buffer.from(TEXT);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 9999) pieces.push(bytes.subarray(i, i + 9999));
    const s = await readAll(Readable.from(pieces));
    expect([s.reader.source, s.reader.format, s.reader.totalBytes]).toEqual(['<stream>', 'lackey', undefined]);
    expect(s.records).toEqual(EXPECTED);
    expect(s.stats.bytesRead).toBe(bytes.length);
    const m = await readAll(new Uint8Array(gzipSync(bytes)), { source: 'mem' });
    expect([m.reader.source, m.reader.format, m.reader.gzip]).toEqual(['mem', 'lackey', true]);
    expect(m.records).toEqual(EXPECTED);
    // A stream whose first pieces are shorter than the magic.
    const bin = Buffer.concat([encodeHeader(), Buffer.from([0, 0x10, 0, 0, 0, 0, 0x0c, 0])]);
    const tiny = await readAll(Readable.from([...bin].map((x) => Buffer.from([x]))));
    expect(tiny.reader.format).toBe('binary');
    expect(tiny.records).toEqual([{ la: 0x1000, kind: 0, size: 4 }]);
  });

  it('reports binary errors at their byte offset, through gzip too', async () => {
    const bin = Buffer.concat([encodeHeader(), Buffer.alloc(8), Buffer.from([1, 2, 3])]);
    await expect(readAll(gzipSync(bin), { strict: true, source: 'trace.bin.gz' })).rejects.toThrow('trace.bin.gz byte 24: truncated record (3 of 8 bytes)');
    const lenient = await readAll(bin);
    expect(lenient.stats).toEqual({ lines: 0, records: 1, skipped: 1, ignoredLines: 0, bytesRead: 27, events: 0 });
    const version = Buffer.from(bin);
    version.writeUInt32LE(7, 8);
    const e = await readAll(version).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TraceFormatError);
    expect((e as TraceFormatError).byteOffset).toBe(8);
  });

  it('reports corrupt gzip data as a TraceFormatError', async () => {
    const gz = gzipSync(Buffer.from(TEXT));
    const e = await readAll(gz.subarray(0, gz.length >> 1), { source: 'cut.gz' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TraceFormatError);
    expect((e as Error).message).toMatch(/^cut\.gz: bad gzip data/);
  });

  it('yields no chunks and zero stats for a binary trace without records, and refuses empty input as no trace', async () => {
    for (const input of [encodeHeader(), gzipSync(encodeHeader())]) {
      const r = await readAll(input);
      expect(r.chunks).toBe(0);
      expect(r.records).toEqual([]);
      expect({ ...r.stats, bytesRead: 0, events: 0 }).toEqual({ lines: 0, records: 0, skipped: 0, ignoredLines: 0, bytesRead: 0, events: 0 });
    }
    const empty = join(dir, 'empty.out');
    await writeFile(empty, '');
    for (const [input, inside] of [[empty, ''], [new Uint8Array(0), ''], [gzipSync(Buffer.alloc(0)), ' (after gzip decompression)']] as const) {
      const e = await readAll(input).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TraceFormatError);
      expect((e as Error).message).toContain(`is empty${inside}: no memory accesses to replay; record one with: valgrind --tool=lackey --trace-mem=yes`);
    }
  });

  it('rejects a missing file with ENOENT naming the path, and bad inputs with EINVAL', async () => {
    const missing = join(dir, 'no-such.trace');
    const e = await openTrace(missing).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('ENOENT');
    expect((e as VmmError).message).toContain(missing);
    await expect(convertTrace(missing, join(dir, 'x.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(openTrace(dir)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(openTrace(42 as unknown as string)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('reads a binary file straight into two alternating chunk buffers, checking every record', async () => {
    // 40 records, two with reserved bits (at records 9 and 30), then a 5-byte partial record.
    const n = 40;
    const words = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) packRecord(words, i, 0x10000 + i * 8, i % 4, 1 + (i % 8));
    words[9 * 2 + 1]! |= 0x40000000;
    words[30 * 2 + 1]! |= 0x80000000;
    const path = join(dir, 'direct.bin');
    await writeFile(path, Buffer.concat([encodeHeader(), Buffer.from(words.buffer), Buffer.alloc(5)]));
    const size = 16 + n * 8 + 5;
    const skips: number[] = [];
    const progress: number[] = [];
    const reader = await openTrace(path, { chunkRecords: 7, onSkip: (e) => skips.push(e.byteOffset!), onProgress: (b, total) => progress.push(b, total!) });
    expect([reader.format, reader.gzip, reader.totalBytes]).toEqual(['binary', false, size]);
    const buffers = new Set<Uint32Array>();
    const records: Rec[] = [];
    for await (const c of reader.chunks()) {
      buffers.add(c.words);
      expect(c.recheck).toBeUndefined();
      records.push(...recs(c));
    }
    const expected = Array.from({ length: n }, (_, i) => ({ la: 0x10000 + i * 8, kind: i % 4, size: 1 + (i % 8) })).filter((_, i) => i !== 9 && i !== 30);
    expect(records).toEqual(expected);
    expect(buffers.size).toBe(2); // double-buffered: the next read fills the other one
    expect(skips).toEqual([16 + 9 * 8, 16 + 30 * 8, 16 + 40 * 8]); // the last: the truncated record
    expect(reader.stats()).toEqual({ lines: 0, records: n - 2, skipped: 3, ignoredLines: 0, bytesRead: size, events: 0 });
    expect(progress.at(-2)).toBe(size);
    expect(progress.filter((_, i) => i % 2 === 1).every((t) => t === size)).toBe(true);
    // Strict: the first bad record stops the read, named by file and byte offset.
    await expect(readAll(path, { strict: true, chunkRecords: 7 })).rejects.toThrow(`${path} byte ${16 + 9 * 8}: malformed record`);
    // The same bytes through the stream decoder (in memory) give the same records and counts.
    const mem = await readAll(await readFile(path));
    expect(mem.records).toEqual(expected);
    expect(mem.stats).toEqual(reader.stats());
  });

  it("defers the record check to the consumer when asked (replay's core scans anyway)", async () => {
    const words = new Uint32Array(6);
    for (let i = 0; i < 3; i++) packRecord(words, i, 0x2000 * (i + 1), 0, 4);
    words[3]! |= 0x40000000; // record 1
    const path = join(dir, 'deferred.bin');
    await writeFile(path, Buffer.concat([encodeHeader(), Buffer.from(words.buffer)]));
    const reader = await openTrace(path, { deferRecordCheck: true });
    const seen: Rec[][] = [];
    for await (const c of reader.chunks()) {
      expect(c.count).toBe(3);
      expect(reader.stats().records).toBe(3); // counted as accepted until rechecked
      expect(c.recheck!()).toBe(2);
      seen.push(recs({ words: c.words, count: 2 }));
    }
    expect(seen).toEqual([[{ la: 0x2000, kind: 0, size: 4 }, { la: 0x6000, kind: 0, size: 4 }]]);
    expect(reader.stats()).toMatchObject({ records: 2, skipped: 1 });
  });

  it('closes a binary file read early, and rejects a bad header before any chunk', async () => {
    const words = new Uint32Array(200);
    for (let i = 0; i < 100; i++) packRecord(words, i, 0x1000 * i, 1, 8);
    const path = join(dir, 'early.bin');
    await writeFile(path, Buffer.concat([encodeHeader(), Buffer.from(words.buffer)]));
    const reader = await openTrace(path, { chunkRecords: 10 });
    let n = 0;
    for await (const c of reader.chunks()) {
      expect(c.count).toBe(10);
      if (++n === 2) break;
    }
    expect(reader.stats().records).toBe(20);
    await reader.close(); // already closed by the early exit: a no-op
    expect(() => reader.chunks()).toThrow(/already called/);
    const bad = Buffer.concat([encodeHeader(), Buffer.from(words.buffer)]);
    bad.writeUInt32LE(16, 12); // record size 16
    await writeFile(path, bad);
    await expect(openTrace(path)).rejects.toThrow(/byte 12: bad binary trace header: unsupported record size 16/);
    await expect(openTrace(path, { chunkRecords: 0 })).rejects.toThrow(RangeError);
  });

  it('hands out reused chunk buffers, allows one iteration, and closes early', async () => {
    const reader = await openTrace(Buffer.from(TEXT), { chunkRecords: 1000 });
    const buffers = new Set<Uint32Array>();
    const firstTwo: Rec[] = [];
    let n = 0;
    for await (const c of reader.chunks()) {
      buffers.add(c.words);
      if (n++ < 2) collect([c], firstTwo);
      else break;
    }
    expect(buffers.size).toBe(1);
    expect(firstTwo).toEqual(EXPECTED.slice(0, 2000));
    expect(reader.stats().records).toBe(3000);
    expect(() => reader.chunks()).toThrow(/already called/);
  });
});
