/** ChampSim traces: decoded into accesses, told by their contents, forced with format, and refused with the byte offset when bad. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ChampSimDecoder, sniffChampSim } from '../../src/trace/champsim.js';
import { openTrace } from '../../src/trace/trace-reader.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import type { TraceEvent } from '../../src/trace/trace-events.js';
import { recs, type Rec } from './helpers.js';
import { champsimBytes, type Instr } from './champsim-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-champsim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INSTRS: Instr[] = [
  { ip: 0x401000, loads: [0x7ffe0010], stores: [0x601008] },
  { ip: 0x401004 },
  { ip: 0x401008, loads: [0x601000, 0, 0x601010, 0x7ffe0000], stores: [0, 0x602000] },
  { ip: 0x40100c, branch: true, taken: true },
  { ip: 0x7f0000001000, stores: [0x7f0000400000, 0x7f0000400008] },
];

/** The accesses INSTRS make: a fetch, then loads, then stores, 1 byte each (zero slots skipped). */
function expected(instrs: readonly Instr[]): Rec[] {
  const out: Rec[] = [];
  for (const x of instrs) {
    out.push({ la: x.ip, kind: 2, size: 1 });
    for (const a of x.loads ?? []) if (a !== 0) out.push({ la: a, kind: 0, size: 1 });
    for (const a of x.stores ?? []) if (a !== 0) out.push({ la: a, kind: 1, size: 1 });
  }
  return out;
}

function decode(bytes: Uint8Array, cloudsuite = false, split = bytes.length, chunkRecords = 4) {
  const d = new ChampSimDecoder(cloudsuite ? 'champsim-cloudsuite' : 'champsim', { chunkRecords, source: 't.champsim' });
  const records: Rec[] = [];
  const events: Array<{ at: number; e: TraceEvent }> = [];
  const take = (cs: Iterable<{ words: Uint32Array; count: number; events?: readonly TraceEvent[] }>) => {
    for (const c of cs) {
      expect(c.count).toBeLessThanOrEqual(Math.max(chunkRecords, cloudsuite ? 9 : 7));
      for (const e of c.events ?? []) events.push({ at: records.length + e.at, e });
      records.push(...recs(c));
    }
  };
  for (let i = 0; i < bytes.length; i += split) take(d.feed(bytes.subarray(i, i + split)));
  take(d.finish());
  return { records, events, d };
}

describe('ChampSim records', () => {
  it('each record is a fetch at its ip, its loads, then its stores, whatever the pieces and chunk sizes', () => {
    const bytes = champsimBytes(INSTRS);
    for (const split of [1, 7, 63, 64, 65, 1000]) {
      for (const chunkRecords of [1, 4, 1000]) {
        const r = decode(bytes, false, split, chunkRecords);
        expect(r.records).toEqual(expected(INSTRS));
        expect(r.d.instructions).toBe(INSTRS.length);
        expect(r.d.records).toBe(expected(INSTRS).length);
      }
    }
  });

  it("CloudSuite's 96-byte records: fetches in asid[0]'s address space, data in asid[1]'s, a THREAD event where it changes", () => {
    const cs: Instr[] = [
      { ip: 0x10000, loads: [0x20000], asid: [3, 3] },
      { ip: 0x10004, stores: [0x30000, 0, 0, 0x30008], loads: [0, 0, 0, 0x20008], asid: [3, 7] },
      { ip: 0x10008, asid: [7, 7] },
    ];
    const r = decode(champsimBytes(cs, true), true, 50, 100);
    expect(r.records).toEqual(expected(cs));
    expect(r.events.map(({ at, e }) => ({ at, e: e.type === 'thread' ? [e.pid, e.thread] : e.type }))).toEqual([
      { at: 0, e: [4, 1] },
      { at: 3, e: [8, 1] },
    ]);
  });

  it('is told by its contents (plain, gzip, a stream), and CloudSuite by its 96-byte stride', async () => {
    const bytes = champsimBytes(INSTRS);
    expect(sniffChampSim(bytes)).toBe('champsim');
    // A non-canonical address fits neither layout; a 96-byte stride puts a zero ip where a 64-byte record would start.
    expect(sniffChampSim(champsimBytes([{ ip: 0x10000, asid: [1, 1] }, { ip: 0x10004, loads: [2 ** 48] }], true))).toBeUndefined();
    expect(sniffChampSim(champsimBytes([{ ip: 0x10000, asid: [1, 1] }, { ip: 0x10004, asid: [1, 2] }], true))).toBe('champsim-cloudsuite');
    expect(sniffChampSim(Buffer.alloc(64))).toBeUndefined();
    const plain = join(dir, 'a.champsimtrace');
    writeFileSync(plain, bytes);
    writeFileSync(`${plain}.gz`, gzipSync(bytes));
    for (const input of [plain, `${plain}.gz`]) {
      const reader = await openTrace(input);
      expect(reader.format).toBe('champsim');
      const got: Rec[] = [];
      for await (const c of reader.chunks()) got.push(...recs(c));
      expect(got).toEqual(expected(INSTRS));
      expect(reader.stats()).toMatchObject({ records: expected(INSTRS).length, instructions: 5, skipped: 0 });
    }
  });

  it('format forces the layout; a file of the wrong record size is an error at the offset of its last, partial record', async () => {
    // A CloudSuite trace whose first record would not pass: read as one only when told.
    const cs = champsimBytes([{ ip: 0x400000, asid: [1, 1] }, { ip: 0x400004, asid: [1, 1] }, { ip: 0x400008, asid: [1, 1] }], true);
    const file = join(dir, 'cs.trace');
    writeFileSync(file, cs);
    const r = await openTrace(file, { format: 'champsim-cloudsuite' });
    expect(r.format).toBe('champsim-cloudsuite');
    const got: Rec[] = [];
    for await (const c of r.chunks()) got.push(...recs(c));
    expect(got.map((x) => x.la)).toEqual([0x400000, 0x400004, 0x400008]);
    // 288 bytes read as 64-byte records: 4 whole ones (the 96-byte stride puts garbage in their slots) and 32 bytes left over.
    const strict = await openTrace(file, { format: 'champsim', strict: true });
    const err = await (async () => {
      try {
        for await (const _ of strict.chunks());
      } catch (e) {
        return e as TraceFormatError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TraceFormatError);
    expect(err!.message).toMatch(/^.*cs\.trace byte (64|128|192): malformed ChampSim record: |truncated ChampSim record/);
    const lenient = await openTrace(file, { format: 'champsim' });
    for await (const _ of lenient.chunks());
    expect(lenient.stats().skipped).toBeGreaterThan(0);
    const truncated = join(dir, 'cut.trace');
    writeFileSync(truncated, champsimBytes(INSTRS).subarray(0, 64 * 3 + 10));
    const t = await openTrace(truncated, { strict: true });
    await expect((async () => {
      for await (const _ of t.chunks());
    })()).rejects.toThrow(`${truncated} byte 192: truncated ChampSim record (10 of 64 bytes): the input is 202 bytes, not a whole number of 64-byte records`);
  });

  it('binary data that is no trace at all names ChampSim among what it is not; a bad format is EINVAL', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37 + 11) & 0xff)));
    await expect(openTrace(junk)).rejects.toThrow(/is binary data, not a trace: neither a vmsim binary trace .* nor ChampSim's instruction records \(64 bytes, or CloudSuite's 96; --format champsim/);
    await expect(openTrace(junk, { format: 'nope' as 'champsim' })).rejects.toThrow(/EINVAL: format must be 'auto', 'champsim' or 'champsim-cloudsuite', got .*nope/);
  });
});
