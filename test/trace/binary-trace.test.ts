import { describe, expect, it } from 'vitest';
import { BinaryTraceDecoder, encodeHeader, encodeRecords, hasTraceMagic } from '../../src/trace/binary-trace.js';
import { LackeyParser, type TraceDecoderOptions } from '../../src/trace/lackey-parser.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { packRecord, TraceKind } from '../../src/trace/trace-record.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { collect, referenceParse, type Rec } from './helpers.js';

/** Binary file bytes for the given records. */
function encode(records: Rec[]): Buffer {
  const words = new Uint32Array(records.length * 2);
  records.forEach((r, i) => packRecord(words, i, r.la, r.kind, r.size));
  return Buffer.concat([encodeHeader(), encodeRecords({ words, count: records.length })]);
}

function decode(pieces: Uint8Array[], options: TraceDecoderOptions = {}) {
  const d = new BinaryTraceDecoder(options);
  const records: Rec[] = [];
  for (const p of pieces) collect(d.feed(p), records);
  collect(d.finish(), records);
  return { records, count: d.records, skipped: d.skipped, bytes: d.bytes };
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

const RECORDS: Rec[] = [
  { la: 0x400d7d4, kind: TraceKind.INSTR, size: 8 },
  { la: 0x7ff0001b8, kind: TraceKind.STORE, size: 8 },
  { la: 0xffffff600000, kind: TraceKind.LOAD, size: 4096 },
  { la: 0x800000001000, kind: TraceKind.MODIFY, size: 1 },
  { la: 2 ** 48 - 1, kind: TraceKind.LOAD, size: 2 },
];

describe('binary trace format', () => {
  it('has the documented header and record bytes', () => {
    expect([...encodeHeader()]).toEqual([...Buffer.from('VMSTRACE'), 1, 0, 0, 0, 8, 0, 0, 0]);
    const bytes = encode([RECORDS[3]!]);
    expect(bytes.length).toBe(24);
    // lo = 0x00001000, hi = 0x8000 | 3 << 16 | 0 << 18 = 0x00038000, little-endian.
    expect([...bytes.subarray(16)]).toEqual([0x00, 0x10, 0x00, 0x00, 0x00, 0x80, 0x03, 0x00]);
    expect(hasTraceMagic(bytes)).toBe(true);
    expect(hasTraceMagic(Buffer.from('VMSTRAC'))).toBe(false);
  });

  it('decodes what it encodes, split at every byte position and from unaligned buffers', () => {
    const bytes = encode(RECORDS);
    expect(decode([bytes]).records).toEqual(RECORDS);
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 3), Math.min(bytes.length, i + 13)]) {
        const r = decode([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)], { chunkRecords: 2 });
        expect(r.records, `split at ${i}, ${j}`).toEqual(RECORDS);
        expect([r.count, r.skipped, r.bytes]).toEqual([5, 0, bytes.length]);
      }
    }
    // The same bytes at byte offsets 1..3 of their ArrayBuffer (not 4-byte aligned).
    for (let shift = 1; shift < 4; shift++) {
      const backing = new Uint8Array(bytes.length + shift);
      backing.set(bytes, shift);
      const view = backing.subarray(shift);
      expect(decode([view]).records).toEqual(RECORDS);
      expect(decode([view.subarray(0, 21), view.subarray(21)]).records).toEqual(RECORDS);
    }
  });

  it('round-trips a lackey trace: lackey -> binary -> the same records', () => {
    const text = syntheticLackeyTrace({ records: 20_000, seed: 3 });
    const p = new LackeyParser({ chunkRecords: 4096 });
    const parts: Uint8Array[] = [encodeHeader()];
    for (const c of p.feed(Buffer.from(text))) parts.push(encodeRecords(c));
    for (const c of p.finish()) parts.push(encodeRecords(c));
    const bin = Buffer.concat(parts);
    expect(bin.length).toBe(16 + 8 * 20_000);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < bin.length; i += 5001) pieces.push(bin.subarray(i, i + 5001));
    const r = decode(pieces, { chunkRecords: 1000 });
    expect(r.records).toEqual(referenceParse(text));
    expect(r.count).toBe(20_000);
  });

  it('reports a truncated record at its byte offset', () => {
    const bytes = encode(RECORDS.slice(0, 2));
    const cut = Buffer.concat([bytes, Buffer.from([1, 2, 3, 4])]);
    const e = errorOf(() => decode([cut], { strict: true, source: 'trace.bin' }));
    expect(e.byteOffset).toBe(32);
    expect(e.line).toBeUndefined();
    expect(e.message).toBe('trace.bin byte 32: truncated record (4 of 8 bytes)');
    const seen: TraceFormatError[] = [];
    const r = decode([cut.subarray(0, 30), cut.subarray(30)], { onSkip: (x) => seen.push(x) });
    expect(r.records).toEqual(RECORDS.slice(0, 2));
    expect([r.count, r.skipped]).toEqual([2, 1]);
    expect(seen.map((x) => x.byteOffset)).toEqual([32]);
    expect(decode([cut]).skipped).toBe(1);
  });

  it('skips a record with bits 30-31 set, at its byte offset', () => {
    const bytes = encode(RECORDS);
    bytes[16 + 8 + 7]! |= 0x40; // record 1's high word, bit 30
    bytes[16 + 32 + 7]! |= 0x80; // record 4's high word, bit 31
    const e = errorOf(() => decode([bytes], { strict: true, source: 'trace.bin' }));
    expect(e.byteOffset).toBe(24);
    expect(e.message).toMatch(/^trace\.bin byte 24: malformed record \(high word 0x4\w{7} has bits 30-31 set\)$/);
    const seen: number[] = [];
    for (const split of [bytes.length, 27, 40]) {
      seen.length = 0;
      const r = decode([bytes.subarray(0, split), bytes.subarray(split)], { onSkip: (x) => seen.push(x.byteOffset!) });
      expect(r.records).toEqual([RECORDS[0], RECORDS[2], RECORDS[3]]);
      expect([r.count, r.skipped]).toEqual([3, 2]);
      expect(seen).toEqual([24, 48]);
    }
  });

  it('rejects a bad header in strict and non-strict mode', () => {
    const good = encode(RECORDS);
    const magic = Buffer.from(good);
    magic.write('VMSTRACX', 0, 'latin1');
    for (const strict of [true, false]) {
      const e = errorOf(() => decode([magic], { strict, source: 't.bin' }));
      expect(e.message).toBe('t.bin byte 0: bad binary trace header: bad magic "VMSTRACX" (expected "VMSTRACE")');
      expect(e.byteOffset).toBe(0);
    }
    const version = Buffer.from(good);
    version.writeUInt32LE(3, 8);
    expect(errorOf(() => decode([version])).byteOffset).toBe(8);
    expect(errorOf(() => decode([version])).message).toMatch(/bad binary trace header: unsupported version 3 \(expected 1 or 2; written by a newer vmsim\?\)/);
    const size = Buffer.from(good);
    size.writeUInt32LE(16, 12);
    expect(errorOf(() => decode([size])).byteOffset).toBe(12);
    expect(errorOf(() => decode([good.subarray(0, 10)])).message).toBe('<stream> byte 0: bad binary trace header: truncated (10 of 16 bytes)');
    expect(errorOf(() => decode([Buffer.from('VMSX')])).message).toMatch(/bad magic "VMSX"/);
  });

  it('acceptRecords/deferRecords take records read in place: the same checks, offsets and counts as feed()', () => {
    const bytes = encode(RECORDS);
    bytes[16 + 16 + 7]! |= 0x80; // record 2
    const words = () => new Uint32Array(Uint8Array.from(bytes.subarray(16)).buffer);
    const early = new BinaryTraceDecoder();
    expect(() => early.acceptRecords(words(), 5, 16)).toThrow(/needs the header fed/);
    expect(() => early.deferRecords(words(), 5, 16)).toThrow(/needs the header fed/);
    const seen: number[] = [];
    const d = new BinaryTraceDecoder({ onSkip: (e) => seen.push(e.byteOffset!) });
    collect(d.feed(encodeHeader()));
    const w = words();
    expect(d.acceptRecords(w, 5, 16)).toBe(4);
    expect(collect([{ words: w, count: 4 }])).toEqual([RECORDS[0], RECORDS[1], RECORDS[3], RECORDS[4]]);
    expect([d.records, d.skipped, d.bytes, seen]).toEqual([4, 1, 16 + 40, [32]]);
    // Deferred: counted as accepted until the consumer asks for the check.
    const w2 = words();
    const recheck = d.deferRecords(w2, 5, 56);
    expect([d.records, d.bytes]).toEqual([9, 96]);
    expect(recheck()).toBe(4);
    expect([d.records, d.skipped, seen]).toEqual([8, 2, [32, 72]]);
    const strict = new BinaryTraceDecoder({ strict: true, source: 's.bin' });
    collect(strict.feed(encodeHeader()));
    expect(() => strict.acceptRecords(words(), 5, 16)).toThrow('s.bin byte 32: malformed record');
  });

  it('yields nothing for a header alone or for no bytes', () => {
    expect(decode([encodeHeader()])).toEqual({ records: [], count: 0, skipped: 0, bytes: 16 });
    expect(decode([])).toEqual({ records: [], count: 0, skipped: 0, bytes: 0 });
  });
});
