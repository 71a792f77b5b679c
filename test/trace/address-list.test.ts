/** Plain address traces (one address a line, optionally R/W): detected, parsed on bytes, and replayed as the same accesses in lackey form. */
import { describe, expect, it } from 'vitest';
import { AddressListParser, sniffAddressList } from '../../src/trace/address-list-parser.js';
import { openTrace } from '../../src/trace/trace-reader.js';
import { replay } from '../../src/replay/replay.js';
import { recordKind, recordLa, recordSize, TraceKind } from '../../src/trace/trace-record.js';

/** Every record of `text` as [address, kind, size], fed in pieces of `step` bytes. */
function parse(text: string, radix: 10 | 16 = 16, step = 3): Array<[number, number, number]> {
  const p = new AddressListParser(radix, { chunkRecords: 2 });
  const out: Array<[number, number, number]> = [];
  const take = (c: { words: Uint32Array; count: number }) => {
    for (let i = 0; i < c.count; i++) out.push([recordLa(c.words, i), recordKind(c.words, i), recordSize(c.words, i)]);
  };
  const bytes = Buffer.from(text, 'latin1');
  for (let i = 0; i < bytes.length; i += step) for (const c of p.feed(bytes.subarray(i, i + step))) take(c);
  for (const c of p.finish()) take(c);
  return out;
}

describe('address lists', () => {
  it('read an address a line, R or W before or after it, comments and blank lines aside, split anywhere', () => {
    const text = '# trace\n0x7ffd1234\n0x7ffd1238 W\nW 0x601040\n\n0x601044,r\n  7ffd0000  \r\nffffffff81000000 w\n0x400000';
    for (const step of [1, 3, 7, 1000]) {
      expect(parse(text, 16, step)).toEqual([
        [0x7ffd1234, TraceKind.LOAD, 1],
        [0x7ffd1238, TraceKind.STORE, 1],
        [0x601040, TraceKind.STORE, 1],
        [0x601044, TraceKind.LOAD, 1],
        [0x7ffd0000, TraceKind.LOAD, 1],
        [0xffff_8100_0000, TraceKind.STORE, 1], // a kernel address: its 48-bit linear form
        [0x400000, TraceKind.LOAD, 1],
      ]);
    }
  });

  it('tell hex from decimal by the file: 0x, a hex letter or a leading zero means hex', () => {
    expect(sniffAddressList(Buffer.from('1\n2\n4096\n'))).toEqual({ radix: 10 });
    expect(sniffAddressList(Buffer.from('1\n2\n0x4096\n'))).toEqual({ radix: 16 });
    expect(sniffAddressList(Buffer.from('00400000\n00400004\n'))).toEqual({ radix: 16 });
    expect(sniffAddressList(Buffer.from('7ffd1234 W\n'))).toEqual({ radix: 16 });
    expect(parse('1\n4096 w\n', 10)).toEqual([
      [1, TraceKind.LOAD, 1],
      [4096, TraceKind.STORE, 1],
    ]);
  });

  it('are not lackey text, valgrind logs or prose', () => {
    expect(sniffAddressList(Buffer.from('I  0400d7d4,8\n L 7ff0001b8,8\n'))).toBeUndefined();
    expect(sniffAddressList(Buffer.from(' L 10,1\n S 18,1\n'))).toBeUndefined();
    expect(sniffAddressList(Buffer.from('==123== Lackey\n0x1234\n'))).toBeUndefined();
    expect(sniffAddressList(Buffer.from('hello world\nthis is text\n'))).toBeUndefined();
    expect(sniffAddressList(Buffer.from('# only a comment\n'))).toBeUndefined();
  });

  it('skip and count a malformed line, or with strict stop at it naming its line', async () => {
    const text = Buffer.from(Array.from({ length: 12 }, (_, i) => `0x${(0x1000 * (i + 1)).toString(16)}`).join('\n') + '\nnot an address\n0x99999\n');
    const lax = await openTrace(text);
    expect(lax.format).toBe('addresses');
    let n = 0;
    for await (const c of lax.chunks()) n += c.count;
    expect([n, lax.stats().skipped]).toEqual([13, 1]);
    const strict = await openTrace(text, { strict: true });
    await expect((async () => {
      for await (const _ of strict.chunks());
    })()).rejects.toThrow(/line 13: not an address line "not an address"/);
    expect(parse('0x12345678901234567\n0x1 X\n')).toEqual([]);
  });

  it('replay to exactly the result of the same accesses written as lackey lines', async () => {
    const addrs = Array.from({ length: 3000 }, (_, i) => 0x4000_0000 + ((i * 7919) % 700) * 4096 + (i % 64) * 8);
    const plain = Buffer.from(addrs.map((a, i) => `0x${a.toString(16)}${i % 3 === 0 ? ' W' : ''}`).join('\n') + '\n');
    const lackey = Buffer.from(addrs.map((a, i) => ` ${i % 3 === 0 ? 'S' : 'L'} ${a.toString(16)},1`).join('\n') + '\n');
    const a = await replay(plain, { tlb: { entries: 64, ways: 4 } });
    const b = await replay(lackey, { tlb: { entries: 64, ways: 4 } });
    expect(a.trace.format).toBe('addresses');
    expect({ ...a, trace: 0, timeMs: 0, nsPerAccess: 0 }).toEqual({ ...b, trace: 0, timeMs: 0, nsPerAccess: 0 });
  });
});
