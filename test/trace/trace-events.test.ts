/** Version-2 binary traces: event records among the accesses, through the decoder, the writer and openTrace; and every way an event record can be bad. */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BinaryTraceDecoder, encodeChunk, encodeHeader, encodeRecords } from '../../src/trace/binary-trace.js';
import { encodeEvent, type NewTraceEvent, type TraceEvent } from '../../src/trace/trace-events.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { packRecord, type TraceChunk } from '../../src/trace/trace-record.js';
import { openTrace } from '../../src/trace/trace-reader.js';
import { convertTrace, writeBinaryTrace } from '../../src/trace/trace-writer.js';
import { propertyOptions } from '../property-options.js';
import { recs, type Rec } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-events-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVENTS: NewTraceEvent[] = [
  { type: 'note', text: '{"recorder":"test"}' },
  { type: 'image', pid: 4242, parent: 0, path: '/usr/bin/ls' },
  { type: 'map', pid: 4242, start: 0x108000, end: 0x10a000, prot: 'r-x', shared: false, kind: 'file', offset: 0x1000, dev: 0xfe00, inode: 2147856, path: '/usr/bin/ls', size: 151344 },
  { type: 'map', pid: 4242, start: 0x4035000, end: 0x4036000, prot: 'rwx', shared: false, kind: 'brk', offset: 0, dev: 0, inode: 0, brk: 0x4035000 },
  { type: 'thread', pid: 4242, thread: 1 },
  { type: 'syscall', pid: 4242, thread: 1, nr: 9, args: [0n, 8192n, 3n, 34n, 4294967295n, 0n], result: 0x4835000n },
  { type: 'syscall', pid: 4242, thread: 2, nr: 257, args: [4294967196n, 0x4034bb0n, 524288n], result: 4n, path: '/lib/x86_64-linux-gnu/libc.so.6', file: { dev: 0xfe00, inode: 339380, size: 1922136, realPath: '/usr/lib/x86_64-linux-gnu/libc.so.6' } },
  { type: 'syscall', pid: 4242, thread: 1, nr: 56, args: [0x1200011n, 0n, 0n, 0x4a28a10n, 0n], result: 4250n, child: 4250 },
  { type: 'syscall', pid: 4242, thread: 1, nr: 28, args: [0xffffffffffffffffn, 8192n, 4n], result: -22n },
  { type: 'end', pid: 4250, status: 0, signal: 11 },
];

function placed(e: NewTraceEvent, at: number, byteOffset: number): TraceEvent {
  return { ...e, at, byteOffset } as TraceEvent;
}

/** A version-2 file's bytes: records with events at given record positions. */
function v2(records: Rec[], events: Array<{ at: number; e: NewTraceEvent }>): Buffer {
  const words = new Uint32Array(Math.max(1, records.length) * 2);
  records.forEach((r, i) => packRecord(words, i, r.la, r.kind, r.size));
  const chunk: TraceChunk = { words, count: records.length, events: events.map(({ at, e }) => placed(e, at, 0)) };
  return Buffer.concat([encodeHeader(2), ...encodeChunk(chunk)]);
}

/** Everything a decoder yields for the bytes fed in the given pieces: records, and events with their global record position. */
function decodeAll(pieces: Uint8Array[], chunkRecords = 5) {
  const d = new BinaryTraceDecoder({ chunkRecords, source: 't.bin' });
  const records: Rec[] = [];
  const events: Array<{ at: number; e: TraceEvent }> = [];
  const take = (chunks: Iterable<TraceChunk>) => {
    for (const c of chunks) {
      for (const e of c.events ?? []) events.push({ at: records.length + e.at, e });
      records.push(...recs(c));
    }
  };
  for (const p of pieces) take(d.feed(p));
  take(d.finish());
  return { records, events, d };
}

function errorOf(f: () => unknown): TraceFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFormatError);
    return e as TraceFormatError;
  }
  throw new Error('expected a TraceFormatError');
}

const strip = ({ at: _a, byteOffset: _b, ...rest }: TraceEvent) => rest;

describe('event records', () => {
  it('every event type encodes and decodes to itself, at its place among the records, whatever the feed boundaries', () => {
    const records: Rec[] = Array.from({ length: 23 }, (_, i) => ({ la: 0x1000 * (i + 1) + i, kind: i & 3, size: 1 + (i % 9) }));
    const at = [0, 0, 3, 3, 3, 7, 11, 16, 23, 23];
    const bytes = v2(records, EVENTS.map((e, i) => ({ at: at[i]!, e })));
    for (const split of [1, 3, 7, 8, 13, 64, bytes.length]) {
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += split) pieces.push(bytes.subarray(i, i + split));
      const r = decodeAll(pieces);
      expect(r.records).toEqual(records);
      expect(r.events.map(({ at, e }) => ({ at, e: strip(e) }))).toEqual(EVENTS.map((e, i) => ({ at: at[i]!, e })));
      expect(r.d.eventCount).toBe(EVENTS.length);
      expect(r.d.version).toBe(2);
    }
    // Byte offsets are the event headers' places in the file.
    const { events } = decodeAll([bytes]);
    const first = events[0]!.e;
    expect(first.byteOffset).toBe(16);
    expect(events[1]!.e.byteOffset).toBe(16 + encodeEvent(EVENTS[0]!).length);
  });

  it('round-trips random records and events through writeBinaryTrace and openTrace (plain and gzip), as a property', async () => {
    const rec = fc.record({ la: fc.integer({ min: 0, max: 2 ** 48 - 1 }), kind: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 1, max: 4096 }) });
    const ev = fc.constantFrom(...EVENTS);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(rec, ev), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), async (items, chunkRecords, gzip) => {
        const records: Rec[] = [];
        const events: Array<{ at: number; e: NewTraceEvent }> = [];
        for (const it of items) {
          if ('type' in it) events.push({ at: records.length, e: it });
          else records.push(it);
        }
        const path = join(dir, `p${n++}.bin${gzip ? '.gz' : ''}`);
        const words = new Uint32Array(Math.max(1, records.length) * 2);
        records.forEach((r, i) => packRecord(words, i, r.la, r.kind, r.size));
        const w = await writeBinaryTrace(path, [{ words, count: records.length, events: events.map(({ at, e }) => placed(e, at, 0)) }], { events: true });
        expect(w).toMatchObject({ records: records.length, events: events.length });
        const reader = await openTrace(path, { chunkRecords });
        expect(reader.events).toBe(true);
        const got: Rec[] = [];
        const gotEvents: Array<{ at: number; e: NewTraceEvent }> = [];
        for await (const c of reader.chunks()) {
          for (const e of c.events ?? []) gotEvents.push({ at: got.length + e.at, e: strip(e) });
          got.push(...recs(c));
        }
        expect(got).toEqual(records);
        expect(gotEvents).toEqual(events);
        expect(reader.stats().events).toBe(events.length);
      }),
      propertyOptions(40),
    );
  });

  it('convert keeps the events of a version-2 trace and writes version 1 for a trace of accesses only', async () => {
    const src = join(dir, 'conv-in.bin');
    const records: Rec[] = [{ la: 0x5000, kind: 1, size: 8 }, { la: 0x6000, kind: 0, size: 4 }];
    await writeFile(src, v2(records, [{ at: 1, e: EVENTS[4]! }]));
    const out = join(dir, 'conv-out.bin.gz');
    const r = await convertTrace(src, out);
    expect(r).toMatchObject({ records: 2, events: 1 });
    const back = decodeAll([gunzipSync(await readFile(out))]);
    expect(back.events.map(({ at, e }) => ({ at, e: strip(e) }))).toEqual([{ at: 1, e: EVENTS[4] }]);
    const plain = join(dir, 'plain.bin');
    await writeBinaryTrace(plain, [{ words: new Uint32Array([0x5000, 1 << 16]), count: 1 }]);
    expect((await readFile(plain)).readUInt32LE(8)).toBe(1);
  });

  it('an event type this version does not know is skipped by its length and counted', () => {
    const unknown = Buffer.alloc(24);
    unknown.writeUInt32LE(7, 0);
    unknown.writeUInt32LE((0xc0000000 | (0x63 << 16) | 2) >>> 0, 4);
    const words = new Uint32Array(2);
    packRecord(words, 0, 0x7000, 0, 8);
    const bytes = Buffer.concat([encodeHeader(2), unknown, encodeRecords({ words, count: 1 })]);
    const r = decodeAll([bytes]);
    expect(r.records).toEqual([{ la: 0x7000, kind: 0, size: 8 }]);
    expect(r.d.unknownEvents).toBe(1);
    expect(r.events).toEqual([]);
  });
});

describe('bad event records', () => {
  const head = encodeHeader(2);
  const one = (e: NewTraceEvent) => Buffer.from(encodeEvent(e));

  it('a truncated event record is an error at its offset, strict or not (its payload cannot be skipped)', () => {
    const ev = one(EVENTS[6]!);
    for (const cut of [8, 9, ev.length - 1]) {
      const bytes = Buffer.concat([head, ev.subarray(0, cut)]);
      for (const split of [1, 5, bytes.length]) {
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += split) pieces.push(bytes.subarray(i, i + split));
        const err = errorOf(() => decodeAll(pieces));
        expect(err.byteOffset).toBe(16);
        expect(err.message).toBe(`t.bin byte 16: truncated event record (${cut} of ${ev.length} bytes; type 2)`);
      }
    }
  });

  it('payloads that do not fit their type name the event and the offset', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [one({ type: 'thread', pid: 1, thread: 1 }).fill(0, 8, 12), /byte 16: bad event record \(thread\): thread number 0/],
      [one({ type: 'map', pid: 1, start: 0x2000, end: 0x1000, prot: 'r--', shared: false, kind: 'anon', offset: 0, dev: 0, inode: 0 }), /byte 16: bad event record \(map\): bad range 0x2000-0x1000/],
      [one({ type: 'map', pid: 1, start: 0x1001, end: 0x2000, prot: 'r--', shared: false, kind: 'anon', offset: 0, dev: 0, inode: 0 }), /bad range 0x1001-0x2000/],
      [withWord(one({ type: 'map', pid: 1, start: 0x1000, end: 0x2000, prot: 'r--', shared: false, kind: 'anon', offset: 0, dev: 0, inode: 0 }), 3, 9 << 8), /bad event record \(map\): unknown mapping kind 9/],
      [withWord(one(EVENTS[5]!), 2, 7), /bad event record \(syscall\): 7 arguments \(at most 6\)/],
      [withHeaderWords(one(EVENTS[5]!), 3), /bad event record \(syscall\): 3 payload word\(s\), needs at least 12/],
      [withWord(one({ type: 'image', pid: 3, parent: 1, path: '/bin/true' }), 1, 4000), /bad event record \(image\): string of 4000 bytes beyond the payload/],
      [withHi(one(EVENTS[4]!), 0x01000000), /bad event record \(thread\): bits 24-29 of the header's second word must be 0/],
    ];
    for (const [ev, re] of cases) {
      const err = errorOf(() => decodeAll([Buffer.concat([head, ev])]));
      expect(err.message).toMatch(re);
      expect(err.byteOffset).toBe(16);
    }
  });

  it('a valid trace with random bytes changed decodes, or is a TraceFormatError at an offset inside the file, whatever the pieces (as a property)', () => {
    const base = v2(
      [{ la: 0x7000, kind: 0, size: 8 }, { la: 0x401000, kind: 2, size: 4 }, { la: 0x7ff0001000, kind: 1, size: 8 }],
      EVENTS.map((e, i) => ({ at: Math.min(3, i >> 2), e })),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 16, max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 97 }), (edits, cut, split) => {
        const bytes = Buffer.from(base.subarray(0, base.length - cut));
        for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += split) pieces.push(bytes.subarray(i, i + split));
        try {
          decodeAll(pieces);
        } catch (e) {
          expect(e).toBeInstanceOf(TraceFormatError);
          const off = (e as TraceFormatError).byteOffset!;
          expect(off).toBeGreaterThanOrEqual(8);
          expect(off).toBeLessThan(bytes.length);
        }
      }),
      propertyOptions(3000, 400),
    );
  });

  it('records with only one of bits 30-31 set stay malformed records (skipped, or an error with --strict); version 1 has no events', () => {
    const words = new Uint32Array([0x1000, 0x40000000, 0x2000, 0x80000000, 0x3000, 0]);
    const body = encodeRecords({ words, count: 3 });
    const skips: number[] = [];
    const d = new BinaryTraceDecoder({ onSkip: (e) => skips.push(e.byteOffset!) });
    const out: Rec[] = [];
    for (const c of d.feed(Buffer.concat([head, body]))) out.push(...recs(c));
    for (const c of d.finish()) out.push(...recs(c));
    expect(out).toEqual([{ la: 0x3000, kind: 0, size: 1 }]);
    expect(skips).toEqual([16, 24]);
    // In version 1 an event header is a malformed record too.
    const v1 = Buffer.concat([encodeHeader(1), one(EVENTS[4]!)]);
    const d1 = new BinaryTraceDecoder({ strict: true, source: 'old.bin' });
    expect(() => [...d1.feed(v1)]).toThrow('old.bin byte 16: malformed record (high word 0xc0010001 has bits 30-31 set)');
  });
});

/** `ev` with payload word `i`'s low half set to `v`. */
function withWord(ev: Buffer, i: number, v: number): Buffer {
  const b = Buffer.from(ev);
  b.writeUInt32LE(v >>> 0, 8 + i * 8);
  return b;
}

/** `ev` whose header announces `n` payload words (and is cut to them). */
function withHeaderWords(ev: Buffer, n: number): Buffer {
  const b = Buffer.from(ev.subarray(0, 8 + n * 8));
  b.writeUInt32LE(((b.readUInt32LE(4) & 0xffff0000) | n) >>> 0, 4);
  return b;
}

/** `ev` with bits or-ed into its header's second word. */
function withHi(ev: Buffer, bits: number): Buffer {
  const b = Buffer.from(ev);
  b.writeUInt32LE((b.readUInt32LE(4) | bits) >>> 0, 4);
  return b;
}
