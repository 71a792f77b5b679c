/**
 * The native lackey scanner against the TypeScript parser: on any text — lackey's own lines,
 * the course simulators' shapes, valgrind's messages, malformed records — the parser with the
 * scanner yields the same records, line counts, skips and errors as without it, whatever the
 * feed boundaries and chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LackeyParser } from '../../src/trace/lackey-parser.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { propertyOptions } from '../property-options.js';
import { recs, type Rec } from './helpers.js';

function parse(text: string, native: boolean, split: number, chunkRecords: number, strict = false) {
  const bytes = Buffer.from(text, 'latin1');
  const skips: string[] = [];
  const p = new LackeyParser({ native, chunkRecords, strict, onSkip: (e) => skips.push(e.message) });
  const out: Rec[] = [];
  let error: string | undefined;
  try {
    for (let i = 0; i < bytes.length; i += split) for (const c of p.feed(bytes.subarray(i, i + split))) out.push(...recs(c));
    for (const c of p.finish()) out.push(...recs(c));
  } catch (e) {
    error = (e as Error).message;
  }
  return { out, lines: p.lines, records: p.records, skipped: p.skipped, ignored: p.ignoredLines, skips, error };
}

const hex = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => v.toString(16));
const line = fc.oneof(
  // lackey's own shapes (the scanner's), with sizes around the limits
  fc.tuple(fc.constantFrom('I  ', ' L ', ' S ', ' M '), fc.oneof(hex, fc.constantFrom('0', 'ffff800000000000', '7fffffffffff', '800000000000', '0400d7d4')), fc.constantFrom('1', '8', '4096', '4097', '0', '0008', '04096', '004096', '99999999')).map(([a, b, c]) => `${a}${b},${c}`),
  // the shapes only the TypeScript parser reads, and what is not a record
  fc.constantFrom('==123== Command: ls', '', '   ', 'I 0400d7d4,8', ' L 0x10,4', 'L 10', ' S 10,8 ', ' M 10,8\r', '\tL\t10,2', ' L zz,4', ' X 10,4', 'I  10,', 'I  ,4', ' L 10,4 trailing', 'I  00000000000000000010,4', '--12-- SCHED[1]: acquired lock'),
);

describe.skipIf(!nativeAvailable())('native lackey scanner', () => {
  it('parses exactly as the TypeScript parser, as a property (records, counts, skips, strict errors)', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 80 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), (lines, crlfEnd, split, chunk, strict) => {
        const text = lines.join('\n') + (crlfEnd ? '\n' : '');
        const ts = parse(text, false, split, chunk, strict);
        const nat = parse(text, true, split, chunk, strict);
        expect(nat).toEqual(ts);
      }),
      propertyOptions(300),
    );
  });

  it('a long run of lackey lines and a few others: the same records, in the same chunks', () => {
    const lines: string[] = ['==1== Lackey, an example Valgrind tool'];
    for (let i = 0; i < 20_000; i++) lines.push(i % 997 === 0 ? ' L 0x1000,4' : `${i % 3 === 0 ? 'I  ' : ' S '}${(0x400000 + i * 24).toString(16)},${1 + (i % 9)}`);
    const text = lines.join('\n') + '\n';
    const a = parse(text, false, 1 << 16, 4096);
    const b = parse(text, true, 1 << 16, 4096);
    expect(b).toEqual(a);
    expect(a.records).toBe(20_000);
  });
});
