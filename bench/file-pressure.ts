/**
 * The file replay pair of bench/files.ts alone, in CPU time (process.cpuUsage): for iterating on
 * the page cache's per-page cost. `node dist-bench/bench/file-pressure.js [native|js] [rounds] [pressure-only]`;
 * FP_RA128=1 / FP_RA0=1: one read_ahead_kb setting only; FP_PLAIN=1: the replay without pressure only.
 */
import { replay } from '../src/replay/replay.js';
import type { Machine } from '../src/index.js';
import { fileTrace } from './files.js';

const PG = 4096;
const N = 1_000_000;
const backend = (process.argv[2] ?? 'native') as 'native' | 'js';
const rounds = Number(process.argv[3] ?? 3);
const pressureOnly = process.argv[4] === 'pressure-only';
const trace = fileTrace(N);

/** Best CPU ns per access of `rounds` replays on a machine of `memory`. */
async function run(memory: string, vm?: { readAheadKb: number }): Promise<{ ns: number; stolen: number }> {
  let best = Infinity;
  let stolen = 0;
  for (let r = 0; r < rounds; r++) {
    let c0 = process.cpuUsage();
    let cpu = 0;
    await replay(trace, {
      backend,
      memory,
      vm,
      setup: (s) => {
        const m = s.machine as Machine;
        const f = m.fs.create('/data', { size: 8192 * PG });
        s.mmap({ addr: 0x10_0000_0000, fixed: true, length: 8192 * PG, prot: 'rw', shared: true, file: f });
        f.close();
        c0 = process.cpuUsage();
      },
      onFinish: (s) => {
        const d = process.cpuUsage(c0);
        cpu = (d.user + d.system) * 1000;
        stolen = (s.machine as Machine).vmstat().pgsteal_file;
      },
    });
    best = Math.min(best, cpu / N);
  }
  return { ns: best, stolen };
}

for (const vm of process.env.FP_RA0 ? [{ readAheadKb: 0 }] : process.env.FP_RA128 ? [undefined] : [undefined, { readAheadKb: 0 }]) {
  const ra = vm ? 'read_ahead_kb 0' : 'read_ahead_kb 128';
  const plain = pressureOnly ? undefined : await run('256MiB', vm);
  if (process.env.FP_PLAIN) {
    console.log(`${backend} ${ra}: plain ${plain!.ns.toFixed(1)} ns`);
    continue;
  }
  const p = await run('8MiB', vm);
  console.log(`${backend} ${ra}: plain ${plain ? plain.ns.toFixed(1) : '-'} ns, pressure ${p.ns.toFixed(1)} ns (${p.stolen} reclaimed)${plain ? `, ratio ${(p.ns / plain.ns).toFixed(2)}x` : ''}`);
}
