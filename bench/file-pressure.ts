/**
 * The file replay pair of bench/files.ts alone (CPU time), for iterating on the page cache's
 * per-page cost: `node dist-bench/bench/file-pressure.js [native|js] [rounds] [pressure-only]`;
 * FP_RA128=1 / FP_RA0=1: one read_ahead_kb setting only; FP_PLAIN=1: the replay without pressure only.
 */
import { fileReplay, fileTrace } from './files.js';

const N = 1_000_000;
const backend = (process.argv[2] ?? 'native') as 'native' | 'js';
const rounds = Number(process.argv[3] ?? 3);
const pressureOnly = process.argv[4] === 'pressure-only';
const trace = fileTrace(N);

for (const vm of process.env.FP_RA0 ? [{ readAheadKb: 0 }] : process.env.FP_RA128 ? [undefined] : [undefined, { readAheadKb: 0 }]) {
  const ra = vm ? 'read_ahead_kb 0' : 'read_ahead_kb 128';
  const plain = pressureOnly ? undefined : await fileReplay(trace, N, backend, '256MiB', rounds, vm);
  if (process.env.FP_PLAIN) {
    console.log(`${backend} ${ra}: plain ${plain!.ns.toFixed(1)} ns`);
    continue;
  }
  const p = await fileReplay(trace, N, backend, '8MiB', rounds, vm);
  console.log(`${backend} ${ra}: plain ${plain ? plain.ns.toFixed(1) : '-'} ns, pressure ${p.ns.toFixed(1)} ns (${p.stolen} reclaimed)${plain ? `, ratio ${(p.ns / plain.ns).toFixed(2)}x` : ''}`);
}
