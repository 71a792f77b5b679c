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

  it('format forces the layout; a file of the wrong record size is refused at the offset of its first record that does not fit, a malformed record past the first 64 is skipped', async () => {
    // A CloudSuite trace whose first record would not pass: read as one only when told.
    const cs = champsimBytes([{ ip: 0x400000, asid: [1, 1] }, { ip: 0x400004, asid: [1, 1] }, { ip: 0x400008, asid: [1, 1] }], true);
    const file = join(dir, 'cs.trace');
    writeFileSync(file, cs);
    const r = await openTrace(file, { format: 'champsim-cloudsuite' });
    expect(r.format).toBe('champsim-cloudsuite');
    const got: Rec[] = [];
    for await (const c of r.chunks()) got.push(...recs(c));
    expect(got.map((x) => x.la)).toEqual([0x400000, 0x400004, 0x400008]);
    // Its 288 bytes read as 64-byte records: the second (byte 64) is the first record's load slots and ASIDs, ip 0.
    const wrong = await openTraceError(file, { format: 'champsim' });
    expect(wrong.byteOffset).toBe(64);
    expect(wrong.message).toBe(`${file} byte 64: is not a trace of ChampSim's 64-byte records (--format champsim): ip 0; its records read as 96-byte ones: --format champsim-cloudsuite`);
    // Records of a size neither layout has (80 bytes): refused whether forced or detected, at the first that does not fit.
    const r80 = Buffer.concat(Array.from({ length: 100 }, (_, i) => Buffer.concat([champsimBytes([{ ip: 0x400000 + 4 * i, loads: [0x601000] }]), Buffer.alloc(16)])));
    const f80 = join(dir, 'r80.trace');
    writeFileSync(f80, r80);
    const forced = await openTraceError(f80, { format: 'champsim-cloudsuite' });
    expect(forced.message).toMatch(/byte 96: is not a trace of ChampSim's 96-byte records \(--format champsim-cloudsuite\): .*; records of another size, or not a ChampSim trace$/);
    const detected = await openTraceError(f80, {});
    expect(detected.message).toMatch(/is binary data, not a trace: .* nor lackey text; its first record reads as ChampSim's 64-byte input_instr but the one at byte 64 does not \(ip 0\): records of another size\?; record one with/);
    const tiny = join(dir, 'tiny.trace');
    writeFileSync(tiny, champsimBytes(INSTRS).subarray(0, 40));
    expect((await openTraceError(tiny, { format: 'champsim' })).message).toBe(`${tiny} byte 0: is not a trace of ChampSim's 64-byte records (--format champsim): the input is 40 byte(s), less than one 64-byte record`);
    // A malformed record after the first 64: one bad record, skipped (an error at its offset with strict).
    const long = Array.from({ length: 70 }, (_, i) => ({ ip: 0x400000 + 4 * i }));
    const bytes = champsimBytes(long);
    bytes.fill(0, 66 * 64, 66 * 64 + 8);
    const later = join(dir, 'later.trace');
    writeFileSync(later, bytes);
    const lenient = await openTrace(later);
    for await (const _ of lenient.chunks());
    expect(lenient.stats()).toMatchObject({ skipped: 1, instructions: 69 });
    const strict = await openTrace(later, { strict: true });
    await expect((async () => {
      for await (const _ of strict.chunks());
    })()).rejects.toThrow(`${later} byte ${66 * 64}: malformed ChampSim record: ip 0 (a CloudSuite trace, 96-byte records? --format champsim-cloudsuite)`);
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
    await expect(openTrace(junk)).rejects.toThrow(/is binary data, not a trace: neither a vmsim binary trace .* nor ChampSim's instruction records \(64 bytes, or CloudSuite's 96; --format champsim or --format champsim-cloudsuite names the layout\) nor gzip/);
    await expect(openTrace(junk, { format: 'nope' as 'champsim' })).rejects.toThrow(/EINVAL: format must be 'auto', 'champsim' or 'champsim-cloudsuite', got .*nope/);
  });
});

/** The TraceFormatError openTrace (or reading the trace through) throws. */
async function openTraceError(file: string, options: Parameters<typeof openTrace>[1]): Promise<TraceFormatError> {
  try {
    const r = await openTrace(file, options);
    for await (const _ of r.chunks());
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFormatError);
    return e as TraceFormatError;
  }
  throw new Error(`${file}: expected an error`);
}
