import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LackeyParser, type TraceDecoderOptions } from '../../src/trace/lackey-parser.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { MAX_ACCESS_SIZE, TraceKind, packRecord, recordKind, recordLa, recordSize } from '../../src/trace/trace-record.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { collect, referenceParse, type Rec } from './helpers.js';

/** Parses `text` fed in the given pieces; returns records and the parser's counters. */
function parse(pieces: (string | Uint8Array)[] | string, options: TraceDecoderOptions = {}) {
  const p = new LackeyParser(options);
  const list = typeof pieces === 'string' ? [pieces] : pieces;
  const records: Rec[] = [];
  for (const piece of list) collect(p.feed(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece), records);
  collect(p.finish(), records);
  return { records, lines: p.lines, records_: p.records, skipped: p.skipped, ignoredLines: p.ignoredLines, bytes: p.bytes };
}

const SMALL = [
  '==4242== Lackey, an example Valgrind tool',
  'I  0400d7d4,8',
  ' S 7ff0001b8,8',
  ' L 04222cac,4',
  ' M 0421d018,4',
  'I  ffffffffff600000,3',
  ' L ffff800000001000,16',
  ' S 00007fffffffeff8,4096',
  ' L 0,1',
  '==4242== Counted 1 call to main()',
  '',
].join('\n');

const SMALL_RECORDS: Rec[] = [
  { la: 0x400d7d4, kind: TraceKind.INSTR, size: 8 },
  { la: 0x7ff0001b8, kind: TraceKind.STORE, size: 8 },
  { la: 0x4222cac, kind: TraceKind.LOAD, size: 4 },
  { la: 0x421d018, kind: TraceKind.MODIFY, size: 4 },
  { la: 0xffffff600000, kind: TraceKind.INSTR, size: 3 },
  { la: 0x800000001000, kind: TraceKind.LOAD, size: 16 },
  { la: 0x7fffffffeff8, kind: TraceKind.STORE, size: 4096 },
  { la: 0, kind: TraceKind.LOAD, size: 1 },
];

describe('packed records', () => {
  it('packs address, kind and size into the documented bits', () => {
    const w = new Uint32Array(4);
    packRecord(w, 1, 0x800000001000, TraceKind.MODIFY, 4096);
    expect(w[2]).toBe(0x00001000);
    expect(w[3]).toBe((0x8000 | (3 << 16) | (4095 << 18)) >>> 0);
    expect(w[3]! >>> 30).toBe(0);
    expect([recordLa(w, 1), recordKind(w, 1), recordSize(w, 1)]).toEqual([0x800000001000, 3, 4096]);
    packRecord(w, 0, 2 ** 48 - 1, TraceKind.LOAD, 1);
    expect([w[0], w[1]]).toEqual([0xffffffff, 0xffff]);
    expect(recordLa(w, 0)).toBe(2 ** 48 - 1);
    expect(MAX_ACCESS_SIZE).toBe(4096);
  });
});

describe('LackeyParser', () => {
  it('parses each kind, kernel and high addresses, and ignores valgrind lines', () => {
    const r = parse(SMALL);
    expect(r.records).toEqual(SMALL_RECORDS);
    expect(r.lines).toBe(10);
    expect(r.records_).toBe(8);
    expect(r.ignoredLines).toBe(2);
    expect(r.skipped).toBe(0);
    expect(r.bytes).toBe(SMALL.length);
  });

  it('gives the same records for a line split across feeds at every byte position', () => {
    for (let i = 0; i <= SMALL.length; i++) {
      const r = parse([SMALL.slice(0, i), SMALL.slice(i)]);
      expect(r.records, `split at ${i}`).toEqual(SMALL_RECORDS);
      expect([r.lines, r.ignoredLines, r.skipped]).toEqual([10, 2, 0]);
    }
    for (let i = 1; i < SMALL.length; i += 7) {
      for (let j = i; j <= SMALL.length; j += 5) {
        const r = parse([SMALL.slice(0, i), SMALL.slice(i, j), SMALL.slice(j)]);
        expect(r.records, `split at ${i}, ${j}`).toEqual(SMALL_RECORDS);
      }
    }
    const bytewise = parse([...SMALL]);
    expect(bytewise.records).toEqual(SMALL_RECORDS);
    expect(bytewise.lines).toBe(10);
  });

  it('accepts CRLF line ends, trailing spaces and a missing final newline', () => {
    const crlf = SMALL.replace(/\n/g, '\r\n');
    expect(parse(crlf).records).toEqual(SMALL_RECORDS);
    expect(parse(crlf).ignoredLines).toBe(2);
    const noFinal = 'I  0400d7d4,8\n L 04222cac,4';
    const r = parse(noFinal);
    expect(r.records).toEqual([SMALL_RECORDS[0], SMALL_RECORDS[2]]);
    expect(r.lines).toBe(2);
    expect(parse('I  0400d7d4,8\n L 04222cac,4\r').records).toEqual([SMALL_RECORDS[0], SMALL_RECORDS[2]]);
    expect(parse(' L 04222cac,4   \r\n').records).toEqual([SMALL_RECORDS[2]]);
    // A valid record with more than 4 KiB of trailing blanks, fed in pieces, is still valid.
    const longBlank = ' L 04222cac,4' + ' '.repeat(5000) + '\n I  0400d7d4,8\n';
    const pieces = [longBlank.slice(0, 100), longBlank.slice(100, 3000), longBlank.slice(3000, 4500), longBlank.slice(4500)];
    const lb = parse(pieces);
    // " I  0400d7d4,8": a blank before the letter is allowed (the course simulators' grammar).
    expect(lb.records).toEqual([SMALL_RECORDS[2], SMALL_RECORDS[0]]);
    expect([lb.lines, lb.ignoredLines]).toEqual([2, 0]);
  });

  it('judges a record line over 4096 bytes the same whatever the feed boundaries', () => {
    const line = (len: number) => ' L 04222cac,' + '4'.padStart(len - 12, '0'); // len bytes, size 4
    const text = `${line(4096)}   \n${line(4097)}\n`;
    for (const at of [0, 20, 4095, 4096, 4100, 4101, 4200, text.length]) {
      const seen: TraceFormatError[] = [];
      const r = parse([text.slice(0, at), text.slice(at)], { onSkip: (e) => seen.push(e) });
      expect(r.records, `split at ${at}`).toEqual([SMALL_RECORDS[2]]);
      expect(seen.map((e) => [e.line, e.reason])).toEqual([[2, 'line too long']]);
    }
  });

  it('ignores lines that do not start like a record, and counts them', () => {
    const text = ['', '--1234-- warning', 'Invalid 0400d7d4,8', ' X 0400d7d4,8', 'I', 'L,0400d7d4,8', '==1== x', ' L 0400d7d4,8', 'x'.repeat(10000)].join('\n');
    const r = parse(text);
    expect(r.records).toEqual([{ la: 0x400d7d4, kind: TraceKind.LOAD, size: 8 }]);
    expect(r.lines).toBe(9);
    expect(r.ignoredLines).toBe(8);
    expect(r.skipped).toBe(0);
    // The same with a long ignored line split over several feeds.
    const parts = [text.slice(0, 150), text.slice(150, 5000), text.slice(5000)];
    expect(parse(parts).ignoredLines).toBe(8);
  });

  it('reads the university simulators\' traces with the same grammar: CMU cachelab lines, no size, 0x, tabs', () => {
    // cachelab's traces (yi.trace): lackey's letters, one blank after I, sizes; '=' lines are valgrind's and skipped.
    const cachelab = ' L 10,1\n M 20,1\n L 22,1\n S 18,1\nI 0400d7d4,8\n==12== x\n';
    expect(parse(cachelab).records).toEqual([
      { la: 0x10, kind: TraceKind.LOAD, size: 1 },
      { la: 0x20, kind: TraceKind.MODIFY, size: 1 },
      { la: 0x22, kind: TraceKind.LOAD, size: 1 },
      { la: 0x18, kind: TraceKind.STORE, size: 1 },
      { la: 0x400d7d4, kind: TraceKind.INSTR, size: 8 },
    ]);
    expect(parse(cachelab).ignoredLines).toBe(1);
    // The VM simulators' "L hexaddr" without a size: one byte each; 0x and tabs allowed.
    const bare = 'L 10\nS\t0x7ff000\n\tM  0XABC  \nI 400000\r\n';
    expect(parse(bare).records).toEqual([
      { la: 0x10, kind: TraceKind.LOAD, size: 1 },
      { la: 0x7ff000, kind: TraceKind.STORE, size: 1 },
      { la: 0xabc, kind: TraceKind.MODIFY, size: 1 },
      { la: 0x400000, kind: TraceKind.INSTR, size: 1 },
    ]);
    expect(parse(bare).skipped).toBe(0);
    // The same records whatever the feed boundaries.
    for (let at = 1; at < bare.length; at++) expect(parse([bare.slice(0, at), bare.slice(at)]).records.length).toBe(4);
  });

  const MALFORMED: [string, RegExp][] = [
    [' L 0x zz,4', /bad address "0x zz"/],
    [' L 04g2,4', /bad address "04g2"/],
    [' L ,4', /bad address ""/],
    [' L 12345678123456781,4', /more than 16 hex digits/],
    [' L 04222cac 4', /trailing garbage "4"/],
    [' L 0x,4', /bad address "0x"/],
    ['L 04g2', /bad address "04g2"/],
    [' L 04222cac,0', /size 0 out of range 1\.\.4096/],
    [' L 04222cac,4097', /size 4097 out of range/],
    [' L 04222cac,99999999999999999999', /size 99999999999999999999 out of range/],
    [' L 04222cac,', /bad size ""/],
    [' L 04222cac,x', /bad size "x"/],
    [' L 04222cac,-4', /bad size "-4"/],
    [' L 04222cac,4x', /trailing garbage "x"/],
    [' L 04222cac,4 5', /trailing garbage " 5"/],
    ['I  0000800000000000,4', /non-canonical address "0000800000000000"/],
    ['I  ffff7fffffffffff,4', /non-canonical address/],
    ['I  ffffff600000,4', /non-canonical address "ffffff600000"/],
    [' M 8000000000000000,4', /non-canonical address/],
    [' S ' + '0'.repeat(5000) + 'x,4', /line too long/],
  ];

  it.each(MALFORMED)('rejects %j with its line number in strict mode, skips it otherwise', (bad, reason) => {
    const text = `==1== hi\nI  0400d7d4,8\n${bad}\n L 04222cac,4\n`;
    let err: unknown;
    try {
      parse(text, { strict: true, source: 'trace.out' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceFormatError);
    const e = err as TraceFormatError;
    expect(e.line).toBe(3);
    expect(e.code).toBe('EINVAL');
    expect(e.source).toBe('trace.out');
    expect(e.byteOffset).toBeUndefined();
    expect(e.message).toMatch(/^trace\.out line 3: /);
    expect(e.message).toMatch(reason);

    const seen: TraceFormatError[] = [];
    const r = parse(text, { onSkip: (x) => seen.push(x) });
    expect(r.records).toEqual([SMALL_RECORDS[0], SMALL_RECORDS[2]]);
    expect([r.lines, r.skipped, r.ignoredLines]).toEqual([4, 1, 1]);
    expect(seen.map((x) => x.line)).toEqual([3]);
    expect(seen[0]!.message).toMatch(reason);
    // Without a callback the count is the same; split feeds find the same line.
    expect(parse(text).skipped).toBe(1);
    const half = Math.floor(text.length / 2);
    const split = parse([text.slice(0, half), text.slice(half)], { onSkip: (x) => seen.push(x) });
    expect(split.skipped).toBe(1);
    expect(seen[1]!.line).toBe(3);
  });

  it('rejects a malformed final line without newline', () => {
    expect(() => parse('I  0400d7d4,8\n L 04222cac,', { strict: true })).toThrow(/line 2: bad size ""/);
    expect(parse('I  0400d7d4,8\n L 04222cac,').skipped).toBe(1);
  });

  it('fills chunks of chunkRecords records and reuses the buffer', () => {
    const p = new LackeyParser({ chunkRecords: 3 });
    const counts: number[] = [];
    const buffers = new Set<Uint32Array>();
    const all: Rec[] = [];
    for (const c of p.feed(Buffer.from(SMALL))) {
      counts.push(c.count);
      buffers.add(c.words);
      collect([c], all);
    }
    for (const c of p.finish()) {
      counts.push(c.count);
      buffers.add(c.words);
      collect([c], all);
    }
    expect(counts).toEqual([3, 3, 2]);
    expect(buffers.size).toBe(1);
    expect(all).toEqual(SMALL_RECORDS);
    expect(() => new LackeyParser({ chunkRecords: 0 })).toThrow(/chunkRecords/);
  });

  it('yields nothing for empty input', () => {
    const r = parse([]);
    expect(r.records).toEqual([]);
    expect([r.lines, r.records_, r.skipped, r.ignoredLines, r.bytes]).toEqual([0, 0, 0, 0, 0]);
    expect(parse(['', '']).lines).toBe(0);
  });

  it('agrees with the reference parser on random lines of every dialect (lackey, cachelab, bare), split anywhere', () => {
    const blank = fc.constantFrom('', ' ', '  ', '\t', ' \t');
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 0, maxLength: 18 });
    const line = fc.oneof(
      fc.tuple(blank, fc.constantFrom('I', 'L', 'S', 'M', 'X'), fc.constantFrom(' ', '  ', '\t', ''), fc.constantFrom('', '0x', '0X'), hex, fc.constantFrom('', ',1', ',8', ',4096', ',4097', ',0', ',', ',x'), fc.constantFrom('', ' ', '\r', ' z')).map((p) => p.join('')),
      fc.constantFrom('==1== Lackey', '', 'I', 'garbage', 'fffffffffff600000'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), (lines, cut) => {
        const text = lines.join('\n');
        const r = parse([text.slice(0, cut), text.slice(cut)]);
        expect(r.records).toEqual(referenceParse(text));
        expect(r.records.length + r.skipped + r.ignoredLines).toBe(r.lines);
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  it('agrees with a reference parser on the synthetic trace, whatever the feed size', () => {
    const text = syntheticLackeyTrace({ records: 30_000, seed: 5 });
    const expected = referenceParse(text);
    expect(expected.length).toBe(30_000);
    for (const piece of [1 << 20, 4096, 333]) {
      const buf = Buffer.from(text);
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < buf.length; i += piece) pieces.push(buf.subarray(i, i + piece));
      const r = parse(pieces, { chunkRecords: 1000 });
      expect(r.records).toEqual(expected);
      expect(r.ignoredLines).toBe(8);
      expect(r.skipped).toBe(0);
    }
  });
});

describe('syntheticLackeyTrace', () => {
  it('is deterministic, has the requested records and looks like a program', () => {
    const a = syntheticLackeyTrace({ records: 20_000 });
    expect(syntheticLackeyTrace({ records: 20_000 })).toBe(a);
    expect(syntheticLackeyTrace({ records: 20_000, seed: 2 })).not.toBe(a);
    expect(syntheticLackeyTrace()).toBe(syntheticLackeyTrace({ seed: 1, records: 200_000 }));
    const recsA = referenceParse(a);
    expect(recsA.length).toBe(20_000);
    expect(a.split('\n').filter((l) => l.startsWith('==1234==')).length).toBe(8);
    const kinds = [0, 1, 2, 3].map((k) => recsA.filter((r) => r.kind === k).length);
    expect(kinds.every((k) => k > 0)).toBe(true);
    const inRange = (lo: number, hi: number) => recsA.filter((r) => r.la >= lo && r.la < hi).length;
    expect(inRange(0x400000, 0x410000)).toBe(kinds[2]); // every fetch in the code region
    const stack = inRange(0x7ffffffde000, 0x7ffffffdf000);
    expect(stack).toBeGreaterThan(0);
    const heap = inRange(0x5555555a0000, 0x5555555a0000 + 0x48000);
    expect(heap).toBeGreaterThan(stack);
    expect(heap + stack).toBe(kinds[0]! + kinds[1]! + kinds[3]!); // every data access is in one of them
    const crossers = recsA.filter((r) => r.size === 8 && Math.floor(r.la / 4096) !== Math.floor((r.la + 7) / 4096));
    expect(crossers.length).toBeGreaterThan(0);
    expect(syntheticLackeyTrace({ records: 0 }).split('\n').filter((l) => !l.startsWith('==') && l !== '')).toEqual([]);
    expect(() => syntheticLackeyTrace({ records: -1 })).toThrow(/records/);
  });
});
