/**
 * ChampSim traces replayed: the same counts as the same access stream in vmsim's own format
 * (plain, xz through either decoder), and ChampSim's warm-up and simulation windows, which
 * count exactly what the difference of two shorter replays counts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay, type ReplayResult } from '../../src/index.js';
import { encodeHeader, encodeRecords } from '../../src/trace/binary-trace.js';
import { useXzDecoder } from '../../src/trace/decompress.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { champsimBytes, type Instr } from '../trace/champsim-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-champsim-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasXz = spawnSync('sh', ['-c', 'command -v xz']).status === 0;

/** A known instruction stream: code in a few pages, data in a heap, a stack and a table, from a seeded generator. */
function program(n: number, seed: number): Instr[] {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  const out: Instr[] = [];
  let ip = 0x401000;
  for (let i = 0; i < n; i++) {
    ip = rnd() < 0.03 ? 0x401000 + Math.floor(rnd() * 0x8000) * 2 : ip + 3;
    const r = rnd();
    const heap = () => 0x7f0000000000 + Math.floor(rnd() * 600) * 4096 + Math.floor(rnd() * 4096);
    const x: Instr = { ip };
    if (r < 0.3) x.loads = [heap()];
    if (r < 0.08) x.loads = [heap(), 0, 0x7ffe0000f000 - Math.floor(rnd() * 3) * 4096];
    if (r > 0.8) x.stores = [heap()];
    if (r > 0.97) x.stores = [0x7ffe0000f000 - Math.floor(rnd() * 3) * 4096, heap()];
    out.push(x);
  }
  return out;
}

/** The same accesses as vmsim's binary trace (a fetch, loads, stores; 1 byte each). */
function vmsimBytes(instrs: readonly Instr[]): Buffer {
  const accesses: Array<[number, number]> = [];
  for (const x of instrs) {
    accesses.push([x.ip, 2]);
    for (const a of x.loads ?? []) if (a) accesses.push([a, 0]);
    for (const a of x.stores ?? []) if (a) accesses.push([a, 1]);
  }
  const words = new Uint32Array(accesses.length * 2);
  accesses.forEach(([la, kind], i) => packRecord(words, i, la, kind, 1));
  return Buffer.concat([encodeHeader(), encodeRecords({ words, count: accesses.length })]);
}

/** The counts of a result (what must agree), without the trace's description and the time. */
function counts(r: ReplayResult) {
  const { trace: _t, timeMs: _m, nsPerAccess: _n, window: _w, ...rest } = r;
  return rest;
}

const INSTRS = program(30_000, 7);

describe('ChampSim replay', () => {
  it("a ChampSim trace replays with the same counts as its accesses in vmsim's own format (single TLB and a CPU's hierarchy)", async () => {
    const cs = join(dir, 'p.champsimtrace');
    const vm = join(dir, 'p.bin');
    writeFileSync(cs, champsimBytes(INSTRS));
    writeFileSync(vm, vmsimBytes(INSTRS));
    const inputs = [cs];
    if (hasXz) {
      execFileSync('xz', ['-k', '-T1', '-0', cs]);
      inputs.push(`${cs}.xz`);
    }
    for (const options of [{ tlb: { entries: 64, ways: 4 } }, { cpu: 'skylake' }] as const) {
      const want = counts(await replay(vm, options));
      expect(want.accesses).toBeGreaterThan(30_000);
      for (const input of inputs) {
        for (const decoder of ['auto', 'wasm'] as const) {
          if (decoder === 'wasm' && !input.endsWith('.xz')) continue;
          useXzDecoder(decoder);
          try {
            const got = await replay(input, options);
            expect(got.trace).toMatchObject({ format: 'champsim', compression: input.endsWith('.xz') ? 'xz' : 'none', records: want.accesses });
            expect(counts(got)).toEqual(want);
          } finally {
            useXzDecoder('auto');
          }
        }
      }
    }
  });

  it('--warmup/--simulate count the window exactly: the difference of the replays that stop at its two ends', async () => {
    const cs = join(dir, 'w.champsimtrace');
    writeFileSync(cs, champsimBytes(INSTRS));
    const W = 10_000;
    const S = 7_000;
    const first = await replay(cs, { simulate: W });
    const both = await replay(cs, { simulate: W + S });
    const win = await replay(cs, { warmup: W, simulate: S });
    expect(first.window).toEqual({ unit: 'instructions', warmup: 0, simulate: W });
    expect(win.window).toEqual({ unit: 'instructions', warmup: W, simulate: S });
    expect(win.byKind.instructions).toBe(S);
    for (const k of ['instructions', 'loads', 'stores'] as const) expect(win.byKind[k]).toBe(both.byKind[k] - first.byKind[k]);
    expect([win.tlb.hits, win.tlb.misses, win.tlb.retries, win.walks]).toEqual([both.tlb.hits - first.tlb.hits, both.tlb.misses - first.tlb.misses, both.tlb.retries - first.tlb.retries, both.walks - first.walks]);
    expect(win.faults).toEqual({
      total: both.faults.total - first.faults.total,
      pageIns: both.faults.pageIns - first.faults.pageIns,
      writeProtect: both.faults.writeProtect - first.faults.writeProtect,
      minor: both.faults.minor - first.faults.minor,
      major: 0,
      cow: 0,
      segv: 0,
    });
    // The same with a hierarchy: its levels' counts too.
    const h1 = await replay(cs, { cpu: 'zen4', simulate: W });
    const h2 = await replay(cs, { cpu: 'zen4', simulate: W + S });
    const hw = await replay(cs, { cpu: 'zen4', warmup: W, simulate: S });
    hw.tlb.levels.forEach((l, i) => expect([l.hits, l.misses]).toEqual([h2.tlb.levels[i]!.hits - h1.tlb.levels[i]!.hits, h2.tlb.levels[i]!.misses - h1.tlb.levels[i]!.misses]));
    // A warm-up longer than the trace counts nothing.
    const past = await replay(cs, { warmup: 10 ** 9 });
    expect(past.window).toEqual({ unit: 'instructions', warmup: INSTRS.length, simulate: 0 });
    expect([past.accesses, past.tlb.lookups, past.walks]).toEqual([0, 0, 0]);
  });

  it('a trace without instruction fetches counts accesses; bad windows are EINVAL', async () => {
    const words = new Uint32Array(200);
    for (let i = 0; i < 100; i++) packRecord(words, i, 0x10000 + i * 4096, i % 2, 8);
    const r = await replay([{ words, count: 100 }], { warmup: 30, simulate: 50 });
    expect(r.window).toEqual({ unit: 'accesses', warmup: 30, simulate: 50 });
    expect(r.accesses).toBe(50);
    await expect(replay([{ words, count: 1 }], { warmup: -1 })).rejects.toThrow(/EINVAL: options.warmup must be a whole number of instructions \(or accesses\), got .*-1/);
    await expect(replay([{ words, count: 1 }], { simulate: 1.5 })).rejects.toThrow(/options.simulate must be a whole number/);
    await expect(replay([{ words, count: 1 }], { skip: -2 })).rejects.toThrow(/options.skip must be a whole number/);
    await expect(replay([{ words, count: 1 }], { skip: '5' as unknown as number })).rejects.toThrow(/options.skip must be a whole number/);
    // skip drops records before the warm-up; past the trace's end nothing is replayed or counted.
    const s = await replay([{ words, count: 100 }], { skip: 10, warmup: 20, simulate: 50 });
    expect(s.window).toEqual({ unit: 'accesses', skipped: 10, warmup: 20, simulate: 50 });
    expect(s.accesses).toBe(50);
    const past = await replay([{ words, count: 100 }], { skip: 500 });
    expect(past.window).toEqual({ unit: 'accesses', skipped: 100, warmup: 0, simulate: 0 });
    expect(past.accesses).toBe(0);
    await expect(replay([{ words, count: 1 }], { format: 'trace' as 'champsim' })).rejects.toThrow(/options.format must be one of 'auto', 'champsim', 'champsim-cloudsuite'/);
  });
});

describe("ChampSim's multi-core mode", () => {
  it('several ChampSim traces at once on --cpus CPUs, each with its own warm-up and simulation window', async () => {
    const a = join(dir, 'core0.champsimtrace');
    const b = join(dir, 'core1.champsimtrace');
    writeFileSync(a, champsimBytes(program(12_000, 3)));
    writeFileSync(b, champsimBytes(program(9_000, 4)));
    const r = await replay([a, b], { cpus: 2, warmup: 4_000, simulate: 3_000 });
    expect(r.processes.map((p) => [p.cpu, p.trace.format, p.window, p.byKind.instructions])).toEqual([
      [0, 'champsim', { unit: 'instructions', warmup: 4_000, simulate: 3_000 }, 3_000],
      [1, 'champsim', { unit: 'instructions', warmup: 4_000, simulate: 3_000 }, 3_000],
    ]);
    // The machine counts from the end of both warm-ups: its accesses are the two windows'.
    expect(r.machine.accesses).toBe(r.processes[0]!.accesses + r.processes[1]!.accesses);
    const cpuLookups = r.cpus.reduce((n, c) => n + c.tlb.hits + c.tlb.misses, 0);
    expect(cpuLookups).toBeLessThanOrEqual(r.machine.accesses + 2); // a page-crossing access is two lookups; none here
    // Without windows the whole traces run.
    const whole = await replay([a, b], { cpus: 2 });
    expect(whole.processes.map((p) => p.byKind.instructions)).toEqual([12_000, 9_000]);
    expect(whole.processes[0]!.window).toBeUndefined();
  });
});

describe("CloudSuite's address spaces", () => {
  it('each ASID is a process of its own (anonymous memory on demand), with ChampSim windows over all of them', async () => {
    const cs: Instr[] = [];
    for (let i = 0; i < 3000; i++) {
      const asid = Math.floor(i / 500) % 2 === 0 ? 3 : 9;
      cs.push({ ip: 0x10000 + (i % 64) * 4, loads: [0x200000 + (i % 300) * 4096], asid: [asid, asid] });
    }
    const file = join(dir, 'cloudsuite.trace');
    writeFileSync(file, champsimBytes(cs, true));
    const r = await replay(file, { format: 'champsim-cloudsuite' });
    expect(r.trace.format).toBe('champsim-cloudsuite');
    const p = r.program!;
    expect(p.processes.map((q) => [q.pid, q.accesses])).toEqual([
      [4, 3000],
      [10, 3000],
    ]);
    expect(p.anonymousProcesses).toBe(2);
    expect(r.accesses).toBe(6000);
    expect(r.faults.segv).toBe(0);
    // Each address space has its own page tables: each faults its 300 data pages and its code page in.
    expect(p.processes.map((q) => q.faults.pageIns)).toEqual([301, 301]);
    const w = await replay(file, { format: 'champsim-cloudsuite', warmup: 1000, simulate: 1000 });
    expect(w.window).toEqual({ unit: 'instructions', warmup: 1000, simulate: 1000 });
    expect(w.byKind.instructions).toBe(1000);
    expect(w.program!.processes.map((q) => q.byKind.instructions)).toEqual([500, 500]);
  });
});
