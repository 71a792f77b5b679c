/**
 * Trace replay speed: the native engine vs the pure-TS backend vs a naive loop that crosses
 * into native code once per access, on a real trace (traces/ls.lackey.gz, repeated), plus
 * lackey parsing throughput. Figures are ns per access (lower is better) or million lines/s.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../src/index.js';
import { replay } from '../src/replay/replay.js';
import type { ReplayOptions } from '../src/replay/replay-options.js';
import { LackeyParser } from '../src/trace/lackey-parser.js';
import { encodeHeader } from '../src/trace/binary-trace.js';
import { packRecord, type TraceChunk } from '../src/trace/trace-record.js';
import type { Figure } from './harness.js';
import { loadLsTrace } from './bench-traces.js';

const REPEAT = 8;
const CHUNK = 65536;


function* chunksOf(words: Uint32Array, count: number, repeat: number): Generator<TraceChunk> {
  for (let r = 0; r < repeat; r++) for (let s = 0; s < count; s += CHUNK) yield { words: words.subarray(s * 2, Math.min(count, s + CHUNK) * 2), count: Math.min(CHUNK, count - s) };
}

/** The engine's simulation time per access (records in memory: no I/O, no parsing). */
async function engineNs(backend: 'native' | 'js', words: Uint32Array, count: number, repeat: number, options: ReplayOptions = {}): Promise<{ ns: number; missRate: number }> {
  let best = Infinity;
  let missRate = 0;
  for (let round = 0; round < 3; round++) {
    const r = await replay(chunksOf(words, count, repeat), { backend, ...options });
    best = Math.min(best, r.nsPerAccess);
    missRate = r.tlb.missRate;
  }
  return { ns: best, missRate };
}

/**
 * The fault path of replay, per record: every record touches a new page (anon mode: a region
 * per 2 MiB block, then a demand fault per page — a native map and a retry), or every record is
 * refused (below mmap_min_addr: counted once, no exception built). µs per record.
 */
async function faultUs(backend: 'native' | 'js', refused: boolean): Promise<number> {
  const n = backend === 'native' ? 100_000 : 20_000;
  const words = new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) packRecord(words, i, refused ? 0x1000 + (i % 8) * 8 : 0x1000_0000 + i * 4096, i % 2, 8);
  let best = Infinity;
  for (let r = 0; r < 3; r++) best = Math.min(best, ((await replay([{ words, count: n }], { backend, memory: '2GiB' })).timeMs * 1e3) / n);
  return best;
}

/** A naive replay: TS decodes each record and calls core.access once per page touch. */
function naiveNs(words: Uint32Array, count: number, repeat: number): number {
  const m = new Machine({ memory: '64GiB', backend: 'native' });
  const s = m.createAddressSpace();
  // Pre-map what the trace touches (via the real engine's policy would need faults; a big rwx region is enough here).
  s.mmap({ addr: 0x10000, length: 2 ** 40, prot: 'rwx', fixed: true, populate: false, noReserve: true }); // sparse: MAP_NORESERVE, no overcommit charge
  m.switchTo(s);
  const core = m.core;
  const ACCESS = [0, 1, 2, 1];
  const run = () => {
    for (let i = 0; i < count; i++) {
      const hi = words[2 * i + 1]!;
      const la = (hi & 0xffff) * 4294967296 + words[2 * i]!;
      let pa = core.access(la, ACCESS[(hi >>> 16) & 3]!, 1);
      if (pa < 0) {
        s.vm.handleFault(s.readFault(1));
        pa = core.access(la, ACCESS[(hi >>> 16) & 3]!, 1);
      }
    }
  };
  run(); // faults everything in
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < repeat; k++) run();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (count * repeat));
  }
  m.dispose();
  return best;
}

/** Million lackey lines per second through the parser alone. */
function parseMlps(text: Buffer, repeat: number): number {
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const p = new LackeyParser();
    const t0 = process.hrtime.bigint();
    let lines = 0;
    for (let k = 0; k < repeat; k++) for (const _c of p.feed(text)) lines += 0;
    for (const _c of p.finish()) lines += 0;
    lines = p.lines;
    best = Math.max(best, lines / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6);
  }
  return best;
}

/** Million lines (records) per second for a whole replay of a file: read, parse, simulate. */
async function fileMlps(path: string, backend: 'native' | 'js'): Promise<number> {
  let best = 0;
  // Best of 5 for the native backend (a replay is ~40 ms: one slow round says little), 2 for js.
  for (let r = 0; r < (backend === 'native' ? 5 : 2); r++) {
    const t0 = process.hrtime.bigint();
    const res = await replay(path, { backend });
    best = Math.max(best, res.trace.records / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6);
  }
  return best;
}

/** The replay figures, side by side. */
export async function benchReplay(backends: ('native' | 'js')[]): Promise<Figure[]> {
  const { words, count, text } = loadLsTrace();
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-bench-'));
  try {
    const textPath = join(dir, 'ls.lackey');
    writeFileSync(textPath, Buffer.concat(Array.from({ length: REPEAT }, () => text)));
    const binPath = join(dir, 'ls.bin');
    const bin = Buffer.concat([Buffer.from(encodeHeader()), ...Array.from({ length: REPEAT }, () => Buffer.from(words.buffer, words.byteOffset, count * 8))]);
    writeFileSync(binPath, bin);
    const engine: Record<string, number> = {};
    const modelled: Record<string, number> = {};
    const hierarchy: ReplayOptions = { tlb: { entries: 1536, ways: 12, l1i: { entries: 128, ways: 8 }, l1d: { entries: 64, ways: 4 }, pwc: { pml4: 2, pdpt: 4, pd: 32 } } };
    const binFile: Record<string, number> = {};
    const textFile: Record<string, number> = {};
    let missRate = 0;
    for (const b of backends) {
      const e = await engineNs(b, words, count, b === 'js' ? 1 : REPEAT);
      engine[b] = e.ns;
      modelled[b] = (await engineNs(b, words, count, 1, hierarchy)).ns;
      missRate = e.missRate;
      binFile[b] = 1e3 / (await fileMlps(binPath, b));
      textFile[b] = await fileMlps(textPath, b);
    }
    const naive = backends.includes('native') ? naiveNs(words, count, 2) : undefined;
    const faulting: Record<string, number> = {};
    const refusing: Record<string, number> = {};
    for (const b of backends) {
      faulting[b] = await faultUs(b, false);
      refusing[b] = await faultUs(b, true);
    }
    return [
      { name: `engine, records in memory (${(missRate * 100).toFixed(2)}% misses)`, values: { ...engine, naive }, unit: 'ns/access', note: `ls trace x${REPEAT} (${((count * REPEAT) / 1e6).toFixed(1)} M accesses); target <= 5 ns native` },
      { name: 'engine, split L1 TLBs + L2 + walk caches', values: modelled, unit: 'ns/access', note: 'the hierarchy in native code (hierTraceBatch), L1s 128x8 / 64x4, STLB 1536x12, PWC 2/4/32' },
      { name: 'binary trace file, end to end', values: binFile, unit: 'ns/access', note: 'read + decode + simulate' },
      { name: 'lackey parse only', values: { native: parseMlps(text, REPEAT) }, unit: 'M lines/s', note: 'the same TS parser serves both backends; target >= 10 M lines/s' },
      { name: 'lackey text file, end to end', values: textFile, unit: 'M lines/s', note: 'read + parse + simulate (higher is better)' },
      { name: 'a demand fault on every record (anon mode)', values: faulting, unit: 'µs/record', note: 'region per 2 MiB block, then per page a native map and a retry' },
      { name: 'every record refused (SIGSEGV counted)', values: refusing, unit: 'µs/record', note: 'an outcome value, counted once; no exception is built' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
