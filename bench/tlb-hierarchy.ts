/**
 * The TLB hierarchy's speed (issue 12): the ChampSim-default and Skylake presets against the
 * single-TLB replay and against the TypeScript model, side by side in one run, on the ls trace
 * and on a 10 M-access trace of a real program (the first 10 M accesses of `sort -n` over 4000
 * shuffled numbers, recorded with valgrind's lackey when valgrind is installed and cached in the
 * temp directory; without valgrind, the synthetic generator, which the note says).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../src/replay/replay.js';
import type { ReplayOptions } from '../src/replay/replay-options.js';
import { LackeyParser } from '../src/trace/lackey-parser.js';
import { syntheticLackeyTrace } from '../src/trace/synthetic-trace.js';
import type { TraceChunk } from '../src/trace/trace-record.js';
import type { Figure } from './harness.js';

const CHUNK = 65536;
const BIG = 10_000_000;

/** Packed records of lackey text, at most `max`. */
function parse(text: Buffer | string, max = Infinity): Uint32Array {
  const p = new LackeyParser({ chunkRecords: 1 << 20 });
  const parts: Uint32Array[] = [];
  let n = 0;
  const take = (c: TraceChunk) => {
    if (n >= max) return;
    const k = Math.min(c.count, max - n);
    parts.push(c.words.slice(0, k * 2));
    n += k;
  };
  for (const c of p.feed(typeof text === 'string' ? Buffer.from(text) : text)) take(c);
  for (const c of p.finish()) take(c);
  const words = new Uint32Array(n * 2);
  let o = 0;
  for (const q of parts) {
    words.set(q, o);
    o += q.length;
  }
  return words;
}

/** The 10 M-access trace of a real program, and where it came from. */
function bigTrace(): { words: Uint32Array; what: string } {
  const cache = join(tmpdir(), 'vmsim-bench-sort-10m.u32');
  const what = 'sort -n of 4000 numbers under valgrind lackey, first 10 M accesses';
  if (existsSync(cache)) return { words: new Uint32Array(readFileSync(cache).buffer.slice(0)), what };
  if (spawnSync('valgrind', ['--version']).status === 0) {
    const input = join(tmpdir(), 'vmsim-bench-sort-input.txt');
    const log = join(tmpdir(), 'vmsim-bench-sort.lackey');
    // A fixed permutation (a linear congruential shuffle), so every run records the same program run.
    const nums = Array.from({ length: 4000 }, (_, i) => (i * 2654435761) % 4000007);
    writeFileSync(input, nums.join('\n') + '\n');
    execFileSync('valgrind', ['--tool=lackey', '--trace-mem=yes', `--log-file=${log}`, 'sort', '-n', input], { stdio: ['ignore', 'ignore', 'ignore'] });
    const words = parse(readFileSync(log), BIG);
    rmSync(log, { force: true });
    writeFileSync(cache, Buffer.from(words.buffer, words.byteOffset, words.byteLength));
    return { words, what };
  }
  return { words: parse(syntheticLackeyTrace({ records: BIG })), what: 'no valgrind here: the synthetic generator, 10 M records' };
}

function* chunksOf(words: Uint32Array, repeat: number): Generator<TraceChunk> {
  const count = words.length / 2;
  for (let r = 0; r < repeat; r++) for (let s = 0; s < count; s += CHUNK) yield { words: words.subarray(s * 2, Math.min(count, s + CHUNK) * 2), count: Math.min(CHUNK, count - s) };
}

/** Best of `rounds` replays: ns per access of the replay loop. */
async function ns(words: Uint32Array, repeat: number, options: ReplayOptions, rounds: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) best = Math.min(best, (await replay(chunksOf(words, repeat), options)).nsPerAccess);
  return best;
}

/** One trace's figures: single TLB, ChampSim and Skylake presets (native), Skylake on the TS model. Rounds interleave the configurations so drift hits them alike. */
async function traceFigures(label: string, words: Uint32Array, repeat: number, jsRepeat: number): Promise<Figure[]> {
  const configs: Array<[string, ReplayOptions]> = [
    ['single', { backend: 'native' }],
    ['champsim', { backend: 'native', cpu: 'champsim' }],
    ['skylake', { backend: 'native', cpu: 'skylake' }],
  ];
  const best: Record<string, number> = {};
  for (let round = 0; round < 3; round++) for (const [k, o] of configs) best[k] = Math.min(best[k] ?? Infinity, await ns(words, repeat, o, 1));
  const jsSkylake = await ns(words.subarray(0, Math.min(words.length, jsRepeat * 2)), 1, { backend: 'js', cpu: 'skylake' }, 1);
  const jsChampsim = await ns(words.subarray(0, Math.min(words.length, jsRepeat * 2)), 1, { backend: 'js', cpu: 'champsim' }, 1);
  const accesses = ((words.length / 2) * repeat) / 1e6;
  return [
    { name: `${label}: single TLB (64, 4-way)`, values: { native: best.single, single: best.single }, unit: 'ns/access', note: `${accesses.toFixed(1)} M accesses` },
    {
      name: `${label}: --cpu champsim`,
      values: { native: best.champsim, single: best.single, js: jsChampsim },
      unit: 'ns/access',
      note: `target: <= 1.5x single (<= 8 ns), >= 5x faster than the TS model (js: first ${(jsRepeat / 1e6).toFixed(1)} M accesses)`,
    },
    { name: `${label}: --cpu skylake`, values: { native: best.skylake, single: best.single, js: jsSkylake }, unit: 'ns/access', note: 'same targets' },
  ];
}

/** The hierarchy figures, side by side. */
export async function benchTlbHierarchy(): Promise<{ figures: Figure[]; note: string }> {
  const ls = parse(gunzipSync(readFileSync('traces/ls.lackey.gz')));
  const big = bigTrace();
  const figures = [...(await traceFigures('ls trace x8', ls, 8, 800_000)), ...(await traceFigures('10 M-access trace', big.words, 1, 2_000_000))];
  return { figures, note: `10 M-access trace: ${big.what}. Columns: native = this configuration, single = the single-TLB replay in the same run, js = the TypeScript model.` };
}
